"""Synth-time validation of a NetworkMonitor, in the words of its props.

The rules themselves live in `cdk_netmon.handler.rules`, which the deployed handler applies again
to the resolved values. Here they are applied only to values known at synth: anything that is still
a token (a Ref, a parameter, an attribute of another resource) is left for the handler to judge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Token

from .handler import rules
from .probe import MonitorProbe, ProbeProtocol

_TOKEN_MARKER = "{Token["


def is_unresolved(value: Any) -> bool:
    """Token.is_unresolved without a round trip to jsii for the plain values that dominate."""
    if value is None or isinstance(value, bool | int):
        return False
    if isinstance(value, str):
        return _TOKEN_MARKER in value
    return bool(Token.is_unresolved(value))


@dataclass(frozen=True)
class ResolvedProbe:
    """A probe with its source turned into an ARN string (possibly a token)."""

    probe: MonitorProbe
    source_arn: str | None


def monitor_problems(
    *,
    monitor_name: str,
    name_is_explicit: bool,
    aggregation_period_seconds: Any,
    tags: Mapping[str, str],
    probes: Sequence[ResolvedProbe],
) -> list[str]:
    """Every problem of one monitor, each naming the prop, the bad value and what is allowed."""
    problems: list[str] = []
    if name_is_explicit and not is_unresolved(monitor_name):
        problems += rules.check_monitor_name("monitor_name", monitor_name)
    if not is_unresolved(aggregation_period_seconds):
        problems += rules.check_aggregation_period("aggregation_period", aggregation_period_seconds)
    problems += rules.check_tags("tags", _known(tags))

    facts: list[rules.ProbeFacts] = []
    for index, resolved in enumerate(probes):
        probe_problems, probe_facts = _probe_problems(f"probes[{index}]", resolved)
        problems += probe_problems
        facts.append(probe_facts)
    problems += rules.check_monitor_probes(facts)
    return problems


def _probe_problems(where: str, resolved: ResolvedProbe) -> tuple[list[str], rules.ProbeFacts]:
    probe = resolved.probe
    problems: list[str] = []

    if probe.source is not None and probe.source_arn is not None:
        problems.append(f"{where} sets both source and source_arn; allowed: exactly one of them")
    elif probe.source is None and probe.source_arn is None:
        problems.append(f"{where} sets neither source nor source_arn; allowed: exactly one of them")
    elif probe.source_arn is not None and not is_unresolved(probe.source_arn):
        problems += rules.check_source_arn(f"{where}.source_arn", probe.source_arn)

    if not is_unresolved(probe.destination):
        problems += rules.check_destination(f"{where}.destination", probe.destination)

    protocol = probe.protocol.value if isinstance(probe.protocol, ProbeProtocol) else None
    if protocol is None:
        problems.append(
            f"{where}.protocol {probe.protocol!r} is not a ProbeProtocol; "
            "allowed: ProbeProtocol.TCP or ProbeProtocol.ICMP"
        )
    elif not is_unresolved(probe.destination_port):
        problems += rules.check_protocol_and_port(
            f"{where}.protocol", f"{where}.destination_port", protocol, probe.destination_port
        )

    if not is_unresolved(probe.packet_size):
        problems += rules.check_packet_size(f"{where}.packet_size", probe.packet_size)
    problems += rules.check_tags(f"{where}.probe_tags", _known(probe.probe_tags))

    facts = rules.ProbeFacts(
        source=resolved.source_arn,
        destination=None if is_unresolved(probe.destination) else probe.destination,
        # An unknown port makes the identity unknown: two such probes are not known duplicates.
        protocol=None if is_unresolved(probe.destination_port) else protocol,
        port=None if is_unresolved(probe.destination_port) else probe.destination_port,
    )
    return problems, facts


def _known(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags whose key and value are both known at synth."""
    return {k: v for k, v in tags.items() if not is_unresolved(k) and not is_unresolved(v)}
