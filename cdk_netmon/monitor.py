"""The NetworkMonitor L2 construct: a CloudWatch Network Monitor with its probes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import jsii
from aws_cdk import (
    ArnFormat,
    CustomResource,
    Duration,
    IResource,
    IStableStringProducer,
    ITaggableV2,
    Lazy,
    RemovalPolicy,
    Resource,
    Stack,
    TagManager,
    TagType,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from constructs import Construct, IValidation

from .handler.model import PROPERTY_NAME, monitor_document, probe_document
from .probe import MonitorProbe, Number, ProbeProtocol
from .provider import NetworkMonitorProvider
from .validation import ResolvedProbe, is_unresolved, monitor_problems

RESOURCE_TYPE = "Custom::NetworkMonitor"
DEFAULT_PERIOD_SECONDS = 60
METRIC_NAMESPACE = "AWS/NetworkMonitor"


class INetworkMonitor(IResource, Protocol):
    """A Network Monitor, defined in this app or imported by name."""

    @property
    def monitor_name(self) -> str: ...

    @property
    def monitor_arn(self) -> str: ...

    def metric(self, metric_name: str, *, probe_id: str | None = None, **options: Any) -> cloudwatch.Metric: ...

    def metric_rtt(self, *, probe_id: str, **options: Any) -> cloudwatch.Metric: ...

    def metric_packet_loss(self, *, probe_id: str, **options: Any) -> cloudwatch.Metric: ...

    def metric_health_indicator(self, *, probe_id: str, **options: Any) -> cloudwatch.Metric: ...


class _NetworkMonitorBase(Resource):
    """What defined and imported monitors share: their identity and their metrics."""

    @property
    def monitor_name(self) -> str:
        raise NotImplementedError

    def metric(self, metric_name: str, *, probe_id: str | None = None, **options: Any) -> cloudwatch.Metric:
        """A metric of this monitor in `AWS/NetworkMonitor`, for one probe when `probe_id` is given.

        `options` are those of `cloudwatch.Metric` (period, statistic, label, unit, ...). The dimension
        names, `Monitor` and `Probe`, are those the CloudWatch console uses for this namespace.
        """
        dimensions = {"Monitor": self.monitor_name}
        if probe_id is not None:
            dimensions["Probe"] = probe_id
        return cloudwatch.Metric(
            namespace=METRIC_NAMESPACE, metric_name=metric_name, dimensions_map=dimensions, **options
        )

    def metric_rtt(self, *, probe_id: str, **options: Any) -> cloudwatch.Metric:
        """Round-trip time of a probe, in microseconds. Default: average over 5 minutes."""
        return self.metric(
            "RTT", probe_id=probe_id, **{"statistic": "Average", "unit": cloudwatch.Unit.MICROSECONDS, **options}
        )

    def metric_packet_loss(self, *, probe_id: str, **options: Any) -> cloudwatch.Metric:
        """Percentage of a probe's packets lost. Default: average over 5 minutes."""
        return self.metric(
            "PacketLoss", probe_id=probe_id, **{"statistic": "Average", "unit": cloudwatch.Unit.PERCENT, **options}
        )

    def metric_health_indicator(self, *, probe_id: str, **options: Any) -> cloudwatch.Metric:
        """0 while AWS's network is healthy for this probe, 1 when degraded; published with a
        delay of hours after a probe starts. Default: maximum over 5 minutes."""
        return self.metric("HealthIndicator", probe_id=probe_id, **{"statistic": "Maximum", **options})


class _ImportedNetworkMonitor(_NetworkMonitorBase):
    def __init__(self, scope: Construct, id: str, monitor_name: str) -> None:
        super().__init__(scope, id)
        self._monitor_name = monitor_name
        self.monitor_arn = Stack.of(self).format_arn(
            service="networkmonitor",
            resource="monitor",
            resource_name=monitor_name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    @property
    def monitor_name(self) -> str:
        return self._monitor_name


@jsii.implements(ITaggableV2)
class NetworkMonitor(_NetworkMonitorBase):
    """A CloudWatch Network Monitor and its probes, deployed by a Lambda-backed custom resource.

    CloudFormation's `AWS::NetworkMonitor::Monitor` cannot declare probes; this construct can, and
    keeps them converged on every update. Every rule of the service that can be known at synth is
    checked then, and all problems of a monitor are reported together.

    Example::

        monitor = NetworkMonitor(self, "OnPrem",
            probes=[MonitorProbe(source=subnet, destination="10.0.0.10",
                                 protocol=ProbeProtocol.TCP, destination_port=443)],
            aggregation_period=Duration.seconds(30))
        monitor.metric_rtt(probe_id=monitor.probe_id(monitor.probes[0]))
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        monitor_name: str | None = None,
        probes: Iterable[MonitorProbe] = (),
        aggregation_period: Duration | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        """
        :param monitor_name: 1 to 200 of ``[a-zA-Z0-9_-]``; changing it replaces the monitor.
            Default: generated from the stack name and construct path, stable across synths.
        :param probes: the probes; more can be added with ``add_probe``. Default: none (the monitor
            is then INACTIVE).
        :param aggregation_period: how often metrics are aggregated: 30 or 60 seconds.
            Default: 60 seconds.
        :param tags: tags of the monitor; ``Tags.of(scope).add(...)`` reaches the monitor too.
            Default: none.
        :param removal_policy: RETAIN keeps the monitor and its probes when the resource leaves
            the stack. Default: DESTROY.
        """
        super().__init__(scope, id)
        # Every jsii call crosses to Node and back, so what is known once is asked once.
        stack = scope if isinstance(scope, Stack) else Stack.of(self)
        provider = NetworkMonitorProvider.of(stack)
        node = self.node
        self._stack = stack
        self._probes: list[MonitorProbe] = list(probes)
        self._aggregation_period = aggregation_period
        self._period_seconds = DEFAULT_PERIOD_SECONDS if aggregation_period is None else _seconds(aggregation_period)
        self._name_is_explicit = monitor_name is not None
        self._declared_name = monitor_name if monitor_name is not None else provider.generate_monitor_name(node.path)
        self._tags = TagManager(TagType.MAP, RESOURCE_TYPE, dict(tags or {}))
        self._subnet_arns: dict[int, tuple[ec2.ISubnet, str]] = {}

        provider.grant_monitor(self._declared_name)
        synthesis = _Synthesis(self)
        self._resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={PROPERTY_NAME: Lazy.string(synthesis)},
            removal_policy=removal_policy,
        )
        node.add_dependency(provider.policy)
        node.add_validation(synthesis)
        self._monitor_name: str | None = None
        self._monitor_arn: str | None = None

    @classmethod
    def from_monitor_name(cls, scope: Construct, id: str, monitor_name: str) -> INetworkMonitor:
        """Refer to a monitor that exists outside this app, for its ARN and metrics."""
        return _ImportedNetworkMonitor(scope, id, monitor_name)

    @property
    def monitor_name(self) -> str:
        """The monitor's name, resolved at deploy (a reference, so users depend on the monitor)."""
        if self._monitor_name is None:
            self._monitor_name = self._resource.ref
        return self._monitor_name

    @property
    def monitor_arn(self) -> str:
        """The monitor's ARN, resolved at deploy."""
        if self._monitor_arn is None:
            self._monitor_arn = self._resource.get_att_string("MonitorArn")
        return self._monitor_arn

    @property
    def cdk_tag_manager(self) -> TagManager:
        return self._tags

    @property
    def probes(self) -> Sequence[MonitorProbe]:
        return tuple(self._probes)

    @property
    def aggregation_period(self) -> Duration:
        if self._aggregation_period is None:
            self._aggregation_period = Duration.seconds(DEFAULT_PERIOD_SECONDS)
        return self._aggregation_period

    def add_probe(
        self,
        *,
        destination: str,
        protocol: ProbeProtocol,
        source_arn: str | None = None,
        source: ec2.ISubnet | None = None,
        destination_port: Number | None = None,
        packet_size: Number | None = None,
        probe_tags: Mapping[str, str] | None = None,
    ) -> MonitorProbe:
        """Add a probe; the fields are those of `MonitorProbe`. Returns it, for `probe_id`."""
        probe = MonitorProbe(
            destination=destination,
            protocol=protocol,
            source_arn=source_arn,
            source=source,
            destination_port=destination_port,
            packet_size=packet_size,
            probe_tags=dict(probe_tags or {}),
        )
        self._probes.append(probe)
        return probe

    def probe_id(self, probe: MonitorProbe) -> str:
        """The id the service gave `probe` (one of this monitor's probes), resolved at deploy."""
        for index, candidate in enumerate(self._probes):
            if candidate is probe:
                return self._resource.get_att_string(f"ProbeId.{index}")
        raise ValueError(f"{self.node.path}: the probe to {probe.destination} is not one of this monitor's probes")

    def _resolved_probes(self) -> list[ResolvedProbe]:
        return [ResolvedProbe(p, self._source_arn(p)) for p in self._probes]

    def _source_arn(self, probe: MonitorProbe) -> str | None:
        if probe.source_arn is not None or probe.source is None:
            return probe.source_arn
        # One ARN string per subnet, so that probes from one subnet compare equal at synth.
        cached = self._subnet_arns.get(id(probe.source))
        if cached is None:
            arn = Stack.of(probe.source).format_arn(
                service="ec2",
                resource="subnet",
                resource_name=probe.source.subnet_id,
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            )
            cached = self._subnet_arns[id(probe.source)] = (probe.source, arn)
        return cached[1]

    def _problems(self) -> list[str]:
        return monitor_problems(
            monitor_name=self._declared_name,
            name_is_explicit=self._name_is_explicit,
            aggregation_period_seconds=self._period_seconds,
            tags=self._rendered_tags(),
            probes=self._resolved_probes(),
        )

    def _rendered_tags(self) -> dict[str, str]:
        return dict(self._tags.render_tags() or {})

    def _document(self) -> dict[str, Any]:
        """The `Monitor` property, written by the handler model's own writer."""
        return monitor_document(
            name=self._declared_name,
            aggregation_period=self._period_seconds,
            tags=self._rendered_tags(),
            probes=[
                probe_document(
                    source_arn=resolved.source_arn,
                    destination=resolved.probe.destination,
                    protocol=resolved.probe.protocol.value,
                    destination_port=resolved.probe.destination_port,
                    packet_size=resolved.probe.packet_size,
                    tags=resolved.probe.probe_tags,
                )
                for resolved in self._resolved_probes()
            ],
        )


@jsii.implements(IStableStringProducer, IValidation)
class _Synthesis:
    """What the monitor does at synth: validate, then render its properties once every add_probe
    and Tags aspect has had its say. One object for both, as each crosses the jsii bridge."""

    def __init__(self, monitor: NetworkMonitor) -> None:
        self._monitor = monitor

    def validate(self) -> list[str]:
        return self._monitor._problems()

    def produce(self) -> str | None:
        document = self._monitor._document()
        if _has_tokens(document):
            return self._monitor._stack.to_json_string(document)
        # No deploy-time values: plain JSON, written as JSON.stringify would, without a jsii call.
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def _seconds(period: Duration) -> Any:
    """Whole seconds as an int (the API's type); a deploy-time token is passed through untouched."""
    seconds = period.to_seconds()
    if isinstance(seconds, float) and seconds.is_integer() and not is_unresolved(seconds):
        return int(seconds)
    return seconds


def _has_tokens(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_tokens(k) or _has_tokens(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_tokens(v) for v in value)
    return is_unresolved(value)
