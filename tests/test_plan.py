"""The plan is a pure function of declared and live state; these are its promises.

Write calls per change are the minimum the API permits: none for a reorder, one per changed probe,
delete + create only for a changed source, and deletions before anything that needs their quota.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdk_netmon.handler.live import Generation, LiveMonitor, LiveProbe
from cdk_netmon.handler.planner import Plan, mark_call, plan_changes
from cdk_netmon.handler.rules import GENERATION_TAG
from cdk_netmon.handler.spec import MonitorSpec, ProbeSpec
from cdk_netmon.handler.writes import TagResource, UpdateProbe, Write
from tests.support import SUBNET_A, SUBNET_B, subnet_arn

ARN = "arn:aws:networkmonitor:eu-west-1:123456789012"


def spec(
    source: str = SUBNET_A,
    destination: str = "10.0.0.1",
    protocol: str = "TCP",
    port: int | None = 443,
    packet_size: int | None = None,
    **tags: str,
) -> ProbeSpec:
    return ProbeSpec(source, destination, protocol, port if protocol == "TCP" else None, packet_size, tags)


def live(*probes: ProbeSpec, period: int = 60, states: dict[int, str] | None = None) -> LiveMonitor:
    return LiveMonitor(
        name="m",
        arn=f"{ARN}:monitor/m",
        state="ACTIVE",
        aggregation_period=period,
        tags={},
        probes=tuple(
            LiveProbe(f"probe-{i:021d}", f"{ARN}:probe/probe-{i:021d}", (states or {}).get(i, "ACTIVE"), p)
            for i, p in enumerate(probes)
        ),
    )


def declared(*probes: ProbeSpec, period: int = 60) -> MonitorSpec:
    return MonitorSpec(name="m", aggregation_period=period, tags={}, probes=probes)


def plan(want: MonitorSpec, have: LiveMonitor) -> Plan:
    return plan_changes(want, have, "token")


def operations(result: Plan) -> list[str]:
    return [call.operation for call in result.calls]


def test_reordering_probes_from_one_subnet_makes_no_call() -> None:
    probes = [spec(destination=f"10.0.0.{i}") for i in range(1, 5)]
    assert not plan(declared(*reversed(probes)), live(*probes))


def test_one_changed_probe_of_twenty_is_one_update() -> None:
    probes = [spec(source=subnet_arn(i // 4), destination=f"10.0.1.{i}") for i in range(20)]
    changed = list(probes)
    changed[13] = replace(changed[13], destination_port=8443)
    assert plan(declared(*changed), live(*probes)).calls == (
        UpdateProbe("m", "probe-000000000000000000013", {"destinationPort": 8443}),
    )


def test_a_changed_source_is_a_delete_then_a_create_in_later_phases() -> None:
    result = plan(declared(spec(source=SUBNET_B)), live(spec(source=SUBNET_A)))
    assert [[c.operation for c in phase] for phase in result.phases] == [["delete_probe"], ["create_probe"]]


def test_switching_ip_family_deletes_everything_before_creating() -> None:
    v4 = [spec(destination="10.0.0.1"), spec(destination="10.0.0.2")]
    v6 = [spec(destination="2001:db8::1"), spec(destination="2001:db8::2")]
    result = plan(declared(*v6), live(*v4))
    assert [[c.operation for c in phase] for phase in result.phases] == [["delete_probe"] * 2, ["create_probe"] * 2]


def test_icmp_probes_ignore_ports_and_an_unset_packet_size_is_not_managed() -> None:
    assert not plan(declared(spec(protocol="ICMP")), live(spec(protocol="ICMP", packet_size=1200)))


def test_a_duplicate_made_out_of_band_is_deleted() -> None:
    assert operations(plan(declared(spec()), live(spec(), spec()))) == ["delete_probe"]


def test_a_probe_already_deleting_is_not_deleted_again() -> None:
    assert not plan(declared(spec()), live(spec(), spec(destination="10.0.0.9"), states={1: "DELETING"}))


def test_updates_and_tags_share_a_phase_after_deletes_and_before_creates() -> None:
    have = live(spec(destination="10.0.0.1"), spec(destination="10.0.0.2", source=SUBNET_B), period=30)
    want = declared(spec(destination="10.0.0.1", team="x"), spec(destination="10.0.0.3", source=subnet_arn(9)))
    assert [[c.operation for c in phase] for phase in plan(want, have).phases] == [
        ["delete_probe"],
        ["update_monitor", "tag_resource"],
        ["create_probe"],
    ]


def test_create_probe_tokens_are_stable_for_the_same_request_and_probe() -> None:
    first, second = (plan(declared(spec()), live()).calls[0] for _ in range(2))
    assert first.params["clientToken"] == second.params["clientToken"]


# --- Property: applying the plan phase by phase always converges ------------------------------

SOURCES = [subnet_arn(i) for i in range(3)]
probe_specs = st.builds(
    spec,
    source=st.sampled_from(SOURCES),
    destination=st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
    protocol=st.sampled_from(["TCP", "ICMP"]),
    port=st.sampled_from([80, 443]),
    packet_size=st.sampled_from([None, 56, 1500]),
)


def unique(probes: list[ProbeSpec]) -> tuple[ProbeSpec, ...]:
    seen: dict[Any, ProbeSpec] = {}
    for p in probes:
        seen.setdefault(p.identity, p)
    return tuple(seen.values())


def apply(have: LiveMonitor, calls: tuple[Write, ...], ids: itertools.count[int]) -> LiveMonitor:
    """What the service does with each call, reduced to the state the plan reads."""
    probes = list(have.probes)
    period = have.aggregation_period
    for call in calls:
        p = dict(call.params)
        if call.operation == "delete_probe":
            probes = [x for x in probes if x.probe_id != p["probeId"]]
        elif call.operation == "update_monitor":
            period = p["aggregationPeriod"]
        elif call.operation == "update_probe":
            index = next(i for i, x in enumerate(probes) if x.probe_id == p["probeId"])
            old = probes[index]
            new_spec = replace(
                old.spec,
                destination=p.get("destination", old.spec.destination),
                protocol=p.get("protocol", old.spec.protocol),
                destination_port=p.get("destinationPort", old.spec.destination_port),
                packet_size=p.get("packetSize", old.spec.packet_size),
            )
            probes[index] = replace(old, spec=new_spec, state="ACTIVE")
        elif call.operation == "create_probe":
            body = p["probe"]
            n = next(ids)
            probes.append(
                LiveProbe(f"probe-{n:021d}", f"{ARN}:probe/probe-{n:021d}", "ACTIVE", ProbeSpec.from_api(body, "tags"))
            )
        elif call.operation in ("tag_resource", "untag_resource"):
            pass  # tags are exercised in the handler tests
        else:
            raise AssertionError(call.operation)
    return replace(have, probes=tuple(probes), aggregation_period=period)


@settings(max_examples=300, deadline=None)
@given(
    have=st.lists(probe_specs, max_size=8),
    want=st.lists(probe_specs, max_size=8),
    have_period=st.sampled_from([30, 60]),
    want_period=st.sampled_from([30, 60]),
)
@pytest.mark.slow
def test_any_live_state_converges_to_any_declared_state_in_at_most_three_phases(
    have: list[ProbeSpec], want: list[ProbeSpec], have_period: int, want_period: int
) -> None:
    target = declared(*unique(want), period=want_period)
    state = live(*have, period=have_period)
    ids = itertools.count(1000)
    for _ in range(3):
        step = plan(target, state)
        if not step:
            break
        state = apply(state, step.phases[0], ids)
    assert not plan(target, state)
    assert sorted(p.spec.identity for p in state.probes) == sorted(p.identity for p in target.probes)


@given(st.lists(probe_specs, max_size=8).map(unique), st.randoms())
def test_a_converged_monitor_plans_no_call_in_any_order(probes: tuple[ProbeSpec, ...], rng: Any) -> None:
    shuffled = list(probes)
    rng.shuffle(shuffled)
    assert not plan(declared(*shuffled), live(*probes))


def test_the_states_the_handler_names_are_botocores() -> None:
    """The live and declared states the plan compares against, against botocore's model."""
    import botocore.session

    from cdk_netmon.handler import live, rules

    shapes = botocore.session.get_session().get_service_model("networkmonitor")
    monitor_states = set(shapes.shape_for("MonitorState").enum)
    probe_states = set(shapes.shape_for("ProbeState").enum)
    assert {live.PENDING, live.DELETING, live.ERROR, rules.ACTIVE, rules.PAUSED} <= monitor_states & probe_states
    assert probe_states >= live.GONE_PROBE_STATES
    assert set(rules.DECLARABLE_STATES) <= probe_states


# --- the generation mark: before a request's first write, and where an older waiter may write ------

NEW, OLD = "the-new-request", "an-older-request"


def marked(have: LiveMonitor, mark: Generation | None) -> LiveMonitor:
    return replace(have, tags={GENERATION_TAG: mark.tag_value} if mark else {})


@pytest.mark.parametrize(
    ("case", "changed", "live_mark", "predecessor", "marks"),
    [
        ("no-op over no mark (a monitor of 0.2.0)", False, None, "same", False),
        ("no-op over the mark of another request of the same monitor", False, "same", "same", False),
        ("no-op over this request's own mark (delivered twice)", False, "own", "same", False),
        ("a change over no mark", True, None, "same", True),
        ("a change over another request's mark", True, "same", "same", True),
        ("a change over this request's own mark", True, "own", "same", False),
        ("nothing to write, but the predecessor declared another monitor", False, None, "other", True),
        ("nothing to write, but the mark's writer declared another monitor", False, "other", "same", True),
        ("nothing to write, on a Create (no predecessor)", False, None, None, False),
    ],
)
def test_the_mark_is_written_before_a_first_write_and_where_an_older_waiter_may_write(
    case: str, changed: bool, live_mark: str | None, predecessor: str | None, marks: bool
) -> None:
    want = declared(spec())
    have = live(spec(port=8443) if changed else spec())
    ours = Generation(2_000, NEW, want.digest)
    other = declared(spec(destination="10.0.0.9")).digest
    mark = {
        None: None,
        "same": Generation(1_000, OLD, want.digest),
        "other": Generation(1_000, OLD, other),
        "own": Generation(1_500, NEW, want.digest),
    }[live_mark]
    before = {None: None, "same": want.digest, "other": other}[predecessor]
    call = mark_call(marked(have, mark), ours, plan(want, have), before)
    assert (call is not None) == marks, case
    if call is not None:
        assert call == TagResource(have.arn, {GENERATION_TAG: ours.tag_value})


def test_a_newer_request_supersedes_an_older_one_and_no_request_itself() -> None:
    older, newer = Generation(1_000, "b", "x"), Generation(2_000, "a", "y")
    assert newer.supersedes(older)
    assert not older.supersedes(newer)
    assert not Generation(3_000, "b", "z").supersedes(older)  # the same request, delivered again
    # One millisecond orders nothing (a clock that stood still): neither stops, as before the marks.
    assert not Generation(1_000, "c").supersedes(Generation(1_000, "b"))
    assert not Generation(1_000, "b").supersedes(Generation(1_000, "c"))
    assert Generation.of({GENERATION_TAG: newer.tag_value}) == newer
    for unreadable in ("", "x:y:z", "12", ":a:b"):
        assert Generation.of({GENERATION_TAG: unreadable}) is None


def test_the_digest_is_of_the_monitor_whatever_order_or_keys_its_probes_have() -> None:
    a, b = spec(), spec(SUBNET_B, "10.0.0.2", "ICMP")
    assert declared(a, b).digest == declared(replace(b, key="x"), replace(a, key="y")).digest
    assert declared(a, b).digest != declared(a, replace(b, destination="10.0.0.3")).digest
    assert declared(a).digest != declared(replace(a, state="INACTIVE")).digest
