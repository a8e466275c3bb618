"""Synth-time validation of a NetworkMonitor, in the words of its props.

Two kinds of problem are found here, and reported together with the construct's path:
- wrong types (a string where a `ProbeProtocol` belongs, an int where a `Duration` does), each with
  what to pass instead, since a Python user gets no compiler to say so;
- the service's rules, which live in `cdk_netmon.handler.rules` and which the deployed handler applies
  again to the resolved values. Here they are applied only to values known at synth: anything that is
  still a token (a Ref, a parameter, an attribute of another resource) is left for the handler.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from aws_cdk import Duration, RemovalPolicy

from ._jsii import ec2_type, implements, is_ec2, is_list_element, is_list_token, is_unresolved, whole_number
from .engines.engine import MonitorEngine
from .handler import rules
from .probe import MonitorProbe, ProbeProtocol

REMOVAL_POLICIES = (RemovalPolicy.DESTROY, RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
"""What a monitor can do when it leaves the stack; it has no snapshot."""


def is_list_like(value: object) -> TypeGuard[Iterable[Any]]:
    """A list, tuple or other iterable of items: not None, a string or a dict."""
    return value is not None and not isinstance(value, str | Mapping) and hasattr(value, "__iter__")


def kind(value: object) -> str:
    """The value's type with its article, as messages say it: "an int", "a str", "an ec2.SelectedSubnets"."""
    name = type(value).__name__
    if type(value).__module__ == "aws_cdk.aws_ec2":
        name = f"ec2.{name}"
    return f"{'an' if name[0].lower() in 'aeio' else 'a'} {name}"


# --- types -----------------------------------------------------------------------------------------


def monitor_type_problems(
    *, monitor_name: Any, aggregation_period: Any, tags: Any, removal_policy: Any, probes: Any, engine: Any = None
) -> list[str]:
    """Props of the wrong type, each with what to pass instead."""
    problems: list[str] = []
    if monitor_name is not None and not isinstance(monitor_name, str):
        problems.append(f"monitor_name {monitor_name!r} is {kind(monitor_name)}, not a str; pass a str or None")
    elif is_list_element(monitor_name):
        problems.append(list_element_problem("monitor_name"))
    if aggregation_period is not None and not isinstance(aggregation_period, Duration):
        seconds = aggregation_period if isinstance(aggregation_period, int) else 30
        hint = f"Duration.seconds({seconds})"
        problems.append(
            f"aggregation_period {aggregation_period!r} is {kind(aggregation_period)}, not a Duration; pass {hint}"
        )
    problems += tag_type_problems("tags", tags)
    if removal_policy is not None and not isinstance(removal_policy, RemovalPolicy):
        problems.append(
            f"removal_policy {removal_policy!r} is {kind(removal_policy)}, not a RemovalPolicy; "
            "pass RemovalPolicy.DESTROY or RemovalPolicy.RETAIN"
        )
    elif removal_policy is not None and removal_policy not in REMOVAL_POLICIES:
        problems.append(removal_policy_problem(removal_policy))
    if probes is not None and not is_list_like(probes):
        problems.append(f"probes is {kind(probes)}, not a list; pass a list of MonitorProbe")
    elif is_list_token(probes):
        problems.append(list_token_problem("probes", "a list of MonitorProbe"))
    if engine is not None and not isinstance(engine, MonitorEngine):
        problems.append(
            f"engine {engine!r} is {kind(engine)}, not a MonitorEngine; pass MonitorEngine.CUSTOM_RESOURCE or "
            "MonitorEngine.NATIVE"
        )
    return problems


def list_token_problem(field: str, allowed: str) -> str:
    """A deploy-time list where the construct needs the items at synth."""
    return f"{field} is a deploy-time list, whose items are unknown at synth; pass {allowed}"


def list_element_problem(field: str) -> str:
    """An element of a deploy-time list taken with `[i]`, which aws-cdk-lib cannot write as a string."""
    return f"{field} is an item of a deploy-time list taken with [i]; pass Fn.select(i, the_list)"


def removal_policy_problem(policy: RemovalPolicy) -> str:
    return (
        f"removal_policy {policy} is not supported: a monitor has no snapshot; "
        "allowed: RemovalPolicy.DESTROY, RETAIN or RETAIN_ON_UPDATE_OR_DELETE"
    )


def tag_type_problems(field: str, tags: Any) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, Mapping):
        return [f"{field} {tags!r} is {kind(tags)}, not a dict; pass a dict of str to str"]
    problems = []
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            problems.append(f"{field} entry {key!r}: {value!r} is not str to str; pass a dict of str to str")
        elif is_list_element(key) or is_list_element(value):
            problems.append(list_element_problem(f"{field} entry"))
        elif is_unresolved(key):
            # A template's map keys are literal: CloudFormation resolves no key. Its values may be tokens.
            problems.append(f"{field} has a deploy-time key; allowed: keys known at synth (values may be deploy-time)")
    return list(dict.fromkeys(problems))


def probe_type_problems(where: str, probe: object) -> dict[str, str]:
    """A probe's fields of the wrong type, by field (`probe` when it is no MonitorProbe at all).
    The rules are still checked on its other fields; a probe with any is left out of the template."""
    if not isinstance(probe, MonitorProbe):
        return {"probe": f"{where} is {kind(probe)}, not a MonitorProbe; pass MonitorProbe(...)"}
    problems: dict[str, str] = {}
    if not isinstance(probe.destination, str):
        problems["destination"] = (
            f"{where}.destination {probe.destination!r} is {kind(probe.destination)}, not a str; "
            "pass an IP address such as '10.0.0.1'"
        )
    elif is_list_element(probe.destination):
        problems["destination"] = list_element_problem(f"{where}.destination")
    protocol = protocol_problem(f"{where}.protocol", probe.protocol)
    if protocol:
        problems["protocol"] = protocol
    if probe.source is not None and not implements(probe.source, ec2_type("ISubnet")):
        if is_ec2(probe.source, "SelectedSubnets"):
            hint = "one subnet of it, one probe per subnet (for example selection.subnets[0])"
        elif isinstance(probe.source, str):
            hint = "an ec2.ISubnet (ec2.Subnet.from_subnet_id(...)), or the subnet's ARN as source_arn"
        else:
            hint = "an ec2.ISubnet"
        problems["source"] = (
            f"{where}.source{_shown(probe.source)} is {kind(probe.source)}, not an ec2.ISubnet; pass {hint}"
        )
    if probe.source_arn is not None and not isinstance(probe.source_arn, str):
        problems["source_arn"] = (
            f"{where}.source_arn {probe.source_arn!r} is {kind(probe.source_arn)}, not a str; pass a subnet ARN"
        )
    elif is_list_element(probe.source_arn):
        problems["source_arn"] = list_element_problem(f"{where}.source_arn")
    for field, example in (("destination_port", 443), ("packet_size", 56)):
        value = whole_number(getattr(probe, field))
        if isinstance(value, str) and is_unresolved(value):
            problems[field] = (
                f"{where}.{field} is a deploy-time string; pass a number: a CfnParameter of type Number "
                "(.value_as_number), or Token.as_number(...)"
            )
        elif value is not None and not is_unresolved(value) and (isinstance(value, bool) or not isinstance(value, int)):
            problems[field] = f"{where}.{field} {value!r} is not a whole number; pass an int such as {example}"
    for problem in tag_type_problems(f"{where}.probe_tags", probe.probe_tags):
        problems.setdefault("probe_tags", problem)
    if probe.name is not None and not isinstance(probe.name, str):
        name_kind = kind(probe.name)
        problems["name"] = f"{where}.name {probe.name!r} is {name_kind}, not a str; pass a name such as 'dc1-https'"
    elif is_unresolved(probe.name):
        problems["name"] = (
            f"{where}.name is a deploy-time value; allowed: a name known at synth, since it keys the probe in the "
            "template (leave it unset for a generated key)"
        )
    if probe.enabled is not None and not isinstance(probe.enabled, bool):
        problems["enabled"] = (
            f"{where}.enabled {probe.enabled!r} is {kind(probe.enabled)}, not a bool; pass True or False"
        )
    return problems


def protocol_problem(field: str, protocol: object) -> str | None:
    """A protocol that is no ProbeProtocol, with the member to pass instead."""
    if isinstance(protocol, ProbeProtocol):
        return None
    if protocol is None:
        return f"{field} is missing; pass ProbeProtocol.TCP or .ICMP"
    named = str(protocol).upper() if isinstance(protocol, str) else None
    hint = f"ProbeProtocol.{named}" if named in ProbeProtocol.__members__ else "ProbeProtocol.TCP or .ICMP"
    return f"{field} {protocol!r} is {kind(protocol)}, not a ProbeProtocol; pass {hint}"


def _shown(value: object) -> str:
    """A plain value as written, after a space; a jsii object is named by its type alone."""
    return f" {value!r}" if isinstance(value, str | int | float | bool) else ""


# --- the service's rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedProbe:
    """A probe with its source turned into an ARN string (possibly a token), the words messages
    use for that source and for the probe, the tags it will carry, the add_probes call that made it,
    and which of its fields are of the wrong type (their rules are not checked)."""

    probe: MonitorProbe
    source_arn: str | None
    source_label: str | None
    tags: Mapping[str, str]
    origin: str | None = None
    where: str = "probes[0]"
    """How messages name the probe: `probes[i]` of the list the user wrote, or, for one that
    add_probes made, `add_probes(10.0.0.1 from subnet-0abc)`."""
    bad_fields: frozenset[str] = frozenset()
    source_problem: str | None = None
    """The source cannot be this monitor's (a subnet of another account or region)."""
    source_key: str | None = None
    """What the monitor-wide rules compare sources by: the subnet id where it is known at synth (so that a
    subnet object and its own literal ARN are one source), else the ARN (one token string per subnet)."""


@dataclass(frozen=True)
class Environment:
    """The stack's account and region where they are known at synth (None for a token)."""

    account: str | None = None
    region: str | None = None


def monitor_problems(
    *,
    monitor_name: str,
    name_is_explicit: bool,
    aggregation_period_seconds: Any,
    tags: Mapping[str, str],
    probes: Sequence[ResolvedProbe],
    environment: Environment = Environment(),
    quotas: rules.Quotas = rules.DEFAULT_QUOTAS,
) -> list[str]:
    """Every rule a monitor breaks, each naming the prop, the bad value and what is allowed: the
    handler's sequence (`rules.check_monitor`) on what is known at synth."""
    return rules.check_monitor(
        rules.PROP_NAMES,
        name=monitor_name if name_is_explicit and not is_unresolved(monitor_name) else rules.UNKNOWN,
        aggregation_period=_judged(aggregation_period_seconds),
        tags=_known(tags),
        probes=[_probe_values(resolved) for resolved in probes],
        quotas=quotas,
        account=environment.account,
        region=environment.region,
    )


def _probe_values(resolved: ResolvedProbe) -> rules.ProbeValues:
    """The probe's values as the rules see them: a token or a field of the wrong type is UNKNOWN."""
    probe, where, bad = resolved.probe, resolved.where, resolved.bad_fields
    found: list[str] = []
    source_arn: object = rules.UNKNOWN
    if {"source", "source_arn"} & bad:
        pass
    elif probe.source is not None and probe.source_arn is not None:
        found.append(f"{where} sets both source and source_arn; allowed: exactly one of them")
    elif probe.source is None and probe.source_arn is None:
        found.append(f"{where} sets neither source nor source_arn; allowed: exactly one of them")
    elif probe.source_arn is not None:
        source_arn = _judged(probe.source_arn)
    if resolved.source_problem:
        found.append(resolved.source_problem)

    protocol: object = rules.UNKNOWN if "protocol" in bad else probe.protocol.value
    port: object = rules.UNKNOWN if "destination_port" in bad else _judged(whole_number(probe.destination_port))

    name = probe.name
    return rules.ProbeValues(
        where=where,
        source_arn=source_arn,
        destination=rules.UNKNOWN if "destination" in bad else _judged(probe.destination),
        protocol=protocol,
        destination_port=port,
        deploy_time_port=port is rules.UNKNOWN and "destination_port" not in bad,
        packet_size=rules.UNKNOWN if "packet_size" in bad else _judged(whole_number(probe.packet_size)),
        tags={} if "probe_tags" in bad else _known(resolved.tags),
        name=rules.UNKNOWN if "name" in bad or name is None or is_unresolved(name) else name,
        found=found,
        source=None if {"source", "source_arn"} & bad else resolved.source_key,
        source_label=resolved.source_label,
        origin=resolved.origin,
    )


def _judged(value: object) -> object:
    """The value, or UNKNOWN for a deploy-time token the handler will judge."""
    return rules.UNKNOWN if is_unresolved(value) else value


def _known(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags whose key and value are both known at synth."""
    return {k: v for k, v in tags.items() if not is_unresolved(k) and not is_unresolved(v)}
