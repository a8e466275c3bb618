"""What NetworkMonitor puts in the template, and the API a CDK user programs against."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, RemovalPolicy, Stack, Tags
from constructs import Construct

from cdk_netmon import MonitorProbe, NetworkMonitor, ProbeProtocol
from cdk_netmon.handler.rules import check_monitor_name
from cdk_netmon.testing import declared_monitors
from tests.support import (
    HANDLER_MODULES,
    SUBNET_A,
    icmp,
    isolated_vpc,
    new_stack,
    resources_of_type,
    tcp,
    template_json,
)


def monitors_in(template: dict[str, Any]) -> dict[str, Any]:
    return resources_of_type(template, "Custom::NetworkMonitor")


def only_monitor(stack: Stack) -> dict[str, Any]:
    [resource] = monitors_in(template_json(stack)).values()
    return dict(resource)


def document(resource: dict[str, Any]) -> dict[str, Any]:
    """A monitor resource's properties in CreateMonitor's shape, as the testing kit reads them."""
    return declared_monitors({"Resources": {"M": resource}})["M"]


def key(protocol: str, destination: str, subnet: str = SUBNET_A.rsplit("/", 1)[-1]) -> str:
    """A generated probe key, by its recipe: protocol, destination with dashes, and 6 hex of a
    SHA-256 of `source|destination|PROTOCOL` (see `MonitorProbe.name`)."""
    digest = hashlib.sha256(f"{subnet}|{destination}|{protocol.upper()}".encode()).hexdigest()[:6]
    return f"{protocol}-{destination.replace('.', '-')}-{digest}"


def test_the_monitor_is_properties_of_its_own_with_probes_keyed() -> None:
    stack = new_stack()
    NetworkMonitor(
        stack,
        "Monitor",
        monitor_name="onprem",
        aggregation_period=Duration.seconds(30),
        tags={"team": "network"},
        probes=[tcp(packet_size=100, probe_tags={"path": "dx"}), icmp(destination="10.0.0.2")],
    )
    properties = only_monitor(stack)["Properties"]
    assert properties.pop("ServiceToken")
    assert properties == {
        "ServiceTimeout": "3600",  # the maximum, above the framework's 50 minutes
        "MonitorName": "onprem",
        "AggregationPeriod": 30,
        "Tags": {"team": "network"},
        "Probes": {
            key("tcp", "10.0.0.1"): {
                "SourceArn": SUBNET_A,
                "Destination": "10.0.0.1",
                "Protocol": "TCP",
                "DestinationPort": 443,
                "PacketSize": 100,
                "Tags": {"path": "dx"},
                "State": "ACTIVE",
            },
            key("icmp", "10.0.0.2"): {
                "SourceArn": SUBNET_A,
                "Destination": "10.0.0.2",
                "Protocol": "ICMP",
                "State": "ACTIVE",
            },
        },
        "OwnershipTags": "cdk-netmon:stack-id,cdk-netmon:logical-id",
    }


def test_defaults_are_a_60_second_period_and_no_probes() -> None:
    stack = new_stack()
    NetworkMonitor(stack, "Monitor", monitor_name="empty")
    properties = only_monitor(stack)["Properties"]
    assert (properties["MonitorName"], properties["AggregationPeriod"]) == ("empty", 60)
    assert "Probes" not in properties
    assert "Tags" not in properties


@pytest.mark.slow
def test_an_isubnet_source_becomes_the_subnets_arn() -> None:
    stack = new_stack()
    vpc = isolated_vpc(stack, azs=1)
    NetworkMonitor(
        stack,
        "Monitor",
        probes=[MonitorProbe(source=vpc.isolated_subnets[0], destination="10.0.0.1", protocol=ProbeProtocol.ICMP)],
    )
    [probe] = only_monitor(stack)["Properties"]["Probes"].values()
    parts = probe["SourceArn"]["Fn::Join"][1]
    subnet_logical_id = stack.get_logical_id(vpc.isolated_subnets[0].node.default_child)  # type: ignore[arg-type]
    assert {"Ref": subnet_logical_id} in parts
    assert ":subnet/" in "".join(p for p in parts if isinstance(p, str))


def test_probes_added_later_and_tags_from_tags_of_reach_the_monitor() -> None:
    stack = new_stack()
    monitor = NetworkMonitor(stack, "Monitor", monitor_name="m", tags={"own": "1"})
    monitor.add_probe(source_arn=SUBNET_A, destination="10.0.0.9", protocol=ProbeProtocol.ICMP)
    Tags.of(stack).add("cost-centre", "42")
    body = document(only_monitor(stack))
    assert body["tags"] == {"own": "1", "cost-centre": "42"}
    assert [p["destination"] for p in body["probes"]] == ["10.0.0.9"]


@pytest.mark.slow
def test_one_provider_serves_every_monitor_of_a_stack() -> None:
    def functions_and_monitors(count: int) -> tuple[int, int]:
        stack = new_stack()
        for i in range(count):
            NetworkMonitor(stack, f"Monitor{i}", probes=[tcp()])
        template = template_json(stack)
        return len(resources_of_type(template, "AWS::Lambda::Function")), len(monitors_in(template))

    one_functions, _ = functions_and_monitors(1)
    many_functions, many_monitors = functions_and_monitors(25)
    assert many_monitors == 25
    assert many_functions == one_functions == 5  # on_event, is_complete and the framework's three


def test_each_stack_has_its_own_provider() -> None:
    app = App()
    for name in ("A", "B"):
        NetworkMonitor(Stack(app, name), "Monitor")
    for name in ("A", "B"):
        stack = app.node.find_child(name)
        assert len(resources_of_type(template_json(stack), "AWS::StepFunctions::StateMachine")) == 1  # type: ignore[arg-type]


def test_handlers_run_the_python_package_on_the_newest_python_runtime() -> None:
    functions = resources_of_type(template_json(NetworkMonitor(new_stack(), "M").stack), "AWS::Lambda::Function")
    ours = {
        f["Properties"]["Handler"]: f["Properties"]["Runtime"]
        for f in functions.values()
        if f["Properties"]["Handler"].startswith("handler.")
    }
    assert ours == {"handler.lifecycle.on_event": "python3.14", "handler.lifecycle.is_complete": "python3.14"}


def test_the_lambda_asset_holds_only_the_handler_package(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    NetworkMonitor(Stack(app, "Stack"), "Monitor")
    app.synth()
    python_assets = [d for d in tmp_path.glob("asset.*") if (d / "handler").is_dir()]
    [asset] = python_assets
    files = sorted(str(p.relative_to(asset)) for p in asset.rglob("*") if p.is_file())
    assert files == [f"handler/{name}" for name in HANDLER_MODULES]


class TestGeneratedNames:
    def test_are_valid_stable_and_prefixed_by_the_stack_name(self) -> None:
        names = []
        for _ in range(2):
            stack = new_stack("Network-Prod")
            NetworkMonitor(stack, "OnPrem.Links")
            names.append(document(only_monitor(stack))["monitorName"])
        assert names[0] == names[1]
        assert names[0].startswith("Network-Prod-OnPrem-Links-")
        assert check_monitor_name("name", names[0]) == []

    def test_stay_within_200_characters_and_unique_for_deep_paths(self) -> None:
        stack = new_stack("S" * 120)
        parent: Construct = stack
        for depth in range(6):
            parent = Construct(parent, f"Level{depth}" + "x" * 20)
        NetworkMonitor(parent, "A")
        NetworkMonitor(parent, "B")
        names = [document(r)["monitorName"] for r in monitors_in(template_json(stack)).values()]
        assert len(set(names)) == 2
        for name in names:
            assert len(name) <= 200
            assert check_monitor_name("name", name) == []


def test_attributes_resolve_at_deploy() -> None:
    stack = new_stack()
    monitor = NetworkMonitor(stack, "Monitor", probes=[tcp(), icmp()])
    logical_id = stack.get_logical_id(monitor.node.find_child("Resource").node.default_child)  # type: ignore[arg-type]
    resolve = stack.resolve
    assert resolve(monitor.monitor_name) == {"Ref": logical_id}
    assert resolve(monitor.monitor_arn) == {"Fn::GetAtt": [logical_id, "MonitorArn"]}
    icmp_key = key("icmp", "10.0.0.1")
    assert resolve(monitor.probe_id(monitor.probes[1])) == {"Fn::GetAtt": [logical_id, f"ProbeId.{icmp_key}"]}


def test_probe_id_refuses_a_probe_of_another_monitor() -> None:
    monitor = NetworkMonitor(new_stack(), "Monitor", probes=[tcp()])
    with pytest.raises(
        ValueError, match=re.escape("Stack/Monitor: the probe to 10.0.0.9 is not one of this monitor's probes")
    ):
        monitor.probe_id(icmp(destination="10.0.0.9"))


def test_retain_keeps_the_monitor_when_it_leaves_the_stack() -> None:
    stack = new_stack()
    NetworkMonitor(stack, "Monitor", removal_policy=RemovalPolicy.RETAIN)
    resource = only_monitor(stack)
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"


class TestHandlerPermissions:
    def statements(self, stack: Stack) -> list[dict[str, Any]]:
        [policy] = [
            p
            for k, p in resources_of_type(template_json(stack), "AWS::IAM::Policy").items()
            if k.startswith("cdknetmonNetworkMonitorProviderHandlerPolicy")
        ]
        return list(policy["Properties"]["PolicyDocument"]["Statement"])

    def networkmonitor_statements(self, stack: Stack) -> list[dict[str, Any]]:
        return [s for s in self.statements(stack) if "networkmonitor:" in json.dumps(s["Action"])]

    def test_grant_exactly_the_calls_the_handler_makes_on_monitors_and_probes_of_the_account_and_region(
        self,
    ) -> None:
        stack = Stack(App(), "Stack", env={"account": "111122223333", "region": "eu-central-1"})
        NetworkMonitor(stack, "Named", monitor_name="explicit-name")
        NetworkMonitor(stack, "Generated")
        statements = self.networkmonitor_statements(stack)
        actions = sorted(
            a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        )
        assert actions == sorted(
            f"networkmonitor:{operation}"
            for operation in (
                "CreateMonitor",
                "GetMonitor",
                "UpdateMonitor",
                "DeleteMonitor",
                "CreateProbe",
                "UpdateProbe",
                "DeleteProbe",
                "TagResource",
                "UntagResource",
            )
        )
        for statement in statements:
            if statement["Action"] == "networkmonitor:CreateProbe":
                # The Service Authorization Reference lists no resource type for CreateProbe.
                assert statement["Resource"] == "*"
                continue
            resources = [json.dumps(stack.resolve(r)) for r in statement["Resource"]]
            assert len(resources) == 2
            assert all(":networkmonitor:eu-central-1:111122223333:" in r for r in resources)
            assert any(":monitor/*" in r for r in resources)
            assert any(":probe/*" in r for r in resources)

    def test_never_every_action_and_everything_only_where_the_reference_has_no_resource_type(self) -> None:
        for statement in self.statements(NetworkMonitor(new_stack(), "M").stack):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(a.endswith(":*") or a == "*" for a in actions)
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if "*" in resources:
                # Each such action in a statement of its own: nothing else rides on the `*`.
                assert resources == ["*"]
                assert actions in (["networkmonitor:CreateProbe"], ["ec2:DescribeSecurityGroups"])

    def test_the_ownership_tags_cannot_be_removed(self) -> None:
        [untag] = [
            s
            for s in self.networkmonitor_statements(new_stack_with_monitor())
            if s["Action"] == "networkmonitor:UntagResource"
        ]
        assert untag["Condition"] == {"ForAllValues:StringNotLike": {"aws:TagKeys": ["cdk-netmon:*"]}}

    @pytest.mark.slow
    def test_do_not_change_when_monitors_are_added_removed_or_renamed(self) -> None:
        def policy(*names: str | None) -> list[dict[str, Any]]:
            stack = new_stack()
            for i, name in enumerate(names):
                NetworkMonitor(stack, f"Monitor{i}", monitor_name=name)
            return self.statements(stack)

        assert policy("a") == policy("b", None) == policy(*[None] * 100)

    def test_allow_the_service_linked_role_only_for_network_monitor(self) -> None:
        [statement] = [
            s
            for s in self.statements(NetworkMonitor(new_stack(), "M").stack)
            if s["Action"] == "iam:CreateServiceLinkedRole"
        ]
        assert statement["Condition"] == {"StringEquals": {"iam:AWSServiceName": "networkmonitor.amazonaws.com"}}
        assert "AWSServiceRoleForNetworkMonitor" in json.dumps(statement["Resource"])

    def test_outlive_every_monitor_so_that_delete_can_run(self) -> None:
        stack = new_stack()
        NetworkMonitor(stack, "Monitor")
        [policy_id] = [
            k
            for k in resources_of_type(template_json(stack), "AWS::IAM::Policy")
            if k.startswith("cdknetmonNetworkMonitorProviderHandlerPolicy")
        ]
        assert policy_id in only_monitor(stack)["DependsOn"]


def new_stack_with_monitor() -> Stack:
    stack = new_stack()
    NetworkMonitor(stack, "Monitor")
    return stack


class TestMetrics:
    def test_name_the_monitor_and_probe(self) -> None:
        stack = new_stack()
        monitor = NetworkMonitor(stack, "Monitor", probes=[tcp()])
        metric = monitor.metric_rtt(probe_id=monitor.probe_id(monitor.probes[0]), period=Duration.minutes(1))
        assert metric.namespace == "AWS/NetworkMonitor"
        assert metric.metric_name == "RTT"
        assert metric.statistic == "Average"
        assert metric.period.to_seconds() == 60
        assert set(stack.resolve(metric.dimensions)) == {"Monitor", "Probe"}

    @pytest.mark.parametrize(
        ("helper", "name", "statistic"),
        [("metric_packet_loss", "PacketLoss", "Average"), ("metric_health_indicator", "HealthIndicator", "Maximum")],
    )
    def test_helpers(self, helper: str, name: str, statistic: str) -> None:
        monitor = NetworkMonitor(new_stack(), "Monitor")
        metric = getattr(monitor, helper)(probe_id="probe-0123456789abcdefghijklm")
        assert (metric.metric_name, metric.statistic) == (name, statistic)


def test_an_imported_monitor_has_an_arn_and_metrics() -> None:
    stack = Stack(App(), "Stack", env={"account": "123456789012", "region": "eu-west-1"})
    imported = NetworkMonitor.from_monitor_name(stack, "Imported", "legacy-monitor")
    assert imported.monitor_name == "legacy-monitor"
    arn = json.dumps(stack.resolve(imported.monitor_arn))
    assert "networkmonitor:eu-west-1:123456789012:monitor/legacy-monitor" in arn
    assert imported.metric("RTT", probe_id="probe-x").dimensions == {"Monitor": "legacy-monitor", "Probe": "probe-x"}


def test_the_interface_states_the_implementations_signatures() -> None:
    """INetworkMonitor is a Protocol, which cannot be a base of a jsii class (their metaclasses
    conflict), so it restates the members; here they are held to the implementation's."""
    import inspect

    from cdk_netmon.monitor_base import INetworkMonitor, NetworkMonitorBase

    members = [name for name in vars(INetworkMonitor) if not name.startswith("_")]
    assert {"monitor_name", "monitor_arn", "grant", "grant_read", "metric", "metric_rtt"} <= set(members)
    for name in members:
        declared, implemented = vars(INetworkMonitor)[name], getattr(NetworkMonitorBase, name)
        if isinstance(declared, property):
            assert isinstance(implemented, property), name
            declared, implemented = declared.fget, implemented.fget
        assert inspect.signature(declared) == inspect.signature(implemented), name
