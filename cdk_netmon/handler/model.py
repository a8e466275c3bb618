"""Declared and live monitor state, in the shapes the Network Monitor API uses.

The construct writes the monitor as CloudFormation properties of their own (`MonitorName`,
`AggregationPeriod`, `Tags`, and `Probes`: a map keyed by each probe's stable key, see `probe_key`),
so that `cdk diff` shows a changed port on a line of its own. CloudFormation turns every scalar of a
custom resource's properties into a string; `MonitorSpec.from_properties` parses them back and
checks them under the shared rules. Releases up to 0.2.0 wrote the whole monitor as one JSON string
(the `Monitor` property, in CreateMonitor's field names), which is still read.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import rules

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

PENDING = "PENDING"
DELETING = "DELETING"
ERROR = "ERROR"
"""Live states of monitors and probes (botocore's MonitorState and ProbeState), besides
`rules.ACTIVE` and `rules.PAUSED`."""
GONE_PROBE_STATES = frozenset({"DELETED"})
BUSY_STATES = frozenset({PENDING, DELETING})


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


def monitor_properties(
    *, name: Any, aggregation_period: Any, tags: Mapping[str, Any], probes: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """The monitor's properties, as `MonitorSpec.from_properties` reads them."""
    body: dict[str, Any] = {MONITOR_NAME: name, AGGREGATION_PERIOD: aggregation_period}
    if tags:
        body[TAGS] = dict(tags)
    if probes:
        body[PROBES] = {key: dict(probe) for key, probe in probes.items()}
    return body


def from_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """Properties for a monitor given in CreateMonitor's shape (a `probes` list, `probeTags`,
    `state` for a paused probe), each probe keyed as the construct keys one with a literal source."""
    probes = list(document.get("probes") or ())
    keys = unique_keys(
        probe_key(p["protocol"], p["destination"], str(p["sourceArn"]).rsplit("/", 1)[-1]) for p in probes
    )
    return monitor_properties(
        name=document["monitorName"],
        aggregation_period=document.get("aggregationPeriod", DEFAULT_AGGREGATION_PERIOD),
        tags=document.get("tags") or {},
        probes={
            key: probe_properties(
                source_arn=p["sourceArn"],
                destination=p["destination"],
                protocol=p["protocol"],
                destination_port=p.get("destinationPort"),
                packet_size=p.get("packetSize"),
                tags=p.get("probeTags") or {},
                state=p.get("state", ACTIVE),
            )
            for key, p in zip(keys, probes, strict=True)
        },
    )


def probe_document(
    *,
    source_arn: Any,
    destination: Any,
    protocol: Any,
    destination_port: Any,
    packet_size: Any,
    tags: Mapping[str, Any],
    tags_field: str = "probeTags",
    state: str = rules.ACTIVE,
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
    if state != rules.ACTIVE:
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
        return rules.monitor_problems(
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

    def create_request(self, client_token: str) -> dict[str, Any]:
        document = monitor_document(
            name=self.name,
            aggregation_period=self.aggregation_period,
            tags=self.tags,
            probes=[p.to_api("probeTags") for p in self.probes],
        )
        return {**document, "clientToken": client_token}


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
class Generation:
    """One request of a resource, as the monitor's `cdk-netmon:generation` tag records the last that
    wrote to it: when its on_event began (milliseconds on the handler's clock), its RequestId, and
    the digest of the monitor it declares.

    CloudFormation may cancel a request and send the next one (a rollback) while the Provider
    framework's waiter of the cancelled one keeps polling (aws/aws-cdk#31541); a waiter that finds
    a newer request's mark stops writing, so two waiters never fight over one monitor."""

    started_ms: int
    request_id: str
    digest: str = ""

    @property
    def tag_value(self) -> str:
        return f"{self.started_ms}:{self.request_id}:{self.digest}"

    @classmethod
    def of(cls, tags: Mapping[str, str]) -> Generation | None:
        """The mark a live monitor carries; None where it has none (one of 0.2.0 or earlier) or one
        that does not read."""
        started, _, rest = str(tags.get(rules.GENERATION_TAG, "")).partition(":")
        request_id, _, digest = rest.rpartition(":")
        if not re.fullmatch(r"[0-9]{1,20}", started) or not request_id:
            return None
        return cls(int(started), request_id, digest)

    def supersedes(self, other: Generation) -> bool:
        """Whether this is a newer request than `other`; never the same request (CloudFormation may
        deliver one request twice, each time with its RequestId)."""
        if self.request_id == other.request_id:
            return False
        return (self.started_ms, self.request_id) > (other.started_ms, other.request_id)


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
                state=p.get("state", PENDING),
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


# --- the response to CloudFormation -----------------------------------------------------------------

RESPONSE_LIMIT_BYTES = 4096
"""CloudFormation refuses a custom resource response body larger than this, Data included, and the
request's real outcome is lost with it."""
MONITOR_ARN_ATTRIBUTE = "MonitorArn"
MONITOR_NAME_ATTRIBUTE = "MonitorName"
PROBE_ID_ATTRIBUTE = "ProbeId.{key}"
"""The attributes `Fn::GetAtt` reads. They stay as named: a deployed stack's Data changes only on an
Update, so a renamed attribute would break the references of every stack until then."""

PROBE_ID_MAX_LENGTH = len("probe-") + 64
"""botocore's model: a probe id matches `probe-[a-z0-9A-Z-]{21,64}`."""
STACK_NAME_MAX_LENGTH = 128
LOGICAL_ID_MAX_LENGTH = 255
REQUEST_ID_LENGTH = 36
"""CloudFormation's bounds: stack names up to 128 characters, logical ids up to 255; request ids and
the tail of a stack id are UUIDs."""
ACCOUNT_LENGTH = 12
PARTITION_MAX_LENGTH = 16
REGION_MAX_LENGTH = 24
"""Room for a partition or region that is a token at synth: botocore 1.44's longest partition is
`aws-us-gov` (10) and its longest region name `aws-us-gov-global` (17, a pseudo-region)."""


def response_data(monitor_arn: str, monitor_name: str, probe_ids: Mapping[str, str]) -> dict[str, str]:
    """The attributes for Fn::GetAtt: the ARN, the name, and `ProbeId.<key>` for each declared probe."""
    data = {MONITOR_ARN_ATTRIBUTE: monitor_arn, MONITOR_NAME_ATTRIBUTE: monitor_name}
    for key, probe_id in probe_ids.items():
        data[PROBE_ID_ATTRIBUTE.format(key=key)] = probe_id
    return data


def response_size(*, stack_id: str, request_id: str, logical_id: str, physical_id: str, data: Mapping[str, str]) -> int:
    """The bytes of the body the Provider framework sends CloudFormation on success: aws-cdk-lib's
    custom-resources/lib/provider-framework/runtime/cfn-response.js (`submitResponse`) writes
    `JSON.stringify` of Status, Reason, StackId, RequestId, PhysicalResourceId, LogicalResourceId,
    NoEcho (left out while undefined, as the handler never sets it) and Data, and counts UTF-8 bytes."""
    body = {
        "Status": "SUCCESS",
        "Reason": "SUCCESS",
        "StackId": stack_id,
        "RequestId": request_id,
        "PhysicalResourceId": physical_id,
        "LogicalResourceId": logical_id,
        "Data": dict(data),
    }
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())


@dataclass(frozen=True)
class ResponseBound:
    """What is known at synth of a monitor's response; None for what is not (a token), which then
    takes the longest it can be."""

    stack_name: str | None
    logical_id: str | None
    monitor_name: str | None
    partition: str | None = None
    region: str | None = None
    account: str | None = None

    def largest(self, probe_keys: Iterable[str]) -> int:
        """The most bytes the response can take with probes of these keys, whatever ids the service gives."""
        partition = self.partition or "p" * PARTITION_MAX_LENGTH
        region = self.region or "r" * REGION_MAX_LENGTH
        account = self.account or "0" * ACCOUNT_LENGTH
        stack_name = self.stack_name or "s" * STACK_NAME_MAX_LENGTH
        name = self.monitor_name or "m" * rules.MONITOR_NAME_MAX_LENGTH
        return response_size(
            stack_id=f"arn:{partition}:cloudformation:{region}:{account}:stack/{stack_name}/{'u' * 36}",
            request_id="q" * REQUEST_ID_LENGTH,
            logical_id=self.logical_id or "L" * LOGICAL_ID_MAX_LENGTH,
            physical_id=name,
            data=response_data(
                f"arn:{partition}:networkmonitor:{region}:{account}:monitor/{name}",
                name,
                dict.fromkeys(probe_keys, "p" * PROBE_ID_MAX_LENGTH),
            ),
        )

    def problem(self, probe_keys: Sequence[str]) -> str | None:
        """Why the monitor cannot be deployed with these probes: its response could be too long."""
        size = self.largest(probe_keys)
        if size <= RESPONSE_LIMIT_BYTES:
            return None
        fit = self.fitting(probe_keys)
        return (
            f"probes: the response to CloudFormation could reach {size:,} bytes, over its limit of "
            f"{RESPONSE_LIMIT_BYTES:,} (a ProbeId.<key> attribute per probe, with ids of up to {PROBE_ID_MAX_LENGTH} "
            f"characters); {fit} of these {len(probe_keys)} probes fit: give the probes shorter names (or the "
            "monitor a shorter monitor_name), or spread them over several monitors with NetworkMonitor.fan_out"
        )

    def fitting(self, probe_keys: Sequence[str]) -> int:
        """How many of the probes, in order, fit in the response."""
        fit = 0
        while fit < len(probe_keys) and self.largest(probe_keys[: fit + 1]) <= RESPONSE_LIMIT_BYTES:
            fit += 1
        return fit
