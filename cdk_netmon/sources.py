"""Where probes run from and what they probe: subnets, subnet ARNs and destinations, the fan-out
of sources × destinations into monitors, and how each probe is named (its key and label).

Subnets are resolved once per stack (`SourceResolver`), whatever the number of monitors sharing
them, since each question asked of a subnet crosses the jsii bridge.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aws_cdk import ArnFormat, Stack

from ._jsii import ec2_type, implements, is_ec2, is_list_element, is_list_token, is_unresolved, whole_number
from .handler.rules import SUBNET_ARN_PATTERN, address_family
from .handler.spec import endpoint, probe_key, unique_keys
from .probe import MonitorProbe, ProbeProtocol
from .validation import Environment, ResolvedProbe, is_list_like, kind, list_token_problem, protocol_problem

if TYPE_CHECKING:
    from aws_cdk import aws_ec2 as ec2

    Sources = ec2.SelectedSubnets | Sequence[ec2.ISubnet | str]
    """Where fanned-out probes run from: `vpc.select_subnets(...)`, subnets, or subnet ARN strings."""


class SourceResolver:
    """A stack's subnets as probe sources: per subnet its ARN, the words that name it, why it cannot
    be a source, and what the monitor-wide rules compare it by; shared by the stack's monitors (a
    fan-out's share subnets), each asked of jsii once."""

    def __init__(self, stack: Stack, environment: Environment) -> None:
        self._stack = stack
        self._environment = environment
        self._subnets: dict[int, tuple[ec2.ISubnet, str, str, str | None, str]] = {}
        self._homes: dict[int, tuple[object, str | None]] = {}

    def resolve(
        self, probe: MonitorProbe, tags: Mapping[str, str], origin: str | None, where: str, bad: frozenset[str]
    ) -> ResolvedProbe:
        """The probe with its source resolved to an ARN, for the rules and the template."""
        if probe.source is None or probe.source_arn is not None or "source" in bad:
            arn = probe.source_arn
            label = "a deploy-time source_arn" if is_unresolved(arn) else arn
            key = arn if is_unresolved(arn) else subnet_id_of(arn)
            return ResolvedProbe(probe, arn, label, tags, origin, where, bad, source_key=key)
        # One ARN string per subnet, so that probes from one subnet compare equal at synth.
        cached = self._subnets.get(id(probe.source))
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
            cached = self._subnets[id(subnet)] = (subnet, arn, label, self._foreign_subnet(home, label), key)
        problem = f"{where}.source {cached[3]}" if cached[3] else None
        return ResolvedProbe(probe, cached[1], cached[2], tags, origin, where, bad, problem, cached[4])

    def defined_in(self, source: object) -> str | None:
        """The path of the stack that defines `source`'s subnet (and so, with it, most often its VPC);
        None for an imported subnet (`Subnet.from_subnet_id`, a VPC from a lookup) or a subnet ARN."""
        if source is None or not implements(source, ec2_type("ISubnet")):
            return None
        known = self._homes.get(id(source))
        if known is None:  # the subnet is kept with the answer, so that its id is not reused
            subnet: Any = source
            home = Stack.of(subnet).node.path if subnet.node.default_child is not None else None
            known = self._homes[id(source)] = (source, home)
        return known[1]

    def _foreign_subnet(self, home: Stack, label: str) -> str | None:
        """Why a subnet of another stack cannot be a source: its stack's account or region differs
        from this one's (CDK would quietly read it across environments)."""
        if home is self._stack:
            return None
        ours, theirs = self._environment, environment_of(home)
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


def keys_of(probes: Sequence[object]) -> list[str]:
    """Each probe's key (see `key_base`), `-2`, `-3` added to a repeat in the order the probes were
    declared."""
    return unique_keys(key_base(probe) for probe in probes)


def key_base(probe: object) -> str:
    """A probe's key before repeats are told apart: its name, else generated from what is literal of
    its source, destination and protocol (`handler.spec.probe_key`). Never from a token's text:
    that changes between processes."""
    if not isinstance(probe, MonitorProbe):  # in the synth report, never in the template
        return "not-a-probe"
    name = probe.name
    if isinstance(name, str) and not is_unresolved(name):
        return name
    destination = probe.destination if isinstance(probe.destination, str) else None
    literal = None if is_unresolved(destination) else destination
    return probe_key(protocol_name(probe), literal, literal_source(probe))


def fanned_out(subnet: ec2.ISubnet | str, destination: str, options: Mapping[str, Any]) -> MonitorProbe:
    """One probe of add_probes: from a subnet or a subnet ARN."""
    return MonitorProbe(
        source=None if isinstance(subnet, str) else subnet,
        source_arn=subnet if isinstance(subnet, str) else None,
        destination=destination,
        **options,
    )


def literal_source(probe: MonitorProbe) -> str | None:
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


def subnet_id_of(source_arn: str | None) -> str | None:
    """The subnet id a literal subnet ARN names (the ARN itself when it names none)."""
    if isinstance(source_arn, str) and SUBNET_ARN_PATTERN.fullmatch(source_arn):
        return source_arn.rsplit("/", 1)[-1]
    return source_arn


def sources_of(sources: object) -> tuple[list[ec2.ISubnet | str], list[str]]:
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


def protocol_problems(protocol: object) -> list[str]:
    problem = protocol_problem("protocol", protocol)
    return [problem] if problem else []


def destinations_of(destinations: object) -> tuple[list[str], list[str]]:
    if isinstance(destinations, str) or not is_list_like(destinations):
        shown = f"destinations {destinations!r}" if isinstance(destinations, str) else "destinations"
        return [], [f"{shown} is {kind(destinations)}, not a list; pass a list such as ['10.0.0.1']"]
    if is_list_token(destinations):
        return [], [list_token_problem("destinations", "a list such as ['10.0.0.1'], or Fn.select(i, the_list) items")]
    return list(destinations), []


def destination_chunks(destinations: Sequence[str], per_subnet: int) -> list[list[str]]:
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


def made_by_add_probes(probe: MonitorProbe) -> str:
    """How messages name a probe that add_probes made: by what it probes, not by a list index."""
    source = literal_source(probe) or "a deploy-time source"
    destination = (
        probe.destination if isinstance(probe.destination, str) and not is_unresolved(probe.destination) else None
    )
    return f"add_probes({destination or 'a deploy-time destination'} from {source})"


def environment_of(stack: Stack) -> Environment:
    account, region = stack.account, stack.region
    return Environment(None if is_unresolved(account) else account, None if is_unresolved(region) else region)


_SUBNET_LABELS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
"""How messages and keys name each subnet: its id, or its construct path while the id is a token."""


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def described(probe: object) -> str:
    """A probe as messages name it: by its destination, else by its type."""
    if isinstance(probe, MonitorProbe) and isinstance(probe.destination, str) and not is_unresolved(probe.destination):
        return f"to {probe.destination}"
    return kind(probe)


def protocol_name(probe: MonitorProbe) -> str:
    """TCP or ICMP; a protocol of the wrong type (in the synth report) as a word that cannot be a token."""
    if isinstance(probe.protocol, ProbeProtocol):
        return probe.protocol.value
    return re.sub(r"[^A-Za-z0-9]+", "-", str(probe.protocol)).strip("-")[:8] or "unknown"


def endpoint_label(probe: MonitorProbe) -> str:
    port = whole_number(probe.destination_port) if probe.protocol is ProbeProtocol.TCP else None
    return endpoint(text(probe.destination, "a deploy-time destination"), None if port is None else text(port, "?"))


def text(value: object, instead: str) -> str:
    """A value as labels write it: a string as it is (a token reads as its reference), anything
    else, and a deploy-time list that no string can hold, as `instead` (they are in the report)."""
    if isinstance(value, str):
        return instead if is_list_element(value) else value
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else instead
