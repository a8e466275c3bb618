"""The emulated service's state and rules for one account and region, independent of HTTP.

Every public method named after an operation (`create_monitor` for CreateMonitor, ...) takes the
API's parameters in snake case, as the protocol layer hands them over, and returns the response
body. The rules are checked here on their own, apart from `cdk_netmon/handler/rules.py`, on purpose:
the emulator is an oracle for the handler and the construct, so it must not share their mistakes.
Probes leave their footprint in EC2 (`network`): a security group per monitor and VPC, a network
interface per probe, which goes `Settings.interface_seconds` after its probe.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from cdk_netmon.testing.clock import Clock

from .exceptions import ServiceError, not_found, quota, validation
from .models import Monitor, Probe, family_of
from .network import ServiceNetwork

MAX_MONITORS = 100
MAX_PROBES_PER_MONITOR = 24
MAX_PROBES_PER_SUBNET = 4
MAX_TAGS = 200
WRITE_OPERATIONS = frozenset(
    {
        "CreateMonitor",
        "UpdateMonitor",
        "DeleteMonitor",
        "CreateProbe",
        "UpdateProbe",
        "DeleteProbe",
        "TagResource",
        "UntagResource",
    }
)
"""The operations that change something; the other four only read."""

SettlingWrites = Literal["accept", "refuse"]


@dataclass(frozen=True)
class Settings:
    """How the emulated service behaves where the real one is not known exactly."""

    pending_seconds: float = 60.0
    """How long a created or changed monitor or probe stays PENDING."""
    deleting_seconds: float = 20.0
    """How long a deleted monitor or probe stays DELETING."""
    interface_seconds: float = 20.0
    """How long a probe's network interface outlives the probe; meanwhile its security group cannot
    be deleted (DependencyViolation). Not published; Terraform's tests delete the group after the
    probe's deletion has completed."""
    settling_writes: SettlingWrites = "accept"
    """Whether writes to a monitor that is PENDING are accepted (and keep it PENDING) or refused
    with ValidationException. Unconfirmed either way; "accept" follows the evidence: Terraform's
    provider creates probes while the monitor is PENDING, retries no error, and no user reports a
    refusal."""
    probes_per_monitor: int = MAX_PROBES_PER_MONITOR
    """The account's quota; a team may have raised it in Service Quotas."""
    probes_per_subnet: int = MAX_PROBES_PER_SUBNET
    """The account's quota per subnet, likewise."""


class NetworkMonitorBackend:
    """One account and region of Network Monitor."""

    def __init__(self, account: str, region: str, clock: Clock, settings: Settings, network: ServiceNetwork) -> None:
        self.account, self.region = account, region
        self.clock = clock
        self.settings = settings
        self.network = network
        self.monitors: dict[str, Monitor] = {}
        self.tokens: dict[str, tuple[str, Any]] = {}
        self.error_destinations: set[str] = set()
        self.interface_removals: list[tuple[float, str]] = []
        """(when, network interface id) of probes that are gone, whose interface the service removes then."""

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:networkmonitor:{self.region}:{self.account}:{kind}/{name}"

    # -- time ---------------------------------------------------------------------------------

    def settle(self) -> None:
        """Finish deletions whose time has come, and remove the network interfaces of probes gone."""
        now = self.clock.now()
        for monitor in list(self.monitors.values()):
            if monitor.deleting_until is not None and now >= monitor.deleting_until:
                del self.monitors[monitor.name]
                continue
            for probe in list(monitor.probes.values()):
                if probe.deleting_until is not None and now >= probe.deleting_until:
                    self.forget(monitor, probe, probe.deleting_until)
        due = [item for item in self.interface_removals if now >= item[0]]
        for item in due:
            self.network.detach(item[1])
            self.interface_removals.remove(item)

    def forget(self, monitor: Monitor, probe: Probe, gone_at: float) -> None:
        del monitor.probes[probe.probe_id]
        if probe.interface_id is not None:
            self.interface_removals.append((gone_at + self.settings.interface_seconds, probe.interface_id))

    # -- monitors -------------------------------------------------------------------------------

    def create_monitor(
        self,
        monitor_name: str,
        probes: list[Mapping[str, Any]] | None = None,
        aggregation_period: int | None = None,
        client_token: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        request = {"monitorName": monitor_name, "probes": probes, "period": aggregation_period, "tags": tags}
        return self._idempotent(
            "CreateMonitor",
            client_token,
            request,
            lambda: self._create_monitor(monitor_name, probes, aggregation_period, tags),
        )

    def _create_monitor(
        self,
        name: str,
        probes: list[Mapping[str, Any]] | None,
        period: int | None,
        tags: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        if name in self.monitors:
            raise ServiceError("ConflictException", 409, f"Monitor {name} already exists")
        if len(self.monitors) >= MAX_MONITORS:
            raise quota(f"An account can have at most {MAX_MONITORS} monitors per region")
        period = 60 if period is None else period
        check_period(period)
        check_tags(dict(tags or {}))
        now = self.clock.now()
        monitor = Monitor(self.arn("monitor", name), name, period, dict(tags or {}), now, now, now)
        try:
            for body in probes or ():
                self._add_probe(monitor, {**body, "tags": body.get("probeTags") or {}})
        except ServiceError:
            for probe in monitor.probes.values():  # nothing of a refused request stays in EC2
                if probe.interface_id is not None:
                    self.network.detach(probe.interface_id)
            raise
        if monitor.probes:
            monitor.settled_at = now + self.settings.pending_seconds
        self.monitors[name] = monitor
        return monitor.summary(now)

    def get_monitor(self, monitor_name: str) -> dict[str, Any]:
        return self._monitor(monitor_name).describe(self.clock.now())

    def update_monitor(self, monitor_name: str, aggregation_period: int) -> dict[str, Any]:
        monitor = self._monitor(monitor_name, writing=True)
        check_period(aggregation_period)
        now = self.clock.now()
        monitor.aggregation_period = aggregation_period
        monitor.modified_at = now
        monitor.settled_at = now + self.settings.pending_seconds
        return monitor.summary(now)

    def delete_monitor(self, monitor_name: str) -> dict[str, Any]:
        monitor = self._monitor(monitor_name)
        if monitor.probes:
            raise validation(f"Monitor {monitor_name} still has {len(monitor.probes)} probes; delete them first")
        if monitor.deleting_until is None:
            monitor.deleting_until = self.clock.now() + self.settings.deleting_seconds
        return {}

    def list_monitors(
        self, max_results: int | None = None, next_token: str | None = None, state: str | None = None
    ) -> dict[str, Any]:
        now = self.clock.now()
        names = sorted(n for n, m in self.monitors.items() if state is None or m.state(now) == state)
        start = int(next_token) if next_token else 0
        page = names[start : start + (max_results or 25)]
        result: dict[str, Any] = {"monitors": [self.monitors[n].summary(now) for n in page]}
        if start + len(page) < len(names):
            result["nextToken"] = str(start + len(page))
        return result

    # -- probes ---------------------------------------------------------------------------------

    def create_probe(
        self,
        monitor_name: str,
        probe: Mapping[str, Any],
        client_token: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        request = {"monitorName": monitor_name, "probe": probe, "tags": tags}
        return self._idempotent(
            f"CreateProbe/{monitor_name}", client_token, request, lambda: self._create_probe(monitor_name, probe, tags)
        )

    def _create_probe(
        self, monitor_name: str, body: Mapping[str, Any], tags: Mapping[str, str] | None
    ) -> dict[str, Any]:
        monitor = self._monitor(monitor_name, writing=True)
        probe = self._add_probe(monitor, {**body, "tags": {**(tags or {}), **(body.get("tags") or {})}})
        now = self.clock.now()
        monitor.settled_at = max(monitor.settled_at, probe.settled_at)
        return probe.describe(now)

    def get_probe(self, monitor_name: str, probe_id: str) -> dict[str, Any]:
        return self._probe(monitor_name, probe_id).describe(self.clock.now())

    def update_probe(
        self,
        monitor_name: str,
        probe_id: str,
        state: str | None = None,
        destination: str | None = None,
        destination_port: int | None = None,
        protocol: str | None = None,
        packet_size: int | None = None,
    ) -> dict[str, Any]:
        monitor = self._monitor(monitor_name, writing=True)
        probe = self._probe(monitor_name, probe_id)
        if probe.deleting_until is not None:
            raise validation(f"Probe {probe_id} is being deleted")
        protocol = protocol or probe.protocol
        destination = destination or probe.destination
        port = destination_port if destination_port is not None else probe.destination_port
        check_probe_target(destination, protocol, port)
        check_family(monitor, destination, ignoring=probe)
        if state is not None and state not in ("ACTIVE", "INACTIVE"):
            raise validation(f"A probe's state can be set to ACTIVE or INACTIVE, not {state}")
        now = self.clock.now()
        probe.destination, probe.protocol = destination, protocol
        probe.destination_port = port if protocol == "TCP" else None
        probe.packet_size = packet_size or probe.packet_size
        if state is not None:
            probe.paused = state == "INACTIVE"
        probe.modified_at = now
        probe.settled_at = monitor.settled_at = now + self.settings.pending_seconds
        return probe.describe(now)

    def delete_probe(self, monitor_name: str, probe_id: str) -> dict[str, Any]:
        probe = self._probe(monitor_name, probe_id)
        if probe.deleting_until is None:
            probe.deleting_until = self.clock.now() + self.settings.deleting_seconds
        return {}

    # -- tags -------------------------------------------------------------------------------------

    def tag_resource(self, resource_arn: str, tags: Mapping[str, str]) -> dict[str, Any]:
        resource = self._by_arn(resource_arn)
        merged = {**resource.tags, **tags}
        check_tags(merged)
        resource.tags = merged
        return {}

    def untag_resource(self, resource_arn: str, tag_keys: list[str]) -> dict[str, Any]:
        resource = self._by_arn(resource_arn)
        resource.tags = {k: v for k, v in resource.tags.items() if k not in tag_keys}
        return {}

    def list_tags_for_resource(self, resource_arn: str) -> dict[str, Any]:
        return {"tags": dict(self._by_arn(resource_arn).tags)}

    # -- state, for --state files ----------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        return {
            "monitors": [
                {**asdict(m), "probes": [asdict(p) for p in m.probes.values()]} for m in self.monitors.values()
            ],
            "tokens": self.tokens,
            "error_destinations": sorted(self.error_destinations),
        }

    def load(self, state: Mapping[str, Any]) -> None:
        """Take up a `dump`, placing its probes again in this EC2 (which starts without them)."""
        self.monitors = {}
        for body in state["monitors"]:
            probes = [Probe(**p) for p in body["probes"]]
            monitor = Monitor(**{**body, "probes": {p.probe_id: p for p in probes}})
            for probe in probes:
                attached = self.network.attach(monitor.name, _subnet_id(probe.source_arn))
                probe.vpc_id, probe.interface_id = attached.vpc_id, attached.interface_id
            self.monitors[monitor.name] = monitor
        self.tokens = {k: (v[0], v[1]) for k, v in state["tokens"].items()}
        self.error_destinations = set(state["error_destinations"])

    # -- helpers ---------------------------------------------------------------------------------

    def _idempotent(
        self, scope: str, token: str | None, request: Mapping[str, Any], create: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        if not token:
            return create()
        fingerprint = json.dumps(request, sort_keys=True)
        seen = self.tokens.get(f"{scope}/{token}")
        if seen is not None:
            if seen[0] != fingerprint:
                raise ServiceError("ConflictException", 409, "clientToken was used before with a different request")
            return copy.deepcopy(dict(seen[1]))
        result = create()
        self.tokens[f"{scope}/{token}"] = (fingerprint, copy.deepcopy(result))
        return result

    def _monitor(self, name: str, writing: bool = False) -> Monitor:
        monitor = self.monitors.get(name)
        if monitor is None:
            raise not_found(f"Monitor {name} not found")
        if writing:
            state = monitor.state(self.clock.now())
            refused = ("DELETING",) if self.settings.settling_writes == "accept" else ("PENDING", "DELETING")
            if state in refused:
                raise validation(f"Monitor {name} is {state}; wait until it is ACTIVE or INACTIVE")
        return monitor

    def _probe(self, monitor_name: str, probe_id: str) -> Probe:
        probe = self._monitor(monitor_name).probes.get(probe_id)
        if probe is None:
            raise not_found(f"Probe {probe_id} not found in monitor {monitor_name}")
        return probe

    def _by_arn(self, arn: str) -> Monitor | Probe:
        for monitor in self.monitors.values():
            if monitor.arn == arn:
                return monitor
            for probe in monitor.probes.values():
                if probe.arn == arn:
                    return probe
        raise not_found(f"Resource {arn} not found")

    def _add_probe(self, monitor: Monitor, body: Mapping[str, Any]) -> Probe:
        source, destination, protocol = body["sourceArn"], body["destination"], body["protocol"]
        port = body.get("destinationPort")
        subnet = rf"arn:aws[a-z-]*:ec2:{re.escape(self.region)}:{self.account}:subnet/subnet-[0-9a-f]+"
        if not re.fullmatch(subnet, source):
            raise validation(f"sourceArn {source} is not a subnet of account {self.account} in {self.region}")
        check_probe_target(destination, protocol, port)
        tags = dict(body.get("tags") or {})
        check_tags(tags)
        check_family(monitor, destination)
        live = [p for p in monitor.probes.values() if p.deleting_until is None]
        per_monitor, per_subnet = self.settings.probes_per_monitor, self.settings.probes_per_subnet
        if len(live) >= per_monitor:
            raise quota(f"A monitor can have at most {per_monitor} probes")
        if sum(p.source_arn == source for p in live) >= per_subnet:
            raise quota(f"A monitor can have at most {per_subnet} probes per subnet")
        attached = self.network.attach(monitor.name, _subnet_id(source))
        now = self.clock.now()
        probe_id = "probe-" + uuid.uuid4().hex[:24]
        probe = Probe(
            arn=self.arn("probe", probe_id),
            probe_id=probe_id,
            source_arn=source,
            destination=destination,
            protocol=protocol,
            destination_port=port if protocol == "TCP" else None,
            packet_size=body.get("packetSize") or 56,
            tags=tags,
            created_at=now,
            modified_at=now,
            settled_at=now + self.settings.pending_seconds,
            error=destination in self.error_destinations,
            vpc_id=attached.vpc_id,
            interface_id=attached.interface_id,
        )
        monitor.probes[probe_id] = probe
        return probe


def _subnet_id(source_arn: str) -> str:
    return source_arn.rsplit("/", 1)[-1]


def check_period(period: int) -> None:
    if period not in (30, 60):
        raise validation(f"aggregationPeriod must be 30 or 60, not {period}")


def check_probe_target(destination: str, protocol: str, port: int | None) -> None:
    try:
        family_of(destination)
    except ValueError:
        raise validation(f"destination {destination} is not an IP address") from None
    if protocol == "TCP" and (port is None or not 1 <= port <= 65535):
        raise validation(f"TCP probes need a destinationPort from 1 to 65535, not {port}")


def check_family(monitor: Monitor, destination: str, ignoring: Probe | None = None) -> None:
    """A monitor's probes (those not on their way out) all use one address family."""
    others = [p for p in monitor.probes.values() if p is not ignoring and p.deleting_until is None]
    if others and family_of(destination) != others[0].family:
        raise validation("A monitor's probes must all use one address family (IPv4 or IPv6)")


def check_tags(tags: Mapping[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise validation(f"A resource can have at most {MAX_TAGS} tags")
    reserved = [k for k in tags if k.lower().startswith("aws:")]
    if reserved:
        raise validation(f"Tag keys starting with 'aws:' are reserved: {reserved}")
