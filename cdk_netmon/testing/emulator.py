"""A stateful, local stand-in for the Network Monitor API (2023-08-01), served over HTTP.

An unmodified boto3 client reaches it through `endpoint_url` or AWS_ENDPOINT_URL_NETWORKMONITOR,
so the real REST-JSON serialisation, error parsing and SDK retries are exercised. Requests are
validated with botocore's own validator against the service model, plus the model's regex patterns
(which botocore does not check), then against the service's rules: quotas, IP families, immutable
fields, reserved tag keys, idempotent client tokens, and states that stay PENDING or DELETING for a
while on a clock the caller controls. With a policy installed (`use_policy`), every request is first
authorized as IAM would authorize it, and refused with AccessDeniedException otherwise.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import ipaddress
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import botocore.endpoint
import botocore.session
from botocore.model import OperationModel, Shape
from botocore.validate import ParamValidator

from .iam import AccessPolicy, ContextValue

ACCOUNT = "123456789012"
REGION = "eu-west-1"
CALLER = f"arn:aws:sts::{ACCOUNT}:assumed-role/handler-role/handler"
Authorization = tuple[str, str, dict[str, ContextValue]]
"""What IAM is asked for one request: an action, a resource ARN and the condition context."""
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


class ServiceError(Exception):
    """An error response: the service's error code, HTTP status and message."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.status, self.message = code, status, message


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", 400, message)


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", 404, message)


def quota(message: str) -> ServiceError:
    return ServiceError("ServiceQuotaExceededException", 402, message)


class Clock:
    """Virtual time: PENDING periods of minutes pass when the test says so, not in real time."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@dataclass
class Faults:
    """What goes wrong, and how often. Fractions apply per request, drawn from a seeded RNG."""

    throttle: float = 0.0
    """Fraction of requests answered 429 ThrottlingException (nothing is done)."""
    internal_error: float = 0.0
    """Fraction of requests answered 500 InternalServerException (nothing is done)."""
    latency: float = 0.0
    """Real seconds added to every request."""
    seed: int = 0
    only: frozenset[str] | None = None
    """Operations the fractions apply to; None means all."""


@dataclass
class Probe:
    probe_id: str
    source_arn: str
    destination: str
    protocol: str
    destination_port: int | None
    packet_size: int
    tags: dict[str, str]
    created_at: float
    modified_at: float
    settled_at: float
    paused: bool = False
    error: bool = False
    deleting_until: float | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:networkmonitor:{REGION}:{ACCOUNT}:probe/{self.probe_id}"

    @property
    def family(self) -> str:
        return family_of(self.destination)

    def state(self, now: float) -> str:
        return lifecycle_state(self, now, settled="INACTIVE" if self.paused else "ACTIVE")

    def describe(self, now: float) -> dict[str, Any]:
        body: dict[str, Any] = {
            "probeId": self.probe_id,
            "probeArn": self.arn,
            "sourceArn": self.source_arn,
            "destination": self.destination,
            "protocol": self.protocol,
            "packetSize": self.packet_size,
            "addressFamily": self.family,
            "vpcId": "vpc-" + hashlib.sha256(self.source_arn.encode()).hexdigest()[:17],
            "state": self.state(now),
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "tags": dict(self.tags),
        }
        if self.destination_port is not None:
            body["destinationPort"] = self.destination_port
        return body


@dataclass
class Monitor:
    name: str
    aggregation_period: int
    tags: dict[str, str]
    created_at: float
    modified_at: float
    settled_at: float
    probes: dict[str, Probe] = field(default_factory=dict)
    error: bool = False
    deleting_until: float | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:networkmonitor:{REGION}:{ACCOUNT}:monitor/{self.name}"

    def state(self, now: float) -> str:
        return lifecycle_state(self, now, settled="ACTIVE" if self.probes else "INACTIVE")

    def summary(self, now: float) -> dict[str, Any]:
        return {
            "monitorArn": self.arn,
            "monitorName": self.name,
            "state": self.state(now),
            "aggregationPeriod": self.aggregation_period,
            "tags": dict(self.tags),
        }


def lifecycle_state(resource: Monitor | Probe, now: float, settled: str) -> str:
    """The precedence monitors and probes share: DELETING, then ERROR, then PENDING until settled."""
    if resource.deleting_until is not None:
        return "DELETING"
    if resource.error:
        return "ERROR"
    if now < resource.settled_at:
        return "PENDING"
    return settled


def family_of(destination: str) -> str:
    return "IPV4" if ipaddress.ip_address(destination).version == 4 else "IPV6"


class NetworkMonitorService:
    """The service's state and rules, independent of HTTP; every public method is an operation."""

    def __init__(self, clock: Clock, pending_seconds: float = 60.0, deleting_seconds: float = 20.0) -> None:
        self.clock = clock
        self.pending_seconds = pending_seconds
        self.deleting_seconds = deleting_seconds
        self.monitors: dict[str, Monitor] = {}
        self._tokens: dict[tuple[str, str], tuple[str, Any]] = {}
        self.error_destinations: set[str] = set()
        """Probes to these destinations come up in ERROR (see LocalNetworkMonitor.force_error_on_probes_to)."""
        self.lock = threading.RLock()

    # -- time ---------------------------------------------------------------------------------

    def settle(self) -> None:
        """Finish deletions whose time has come."""
        now = self.clock.now()
        for monitor in list(self.monitors.values()):
            if monitor.deleting_until is not None and now >= monitor.deleting_until:
                del self.monitors[monitor.name]
                continue
            for probe in list(monitor.probes.values()):
                if probe.deleting_until is not None and now >= probe.deleting_until:
                    del monitor.probes[probe.probe_id]

    # -- monitors -------------------------------------------------------------------------------

    def create_monitor(self, request: Mapping[str, Any]) -> dict[str, Any]:
        return self._idempotent("CreateMonitor", request, lambda: self._create_monitor(request))

    def _create_monitor(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = request["monitorName"]
        if name in self.monitors:
            raise ServiceError("ConflictException", 409, f"Monitor {name} already exists")
        if len(self.monitors) >= MAX_MONITORS:
            raise quota(f"An account can have at most {MAX_MONITORS} monitors")
        period = request.get("aggregationPeriod", 60)
        check_period(period)
        tags = dict(request.get("tags") or {})
        check_tags(tags)
        now = self.clock.now()
        monitor = Monitor(name, period, tags, now, now, now)
        for body in request.get("probes") or ():
            self._add_probe(monitor, {**body, "tags": body.get("probeTags") or {}})
        if monitor.probes:
            monitor.settled_at = now + self.pending_seconds
        for probe in monitor.probes.values():
            probe.error = probe.destination in self.error_destinations
        self.monitors[name] = monitor
        return monitor.summary(now)

    def get_monitor(self, name: str) -> dict[str, Any]:
        monitor = self._monitor(name)
        now = self.clock.now()
        return {
            **monitor.summary(now),
            "probes": [p.describe(now) for p in monitor.probes.values()],
            "createdAt": monitor.created_at,
            "modifiedAt": monitor.modified_at,
        }

    def update_monitor(self, name: str, aggregation_period: int) -> dict[str, Any]:
        monitor = self._monitor(name, writable=True)
        check_period(aggregation_period)
        now = self.clock.now()
        monitor.aggregation_period = aggregation_period
        monitor.modified_at = now
        monitor.settled_at = now + self.pending_seconds
        return monitor.summary(now)

    def delete_monitor(self, name: str) -> dict[str, Any]:
        monitor = self._monitor(name)
        if monitor.probes:
            raise validation(f"Monitor {name} still has {len(monitor.probes)} probes; delete them first")
        if monitor.deleting_until is None:
            monitor.deleting_until = self.clock.now() + self.deleting_seconds
        return {}

    def list_monitors(self, max_results: int | None, next_token: str | None, state: str | None) -> dict[str, Any]:
        now = self.clock.now()
        names = sorted(n for n, m in self.monitors.items() if state is None or m.state(now) == state)
        start = int(next_token) if next_token else 0
        page = names[start : start + (max_results or 25)]
        result: dict[str, Any] = {"monitors": [self.monitors[n].summary(now) for n in page]}
        if start + len(page) < len(names):
            result["nextToken"] = str(start + len(page))
        return result

    # -- probes ---------------------------------------------------------------------------------

    def create_probe(self, name: str, request: Mapping[str, Any]) -> dict[str, Any]:
        return self._idempotent(f"CreateProbe/{name}", request, lambda: self._create_probe(name, request))

    def _create_probe(self, name: str, request: Mapping[str, Any]) -> dict[str, Any]:
        monitor = self._monitor(name, writable=True)
        probe = self._add_probe(
            monitor,
            {**request["probe"], "tags": {**(request.get("tags") or {}), **(request["probe"].get("tags") or {})}},
        )
        now = self.clock.now()
        probe.settled_at = monitor.settled_at = now + self.pending_seconds
        probe.error = probe.destination in self.error_destinations
        return probe.describe(now)

    def get_probe(self, name: str, probe_id: str) -> dict[str, Any]:
        return self._probe(name, probe_id).describe(self.clock.now())

    def update_probe(self, name: str, probe_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        monitor = self._monitor(name, writable=True)
        probe = self._probe(name, probe_id)
        if probe.deleting_until is not None:
            raise validation(f"Probe {probe_id} is being deleted")
        protocol = changes.get("protocol", probe.protocol)
        destination = changes.get("destination", probe.destination)
        port = changes.get("destinationPort", probe.destination_port)
        check_probe_target(destination, protocol, port)
        check_family(monitor, destination, ignoring=probe)
        now = self.clock.now()
        probe.destination, probe.protocol = destination, protocol
        probe.destination_port = port if protocol == "TCP" else None
        probe.packet_size = changes.get("packetSize", probe.packet_size)
        if "state" in changes:
            if changes["state"] not in ("ACTIVE", "INACTIVE"):
                raise validation(f"A probe's state can be set to ACTIVE or INACTIVE, not {changes['state']}")
            probe.paused = changes["state"] == "INACTIVE"
        probe.modified_at = now
        probe.settled_at = monitor.settled_at = now + self.pending_seconds
        return probe.describe(now)

    def delete_probe(self, name: str, probe_id: str) -> dict[str, Any]:
        probe = self._probe(name, probe_id)
        if probe.deleting_until is None:
            probe.deleting_until = self.clock.now() + self.deleting_seconds
        return {}

    # -- tags -------------------------------------------------------------------------------------

    def tag_resource(self, arn: str, tags: Mapping[str, str]) -> dict[str, Any]:
        resource = self._by_arn(arn)
        merged = {**resource.tags, **tags}
        check_tags(merged)
        resource.tags = merged
        return {}

    def untag_resource(self, arn: str, keys: list[str]) -> dict[str, Any]:
        resource = self._by_arn(arn)
        resource.tags = {k: v for k, v in resource.tags.items() if k not in keys}
        return {}

    def list_tags_for_resource(self, arn: str) -> dict[str, Any]:
        return {"tags": dict(self._by_arn(arn).tags)}

    # -- helpers ---------------------------------------------------------------------------------

    def _idempotent(self, scope: str, request: Mapping[str, Any], create: Any) -> dict[str, Any]:
        token = request.get("clientToken")
        if not token:
            return dict(create())
        fingerprint = json.dumps({k: v for k, v in request.items() if k != "clientToken"}, sort_keys=True)
        seen = self._tokens.get((scope, token))
        if seen is not None:
            if seen[0] != fingerprint:
                raise ServiceError("ConflictException", 409, "clientToken was used before with a different request")
            return copy.deepcopy(dict(seen[1]))
        result = create()
        self._tokens[(scope, token)] = (fingerprint, copy.deepcopy(result))
        return dict(result)

    def _monitor(self, name: str, writable: bool = False) -> Monitor:
        monitor = self.monitors.get(name)
        if monitor is None:
            raise not_found(f"Monitor {name} not found")
        if writable:
            state = monitor.state(self.clock.now())
            if state in ("PENDING", "DELETING"):
                raise validation(f"Monitor {name} is {state}; wait until it is ACTIVE or INACTIVE")
        return monitor

    def _probe(self, name: str, probe_id: str) -> Probe:
        probe = self._monitor(name).probes.get(probe_id)
        if probe is None:
            raise not_found(f"Probe {probe_id} not found in monitor {name}")
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
        if not re.fullmatch(rf"arn:aws[a-z-]*:ec2:{REGION}:{ACCOUNT}:subnet/subnet-[0-9a-f]+", source):
            raise validation(f"sourceArn {source} is not a subnet of account {ACCOUNT} in {REGION}")
        check_probe_target(destination, protocol, port)
        tags = dict(body.get("tags") or {})
        check_tags(tags)
        check_family(monitor, destination)
        live = [p for p in monitor.probes.values() if p.deleting_until is None]
        if len(live) >= MAX_PROBES_PER_MONITOR:
            raise quota(f"A monitor can have at most {MAX_PROBES_PER_MONITOR} probes")
        if sum(p.source_arn == source for p in live) >= MAX_PROBES_PER_SUBNET:
            raise quota(f"A monitor can have at most {MAX_PROBES_PER_SUBNET} probes per subnet")
        now = self.clock.now()
        probe_id = "probe-" + uuid.uuid4().hex[:24]
        probe = Probe(
            probe_id,
            source,
            destination,
            protocol,
            port if protocol == "TCP" else None,
            body.get("packetSize") or 56,
            tags,
            now,
            now,
            now + self.pending_seconds,
        )
        monitor.probes[probe_id] = probe
        return probe


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


# --- HTTP --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    operation: OperationModel
    method: str
    pattern: re.Pattern[str]


def load_routes() -> list[Route]:
    model = botocore.session.get_session().get_service_model("networkmonitor")
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        uri = operation.http["requestUri"].split("?")[0]
        pattern = re.sub(r"\{(\w+)\+?\}", r"(?P<\1>[^/]+)", uri)
        routes.append(Route(operation, operation.http["method"], re.compile(f"^{pattern}$")))
    return routes


def check_patterns(shape: Shape, value: Any, path: str) -> list[str]:
    """The model's regex patterns, which botocore's validator leaves unchecked."""
    problems: list[str] = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for member, member_shape in shape.members.items():
            if member in value:
                problems += check_patterns(member_shape, value[member], f"{path}.{member}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            problems += check_patterns(shape.member, item, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            problems += check_patterns(shape.key, key, f"{path} key")
            problems += check_patterns(shape.value, item, f"{path}.{key}")
    elif shape.type_name == "string" and isinstance(value, str):
        pattern = shape.metadata.get("pattern")
        if pattern and not re.fullmatch(pattern, value):
            problems.append(f"{path} {value!r} does not match {pattern}")
        limit = shape.metadata.get("max")
        if limit is not None and len(value) > limit:
            problems.append(f"{path} is longer than {limit}")
    elif shape.type_name in ("integer", "long") and isinstance(value, int):
        limit = shape.metadata.get("max")
        if limit is not None and value > limit:
            problems.append(f"{path} {value} is greater than {limit}")
    return problems


class LocalNetworkMonitor:
    """The emulator as a context manager: serves on 127.0.0.1 until the block ends.

    `endpoint_url` is the address for boto3; `env()` gives the variables that point an unmodified
    SDK client (such as the handler's) at it. `clock.advance(s)` moves time; `faults` and the
    `force_*` and `drift_*` methods make things go wrong.
    """

    def __init__(
        self,
        *,
        pending_seconds: float = 60.0,
        deleting_seconds: float = 20.0,
        faults: Faults | None = None,
    ) -> None:
        self.clock = Clock()
        self.service = NetworkMonitorService(self.clock, pending_seconds, deleting_seconds)
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)
        self._routes = load_routes()
        self._validator = ParamValidator()
        self.calls: list[str] = []
        """Every operation received, in order, faults included."""
        self.policy: AccessPolicy | None = None
        """The caller's permissions, evaluated before every operation; None leaves IAM out."""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> LocalNetworkMonitor:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                emulator._serve(self)

            do_POST = do_PATCH = do_DELETE = do_PUT = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def endpoint_url(self) -> str:
        assert self._server is not None, "use LocalNetworkMonitor as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def client_options(self) -> dict[str, str]:
        """Keyword arguments for `boto3.client("networkmonitor", ...)` that reach this emulator."""
        return {
            "endpoint_url": self.endpoint_url,
            "region_name": REGION,
            "aws_access_key_id": "emulator",
            "aws_secret_access_key": "emulator",
        }

    def use_policy(self, policy: AccessPolicy | None) -> None:
        """Evaluate every request against `policy` from now on, as IAM would (None: allow everything)."""
        self.policy = policy

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL_NETWORKMONITOR": self.endpoint_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "emulator",
            "AWS_SECRET_ACCESS_KEY": "emulator",
        }

    @contextlib.contextmanager
    def virtual_sdk_sleep(self) -> Iterator[None]:
        """Let the SDK's retry backoff pass on the virtual clock instead of in real time."""
        clock = self.clock

        class VirtualTime:
            def __getattr__(self, name: str) -> Any:
                return getattr(time, name)

            def sleep(self, seconds: float) -> None:
                clock.advance(seconds)

        original = botocore.endpoint.time
        botocore.endpoint.time = VirtualTime()
        try:
            yield
        finally:
            botocore.endpoint.time = original

    # -- what tests look at and break ------------------------------------------------------------

    def writes(self, since: int = 0, until: int | None = None) -> list[str]:
        """The write operations received between two positions of `calls`."""
        return [call for call in self.calls[since:until] if call in WRITE_OPERATIONS]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every monitor as GetMonitor would return it, after settling due deletions."""
        with self.service.lock:
            self.service.settle()
            return {name: self.service.get_monitor(name) for name in self.service.monitors}

    def force_error(self, monitor_name: str, probe_id: str | None = None) -> None:
        with self.service.lock:
            monitor = self.service.monitors[monitor_name]
            if probe_id is None:
                monitor.error = True
            else:
                monitor.probes[probe_id].error = True

    def force_error_on_probes_to(self, destination: str) -> None:
        """Probes created from now on to `destination` come up in ERROR, as a failing probe would."""
        with self.service.lock:
            self.service.error_destinations.add(destination)

    def drift_delete_probe(self, monitor_name: str, probe_id: str) -> None:
        with self.service.lock:
            del self.service.monitors[monitor_name].probes[probe_id]

    def drift_delete_monitor(self, monitor_name: str) -> None:
        with self.service.lock:
            del self.service.monitors[monitor_name]

    def drift_update_probe(self, monitor_name: str, probe_id: str, **changes: Any) -> None:
        with self.service.lock:
            probe = self.service.monitors[monitor_name].probes[probe_id]
            for key, value in changes.items():
                setattr(probe, key, value)

    # -- HTTP ------------------------------------------------------------------------------------

    def _serve(self, http: BaseHTTPRequestHandler) -> None:
        url = urlsplit(http.path)
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length) if length else b""
        try:
            route, labels = self._route(http.command, url.path)
            self.calls.append(route.operation.name)
            self._inject_faults(route.operation.name)
            params = self._params(route.operation, labels, parse_qs(url.query), body)
            with self.service.lock:
                self.service.settle()
                self._authorize(route.operation.name, params)
                result = self._dispatch(route.operation.name, params)
            self._respond(http, 200, result)
        except ServiceError as error:
            self._respond(http, error.status, {"message": error.message}, error.code)

    def _route(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        for route in self._routes:
            match = route.pattern.match(path)
            if route.method == method and match:
                return route, {k: unquote(v) for k, v in match.groupdict().items()}
        raise ServiceError("UnknownOperationException", 404, f"No operation for {method} {path}")

    def _inject_faults(self, operation: str) -> None:
        faults = self.faults
        if faults.latency:
            threading.Event().wait(faults.latency)
        if faults.only is not None and operation not in faults.only:
            return
        draw = self._rng.random()
        if draw < faults.throttle:
            raise ServiceError("ThrottlingException", 429, "Rate exceeded (injected)")
        if draw < faults.throttle + faults.internal_error:
            raise ServiceError("InternalServerException", 500, "Internal failure (injected)")

    def _params(
        self, operation: OperationModel, labels: Mapping[str, str], query: Mapping[str, list[str]], body: bytes
    ) -> dict[str, Any]:
        shape = operation.input_shape
        params: dict[str, Any] = json.loads(body) if body else {}
        for member, member_shape in shape.members.items():
            location = member_shape.serialization.get("location")
            wire_name = member_shape.serialization.get("name", member)
            if location == "uri" and wire_name in labels:
                params[member] = labels[wire_name]
            elif location == "querystring" and wire_name in query:
                values = query[wire_name]
                if member_shape.type_name == "list":
                    params[member] = values
                elif member_shape.type_name in ("integer", "long"):
                    params[member] = int(values[0])
                else:
                    params[member] = values[0]
        report = self._validator.validate(params, shape)
        problems = [report.generate_report()] if report.has_errors() else []
        problems += check_patterns(shape, params, operation.name)
        if problems:
            raise validation("; ".join(problems))
        return params

    def _authorize(self, operation: str, params: Mapping[str, Any]) -> None:
        if self.policy is None:
            return
        for action, resource, context in self._authorizations(operation, params):
            if not self.policy.allows(action, resource, context):
                raise ServiceError(
                    "AccessDeniedException",
                    403,
                    f"User: {CALLER} is not authorized to perform: {action} on resource: {resource} "
                    f"because no identity-based policy allows the {action} action",
                )

    def _authorizations(self, operation: str, p: Mapping[str, Any]) -> list[tuple[str, str, dict[str, ContextValue]]]:
        """What IAM is asked for one request: (action, resource, condition context) triples.

        Which resource each action is authorized on is not confirmed for this service (the Service
        Authorization Reference could not be read here), so probe operations are asked on both the
        monitor and the probe: a policy passes here only if it would pass either way. Creating with
        tags also asks networkmonitor:TagResource, as the reference's operations table says."""
        service = self.service
        action = f"networkmonitor:{operation}"
        monitor_arn = f"arn:aws:networkmonitor:{REGION}:{ACCOUNT}:monitor/{p.get('monitorName', '')}"

        def tags_of(resource: Monitor | Probe | None) -> dict[str, ContextValue]:
            return {f"aws:ResourceTag/{k}": v for k, v in (resource.tags if resource else {}).items()}

        monitor = service.monitors.get(p.get("monitorName", ""))
        if operation == "ListMonitors":
            return [(action, "*", {})]
        if operation == "CreateMonitor":
            keys = list(p.get("tags") or {})
            asked: list[Authorization] = [(action, monitor_arn, {"aws:TagKeys": keys})]
            if keys or any(probe.get("probeTags") for probe in p.get("probes") or ()):
                asked.append(("networkmonitor:TagResource", monitor_arn, {"aws:TagKeys": keys}))
            return asked
        if operation in ("GetMonitor", "UpdateMonitor", "DeleteMonitor"):
            return [(action, monitor_arn, tags_of(monitor))]
        if operation == "CreateProbe":
            keys = list({**(p.get("tags") or {}), **(p["probe"].get("tags") or {})})
            asked = [(action, monitor_arn, tags_of(monitor))]
            if keys:
                asked.append(("networkmonitor:TagResource", monitor_arn, {"aws:TagKeys": keys}))
            return asked
        if operation in ("GetProbe", "UpdateProbe", "DeleteProbe"):
            probe = monitor.probes.get(p["probeId"]) if monitor else None
            probe_arn = f"arn:aws:networkmonitor:{REGION}:{ACCOUNT}:probe/{p['probeId']}"
            return [(action, monitor_arn, tags_of(monitor)), (action, probe_arn, tags_of(probe))]
        # TagResource, UntagResource, ListTagsForResource: on the ARN they name.
        arn = p["resourceArn"]
        try:
            target: Monitor | Probe | None = service._by_arn(arn)
        except ServiceError:
            target = None
        keys = list(p.get("tags") or {}) or list(p.get("tagKeys") or [])
        return [(action, arn, {**tags_of(target), **({"aws:TagKeys": keys} if keys else {})})]

    def _dispatch(self, operation: str, p: dict[str, Any]) -> dict[str, Any]:
        s = self.service
        if operation == "CreateMonitor":
            return s.create_monitor(p)
        if operation == "GetMonitor":
            return s.get_monitor(p["monitorName"])
        if operation == "UpdateMonitor":
            return s.update_monitor(p["monitorName"], p["aggregationPeriod"])
        if operation == "DeleteMonitor":
            return s.delete_monitor(p["monitorName"])
        if operation == "ListMonitors":
            return s.list_monitors(p.get("maxResults"), p.get("nextToken"), p.get("state"))
        if operation == "CreateProbe":
            return s.create_probe(p["monitorName"], p)
        if operation == "GetProbe":
            return s.get_probe(p["monitorName"], p["probeId"])
        if operation == "UpdateProbe":
            changes = {k: v for k, v in p.items() if k not in ("monitorName", "probeId")}
            return s.update_probe(p["monitorName"], p["probeId"], changes)
        if operation == "DeleteProbe":
            return s.delete_probe(p["monitorName"], p["probeId"])
        if operation == "TagResource":
            return s.tag_resource(p["resourceArn"], p["tags"])
        if operation == "UntagResource":
            return s.untag_resource(p["resourceArn"], p["tagKeys"])
        if operation == "ListTagsForResource":
            return s.list_tags_for_resource(p["resourceArn"])
        raise ServiceError("UnknownOperationException", 404, operation)

    @staticmethod
    def _respond(http: BaseHTTPRequestHandler, status: int, body: Mapping[str, Any], code: str | None = None) -> None:
        payload = json.dumps(body).encode()
        http.send_response(status)
        http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(payload)))
        http.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if code is not None:
            http.send_header("x-amzn-ErrorType", code)
        http.end_headers()
        http.wfile.write(payload)
