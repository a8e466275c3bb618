"""The emulator's facade: one object for a test to hold, with the clock, every account and region's
backend, the faults to inject, the policies to enforce, and the HTTP server that answers boto3.

Each request is answered by the backend of the account and region it was signed for (see
`protocol.Identity`), validated against the service model, then against the service's rules
(`backend`); with a policy installed (`use_policy`) it is first authorized as IAM would, unless it
is an administrator's (marked as `cdk_netmon.testing.ec2.add_principal(client, "admin")` marks it):
CloudFormation's own handlers of the native resource types call the service so, with the deploying
role's permissions rather than the custom resource handler's policy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.endpoint

from cdk_netmon.testing.clock import Clock
from cdk_netmon.testing.defaults import DEFAULT_ACCOUNT, DEFAULT_REGION
from cdk_netmon.testing.ec2 import PRINCIPAL_HEADER, LocalEc2
from cdk_netmon.testing.iam import AccessPolicy

from .authorization import authorizations
from .backend import WRITE_OPERATIONS, NetworkMonitorBackend, Settings, SettlingWrites
from .exceptions import ServiceError
from .network import ServiceNetwork
from .out_of_band import OutOfBand
from .protocol import Identity, Protocol
from .server import Server

CONTROL_PATH = "/_emulator/"
"""Requests under this path are the emulator's own (state), never Network Monitor operations."""


@dataclass
class Faults:
    """What goes wrong, and how often: fractions of requests, drawn from a seeded RNG."""

    throttle: float = 0.0
    """Fraction of requests answered 429 ThrottlingException (nothing is done)."""
    internal_error: float = 0.0
    """Fraction of requests answered 500 InternalServerException (nothing is done)."""
    seed: int = 0


class LocalNetworkMonitor:
    """The emulator as a context manager: serves on 127.0.0.1 until the block ends.

    `client_options(account, region)` are the keyword arguments for a boto3 client that reaches it
    as that account and region, `ec2_client_options(...)` the same for its EC2; `env(...)` gives
    both as environment variables, for unmodified SDK clients such as the handler's.
    `backend(account, region)` is one account and region's state, with its fault and drift
    controls; `clock.advance(s)` moves time; `ec2` is moto's EC2 (None with `ec2_endpoint`).
    """

    def __init__(
        self,
        *,
        pending_seconds: float = 60.0,
        deleting_seconds: float = 20.0,
        interface_seconds: float | None = None,
        settling_writes: SettlingWrites = "accept",
        faults: Faults | None = None,
        accounts: Mapping[str, str] | None = None,
        default_account: str = DEFAULT_ACCOUNT,
        default_region: str = DEFAULT_REGION,
        clock_scale: float = 0.0,
        port: int = 0,
        ec2_endpoint: str | None = None,
        probes_per_monitor: int | None = None,
        probes_per_subnet: int | None = None,
    ) -> None:
        """
        :param interface_seconds: how long a probe's network interface outlives the probe
            (see `Settings.interface_seconds`). Default: `deleting_seconds`.
        :param settling_writes: whether writes to a PENDING monitor are accepted or refused
            (see `Settings.settling_writes`). Default: accepted.
        :param accounts: access key id -> account id, for keys that are not 12-digit account ids.
        :param clock_scale: virtual seconds that pass by themselves per real second. Default: 0,
            time passes only with `clock.advance`.
        :param port: on 127.0.0.1. Default: any free port.
        :param ec2_endpoint: the EC2 where probes leave their footprint. Default: moto's, started
            with the emulator (`LocalEc2`).
        :param probes_per_monitor: the quota, where the account's is raised (as a stack declares
            with `NetworkMonitorProvider.configure(quotas=...)`). Default: the service's, 24.
        :param probes_per_subnet: likewise. Default: the service's, 4.
        """
        self.clock = Clock(scale=clock_scale)
        self.port = port
        interface = deleting_seconds if interface_seconds is None else interface_seconds
        quotas = {
            name: value
            for name, value in (("probes_per_monitor", probes_per_monitor), ("probes_per_subnet", probes_per_subnet))
            if value is not None
        }
        self.settings = Settings(pending_seconds, deleting_seconds, interface, settling_writes, **quotas)
        self.ec2: LocalEc2 | None = None if ec2_endpoint else LocalEc2(default_account=default_account)
        self._ec2_endpoint = ec2_endpoint
        self.faults = faults or Faults()
        self.default_account, self.default_region = default_account, default_region
        self.protocol = Protocol(Identity(dict(accounts or {}), default_account, default_region))
        self.backends: dict[tuple[str, str], NetworkMonitorBackend] = {}
        self.policies: dict[str, AccessPolicy] = {}
        """Per account, the caller's permissions; an account without one is not checked."""
        self.calls: list[str] = []
        """Every operation received, in order, faults included."""
        self.lock = threading.RLock()
        self._rng = random.Random(self.faults.seed)
        self._server = Server(self.answer, port)

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> LocalNetworkMonitor:
        if self.ec2 is not None:
            self.ec2.__enter__()
            self.ec2.before_request = self.settle
        try:
            self._server.start()
        except BaseException:
            if self.ec2 is not None:
                self.ec2.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
        if self.ec2 is not None:
            self.ec2.__exit__(None, None, None)

    @property
    def ec2_endpoint_url(self) -> str:
        """Where the service's footprint is, and where the handler finds it."""
        return self.ec2.endpoint_url if self.ec2 is not None else str(self._ec2_endpoint)

    @property
    def endpoint_url(self) -> str:
        return self._server.url

    def client_options(self, account: str | None = None, region: str | None = None) -> dict[str, str]:
        """Keyword arguments for `boto3.client("networkmonitor", ...)` that reach this emulator as
        `account` (its id is the access key) in `region`."""
        return {
            "endpoint_url": self.endpoint_url,
            "region_name": region or self.default_region,
            "aws_access_key_id": account or self.default_account,
            "aws_secret_access_key": "emulator",
        }

    def ec2_client_options(self, account: str | None = None, region: str | None = None) -> dict[str, str]:
        """Keyword arguments for `boto3.client("ec2", ...)` that reach the emulator's EC2 as a caller
        in `account` and `region`, such as the handler (its requests meet the installed policy)."""
        return {**self.client_options(account, region), "endpoint_url": self.ec2_endpoint_url}

    def env(self, account: str | None = None, region: str | None = None) -> dict[str, str]:
        """The same as environment variables, for SDK clients made without arguments."""
        options = self.client_options(account, region)
        return {
            "AWS_ENDPOINT_URL_NETWORKMONITOR": options["endpoint_url"],
            "AWS_ENDPOINT_URL_EC2": self.ec2_endpoint_url,
            "AWS_DEFAULT_REGION": options["region_name"],
            "AWS_REGION": options["region_name"],
            "AWS_ACCESS_KEY_ID": options["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": options["aws_secret_access_key"],
        }

    @contextlib.contextmanager
    def virtual_sdk_sleep(self) -> Iterator[None]:
        """Let the SDK's retry backoff pass on the virtual clock instead of in real time.

        botocore sleeps between attempts through `botocore.endpoint.time`, which this replaces while
        the context is open: every client of the process, on any thread, sleeps on the virtual clock
        meanwhile, not only this emulator's. A test kit's concern only; nothing of the construct or
        the handler patches anything."""
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

    # -- state -----------------------------------------------------------------------------------

    def backend(self, account: str | None = None, region: str | None = None) -> NetworkMonitorBackend:
        """One account and region of the service (the defaults when not given), created on first use."""
        key = (account or self.default_account, region or self.default_region)
        with self.lock:
            if key not in self.backends:
                network = ServiceNetwork(self.ec2_endpoint_url, *key)
                self.backends[key] = NetworkMonitorBackend(*key, self.clock, self.settings, network)
            return self.backends[key]

    def set_quotas(
        self,
        account: str | None = None,
        region: str | None = None,
        *,
        probes_per_monitor: int | None = None,
        probes_per_subnet: int | None = None,
    ) -> None:
        """The quotas of one account and region (the defaults when not given), as a team raises them
        in Service Quotas; a quota not given keeps its value."""
        backend = self.backend(account, region)
        with self.lock:
            settings = backend.settings
            backend.settings = dataclasses.replace(
                settings,
                probes_per_monitor=settings.probes_per_monitor if probes_per_monitor is None else probes_per_monitor,
                probes_per_subnet=settings.probes_per_subnet if probes_per_subnet is None else probes_per_subnet,
            )

    def out_of_band(self, account: str | None = None, region: str | None = None) -> OutOfBand:
        """What tests break behind the handler's back, in one account and region (the defaults)."""
        return OutOfBand(self.backend(account, region))

    def settle(self) -> None:
        """Let every account and region finish what its time has finished (deletions, interfaces)."""
        with self.lock:
            for backend in list(self.backends.values()):
                backend.settle()

    def use_policy(self, policy: AccessPolicy | None, account: str | None = None) -> None:
        """Authorize `account`'s requests against `policy` from now on, as IAM would (None: allow all),
        here and in the emulator's EC2."""
        key = account or self.default_account
        if policy is None:
            self.policies.pop(key, None)
        else:
            self.policies[key] = policy
        if self.ec2 is not None:
            self.ec2.use_policy(policy, key)

    def writes(self, since: int = 0, until: int | None = None) -> list[str]:
        """The write operations received between two positions of `calls`."""
        return [call for call in self.calls[since:until] if call in WRITE_OPERATIONS]

    def snapshot(self, account: str | None = None, region: str | None = None) -> dict[str, dict[str, Any]]:
        """Every monitor of one account and region as GetMonitor would return it, after settling."""
        backend = self.backend(account, region)
        with self.lock:
            backend.settle()
            return {name: backend.get_monitor(name) for name in backend.monitors}

    def dump_state(self) -> dict[str, Any]:
        """Every backend and the clock, as JSON-ready data, for a later emulator to `load_state`."""
        with self.lock:
            return {
                "clock": self.clock.now(),
                "backends": [{"account": a, "region": r, **b.dump()} for (a, r), b in self.backends.items()],
            }

    def load_state(self, state: Mapping[str, Any]) -> None:
        with self.lock:
            self.clock.advance(max(0.0, state["clock"] - self.clock.now()))
            for body in state["backends"]:
                self.backend(body["account"], body["region"]).load(body)

    # -- requests --------------------------------------------------------------------------------

    def answer(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One HTTP request, as the server hands it over: (status, headers, payload)."""

        def handle() -> Mapping[str, Any]:
            if path.startswith(CONTROL_PATH):
                return self._control(method, path[len(CONTROL_PATH) :], body)
            operation = self.protocol.operation_of(method, path)
            self.calls.append(operation)
            self._inject_faults()
            request = self.protocol.parse(method, path, headers.get("authorization"), body)
            backend = self.backend(request.account, request.region)
            with self.lock:
                backend.settle()
                if headers.get(PRINCIPAL_HEADER) != "admin":
                    self._authorize(backend, request.operation, request.params)
                result: Mapping[str, Any] = getattr(backend, request.operation_method)(**request.params)
                return result

        return self.protocol.answer(handle)

    def _control(self, method: str, path: str, body: bytes) -> Mapping[str, Any]:
        """The emulator's own requests, for scripts that drive a standalone emulator:
        `GET /_emulator/state`: every account and region's monitors, as GetMonitor answers, the
        operations received so far, and the clock;
        `POST /_emulator/quotas/<account>/<region>` with `{"probes_per_monitor": n, "probes_per_subnet": n}`:
        that account and region's quotas, as a team raised them (`set_quotas`)."""
        if method == "POST" and path.startswith("quotas/"):
            _, account, region = path.split("/", 2)
            raised = json.loads(body or b"{}")
            self.set_quotas(
                account,
                region,
                probes_per_monitor=raised.get("probes_per_monitor"),
                probes_per_subnet=raised.get("probes_per_subnet"),
            )
            return {}
        with self.lock:
            monitors = {}
            for (account, region), backend in self.backends.items():
                backend.settle()
                monitors[f"{account}/{region}"] = {name: backend.get_monitor(name) for name in backend.monitors}
            return {"clock": self.clock.now(), "monitors": monitors, "calls": list(self.calls)}

    def _inject_faults(self) -> None:
        draw = self._rng.random()
        if draw < self.faults.throttle:
            raise ServiceError("ThrottlingException", 429, "Rate exceeded (injected)")
        if draw < self.faults.throttle + self.faults.internal_error:
            raise ServiceError("InternalServerException", 500, "Internal failure (injected)")

    def _authorize(self, backend: NetworkMonitorBackend, operation: str, params: Mapping[str, Any]) -> None:
        policy = self.policies.get(backend.account)
        if policy is None:
            return
        for action, resource, context in authorizations(backend, operation, params):
            if not policy.allows(action, resource, context):
                raise ServiceError(
                    "AccessDeniedException",
                    403,
                    f"User: arn:aws:sts::{backend.account}:assumed-role/handler/handler is not authorized to "
                    f"perform: {action} on resource: {resource} because no identity-based policy allows the "
                    f"{action} action",
                )
