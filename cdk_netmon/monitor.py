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

from .handler.model import (
    OWNERSHIP_PROPERTY,
    OWNERSHIP_PROPERTY_VALUE,
    PROPERTY_NAME,
    monitor_document,
    probe_document,
)
from .probe import MonitorProbe, Number, ProbeProtocol
from .provider import NetworkMonitorProvider
from .validation import (
    REMOVAL_POLICIES,
    ResolvedProbe,
    is_list_like,
    is_unresolved,
    monitor_problems,
    monitor_type_problems,
    probe_type_problems,
    removal_policy_problem,
    tag_type_problems,
    whole_number,
)

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
        probes: Iterable[MonitorProbe] | None = None,
        aggregation_period: Duration | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        """
        :param monitor_name: 1 to 200 of ``[a-zA-Z0-9_-]``; changing it replaces the monitor.
            Default: generated from the stack name and construct path, stable across synths.
        :param probes: the probes; more can be added with ``add_probe``. Default: none (the monitor
            is then INACTIVE).
        :param aggregation_period: how often metrics are aggregated: 30 or 60 seconds.
            Default: 60 seconds.
        :param tags: tags of the monitor; ``Tags.of(scope).add(...)`` reaches the monitor too.
            Keys starting with ``cdk-netmon:`` are reserved for the ownership tags. Default: none.
        :param removal_policy: RETAIN keeps the monitor and its probes when the resource leaves
            the stack; SNAPSHOT is refused (a monitor has none). Default: DESTROY.
        """
        super().__init__(scope, id)
        # Every jsii call crosses to Node and back, so what is known once is asked once.
        stack = scope if isinstance(scope, Stack) else Stack.of(self)
        provider = NetworkMonitorProvider.of(stack)
        node = self.node
        self._stack = stack
        # Wrong types are reported with the rest at synth; meanwhile the construct is built from the
        # well-typed props only, so that nothing fails before the report can name every problem.
        self._type_problems = monitor_type_problems(
            monitor_name=monitor_name,
            aggregation_period=aggregation_period,
            tags=tags,
            removal_policy=removal_policy,
            probes=probes,
        )
        self._probes: list[MonitorProbe] = list(probes) if is_list_like(probes) else []
        self._aggregation_period = aggregation_period if isinstance(aggregation_period, Duration) else None
        self._period_seconds: Any = (
            DEFAULT_PERIOD_SECONDS if self._aggregation_period is None else _seconds(self._aggregation_period)
        )
        self._name_is_explicit = isinstance(monitor_name, str)
        self._declared_name: str = (
            monitor_name if isinstance(monitor_name, str) else provider.generate_monitor_name(node.path)
        )
        initial_tags = dict(tags) if isinstance(tags, Mapping) and not tag_type_problems("tags", tags) else {}
        self._tags = TagManager(TagType.MAP, RESOURCE_TYPE, initial_tags)
        self._subnet_arns: dict[int, tuple[ec2.ISubnet, str, str]] = {}

        synthesis = _Synthesis(self)
        self._resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={PROPERTY_NAME: Lazy.string(synthesis), OWNERSHIP_PROPERTY: OWNERSHIP_PROPERTY_VALUE},
            removal_policy=removal_policy if removal_policy in REMOVAL_POLICIES else RemovalPolicy.DESTROY,
        )
        node.add_dependency(provider.policy)
        node.add_validation(synthesis)
        self._monitor_name: str | None = None
        self._monitor_arn: str | None = None

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        """What happens to the monitor and its probes when the resource leaves the stack or is
        replaced: DESTROY (the default), RETAIN or RETAIN_ON_UPDATE_OR_DELETE."""
        if policy not in REMOVAL_POLICIES:
            raise ValueError(f"{self.node.path}: {removal_policy_problem(policy)}")
        self._resource.apply_removal_policy(policy)

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
            probe_tags=probe_tags,
        )
        self._probes.append(probe)
        return probe

    def probe_id(self, probe: MonitorProbe) -> str:
        """The id the service gave `probe` (one of this monitor's probes), resolved at deploy."""
        for index, candidate in enumerate(self._probes):
            if candidate is probe:
                return self._resource.get_att_string(f"ProbeId.{index}")
        raise ValueError(f"{self.node.path}: the probe to {probe.destination} is not one of this monitor's probes")

    def _well_typed_probes(self) -> tuple[list[str], list[tuple[int, ResolvedProbe]]]:
        """Type problems of the probes, and the well-typed ones with their source resolved."""
        problems: list[str] = []
        resolved: list[tuple[int, ResolvedProbe]] = []
        for index, probe in enumerate(self._probes):
            found = probe_type_problems(f"probes[{index}]", probe)
            if found:
                problems += found
            else:
                resolved.append((index, self._resolve_source(probe)))
        return problems, resolved

    def _resolve_source(self, probe: MonitorProbe) -> ResolvedProbe:
        if probe.source is None or probe.source_arn is not None:
            label = None if not is_unresolved(probe.source_arn) else "a deploy-time source_arn"
            return ResolvedProbe(probe, probe.source_arn, label)
        # One ARN string per subnet, so that probes from one subnet compare equal at synth.
        cached = self._subnet_arns.get(id(probe.source))
        if cached is None:
            subnet = probe.source
            subnet_id = subnet.subnet_id
            arn = Stack.of(subnet).format_arn(
                service="ec2", resource="subnet", resource_name=subnet_id, arn_format=ArnFormat.SLASH_RESOURCE_NAME
            )
            label = subnet.node.path if is_unresolved(subnet_id) else subnet_id
            cached = self._subnet_arns[id(subnet)] = (subnet, arn, label)
        return ResolvedProbe(probe, cached[1], cached[2])

    def _problems(self) -> list[str]:
        probe_type_problems_found, probes = self._well_typed_probes()
        rendered = self._rendered_tags()
        return (
            self._type_problems
            + probe_type_problems_found
            + monitor_problems(
                monitor_name=self._declared_name,
                name_is_explicit=self._name_is_explicit,
                aggregation_period_seconds=self._period_seconds,
                tags=rendered,
                probes=probes,
            )
        )

    def _rendered_tags(self) -> dict[str, str]:
        """The tags the monitor will carry: its own and those `Tags.of(...)` added."""
        return dict(self._tags.render_tags() or {})

    def _document(self) -> dict[str, Any]:
        """The `Monitor` property, written by the handler model's own writer."""
        _, probes = self._well_typed_probes()
        return monitor_document(
            name=self._declared_name,
            aggregation_period=self._period_seconds,
            tags=self._rendered_tags(),
            probes=[
                probe_document(
                    source_arn=resolved.source_arn,
                    destination=resolved.probe.destination,
                    protocol=resolved.probe.protocol.value,
                    destination_port=whole_number(resolved.probe.destination_port),
                    packet_size=whole_number(resolved.probe.packet_size),
                    tags=resolved.probe.probe_tags or {},
                )
                for _, resolved in probes
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
