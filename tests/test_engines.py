"""One declaration, two engines: what `engine=MonitorEngine.NATIVE` renders, what it refuses, and
how a deployed monitor changes engine. The templates are held to aws-cdk-lib 2.276.0's definitions
of `CfnMonitor` and `CfnProbe` (vendored in tests/fixtures by `make native-reference`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, CfnResource, Environment, RemovalPolicy, Stack, Tags
from aws_cdk import aws_networkmonitor as networkmonitor

from cdk_netmon import MonitorEngine, MonitorProbe, NetworkMonitor, ProbeProtocol
from cdk_netmon.testing import LocalNetworkMonitor, declared_monitors, offline_stack
from cdk_netmon.testing.cloudformation import DeployFailedError
from tests.support import SUBNET_A, isolated_vpc, resources_of_type, synth_report, tcp, template_json

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "aws_cdk_lib_2_276_networkmonitor.json").read_text())
MONITOR, PROBE = "AWS::NetworkMonitor::Monitor", "AWS::NetworkMonitor::Probe"
ENV = Environment(account="123456789012", region="eu-west-1")


def stack_of(**kw: Any) -> tuple[Stack, NetworkMonitor]:
    stack = Stack(App(), "Stack", env=ENV)
    monitor = NetworkMonitor(stack, "M", engine=MonitorEngine.NATIVE, **kw)
    return stack, monitor


def native_template(**kw: Any) -> dict[str, Any]:
    stack, _ = stack_of(**kw)
    return template_json(stack)


# --- the template, as aws-cdk-lib 2.276 defines the types -------------------------------------------------


def test_every_property_is_one_aws_cdk_lib_2_276_defines_and_every_required_one_is_there() -> None:
    template = native_template(
        monitor_name="dc",
        tags={"team": "net"},
        probes=[tcp(port=443, packet_size=100, probe_tags={"a": "b"}), MonitorProbe(
            source_arn=SUBNET_A, destination="10.0.0.2", protocol=ProbeProtocol.ICMP)],
    )  # fmt: skip
    classes = {c["type"]: c for c in REFERENCE["classes"].values()}
    seen = set()
    for logical_id, resource in template["Resources"].items():
        defined = classes[resource["Type"]]["properties"]
        given = set(resource["Properties"])
        assert given <= set(defined), (logical_id, given - set(defined))
        assert {name for name, p in defined.items() if p["required"]} <= given, logical_id
        for tag in resource["Properties"].get("Tags", []):
            assert set(tag) == set(classes[resource["Type"]]["tags"]["item"])  # Key and Value
        seen.add(resource["Type"])
    assert seen == {MONITOR, PROBE}


def test_each_probe_depends_on_its_monitor_by_name_and_by_depends_on() -> None:
    template = native_template(monitor_name="dc", probes=[tcp(), tcp("10.0.0.2")])
    [monitor_id] = resources_of_type(template, MONITOR)
    for probe in resources_of_type(template, PROBE).values():
        assert probe["Properties"]["MonitorName"] == "dc"  # a plain string in the type: no implicit dependency
        assert probe["DependsOn"] == [monitor_id]


def test_no_provider_lambda_role_or_asset_is_in_the_stack() -> None:
    template = native_template(probes=[tcp()])
    assert {r["Type"] for r in template["Resources"].values()} == {MONITOR, PROBE}


@pytest.mark.skipif(hasattr(networkmonitor, "CfnProbe"), reason="aws-cdk-lib knows the Probe type: no finding")
def test_aws_cdk_libs_unknown_type_finding_is_acknowledged_for_the_probes_alone(tmp_path: Path) -> None:
    """aws-cdk-lib 2.275's synth-time validation does not know AWS::NetworkMonitor::Probe (F3006):
    each monitor acknowledges it for its own probes, and another resource of an unknown type is still
    reported."""
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Stack", env=ENV)
    NetworkMonitor(stack, "M", engine=MonitorEngine.NATIVE, probes=[tcp(), tcp("10.0.0.2")])
    CfnResource(stack, "Other", type="AWS::Example::Unknown")
    app.synth()
    [report] = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    reported = [c["constructPath"] for v in report["violations"] for c in v["violatingConstructs"]]
    assert reported == ["Stack/Other"]
    [suppressed] = report["suppressedViolations"]
    assert suppressed["ruleName"] == "F3006"
    assert suppressed["acknowledgedAt"] == "Stack/M/Probes"
    template = json.loads((tmp_path / "Stack.template.json").read_text())  # the template the report judged
    assert sorted(c["cloudFormationResource"]["logicalId"] for c in suppressed["violatingConstructs"]) == sorted(
        resources_of_type(template, PROBE)
    )


def test_a_stack_with_both_engines_has_the_provider_once_for_the_custom_resource() -> None:
    stack, _ = stack_of(probes=[tcp()])
    NetworkMonitor(stack, "Custom", probes=[tcp()])
    types = [r["Type"] for r in template_json(stack)["Resources"].values()]
    assert types.count("Custom::NetworkMonitor") == 1
    assert types.count(MONITOR) == 1
    assert types.count("AWS::Lambda::Function") >= 2


def test_an_in_place_change_keeps_every_logical_id_and_two_synths_are_identical() -> None:
    before = native_template(probes=[tcp(port=443), tcp("10.0.0.2", name="second")])
    after = native_template(probes=[tcp(port=8443), tcp("10.0.0.2", name="second")])
    assert set(before["Resources"]) == set(after["Resources"])
    assert native_template(probes=[tcp()]) == native_template(probes=[tcp()])


def test_the_removal_policy_is_on_every_resource() -> None:
    stack, monitor = stack_of(probes=[tcp()], removal_policy=RemovalPolicy.RETAIN)
    monitor.add_probe(source_arn=SUBNET_A, destination="10.0.0.3", protocol=ProbeProtocol.ICMP)
    resources = template_json(stack)["Resources"].values()
    assert [r.get("DeletionPolicy") for r in resources] == ["Retain"] * 3


def test_tags_of_reach_the_probes_and_a_probes_own_tags_win() -> None:
    stack, _monitor = stack_of(tags={"own": "monitor"}, probes=[tcp(probe_tags={"cost": "probe"})])
    Tags.of(stack).add("cost", "stack")
    Tags.of(stack).add("team", "net")
    template = template_json(stack)
    [monitor_resource] = resources_of_type(template, MONITOR).values()
    [probe] = resources_of_type(template, PROBE).values()
    assert {t["Key"]: t["Value"] for t in monitor_resource["Properties"]["Tags"]} == {
        "cost": "stack", "own": "monitor", "team": "net",
    }  # fmt: skip
    assert {t["Key"]: t["Value"] for t in probe["Properties"]["Tags"]} == {"cost": "probe", "team": "net"}


def test_a_monitor_without_tags_of_its_own_gets_those_tags_of_adds_at_synth() -> None:
    """Its probes without tags of their own carry its tag manager's rendering, made in Node.js."""
    stack, monitor = stack_of(probes=[tcp(), tcp(destination="10.0.0.2", probe_tags={"cost": "probe"})])
    Tags.of(stack).add("cost", "stack")
    template = template_json(stack)
    [monitor_resource] = resources_of_type(template, MONITOR).values()
    assert monitor_resource["Properties"]["Tags"] == [{"Key": "cost", "Value": "stack"}]
    assert sorted(json.dumps(p["Properties"]["Tags"]) for p in resources_of_type(template, PROBE).values()) == [
        '[{"Key": "cost", "Value": "probe"}]',
        '[{"Key": "cost", "Value": "stack"}]',
    ]
    assert monitor.cdk_tag_manager.tag_values() == {"cost": "stack"}


def test_a_tag_set_on_the_tag_manager_by_hand_reaches_the_probes_and_the_report() -> None:
    stack, monitor = stack_of(probes=[tcp()])
    monitor.cdk_tag_manager.set_tag("owner", "network-team")
    [probe] = resources_of_type(template_json(stack), PROBE).values()
    assert probe["Properties"]["Tags"] == [{"Key": "owner", "Value": "network-team"}]
    monitor.cdk_tag_manager.set_tag("k" * 129, "v")
    assert any("tags key 'kkk" in problem and "length 129" in problem for problem in monitor.node.validate())


def test_an_escape_hatch_override_of_the_monitors_tags_wins_as_on_any_l1() -> None:
    stack, monitor = stack_of(probes=[tcp()])
    Tags.of(stack).add("cost", "stack")
    default_child: Any = monitor.node.default_child
    default_child.add_property_override("Tags", [{"Key": "by", "Value": "hand"}])
    template = template_json(stack)
    [monitor_resource] = resources_of_type(template, MONITOR).values()
    [probe] = resources_of_type(template, PROBE).values()
    assert monitor_resource["Properties"]["Tags"] == [{"Key": "by", "Value": "hand"}]
    assert probe["Properties"]["Tags"] == [{"Key": "cost", "Value": "stack"}]  # the override is the monitor's


def test_a_monitor_and_probes_without_any_tags_have_no_tags_property() -> None:
    template = native_template(probes=[tcp(), tcp(destination="10.0.0.2")])
    for resource in [*resources_of_type(template, MONITOR).values(), *resources_of_type(template, PROBE).values()]:
        assert "Tags" not in resource["Properties"]


def test_probe_id_metrics_and_the_name_are_references_to_the_resources() -> None:
    stack, monitor = stack_of(probes=[tcp()])
    probe_id = stack.resolve(monitor.probe_id(monitor.probes[0]))
    [probe_logical_id] = resources_of_type(template_json(stack), PROBE)
    assert probe_id == {"Fn::GetAtt": [probe_logical_id, "ProbeId"]}
    assert "Fn::Select" in json.dumps(stack.resolve(monitor.monitor_name))  # from the monitor's ARN, its Ref
    assert monitor.engine is MonitorEngine.NATIVE


def test_declared_monitors_reads_native_monitors() -> None:
    template = native_template(monitor_name="dc", probes=[tcp(probe_tags={"a": "b"})])
    [document] = declared_monitors(template).values()
    assert document["monitorName"] == "dc"
    assert document["probes"] == [
        {"sourceArn": SUBNET_A, "destination": "10.0.0.1", "protocol": "TCP", "destinationPort": 443,
         "probeTags": {"a": "b"}},
    ]  # fmt: skip


# --- what the native engine cannot do is said at synth ------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda stack: NetworkMonitor(stack, "M", engine=MonitorEngine.NATIVE, probes=[tcp(enabled=False)]),
            "[Stack/M] probes[0].enabled False: a native monitor cannot pause a probe (AWS::NetworkMonitor::Probe "
            "has no State); allowed: True or None, or engine=MonitorEngine.CUSTOM_RESOURCE, whose probes can be "
            "paused",
        ),
        (
            lambda stack: NetworkMonitor(stack, "M", engine="NATIVE", probes=[tcp()]),  # type: ignore[arg-type]
            "[Stack/M] engine 'NATIVE' is a str, not a MonitorEngine; pass MonitorEngine.CUSTOM_RESOURCE or "
            "MonitorEngine.NATIVE",
        ),
    ],
    ids=["a paused probe", "an engine of the wrong type"],
)
def test_what_cannot_be_deployed_is_refused_with_the_rest(build: Any, message: str) -> None:
    stack = Stack(App(), "Stack", env=ENV)
    build(stack)
    assert message in synth_report(stack)


def test_a_subnet_the_app_defines_gets_the_warning_that_names_the_security_group() -> None:
    stack = Stack(App(), "Stack", env=ENV)
    vpc = isolated_vpc(stack)
    monitor = NetworkMonitor(stack, "M", engine=MonitorEngine.NATIVE)
    monitor.add_probes(sources=vpc.select_subnets(), destinations=["10.0.0.1"], protocol=ProbeProtocol.ICMP)
    warnings = [m.entry.data for m in App.of(stack).synth().get_stack_by_name("Stack").messages]  # type: ignore[union-attr]
    assert len(warnings) == 1
    assert "cdk_netmon:nativeSecurityGroupOutlivesProbes" in str(warnings[0])
    assert "stack Stack defines" in str(warnings[0])


# --- changing engine on a deployed monitor ---------------------------------------------------------------------


def switched(engine: MonitorEngine, monitor_name: str | None = None) -> dict[str, Any]:
    stack = Stack(App(), "Stack", env=ENV)
    NetworkMonitor(stack, "M", monitor_name=monitor_name, engine=engine, probes=[tcp()])
    return template_json(stack)


@pytest.mark.slow
def test_a_generated_name_changes_with_the_engine_so_the_switch_is_one_deploy() -> None:
    with LocalNetworkMonitor() as emulator, offline_stack(emulator, "123456789012", "eu-west-1") as stack:
        stack.deploy(switched(MonitorEngine.CUSTOM_RESOURCE))
        [custom] = emulator.snapshot("123456789012", "eu-west-1")
        stack.deploy(switched(MonitorEngine.NATIVE))  # the native monitor first, the custom one in the clean-up
        [native] = emulator.snapshot("123456789012", "eu-west-1")
        assert native != custom
        stack.destroy()
        assert emulator.snapshot("123456789012", "eu-west-1") == {}


@pytest.mark.slow
def test_an_explicit_name_switched_in_one_deploy_fails_and_the_rollback_keeps_the_monitor() -> None:
    with LocalNetworkMonitor() as emulator, offline_stack(emulator, "123456789012", "eu-west-1") as stack:
        stack.deploy(switched(MonitorEngine.CUSTOM_RESOURCE, "dc"))
        before = emulator.snapshot("123456789012", "eu-west-1")
        with pytest.raises(DeployFailedError, match="dc"):
            stack.deploy(switched(MonitorEngine.NATIVE, "dc"))  # CloudFormation creates the new monitor first
        assert emulator.snapshot("123456789012", "eu-west-1") == before
        # The documented way: two deploys, the monitor removed, then declared on the native engine.
        stack.deploy({"Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}})
        stack.deploy(switched(MonitorEngine.NATIVE, "dc"))
        assert list(emulator.snapshot("123456789012", "eu-west-1")) == ["dc"]
        stack.destroy()


# --- plan ------------------------------------------------------------------------------------------------------


def planned(
    tmp_path: Path, old: dict[str, Any], new: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    from cdk_netmon.plan.command import main as plan

    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    code = plan([str(tmp_path / "new.json"), "--against", str(tmp_path / "old.json")])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def with_paths(engine: MonitorEngine, monitor_name: str | None = None, **kw: Any) -> dict[str, Any]:
    """A template as the CDK CLI writes it: with each resource's construct path in its metadata."""
    stack = Stack(App(context={"aws:cdk:enable-path-metadata": True}), "Stack", env=ENV)
    NetworkMonitor(stack, "M", monitor_name=monitor_name, engine=engine, probes=[tcp(**kw)])
    return template_json(stack)


def test_plan_reads_a_native_monitor_and_its_probes_and_plans_calls_of_cloudformations_handlers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = {"Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    code, output = planned(tmp_path, empty, with_paths(MonitorEngine.NATIVE, "dc"), capsys)
    assert code == 2, output
    assert "+ monitor dc: 1 probes (CreateMonitor, CreateProbe)" in output
    code, output = planned(
        tmp_path, with_paths(MonitorEngine.NATIVE, "dc"), with_paths(MonitorEngine.NATIVE, "dc", port=8443), capsys
    )
    assert code == 2, output
    assert "port 443 -> 8443 (UpdateProbe)" in output
    assert "TagResource" not in output  # CloudFormation's handlers mark no request


def test_plan_says_a_monitor_with_a_generated_name_changes_engine_in_one_deploy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = planned(
        tmp_path, with_paths(MonitorEngine.CUSTOM_RESOURCE), with_paths(MonitorEngine.NATIVE), capsys
    )
    assert code == 2, output
    assert "! Stack/M changes engine, from the custom resource to the native engine" in output


def test_plan_refuses_a_monitor_with_an_explicit_name_that_changes_engine_in_one_deploy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = planned(
        tmp_path, with_paths(MonitorEngine.CUSTOM_RESOURCE, "dc"), with_paths(MonitorEngine.NATIVE, "dc"), capsys
    )
    assert code == 1, output
    assert "monitor 'dc' changes engine, from the custom resource" in output
    assert "the deploy would fail and roll back; give the monitor a new monitor_name" in output
