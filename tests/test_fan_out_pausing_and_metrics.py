"""What network engineers build by hand today: every subnet × every destination, paused probes,
probe-aware metrics, alarms and a dashboard, interop with aws-cdk-lib's references, and tags that
reach probes. Each API is specified on the template it writes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack, Tags
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk.interfaces.aws_networkmonitor import IMonitorRef

from cdk_netmon import MonitorProbe, NetworkMonitor, ProbeProtocol
from cdk_netmon.testing import declared_monitors
from tests.support import SUBNET_A, SUBNET_B, isolated_vpc, resources_of_type, subnet_arn, template_json


def env_stack() -> Stack:
    return Stack(App(), "Hub", env={"account": "111122223333", "region": "eu-central-1"})


def only_document(stack: Stack) -> dict[str, Any]:
    [document] = declared_monitors(stack).values()
    return document


# --- fan-out ------------------------------------------------------------------------------------


def test_add_probes_makes_every_source_times_every_destination() -> None:
    stack = env_stack()
    private = isolated_vpc(stack, 3).select_subnets()
    monitor = NetworkMonitor(stack, "Dc", monitor_name="dc")
    probes = monitor.add_probes(
        sources=private, destinations=["10.0.0.1", "10.0.0.2"], protocol=ProbeProtocol.TCP, destination_port=443
    )
    assert len(probes) == 6
    assert monitor.probes == tuple(probes)
    document = only_document(stack)
    pairs = {(p["sourceArn"], p["destination"]) for p in document["probes"]}
    assert len(pairs) == 6
    assert {p["destinationPort"] for p in document["probes"]} == {443}


def test_add_probes_takes_subnets_and_subnet_arns_too() -> None:
    stack = env_stack()
    imported = ec2.Subnet.from_subnet_id(stack, "Shared", "subnet-0a1b2c3d4e5f60001")
    monitor = NetworkMonitor(stack, "Dc", monitor_name="dc")
    # Another subnet: the imported one's own ARN would duplicate its probes.
    here = SUBNET_B.replace("eu-west-1", "eu-central-1").replace("123456789012", "111122223333")
    monitor.add_probes(sources=[imported, here], destinations=["10.0.0.1"], protocol=ProbeProtocol.ICMP)
    sources = [p["sourceArn"] for p in only_document(stack)["probes"]]
    assert sources[1] == here
    assert sources[0].endswith(":subnet/subnet-0a1b2c3d4e5f60001")


@pytest.mark.parametrize(
    ("sources", "destinations", "problems"),
    [
        (
            4,
            7,
            [
                "probes has 28 entries (add_probes: 4 subnets × 7 destinations = 28 probes; "
                "NetworkMonitor.fan_out spreads more over several monitors); allowed: at most 24 per monitor",
                # The fan-out that made them is said once, on the first line.
                *(
                    f"probes has 7 probes from source {subnet_arn(i)!r}; allowed: at most 4 per subnet in one monitor"
                    for i in range(4)
                ),
            ],
        ),
        (6, 4, []),
        (
            7,
            4,
            [
                "probes has 28 entries (add_probes: 7 subnets × 4 destinations = 28 probes; "
                "NetworkMonitor.fan_out spreads more over several monitors); allowed: at most 24 per monitor"
            ],
        ),
    ],
)
def test_quotas_are_checked_against_the_product_with_a_message_that_states_it(
    sources: int, destinations: int, problems: list[str]
) -> None:
    monitor = NetworkMonitor(Stack(App(), "S"), "Dc")
    monitor.add_probes(
        sources=[subnet_arn(i) for i in range(sources)],
        destinations=[f"10.0.0.{i + 1}" for i in range(destinations)],
        protocol=ProbeProtocol.ICMP,
    )
    assert list(monitor.node.validate()) == problems


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"sources": "subnet-0abc", "destinations": ["10.0.0.1"]},
            "add_probes: sources 'subnet-0abc' is a str, not a list; pass vpc.select_subnets(...), a list of "
            "ec2.ISubnet, or a list of subnet ARNs",
        ),
        (
            {"sources": [SUBNET_A], "destinations": "10.0.0.1"},
            "add_probes: destinations '10.0.0.1' is a str, not a list; pass a list such as ['10.0.0.1']",
        ),
        (
            {"sources": [42], "destinations": ["10.0.0.1"]},
            "add_probes: sources[0] is an int; pass an ec2.ISubnet or a subnet ARN",
        ),
        (
            {"sources": "vpc", "destinations": ["10.0.0.1"]},
            "add_probes: sources is an ec2.Vpc, not a list; pass vpc.select_subnets(...), a list of ec2.ISubnet, "
            "or a list of subnet ARNs",
        ),
    ],
)
def test_add_probes_reports_what_it_cannot_fan_out_with_the_rest(arguments: dict[str, Any], message: str) -> None:
    stack = Stack(App(), "S")
    if arguments["sources"] == "vpc":
        arguments = {**arguments, "sources": isolated_vpc(stack)}
    monitor = NetworkMonitor(stack, "Dc")
    assert monitor.add_probes(protocol=ProbeProtocol.ICMP, **arguments) == []
    assert list(monitor.node.validate()) == [message]


def test_fan_out_spreads_a_product_over_as_few_monitors_as_the_quotas_allow() -> None:
    stack = env_stack()
    sources = [
        subnet_arn(i).replace("eu-west-1", "eu-central-1").replace("123456789012", "111122223333") for i in range(8)
    ]
    destinations = [f"10.0.0.{i}" for i in range(1, 7)] + ["2001:db8::1", "2001:db8::2"]
    monitors = NetworkMonitor.fan_out(
        stack, "Mesh", sources=sources, destinations=destinations, protocol=ProbeProtocol.ICMP
    )
    assert [m.node.path for m in monitors] == ["Hub/Mesh/Monitor1", "Hub/Mesh/Monitor2", "Hub/Mesh/Monitor3"]
    assert [len(m.probes) for m in monitors] == [24, 24, 16]
    for monitor in monitors:
        assert list(monitor.node.validate()) == []
    covered = {(p.source_arn, p.destination) for m in monitors for p in m.probes}
    assert covered == {(s, d) for s in sources for d in destinations}


# --- pausing --------------------------------------------------------------------------------------


def test_a_paused_probe_is_declared_inactive_and_an_enabled_one_carries_no_state() -> None:
    stack = Stack(App(), "S")
    monitor = NetworkMonitor(stack, "Dc", monitor_name="dc")
    monitor.add_probe(source_arn=SUBNET_A, destination="10.0.0.1", protocol=ProbeProtocol.ICMP, enabled=False)
    monitor.add_probes(sources=[SUBNET_A], destinations=["10.0.0.2"], protocol=ProbeProtocol.ICMP, enabled=False)
    monitor.add_probe(source_arn=SUBNET_A, destination="10.0.0.3", protocol=ProbeProtocol.ICMP)
    assert [p.get("state") for p in only_document(stack)["probes"]] == ["INACTIVE", "INACTIVE", None]


def test_enabled_must_be_a_bool() -> None:
    monitor = NetworkMonitor(Stack(App(), "S"), "Dc")
    monitor.add_probe(source_arn=SUBNET_A, destination="10.0.0.1", protocol=ProbeProtocol.ICMP, enabled="no")  # type: ignore[arg-type]
    assert list(monitor.node.validate()) == ["probes[0].enabled 'no' is a str, not a bool; pass True or False"]


# --- metrics --------------------------------------------------------------------------------------


def test_metrics_take_the_probe_and_default_to_the_monitors_aggregation_period() -> None:
    stack = Stack(App(), "S")
    monitor = NetworkMonitor(stack, "Dc", aggregation_period=Duration.seconds(30))
    probe = monitor.add_probe(
        source_arn=SUBNET_A, destination="2001:db8::10", protocol=ProbeProtocol.TCP, destination_port=443
    )
    for metric, name, statistic in (
        (monitor.metric_rtt(probe), "RTT", "Average"),
        (monitor.metric_packet_loss(probe), "PacketLoss", "Average"),
        (monitor.metric_health_indicator(probe), "HealthIndicator", "Maximum"),
    ):
        assert (metric.namespace, metric.metric_name, metric.statistic) == ("AWS/NetworkMonitor", name, statistic)
        assert metric.period.to_seconds() == 30
        assert metric.unit is None
        assert metric.label == "TCP subnet-0a1b2c3d4e5f60001 -> [2001:db8::10]:443"
        dimensions = stack.resolve(metric.dimensions)
        assert set(dimensions) == {"Monitor", "Probe"}
        assert dimensions["Probe"] == stack.resolve(monitor.probe_id(probe))


def test_metric_options_are_typed_and_win_over_the_defaults() -> None:
    stack = Stack(App(), "S")
    monitor = NetworkMonitor(stack, "Dc")
    probe = monitor.add_probe(source_arn=SUBNET_A, destination="10.0.0.1", protocol=ProbeProtocol.ICMP)
    metric = monitor.metric_packet_loss(
        probe, period=Duration.minutes(5), statistic="p99", label="loss", color="#d62728", unit=cloudwatch.Unit.PERCENT
    )
    assert (metric.period.to_seconds(), metric.statistic, metric.label, metric.color, metric.unit) == (
        300,
        "p99",
        "loss",
        "#d62728",
        cloudwatch.Unit.PERCENT,
    )
    monitor.metric_rtt(probe, probe_id="probe-x")
    assert "metric(RTT): give the probe or its probe_id, not both" in monitor.node.validate()


def test_an_imported_monitor_takes_probe_ids() -> None:
    stack = env_stack()
    imported = NetworkMonitor.from_monitor_name(stack, "Legacy", "legacy-dx")
    metric = imported.metric_rtt(probe_id="probe-0123456789abcdefghijk")
    assert metric.dimensions == {"Monitor": "legacy-dx", "Probe": "probe-0123456789abcdefghijk"}
    assert metric.period.to_seconds() == 60
    with pytest.raises(ValueError, match="an imported monitor has no probes of this app"):
        imported.metric_rtt(MonitorProbe(source_arn=SUBNET_A, destination="10.0.0.1", protocol=ProbeProtocol.ICMP))


# --- alarms and dashboard --------------------------------------------------------------------------


def alarms_of(stack: Stack) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources_of_type(template_json(stack), "AWS::CloudWatch::Alarm").values()]


def test_probe_alarms_watch_loss_and_health_of_every_enabled_probe_and_rtt_when_asked() -> None:
    stack = Stack(App(), "S")
    monitor = NetworkMonitor(stack, "Dc", aggregation_period=Duration.seconds(30))
    monitor.add_probes(sources=[SUBNET_A], destinations=["10.0.0.1", "10.0.0.2"], protocol=ProbeProtocol.ICMP)
    monitor.add_probe(source_arn=SUBNET_A, destination="10.0.0.3", protocol=ProbeProtocol.ICMP, enabled=False)
    alarms = monitor.add_probe_alarms(rtt_threshold=Duration.millis(20), datapoints_to_alarm=2)
    assert len(alarms) == 6
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for alarm in alarms_of(stack):
        by_metric.setdefault(alarm["MetricName"], []).append(alarm)
        assert alarm["Namespace"] == "AWS/NetworkMonitor"
        assert {d["Name"] for d in alarm["Dimensions"]} == {"Monitor", "Probe"}
        assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (30, 3, 2)
        assert "Unit" not in alarm
    loss, health, rtt = by_metric["PacketLoss"], by_metric["HealthIndicator"], by_metric["RTT"]
    assert {(a["Statistic"], a["Threshold"], a["ComparisonOperator"], a["TreatMissingData"]) for a in loss} == {
        ("Average", 5, "GreaterThanThreshold", "missing")
    }
    assert {(a["Statistic"], a["Threshold"], a["ComparisonOperator"], a["TreatMissingData"]) for a in health} == {
        ("Maximum", 1, "GreaterThanOrEqualToThreshold", "notBreaching")
    }
    assert {(a["Threshold"], a["ComparisonOperator"]) for a in rtt} == {(20000, "GreaterThanThreshold")}
    assert sorted(a["AlarmDescription"] for a in loss) == [
        "Packet loss above 5% on ICMP subnet-0a1b2c3d4e5f60001 -> 10.0.0.1",
        "Packet loss above 5% on ICMP subnet-0a1b2c3d4e5f60001 -> 10.0.0.2",
    ]


def test_alarm_construct_ids_follow_the_probe_not_its_position() -> None:
    def ids(destinations: list[str]) -> set[str]:
        monitor = NetworkMonitor(Stack(App(), "S"), "Dc")
        monitor.add_probes(sources=[SUBNET_A], destinations=destinations, protocol=ProbeProtocol.ICMP)
        return {alarm.node.id for alarm in monitor.add_probe_alarms(health_indicator=False)}

    assert ids(["10.0.0.1", "10.0.0.2"]) == ids(["10.0.0.2", "10.0.0.1"])


def test_dashboard_widgets_graph_every_probe() -> None:
    stack = Stack(App(), "S")
    monitor = NetworkMonitor(stack, "Dc", monitor_name="dc")
    monitor.add_probes(sources=[SUBNET_A], destinations=["10.0.0.1", "10.0.0.2"], protocol=ProbeProtocol.ICMP)
    cloudwatch.Dashboard(stack, "Dashboard", widgets=[monitor.dashboard_widgets()])
    [dashboard] = resources_of_type(template_json(stack), "AWS::CloudWatch::Dashboard").values()
    body = json.loads(
        "".join(p if isinstance(p, str) else "X" for p in dashboard["Properties"]["DashboardBody"]["Fn::Join"][1])
    )
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert titles == ["X: round-trip time", "X: packet loss", "X: AWS network health (1 = degraded)"]
    for widget in body["widgets"]:
        lines = widget["properties"]["metrics"]
        assert len(lines) == 2
        assert {line[-1]["label"] for line in lines} == {
            "ICMP subnet-0a1b2c3d4e5f60001 -> 10.0.0.1",
            "ICMP subnet-0a1b2c3d4e5f60001 -> 10.0.0.2",
        }


# --- interop --------------------------------------------------------------------------------------


def test_monitors_are_aws_cdk_lib_monitor_refs() -> None:
    stack = env_stack()
    defined = NetworkMonitor(stack, "Dc")
    imported = NetworkMonitor.from_monitor_arn(
        stack, "Other", "arn:aws:networkmonitor:us-east-1:444455556666:monitor/other-team"
    )
    refs: list[IMonitorRef] = [defined, imported]
    assert stack.resolve(refs[0].monitor_ref.monitor_arn) == stack.resolve(defined.monitor_arn)
    assert refs[1].monitor_ref.monitor_arn == "arn:aws:networkmonitor:us-east-1:444455556666:monitor/other-team"
    assert stack.resolve(imported.monitor_name) == "other-team"
    assert (imported.env.account, imported.env.region) == ("444455556666", "us-east-1")
    assert imported.metric_rtt(probe_id="probe-x").dimensions == {"Monitor": "other-team", "Probe": "probe-x"}


@pytest.mark.parametrize(
    ("factory", "value", "message"),
    [
        ("from_monitor_name", "bad name", r"monitor_name 'bad name' has characters outside"),
        (
            "from_monitor_arn",
            "arn:aws:networkmonitor:us-east-1:1:monitor/x",
            r"monitor_arn 'arn:aws:networkmonitor:us-east-1:1:monitor/x' is not a monitor's ARN",
        ),
    ],
)
def test_imports_refuse_what_cannot_be_a_monitor(factory: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=rf"^S/Imported: {message}"):
        getattr(NetworkMonitor, factory)(Stack(App(), "S"), "Imported", value)


# --- tags -----------------------------------------------------------------------------------------


def test_stack_tags_reach_the_probes_and_probe_tags_win_but_the_monitors_own_tags_stay_its_own() -> None:
    stack = Stack(App(), "S")
    monitor = NetworkMonitor(stack, "Dc", monitor_name="dc", tags={"purpose": "dx"})
    monitor.add_probe(
        source_arn=SUBNET_A, destination="10.0.0.1", protocol=ProbeProtocol.ICMP, probe_tags={"team": "probe-team"}
    )
    Tags.of(stack).add("cost-centre", "network")
    Tags.of(stack).add("team", "stack-team")
    document = only_document(stack)
    assert document["tags"] == {"purpose": "dx", "cost-centre": "network", "team": "stack-team"}
    assert document["probes"][0]["probeTags"] == {"cost-centre": "network", "team": "probe-team"}
