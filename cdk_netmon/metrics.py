"""Metrics of monitors and probes in `AWS/NetworkMonitor`, probe alarms and dashboard widgets.

What is confirmed and what is not (see the README): the namespace and the metric names `RTT`,
`PacketLoss` and `HealthIndicator` are those AWS's alarm documentation names. The dimension names
`Monitor` and `Probe` come from dashboards exported from the console, not from an AWS reference.
Units are not confirmed, so no metric here sets one: a metric with a unit matches only datapoints
published with that unit. RTT is commonly read as microseconds and PacketLoss as percent, and the
alarm thresholds below assume so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

NAMESPACE = "AWS/NetworkMonitor"
RTT = "RTT"
PACKET_LOSS = "PacketLoss"
HEALTH_INDICATOR = "HealthIndicator"
DEFAULT_STATISTICS = {RTT: cloudwatch.Stats.AVERAGE, PACKET_LOSS: cloudwatch.Stats.AVERAGE, HEALTH_INDICATOR: "Maximum"}
"""Average round-trip time and loss over a period; the worst health seen in it."""


def metric(
    monitor_name: str,
    metric_name: str,
    *,
    probe_id: str | None,
    period: Duration,
    statistic: str | None,
    label: str | None,
    color: str | None,
    unit: cloudwatch.Unit | None,
    account: str | None,
    region: str | None,
) -> cloudwatch.Metric:
    dimensions = {"Monitor": monitor_name}
    if probe_id is not None:
        dimensions["Probe"] = probe_id
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=metric_name,
        dimensions_map=dimensions,
        period=period,
        statistic=statistic or DEFAULT_STATISTICS.get(metric_name, cloudwatch.Stats.AVERAGE),
        label=label,
        color=color,
        unit=unit,
        account=account,
        region=region,
    )


@dataclass(frozen=True)
class ProbeMetrics:
    """A probe's three metrics, and the words that name the probe in alarms and graphs."""

    key: str
    """Stable across synths: names the probe's alarm constructs."""
    label: str
    rtt: cloudwatch.Metric
    packet_loss: cloudwatch.Metric
    health: cloudwatch.Metric


def probe_alarms(
    scope: Construct,
    probes: Sequence[ProbeMetrics],
    *,
    packet_loss_percent: float,
    rtt_threshold: Duration | None,
    health_indicator: bool,
    evaluation_periods: int,
    datapoints_to_alarm: int | None,
    treat_missing_data: cloudwatch.TreatMissingData,
) -> list[cloudwatch.Alarm]:
    """For each probe: packet loss above a percentage; HealthIndicator at 1 (AWS's network degraded
    on the probe's path); round-trip time above a threshold where one is given."""
    alarms: list[cloudwatch.Alarm] = []

    def alarm(
        probe: ProbeMetrics, kind: str, metric: cloudwatch.Metric, threshold: float, description: str, **options: Any
    ) -> None:
        alarms.append(
            cloudwatch.Alarm(
                scope,
                f"{kind}Alarm{probe.key}",
                metric=metric,
                threshold=threshold,
                evaluation_periods=evaluation_periods,
                datapoints_to_alarm=datapoints_to_alarm,
                alarm_description=f"{description} on {probe.label}",
                **{"treat_missing_data": treat_missing_data, **options},
            )
        )

    for probe in probes:
        alarm(
            probe,
            "PacketLoss",
            probe.packet_loss,
            packet_loss_percent,
            f"Packet loss above {packet_loss_percent:g}%",
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        if health_indicator:
            # Published hours after a probe starts, so missing data is not a breach.
            alarm(
                probe,
                "Health",
                probe.health,
                1,
                "AWS network health degraded",
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        if rtt_threshold is not None:
            microseconds = rtt_threshold.to_milliseconds() * 1000
            alarm(
                probe,
                "Rtt",
                probe.rtt,
                microseconds,
                f"Round-trip time above {microseconds:g} microseconds",
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            )
    return alarms


def dashboard_widgets(
    title: str, probes: Sequence[ProbeMetrics], *, width: int, height: int
) -> list[cloudwatch.IWidget]:
    """Round-trip time, packet loss and health, one graph each, one line per probe."""
    return [
        cloudwatch.GraphWidget(
            title=f"{title}: round-trip time", left=[p.rtt for p in probes], width=width, height=height
        ),
        cloudwatch.GraphWidget(
            title=f"{title}: packet loss",
            left=[p.packet_loss for p in probes],
            left_y_axis=cloudwatch.YAxisProps(min=0),
            width=width,
            height=height,
        ),
        cloudwatch.GraphWidget(
            title=f"{title}: AWS network health (1 = degraded)",
            left=[p.health for p in probes],
            left_y_axis=cloudwatch.YAxisProps(min=0, max=1),
            width=width,
            height=height,
        ),
    ]
