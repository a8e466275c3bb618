"""What a `NetworkMonitor` hands the engine that renders it, and what it gets back.

The construct owns everything a user declares and everything derived from it (validation, sources,
fan-out, keys, metrics, alarms, grants); an engine only turns the declared monitor into
CloudFormation resources. Two engines implement `Engine`: the custom resource of this library's
handler (`custom_resource.py`) and CloudFormation's own `AWS::NetworkMonitor::Monitor` and
`AWS::NetworkMonitor::Probe` (`native.py`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from aws_cdk import RemovalPolicy, TagManager

    from cdk_netmon.probe import MonitorProbe
    from cdk_netmon.provider import NetworkMonitorProvider
    from cdk_netmon.validation import ResolvedProbe


class MonitorEngine(enum.Enum):
    """How a `NetworkMonitor` is deployed."""

    CUSTOM_RESOURCE = "CUSTOM_RESOURCE"
    """A `Custom::NetworkMonitor` resource served by this library's Lambda handler (one provider per
    stack): probes can be paused, the handler repairs drift on every deploy, refuses monitors it
    does not own, and removes the security groups the service leaves in the probes' VPCs."""

    NATIVE = "NATIVE"
    """CloudFormation's own `AWS::NetworkMonitor::Monitor` and one `AWS::NetworkMonitor::Probe` per
    probe (aws-cdk-lib 2.276's `CfnMonitor` and `CfnProbe`): no Lambda, role or asset in the stack.
    A probe cannot be paused (the type has no State property); drift is CloudFormation's to detect;
    the service's security groups stay in the VPCs after the probes are deleted."""


@dataclass(frozen=True)
class Declaration:
    """The monitor as the construct declares it, for its engine."""

    monitor_name: str
    """The declared name: the user's, or generated and stable across synths."""
    aggregation_period: Any
    """Whole seconds, or a deploy-time token."""
    tags: Mapping[str, str]
    """The monitor's own tags, the first of its tag manager's (`Engine.tag_manager`)."""
    removal_policy: RemovalPolicy
    provider: NetworkMonitorProvider
    """The stack's settings (quotas, environment, names) that every monitor of the stack shares."""
    valid_probes: Callable[[], Sequence[tuple[str, ResolvedProbe]]]
    """Each probe under its key, resolved at synth once every probe and tag is declared (those with
    fields of the wrong type are left out: the synth report names them)."""
    inherited_tags: Callable[[], Mapping[str, str]]
    """The tags `Tags.of(...)` gave the monitor (not its own `tags`), which its probes carry too."""


class KeyedProbe(NamedTuple):
    """A probe of the monitor with its key and the words messages name it by."""

    key: str
    where: str
    probe: MonitorProbe


class Engine(Protocol):
    """One monitor's CloudFormation resources."""

    @property
    def monitor_name(self) -> str:
        """The monitor's name as a deploy-time reference, so that users depend on the monitor."""
        ...

    @property
    def monitor_arn(self) -> str: ...

    def probe_added(self, probe: MonitorProbe, key: str, source_arn: Callable[[], str | None]) -> None:
        """A well-typed probe joined the monitor, with its key (final: later probes never change it)
        and a way to its source's ARN (resolved once per subnet and stack, on demand)."""
        ...

    def probe_id(self, key: str) -> str:
        """The id the service gives the probe of `key`, as a deploy-time token."""
        ...

    def tag_manager(self) -> TagManager:
        """The monitor's tag manager (its own tags, and those `Tags.of(...)` adds), in the format of
        the engine's resource, which renders them in Node.js; made with the engine."""
        ...

    def rendered_tags(self) -> dict[str, str]:
        """The tags the monitor carries, as the manager renders them now: a jsii call, unless the
        engine knows them without one."""
        ...

    def apply_removal_policy(self, policy: RemovalPolicy) -> None: ...

    def problems(self, probes: Sequence[KeyedProbe]) -> list[str]:
        """What this engine cannot deploy of an otherwise valid monitor, for the synth report."""
        ...

    def room_for(self, probes: Sequence[KeyedProbe]) -> bool:
        """Whether these probes fit one monitor of this engine beyond the service's quotas (fan_out asks)."""
        ...


def probe_tags(inherited: Mapping[str, str], own: Mapping[str, str] | None) -> dict[str, str]:
    """A probe's tags: those `Tags.of(...)` gave its monitor, then its own `probe_tags`."""
    return {**inherited, **(own or {})}
