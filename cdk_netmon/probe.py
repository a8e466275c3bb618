"""Probe declarations: what a NetworkMonitor measures, from which subnet, to where."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from aws_cdk import aws_ec2 as ec2
    from typing_extensions import Required

Number = int | float
"""A whole number, or a number token (a float in Python) that is resolved at deploy."""


class ProbeProtocol(enum.Enum):
    """How a probe reaches its destination."""

    TCP = "TCP"
    """TCP handshakes to `destination_port`."""

    ICMP = "ICMP"
    """ICMP echo; takes no port."""


@dataclass(frozen=True, kw_only=True, eq=False)
class MonitorProbe:
    """One probe of a monitor: traffic from a source subnet to a destination IP address.

    Give the source either as `source` (an `ec2.ISubnet`, from which the construct builds the ARN)
    or as `source_arn` (a subnet ARN string), not both. Values, and their types, are checked when the
    app is synthesized, together with the rest of the monitor, so that every problem is reported at
    once with the monitor's construct path. `None` means "not set" for every optional field.
    """

    destination: str
    """The IPv4 or IPv6 address to probe. A monitor's probes all use one address family."""

    protocol: ProbeProtocol
    """TCP (needs `destination_port`) or ICMP (takes none)."""

    source_arn: str | None = None
    """The ARN of the subnet the probe runs from. Default: derived from `source`."""

    source: ec2.ISubnet | None = None
    """The subnet the probe runs from. Default: none; then `source_arn` is required."""

    destination_port: Number | None = None
    """The TCP port, 1 to 65535. Required for TCP, not allowed for ICMP."""

    packet_size: Number | None = None
    """Bytes per probe packet, 56 to 8500. Default: the service's default; an unset size is not
    managed, so a size once set stays as it is until another size is declared."""

    probe_tags: Mapping[str, str] | None = None
    """Tags on the probe itself. Tags applied with `Tags.of(...)` reach probes too, and these win on
    the same key; the monitor's own `tags` are not inherited. Default: none."""

    name: str | None = None
    """The probe's name within its monitor: 1 to 64 letters, digits and '-'. It keys the probe in the
    template (`Probes.<name>`, `ProbeId.<name>`) and names its alarms, so they keep their logical ids
    through any in-place change. Default: a key generated from the probe's protocol, destination and
    source subnet where those are known at synth (`tcp-10-0-0-1-3f2a1b`); name the probes whose
    destinations or sources are deploy-time values, or that differ only in port. Renaming a probe
    gives it new alarms (the way to ask for them); the probe itself is kept."""

    enabled: bool | None = True
    """False pauses the probe (UpdateProbe state INACTIVE: it sends no traffic and publishes no
    metrics); declaring it enabled again resumes it. The declared state wins over a pause or resume
    made out of band. Default (or None): enabled."""


class ProbeOptions(TypedDict, total=False):
    """What the probes of one `add_probes` or `NetworkMonitor.fan_out` call share besides their
    sources and destinations: the `MonitorProbe` fields of these names, with their defaults."""

    protocol: Required[ProbeProtocol]
    destination_port: Number | None
    packet_size: Number | None
    probe_tags: Mapping[str, str] | None
    enabled: bool | None


class ProbeFields(TypedDict, total=False):
    """`add_probe`'s keywords: every `MonitorProbe` field. (Not a subclass of ProbeOptions: a
    TypedDict keeps no bases for the docs to follow; a test holds both to MonitorProbe.)"""

    destination: Required[str]
    protocol: Required[ProbeProtocol]
    destination_port: Number | None
    packet_size: Number | None
    probe_tags: Mapping[str, str] | None
    enabled: bool | None
    source_arn: str | None
    source: ec2.ISubnet | None
    name: str | None


def unexpected_keywords(call: str, given: Mapping[str, Any], options: type[Mapping[str, Any]]) -> None:
    """The TypeError Python raises for a keyword a signature lacks, raised for `**options` too."""
    allowed = frozenset(options.__annotations__)
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise TypeError(
            f"{call} got unexpected keyword arguments {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
