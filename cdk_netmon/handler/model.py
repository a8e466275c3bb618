"""Declared and live monitor state, in the shapes the Network Monitor API uses.

The construct sends the whole monitor as one JSON document (the `Monitor` property), written in
the field names of the CreateMonitor request. CloudFormation passes a string property through
untouched, so numbers survive the trip that turns every other property value into a string.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from . import rules

PROPERTY_NAME = "Monitor"
"""The custom resource property that carries the declared monitor."""

OWNERSHIP_PROPERTY = "OwnershipTags"
"""Written by every release that tags what it creates, with the tag keys as its value. Properties
without it were written by 0.1.0, whose monitors carry no ownership tags (see `Owner.verdict`)."""
OWNERSHIP_PROPERTY_VALUE = ",".join(rules.OWNER_TAG_KEYS)

GONE_PROBE_STATES = frozenset({"DELETED"})
BUSY_STATES = frozenset({"PENDING", "DELETING"})


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


PAUSED = "INACTIVE"
"""The state of a probe declared with enabled=False. A declared probe is ACTIVE otherwise."""


def probe_document(
    *,
    source_arn: Any,
    destination: Any,
    protocol: Any,
    destination_port: Any,
    packet_size: Any,
    tags: Mapping[str, Any],
    tags_field: str = "probeTags",
    state: str = "ACTIVE",
) -> dict[str, Any]:
    """A probe in the API's shape. The construct writes the `Monitor` property with this (its values
    may still be deploy-time tokens), and the handler its requests, so the two cannot drift apart.
    A paused probe carries `"state": "INACTIVE"`, as UpdateProbe names it; CreateMonitor and
    CreateProbe take no state, so the handler's requests never carry it."""
    body: dict[str, Any] = {"sourceArn": source_arn, "destination": destination, "protocol": protocol}
    if protocol == "TCP" and destination_port is not None:
        body["destinationPort"] = destination_port
    if packet_size is not None:
        body["packetSize"] = packet_size
    if tags:
        body[tags_field] = dict(tags)
    if state != "ACTIVE":
        body["state"] = state
    return body


def monitor_document(
    *, name: Any, aggregation_period: Any, tags: Mapping[str, Any], probes: list[dict[str, Any]]
) -> dict[str, Any]:
    """The monitor in CreateMonitor's shape: the `Monitor` property, which `MonitorSpec.from_properties` reads."""
    document: dict[str, Any] = {"monitorName": name, "aggregationPeriod": aggregation_period, "probes": probes}
    if tags:
        document["tags"] = dict(tags)
    return document


@dataclass(frozen=True)
class ProbeSpec:
    source_arn: str
    destination: str
    protocol: str
    destination_port: int | None = None
    packet_size: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    state: str = "ACTIVE"
    """Declared: ACTIVE, or INACTIVE for a paused probe. Not part of the probe's identity."""

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
    def declared(cls, body: Mapping[str, Any]) -> ProbeSpec:
        """A probe of the `Monitor` property, with its declared state."""
        return replace(cls.from_api(body, "probeTags"), state=body.get("state", "ACTIVE"))


@dataclass(frozen=True)
class MonitorSpec:
    """The monitor a stack declares."""

    name: str
    aggregation_period: int
    tags: Mapping[str, str] = field(default_factory=dict)
    probes: tuple[ProbeSpec, ...] = ()

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any]) -> MonitorSpec:
        """Parse and check the custom resource's properties exactly as CloudFormation delivers them."""
        raw = properties.get(PROPERTY_NAME)
        if not isinstance(raw, str):
            raise InvalidSpecError(f"property {PROPERTY_NAME!r} must be a JSON string, got {type(raw).__name__}")
        try:
            document = json.loads(raw)
        except json.JSONDecodeError as error:
            raise InvalidSpecError(f"property {PROPERTY_NAME!r} is not valid JSON: {error}") from None
        spec = cls(
            name=document.get("monitorName"),
            aggregation_period=document.get("aggregationPeriod", 60),
            tags=dict(document.get("tags") or {}),
            probes=tuple(ProbeSpec.declared(p) for p in document.get("probes") or ()),
        )
        problems = spec.problems()
        if problems:
            raise InvalidSpecError(f"monitor {spec.name!r} is invalid: " + "; ".join(problems))
        return spec

    def problems(self) -> list[str]:
        checks = [
            rules.check_monitor_name("monitorName", self.name),
            rules.check_aggregation_period("aggregationPeriod", self.aggregation_period),
            rules.check_tags("tags", self.tags, rules.MAX_MONITOR_TAGS),
        ]
        for index, probe in enumerate(self.probes):
            where = f"probes[{index}]"
            checks += [
                rules.check_source_arn(f"{where}.sourceArn", probe.source_arn),
                rules.check_destination(f"{where}.destination", probe.destination),
                rules.check_protocol_and_port(
                    f"{where}.protocol", f"{where}.destinationPort", probe.protocol, probe.destination_port
                ),
                rules.check_packet_size(f"{where}.packetSize", probe.packet_size),
                rules.check_tags(f"{where}.probeTags", probe.tags),
                rules.check_probe_state(f"{where}.state", probe.state),
            ]
        facts = [rules.ProbeFacts(p.source_arn, p.destination, p.protocol, p.destination_port) for p in self.probes]
        checks.append(rules.check_monitor_probes(facts))
        return rules.flatten(checks)

    def owned_by(self, owner: Owner) -> MonitorSpec:
        """The monitor as it must be live: the declared tags plus the ownership tags."""
        return MonitorSpec(self.name, self.aggregation_period, {**self.tags, **owner.tags}, self.probes)

    def create_request(self, client_token: str) -> dict[str, Any]:
        document = monitor_document(
            name=self.name,
            aggregation_period=self.aggregation_period,
            tags=self.tags,
            probes=[p.to_api("probeTags") for p in self.probes],
        )
        return {**document, "clientToken": client_token}


def declared_name(properties: Mapping[str, Any] | None) -> str | None:
    """The monitor name in a set of properties, or None where they hold none (never raises)."""
    try:
        name = json.loads((properties or {})[PROPERTY_NAME])["monitorName"]
    except (KeyError, TypeError, ValueError):
        return None
    return name if isinstance(name, str) else None


class Verdict(enum.Enum):
    """Whose a live monitor is, as far as this resource can tell."""

    OURS = "ours"
    """It carries this resource's ownership tags."""
    ADOPTABLE = "adoptable"
    """It carries no ownership tag, and CloudFormation's record says this resource made it (0.1.0)."""
    FOREIGN = "foreign"
    """Anything else: another stack's, another resource's, or made by hand. Never modified or deleted."""


@dataclass(frozen=True)
class Owner:
    """The CloudFormation resource a monitor belongs to: its stack and logical id."""

    stack_id: str
    logical_id: str
    legacy_names: frozenset[str] = frozenset()
    """Names that properties written by 0.1.0 (no `OwnershipTags`) give for this resource: its
    physical id then was the monitor name, so those untagged monitors are this resource's."""

    @property
    def tags(self) -> dict[str, str]:
        return {rules.OWNER_STACK_TAG: self.stack_id, rules.OWNER_LOGICAL_ID_TAG: self.logical_id}

    def verdict(self, name: str, live_tags: Mapping[str, str]) -> Verdict:
        if all(live_tags.get(key) == value for key, value in self.tags.items()):
            return Verdict.OURS
        if name in self.legacy_names and not any(rules.is_owner_tag(key) for key in live_tags):
            return Verdict.ADOPTABLE
        return Verdict.FOREIGN

    def without_legacy(self) -> Owner:
        return Owner(self.stack_id, self.logical_id)


@dataclass(frozen=True)
class LiveProbe:
    probe_id: str
    probe_arn: str
    state: str
    spec: ProbeSpec
    vpc_id: str | None = None
    """The VPC of the probe's subnet, where the service keeps its security group for the monitor."""


@dataclass(frozen=True)
class LiveMonitor:
    """A GetMonitor response, with probes that are already gone left out."""

    name: str
    arn: str
    state: str
    aggregation_period: int
    tags: Mapping[str, str]
    probes: tuple[LiveProbe, ...]

    @classmethod
    def from_response(cls, response: Mapping[str, Any]) -> LiveMonitor:
        probes = tuple(
            LiveProbe(
                probe_id=p["probeId"],
                probe_arn=p["probeArn"],
                state=p.get("state", "PENDING"),
                spec=ProbeSpec.from_api(p, "tags"),
                vpc_id=p.get("vpcId"),
            )
            for p in response.get("probes") or ()
            if p.get("state") not in GONE_PROBE_STATES
        )
        return cls(
            name=response["monitorName"],
            arn=response["monitorArn"],
            state=response["state"],
            aggregation_period=response["aggregationPeriod"],
            tags=dict(response.get("tags") or {}),
            probes=probes,
        )

    @property
    def busy(self) -> bool:
        """True while the service is still settling a change; writes wait until it is not."""
        return self.state in BUSY_STATES or any(p.state in BUSY_STATES for p in self.probes)
