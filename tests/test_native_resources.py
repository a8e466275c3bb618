"""CloudFormation's own AWS::NetworkMonitor::Monitor and ::Probe through the kit's stand-in, on
templates written by hand: each story deploys, changes and destroys a native stack (or one that
mixes native and custom resources) against the emulator, and checks the service after each step.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from cdk_netmon.plan.assembly import read_input
from cdk_netmon.testing import DeployFailedError, LocalNetworkMonitor, UnsupportedTemplateError, offline_stack
from cdk_netmon.testing.cloudformation import StackDriver
from cdk_netmon.testing.iam import NO_PERMISSIONS
from cdk_netmon.testing.kit import native_resources, service_security_groups
from cdk_netmon.testing.offline_deploy import run
from tests.offline import driver, offline, template, vpc_with_subnets

MONITOR, PROBE = "AWS::NetworkMonitor::Monitor", "AWS::NetworkMonitor::Probe"
ARN = "arn:aws:networkmonitor:eu-west-1:123456789012:monitor/{}"


def probe(source: str, destination: str, *, port: int | None = None, monitor: str = "onprem", **extra: Any) -> Any:
    properties: dict[str, Any] = {
        "MonitorName": monitor,
        "SourceArn": source,
        "Destination": destination,
        "Protocol": "TCP" if port else "ICMP",
    }
    if port:
        properties["DestinationPort"] = port
    return {"Type": PROBE, "DependsOn": ["Monitor"], "Properties": {**properties, **extra}}


def native(
    probes: Mapping[str, Any],
    *,
    name: str = "onprem",
    period: int = 30,
    tags: Mapping[str, str] | None = None,
    monitor: Mapping[str, Any] | None = None,
    outputs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A template as a hand-written native pair is: one monitor, probes that name it and depend on it."""
    properties: dict[str, Any] = {"MonitorName": name, "AggregationPeriod": period}
    if tags:
        properties["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    body: dict[str, Any] = {"Resources": {"Monitor": {"Type": MONITOR, "Properties": properties, **(monitor or {})}}}
    body["Resources"].update(probes)
    if outputs:
        body["Outputs"] = dict(outputs)
    return body


@contextmanager
def native_stack(**options: Any) -> Iterator[tuple[LocalNetworkMonitor, StackDriver, list[str]]]:
    """The emulator, a stack on it as `offline_stack` makes one, and the ARNs of two subnets of a VPC."""
    with offline() as emulator, offline_stack(emulator, **options) as stack:
        _, subnets = vpc_with_subnets(emulator)
        yield emulator, stack, subnets


def live_probes(emulator: LocalNetworkMonitor, name: str = "onprem") -> dict[str, dict[str, Any]]:
    return {p["probeId"]: p for p in emulator.snapshot()[name]["probes"]}


def targets(emulator: LocalNetworkMonitor) -> dict[str, tuple[Any, ...]]:
    """Each live probe's source, destination and port, by id."""
    return {i: (p["sourceArn"], p["destination"], p.get("destinationPort")) for i, p in live_probes(emulator).items()}


def probe_id(stack: StackDriver, logical_id: str) -> str:
    return str(stack.resources[logical_id].data["ProbeId"])


# --- create, update in place, destroy --------------------------------------------------------------


@pytest.mark.slow
def test_a_native_stack_is_created_updated_in_place_and_destroyed_leaving_the_service_group() -> None:
    with native_stack() as (emulator, stack, (a, b)):
        stack.deploy(native({"Web": probe(a, "10.0.0.1", port=443), "Ping": probe(b, "10.0.0.2")}, tags={"t": "1"}))
        assert stack.requests == [("Create", "Monitor"), ("Create", "Web"), ("Create", "Ping")]
        monitor = emulator.snapshot()["onprem"]
        assert (monitor["state"], monitor["aggregationPeriod"], monitor["tags"]) == ("ACTIVE", 30, {"t": "1"})
        web = live_probes(emulator)[probe_id(stack, "Web")]
        assert (web["state"], web["destinationPort"]) == ("ACTIVE", 443)
        assert stack.resources["Monitor"].physical_id == ARN.format("onprem")  # Ref: the ARN
        assert stack.resources["Web"].physical_id == f"onprem|{web['probeId']}"  # Ref: MonitorName|ProbeId
        assert stack.resources["Web"].data == {
            "ProbeId": web["probeId"],
            "ProbeArn": web["probeArn"],
            "State": "ACTIVE",
            "AddressFamily": "IPV4",
            "VpcId": web["vpcId"],
            "CreatedAt": stack.resources["Web"].data["CreatedAt"],
            "ModifiedAt": stack.resources["Web"].data["ModifiedAt"],
        }
        assert sorted(stack.resources["Monitor"].data) == ["CreatedAt", "ModifiedAt", "MonitorArn", "State"]

        before = len(emulator.calls)
        stack.deploy(native({"Web": probe(a, "10.0.0.1", port=8443), "Ping": probe(b, "10.0.0.2")}, period=60))
        assert emulator.writes(before) == ["UpdateMonitor", "UntagResource", "UpdateProbe"]
        assert live_probes(emulator)[web["probeId"]]["destinationPort"] == 8443  # the same probe, in place
        assert emulator.snapshot()["onprem"]["aggregationPeriod"] == 60

        before = len(emulator.calls)
        stack.destroy()
        assert emulator.writes(before) == ["DeleteProbe", "DeleteProbe", "DeleteMonitor"]
        assert emulator.snapshot() == {}
        [group] = service_security_groups(emulator)  # nothing removes it: Terraform's tests delete it by hand
        assert group["Description"] == "Created By Amazon CloudWatch Network Monitor for onprem"


def test_a_template_cannot_pause_a_probe_its_state_is_read_only() -> None:
    with native_stack() as (emulator, stack, (a, _)):
        stack.deploy(native({"Ping": probe(a, "10.0.0.2", State="INACTIVE")}))
        [live] = live_probes(emulator).values()
        assert live["state"] == "ACTIVE"


def test_the_handlers_wait_for_pending_to_end_unless_told_not_to() -> None:
    with offline() as emulator, offline_stack(emulator) as waiting:
        started = emulator.clock.now()
        _, (a, _) = vpc_with_subnets(emulator)
        waiting.deploy(native({"Ping": probe(a, "10.0.0.2")}))
        assert waiting.resources["Ping"].data["State"] == "ACTIVE"
        assert emulator.clock.now() - started >= 60  # the emulator's PENDING period
    with offline() as emulator:
        stack = offline_stack(emulator, native=native_resources(emulator, wait_for_pending=False))
        with stack as hurried:
            _, (a, _) = vpc_with_subnets(emulator)
            hurried.deploy(native({"Ping": probe(a, "10.0.0.2")}))
            assert hurried.resources["Ping"].data["State"] == "PENDING"


# --- replacement -----------------------------------------------------------------------------------


def test_a_new_source_replaces_the_probe_the_monitor_briefly_holding_both() -> None:
    held: list[int] = []

    def count(logical_id: str, request_type: str, stage: str) -> None:
        if (logical_id, request_type, stage) == ("Web", "Update", "complete"):
            held.append(len(emulator.snapshot()["onprem"]["probes"]))

    with native_stack(observe=count) as (emulator, stack, (a, b)):
        stack.deploy(native({"Web": probe(a, "10.0.0.1", port=443)}))
        old = probe_id(stack, "Web")
        before = len(emulator.calls)
        stack.deploy(native({"Web": probe(b, "10.0.0.1", port=443)}))
        assert held == [2]
        assert emulator.writes(before) == ["CreateProbe", "DeleteProbe"]
        [(new, live)] = live_probes(emulator).items()
        assert new == probe_id(stack, "Web") != old
        assert live["sourceArn"] == b
        assert stack.resources["Web"].physical_id == f"onprem|{new}"


@pytest.mark.slow
def test_a_renamed_monitor_replaces_it_and_its_probes_the_old_probes_going_before_the_old_monitor() -> None:
    with native_stack() as (emulator, stack, (a, b)):
        stack.deploy(native({"Web": probe(a, "10.0.0.1", port=443), "Ping": probe(b, "10.0.0.2")}))
        renamed = {"Web": probe(a, "10.0.0.1", port=443, monitor="dc"), "Ping": probe(b, "10.0.0.2", monitor="dc")}
        before = len(emulator.calls)
        stack.deploy(native(renamed, name="dc"))
        assert emulator.writes(before) == [
            *("CreateMonitor", "CreateProbe", "CreateProbe"),
            *("DeleteProbe", "DeleteProbe", "DeleteMonitor"),  # the clean-up, dependents first
        ]
        assert stack.abandoned == []
        assert sorted(emulator.snapshot()) == ["dc"]
        assert len(live_probes(emulator, "dc")) == 2


# --- policies ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_retained_resources_stay_and_a_monitor_cannot_be_deleted_while_its_retained_probes_stay() -> None:
    retained = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    with native_stack() as (emulator, stack, (a, b)):
        stack.deploy(native({"Web": {**probe(a, "10.0.0.1", port=443), **retained}}, monitor=retained))
        old = probe_id(stack, "Web")
        stack.deploy(native({"Web": {**probe(b, "10.0.0.1", port=443), **retained}}, monitor=retained))
        assert old in live_probes(emulator)  # the replaced probe is kept, beside the new one
        stack.destroy()
        assert len(live_probes(emulator)) == 2
        assert [logical_id for logical_id, _ in stack.retained] == ["Web", "Web", "Monitor"]

    with native_stack() as (emulator, stack, (a, _)):
        stack.deploy(native({"Web": {**probe(a, "10.0.0.1", port=443), "DeletionPolicy": "Retain"}}))
        with pytest.raises(DeployFailedError, match=r"^Monitor: DELETE_FAILED: DeleteMonitor: ValidationException: "):
            stack.destroy()  # the monitor's handler may delete no probe (the schema's permissions)
        assert len(live_probes(emulator)) == 1


# --- failures and rollbacks --------------------------------------------------------------------------


def test_a_failed_update_rolls_back_updates_in_place_and_deletes_a_new_replacement() -> None:
    with native_stack() as (emulator, stack, (a, b)):
        first = native({"Web": probe(a, "10.0.0.1", port=443), "Ping": probe(a, "10.0.0.2")})
        stack.deploy(first)
        deployed = {k: (v.physical_id, v.properties) for k, v in stack.resources.items()}
        live = targets(emulator)
        failing = native(
            {
                "Web": probe(a, "10.0.0.1", port=8443),  # in place
                "Ping": probe(b, "10.0.0.2"),  # replaced
                "Bad": probe(a, "2001:db8::1"),  # refused: the monitor's probes are IPv4
            },
            period=60,
        )
        with pytest.raises(DeployFailedError, match=r"^Bad: CreateProbe: ValidationException: .*address family"):
            stack.deploy(failing)
        assert {k: (v.physical_id, v.properties) for k, v in stack.resources.items()} == deployed
        assert targets(emulator) == live
        assert emulator.snapshot()["onprem"]["aggregationPeriod"] == 30


def test_a_failed_first_deployment_deletes_what_it_created() -> None:
    with native_stack() as (emulator, stack, (a, _)):
        with pytest.raises(DeployFailedError, match=r"^Bad: CreateProbe: ValidationException: .*not an IP address"):
            stack.deploy(native({"Ping": probe(a, "10.0.0.2"), "Bad": probe(a, "example.com")}))
        assert stack.resources == {}
        assert emulator.snapshot() == {}


# --- order, references and the handlers' identity ----------------------------------------------------


@pytest.mark.slow
def test_native_and_custom_resources_go_in_dependency_order_and_are_deleted_in_the_reverse() -> None:
    with offline() as emulator:
        _, (a, _) = vpc_with_subnets(emulator)
        custom = template({"monitorName": "legacy", "probes": []})
        custom["Resources"]["Monitor0"]["DependsOn"].append("Alarm")  # waits for an alarm on the native probe
        mixed = native(
            {"Ping": probe(a, "10.0.0.2")},
            outputs={
                "ProbeRef": {"Value": {"Ref": "Ping"}},
                "ProbeId": {"Value": {"Fn::GetAtt": ["Ping", "ProbeId"]}},
                "MonitorArn": {"Value": {"Fn::GetAtt": "Monitor.MonitorArn"}},
            },
        )
        alarm = {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Dimensions": [{"Fn::GetAtt": ["Ping", "ProbeId"]}]}}
        resources = {"Monitor0": custom["Resources"].pop("Monitor0"), **custom["Resources"], "Alarm": alarm}
        mixed["Resources"] = {**resources, **dict(reversed(list(mixed["Resources"].items())))}  # probe before monitor
        stack = driver(emulator, native=native_resources(emulator), placeholders=True)
        stack.deploy(mixed)
        assert stack.requests == [("Create", "Monitor"), ("Create", "Ping"), ("Create", "Monitor0")]
        ping = probe_id(stack, "Ping")
        assert stack.output_values(mixed) == {
            "ProbeRef": f"onprem|{ping}",
            "ProbeId": ping,
            "MonitorArn": ARN.format("onprem"),
        }
        stack.destroy()
        assert stack.requests[3:] == [("Delete", "Monitor0"), ("Delete", "Ping"), ("Delete", "Monitor")]
        assert emulator.snapshot() == {}


def no_handler(event: Mapping[str, Any], context: Any) -> Mapping[str, Any]:
    raise AssertionError("the template holds no custom resource")


def test_the_native_handlers_call_the_service_as_an_administrator_not_with_the_handler_policy() -> None:
    with offline() as emulator:
        _, (a, _) = vpc_with_subnets(emulator)
        emulator.use_policy(NO_PERMISSIONS)
        with pytest.raises(ClientError, match="AccessDeniedException"):  # the control: a caller is judged
            boto3.client("networkmonitor", **emulator.client_options()).list_monitors()
        stack = StackDriver(no_handler, no_handler, emulator.clock, native=native_resources(emulator))
        stack.deploy(native({"Ping": probe(a, "10.0.0.2")}))
        assert list(emulator.snapshot()) == ["onprem"]


def test_the_driver_refuses_native_resources_without_their_handlers_and_a_change_of_type() -> None:
    with offline() as emulator:
        with pytest.raises(UnsupportedTemplateError, match=r"^Monitor is a AWS::NetworkMonitor::Monitor, which"):
            driver(emulator).deploy(native({}))
        assert emulator.calls == []
        stack = driver(emulator, native=native_resources(emulator))
        stack.deploy(template({"monitorName": "onprem", "probes": []}, logical_ids=["Monitor"]))
        before = len(emulator.calls)
        with pytest.raises(DeployFailedError, match=r"^Monitor: Update of resource type is not permitted"):
            stack.deploy(native({}))
        assert emulator.calls[before:] == []


@pytest.mark.slow
def test_a_native_stack_is_dumped_and_resumed_and_then_destroyed_probes_first() -> None:
    with native_stack() as (emulator, stack, (a, b)):
        deployed = native({"Web": probe(a, "10.0.0.1", port=443), "Ping": probe(b, "10.0.0.2")})
        stack.deploy(deployed)
        state = json.loads(json.dumps(stack.dump()))
        assert {k: v.get("resource_type") for k, v in state["resources"].items()} == {
            "Monitor": MONITOR,
            "Web": PROBE,
            "Ping": PROBE,
        }
        resumed = driver(emulator, native=native_resources(emulator))
        resumed.load(state, deployed)
        resumed.destroy()
        assert resumed.requests == [("Delete", "Ping"), ("Delete", "Web"), ("Delete", "Monitor")]
        assert emulator.snapshot() == {}


def test_the_offline_command_deploys_a_native_template_and_counts_the_group_it_leaves(tmp_path: Path) -> None:
    subnet = "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0123456789abcdef0"
    versions: Sequence[int] = (443, 8443)
    paths = []
    for port in versions:
        path = tmp_path / f"v{port}.json"
        path.write_text(json.dumps(native({"Web": probe(subnet, "10.0.0.1", port=port)})))
        paths.append([read_input(path)])
    out = io.StringIO()
    assert run(paths, out, one_stack=True) == 0  # a group of the service is left, as in AWS, and named
    output = out.getvalue()
    assert "Write calls: CreateMonitor, CreateProbe\n" in output
    assert "Write calls: UpdateProbe\n" in output
    assert "  onprem: ACTIVE, aggregation 30 s, no tags\n" in output
    assert "TCP  subnet-0123456789abcdef0 -> 10.0.0.1:8443 (56 bytes)" in output
    assert "the emulator holds 0 monitors, its EC2 1 security groups of the service.\n" in output
    assert re.search(r"The service's groups of native monitors stay, as in AWS \(sg-\w+\): delete them", output)


def test_custom_resources_too_go_after_what_they_depend_on_whatever_the_template_order() -> None:
    with offline() as emulator:
        two = template({"monitorName": "first", "probes": []}, {"monitorName": "second", "probes": []})
        two["Resources"]["Monitor0"]["DependsOn"].append("Monitor1")
        stack = driver(emulator)
        stack.deploy(two)
        stack.destroy()
        assert stack.requests == [
            ("Create", "Monitor1"),
            ("Create", "Monitor0"),
            ("Delete", "Monitor0"),
            ("Delete", "Monitor1"),
        ]
