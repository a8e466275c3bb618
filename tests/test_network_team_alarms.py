"""Alarms a network team pages on: composite alarms over the probes' packet-loss alarms, one per
destination (unreachable from every subnet), one per source subnet (it reaches nothing) and one for
the monitor (any of those), instead of one page per probe."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import App, Stack

from cdk_netmon import NetworkMonitor, ProbeProtocol
from tests.support import resources_of_type, subnet_arn, template_json

A, B = subnet_arn(1), subnet_arn(2)
ISOLATED_A, ISOLATED_B = (f"network-IsolatedSubnet{arn.rsplit('-', 1)[-1]}" for arn in (A, B))


def hub() -> tuple[Stack, NetworkMonitor]:
    stack = Stack(App(), "Hub")
    monitor = NetworkMonitor(stack, "Dc")
    monitor.add_probes(sources=[A, B], destinations=["10.0.0.1", "10.0.0.2"], protocol=ProbeProtocol.ICMP)
    return stack, monitor


def watched(rule: Any, alarms: dict[str, Any]) -> set[str]:
    """The logical ids of the alarms an AlarmRule names (by their ARNs)."""
    text = str(rule)
    return {logical_id for logical_id in alarms if f"'{logical_id}', 'Arn'" in text}


def test_composites_aggregate_the_packet_loss_alarms_per_destination_per_subnet_and_per_monitor() -> None:
    stack, monitor = hub()
    probe_alarms = monitor.add_probe_alarms()
    aggregate = monitor.add_aggregate_alarms(alarm_name_prefix="network-")
    assert aggregate is not None
    template = template_json(stack)
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    composites = resources_of_type(template, "AWS::CloudWatch::CompositeAlarm")
    assert len(probe_alarms) == len(alarms) == 8  # 4 probes x packet loss, health
    assert len(composites) == 2 + 2 + 1
    loss = {k for k in alarms if k.startswith("DcPacketLossAlarm")}

    def of(key: str) -> set[str]:
        return {k for k in loss if key.replace("-", "") in k}

    by_name = {c["Properties"]["AlarmName"]: c["Properties"] for c in composites.values()}
    assert set(by_name) == {
        "network-Unreachable10001",
        "network-Unreachable10002",
        ISOLATED_A,
        ISOLATED_B,
        "network-Monitor",
    }
    to_first = watched(by_name["network-Unreachable10001"]["AlarmRule"], alarms)
    assert to_first == {k for k in loss if "10001" in k}
    assert len(to_first) == 2  # from both subnets
    assert "AND" in str(by_name["network-Unreachable10001"]["AlarmRule"])
    from_a = watched(by_name[ISOLATED_A]["AlarmRule"], alarms)
    assert len(from_a) == 2
    assert from_a <= loss
    monitor_rule = str(by_name["network-Monitor"]["AlarmRule"])
    assert " OR " in monitor_rule
    assert len(re.findall(r"AggregateUnreachable|AggregateIsolated", monitor_rule)) == 4
    assert not watched(monitor_rule, alarms)  # only the composites
    assert "unreachable from every subnet" in by_name["network-Unreachable10001"]["AlarmDescription"]
    assert all(of(key) for key in ("10001", "10002"))  # the per-probe alarms stay, for the probe status


def test_aggregates_need_the_probe_alarms_first_and_say_so_in_the_report() -> None:
    _, monitor = hub()
    assert monitor.add_aggregate_alarms() is None
    assert list(monitor.node.validate()) == [
        "add_aggregate_alarms: no add_probe_alarms(id=None) before it; call add_probe_alarms first"
    ]


def test_a_second_set_of_alarms_takes_an_id_and_gets_its_own_aggregates() -> None:
    stack, monitor = hub()
    monitor.add_probe_alarms()
    monitor.add_probe_alarms(id="Paging", packet_loss_percent=50, evaluation_periods=5)
    assert monitor.add_aggregate_alarms(id="Paging") is not None
    assert list(monitor.node.validate()) == []
    composites = resources_of_type(template_json(stack), "AWS::CloudWatch::CompositeAlarm")
    assert all(k.startswith("DcPagingAggregate") for k in composites)


def test_aggregate_alarms_of_a_monitor_whose_probes_are_all_paused_are_none_with_a_warning() -> None:
    """CloudWatch has no composite alarm of nothing (aws-cdk-lib's AlarmRule.anyOf() refuses no
    operands): every probe paused makes no composite alarm, says so, and synthesizes."""
    from aws_cdk import App, Stack

    from cdk_netmon import MonitorProbe

    stack = Stack(App(), "Stack")
    monitor = NetworkMonitor(
        stack,
        "M",
        probes=[
            MonitorProbe(
                source_arn="arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0123456789abcdef0",
                destination="10.0.0.1",
                protocol=ProbeProtocol.ICMP,
                enabled=False,
            )
        ],
    )
    monitor.add_probe_alarms()
    assert monitor.add_aggregate_alarms() is None
    messages = App.of(stack).synth().get_stack_by_name("Stack").messages  # type: ignore[union-attr]
    assert ["cdk_netmon:noAggregateAlarms" in str(m.entry.data) for m in messages] == [True]
