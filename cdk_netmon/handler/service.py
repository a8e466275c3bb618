"""The few Network Monitor calls the handler makes, with their failure modes made explicit.

Retry budget: botocore's "standard" retry mode retries throttling (429), 5xx and transient network
errors up to MAX_ATTEMPTS times per call, with exponential backoff and jitter capped at 20 s. Waiting
for PENDING states is not done here: `is_complete` returns False and the Provider framework polls
again every query interval until its total timeout (see `cdk_netmon.provider`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .model import LiveMonitor, MonitorSpec
from .plan import Call

MAX_ATTEMPTS = 8
"""Attempts per API call (first try included) before a retryable error fails the step."""

log = logging.getLogger(__name__)


def new_client() -> Any:
    """A plain SDK client, so region, credentials and AWS_ENDPOINT_URL_NETWORKMONITOR apply."""
    return boto3.client("networkmonitor", config=Config(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS}))


default_client = functools.cache(new_client)
"""One client per Lambda container: warm invocations reuse its connections and its retry quota."""


client_factory: Callable[[], Any] = default_client
"""Replaced by tests and the offline emulator; the Lambda always uses `default_client`."""


class MonitorNameTakenError(RuntimeError):
    """CreateMonitor refused the name: a monitor this request did not create already has it."""


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class NetworkMonitorService:
    def __init__(self, client: Any) -> None:
        self.client = client

    def get_monitor(self, name: str) -> LiveMonitor | None:
        """The live monitor, or None when it does not exist."""
        try:
            return LiveMonitor.from_response(self.client.get_monitor(monitorName=name))
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise

    def create_monitor(self, spec: MonitorSpec, client_token: str) -> None:
        try:
            self.client.create_monitor(**spec.create_request(client_token))
        except ClientError as error:
            if error_code(error) == "ConflictException":
                raise MonitorNameTakenError(
                    f"A monitor named {spec.name!r} already exists in this account and region and was not "
                    f"created by this request ({error.response['Error'].get('Message', '')}). Monitor names are "
                    "unique per account and region: choose another monitor_name, or delete the existing monitor."
                ) from None
            raise

    def apply(self, calls: tuple[Call, ...]) -> None:
        for call in calls:
            log.info("%s %s", call.operation, dict(call.params))
            try:
                getattr(self.client, call.operation)(**call.params)
            except ClientError as error:
                # A resource deleted under us is what a delete wanted anyway.
                if call.operation.startswith("delete_") and error_code(error) == "ResourceNotFoundException":
                    continue
                raise

    def apply_phase(self, monitor_name: str, calls: tuple[Call, ...]) -> None:
        """Apply one phase of a plan. A call the service refuses because an earlier call left the
        monitor settling ends the phase early; the next poll waits, then plans the rest afresh.
        A refusal while nothing is settling is a real failure and is raised."""
        try:
            self.apply(calls)
        except ClientError as error:
            if error_code(error) not in ("ValidationException", "ConflictException"):
                raise
            live = self.get_monitor(monitor_name)
            if live is None or not live.busy:
                raise
            log.info("%s is settling; the rest of this phase waits for the next poll (%s)", monitor_name, error)

    def teardown_step(self, name: str) -> bool:
        """One step of deleting a monitor: probes first, then the monitor. True once it is gone."""
        live = self.get_monitor(name)
        if live is None:
            return True
        if live.probes:
            self.apply(
                tuple(
                    Call("delete_probe", {"monitorName": name, "probeId": p.probe_id})
                    for p in live.probes
                    if p.state != "DELETING"
                )
            )
            return False
        if live.state != "DELETING":
            try:
                self.apply((Call("delete_monitor", {"monitorName": name}),))
            except ClientError as error:
                # A probe still on its way out makes the service refuse; the next poll tries again.
                if error_code(error) not in ("ConflictException", "ValidationException"):
                    raise
                log.info("delete_monitor %s refused for now: %s", name, error)
        return False
