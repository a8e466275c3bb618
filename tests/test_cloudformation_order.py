"""Stories under CloudFormation's real order, with the handler's policy enforced as IAM would.

The driver installs the template's handler policy before it updates the custom resources, deletes
removed and replaced monitors afterwards (clean-up, under the new policy), and on a rollback
restores the old policy before its clean-up. The emulator refuses whatever that policy does not
allow. Each story ends with no monitor left behind and nothing foreign touched.
"""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from cdk_netmon.handler.spec import RESOURCE_TYPE
from cdk_netmon.plan.resolve import delivered
from cdk_netmon.testing import DeployFailedError, LocalNetworkMonitor, placeholder_ids
from cdk_netmon.testing.cloudformation import FailedReplacement, StackDriver
from cdk_netmon.testing.kit import handler_for
from tests.offline import assert_converged, driver, handler_policy, offline, probe_id_at, template
from tests.support import normalise_asset_hashes, parameter_template, subnet_arn, template_json
from tests.test_snapshots import ipv6_data_centre_stack

pytestmark = pytest.mark.slow  # each story deploys through the emulator: about a second

A, B = subnet_arn(1), subnet_arn(2)
NAMED: dict[str, Any] = {
    "monitorName": "onprem",
    "aggregationPeriod": 60,
    "probes": [{"sourceArn": A, "destination": "10.0.0.1", "protocol": "TCP", "destinationPort": 443}],
}
OTHER: dict[str, Any] = {
    "monitorName": "other",
    "aggregationPeriod": 30,
    "probes": [{"sourceArn": B, "destination": "10.0.0.2", "protocol": "ICMP"}],
}
RENAMED = {**NAMED, "monitorName": "onprem-v2"}
FOREIGN: dict[str, Any] = {
    "monitorName": "onprem",
    "aggregationPeriod": 30,
    "tags": {"owner": "someone-else"},
    "probes": [{"sourceArn": B, "destination": "10.9.9.9", "protocol": "ICMP"}],
}
RELEASE_0_1_0 = Path(__file__).parent / "fixtures" / "release_0_1_0"


def someone_else_creates(emulator: LocalNetworkMonitor, request: dict[str, Any]) -> None:
    """A monitor made outside the stack, by another principal: straight into the service's state."""
    with emulator.lock:
        emulator.backend().create_monitor(
            monitor_name=request["monitorName"],
            aggregation_period=request["aggregationPeriod"],
            tags=request["tags"],
            probes=request["probes"],
        )


def without_timestamps(monitor: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(monitor, default=str))  # type: ignore[no-any-return]


def named_policy(*names: str) -> dict[str, Any]:
    """The handler policy as 0.1.0 wrote it for explicit names: each monitor by its name."""
    policy = handler_policy()
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        if "networkmonitor:GetMonitor" in statement["Action"]:
            statement["Resource"] = [
                *(f"arn:aws:networkmonitor:eu-west-1:123456789012:monitor/{n}" for n in names),
                "arn:aws:networkmonitor:eu-west-1:123456789012:probe/*",
            ]
    return policy


# --- removal, rename, destroy -------------------------------------------------------------------


def test_a_removed_explicitly_named_monitor_is_deleted_in_the_clean_up() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(NAMED, OTHER))
        stack.deploy(template(OTHER, logical_ids=["Monitor1"]))
        assert stack.abandoned == []
        assert_converged(emulator, OTHER)


def test_the_stand_in_reproduces_the_orphan_that_a_policy_listing_names_leaves() -> None:
    """The control: with 0.1.0's policy, which names each explicit monitor, the clean-up runs under a
    policy that no longer names the removed monitor; its Delete is refused and CloudFormation
    abandons it. The stories above pass because the policy no longer depends on the names."""
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(NAMED, OTHER, policy=named_policy("onprem", "other")))
        stack.deploy(template(OTHER, logical_ids=["Monitor1"], policy=named_policy("other")))
        [(logical_id, physical_id, reason)] = stack.abandoned
        assert (logical_id, physical_id) == ("Monitor0", "onprem")
        assert "AccessDeniedException" in reason
        assert "is not authorized to perform: networkmonitor:GetMonitor" in reason
        assert sorted(emulator.snapshot()) == ["onprem", "other"]


def test_a_renamed_monitor_replaces_the_old_one_which_goes_in_the_clean_up() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(NAMED))
        stack.deploy(template(RENAMED))
        assert stack.abandoned == []
        assert stack.resources["Monitor0"].physical_id == "onprem-v2"
        assert_converged(emulator, RENAMED)


def test_destroy_after_a_rename_leaves_nothing() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(NAMED))
        stack.deploy(template(RENAMED))
        stack.destroy()
        assert emulator.snapshot() == {}


@pytest.mark.parametrize("engine", ["delete-new", "update-old"])
def test_a_rename_whose_new_monitor_fails_leaves_only_the_old_monitor(engine: FailedReplacement) -> None:
    """AWS is reported to delete the failed replacement's new physical id in the clean-up; other
    engines send an Update back to the old properties with the old id. Either way, nothing stays."""
    broken = {**RENAMED, "probes": [{"sourceArn": A, "destination": "10.0.0.66", "protocol": "ICMP"}]}
    with offline() as emulator:
        stack = driver(emulator, failed_replacement=engine)
        stack.deploy(template(NAMED, OTHER))
        emulator.out_of_band().force_error_on_probes_to("10.0.0.66")
        with pytest.raises(DeployFailedError, match=r"Monitor0: MonitorFailedError: monitor 'onprem-v2' failed"):
            stack.deploy(template(broken, {**OTHER, "tags": {"rev": "2"}}))
        assert stack.abandoned == []
        assert stack.resources["Monitor0"].physical_id == "onprem"
        assert_converged(emulator, NAMED, OTHER)
        stack.destroy()
        assert emulator.snapshot() == {}


# --- someone else's monitor ---------------------------------------------------------------------


def test_a_monitor_that_takes_the_name_between_polls_fails_the_deploy_and_is_left_as_it_was() -> None:
    with offline() as emulator:
        swapped: list[dict[str, Any]] = []

        def between_polls(logical_id: str, request_type: str, stage: str) -> None:
            if stage == "waiting" and not swapped:
                emulator.out_of_band().drift_delete_monitor("onprem")
                someone_else_creates(emulator, FOREIGN)
                swapped.append(without_timestamps(emulator.snapshot()["onprem"]))

        stack = driver(emulator, observe=between_polls)
        with pytest.raises(DeployFailedError, match="'onprem' exists but is not this resource's"):
            stack.deploy(template(NAMED))
        assert stack.resources == {}
        assert stack.abandoned == []
        assert without_timestamps(emulator.snapshot()["onprem"]) == swapped[0]
        assert list(emulator.snapshot()) == ["onprem"]


def test_a_name_taken_before_the_deploy_is_refused_and_the_rollback_leaves_that_monitor_alone() -> None:
    with offline() as emulator:
        someone_else_creates(emulator, FOREIGN)
        before = without_timestamps(emulator.snapshot()["onprem"])
        stack = driver(emulator)
        with pytest.raises(DeployFailedError, match="monitor 'onprem' exists but is not this resource's"):
            stack.deploy(template(NAMED, OTHER))
        assert without_timestamps(emulator.snapshot()["onprem"]) == before
        assert list(emulator.snapshot()) == ["onprem"]


# --- upgrading from 0.1.0, whose monitors carry no ownership tags ----------------------------------


@contextmanager
def release_0_1_0_handler(emulator: LocalNetworkMonitor) -> Iterator[Any]:
    """The handler 0.1.0 deployed, imported from its Lambda asset as Lambda imports it, with its
    client (patched through the module global that release had) pointed at the emulator."""
    sys.path.insert(0, str(RELEASE_0_1_0 / "handler-asset.zip"))
    try:
        handler = importlib.import_module("handler")
        handler.service.client_factory = lambda: boto3.client("networkmonitor", **emulator.client_options())
        yield handler
    finally:
        sys.path.remove(str(RELEASE_0_1_0 / "handler-asset.zip"))
        for name in [m for m in sys.modules if m == "handler" or m.startswith("handler.")]:
            del sys.modules[name]


def release_0_1_0_template() -> dict[str, Any]:
    return dict(json.loads((RELEASE_0_1_0 / "Ipv6DataCentre.template.json").read_text()))


def current_template(remove_primary: bool = False) -> dict[str, Any]:
    """The same app, synthesized by this release."""
    stack = ipv6_data_centre_stack()
    if remove_primary:
        stack.node.try_remove_child("Primary")
    return normalise_asset_hashes(template_json(stack))


def deploy_release_0_1_0(emulator: LocalNetworkMonitor) -> StackDriver:
    old = release_0_1_0_template()
    stack = driver(emulator, refs=placeholder_ids(old), stack_name="Ipv6DataCentre")
    with release_0_1_0_handler(emulator) as handler:
        stack.on_event, stack.is_complete = handler.on_event, handler.is_complete
        stack.deploy(old)
    live = emulator.snapshot()
    assert sorted(live) == ["Ipv6DataCentre-Secondary-44f1fb39", "dc1-ipv6"]
    assert not any(key.startswith("cdk-netmon:") for monitor in live.values() for key in monitor["tags"])
    return stack


def upgrade(stack: StackDriver, emulator: LocalNetworkMonitor, template: dict[str, Any]) -> None:
    fresh = driver(emulator)
    stack.on_event, stack.is_complete = fresh.on_event, fresh.is_complete
    stack.refs = {**stack.refs, **placeholder_ids(template)}
    stack.deploy(template)


def test_an_upgrade_adopts_the_monitors_of_0_1_0_and_destroy_then_removes_them() -> None:
    with offline() as emulator:
        stack = deploy_release_0_1_0(emulator)
        upgrade(stack, emulator, current_template())
        live = emulator.snapshot()
        assert sorted(live) == ["Ipv6DataCentre-Secondary-44f1fb39", "dc1-ipv6"]
        for logical_id, resource in stack.resources.items():
            tags = live[resource.physical_id]["tags"]
            assert tags["cdk-netmon:logical-id"] == logical_id
            assert tags["cdk-netmon:stack-id"] == stack.stack_id
        assert [len(live[name]["probes"]) for name in sorted(live)] == [1, 3]
        stack.destroy()
        assert emulator.snapshot() == {}
        assert stack.abandoned == []


def test_an_upgrade_that_removes_an_explicitly_named_monitor_of_0_1_0_deletes_it() -> None:
    with offline() as emulator:
        stack = deploy_release_0_1_0(emulator)
        upgrade(stack, emulator, current_template(remove_primary=True))
        assert stack.abandoned == []
        assert sorted(emulator.snapshot()) == ["Ipv6DataCentre-Secondary-44f1fb39"]
        stack.destroy()
        assert emulator.snapshot() == {}


def test_the_policy_grants_exactly_the_operations_the_handler_calls_over_a_lifecycle() -> None:
    first = {
        **NAMED,
        "tags": {"team": "network"},
        "probes": [*NAMED["probes"], {"sourceArn": B, "destination": "10.0.0.5", "protocol": "ICMP"}],
    }
    changed = {
        **first,
        "aggregationPeriod": 30,
        "tags": {"cost-centre": "42"},
        "probes": [
            {**NAMED["probes"][0], "destinationPort": 8443},
            {"sourceArn": B, "destination": "10.0.0.6", "protocol": "ICMP", "probeTags": {"path": "vpn"}},
            {"sourceArn": subnet_arn(3), "destination": "10.0.0.7", "protocol": "ICMP"},
        ],
    }
    with offline() as emulator:
        stack = driver(emulator)
        for step in (first, changed, {**changed, "monitorName": "renamed"}):
            stack.deploy(template(step))
        stack.destroy()
        called = {f"networkmonitor:{operation}" for operation in emulator.calls}
    granted = {
        action
        for statement in handler_policy()["Properties"]["PolicyDocument"]["Statement"]
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
        if action.startswith("networkmonitor:")
    }
    assert called == granted


# --- RemovalPolicy.RETAIN ------------------------------------------------------------------------


def test_retained_monitors_survive_destroy() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(NAMED, retain=True))
        stack.destroy()
        assert stack.retained == [("Monitor0", "onprem")]
        assert_converged(emulator, NAMED)


def test_a_retained_monitor_survives_its_removal_from_the_template() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(NAMED, OTHER, retain=True))
        stack.deploy(template(OTHER, logical_ids=["Monitor1"], retain=True))
        assert stack.retained == [("Monitor0", "onprem")]
        assert_converged(emulator, NAMED, OTHER)


def test_a_retained_monitor_survives_its_replacement() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(NAMED, retain=True))
        stack.deploy(template(RENAMED, retain=True))
        assert stack.retained == [("Monitor0", "onprem")]
        assert_converged(emulator, NAMED, RENAMED)


BROKEN: dict[str, Any] = {**OTHER, "probes": [{"sourceArn": B, "destination": "10.0.0.66", "protocol": "ICMP"}]}
"""OTHER, with a probe the service refuses to create (forced by `first_deploy_failed`)."""


@contextmanager
def first_deploy_failed(written: dict[str, Any]) -> Iterator[tuple[LocalNetworkMonitor, StackDriver]]:
    """The service and the stack after a first deploy of `written` failed on BROKEN's probe."""
    with offline() as emulator:
        emulator.out_of_band().force_error_on_probes_to("10.0.0.66")
        stack = driver(emulator)
        with pytest.raises(DeployFailedError, match=r"10\.0\.0\.66"):
            stack.deploy(written)
        yield emulator, stack


def test_a_retained_monitor_survives_a_failed_first_deploy() -> None:
    with first_deploy_failed(template(NAMED, BROKEN, retain=True)) as (emulator, stack):
        assert sorted(stack.retained) == [("Monitor0", "onprem"), ("Monitor1", "other")]
        assert sorted(emulator.snapshot()) == ["onprem", "other"]


def retained_except_on_create(*monitors: dict[str, object]) -> dict[str, Any]:
    """RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, as aws-cdk-lib writes it."""
    written = template(*monitors)
    for resource in written["Resources"].values():
        if resource["Type"] == "Custom::NetworkMonitor":
            resource.update({"DeletionPolicy": "RetainExceptOnCreate", "UpdateReplacePolicy": "Retain"})
    return written


def test_retain_except_on_create_keeps_a_removed_monitor_but_not_one_its_failed_create_made() -> None:
    with first_deploy_failed(retained_except_on_create(NAMED, BROKEN)) as (emulator, stack):
        assert stack.retained == []  # the rollback of the create deletes what it made
        assert emulator.snapshot() == {}
        stack.deploy(retained_except_on_create(NAMED))
        stack.deploy(retained_except_on_create(OTHER))  # NAMED's resource (Monitor0) now declares OTHER
        stack.deploy(template(logical_ids=[]))
        assert stack.retained == [("Monitor0", "onprem"), ("Monitor0", "other")]
        assert sorted(emulator.snapshot()) == ["onprem", "other"]


# --- parameters -----------------------------------------------------------------------------------


def test_parameter_values_reach_the_monitor_and_a_missing_one_is_named() -> None:
    from cdk_netmon.testing import UnsupportedTemplateError

    synthesized = parameter_template(monitor_name="onprem", source_arn=A)
    with offline() as emulator:
        with pytest.raises(UnsupportedTemplateError, match=r"^parameter Destination has no value and no default"):
            driver(emulator, refs=placeholder_ids(synthesized)).deploy(synthesized)
        stack = driver(emulator, refs=placeholder_ids(synthesized), parameters={"Destination": "10.7.7.7"})
        stack.deploy(synthesized)
        [probe] = emulator.snapshot()["onprem"]["probes"]
        assert probe["destination"] == "10.7.7.7"
        stack.destroy()


# --- CreateProbe, which the Service Authorization Reference authorizes on `*` only ---------------


def previous_release_policy() -> dict[str, Any]:
    """The handler policy as 0.2.0 wrote it: CreateProbe with the other actions, on monitor/* and probe/*."""
    policy = handler_policy()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    [create_probe] = [s for s in statements if s["Action"] == "networkmonitor:CreateProbe"]
    statements.remove(create_probe)
    [main] = [s for s in statements if "networkmonitor:GetMonitor" in s["Action"]]
    main["Action"] = [*main["Action"], "networkmonitor:CreateProbe"]
    return policy


@pytest.mark.parametrize(("policy", "allowed"), [("this release's", True), ("0.2.0's", False)])
def test_adding_moving_and_recreating_probes_call_create_probe_which_only_a_star_allows(
    policy: str, allowed: bool
) -> None:
    granted = handler_policy() if allowed else previous_release_policy()
    added = {**NAMED, "probes": [*NAMED["probes"], {"sourceArn": B, "destination": "10.0.0.5", "protocol": "ICMP"}]}
    moved = {**added, "probes": [NAMED["probes"][0], {**added["probes"][1], "sourceArn": subnet_arn(3)}]}
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(NAMED, policy=granted))  # CreateMonitor carries the first probes
        steps = [added, moved]
        if not allowed:
            with pytest.raises(
                DeployFailedError, match=r"not authorized to perform: networkmonitor:CreateProbe on resource: \*"
            ):
                stack.deploy(template(added, policy=granted))
            assert_converged(emulator, NAMED)  # rolled back
            return
        before = len(emulator.calls)
        for step in steps:
            stack.deploy(template(step, policy=granted))
            assert_converged(emulator, step)
        emulator.out_of_band().drift_delete_probe("onprem", probe_id_at(stack, "Monitor0", 1))
        stack.resend_update("Monitor0")
        assert_converged(emulator, moved)
        assert emulator.writes(before).count("CreateProbe") == 3  # added, moved, re-created


# --- upgrading from 0.2.0's one `Monitor` string to properties of their own ----------------------


def test_an_upgrade_from_the_monitor_string_of_0_2_0_is_one_update_with_no_write_call() -> None:
    declared = [
        NAMED,
        {
            **OTHER,
            "probes": [
                *OTHER["probes"],
                {"sourceArn": A, "destination": "10.0.0.3", "protocol": "ICMP", "state": "INACTIVE"},
            ],
        },
    ]
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(*declared, release="0.2.0"))
        before = len(emulator.calls), len(stack.requests)
        stack.deploy(template(*declared))
        assert stack.requests[before[1] :] == [("Update", "Monitor0"), ("Update", "Monitor1")]
        assert emulator.writes(before[0]) == []
        assert_converged(emulator, *declared)
        keys = [k for k in stack.resources["Monitor1"].data if k.startswith("ProbeId.")]
        assert keys == [
            f"ProbeId.{key}" for key in template(*declared)["Resources"]["Monitor1"]["Properties"]["Probes"]
        ]
        stack.destroy()
        assert emulator.snapshot() == {}


# --- a cancelled update whose waiter keeps polling: the newest request wins ----------------------

AT_8443_AND_ONE_MORE: dict[str, Any] = {
    **NAMED,
    "probes": [{**NAMED["probes"][0], "destinationPort": 8443}, {**OTHER["probes"][0], "sourceArn": A}],
}


def update_request(stack: StackDriver, declared: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """An Update of Monitor0 as CloudFormation sends it, a RequestId of its own."""

    def properties(monitor: dict[str, Any]) -> dict[str, Any]:
        written = template(monitor)["Resources"]["Monitor0"]["Properties"]
        return dict(delivered({**written, "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:onEvent"}))

    return {
        "RequestType": "Update",
        "ResponseURL": "https://cloudformation-custom-resource-response.invalid/presigned",
        "StackId": stack.stack_id,
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "Monitor0",
        "ResourceType": RESOURCE_TYPE,
        "PhysicalResourceId": "onprem",
        "ResourceProperties": properties(declared),
        "OldResourceProperties": properties(old),
    }


@pytest.mark.parametrize("old_polled_first", [True, False], ids=["the update polled before", "the update never polled"])
@pytest.mark.parametrize("first", ["old", "new"], ids=["old waiter first", "new waiter first"])
def test_a_cancelled_updates_waiter_stops_writing_once_the_rollbacks_waiter_starts(
    first: str, old_polled_first: bool
) -> None:
    """A sibling fails: CloudFormation cancels this resource's update (443 -> 8443, and a probe more)
    and sends the rollback (back to 443), but the Provider framework's waiter of the cancelled
    update keeps polling (aws/aws-cdk#31541). Each round, the two waiters poll in turn, the old one
    first or the new one first. The monitor ends as the rollback declares, and the old waiter
    makes no write once the new one has started; it ends quietly, with no Data (CloudFormation
    ignores the answer to a cancelled request)."""
    with offline() as emulator:
        handler = handler_for(emulator)
        stack = driver(emulator, handler=handler)
        stack.deploy(template(NAMED))
        update = update_request(stack, AT_8443_AND_ONE_MORE, old=NAMED)
        waiters = {"old": {**update, **handler.on_event(update, None)}}
        if old_polled_first:
            assert handler.is_complete(waiters["old"], None) == {"IsComplete": False}  # its mark, then 8443
        emulator.clock.advance(5)
        rollback = update_request(stack, NAMED, old=AT_8443_AND_ONE_MORE)
        waiters["new"] = {**rollback, **handler.on_event(rollback, None)}

        answers: dict[str, dict[str, Any]] = {}
        new_started, written_by_old_since = False, []
        for _ in range(40):
            for name in ["old", "new"] if first == "old" else ["new", "old"]:
                if name in answers:
                    continue
                before = len(emulator.calls)
                new_started = new_started or name == "new"
                answer = dict(handler.is_complete(waiters[name], None))
                if name == "old" and new_started:
                    written_by_old_since += emulator.writes(before)
                if answer["IsComplete"]:
                    answers[name] = answer
            if len(answers) == 2:
                break
            emulator.clock.advance(15)

        assert sorted(answers) == ["new", "old"]
        assert_converged(emulator, NAMED)
        assert written_by_old_since == []
        assert answers["old"] == {"IsComplete": True}
        assert answers["new"]["Data"]["MonitorName"] == "onprem"
