"""The NetworkMonitor L2 construct: a CloudWatch Network Monitor with its probes.

What users declare and call lives here (props, probes, alarms, dashboards); the rules are in
`validation.py` over the handler's `rules`, the sources and keys in `sources.py`, the identity,
metrics and grants every monitor shares in `monitor_base.py`, and the CloudFormation resources in
the monitor's engine (`engines/`).
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

import jsii
from aws_cdk import Annotations, Arn, ArnFormat, Duration, ITaggableV2, RemovalPolicy, Stack, TagManager
from constructs import Construct, IValidation

from ._jsii import ec2_type, implements, is_list_element, is_list_token, is_unresolved
from .engines.engine import Declaration, Engine, KeyedProbe, MonitorEngine, probe_tags
from .engines.native import NativeEngine
from .handler.rules import AGGREGATION_PERIODS, MONITOR_ARN_PATTERN, check_monitor_name
from .handler.spec import DEFAULT_AGGREGATION_PERIOD, next_key
from .monitor_base import ImportedNetworkMonitor, INetworkMonitor, NetworkMonitorBase
from .probe import MonitorProbe, Number, ProbeFields, ProbeOptions, ProbeProtocol, unexpected_keywords
from .provider import NetworkMonitorProvider
from .sources import (
    count,
    described,
    destination_chunks,
    destinations_of,
    endpoint_label,
    fanned_out,
    key_base,
    keys_of,
    literal_source,
    made_by_add_probes,
    protocol_name,
    protocol_problems,
    sources_of,
    text,
)
from .validation import (
    REMOVAL_POLICIES,
    Environment,
    ResolvedProbe,
    is_list_like,
    kind,
    monitor_problems,
    monitor_type_problems,
    probe_type_problems,
    removal_policy_problem,
    tag_type_problems,
)

if TYPE_CHECKING:
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_ec2 as ec2
    from typing_extensions import Required, Unpack

    from . import metrics
    from .sources import Sources


NO_AGGREGATE_WARNING = "cdk_netmon:noAggregateAlarms"
"""The warning of an `add_aggregate_alarms` with no enabled probe to aggregate."""


class MonitorOptions(TypedDict, total=False):
    """What every monitor of a `NetworkMonitor.fan_out` shares: the constructor's keywords of these
    names, with their defaults (a test holds the two to each other)."""

    aggregation_period: Duration | None
    tags: Mapping[str, str] | None
    removal_policy: RemovalPolicy | None
    engine: MonitorEngine | None


class FanOutOptions(TypedDict, total=False):
    """`fan_out`'s keywords besides its sources and destinations: `MonitorOptions` for each monitor
    and `ProbeOptions` for each probe. (Their fields restated: a TypedDict keeps no bases for the
    docs to follow; a test holds this to the two.)"""

    aggregation_period: Duration | None
    tags: Mapping[str, str] | None
    removal_policy: RemovalPolicy | None
    engine: MonitorEngine | None
    protocol: Required[ProbeProtocol]
    destination_port: Number | None
    packet_size: Number | None
    probe_tags: Mapping[str, str] | None
    enabled: bool | None


@jsii.implements(ITaggableV2)
class NetworkMonitor(NetworkMonitorBase):
    """A CloudWatch Network Monitor and its probes.

    Deployed by this library's Lambda-backed custom resource (the default engine), which can pause
    probes and keeps them converged on every update, or, with ``engine=MonitorEngine.NATIVE``, as
    CloudFormation's own `AWS::NetworkMonitor::Monitor` and `AWS::NetworkMonitor::Probe`, with no
    Lambda in the stack. Every rule of the service that can be known at synth is checked then, and
    all problems of a monitor are reported together, whichever the engine.

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
        engine: MonitorEngine | None = None,
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
        :param engine: how the monitor is deployed: ``MonitorEngine.CUSTOM_RESOURCE`` (this library's
            handler) or ``MonitorEngine.NATIVE`` (CloudFormation's own types; no paused probes).
            Changing it on a deployed monitor takes two deploys (docs/engines.md).
            Default: CUSTOM_RESOURCE.
        """
        super().__init__(scope, id)
        # Every jsii call crosses to Node and back, so what is known once is asked once.
        stack = scope if isinstance(scope, Stack) else Stack.of(self)
        provider = NetworkMonitorProvider.of(stack)
        node = self.node
        self._stack = stack
        self._provider = provider
        self._environment = provider.environment
        self._tags_rendered: Mapping[str, str] | None = None
        self._inherited: tuple[object, Mapping[str, str]] = (None, {})
        """The monitor's rendered tags and the part of them its probes inherit, for one rendering."""
        self._later_problems: list[str] = []
        """Problems of calls made after construction (add_probes, add_probe_alarms), for the report."""
        self._alarm_sets: dict[str, list[tuple[metrics.ProbeMetrics, str, cloudwatch.Alarm]]] = {}
        """The sets of alarms made so far, by their id prefix: each alarm with its probe and kind."""
        # Wrong types are reported with the rest at synth; meanwhile the construct is built from the
        # well-typed props only, so that nothing fails before the report can name every problem.
        self._type_problems = monitor_type_problems(
            monitor_name=monitor_name,
            aggregation_period=aggregation_period,
            tags=tags,
            removal_policy=removal_policy,
            probes=probes,
            engine=engine,
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
            monitor_name  # type: ignore[assignment]
            if self._name_is_explicit
            else provider.names.generate(path, native=engine is MonitorEngine.NATIVE)
        )
        if not is_unresolved(self._declared_name):
            _NAMED.setdefault(provider.root, {}).setdefault((self._declared_name, self._environment), []).append(self)
        initial_tags = dict(tags) if isinstance(tags, Mapping) and not tag_type_problems("tags", tags) else {}
        self._own_tags = initial_tags
        native = engine is MonitorEngine.NATIVE
        self._engine_kind = MonitorEngine.NATIVE if native else MonitorEngine.CUSTOM_RESOURCE
        self._origins: dict[int, str] = {}
        """Which add_probes call made a probe, for quota messages that state the product."""
        self._keys: dict[int, str] = {}
        self._taken_keys: set[str] = set()
        """Each probe's key, by `id`, given as it joins (see `sources.key_base`), and the keys given."""

        declared = Declaration(
            monitor_name=self._declared_name,
            aggregation_period=self._period_seconds,
            tags=initial_tags,
            removal_policy=removal_policy if removal_policy in REMOVAL_POLICIES else RemovalPolicy.DESTROY,
            provider=provider,
            valid_probes=self._valid_probes,
            inherited_tags=self._inherited_tags,
        )
        if native:
            self._engine: Engine = NativeEngine(self, declared)
        else:  # imported here: its aws-cdk-lib modules (Lambda, IAM, Step Functions) are slow to import
            from .engines.custom_resource import CustomResourceEngine

            self._engine = CustomResourceEngine(self, declared)
        node.add_validation(_Validation(self))
        for probe in self._probes:
            self._joined(probe)

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
        self._engine.apply_removal_policy(policy)

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
        return ImportedNetworkMonitor(scope, id, monitor_name=monitor_name, monitor_arn=arn)

    @classmethod
    def from_monitor_arn(cls, scope: Construct, id: str, monitor_arn: str) -> INetworkMonitor:
        """Refer to a monitor by its ARN, possibly in another account or region (for its metrics)."""
        if not is_unresolved(monitor_arn) and not MONITOR_ARN_PATTERN.fullmatch(monitor_arn):
            raise ValueError(
                f"{scope.node.path}/{id}: monitor_arn {monitor_arn!r} is not a monitor's ARN; "
                "allowed: arn:<partition>:networkmonitor:<region>:<account>:monitor/<name>"
            )
        name = Arn.split(monitor_arn, ArnFormat.SLASH_RESOURCE_NAME).resource_name
        return ImportedNetworkMonitor(scope, id, monitor_name=str(name), monitor_arn=monitor_arn)

    @classmethod
    def fan_out(
        cls,
        scope: Construct,
        id: str,
        *,
        sources: Sources,
        destinations: Sequence[str],
        **options: Unpack[FanOutOptions],
    ) -> list[NetworkMonitor]:
        """Every source × every destination, spread over as few monitors as the quotas allow.

        One monitor holds at most 24 probes, 4 from any subnet, and one address family. So the
        destinations are split by family and into as few, even groups of at most 4 as can be, and
        the subnets into groups that fill a monitor: 8 subnets × 6 destinations make 2 monitors of
        8 subnets × 3 destinations. The monitors are `Monitor1`, `Monitor2`, ... in a construct
        `id`; a change in the number of sources or destinations can move probes between them.

        The other keywords are `MonitorOptions` for every monitor (``engine``, ``tags``, ...) and
        `ProbeOptions` for every probe (``protocol``, ``destination_port``, ...).
        """
        unexpected_keywords("fan_out()", options, FanOutOptions)
        each: dict[str, Any] = {k: v for k, v in options.items() if k in MonitorOptions.__annotations__}
        probe: dict[str, Any] = {k: v for k, v in options.items() if k not in each}
        group = Construct(scope, id)
        subnets, source_problems = sources_of(sources)
        targets, destination_problems = destinations_of(destinations)
        found = source_problems + destination_problems + protocol_problems(probe.get("protocol"))
        if found:
            group.node.add_validation(_Reported([f"fan_out: {p}" for p in found]))
            return []
        quotas = NetworkMonitorProvider.of(Stack.of(group)).quotas
        monitors: list[NetworkMonitor] = []
        for chunk in destination_chunks(targets, quotas.probes_per_subnet):
            per_monitor = max(1, quotas.probes_per_monitor // len(chunk))
            start = 0
            while start < len(subnets):
                monitor = cls(group, f"Monitor{len(monitors) + 1}", **each)
                # As many subnets as the quotas allow, and as the response to CloudFormation has room for.
                take = monitor._subnets_that_fit(subnets[start : start + per_monitor], chunk, **probe)
                monitor.add_probes(sources=subnets[start : start + take], destinations=chunk, **probe)
                monitors.append(monitor)
                start += take
        return monitors

    @property
    def monitor_name(self) -> str:
        """The monitor's name, resolved at deploy (a reference, so users depend on the monitor)."""
        return self._engine.monitor_name

    @property
    def monitor_arn(self) -> str:
        """The monitor's ARN, resolved at deploy."""
        return self._engine.monitor_arn

    @property
    def engine(self) -> MonitorEngine:
        """How the monitor is deployed."""
        return self._engine_kind

    @property
    def cdk_tag_manager(self) -> TagManager:
        return self._engine.tag_manager()

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
        self._joined(probe)
        return probe

    def add_probes(
        self, *, sources: Sources, destinations: Sequence[str], **probe: Unpack[ProbeOptions]
    ) -> list[MonitorProbe]:
        """A probe from every source to every destination, as the console makes them. The quotas
        are checked against the product (24 probes per monitor, 4 per subnet); `fan_out` spreads
        a larger product over several monitors."""
        unexpected_keywords("add_probes()", probe, ProbeOptions)
        subnets, source_problems = sources_of(sources)
        targets, destination_problems = destinations_of(destinations)
        found = source_problems + destination_problems + protocol_problems(probe.get("protocol"))
        if found:  # said once for the call, not once per probe it would make
            self._later_problems += [f"add_probes: {p}" for p in found]
            return []
        probes = [fanned_out(subnet, destination, probe) for subnet in subnets for destination in targets]
        origin = (
            f"add_probes: {count(len(subnets), 'subnet')} × {count(len(targets), 'destination')}"
            f" = {count(len(probes), 'probe')}"
        )
        for made in probes:
            self._origins[id(made)] = origin
            self._probes.append(made)
            self._joined(made)
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
        no such set; None, with a warning, when no probe of the set is enabled (every one paused).

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
            subnet = literal_source(probe) or f"deploy-time source of {probe_metrics.key}"
            members.append((alarm, str(destination), subnet))
        if not members:  # every probe paused (or in the report): CloudWatch has no empty composite alarm
            Annotations.of(self).add_warning_v2(
                NO_AGGREGATE_WARNING,
                f"add_aggregate_alarms(id={id!r}): no enabled probe has a packet-loss alarm, so no composite alarm "
                "is made; call it again once a probe is enabled",
            )
            return None
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
            self._report([f"{where}: probe {described(probe)} is not one of this monitor's probes; pass one of them"])
            return None
        probe_id = self.probe_id(probe)
        if implements(probe.source, ec2_type("ISubnet")):
            source = probe.source.subnet_id  # type: ignore[union-attr]  # a token reads as the subnet's Ref
        else:
            source = text(probe.source_arn, "a deploy-time source").rsplit("/", 1)[-1]
        return probe_id, f"{protocol_name(probe)} {source} -> {endpoint_label(probe)}"

    def _real_probes(self) -> list[MonitorProbe]:
        """The probes that are MonitorProbes (the rest is in the synth report)."""
        return [p for p in self._probes if isinstance(p, MonitorProbe)]

    def _default_period(self) -> Duration:
        """The aggregation period, where it is one a metric can take (a wrong one is in the report, a
        deploy-time one is unknown: a minute, the service's default)."""
        seconds = self._period_seconds
        known = isinstance(seconds, int) and seconds in AGGREGATION_PERIODS
        return Duration.seconds(seconds if known else DEFAULT_AGGREGATION_PERIOD)

    def _report(self, problems: list[str]) -> None:
        self._later_problems += problems

    def probe_id(self, probe: MonitorProbe) -> str:
        """The id the service gave `probe` (one of this monitor's probes), resolved at deploy;
        for metrics, pass the probe itself to `metric_rtt` and the others."""
        for candidate in self._probes:
            if candidate is probe:
                return self._engine.probe_id(self._keys[id(probe)])
        raise ValueError(f"{self.node.path}: the probe to {probe.destination} is not one of this monitor's probes")

    def _joined(self, probe: object) -> None:
        """A probe joined: its key, final from now on, and its engine told."""
        key = self._keys[id(probe)] = next_key(key_base(probe), self._taken_keys)
        if not isinstance(probe, MonitorProbe) or probe_type_problems("", probe):
            return  # in the synth report, never in a template
        sources = self._provider.sources
        self._engine.probe_added(probe, key, lambda: sources.resolve(probe, {}, None, "", frozenset()).source_arn)

    def _monitor_tags(self) -> Mapping[str, str]:
        """The monitor's tags as rendered for this synth, rendered once (each rendering is a jsii call)."""
        if self._tags_rendered is None:
            self._tags_rendered = self._rendered_tags()
        return self._tags_rendered

    def _inherited_tags(self) -> Mapping[str, str]:
        """The tags `Tags.of(...)` gave the monitor, not its own `tags` (which its probes do not carry);
        computed once per rendering, however many probes ask."""
        return self._inherited_of(self._monitor_tags())

    def _inherited_of(self, rendered: Mapping[str, str]) -> Mapping[str, str]:
        if self._inherited[0] is not rendered:
            self._inherited = (rendered, {k: v for k, v in rendered.items() if self._own_tags.get(k) != v})
        return self._inherited[1]

    def _where(self, index: int, probe: object) -> str:
        """How messages name a probe: `probes[i]`, or by what it probes where add_probes made it."""
        return made_by_add_probes(probe) if id(probe) in self._origins else f"probes[{index}]"  # type: ignore[arg-type]

    def _resolved_probes(self, monitor_tags: Mapping[str, str]) -> tuple[list[str], list[ResolvedProbe]]:
        """Type problems of the probes, and every MonitorProbe with its source resolved, its tags
        (those `Tags.of(...)` gave the monitor, not its own `tags`, then its own) and the fields of
        the wrong type, whose rules are then not checked (the others still are)."""
        inherited = self._inherited_of(monitor_tags)
        problems: list[str] = []
        resolved: list[ResolvedProbe] = []
        for index, probe in enumerate(self._probes):
            origin = self._origins.get(id(probe))
            where = self._where(index, probe)
            found = probe_type_problems(where, probe)
            problems += found.values()
            if "probe" in found:
                continue
            tags = probe_tags(inherited, probe.probe_tags if "probe_tags" not in found else None)
            resolved.append(self._provider.sources.resolve(probe, tags, origin, where, frozenset(found)))
        return problems, resolved

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
            + self._engine.problems(
                [
                    KeyedProbe(self._keys[id(p)], self._where(i, p), p)
                    for i, p in enumerate(self._probes)
                    if isinstance(p, MonitorProbe)
                ]
            )
        )
        return list(dict.fromkeys(found))  # the same problem once, however many probes share it

    def _name_taken(self) -> list[str]:
        """Another monitor of the app with this name in the same account and region (stacks of an
        unknown environment deploy to the CLI's, so they count as one)."""
        if is_unresolved(self._declared_name):
            return []
        alike = _NAMED.get(self._provider.root, {}).get((self._declared_name, self._environment), [])
        others = [m for m in alike if m is not self]
        if not others:
            return []
        where = ", ".join(m.node.path for m in others)
        return [
            f"monitor_name {self._declared_name!r} is also the name of {where} in the same account and region; "
            "allowed: a name used once per account and region"
        ]

    def _rendered_tags(self) -> dict[str, str]:
        """The tags the monitor will carry: its own and those `Tags.of(...)` added."""
        return self._engine.rendered_tags()

    def _valid_probes(self) -> list[tuple[str, ResolvedProbe]]:
        """Each probe with no field of the wrong type, under its key, its source resolved and its
        tags rendered; the monitor's tags rendered for them are kept for the validation that
        follows in the same synth."""
        self._tags_rendered = rendered = self._rendered_tags()
        _, probes = self._resolved_probes(rendered)
        return [(self._keys[id(resolved.probe)], resolved) for resolved in probes if not resolved.bad_fields]

    def _probe_keys(self) -> dict[int, str]:
        """Each probe's key, by `id`."""
        return self._keys

    def _keyed(self, probes: Sequence[object]) -> list[KeyedProbe]:
        """The MonitorProbes among `probes`, with the keys they would have in this monitor."""
        return [
            KeyedProbe(key, self._where(i, p), p)
            for i, (p, key) in enumerate(zip(probes, keys_of(probes), strict=True))
            if isinstance(p, MonitorProbe)
        ]

    def _subnets_that_fit(self, subnets: Sequence[ec2.ISubnet | str], destinations: Sequence[str], **probe: Any) -> int:
        """How many of `subnets` (at least one) fan_out can give this monitor, each with every destination,
        while the engine has room for them (a custom resource's response to CloudFormation is bounded)."""
        take = len(subnets)
        while take > 1:
            made = [fanned_out(subnet, target, probe) for subnet in subnets[:take] for target in destinations]
            if self._engine.room_for(self._keyed([*self._probes, *made])):
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


@jsii.implements(IValidation)
class _Validation:
    """The monitor's report at synth, once every add_probe and Tags aspect has had its say: every
    problem at once."""

    def __init__(self, monitor: NetworkMonitor) -> None:
        self._monitor = monitor

    def validate(self) -> list[str]:
        return self._monitor._problems()


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


_NAMED: weakref.WeakKeyDictionary[Any, dict[tuple[str, Environment], list[NetworkMonitor]]] = (
    weakref.WeakKeyDictionary()
)
"""The app's monitors by their root construct, then by name and environment, for the name check
that spans stacks: each monitor looks up its own, rather than comparing itself with every other."""
