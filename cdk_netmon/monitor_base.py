"""What every monitor is, defined in this app or imported: its identity, metrics and grants.

As aws-cdk-lib's `queue-base.ts` is to `queue.ts`: the interface users type against, the base
class of the construct, and the imported monitor of `NetworkMonitor.from_monitor_name/_arn`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import jsii
from aws_cdk import Duration, IResource, Resource
from aws_cdk.interfaces.aws_networkmonitor import IMonitorRef, MonitorReference
from constructs import Construct

from ._jsii import is_list_element, is_unresolved
from .handler.spec import DEFAULT_AGGREGATION_PERIOD
from .probe import MonitorProbe
from .validation import kind

RTT, PACKET_LOSS, HEALTH_INDICATOR = "RTT", "PacketLoss", "HealthIndicator"
"""The metrics AWS's alarm documentation names in the `AWS/NetworkMonitor` namespace."""

if TYPE_CHECKING:
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_iam as iam
    from typing_extensions import Unpack

    from . import metrics


class INetworkMonitor(IResource, IMonitorRef, Protocol):
    """A Network Monitor, defined in this app or imported by name or ARN."""

    @property
    def monitor_name(self) -> str: ...

    @property
    def monitor_arn(self) -> str: ...

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant: ...

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant: ...

    def metric(
        self,
        metric_name: str,
        probe: MonitorProbe | None = None,
        *,
        probe_id: str | None = None,
        **options: Unpack[metrics.MetricOptions],
    ) -> cloudwatch.Metric: ...

    def metric_rtt(
        self,
        probe: MonitorProbe | None = None,
        *,
        probe_id: str | None = None,
        **options: Unpack[metrics.MetricOptions],
    ) -> cloudwatch.Metric: ...

    def metric_packet_loss(
        self,
        probe: MonitorProbe | None = None,
        *,
        probe_id: str | None = None,
        **options: Unpack[metrics.MetricOptions],
    ) -> cloudwatch.Metric: ...

    def metric_health_indicator(
        self,
        probe: MonitorProbe | None = None,
        *,
        probe_id: str | None = None,
        **options: Unpack[metrics.MetricOptions],
    ) -> cloudwatch.Metric: ...


@jsii.implements(IMonitorRef)
class NetworkMonitorBase(Resource):
    """What defined and imported monitors share: their identity (`IMonitorRef`) and their metrics."""

    @property
    def monitor_name(self) -> str:
        raise NotImplementedError

    @property
    def monitor_arn(self) -> str:
        raise NotImplementedError

    @property
    def monitor_ref(self) -> MonitorReference:
        """aws-cdk-lib's reference to a monitor, as `CfnMonitor` gives it."""
        return MonitorReference(monitor_arn=self.monitor_arn)

    def _default_period(self) -> Duration:
        return Duration.seconds(DEFAULT_AGGREGATION_PERIOD)

    def _probe_id_and_label(self, probe: MonitorProbe, where: str) -> tuple[str, str] | None:
        raise ValueError(
            f"{self.node.path}: an imported monitor has no probes of this app; pass the probe's id as probe_id"
        )

    def _report(self, problems: list[str]) -> None:
        """Problems of a helper's options: an imported monitor has no synth report to join."""
        raise TypeError(f"{self.node.path}: " + "; ".join(problems))

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Give `grantee` Network Monitor `actions` on this monitor (``networkmonitor:GetMonitor``, ...).

        The ARN is the monitor's only: its probes have ARNs of their own, by probe id, and actions
        that IAM authorizes on no resource type (ListMonitors, CreateProbe) need a grant on ``*``
        (the Service Authorization Reference's page for Network Monitor)."""
        bad = [a for a in actions if not isinstance(a, str) or not a.startswith("networkmonitor:")]
        if bad or not actions:
            raise TypeError(
                f"{self.node.path}: grant: actions {bad or list(actions)!r}; allowed: one or more "
                "'networkmonitor:<Action>' strings"
            )
        from aws_cdk import aws_iam as iam

        return iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=[self.monitor_arn])

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` read this monitor, its probes (GetMonitor lists them, with their states) and
        its tags, and list the account's monitors (ListMonitors, which IAM authorizes only on ``*``):
        what an operations role or a dashboard's reader needs."""
        from aws_cdk import aws_iam as iam

        return self.grant(grantee, "networkmonitor:GetMonitor", "networkmonitor:ListTagsForResource").combine(
            iam.Grant.add_to_principal(grantee=grantee, actions=["networkmonitor:ListMonitors"], resource_arns=["*"])
        )

    def metric(
        self,
        metric_name: str,
        probe: MonitorProbe | None = None,
        *,
        probe_id: str | None = None,
        **options: Unpack[metrics.MetricOptions],
    ) -> cloudwatch.Metric:
        """A metric of this monitor in `AWS/NetworkMonitor`, for one probe when one is given: the
        probe object (of this monitor) or, for an imported monitor, its id.

        Defaults: the period is the monitor's aggregation period (1 minute for an imported
        monitor); the statistic is the metric's usual one (Average for RTT and PacketLoss, Maximum
        for HealthIndicator); the label names the probe (`TCP subnet-0abc -> 10.0.0.1:443`); no
        unit, since the published units are not confirmed.
        """
        from . import metrics  # aws-cdk-lib's CloudWatch, only once a metric helper runs

        where = f"metric({metric_name})"
        problems = metrics.option_problems(where, options)
        if not isinstance(metric_name, str) or not metric_name or is_list_element(metric_name):
            problems.append(
                f"metric: metric_name {metric_name!r} is not a metric's name; pass 'RTT', 'PacketLoss' or "
                "'HealthIndicator' (or use metric_rtt, ...)"
            )
            metric_name = RTT
        if probe is not None and probe_id is not None:
            problems.append(f"{where}: give the probe or its probe_id, not both")
            probe_id = None
        elif probe_id is not None and (
            not isinstance(probe_id, str)
            or is_list_element(probe_id)
            or (not is_unresolved(probe_id) and not 1 <= len(probe_id) <= 255)  # a metric dimension's bounds
        ):
            problems.append(
                f"{where}: probe_id {probe_id!r} is {kind(probe_id)}; pass a probe's id, such as 'probe-...'"
            )
            probe_id = None
        if problems:
            self._report(problems)  # and the metric is made from the defaults
            options = {}
        label = options.get("label")
        if probe is not None:
            found = self._probe_id_and_label(probe, where)
            if found is not None:
                probe_id, probe_label = found
                label = label if label is not None else probe_label
        return metrics.metric(
            self.monitor_name,
            metric_name,
            probe_id=probe_id,
            period=options.get("period") or self._default_period(),
            statistic=options.get("statistic"),
            label=label,
            color=options.get("color"),
            unit=options.get("unit"),
            account=options.get("account"),
            region=options.get("region"),
        )

    def metric_rtt(
        self,
        probe: MonitorProbe | None = None,
        *,
        probe_id: str | None = None,
        **options: Unpack[metrics.MetricOptions],
    ) -> cloudwatch.Metric:
        """A probe's round-trip time (commonly read as microseconds; not confirmed). Default: average."""
        return self.metric(RTT, probe, probe_id=probe_id, **options)

    def metric_packet_loss(
        self,
        probe: MonitorProbe | None = None,
        *,
        probe_id: str | None = None,
        **options: Unpack[metrics.MetricOptions],
    ) -> cloudwatch.Metric:
        """The share of a probe's packets lost (commonly read as percent). Default: average."""
        return self.metric(PACKET_LOSS, probe, probe_id=probe_id, **options)

    def metric_health_indicator(
        self,
        probe: MonitorProbe | None = None,
        *,
        probe_id: str | None = None,
        **options: Unpack[metrics.MetricOptions],
    ) -> cloudwatch.Metric:
        """0 while AWS's network is healthy on the probe's path, 1 when degraded; published hours
        after a probe starts. Default: maximum."""
        return self.metric(HEALTH_INDICATOR, probe, probe_id=probe_id, **options)


class ImportedNetworkMonitor(NetworkMonitorBase):
    def __init__(self, scope: Construct, id: str, *, monitor_name: str, monitor_arn: str) -> None:
        super().__init__(scope, id, environment_from_arn=monitor_arn)
        self._monitor_name, self._monitor_arn = monitor_name, monitor_arn

    @property
    def monitor_name(self) -> str:
        return self._monitor_name

    @property
    def monitor_arn(self) -> str:
        return self._monitor_arn
