"""The service's bounds and quotas as pure checks, shared by the construct and the handler.

Each check returns human-readable problems (never raises) so that callers can report every
problem of a monitor at once. `check_monitor` is the one sequence of them: the construct runs it
at synth time with its prop names, passing `UNKNOWN` for deploy-time tokens; the handler runs it
again with the API's names on the resolved values before it makes any write call, because botocore
does not enforce the model's patterns.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeGuard

MONITOR_NAME_MAX_LENGTH = 200
MONITOR_NAME_PATTERN = re.compile(r"[a-zA-Z0-9_-]+", re.ASCII)
"""Every pattern here is matched whole (`fullmatch`: `$` would let a final newline through) and with
ASCII classes (`[0-9]`: `\\d` takes any Unicode digit): a model pattern names the whole value."""
AGGREGATION_PERIODS = (30, 60)
PACKET_SIZE_MIN = 56
PACKET_SIZE_MAX = 8500
PORT_MIN = 1
PORT_MAX = 65535
DESTINATION_MAX_LENGTH = 255
PROTOCOLS = ("TCP", "ICMP")
MONITOR_ARN_PATTERN = re.compile(
    rf"arn:aws[a-z-]*:networkmonitor:[a-z0-9-]+:[0-9]{{12}}:monitor/{MONITOR_NAME_PATTERN.pattern[:-1]}"
    rf"{{1,{MONITOR_NAME_MAX_LENGTH}}}",
    re.ASCII,
)
"""A monitor's ARN: its name as `MONITOR_NAME_PATTERN` and `MONITOR_NAME_MAX_LENGTH` allow."""
SUBNET_ARN_PATTERN = re.compile(r"arn:aws[a-zA-Z-]*:ec2:[a-z0-9-]+:[0-9]{12}:subnet/subnet-[0-9a-f]+", re.ASCII)
MAX_PROBES_PER_MONITOR = 24
MAX_PROBES_PER_SUBNET = 4
MAX_TAGS = 200
TAG_KEY_MAX_LENGTH = 128
TAG_VALUE_MAX_LENGTH = 256
RESERVED_TAG_PREFIX = "aws:"

ACTIVE = "ACTIVE"
PAUSED = "INACTIVE"
"""The state of a probe declared with enabled=False, as UpdateProbe names it; ACTIVE otherwise."""
DECLARABLE_STATES = (ACTIVE, PAUSED)

OWNER_TAG_PREFIX = "cdk-netmon:"
"""Tag keys under this prefix are the handler's own: users cannot declare them, the handler never removes them."""
OWNER_STACK_TAG = f"{OWNER_TAG_PREFIX}stack-id"
OWNER_LOGICAL_ID_TAG = f"{OWNER_TAG_PREFIX}logical-id"
OWNER_TAG_KEYS = (OWNER_STACK_TAG, OWNER_LOGICAL_ID_TAG)
GENERATION_TAG = f"{OWNER_TAG_PREFIX}generation"
"""The request that last wrote to the monitor (see `model.Generation`): the newest request wins."""
HANDLER_TAG_KEYS = (*OWNER_TAG_KEYS, GENERATION_TAG)
MAX_MONITOR_TAGS = MAX_TAGS - len(HANDLER_TAG_KEYS)
"""What a user may declare on a monitor: the service's 200, less the tags the handler keeps there."""


def check_monitor_name(field: str, name: object) -> list[str]:
    if not isinstance(name, str) or not 1 <= len(name) <= MONITOR_NAME_MAX_LENGTH:
        length = len(name) if isinstance(name, str) else "not a string"
        return [f"{field} {name!r} has length {length}; allowed: 1 to {MONITOR_NAME_MAX_LENGTH} characters"]
    if not MONITOR_NAME_PATTERN.fullmatch(name):
        return [f"{field} {name!r} has characters outside [a-zA-Z0-9_-]; allowed: letters, digits, '_' and '-'"]
    return []


PROBE_NAME_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?", re.ASCII)
PROBE_NAME_MAX_LENGTH = 64
GENERATED_KEY_PREFIXES = ("tcp-", "icmp-")
"""How generated probe keys start; a name may not, so that it never takes a generated key."""


def check_probe_key(field: str, key: object) -> list[str]:
    """A probe's key in `Probes`: its name, or the key generated for it."""
    if not isinstance(key, str) or not PROBE_NAME_PATTERN.fullmatch(key):
        return [
            f"{field} key {key!r} is not a probe name; allowed: 1 to {PROBE_NAME_MAX_LENGTH} letters, digits "
            "and '-', not starting or ending with '-'"
        ]
    return []


def check_probe_name(field: str, name: object) -> list[str]:
    """A name a user gives a probe: a key, and not one of the generated kind."""
    problems = check_probe_key(field, name)
    if problems:
        return [problems[0].replace(" key ", " ", 1)]
    if isinstance(name, str) and name.lower().startswith(GENERATED_KEY_PREFIXES):
        return [f"{field} {name!r} starts like a generated key; allowed: a name not starting with 'tcp-' or 'icmp-'"]
    return []


def check_aggregation_period(field: str, seconds: object) -> list[str]:
    if seconds not in AGGREGATION_PERIODS or isinstance(seconds, bool):
        return [f"{field} {seconds!r} seconds is not supported; allowed: 30 or 60 seconds"]
    return []


def check_destination(field: str, destination: object) -> list[str]:
    if address_family(destination) is None:
        return [f"{field} {destination!r} is not an IP address; allowed: an IPv4 or IPv6 address"]
    return []


def check_protocol_and_port(protocol_field: str, port_field: str, protocol: object, port: object) -> list[str]:
    if protocol not in PROTOCOLS:
        return [f"{protocol_field} {protocol!r} is not supported; allowed: TCP or ICMP"]
    if protocol == "TCP":
        if port is None:
            return [f"{port_field} is missing; TCP probes need a port from {PORT_MIN} to {PORT_MAX}"]
        if not _is_int(port) or not PORT_MIN <= port <= PORT_MAX:
            return [f"{port_field} {port!r} is out of range; allowed: {PORT_MIN} to {PORT_MAX}"]
    elif port is not None:
        return [f"{port_field} {port!r} is set on an ICMP probe; allowed: no port for ICMP"]
    return []


def check_packet_size(field: str, packet_size: object) -> list[str]:
    if packet_size is None:
        return []
    if not _is_int(packet_size) or not PACKET_SIZE_MIN <= packet_size <= PACKET_SIZE_MAX:
        return [f"{field} {packet_size!r} is out of range; allowed: {PACKET_SIZE_MIN} to {PACKET_SIZE_MAX} bytes"]
    return []


def check_probe_state(field: str, state: object) -> list[str]:
    if state not in DECLARABLE_STATES:
        return [f"{field} {state!r} is not a state a probe can be declared in; allowed: ACTIVE or INACTIVE"]
    return []


def check_source_arn(field: str, source_arn: object) -> list[str]:
    if not isinstance(source_arn, str) or not SUBNET_ARN_PATTERN.fullmatch(source_arn):
        return [
            f"{field} {source_arn!r} is not a subnet ARN; "
            "allowed: arn:<partition>:ec2:<region>:<account>:subnet/subnet-<hex>"
        ]
    return []


def check_tags(field: str, tags: Mapping[str, str], max_tags: int = MAX_TAGS) -> list[str]:
    """Tags a user declares. Monitors pass `MAX_MONITOR_TAGS`: the ownership tags take two places."""
    problems: list[str] = []
    if len(tags) > max_tags:
        reserved = MAX_TAGS - max_tags
        reason = f" ({reserved} of the service's {MAX_TAGS} are cdk-netmon's)" if reserved else ""
        problems.append(f"{field} has {len(tags)} tags; allowed: at most {max_tags}{reason}")
    for key, value in tags.items():
        if not 1 <= len(key) <= TAG_KEY_MAX_LENGTH:
            problems.append(f"{field} key {key!r} has length {len(key)}; allowed: 1 to {TAG_KEY_MAX_LENGTH} characters")
        for prefix in (RESERVED_TAG_PREFIX, OWNER_TAG_PREFIX):
            if key.lower().startswith(prefix):
                problems.append(
                    f"{field} key {key!r} uses the reserved prefix {prefix!r}; allowed: keys not starting with "
                    f"'aws:' or 'cdk-netmon:'"
                )
        if len(value) > TAG_VALUE_MAX_LENGTH:
            problems.append(
                f"{field} value of {key!r} has length {len(value)}; allowed: 0 to {TAG_VALUE_MAX_LENGTH} characters"
            )
    return problems


@dataclass(frozen=True)
class Quotas:
    """The service's adjustable quotas that the rules check: its defaults, or what a team has raised
    them to in Service Quotas (see `NetworkMonitorProvider.configure(quotas=...)`)."""

    probes_per_monitor: int = MAX_PROBES_PER_MONITOR
    probes_per_subnet: int = MAX_PROBES_PER_SUBNET

    def problems(self) -> list[str]:
        return [
            f"quotas.{name} {value!r} is not a whole number of at least 1; allowed: the quota Service Quotas shows"
            for name, value in (
                ("probes_per_monitor", self.probes_per_monitor),
                ("probes_per_subnet", self.probes_per_subnet),
            )
            if not _is_int(value) or value < 1
        ]

    def encoded(self) -> str:
        """As the handler's environment carries them (QUOTAS_VARIABLE)."""
        return f"probes_per_monitor={self.probes_per_monitor},probes_per_subnet={self.probes_per_subnet}"

    @classmethod
    def decoded(cls, text: str | None) -> Quotas:
        """Quotas from `encoded`'s text; the defaults for none, or for any part that does not parse."""
        values: dict[str, int] = {}
        for part in (text or "").split(","):
            name, _, value = part.partition("=")
            if name.strip() in ("probes_per_monitor", "probes_per_subnet") and value.strip().isdigit():
                values[name.strip()] = int(value)
        return cls(**values)

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> Quotas:
        """The quotas a handler's environment carries (QUOTAS_VARIABLE): the deployed handler's, or
        what a synthesized template gives its handler functions."""
        return cls.decoded(environment.get(QUOTAS_VARIABLE))


DEFAULT_QUOTAS = Quotas()
QUOTAS_VARIABLE = "CDK_NETMON_QUOTAS"
"""The handler's environment variable that carries the quotas the stack declares."""
QUOTAS_METADATA = "cdk_netmon:quotas"
"""The template `Metadata` key that carries them (`Quotas.encoded`) where native monitors have no handler."""


@dataclass(frozen=True)
class ProbeFacts:
    """What the monitor-wide rules need to know of one probe; None means unknown until deploy."""

    source: str | None
    destination: str | None
    protocol: str | None
    port: object
    source_label: str | None = None
    """How messages name the source (a subnet id or construct path); the source itself when None."""
    origin: str | None = None
    """The fan-out that made the probe (`add_probes: 4 subnets × 7 destinations = 28 probes`)."""
    where: str | None = None
    """How messages name the probe (`probes[3]`); its position in the list when None."""


def check_monitor_probes(probes: Sequence[ProbeFacts], quotas: Quotas = DEFAULT_QUOTAS) -> list[str]:
    """Quotas, duplicates and the IP-family rule, which span probes."""
    problems: list[str] = []
    named = [p.where or f"probes[{index}]" for index, p in enumerate(probes)]
    if len(probes) > quotas.probes_per_monitor:
        problems.append(
            f"probes has {len(probes)} entries{_origins(probes)}; "
            f"allowed: at most {quotas.probes_per_monitor} per monitor{_raised(quotas)}"
        )

    per_source = Counter(p.source for p in probes if p.source is not None)
    labels = {p.source: p.source_label or p.source for p in probes if p.source is not None}
    hinted = bool(problems)
    for source, count in per_source.items():
        if count > quotas.probes_per_subnet:
            # The fan-out that made them is said once, not on every subnet's line.
            origins = "" if hinted else _origins([p for p in probes if p.source == source])
            hinted = hinted or bool(origins)
            problems.append(
                f"probes has {count} probes from source {labels[source]!r}{origins}; "
                f"allowed: at most {quotas.probes_per_subnet} per subnet in one monitor{_raised(quotas)}"
            )

    seen: dict[tuple[str, str, str, object], int] = {}
    for index, probe in enumerate(probes):
        if probe.source is None or probe.destination is None or probe.protocol is None:
            continue
        identity = (probe.source, probe.destination, probe.protocol, probe.port if probe.protocol == "TCP" else None)
        if identity in seen:
            problems.append(
                f"{named[index]} duplicates {named[seen[identity]]} (same source, destination, protocol and port); "
                "allowed: each probe once"
            )
        else:
            seen[identity] = index

    by_family: dict[str, list[str]] = {}
    for index, probe in enumerate(probes):
        family = address_family(probe.destination) if probe.destination is not None else None
        if family is not None:
            by_family.setdefault(family, []).append(f"{named[index]} {probe.destination}")
    if len(by_family) > 1:
        sides = " and ".join(
            f"{'IPv4' if family == 'IPV4' else 'IPv6'} ({_some(members)})"
            for family, members in sorted(by_family.items())
        )
        problems.append(f"probes mix {sides} destinations; allowed: one address family per monitor")
    return problems


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()
"""A value a side cannot judge: a deploy-time token, or a field of the wrong type (reported as such)."""


@dataclass(frozen=True)
class FieldNames:
    """How one side names the fields in its messages."""

    monitor_name: str
    aggregation_period: str
    tags: str
    source_arn: str
    destination: str
    protocol: str
    destination_port: str
    packet_size: str
    probe_tags: str
    state: str


PROP_NAMES = FieldNames(
    "monitor_name",
    "aggregation_period",
    "tags",
    "source_arn",
    "destination",
    "protocol",
    "destination_port",
    "packet_size",
    "probe_tags",
    "enabled",
)
"""The construct's words: NetworkMonitorProps and MonitorProbe."""
API_NAMES = FieldNames(
    "monitorName",
    "aggregationPeriod",
    "tags",
    "sourceArn",
    "destination",
    "protocol",
    "destinationPort",
    "packetSize",
    "probeTags",
    "state",
)
"""The handler's words: the Network Monitor API's field names."""


@dataclass(frozen=True)
class ProbeValues:
    """One probe as a side holds it; `UNKNOWN` for what it cannot judge."""

    where: str
    """How messages name the probe: `probes[0]`, `probes[dc1-https]`, `add_probes(...)`."""
    source_arn: object = UNKNOWN
    destination: object = UNKNOWN
    protocol: object = UNKNOWN
    """`UNKNOWN` checks a known port as a TCP port would be."""
    destination_port: object = UNKNOWN
    deploy_time_port: bool = False
    """`destination_port` is set, to a value known only at deploy (the construct's side): the rules
    that hold for any port still apply."""
    packet_size: object = UNKNOWN
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)
    state: object = UNKNOWN
    name: object = UNKNOWN
    """A name the user gave the probe (the construct's `MonitorProbe.name`)."""
    key: object = UNKNOWN
    """The probe's key in `Probes` (the handler's)."""
    found: Sequence[str] = ()
    """What the side found before the shared rules run (the construct: `source` and `source_arn`)."""
    source: str | None = None
    """The source as the monitor-wide rules compare it, where it is not the checked `source_arn`
    (an ISubnet's ARN, possibly a token); None for unknown."""
    source_label: str | None = None
    origin: str | None = None

    def facts(self) -> ProbeFacts:
        port = None if self.destination_port is UNKNOWN else self.destination_port
        return ProbeFacts(
            source=self.source if self.source is not None else _known_str(self.source_arn),
            destination=_known_str(self.destination),
            # An unknown port makes the identity unknown: two such probes are not known duplicates.
            protocol=None if self.destination_port is UNKNOWN else _known_str(self.protocol),
            port=port,
            source_label=self.source_label,
            origin=self.origin,
            where=self.where,
        )


def check_monitor(
    names: FieldNames,
    *,
    name: object,
    aggregation_period: object,
    tags: Mapping[str, str],
    probes: Sequence[ProbeValues],
    quotas: Quotas = DEFAULT_QUOTAS,
    account: str | None = None,
    region: str | None = None,
) -> list[str]:
    """Every rule a monitor breaks, in one order for both sides. `account` and `region`, where
    known, are the only ones a subnet ARN may name."""
    problems: list[str] = []
    if name is not UNKNOWN:
        problems += check_monitor_name(names.monitor_name, name)
    if aggregation_period is not UNKNOWN:
        problems += check_aggregation_period(names.aggregation_period, aggregation_period)
    problems += check_tags(names.tags, tags, MAX_MONITOR_TAGS)
    named: dict[object, str] = {}
    for probe in probes:
        if probe.name is not UNKNOWN:
            problems += check_probe_name(f"{probe.where}.name", probe.name)
            if probe.name in named:
                problems.append(
                    f"{probe.where}.name {probe.name!r} is also the name of {named[probe.name]}; "
                    "allowed: each name once"
                )
            named.setdefault(probe.name, probe.where)
    for probe in probes:
        problems += check_probe(names, probe, account=account, region=region)
    problems += check_monitor_probes([probe.facts() for probe in probes], quotas)
    return problems


def check_probe(
    names: FieldNames, probe: ProbeValues, *, account: str | None = None, region: str | None = None
) -> list[str]:
    where = probe.where
    problems = list(probe.found)
    if probe.key is not UNKNOWN:
        problems += check_probe_key(where, probe.key)
    if probe.source_arn is not UNKNOWN:
        field_name = f"{where}.{names.source_arn}"
        problems += check_source_arn(field_name, probe.source_arn) or check_source_place(
            field_name, probe.source_arn, account, region
        )
    if probe.destination is not UNKNOWN:
        problems += check_destination(f"{where}.{names.destination}", probe.destination)
    port = probe.destination_port
    if probe.deploy_time_port and probe.protocol == "ICMP":
        problems.append(
            f"{where}.{names.destination_port} is set (a deploy-time value) on an ICMP probe; allowed: no port"
        )
    if port is not UNKNOWN and (probe.protocol is not UNKNOWN or port is not None):
        protocol = "TCP" if probe.protocol is UNKNOWN else probe.protocol
        problems += check_protocol_and_port(
            f"{where}.{names.protocol}", f"{where}.{names.destination_port}", protocol, port
        )
    if probe.packet_size is not UNKNOWN:
        problems += check_packet_size(f"{where}.{names.packet_size}", probe.packet_size)
    problems += check_tags(f"{where}.{names.probe_tags}", probe.tags)
    if probe.state is not UNKNOWN:
        problems += check_probe_state(f"{where}.{names.state}", probe.state)
    return problems


def check_source_place(field: str, source_arn: object, account: str | None, region: str | None) -> list[str]:
    """A subnet of another account or region than the monitor's: the service refuses it."""
    if not isinstance(source_arn, str) or not SUBNET_ARN_PATTERN.fullmatch(source_arn):
        return []
    _, _, _, arn_region, arn_account, _ = source_arn.split(":", 5)
    wrong = [
        f"{label} {value}"
        for label, value, expected in (("account", arn_account, account), ("region", arn_region, region))
        if expected is not None and value != expected
    ]
    if not wrong:
        return []
    return [
        f"{field} {source_arn!r} is in {' and '.join(wrong)}; allowed: a subnet of the stack's own account "
        f"and region ({account or 'any account'}, {region or 'any region'})"
    ]


def _known_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _some(items: Sequence[str], most: int = 3) -> str:
    shown = ", ".join(items[:most])
    return shown if len(items) <= most else f"{shown} and {len(items) - most} more"


def _raised(quotas: Quotas) -> str:
    return "" if quotas == DEFAULT_QUOTAS else " (the quota declared for this stack)"


def _origins(probes: Sequence[ProbeFacts]) -> str:
    """The fan-outs behind a quota, so that the message states the product; NetworkMonitor.fan_out
    spreads a larger one over several monitors."""
    origins = sorted({p.origin for p in probes if p.origin})
    return f" ({'; '.join(origins)}; NetworkMonitor.fan_out spreads more over several monitors)" if origins else ""


def address_family(destination: object) -> str | None:
    """IPV4 or IPV6 as the service names them, or None when the value is not an address."""
    if not isinstance(destination, str) or not 1 <= len(destination) <= DESTINATION_MAX_LENGTH:
        return None
    return _family_of(destination)


@functools.lru_cache(maxsize=4096)
def _family_of(destination: str) -> str | None:
    """Cached: several rules ask of each probe's destination, as it joins and again at synth, and
    parsing an address is the costliest step of a probe's validation."""
    try:
        return "IPV4" if ipaddress.ip_address(destination).version == 4 else "IPV6"
    except ValueError:
        return None


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def is_owner_tag(key: str) -> bool:
    return key.lower().startswith(OWNER_TAG_PREFIX)
