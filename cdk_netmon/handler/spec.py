"""The monitor a stack declares: the custom resource's properties, and what the handler reads of them.

The construct writes the monitor as CloudFormation properties of their own (`MonitorName`,
`AggregationPeriod`, `Tags`, and `Probes`: a map keyed by each probe's stable key, see `probe_key`),
so that `cdk diff` shows a changed port on a line of its own. CloudFormation turns every scalar of a
custom resource's properties into a string; `MonitorSpec.from_properties` parses them back and
checks them under the shared rules. Releases up to 0.2.0 wrote the whole monitor as one JSON string
(the `Monitor` property, in CreateMonitor's field names), which is still read.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from . import rules

if TYPE_CHECKING:
    from .live import Owner

RESOURCE_TYPE = "Custom::NetworkMonitor"
"""The custom resource type of every monitor, which the stand-ins, the kit and the preview look for."""
LEGACY_PROPERTY = "Monitor"
"""The one JSON string property that carried the declared monitor up to release 0.2.0."""
MONITOR_NAME = "MonitorName"
AGGREGATION_PERIOD = "AggregationPeriod"
TAGS = "Tags"
PROBES = "Probes"
"""The declared probes: a map from each probe's key to its fields (`PROBE_FIELDS`)."""
PROBE_FIELDS = ("SourceArn", "Destination", "Protocol", "DestinationPort", "PacketSize", "Tags", "State")
DEFAULT_AGGREGATION_PERIOD = 60
"""The service's default, when a monitor declares none."""

OWNERSHIP_PROPERTY = "OwnershipTags"
"""Written by every release that tags what it creates, with the tag keys as its value. Properties
without it were written by 0.1.0, whose monitors carry no ownership tags (see `Owner.verdict`)."""
OWNERSHIP_PROPERTY_VALUE = ",".join(rules.OWNER_TAG_KEYS)


class InvalidSpecError(ValueError):
    """The declared monitor breaks a service rule; raised before any write call."""


ProbeIdentity = tuple[str, str, str, int | None]


def endpoint(destination: str, port: object) -> str:
    """`10.0.0.1:443`, `[2001:db8::1]:443`, or the bare address of a probe without a port (ICMP).
    Messages, progress lines and metric labels all write a probe's target this way."""
    if port is None:
        return destination
    host = f"[{destination}]" if ":" in destination else destination
    return f"{host}:{port}"


ACTIVE, PAUSED = rules.ACTIVE, rules.PAUSED


def probe_key(protocol: str, destination: str | None, source: str | None) -> str:
    """A probe's key, when it has no name: from what identifies it and is known at synth (its
    protocol, destination and source subnet, each None when it is a deploy-time value), never from
    what changes in place (port, packet size, tags, state). The same in every synth and process, so
    the alarms named after it keep their logical ids through in-place changes.

    `tcp-10-0-0-1-3f2a1b`: the protocol, the destination written with dashes, 6 hex of a hash that
    includes the source."""
    digest = hashlib.sha256(f"{source or ''}|{destination or ''}|{protocol}".encode()).hexdigest()[:6]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", destination).strip("-")[:39] if destination else "deploy-time"
    return f"{protocol.lower()}-{slug}-{digest}"


def unique_keys(keys: Iterable[str]) -> list[str]:
    """The keys, with `-2`, `-3`, ... added where one repeats (in declaration order), so that two
    probes alike in all that is known at synth (say, one destination on two ports) stay apart."""
    seen: set[str] = set()
    return [next_key(key, seen) for key in keys]


def next_key(key: str, taken: set[str]) -> str:
    """`key`, or `key-2`, `key-3`, ... where it is taken; added to `taken`."""
    candidate, n = key, 1
    while candidate in taken:
        n += 1
        candidate = f"{key}-{n}"
    taken.add(candidate)
    return candidate


_PROPERTY_OF_FIELD = {
    "sourceArn": "SourceArn",
    "destination": "Destination",
    "protocol": "Protocol",
    "destinationPort": "DestinationPort",
    "packetSize": "PacketSize",
    "probeTags": "Tags",
}


def probe_properties(*, state: str = ACTIVE, **fields: Any) -> dict[str, Any]:
    """A probe as the construct writes it into `Probes` (its values may still be deploy-time
    tokens): `probe_document`'s fields under the property names, and its state always."""
    body = probe_document(**fields, tags_field="probeTags")
    return {**{_PROPERTY_OF_FIELD[name]: value for name, value in body.items()}, "State": state}


def probe_document(
    *,
    source_arn: Any,
    destination: Any,
    protocol: Any,
    destination_port: Any,
    packet_size: Any,
    tags: Mapping[str, Any],
    tags_field: str = "probeTags",
) -> dict[str, Any]:
    """A probe in the API's shape, its tags under CreateMonitor's `probeTags` or CreateProbe's
    `tags`. The construct's `Probes` (`probe_properties`) and the handler's requests are both made
    from it, so the two cannot drift apart."""
    body: dict[str, Any] = {"sourceArn": source_arn, "destination": destination, "protocol": protocol}
    if protocol == "TCP" and destination_port is not None:
        body["destinationPort"] = destination_port
    if packet_size is not None:
        body["packetSize"] = packet_size
    if tags:
        body[tags_field] = dict(tags)
    return body


@dataclass(frozen=True)
class ProbeSpec:
    source_arn: str
    destination: str
    protocol: str
    destination_port: int | None = None
    packet_size: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    state: str = rules.ACTIVE
    """Declared: ACTIVE, or INACTIVE for a paused probe. Not part of the probe's identity."""
    key: str = ""
    """Declared: the probe's key in `Probes` (its index in a 0.2.0 `Monitor` document). Not part
    of its identity; names it in `ProbeId.<key>` and in messages."""

    @property
    def identity(self) -> ProbeIdentity:
        """What makes two probes the same probe: a port only counts for TCP."""
        port = self.destination_port if self.protocol == "TCP" else None
        return (self.source_arn, self.destination, self.protocol, port)

    @property
    def address_family(self) -> str | None:
        return rules.address_family(self.destination)

    def describe(self) -> str:
        port = self.destination_port if self.protocol == "TCP" else None
        return f"{self.protocol} {self.source_arn} -> {endpoint(self.destination, port)}"

    def to_api(self, tags_field: str) -> dict[str, Any]:
        """The probe as CreateMonitor (`probeTags`) or CreateProbe (`tags`) expects it."""
        return probe_document(
            source_arn=self.source_arn,
            destination=self.destination,
            protocol=self.protocol,
            destination_port=self.destination_port,
            packet_size=self.packet_size,
            tags=self.tags,
            tags_field=tags_field,
        )

    @classmethod
    def from_api(cls, body: Mapping[str, Any], tags_field: str) -> ProbeSpec:
        """A probe as the API shows it; its state, a live one, is LiveProbe's."""
        return cls(
            source_arn=body["sourceArn"],
            destination=body["destination"],
            protocol=body["protocol"],
            destination_port=body.get("destinationPort"),
            packet_size=body.get("packetSize"),
            tags=dict(body.get(tags_field) or {}),
        )

    @classmethod
    def declared(cls, body: Mapping[str, Any], key: str) -> ProbeSpec:
        """A probe of a 0.2.0 `Monitor` property, with its declared state."""
        return replace(cls.from_api(body, "probeTags"), state=body.get("state", rules.ACTIVE), key=key)

    @classmethod
    def from_probe_properties(cls, key: str, body: Mapping[str, Any]) -> ProbeSpec:
        """A probe of `Probes`, its numbers parsed back from the strings CloudFormation made of them."""
        return cls(
            source_arn=body.get("SourceArn"),  # type: ignore[arg-type]  # checked by MonitorSpec.problems
            destination=body.get("Destination"),  # type: ignore[arg-type]
            protocol=body.get("Protocol"),  # type: ignore[arg-type]
            destination_port=_whole(body.get("DestinationPort")),
            packet_size=_whole(body.get("PacketSize")),
            tags=dict(body.get("Tags") or {}),
            state=body.get("State", ACTIVE),
            key=key,
        )


@dataclass(frozen=True)
class MonitorSpec:
    """The monitor a stack declares."""

    name: str
    aggregation_period: int
    tags: Mapping[str, str] = field(default_factory=dict)
    probes: tuple[ProbeSpec, ...] = ()

    @classmethod
    def from_properties(
        cls, properties: Mapping[str, Any], *, check: bool = True, quotas: rules.Quotas = rules.DEFAULT_QUOTAS
    ) -> MonitorSpec:
        """Parse and check the custom resource's properties exactly as CloudFormation delivers them:
        the properties of this release, or the `Monitor` string of earlier ones. `check=False`
        leaves the rules out, for a preview of templates whose values are still placeholders."""
        spec = cls._legacy(properties) if LEGACY_PROPERTY in properties else cls._structured(properties)
        problems = spec.problems(quotas) if check else []
        if problems:
            raise InvalidSpecError(f"monitor {spec.name!r} is invalid: " + "; ".join(problems))
        return spec

    @classmethod
    def _structured(cls, properties: Mapping[str, Any]) -> MonitorSpec:
        probes = properties.get(PROBES) or {}
        if not isinstance(probes, Mapping):
            raise InvalidSpecError(f"property {PROBES!r} must be a map of probes, got {type(probes).__name__}")
        # Values are taken as they come and checked by `problems`, which names what is wrong.
        return cls(
            name=properties.get(MONITOR_NAME),  # type: ignore[arg-type]
            aggregation_period=_whole(properties.get(AGGREGATION_PERIOD, DEFAULT_AGGREGATION_PERIOD)),
            tags=dict(properties.get(TAGS) or {}),
            probes=tuple(ProbeSpec.from_probe_properties(str(key), body) for key, body in probes.items()),
        )

    @classmethod
    def _legacy(cls, properties: Mapping[str, Any]) -> MonitorSpec:
        raw = properties.get(LEGACY_PROPERTY)
        if not isinstance(raw, str):
            raise InvalidSpecError(f"property {LEGACY_PROPERTY!r} must be a JSON string, got {type(raw).__name__}")
        try:
            document = json.loads(raw)
        except json.JSONDecodeError as error:
            raise InvalidSpecError(f"property {LEGACY_PROPERTY!r} is not valid JSON: {error}") from None
        return cls(
            name=document.get("monitorName"),
            aggregation_period=document.get("aggregationPeriod", DEFAULT_AGGREGATION_PERIOD),
            tags=dict(document.get("tags") or {}),
            probes=tuple(ProbeSpec.declared(p, str(i)) for i, p in enumerate(document.get("probes") or ())),
        )

    def problems(self, quotas: rules.Quotas = rules.DEFAULT_QUOTAS) -> list[str]:
        """The construct's synth-time sequence, on the resolved values and in the API's words."""
        return rules.check_monitor(
            rules.API_NAMES,
            name=self.name,
            aggregation_period=self.aggregation_period,
            tags=self.tags,
            # A ProbeSpec's fields are named as ProbeValues' are.
            probes=[rules.ProbeValues(where=f"probes[{probe.key}]", **vars(probe)) for probe in self.probes],
            quotas=quotas,
        )

    @property
    def digest(self) -> str:
        """12 hex digits of what the monitor must be live, the same however the properties say it (a
        0.2.0 `Monitor` string or properties of their own, probes in any order, keys aside)."""
        probes = sorted(json.dumps([*p.identity, p.packet_size, p.state, p.tags], **_CANON) for p in self.probes)
        canonical = json.dumps([self.name, self.aggregation_period, self.tags, probes], **_CANON)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def owned_by(self, owner: Owner) -> MonitorSpec:
        """The monitor as it must be live: the declared tags plus the ownership tags."""
        return MonitorSpec(self.name, self.aggregation_period, {**self.tags, **owner.tags}, self.probes)


_CANON: dict[str, Any] = {"sort_keys": True, "default": str}


def declared_name(properties: Mapping[str, Any] | None) -> str | None:
    """The monitor name in a set of properties, or None where they hold none (never raises)."""
    properties = properties or {}
    try:
        name = json.loads(properties[LEGACY_PROPERTY])["monitorName"] if LEGACY_PROPERTY in properties else None
    except (KeyError, TypeError, ValueError):
        return None
    name = properties.get(MONITOR_NAME) if name is None else name
    return name if isinstance(name, str) else None


def _whole(value: Any) -> Any:
    """An int for the digits CloudFormation made of a number; anything else as it came, for the
    rules to report."""
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    return value
