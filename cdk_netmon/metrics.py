"""Metrics of monitors and probes in `AWS/NetworkMonitor`, probe alarms and dashboard widgets.

What is confirmed and what is not (see the README): the namespace and the metric names `RTT`,
`PacketLoss` and `HealthIndicator` are those AWS's alarm documentation names. The dimension names
`Monitor` and `Probe` come from dashboards exported from the console, not from an AWS reference.
Units are not confirmed, so no metric here sets one: a metric with a unit matches only datapoints
published with that unit. RTT is commonly read as microseconds and PacketLoss as percent, and the
alarm thresholds below assume so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from ._jsii import is_list_element, is_unresolved
from .monitor_base import HEALTH_INDICATOR, PACKET_LOSS, RTT
from .validation import kind, list_element_problem

NAMESPACE = "AWS/NetworkMonitor"
DEFAULT_STATISTICS = {RTT: cloudwatch.Stats.AVERAGE, PACKET_LOSS: cloudwatch.Stats.AVERAGE, HEALTH_INDICATOR: "Maximum"}
"""Average round-trip time and loss over a period; the worst health seen in it."""


class MetricOptions(TypedDict, total=False):
    """What the metric helpers take besides the probe: each `None` for "not set" (its default)."""

    period: Duration | None
    statistic: str | None
    label: str | None
    color: str | None
    unit: cloudwatch.Unit | None
    account: str | None
    region: str | None


_OPTION_TYPES: dict[str, tuple[type, str]] = {
    "period": (Duration, "a Duration, such as Duration.minutes(1)"),
    "statistic": (str, "a statistic such as 'Average' or cloudwatch.Stats.p(99)"),
    "label": (str, "a str"),
    "color": (str, "a color such as '#1f77b4'"),
    "unit": (cloudwatch.Unit, "a cloudwatch.Unit"),
    "account": (str, "an account id"),
    "region": (str, "a region such as 'eu-west-1'"),
}


def option_problems(where: str, options: Mapping[str, Any]) -> list[str]:
    """Metric options of the wrong type or unknown, each with what to pass instead."""
    problems = []
    for name, value in options.items():
        if name not in _OPTION_TYPES:
            problems.append(f"{where}: {name}={value!r} is not an option; allowed: {', '.join(_OPTION_TYPES)}")
        elif value is not None and not isinstance(value, _OPTION_TYPES[name][0]):
            problems.append(f"{where}: {name} {value!r} is {kind(value)}; pass {_OPTION_TYPES[name][1]}")
        elif is_list_element(value):
            problems.append(list_element_problem(f"{where}: {name}"))
        elif name == "period" and isinstance(value, Duration):
            problems += period_problems(f"{where}: period", value)
    return problems


def period_problems(field: str, period: Duration) -> list[str]:
    """A metric's period is whole seconds known at synth: 1, 5, 10, 30 or a multiple of 60 (aws-cdk-lib's
    `Metric` refuses anything else, as CloudWatch does; it cannot judge a token)."""
    try:
        seconds: Any = period.to_seconds()
    except Exception:  # a fraction of a second, or a token in another unit
        seconds = None
    if (
        not isinstance(seconds, int | float)
        or not _is_number(seconds)
        or is_unresolved(seconds)
        or not (seconds in (1, 5, 10, 30) or (seconds > 0 and seconds % 60 == 0))
    ):
        return [f"{field} is not a metric period; allowed: 1, 5, 10 or 30 seconds, or whole minutes, known at synth"]
    return []


@dataclass(frozen=True)
class AlarmOptions:
    """`add_probe_alarms`'s options, each as given or its default (see `NetworkMonitor.add_probe_alarms`);
    any type, until `problems` has found none wrong."""

    packet_loss_percent: Any = 5.0
    rtt_threshold: Any = None
    health_indicator: Any = True
    evaluation_periods: Any = 3
    datapoints_to_alarm: Any = None
    period: Any = None
    treat_missing_data: Any = None
    """Default: MISSING (set in `given`, which is where CloudWatch is loaded)."""
    alarm_name_prefix: Any = None

    @classmethod
    def given(cls, **options: Any) -> AlarmOptions:
        """The options a caller gave, `None` standing for each one's default."""
        defaults = cls(treat_missing_data=cloudwatch.TreatMissingData.MISSING)
        return cls(**{name: getattr(defaults, name) if value is None else value for name, value in options.items()})

    def problems(self) -> list[str]:
        """Options of the wrong type or out of range."""
        packet_loss_percent, rtt_threshold = self.packet_loss_percent, self.rtt_threshold
        health_indicator, evaluation_periods = self.health_indicator, self.evaluation_periods
        datapoints_to_alarm, period = self.datapoints_to_alarm, self.period
        treat_missing_data, alarm_name_prefix = self.treat_missing_data, self.alarm_name_prefix
        where = "add_probe_alarms"
        problems = []
        if not _is_number(packet_loss_percent):
            problems.append(
                f"{where}: packet_loss_percent {packet_loss_percent!r} is {kind(packet_loss_percent)}, not a number; "
                "pass a percentage such as 5"
            )
        elif not 0 < packet_loss_percent <= 100:
            problems.append(
                f"{where}: packet_loss_percent {packet_loss_percent!r} is out of range; allowed: above 0, at most 100"
            )
        if rtt_threshold is not None and not isinstance(rtt_threshold, Duration):
            hint = f"Duration.millis({rtt_threshold})" if _is_number(rtt_threshold) else "Duration.millis(50)"
            problems.append(
                f"{where}: rtt_threshold {rtt_threshold!r} is {kind(rtt_threshold)}, not a Duration; pass {hint}"
            )
        elif rtt_threshold is not None and _milliseconds(rtt_threshold) is None:
            problems.append(
                f"{where}: rtt_threshold is not a finite number of milliseconds known at synth; pass such as "
                "Duration.millis(50)"
            )
        if not isinstance(health_indicator, bool):
            problems.append(
                f"{where}: health_indicator {health_indicator!r} is {kind(health_indicator)}, not a bool; "
                "pass True or False"
            )
        for name, value in (("evaluation_periods", evaluation_periods), ("datapoints_to_alarm", datapoints_to_alarm)):
            if value is None and name == "datapoints_to_alarm":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{where}: {name} {value!r} is not a whole number of at least 1; pass such as 3")
        if (
            isinstance(evaluation_periods, int)
            and isinstance(datapoints_to_alarm, int)
            and not isinstance(datapoints_to_alarm, bool)
            and datapoints_to_alarm > evaluation_periods
        ):
            problems.append(
                f"{where}: datapoints_to_alarm {datapoints_to_alarm} is more than evaluation_periods "
                f"{evaluation_periods}; allowed: at most evaluation_periods"
            )
        if period is not None and not isinstance(period, Duration):
            problems.append(f"{where}: period {period!r} is {kind(period)}, not a Duration; pass Duration.minutes(1)")
        elif period is not None:
            problems += period_problems(f"{where}: period", period)
        if not isinstance(treat_missing_data, cloudwatch.TreatMissingData):
            problems.append(
                f"{where}: treat_missing_data {treat_missing_data!r} is {kind(treat_missing_data)}; "
                "pass a cloudwatch.TreatMissingData"
            )
        problems += alarm_name_prefix_problems(where, alarm_name_prefix)
        return problems


def alarm_name_prefix_problems(where: str, alarm_name_prefix: Any) -> list[str]:
    if alarm_name_prefix is not None and (
        not isinstance(alarm_name_prefix, str) or len(alarm_name_prefix) > 100 or is_list_element(alarm_name_prefix)
    ):
        return [
            f"{where}: alarm_name_prefix {alarm_name_prefix!r} is not a str of at most 100 characters; "
            "pass such as 'network-'"
        ]
    return []


def _is_number(value: Any) -> bool:
    """A finite int or float that jsii can carry (JSON has no Infinity, and an int beyond a float's
    range becomes one)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _milliseconds(duration: Duration) -> float | None:
    """A duration's milliseconds, where they are a finite number known at synth."""
    try:
        milliseconds = duration.to_milliseconds(integral=False)
    except Exception:  # a token in another unit
        return None
    return milliseconds if _is_number(milliseconds) and not is_unresolved(milliseconds) else None


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
    prefix: str = "",
    options: AlarmOptions,
) -> list[tuple[ProbeMetrics, str, cloudwatch.Alarm]]:
    """For each probe: packet loss above a percentage; HealthIndicator at 1 (AWS's network degraded
    on the probe's path); round-trip time above a threshold where one is given. Each alarm with its
    probe and kind (PacketLoss, Health, Rtt). The options are those `AlarmOptions.problems` passed."""
    alarms: list[tuple[ProbeMetrics, str, cloudwatch.Alarm]] = []
    alarm_name_prefix, packet_loss_percent = options.alarm_name_prefix, options.packet_loss_percent
    rtt_threshold, treat_missing_data = options.rtt_threshold, options.treat_missing_data
    evaluation_periods, datapoints_to_alarm = options.evaluation_periods, options.datapoints_to_alarm

    def alarm(
        probe: ProbeMetrics, kind: str, metric: cloudwatch.Metric, threshold: float, description: str, **options: Any
    ) -> None:
        name = None if alarm_name_prefix is None else f"{alarm_name_prefix}{probe.key}-{kind.lower()}"
        alarms.append(
            (
                probe,
                kind,
                cloudwatch.Alarm(
                    scope,
                    f"{prefix}{kind}Alarm{probe.key}",
                    alarm_name=name,
                    metric=metric,
                    threshold=threshold,
                    evaluation_periods=evaluation_periods,
                    datapoints_to_alarm=datapoints_to_alarm,
                    alarm_description=f"{description} on {probe.label}",
                    **{"treat_missing_data": treat_missing_data, **options},
                ),
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
        if options.health_indicator:
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
            microseconds = (_milliseconds(rtt_threshold) or 0) * 1000
            alarm(
                probe,
                "Rtt",
                probe.rtt,
                microseconds,
                f"Round-trip time above {microseconds:g} microseconds",
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            )
    return alarms


@dataclass(frozen=True)
class AggregateAlarms:
    """Composite alarms a network team pages on, over the probes' packet-loss alarms."""

    by_destination: dict[str, cloudwatch.CompositeAlarm]
    """Per destination: every probe to it is losing packets, so it is unreachable from every subnet."""
    by_subnet: dict[str, cloudwatch.CompositeAlarm]
    """Per source subnet: every probe from it is losing packets, so the subnet reaches nothing."""
    monitor: cloudwatch.CompositeAlarm
    """Any of the above: the one alarm of the monitor."""

    @property
    def alarms(self) -> list[cloudwatch.CompositeAlarm]:
        return [*self.by_destination.values(), *self.by_subnet.values(), self.monitor]


def aggregate_alarms(
    scope: Construct,
    members: Sequence[tuple[cloudwatch.IAlarm, str, str]],
    *,
    prefix: str,
    title: str,
    alarm_name_prefix: str | None,
) -> AggregateAlarms:
    """Composite alarms over packet-loss alarms given with (alarm, destination, subnet): each of
    the two a label that names the group in ids and descriptions, the same for every synth."""

    def composite(id: str, rule: cloudwatch.IAlarmRule, description: str) -> cloudwatch.CompositeAlarm:
        name = None if alarm_name_prefix is None else f"{alarm_name_prefix}{id}"
        return cloudwatch.CompositeAlarm(
            scope, f"{prefix}{id}", alarm_rule=rule, alarm_description=description, composite_alarm_name=name
        )

    def every(alarms: Sequence[cloudwatch.IAlarm]) -> cloudwatch.IAlarmRule:
        return cloudwatch.AlarmRule.all_of(*(_in_alarm(a) for a in alarms))

    groups: dict[str, dict[str, list[cloudwatch.IAlarm]]] = {"destination": {}, "subnet": {}}
    for alarm, destination, subnet in members:
        groups["destination"].setdefault(destination, []).append(alarm)
        groups["subnet"].setdefault(subnet, []).append(alarm)
    by_destination = {}
    for destination, alarms in groups["destination"].items():
        said = f"{title}: {destination} is unreachable from every subnet (all {len(alarms)} probes lose packets)"
        by_destination[destination] = composite(f"Unreachable{_slug(destination)}", every(alarms), said)
    by_subnet = {}
    for subnet, alarms in groups["subnet"].items():
        said = f"{title}: {subnet} reaches no destination (all {len(alarms)} probes lose packets)"
        by_subnet[subnet] = composite(f"Isolated{_slug(subnet)}", every(alarms), said)
    monitor = composite(
        "Monitor",
        cloudwatch.AlarmRule.any_of(*(_in_alarm(a) for a in [*by_destination.values(), *by_subnet.values()])),
        f"{title}: a destination is unreachable from every subnet, or a subnet reaches none",
    )
    return AggregateAlarms(by_destination, by_subnet, monitor)


def _in_alarm(alarm: cloudwatch.IAlarm) -> cloudwatch.IAlarmRule:
    return cloudwatch.AlarmRule.from_alarm(alarm, cloudwatch.AlarmState.ALARM)


def _slug(text: str) -> str:
    """Letters and digits of a label, for construct ids and alarm names."""
    return "".join(part.capitalize() for part in "".join(c if c.isalnum() else " " for c in text).split())


GRID_WIDTH = 24
"""aws-cdk-lib's `GRID_WIDTH` (aws-cloudwatch/lib/widget.js, not exported to Python): a wider widget
is refused ("Widget is too wide")."""


def dashboard_problems(*, title: Any, period: Any, width: Any, height: Any) -> list[str]:
    """`dashboard_widgets`' options of the wrong type or range."""
    where = "dashboard_widgets"
    problems = []
    if title is not None and (not isinstance(title, str) or is_list_element(title)):
        problems.append(f"{where}: title {title!r} is {kind(title)}, not a str; pass such as 'Data centre'")
    if period is not None and not isinstance(period, Duration):
        problems.append(f"{where}: period {period!r} is {kind(period)}, not a Duration; pass Duration.minutes(1)")
    elif period is not None:
        problems += period_problems(f"{where}: period", period)
    for name, value, most in (("width", width, GRID_WIDTH), ("height", height, None)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1 or (most is not None and value > most):
            allowed = f"1 to {most}" if most is not None else "at least 1"
            problems.append(f"{where}: {name} {value!r} is not a whole number of grid units; allowed: {allowed}")
    return problems


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
