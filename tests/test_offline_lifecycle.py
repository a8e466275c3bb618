"""Deploy -> update -> destroy stories against the emulator, through real boto3 over HTTP.

CloudFormation and the Provider framework are played by `StackDriver`; the handler is the one that
ships. Each story ends with the emulator holding exactly what the template declares, or nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from cdk_netmon.handler import service
from cdk_netmon.testing import Faults
from cdk_netmon.testing.cloudformation import DeployFailedError
from cdk_netmon.testing.emulator import SettlingWrites
from cdk_netmon.testing.kit import service_security_groups
from tests.offline import (
    MARK,
    Calls,
    LambdaKilled,
    assert_converged,
    counted_handler,
    driver,
    offline,
    probe_id_at,
    template,
    vpc_with_subnets,
)
from tests.support import subnet_arn

pytestmark = pytest.mark.slow  # each story deploys through the emulator: about a second

A, B, C = subnet_arn(1), subnet_arn(2), subnet_arn(3)


def tcp(source: str, destination: str, port: int = 443, **extra: Any) -> dict[str, Any]:
    return {"sourceArn": source, "destination": destination, "protocol": "TCP", "destinationPort": port, **extra}


def icmp(source: str, destination: str, **extra: Any) -> dict[str, Any]:
    return {"sourceArn": source, "destination": destination, "protocol": "ICMP", **extra}


def monitor(probes: list[dict[str, Any]], name: str = "onprem", period: int = 60, **tags: str) -> dict[str, Any]:
    body: dict[str, Any] = {"monitorName": name, "aggregationPeriod": period, "probes": probes}
    if tags:
        body["tags"] = tags
    return body


V1 = monitor([tcp(A, "10.0.0.1", packetSize=56), icmp(B, "10.0.0.2")], team="network")


def test_probes_are_added_removed_modified_and_reordered() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        steps = [
            V1,
            monitor([tcp(A, "10.0.0.1", packetSize=56), icmp(B, "10.0.0.2"), tcp(C, "10.0.0.3")], team="network"),
            monitor([tcp(A, "10.0.0.1", packetSize=56), tcp(C, "10.0.0.3")], team="network"),
            monitor([tcp(A, "10.0.0.9", port=8443, packetSize=1500), tcp(C, "10.0.0.3")], team="network"),
        ]
        for declared in steps:
            stack.deploy(template(declared))
            assert_converged(emulator, declared)

        before = len(emulator.calls)
        reordered = monitor([tcp(C, "10.0.0.3"), tcp(A, "10.0.0.9", port=8443, packetSize=1500)], team="network")
        stack.deploy(template(reordered))
        assert emulator.writes(before) == []
        assert_converged(emulator, reordered)

        stack.destroy()
        assert emulator.snapshot() == {}


def test_a_modified_probe_is_one_write_and_keeps_its_id() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(V1))
        probe_id = probe_id_at(stack, "Monitor0", 0)
        before = len(emulator.calls)
        changed = monitor([tcp(A, "10.0.0.1", port=8080, packetSize=56), icmp(B, "10.0.0.2")], team="network")
        stack.deploy(template(changed))
        assert emulator.writes(before) == [MARK, "UpdateProbe"]
        assert probe_id_at(stack, "Monitor0", 0) == probe_id
        assert_converged(emulator, changed)


@pytest.mark.parametrize(
    ("case", "changed", "expected_writes"),
    [
        ("aggregation period", {**V1, "aggregationPeriod": 30}, [MARK, "UpdateMonitor"]),
        ("monitor tags", {**V1, "tags": {"team": "platform", "cost": "1"}}, [MARK, "TagResource"]),
        ("removed monitor tag", {k: v for k, v in V1.items() if k != "tags"}, [MARK, "UntagResource"]),
        (
            "probe tags",
            {**V1, "probes": [tcp(A, "10.0.0.1", packetSize=56, probeTags={"path": "dx"}), icmp(B, "10.0.0.2")]},
            [MARK, "TagResource"],
        ),
        (
            "a probe's source",
            {**V1, "probes": [tcp(A, "10.0.0.1", packetSize=56), icmp(C, "10.0.0.2")]},
            [MARK, "DeleteProbe", "CreateProbe"],
        ),
    ],
)
def test_each_change_costs_the_minimum_writes(case: str, changed: dict[str, Any], expected_writes: list[str]) -> None:
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(V1))
        before = len(emulator.calls)
        stack.deploy(template(changed))
        assert emulator.writes(before) == expected_writes, case
        assert_converged(emulator, changed)
        stack.destroy()
        assert emulator.snapshot() == {}


def test_a_new_name_replaces_the_monitor_and_cleans_up_the_old_one() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(V1))
        renamed = {**V1, "monitorName": "onprem-v2"}
        stack.deploy(template(renamed))
        assert stack.resources["Monitor0"].physical_id == "onprem-v2"
        assert_converged(emulator, renamed)


def test_24_probes_in_one_monitor() -> None:
    full = monitor([tcp(subnet_arn(i // 4), f"10.1.{i}.1") for i in range(24)])
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(full))
        assert_converged(emulator, full)
        assert len(stack.resources["Monitor0"].data) == 26
        stack.destroy()
        assert emulator.snapshot() == {}


# --- reliability --------------------------------------------------------------------------------


def test_every_request_delivered_twice_changes_nothing_the_second_time() -> None:
    story = [V1, {**V1, "aggregationPeriod": 30, "probes": [tcp(A, "10.0.0.1"), tcp(C, "10.0.0.3")]}]
    with offline() as emulator:
        deliveries: list[tuple[str, int, dict[str, Any]]] = []

        def record(logical_id: str, request_type: str, stage: str) -> None:
            if stage == "complete":
                deliveries.append((request_type, len(emulator.calls), emulator.snapshot()))

        stack = driver(emulator, deliver_twice=True, observe=record)
        for declared in story:
            stack.deploy(template(declared))
            assert_converged(emulator, declared)
        stack.destroy()
        assert emulator.snapshot() == {}

        assert [request for request, _, _ in deliveries] == ["Create", "Create", "Update", "Update", "Delete", "Delete"]
        for (_, first_calls, first_state), (request, second_calls, second_state) in zip(
            deliveries[::2], deliveries[1::2], strict=True
        ):
            assert second_state == first_state, request
            # The same request (its RequestId) finds its own mark: nothing is written the second time.
            assert emulator.writes(first_calls, second_calls) == [], request


def test_throttling_and_server_errors_are_retried_to_convergence() -> None:
    faults = Faults(throttle=0.30, internal_error=0.05, seed=20261126)
    story = [V1, monitor([tcp(A, "10.0.0.1"), tcp(B, "10.0.0.2"), tcp(C, "10.0.0.3")], period=30, team="x")]
    with offline(faults) as emulator:
        stack = driver(emulator)
        for declared in story:
            stack.deploy(template(declared))
            assert_converged(emulator, declared)
        stack.destroy()
        assert emulator.snapshot() == {}
        assert emulator.calls.count("GetMonitor") > 0


def test_a_probe_in_error_fails_the_create_and_the_rollback_leaves_nothing() -> None:
    with offline() as emulator:
        emulator.out_of_band().force_error_on_probes_to("10.0.0.2")
        stack = driver(emulator)
        with pytest.raises(DeployFailedError, match=r"probe probe-\w+ \(ICMP .* -> 10.0.0.2\) is in state ERROR"):
            stack.deploy(template(V1))
        assert emulator.snapshot() == {}
        assert stack.resources == {}


def test_a_failure_in_the_middle_of_an_update_rolls_back_to_the_old_state_exactly() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        second = monitor([icmp(A, "10.9.9.9")], name="second")
        stack.deploy(template(V1, second))
        emulator.out_of_band().force_error_on_probes_to("10.0.0.66")
        broken = {**V1, "aggregationPeriod": 30, "probes": [*V1["probes"], tcp(C, "10.0.0.66")]}
        with pytest.raises(DeployFailedError, match=re.escape("10.0.0.66")):
            stack.deploy(template(broken, {**second, "tags": {"new": "1"}}))
        assert_converged(emulator, V1, second)


def test_out_of_band_deletions_are_repaired_by_the_next_update_and_tolerated_by_delete() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(V1))
        emulator.out_of_band().drift_delete_probe("onprem", probe_id_at(stack, "Monitor0", 1))
        retagged = {**V1, "tags": {"team": "network", "rev": "2"}}
        stack.deploy(template(retagged))
        assert_converged(emulator, retagged)

        emulator.out_of_band().drift_delete_monitor("onprem")
        stack.deploy(template(V1))
        assert_converged(emulator, V1)

        emulator.out_of_band().drift_delete_monitor("onprem")
        stack.destroy()
        assert emulator.snapshot() == {}


def test_a_name_that_exists_outside_the_stack_fails_and_is_left_alone() -> None:
    with offline() as emulator:
        client = boto3.client("networkmonitor", **emulator.client_options())
        client.create_monitor(
            monitorName="onprem", aggregationPeriod=30, tags={"owner": "someone-else"}, probes=[icmp(C, "10.5.5.5")]
        )
        before = emulator.snapshot()
        stack = driver(emulator)
        with pytest.raises(DeployFailedError, match="monitor 'onprem' exists but is not this resource's"):
            stack.deploy(template(V1))
        assert emulator.snapshot() == before


# --- property: any sequence of declared states converges, and destroy leaves nothing -------------

probe_strategy = st.builds(
    lambda source, host, protocol, port, size, tagged: {
        "sourceArn": source,
        "destination": f"10.0.0.{host}",
        "protocol": protocol,
        **({"destinationPort": port} if protocol == "TCP" else {}),
        **({"packetSize": size} if size else {}),
        **({"probeTags": {"t": str(host)}} if tagged else {}),
    },
    st.sampled_from([A, B, C]),
    st.integers(1, 4),
    st.sampled_from(["TCP", "ICMP"]),
    st.sampled_from([80, 443]),
    st.sampled_from([None, 56, 1500]),
    st.booleans(),
)


def unique_probes(probes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only what synth would accept: no duplicates, at most 4 probes per subnet."""
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for p in probes:
        key = (p["sourceArn"], p["destination"], p["protocol"], p.get("destinationPort"))
        if sum(k[0] == p["sourceArn"] for k in seen) < 4:
            seen.setdefault(key, p)
    return list(seen.values())


declared_state = st.builds(
    lambda probes, period, tag: monitor(unique_probes(probes), period=period, **({"v": tag} if tag else {})),
    st.lists(probe_strategy, max_size=8),
    st.sampled_from([30, 60]),
    st.sampled_from(["", "a", "b"]),
)


@pytest.mark.parametrize("settling_writes", ["accept", "refuse"])
@settings(max_examples=20, deadline=None)
@given(states=st.lists(declared_state, min_size=1, max_size=4))
def test_any_sequence_of_declared_states_converges_and_destroy_leaves_no_orphans(
    settling_writes: SettlingWrites, states: list[dict[str, Any]]
) -> None:
    """In both of the emulator's ways with writes to a settling monitor (accepted or refused)."""
    with offline(settling_writes=settling_writes) as emulator:
        stack = driver(emulator)
        for declared in states:
            stack.deploy(template(declared))
            assert_converged(emulator, declared)
        stack.destroy()
        assert emulator.snapshot() == {}


# --- writes while the monitor settles ----------------------------------------------------------


@pytest.mark.parametrize(("settling_writes", "refusals_at_most"), [("accept", 0), ("refuse", 1)])
def test_a_change_of_eight_probes_converges_whether_writes_while_settling_are_accepted_or_refused(
    settling_writes: SettlingWrites, refusals_at_most: int
) -> None:
    """Refused or not, the change converges; once refused, the handler sends one write per poll
    instead of a refused call after each accepted one."""
    probes = [tcp(subnet_arn(i // 4), f"10.2.{i}.1") for i in range(8)]
    moved = [{**p, "destinationPort": 8443} for p in probes]
    with offline(settling_writes=settling_writes) as emulator:
        stack = driver(emulator)
        stack.deploy(template(monitor(probes)))
        before = len(emulator.calls)
        stack.deploy(template(monitor(moved)))
        assert_converged(emulator, monitor(moved))
        updates = emulator.writes(before).count("UpdateProbe")
        assert 8 <= updates <= 8 + refusals_at_most


def test_a_probe_paused_out_of_band_is_resumed_by_the_next_deploy() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(V1))
        emulator.out_of_band().drift_pause_probe("onprem", probe_id_at(stack, "Monitor0", 0))
        stack.resend_update("Monitor0")
        assert_converged(emulator, V1)


def test_a_stack_in_another_account_and_region_deploys_there_only() -> None:
    account, region = "111122223333", "eu-central-1"
    here = monitor([tcp(f"arn:aws:ec2:{region}:{account}:subnet/subnet-{1:017x}", "10.0.0.1")])
    with offline() as emulator:
        stack = driver(emulator, account=account, region=region)
        stack.deploy(template(here))
        assert_converged(emulator, here, account=account, region=region)
        assert emulator.snapshot() == {}
        live = emulator.snapshot(account, region)["onprem"]
        assert live["monitorArn"] == f"arn:aws:networkmonitor:{region}:{account}:monitor/onprem"
        assert live["tags"]["cdk-netmon:stack-id"].startswith(f"arn:aws:cloudformation:{region}:{account}:stack/")
        stack.destroy()
        assert emulator.snapshot(account, region) == {}


# --- pausing, fan-out and tags, end to end -------------------------------------------------------


def paused(probe: dict[str, Any]) -> dict[str, Any]:
    return {**probe, "state": "INACTIVE"}


def test_a_probe_is_paused_then_resumed_each_with_one_update_probe() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(V1))
        probe_id = probe_id_at(stack, "Monitor0", 1)
        for declared in (
            {**V1, "probes": [V1["probes"][0], paused(V1["probes"][1])]},
            V1,
        ):
            before = len(emulator.calls)
            stack.deploy(template(declared))
            assert emulator.writes(before) == [MARK, "UpdateProbe"]
            assert_converged(emulator, declared)
            assert probe_id_at(stack, "Monitor0", 1) == probe_id


def test_a_probe_declared_paused_is_created_then_paused() -> None:
    declared = {**V1, "probes": [V1["probes"][0], paused(V1["probes"][1])]}
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(declared))
        assert emulator.writes() == ["CreateMonitor", "UpdateProbe"]
        assert_converged(emulator, declared)


def test_the_declared_state_wins_over_a_pause_or_a_resume_made_out_of_band() -> None:
    declared = {**V1, "probes": [V1["probes"][0], paused(V1["probes"][1])]}
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(declared))
        by_hand = emulator.out_of_band()
        by_hand.drift_pause_probe("onprem", probe_id_at(stack, "Monitor0", 0))  # an enabled probe paused
        by_hand.drift_resume_probe("onprem", probe_id_at(stack, "Monitor0", 1))  # a paused one resumed
        stack.resend_update("Monitor0")
        assert_converged(emulator, declared)


def test_adding_or_removing_one_destination_of_a_fan_out_changes_only_its_probes() -> None:
    def fan_out(destinations: list[str]) -> dict[str, Any]:
        return monitor([tcp(source, destination) for source in (A, B, C) for destination in destinations])

    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(fan_out(["10.0.0.1", "10.0.0.2"])))
        kept = {p["probeId"] for p in emulator.snapshot()["onprem"]["probes"] if p["destination"] == "10.0.0.1"}
        before = len(emulator.calls)
        stack.deploy(template(fan_out(["10.0.0.1", "10.0.0.2", "10.0.0.3"])))
        assert emulator.writes(before) == [MARK] + ["CreateProbe"] * 3
        before = len(emulator.calls)
        stack.deploy(template(fan_out(["10.0.0.1", "10.0.0.3"])))
        assert emulator.writes(before) == [MARK] + ["DeleteProbe"] * 3
        assert_converged(emulator, fan_out(["10.0.0.1", "10.0.0.3"]))
        still = {p["probeId"] for p in emulator.snapshot()["onprem"]["probes"] if p["destination"] == "10.0.0.1"}
        assert still == kept


def test_a_stack_tag_removed_from_the_app_is_removed_from_the_probes() -> None:
    tagged = {**monitor([tcp(A, "10.0.0.1", probeTags={"cost-centre": "network"})]), "tags": {"cost-centre": "network"}}
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(tagged))
        before = len(emulator.calls)
        stack.deploy(template(monitor([tcp(A, "10.0.0.1")])))
        assert emulator.writes(before) == [MARK, "UntagResource", "UntagResource"]
        assert_converged(emulator, monitor([tcp(A, "10.0.0.1")]))


# --- faults: a Lambda killed part-way, a long storm of server errors ------------------------------


def killed_create(kill_after: int | None) -> tuple[int, list[dict[str, str]], dict[str, Any], list[Any]]:
    """A Create of a monitor whose probes run in a VPC of the emulator's EC2, under the Provider
    framework's FAILED-and-rollback path, with the handler killed right after its `kill_after`-th
    call (0: on_event killed before it answers); then the stack is deleted. The calls made before
    the kill, then what is left: the service's security groups, the monitors, the network interfaces."""
    with offline() as emulator:
        _, subnets = vpc_with_subnets(emulator)
        declared = monitor([tcp(subnets[0], "10.0.0.1"), icmp(subnets[1], "10.0.0.2")])
        calls = Calls(kill_after)
        handler = counted_handler(emulator, calls)
        stack = driver(emulator, handler=handler)
        if kill_after == 0:
            stack.on_event = killed_on_event(handler.on_event)
        if kill_after is None:
            stack.deploy(template(declared))
        else:
            with pytest.raises(DeployFailedError, match="Task timed out"):
                stack.deploy(template(declared))
            assert stack.resources == {}  # a failed first deploy: rolled back
        made = calls.made
        stack.destroy()
        assert emulator.ec2 is not None
        interfaces = emulator.ec2.client().describe_network_interfaces()["NetworkInterfaces"]
        return made, service_security_groups(emulator), emulator.snapshot(), interfaces


def killed_on_event(on_event: Any) -> Any:
    def killed(event: Mapping[str, Any], context: Any) -> Mapping[str, Any]:
        on_event(event, context)
        raise LambdaKilled("Task timed out after 300.00 seconds (on_event, before answering)")

    return killed


def test_a_create_killed_after_any_call_leaves_nothing_once_rolled_back_and_deleted() -> None:
    """on_event makes no call, so the framework's FAILED answer after a kill in is_complete names
    the monitor, and the rollback's Delete reaches the handler, which removes what was made: the
    monitor, its probes and the security groups the service made in the VPC. (When on_event made
    CreateMonitor, a kill right after it answered FAILED with the framework's placeholder id, whose
    Delete never reaches the handler: the monitor stayed, running and billed.)"""
    calls_of_a_create, *left = killed_create(None)
    assert left == [[], {}, []]
    assert calls_of_a_create >= 5  # GetMonitor, CreateMonitor, GetMonitor while PENDING, ..., DescribeSecurityGroups
    for kill_after in range(calls_of_a_create + 1):
        made, groups, monitors, interfaces = killed_create(kill_after)
        assert made >= kill_after
        assert (groups, monitors, interfaces) == ([], {}, []), f"killed after call {kill_after}"


def test_in_a_long_storm_of_server_errors_every_call_gets_its_eight_attempts() -> None:
    """botocore's standard retry mode shares a quota per client, which a warm Lambda container's
    client would exhaust in a long storm (later calls giving up after their first error). The
    handler's client has no such quota: over 150 calls at 50% server errors, a call fails only after
    8 attempts, as the README promises."""
    with offline(Faults(internal_error=0.5, seed=7)) as emulator:
        boto3.client("networkmonitor", **emulator.client_options()).create_monitor(monitorName="m")
        client = service.new_client(**emulator.client_options())  # one client: a warm container's
        attempts, failures = [], 0
        for _ in range(150):
            before = len(emulator.calls)
            try:
                client.get_monitor(monitorName="m")
            except ClientError:
                failures += 1
                assert len(emulator.calls) - before == service.MAX_ATTEMPTS
            attempts.append(len(emulator.calls) - before)
        assert max(attempts) <= service.MAX_ATTEMPTS
        assert sum(attempts) > 250  # the storm was real: about two attempts per call
        assert failures <= 2  # each needs 8 errors in a row: 1 in 256
