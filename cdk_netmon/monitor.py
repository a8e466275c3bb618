"""The NetworkMonitor L2 construct: a CloudWatch Network Monitor with its probes."""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import jsii
from aws_cdk import (
    Arn,
    ArnFormat,
    CfnElement,
    CustomResource,
    Duration,
    IResource,
    IStableAnyProducer,
    ITaggableV2,
    Lazy,
    RemovalPolicy,
    Resource,
    Stack,
    TagManager,
    TagType,
)
from aws_cdk.interfaces.aws_networkmonitor import IMonitorRef, MonitorReference
from constructs import Construct, IValidation

from ._jsii import ec2_type, implements, is_ec2, is_list_element, is_list_token, is_unresolved, whole_number
from .handler.model import (
    ACTIVE,
    AGGREGATION_PERIOD,
    DEFAULT_AGGREGATION_PERIOD,
    MONITOR_ARN_ATTRIBUTE,
    MONITOR_NAME,
    OWNERSHIP_PROPERTY,
    OWNERSHIP_PROPERTY_VALUE,
    PAUSED,
    PROBE_ID_ATTRIBUTE,
    PROBES,
    RESOURCE_TYPE,
    RESPONSE_LIMIT_BYTES,
    TAGS,
    endpoint,
    probe_key,
    probe_properties,
    unique_keys,
)
from .handler.rules import SUBNET_ARN_PATTERN, address_family, check_monitor_name
from .probe import MonitorProbe, ProbeFields, ProbeOptions, ProbeProtocol, unexpected_keywords
from .provider import SERVICE_TIMEOUT, NetworkMonitorProvider
from .validation import (
    REMOVAL_POLICIES,
    Environment,
    ResolvedProbe,
    is_list_like,
    kind,
    list_token_problem,
    monitor_problems,
    monitor_type_problems,
    probe_type_problems,
    protocol_problem,
    removal_policy_problem,
    tag_type_problems,
)

if TYPE_CHECKING:
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_iam as iam
    from typing_extensions import Unpack

    from . import metrics

    Sources = ec2.SelectedSubnets | Sequence[ec2.ISubnet | str]
    """Where fanned-out probes run from: `vpc.select_subnets(...)`, subnets, or subnet ARN strings."""

MONITOR_ARN = re.compile(r"arn:aws[a-z-]*:networkmonitor:[a-z0-9-]+:[0-9]{12}:monitor/[a-zA-Z0-9_-]{1,200}", re.ASCII)


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
class _NetworkMonitorBase(Resource):
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
            metric_name = metrics.RTT
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
        from . import metrics  # aws-cdk-lib's CloudWatch, only once a metric helper runs

        return self.metric(metrics.RTT, probe, probe_id=probe_id, **options)

    def metric_packet_loss(
        self,
        probe: MonitorProbe | None = None,
        *,
        probe_id: str | None = None,
        **options: Unpack[metrics.MetricOptions],
    ) -> cloudwatch.Metric:
        """The share of a probe's packets lost (commonly read as percent). Default: average."""
        from . import metrics  # aws-cdk-lib's CloudWatch, only once a metric helper runs

        return self.metric(metrics.PACKET_LOSS, probe, probe_id=probe_id, **options)

    def metric_health_indicator(
        self,
        probe: MonitorProbe | None = None,
        *,
        probe_id: str | None = None,
        **options: Unpack[metrics.MetricOptions],
    ) -> cloudwatch.Metric:
        """0 while AWS's network is healthy on the probe's path, 1 when degraded; published hours
        after a probe starts. Default: maximum."""
        from . import metrics  # aws-cdk-lib's CloudWatch, only once a metric helper runs

        return self.metric(metrics.HEALTH_INDICATOR, probe, probe_id=probe_id, **options)


class _ImportedNetworkMonitor(_NetworkMonitorBase):
    def __init__(self, scope: Construct, id: str, *, monitor_name: str, monitor_arn: str) -> None:
        super().__init__(scope, id, environment_from_arn=monitor_arn)
        self._monitor_name, self._monitor_arn = monitor_name, monitor_arn

    @property
    def monitor_name(self) -> str:
        return self._monitor_name

    @property
    def monitor_arn(self) -> str:
        return self._monitor_arn


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
        monitor.metric_rtt(monitor.probes[0])
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
        self._provider = provider
        self._environment = provider.environment
        self._tags_rendered: dict[str, str] | None = None
        self._later_problems: list[str] = []
        """Problems of calls made after construction (add_probes, add_probe_alarms), for the report."""
        self._alarm_sets: dict[str, list[tuple[metrics.ProbeMetrics, str, cloudwatch.Alarm]]] = {}
        """The sets of alarms made so far, by their id prefix: each alarm with its probe and kind."""
        _MONITORS.setdefault(provider.root, []).append(self)
        # Wrong types are reported with the rest at synth; meanwhile the construct is built from the
        # well-typed props only, so that nothing fails before the report can name every problem.
        self._type_problems = monitor_type_problems(
            monitor_name=monitor_name,
            aggregation_period=aggregation_period,
            tags=tags,
            removal_policy=removal_policy,
            probes=probes,
        )
        self._probes: list[MonitorProbe] = list(probes) if is_list_like(probes) and not is_list_token(probes) else []
        self._aggregation_period = aggregation_period if isinstance(aggregation_period, Duration) else None
        self._period_seconds: Any = DEFAULT_AGGREGATION_PERIOD
        if self._aggregation_period is not None:
            self._period_seconds, problem = _seconds(self._aggregation_period)
            self._type_problems += [problem] if problem else []
        self._name_is_explicit = isinstance(monitor_name, str) and not is_list_element(monitor_name)
        # The path below a stack is the stack's path (known to its provider) and the id: no jsii call.
        path = f"{provider.stack_path}/{id}" if scope is stack else node.path
        self._declared_name: str = (
            monitor_name if self._name_is_explicit else provider.names.generate(path)  # type: ignore[assignment]
        )
        initial_tags = dict(tags) if isinstance(tags, Mapping) and not tag_type_problems("tags", tags) else {}
        self._own_tags = initial_tags
        self._tags = TagManager(TagType.MAP, RESOURCE_TYPE, initial_tags)
        self._origins: dict[int, str] = {}
        """Which add_probes call made a probe, for quota messages that state the product."""
        self._subnet_arns: dict[int, tuple[ec2.ISubnet, str, str, str | None, str]] = provider.subnet_sources
        """Per subnet: the subnet, its ARN, the words that name it, why it cannot be a source, and what
        the monitor-wide rules compare it by; the stack's, shared by its monitors (a fan-out's share
        subnets), each asked of jsii once."""

        synthesis = _Synthesis(self)
        self._resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={
                MONITOR_NAME: self._declared_name,
                AGGREGATION_PERIOD: self._period_seconds,
                # The tag manager renders the monitor's tags itself, in Node.js: no callback.
                TAGS: self._tags.rendered_tags,
                PROBES: Lazy.any(synthesis),
                OWNERSHIP_PROPERTY: OWNERSHIP_PROPERTY_VALUE,
            },
            service_timeout=SERVICE_TIMEOUT,
            removal_policy=removal_policy if removal_policy in REMOVAL_POLICIES else RemovalPolicy.DESTROY,
        )
        node.add_dependency(provider.policy)
        node.add_validation(synthesis)
        self._monitor_name: str | None = None
        self._monitor_arn: str | None = None

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        """What happens to the monitor and its probes when the resource leaves the stack or is
        replaced: DESTROY (the default), RETAIN or RETAIN_ON_UPDATE_OR_DELETE."""
        if not isinstance(policy, RemovalPolicy):
            raise TypeError(
                f"{self.node.path}: removal_policy {policy!r} is {kind(policy)}, not a RemovalPolicy; "
                "pass RemovalPolicy.DESTROY or RemovalPolicy.RETAIN"
            )
        if policy not in REMOVAL_POLICIES:
            raise ValueError(f"{self.node.path}: {removal_policy_problem(policy)}")
        self._resource.apply_removal_policy(policy)

    @classmethod
    def from_monitor_name(cls, scope: Construct, id: str, monitor_name: str) -> INetworkMonitor:
        """Refer to a monitor of this stack's account and region that exists outside this app."""
        problems = [] if is_unresolved(monitor_name) else check_monitor_name("monitor_name", monitor_name)
        if problems:
            raise ValueError(f"{scope.node.path}/{id}: {problems[0]}")
        arn = Stack.of(scope).format_arn(
            service="networkmonitor",
            resource="monitor",
            resource_name=monitor_name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        return _ImportedNetworkMonitor(scope, id, monitor_name=monitor_name, monitor_arn=arn)

    @classmethod
    def from_monitor_arn(cls, scope: Construct, id: str, monitor_arn: str) -> INetworkMonitor:
        """Refer to a monitor by its ARN, possibly in another account or region (for its metrics)."""
        if not is_unresolved(monitor_arn) and not MONITOR_ARN.fullmatch(monitor_arn):
            raise ValueError(
                f"{scope.node.path}/{id}: monitor_arn {monitor_arn!r} is not a monitor's ARN; "
                "allowed: arn:<partition>:networkmonitor:<region>:<account>:monitor/<name>"
            )
        name = Arn.split(monitor_arn, ArnFormat.SLASH_RESOURCE_NAME).resource_name
        return _ImportedNetworkMonitor(scope, id, monitor_name=str(name), monitor_arn=monitor_arn)

    @classmethod
    def fan_out(
        cls,
        scope: Construct,
        id: str,
        *,
        sources: Sources,
        destinations: Sequence[str],
        aggregation_period: Duration | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy | None = None,
        **probe: Unpack[ProbeOptions],
    ) -> list[NetworkMonitor]:
        """Every source × every destination, spread over as few monitors as the quotas allow.

        One monitor holds at most 24 probes, 4 from any subnet, and one address family. So the
        destinations are split by family and into as few, even groups of at most 4 as can be, and
        the subnets into groups that fill a monitor: 8 subnets × 6 destinations make 2 monitors of
        8 subnets × 3 destinations. The monitors are `Monitor1`, `Monitor2`, ... in a construct
        `id`; a change in the number of sources or destinations can move probes between them.
        """
        unexpected_keywords("fan_out()", probe, ProbeOptions)
        group = Construct(scope, id)
        subnets, source_problems = _sources(sources)
        targets, destination_problems = _destinations(destinations)
        found = source_problems + destination_problems + _protocol_problems(probe.get("protocol"))
        if found:
            group.node.add_validation(_Reported([f"fan_out: {p}" for p in found]))
            return []
        quotas = NetworkMonitorProvider.of(Stack.of(group)).quotas
        monitors: list[NetworkMonitor] = []
        for chunk in _destination_chunks(targets, quotas.probes_per_subnet):
            per_monitor = max(1, quotas.probes_per_monitor // len(chunk))
            start = 0
            while start < len(subnets):
                monitor = cls(
                    group,
                    f"Monitor{len(monitors) + 1}",
                    aggregation_period=aggregation_period,
                    tags=tags,
                    removal_policy=removal_policy,
                )
                # As many subnets as the quotas allow, and as the response to CloudFormation has room for.
                take = monitor._subnets_that_fit(subnets[start : start + per_monitor], chunk, **probe)
                monitor.add_probes(sources=subnets[start : start + take], destinations=chunk, **probe)
                monitors.append(monitor)
                start += take
        return monitors

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
            self._monitor_arn = self._resource.get_att_string(MONITOR_ARN_ATTRIBUTE)
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
            self._aggregation_period = Duration.seconds(DEFAULT_AGGREGATION_PERIOD)
        return self._aggregation_period

    def add_probe(self, **fields: Unpack[ProbeFields]) -> MonitorProbe:
        """Add a probe; the keywords are `MonitorProbe`'s fields. Returns it, for `probe_id` and metrics."""
        unexpected_keywords("add_probe()", fields, ProbeFields)
        probe = MonitorProbe(**fields)
        self._probes.append(probe)
        return probe

    def add_probes(
        self, *, sources: Sources, destinations: Sequence[str], **probe: Unpack[ProbeOptions]
    ) -> list[MonitorProbe]:
        """A probe from every source to every destination, as the console makes them. The quotas
        are checked against the product (24 probes per monitor, 4 per subnet); `fan_out` spreads
        a larger product over several monitors."""
        unexpected_keywords("add_probes()", probe, ProbeOptions)
        subnets, source_problems = _sources(sources)
        targets, destination_problems = _destinations(destinations)
        found = source_problems + destination_problems + _protocol_problems(probe.get("protocol"))
        if found:  # said once for the call, not once per probe it would make
            self._later_problems += [f"add_probes: {p}" for p in found]
            return []
        probes = [_fanned_out(subnet, destination, probe) for subnet in subnets for destination in targets]
        origin = (
            f"add_probes: {_count(len(subnets), 'subnet')} × {_count(len(targets), 'destination')}"
            f" = {_count(len(probes), 'probe')}"
        )
        for made in probes:
            self._origins[id(made)] = origin
        self._probes += probes
        return probes

    def add_probe_alarms(
        self,
        *,
        id: str | None = None,
        packet_loss_percent: float | None = None,
        rtt_threshold: Duration | None = None,
        health_indicator: bool | None = None,
        evaluation_periods: int | None = None,
        datapoints_to_alarm: int | None = None,
        period: Duration | None = None,
        treat_missing_data: cloudwatch.TreatMissingData | None = None,
        alarm_name_prefix: str | None = None,
    ) -> list[cloudwatch.Alarm]:
        """Alarms for every enabled probe of this monitor (call it after adding the probes). Each
        option takes `None` for its default; options of the wrong type or range join the synth
        report, and then no alarm is made.

        :param id: a prefix for the alarms' construct ids, to call this again for another set of
            alarms (say, a stricter one that pages). Default: none (the first set).
        :param alarm_name_prefix: alarm names `<prefix><probe key>-<kind>` (`network-dc1-https-
            packetloss`), for a team's naming scheme. Default: names CloudFormation generates.

        :param packet_loss_percent: alarm when packet loss is above this. Default: 5.
        :param rtt_threshold: alarm when the round-trip time is above this (RTT read as
            microseconds). Default: no RTT alarm.
        :param health_indicator: alarm when AWS reports its network degraded on the probe's path
            (HealthIndicator 1); missing data, as in the hours before it is first published, is not
            a breach. Default: true.
        :param evaluation_periods: periods over which to compare. Default: 3.
        :param datapoints_to_alarm: breaching datapoints within them that alarm. Default: all.
        :param period: of each datapoint. Default: the monitor's aggregation period.
        :param treat_missing_data: for the packet loss and RTT alarms. Default: MISSING.
        """
        from . import metrics  # aws-cdk-lib's CloudWatch, only once a metric helper runs

        options = metrics.AlarmOptions.given(
            packet_loss_percent=packet_loss_percent,
            rtt_threshold=rtt_threshold,
            health_indicator=health_indicator,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            period=period,
            treat_missing_data=treat_missing_data,
            alarm_name_prefix=alarm_name_prefix,
        )
        problems = options.problems()
        prefix = "" if id is None else str(id)
        if id is not None and (not isinstance(id, str) or not re.fullmatch(r"[A-Za-z0-9]+", id)):
            problems.append(f"add_probe_alarms: id {id!r} is not letters and digits; pass such as 'Paging'")
        elif prefix in self._alarm_sets:
            again = "again" if prefix else "a second time"
            problems.append(
                f"add_probe_alarms was called {again} with id {id!r}; pass a distinct id=... for another set of alarms"
            )
        if problems:
            self._later_problems += problems
            return []
        made = metrics.probe_alarms(
            self,
            [self._probe_metrics(p, period, labelled=False) for p in self._real_probes() if p.enabled is not False],
            prefix=prefix,
            options=options,
        )
        self._alarm_sets[prefix] = made
        return [alarm for _, _, alarm in made]

    def add_aggregate_alarms(
        self, *, id: str | None = None, alarm_name_prefix: str | None = None
    ) -> metrics.AggregateAlarms | None:
        """Composite alarms over the packet-loss alarms of `add_probe_alarms` (the set of the same
        `id`; call it first): per destination (every probe to it losing packets: unreachable from
        every subnet), per source subnet (every probe from it losing packets), and one for the
        monitor (any of those). A network team pages on these, not on one alarm per probe: put the
        alarm actions on `monitor` (or on the per-destination ones) and leave the probes' alarms
        for the console's probe status. None, with the problem in the synth report, when there is
        no such set.

        :param id: the `id` given to `add_probe_alarms`. Default: none (its first set).
        :param alarm_name_prefix: alarm names `<prefix>Unreachable10001`, `<prefix>Monitor`, ...
            Default: names CloudFormation generates.
        """
        prefix = "" if id is None else str(id)
        made = self._alarm_sets.get(prefix)
        if made is None:
            self._later_problems.append(
                f"add_aggregate_alarms: no add_probe_alarms(id={id!r}) before it; call add_probe_alarms first"
            )
            return None
        from . import metrics  # aws-cdk-lib's CloudWatch, only once a metric helper runs

        problems = metrics.alarm_name_prefix_problems("add_aggregate_alarms", alarm_name_prefix)
        if problems:
            self._later_problems += problems
            return None
        probes = dict(zip(self._probe_keys().values(), self._probes, strict=True))
        members = []
        for probe_metrics, kind_of_alarm, alarm in made:
            if kind_of_alarm != "PacketLoss":
                continue
            probe = probes[probe_metrics.key]
            literal = isinstance(probe.destination, str) and not is_unresolved(probe.destination)
            destination = probe.destination if literal else f"deploy-time destination of {probe_metrics.key}"
            subnet = _literal_source(probe) or f"deploy-time source of {probe_metrics.key}"
            members.append((alarm, str(destination), subnet))
        return metrics.aggregate_alarms(
            self, members, prefix=f"{prefix}Aggregate", title=self.node.path, alarm_name_prefix=alarm_name_prefix
        )

    def dashboard_widgets(
        self, *, title: str | None = None, period: Duration | None = None, width: int = 8, height: int = 6
    ) -> list[cloudwatch.IWidget]:
        """Round-trip time, packet loss and AWS network health, one line per probe, for
        `cloudwatch.Dashboard(widgets=[monitor.dashboard_widgets()])`. Default title: the monitor's name.
        Options of the wrong type or range join the synth report, and their defaults are used."""
        from . import metrics  # aws-cdk-lib's CloudWatch, only once a metric helper runs

        problems = metrics.dashboard_problems(title=title, period=period, width=width, height=height)
        if problems:
            self._later_problems += problems
            title, period, width, height = None, None, 8, 6
        return metrics.dashboard_widgets(
            title if title is not None else self.monitor_name,
            [self._probe_metrics(p, period, labelled=True) for p in self._real_probes()],
            width=width,
            height=height,
        )

    def _probe_metrics(self, probe: MonitorProbe, period: Duration | None, *, labelled: bool) -> metrics.ProbeMetrics:
        """A probe's metrics; alarms take them unlabelled, since a label turns an alarm's metric
        into a metric-math expression (their description names the probe instead)."""
        found = self._probe_id_and_label(probe, "metrics")
        assert found is not None  # one of this monitor's probes
        probe_id, label = found
        options: dict[str, Any] = {"probe_id": probe_id, "label": label if labelled else None, "period": period}
        from . import metrics  # aws-cdk-lib's CloudWatch, only once a metric helper runs

        return metrics.ProbeMetrics(
            key=self._probe_keys()[id(probe)],
            label=label,
            rtt=self.metric_rtt(**options),
            packet_loss=self.metric_packet_loss(**options),
            health=self.metric_health_indicator(**options),
        )

    def _probe_id_and_label(self, probe: MonitorProbe, where: str) -> tuple[str, str] | None:
        """The probe's id and label; None, with the problem in the report, for no probe of this monitor."""
        if not isinstance(probe, MonitorProbe) or not any(candidate is probe for candidate in self._probes):
            self._report([f"{where}: probe {_described(probe)} is not one of this monitor's probes; pass one of them"])
            return None
        probe_id = self.probe_id(probe)
        if implements(probe.source, ec2_type("ISubnet")):
            source = probe.source.subnet_id  # type: ignore[union-attr]  # a token reads as the subnet's Ref
        else:
            source = _text(probe.source_arn, "a deploy-time source").rsplit("/", 1)[-1]
        return probe_id, f"{_protocol_name(probe)} {source} -> {_endpoint(probe)}"

    def _real_probes(self) -> list[MonitorProbe]:
        """The probes that are MonitorProbes (the rest is in the synth report)."""
        return [p for p in self._probes if isinstance(p, MonitorProbe)]

    def _default_period(self) -> Duration:
        """The aggregation period, where it is one a metric can take (a wrong one is in the report, a
        deploy-time one is unknown: a minute, the service's default)."""
        seconds = self._period_seconds
        known = isinstance(seconds, int) and seconds in (30, 60)
        return Duration.seconds(seconds if known else DEFAULT_AGGREGATION_PERIOD)

    def _report(self, problems: list[str]) -> None:
        self._later_problems += problems

    def probe_id(self, probe: MonitorProbe) -> str:
        """The id the service gave `probe` (one of this monitor's probes), resolved at deploy;
        for metrics, pass the probe itself to `metric_rtt` and the others."""
        for candidate in self._probes:
            if candidate is probe:
                return self._resource.get_att_string(PROBE_ID_ATTRIBUTE.format(key=self._probe_keys()[id(probe)]))
        raise ValueError(f"{self.node.path}: the probe to {probe.destination} is not one of this monitor's probes")

    def _resolved_probes(self, monitor_tags: Mapping[str, str]) -> tuple[list[str], list[ResolvedProbe]]:
        """Type problems of the probes, and every MonitorProbe with its source resolved, its tags
        (those `Tags.of(...)` gave the monitor, not its own `tags`, then its own) and the fields of
        the wrong type, whose rules are then not checked (the others still are)."""
        inherited = {k: v for k, v in monitor_tags.items() if self._own_tags.get(k) != v}
        problems: list[str] = []
        resolved: list[ResolvedProbe] = []
        for index, probe in enumerate(self._probes):
            origin = self._origins.get(id(probe))
            where = f"probes[{index}]" if origin is None else _made_by_add_probes(probe)
            found = probe_type_problems(where, probe)
            problems += found.values()
            if "probe" in found:
                continue
            tags = {**inherited, **(probe.probe_tags or {})} if "probe_tags" not in found else dict(inherited)
            resolved.append(self._resolve_source(probe, tags, origin, where, frozenset(found)))
        return problems, resolved

    def _resolve_source(
        self, probe: MonitorProbe, tags: Mapping[str, str], origin: str | None, where: str, bad: frozenset[str]
    ) -> ResolvedProbe:
        if probe.source is None or probe.source_arn is not None or "source" in bad:
            arn = probe.source_arn
            label = "a deploy-time source_arn" if is_unresolved(arn) else arn
            key = arn if is_unresolved(arn) else _subnet_id_of(arn)
            return ResolvedProbe(probe, arn, label, tags, origin, where, bad, source_key=key)
        # One ARN string per subnet, so that probes from one subnet compare equal at synth.
        cached = self._subnet_arns.get(id(probe.source))
        if cached is None:
            subnet = probe.source
            subnet_id = subnet.subnet_id
            home = Stack.of(subnet)
            arn = home.format_arn(
                service="ec2", resource="subnet", resource_name=subnet_id, arn_format=ArnFormat.SLASH_RESOURCE_NAME
            )
            literal = not is_unresolved(subnet_id)
            label = subnet_id if literal else subnet.node.path
            # A subnet and its own literal ARN are one source: by id where the id is known at synth.
            key = subnet_id if literal else arn
            cached = self._subnet_arns[id(subnet)] = (subnet, arn, label, self._foreign_subnet(home, label), key)
        problem = f"{where}.source {cached[3]}" if cached[3] else None
        return ResolvedProbe(probe, cached[1], cached[2], tags, origin, where, bad, problem, cached[4])

    def _foreign_subnet(self, home: Stack, label: str) -> str | None:
        """Why a subnet of another stack cannot be a source: its stack's account or region differs
        from this one's (CDK would quietly read it across environments)."""
        if home is self._stack:
            return None
        ours, theirs = self._environment, _environment_of(home)
        wrong = [
            f"{what} {value}"
            for what, value, expected in (
                ("account", theirs.account, ours.account),
                ("region", theirs.region, ours.region),
            )
            if value is not None and expected is not None and value != expected
        ]
        if not wrong:
            return None
        return (
            f"{label!r} is a subnet of stack {home.node.path} in {' and '.join(wrong)}; allowed: a subnet of this "
            "stack's own account and region (the service takes no cross-account or cross-region source)"
        )

    def _problems(self) -> list[str]:
        # aws-cdk-lib renders the properties (in its prepare phase, after the aspects) before it
        # validates, and only once (Lazy values are cached): the tags it saw then are still the tags.
        rendered, self._tags_rendered = self._tags_rendered, None
        rendered = rendered if rendered is not None else self._rendered_tags()
        probe_type_problems_found, probes = self._resolved_probes(rendered)
        found = (
            self._type_problems
            + self._later_problems
            + probe_type_problems_found
            + monitor_problems(
                monitor_name=self._declared_name,
                name_is_explicit=self._name_is_explicit,
                aggregation_period_seconds=self._period_seconds,
                tags=rendered,
                probes=probes,
                environment=self._environment,
                quotas=self._provider.quotas,
            )
            + self._name_taken()
            + self._response_problems(self._probes)
        )
        return list(dict.fromkeys(found))  # the same problem once, however many probes share it

    def _name_taken(self) -> list[str]:
        """Another monitor of the app with this name in the same account and region (stacks of an
        unknown environment deploy to the CLI's, so they count as one)."""
        if is_unresolved(self._declared_name):
            return []
        others = [
            m
            for m in _MONITORS.get(self._provider.root, [])
            if m is not self and m._declared_name == self._declared_name and m._environment == self._environment
        ]
        if not others:
            return []
        where = ", ".join(m.node.path for m in others)
        return [
            f"monitor_name {self._declared_name!r} is also the name of {where} in the same account and region; "
            "allowed: a name used once per account and region"
        ]

    def _rendered_tags(self) -> dict[str, str]:
        """The tags the monitor will carry: its own and those `Tags.of(...)` added."""
        return dict(self._tags.render_tags() or {})

    def _probe_properties(self) -> dict[str, Any]:
        """`Probes`, written by the handler model's own writer, each under its key; the tags
        rendered for it are kept for the validation that follows in the same synth."""
        keys = self._probe_keys()
        self._tags_rendered = rendered = self._rendered_tags()
        _, probes = self._resolved_probes(rendered)
        return {
            keys[id(resolved.probe)]: probe_properties(
                source_arn=resolved.source_arn,
                destination=resolved.probe.destination,
                protocol=resolved.probe.protocol.value,
                destination_port=whole_number(resolved.probe.destination_port),
                packet_size=whole_number(resolved.probe.packet_size),
                tags=resolved.tags,
                state=PAUSED if resolved.probe.enabled is False else ACTIVE,
            )
            for resolved in probes
            if not resolved.bad_fields
        }

    def _probe_keys(self) -> dict[int, str]:
        """Each probe's key, by `id` (see `_keys_of`)."""
        return {id(p): key for p, key in zip(self._probes, _keys_of(self._probes), strict=True)}

    def _response_problems(self, probes: Sequence[object]) -> list[str]:
        """The response to CloudFormation could exceed its limit with these probes (see `ResponseBound`)."""
        keys = [key for probe, key in zip(probes, _keys_of(probes), strict=True) if isinstance(probe, MonitorProbe)]
        name = None if is_unresolved(self._declared_name) else self._declared_name
        if self._provider.response_bound(None, name).largest(keys) <= RESPONSE_LIMIT_BYTES:
            return []  # fits with the longest logical id, which is then never asked of jsii
        cfn = self._resource.node.default_child
        logical_id = self._stack.resolve(cfn.logical_id) if isinstance(cfn, CfnElement) else None
        problem = self._provider.response_bound(logical_id, name).problem(keys)
        return [problem] if problem else []

    def _subnets_that_fit(self, subnets: Sequence[ec2.ISubnet | str], destinations: Sequence[str], **probe: Any) -> int:
        """How many of `subnets` (at least one) fan_out can give this monitor, each with every destination,
        before its response to CloudFormation could exceed the limit."""
        take = len(subnets)
        while take > 1:
            made = [_fanned_out(subnet, target, probe) for subnet in subnets[:take] for target in destinations]
            if not self._response_problems([*self._probes, *made]):
                break
            take -= 1
        return take


@jsii.implements(IValidation)
class _Reported:
    """Problems found before synth (in a call that has no monitor to report them), reported then."""

    def __init__(self, problems: list[str]) -> None:
        self._problems = problems

    def validate(self) -> list[str]:
        return list(self._problems)


@jsii.implements(IValidation, IStableAnyProducer)
class _Synthesis:
    """What the monitor does at synth, once every add_probe and Tags aspect has had its say:
    validate, naming every problem at once, then render `Probes` (nothing when there are none).
    One object for both, as each crosses the jsii bridge."""

    def __init__(self, monitor: NetworkMonitor) -> None:
        self._monitor = monitor

    def validate(self) -> list[str]:
        return self._monitor._problems()

    def produce(self) -> Any:
        return self._monitor._probe_properties() or None


def _keys_of(probes: Sequence[object]) -> list[str]:
    """Each probe's key: its name, else generated from what is literal of its source, destination and
    protocol (`handler.model.probe_key`), `-2`, `-3` added to a repeat in the order the probes were
    declared. Never from a token's text: that changes between processes."""
    bases = []
    for probe in probes:
        if not isinstance(probe, MonitorProbe):  # in the synth report, never in the template
            bases.append("not-a-probe")
            continue
        name = probe.name
        if isinstance(name, str) and not is_unresolved(name):
            bases.append(name)
            continue
        destination = probe.destination if isinstance(probe.destination, str) else None
        literal = None if is_unresolved(destination) else destination
        bases.append(probe_key(_protocol_name(probe), literal, _literal_source(probe)))
    return unique_keys(bases)


def _fanned_out(subnet: ec2.ISubnet | str, destination: str, options: Mapping[str, Any]) -> MonitorProbe:
    """One probe of add_probes: from a subnet or a subnet ARN."""
    return MonitorProbe(
        source=None if isinstance(subnet, str) else subnet,
        source_arn=subnet if isinstance(subnet, str) else None,
        destination=destination,
        **options,
    )


def _literal_source(probe: MonitorProbe) -> str | None:
    """What names a probe's source at synth: the subnet's id, else its construct path, else the id in
    a literal ARN; None for a deploy-time ARN."""
    if probe.source is not None and implements(probe.source, ec2_type("ISubnet")):
        label = _SUBNET_LABELS.get(probe.source)
        if label is None:  # each asked of jsii once, however many probes and keys need it
            subnet_id = probe.source.subnet_id
            label = _SUBNET_LABELS[probe.source] = probe.source.node.path if is_unresolved(subnet_id) else subnet_id
        return label
    if isinstance(probe.source_arn, str) and not is_unresolved(probe.source_arn):
        return probe.source_arn.rsplit("/", 1)[-1]
    return None


def _seconds(period: Duration) -> tuple[Any, str | None]:
    """Whole seconds as an int (the API's type), a deploy-time token in seconds passed through; or
    the default and the problem, for a fraction of a second or a token in another unit, which
    aws-cdk-lib cannot convert at synth."""
    try:
        seconds = period.to_seconds()
    except Exception:  # jsii's MustBeWholeNumber and friends, which name neither construct nor prop
        try:
            fraction = period.to_seconds(integral=False)
        except Exception:
            return DEFAULT_AGGREGATION_PERIOD, (
                "aggregation_period is a deploy-time amount in a unit other than seconds, which cannot be "
                "converted at synth; pass Duration.seconds(<the value in seconds>)"
            )
        if not isinstance(fraction, int | float) or not math.isfinite(fraction):  # JSON carries Infinity as null
            return DEFAULT_AGGREGATION_PERIOD, (
                "aggregation_period is not a finite number of seconds; allowed: Duration.seconds(30) or "
                "Duration.seconds(60)"
            )
        return DEFAULT_AGGREGATION_PERIOD, (
            f"aggregation_period {fraction:g} seconds is not a whole number of seconds; "
            "allowed: Duration.seconds(30) or Duration.seconds(60)"
        )
    if isinstance(seconds, float) and seconds.is_integer() and not is_unresolved(seconds):
        return int(seconds), None
    return seconds, None


def _subnet_id_of(source_arn: str | None) -> str | None:
    """The subnet id a literal subnet ARN names (the ARN itself when it names none)."""
    if isinstance(source_arn, str) and SUBNET_ARN_PATTERN.fullmatch(source_arn):
        return source_arn.rsplit("/", 1)[-1]
    return source_arn


def _sources(sources: object) -> tuple[list[ec2.ISubnet | str], list[str]]:
    """The subnets of `vpc.select_subnets(...)`, or a list of subnets and subnet ARN strings; or
    the problems, for the synth report."""
    if is_ec2(sources, "SelectedSubnets"):
        return list(sources.subnets), []  # type: ignore[attr-defined]
    if isinstance(sources, str) or not is_list_like(sources):
        shown = f"sources {sources!r}" if isinstance(sources, str) else "sources"
        return [], [
            f"{shown} is {kind(sources)}, not a list; pass vpc.select_subnets(...), a list of ec2.ISubnet, "
            "or a list of subnet ARNs"
        ]
    if is_list_token(sources):
        return [], [list_token_problem("sources", "vpc.select_subnets(...), a list of ec2.ISubnet, or of subnet ARNs")]
    items = list(sources)
    problems = [
        f"sources[{index}] is {kind(item)}; pass an ec2.ISubnet or a subnet ARN"
        for index, item in enumerate(items)
        if not isinstance(item, str) and not implements(item, ec2_type("ISubnet"))
    ]
    return ([] if problems else items), problems


def _protocol_problems(protocol: object) -> list[str]:
    problem = protocol_problem("protocol", protocol)
    return [problem] if problem else []


def _destinations(destinations: object) -> tuple[list[str], list[str]]:
    if isinstance(destinations, str) or not is_list_like(destinations):
        shown = f"destinations {destinations!r}" if isinstance(destinations, str) else "destinations"
        return [], [f"{shown} is {kind(destinations)}, not a list; pass a list such as ['10.0.0.1']"]
    if is_list_token(destinations):
        return [], [list_token_problem("destinations", "a list such as ['10.0.0.1'], or Fn.select(i, the_list) items")]
    return list(destinations), []


def _destination_chunks(destinations: Sequence[str], per_subnet: int) -> list[list[str]]:
    """Destinations by address family (deploy-time values apart), each family in as few, even
    groups of at most `per_subnet` (the per-subnet quota) as can be."""
    families: dict[str | None, list[str]] = {}
    for destination in destinations:
        family = None if is_unresolved(destination) else address_family(destination)
        families.setdefault(family, []).append(destination)
    chunks = []
    for members in families.values():
        count = math.ceil(len(members) / per_subnet)
        size = math.ceil(len(members) / count)
        chunks += [members[i : i + size] for i in range(0, len(members), size)]
    return chunks


def _made_by_add_probes(probe: MonitorProbe) -> str:
    """How messages name a probe that add_probes made: by what it probes, not by a list index."""
    source = _literal_source(probe) or "a deploy-time source"
    destination = (
        probe.destination if isinstance(probe.destination, str) and not is_unresolved(probe.destination) else None
    )
    return f"add_probes({destination or 'a deploy-time destination'} from {source})"


def _environment_of(stack: Stack) -> Environment:
    account, region = stack.account, stack.region
    return Environment(None if is_unresolved(account) else account, None if is_unresolved(region) else region)


_MONITORS: weakref.WeakKeyDictionary[Any, list[NetworkMonitor]] = weakref.WeakKeyDictionary()
_SUBNET_LABELS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
"""How messages and keys name each subnet: its id, or its construct path while the id is a token."""
"""The app's monitors, by the app's root construct, for the name checks that span stacks."""


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _described(probe: object) -> str:
    """A probe as messages name it: by its destination, else by its type."""
    if isinstance(probe, MonitorProbe) and isinstance(probe.destination, str) and not is_unresolved(probe.destination):
        return f"to {probe.destination}"
    return kind(probe)


def _protocol_name(probe: MonitorProbe) -> str:
    """TCP or ICMP; a protocol of the wrong type (in the synth report) as a word that cannot be a token."""
    if isinstance(probe.protocol, ProbeProtocol):
        return probe.protocol.value
    return re.sub(r"[^A-Za-z0-9]+", "-", str(probe.protocol)).strip("-")[:8] or "unknown"


def _endpoint(probe: MonitorProbe) -> str:
    port = whole_number(probe.destination_port) if probe.protocol is ProbeProtocol.TCP else None
    return endpoint(_text(probe.destination, "a deploy-time destination"), None if port is None else _text(port, "?"))


def _text(value: object, instead: str) -> str:
    """A value as labels write it: a string as it is (a token reads as its reference), anything
    else, and a deploy-time list that no string can hold, as `instead` (they are in the report)."""
    if isinstance(value, str):
        return instead if is_list_element(value) else value
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else instead
