"""The native engine: CloudFormation's own `AWS::NetworkMonitor::Monitor` and one
`AWS::NetworkMonitor::Probe` per probe, with no Lambda, role or asset in the stack.

The types as aws-cdk-lib 2.276.0's generated `aws-networkmonitor` module defines them (vendored in
tests/fixtures, which a test holds these templates to): a probe's `MonitorName` is a plain string,
so each probe depends on its monitor explicitly; `Ref` of a monitor is its ARN, of a probe
`MonitorName|ProbeId`. Both are rendered as `CfnResource`, whatever aws-cdk-lib is installed
(2.275 has no `CfnProbe`), so that the template is the same with either, and the tags have one
source: the monitor's tag manager, as for the custom-resource engine (`Tags.of(...)` reaches the
probes, a probe's own `probe_tags` win over them).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import (
    Annotations,
    CfnResource,
    Fn,
    IStableAnyProducer,
    Lazy,
    RemovalPolicy,
    TagManager,
    TagType,
    Token,
    Validations,
)
from aws_cdk import aws_networkmonitor as networkmonitor
from constructs import Construct

from cdk_netmon._jsii import whole_number
from cdk_netmon.probe import ProbeProtocol

from .engine import KeyedProbe, probe_tags

if TYPE_CHECKING:
    from cdk_netmon.probe import MonitorProbe

    from .engine import Declaration

MONITOR_TYPE = "AWS::NetworkMonitor::Monitor"
PROBE_TYPE = "AWS::NetworkMonitor::Probe"
SAME_APP_VPC_WARNING = "cdk_netmon:nativeSecurityGroupOutlivesProbes"
"""The id that acknowledges the warning for a probe from a subnet the app defines (its VPC's stack
cannot be destroyed while the service's security group is left in it)."""
_CONSTRUCT_ID = re.compile(r"[A-Za-z0-9_-]+")
_CDK_KNOWS_PROBES = hasattr(networkmonitor, "CfnProbe")
"""aws-cdk-lib 2.276 and later: its synth-time validation knows the Probe type (2.275 warns, F3006)."""
UNKNOWN_TYPE_FINDING = "CloudFormation-Validate::F3006"
_UNKNOWN_TYPE_ACK = {
    UNKNOWN_TYPE_FINDING: "AWS::NetworkMonitor::Probe is CloudFormation's since November 2026 (aws-cdk-lib 2.276's "
    "CfnProbe); the installed aws-cdk-lib predates it."
}


class NativeEngine:
    """One monitor as CloudFormation's Monitor and Probe resources."""

    def __init__(self, scope: Construct, declared: Declaration) -> None:
        self._scope = scope
        self._declared = declared
        self._removal_policy = declared.removal_policy
        self._warned = False
        # KEY_VALUE is CloudFormation's list of Key and Value; the manager renders it in Node.js.
        self._tags = TagManager(TagType.KEY_VALUE, MONITOR_TYPE, declared.tags)
        self._rendered = self._tags.rendered_tags
        self._tags_handed_out = False
        """Whether anyone but this engine holds the tag manager (`Tags.of` asks for it at synth): until
        then it holds the monitor's own tags alone, so a monitor without any has none to read back."""
        # "Default", not the custom resource's "Resource": another logical id, since CloudFormation
        # refuses to change a resource's type, and still the construct's `node.default_child`.
        self._monitor = CfnResource(
            scope,
            "Default",
            type=MONITOR_TYPE,
            properties={
                "MonitorName": declared.monitor_name,
                "AggregationPeriod": declared.aggregation_period,
                # A property, not an override: an escape hatch's override of Tags wins, as on any L1.
                "Tags": self._rendered,
            },
        )
        self._apply(self._monitor)
        declared.provider._declare_quotas()
        self._probe_scope: Construct | None = None
        self._probes: dict[str, CfnResource] = {}
        self._inherited_tags: Any = None
        """The Tags of every probe without `probe_tags` of its own, when the monitor has tags of its own
        (which its probes do not carry): one Lazy for them all, rendered once."""
        self._monitor_name: str | None = None
        self._monitor_arn: str | None = None

    @property
    def monitor_name(self) -> str:
        if self._monitor_name is None:  # the name from the ARN, a reference that carries the dependency
            self._monitor_name = Fn.select(1, Fn.split("/", self._monitor.ref))
        return self._monitor_name

    @property
    def monitor_arn(self) -> str:
        if self._monitor_arn is None:
            self._monitor_arn = Token.as_string(self._monitor.get_att("MonitorArn"))
        return self._monitor_arn

    def probe_added(self, probe: MonitorProbe, key: str, source_arn: Callable[[], str | None]) -> None:
        if not _CONSTRUCT_ID.fullmatch(key):
            return  # a name the rules refuse: the synth report says so, and no resource is made
        properties: dict[str, Any] = {
            "MonitorName": self._declared.monitor_name,
            "SourceArn": source_arn(),
            "Destination": probe.destination,
            "Protocol": probe.protocol.value,
        }
        if probe.protocol is ProbeProtocol.TCP and probe.destination_port is not None:
            properties["DestinationPort"] = whole_number(probe.destination_port)
        if probe.packet_size is not None:
            properties["PacketSize"] = whole_number(probe.packet_size)
        properties["Tags"] = self._tags_of(probe.probe_tags)
        resource = CfnResource(self._probes_scope(), key, type=PROBE_TYPE, properties=properties)
        self._apply(resource)
        self._probes[key] = resource
        home = None if self._warned else self._declared.provider.sources.defined_in(probe.source)
        if home is not None:
            self._warned = True
            Annotations.of(self._scope).add_warning_v2(
                SAME_APP_VPC_WARNING,
                f"This native monitor probes from a subnet that stack {home} defines. When native probes are "
                "deleted, the service's security group stays in their VPC, and the VPC cannot be deleted while it "
                "is there: a `cdk destroy` of that stack fails until the group is deleted by hand (docs/engines.md "
                "shows how). engine=MonitorEngine.CUSTOM_RESOURCE deletes the group itself. Acknowledge: "
                f'Annotations.of(monitor).acknowledge_warning("{SAME_APP_VPC_WARNING}")',
            )

    def tag_manager(self) -> TagManager:
        self._tags_handed_out = True
        return self._tags

    def rendered_tags(self) -> dict[str, str]:
        if not self._tags_handed_out and not self._declared.tags:
            return {}  # nobody else can have added one
        return {tag["Key"]: tag["Value"] for tag in self._tags.render_tags() or []}

    def _probes_scope(self) -> Construct:
        """The probes' parent, `Probes`, made with the first probe. It depends on the monitor, so
        that each probe does (CloudFormation's DependsOn: a probe's MonitorName is a plain string)
        with one jsii call per monitor rather than one per probe."""
        if self._probe_scope is None:
            self._probe_scope = probes = Construct(self._scope, "Probes")
            node = probes.node  # each `.node` is a jsii call
            node.add_dependency(self._monitor)
            if not _CDK_KNOWS_PROBES:
                # What `Validations.of(probes).acknowledge(...)` records (aws-cdk-lib 2.275's
                # core/lib/validation/validations.js, read back by private/collect-acknowledged-rule-ids.js),
                # without the two stack traces it captures: those made it the costliest call of a
                # native monitor. A test holds the finding suppressed here and nowhere else.
                node.add_metadata(_acknowledged_rules_key(), _UNKNOWN_TYPE_ACK, stack_trace=False)
        return self._probe_scope

    def _tags_of(self, own: Mapping[str, str] | None) -> Any:
        """A probe's Tags, rendered at synth (once every `Tags.of` aspect has run). A monitor without
        tags of its own has only inherited ones, so its probes share its rendering, in Node.js. Else
        a Lazy, a jsii round trip to make and a callback to render: the probes that only inherit
        share one."""
        inherited = self._declared.inherited_tags
        if own:
            return _lazy_tags(lambda: probe_tags(inherited(), own))
        if not self._declared.tags:
            return self._rendered
        if self._inherited_tags is None:
            self._inherited_tags = _lazy_tags(inherited)
        return self._inherited_tags

    def probe_id(self, key: str) -> str:
        resource = self._probes.get(key)
        if resource is None:  # a probe the rules refuse (the synth report names it)
            return f"probe-of-{key}"
        return Token.as_string(resource.get_att("ProbeId"))

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        self._removal_policy = policy
        for resource in (self._monitor, *self._probes.values()):
            resource.apply_removal_policy(policy)

    def problems(self, probes: Sequence[KeyedProbe]) -> list[str]:
        """A paused probe: CloudFormation's Probe type has no State property."""
        return [
            f"{entry.where}.enabled False: a native monitor cannot pause a probe (AWS::NetworkMonitor::Probe has no "
            "State); allowed: True or None, or engine=MonitorEngine.CUSTOM_RESOURCE, whose probes can be paused"
            for entry in probes
            if entry.probe.enabled is False
        ]

    def room_for(self, probes: Sequence[KeyedProbe]) -> bool:
        return True  # the service's quotas alone

    def _apply(self, resource: CfnResource) -> None:
        if self._removal_policy is not RemovalPolicy.DESTROY:  # DESTROY is CloudFormation's default: Delete
            resource.apply_removal_policy(self._removal_policy)


@functools.cache
def _acknowledged_rules_key() -> str:
    """`Validations.ACKNOWLEDGED_RULES_METADATA_KEY`, asked of aws-cdk-lib once (a jsii call each time)."""
    return str(Validations.ACKNOWLEDGED_RULES_METADATA_KEY)


@jsii.implements(IStableAnyProducer)
class _Tags:
    """Tags as CloudFormation's native types take them: a list of Key and Value."""

    def __init__(self, tags: Callable[[], Mapping[str, str]]) -> None:
        self._tags = tags

    def produce(self) -> Any:
        tags = self._tags()
        return [{"Key": key, "Value": value} for key, value in tags.items()]


def _lazy_tags(tags: Callable[[], Mapping[str, str]]) -> Any:
    """The tags, rendered at synth; no tags leave the property out. An empty list rather than None,
    since aws-cdk-lib keeps a Lazy's value unless it is null (lazy.ts), and every resolution of an
    uncached one is a callback into Python."""
    return Lazy.any(_Tags(tags), omit_empty_array=True)
