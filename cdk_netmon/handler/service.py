"""The few Network Monitor calls the handler makes, with their failure modes made explicit.

Retry budget: MAX_ATTEMPTS attempts per call in all, for throttling (429), 5xx and connection
errors, with exponential backoff and full jitter (up to 1, 2, 4, ... 64 s before the 2nd to 8th
attempt). That is botocore's "legacy" retry mode, boto3's default, chosen over "standard" because
standard mode shares a retry quota per client (botocore/retries/quota.py: 500 tokens, 5 per retried
error, 1 back per success): in a long storm of 5xx a warm Lambda container's client runs dry and
later calls give up after their first error. Legacy mode has no quota, so every call gets its
eight attempts. Waiting for PENDING states is not done here: `is_complete` returns False and the
Provider framework polls again every query interval until its total timeout (see `cdk_netmon.provider`).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .clients import NetworkMonitorClient
from .live import DELETING, Generation, LiveMonitor, Owner, Verdict
from .planner import delete_probe_calls
from .rules import GENERATION_TAG
from .spec import MonitorSpec
from .writes import DELETES, CreateMonitor, DeleteMonitor, TagResource, Write

MAX_ATTEMPTS = 8
"""Attempts per API call, the first included (botocore's `total_max_attempts`)."""

log = logging.getLogger(__name__)


def new_client(service_name: str = "networkmonitor", **options: Any) -> Any:
    """An SDK client with the handler's retry budget. Without options, region, credentials and
    endpoints (AWS_ENDPOINT_URL_NETWORKMONITOR, AWS_ENDPOINT_URL_EC2) come from the environment,
    as in Lambda."""
    config = Config(retries={"mode": "legacy", "total_max_attempts": MAX_ATTEMPTS})
    return boto3.client(service_name, config=config, **options)


class LazyClient:
    """A client made on first use: the handler reaches EC2 only to remove security groups, and
    building an EC2 client (its large service model) costs a cold Lambda most of a second."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._make()
        return getattr(self._client, name)


class MonitorNameTakenError(RuntimeError):
    """CreateMonitor refused the name: a monitor this request did not create already has it."""


class ForeignMonitorError(RuntimeError):
    """The monitor with the declared name is not this resource's; it is left untouched."""


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class Teardown(enum.Enum):
    """Where deleting a monitor stands after one step."""

    UNDERWAY = "underway"
    GONE = "gone"
    """No monitor of that name exists any more (or never did)."""
    LEFT_ALONE = "left alone"
    """The monitor of that name is not this resource's; nothing was touched."""


class NetworkMonitorService:
    """The handler's side of the API, around a client it is given."""

    def __init__(self, client: NetworkMonitorClient) -> None:
        self.client = client
        self.one_write_while_settling = False
        """Learned from the first write the service refuses because the monitor is settling: from
        then on a phase sends one write per poll, instead of a refused call after each accepted one.
        Whether the service refuses such writes at all is unconfirmed: Terraform's provider creates
        probes while a monitor is PENDING and retries no refusal (hashicorp/terraform-provider-aws,
        internal/service/networkmonitor), and no user has reported one."""

    def get_monitor(self, name: str) -> LiveMonitor | None:
        """The live monitor, or None when it does not exist."""
        try:
            return LiveMonitor.from_response(self.client.get_monitor(monitorName=name))
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise

    def create_monitor(self, spec: MonitorSpec, client_token: str, owner: Owner, mark: Generation) -> None:
        """Create the monitor with its probes, its tags, the ownership tags and the request's mark
        (`model.Generation`), in one call.

        A monitor of that name that already carries this resource's ownership tags is this
        resource's, made by an earlier request (the same request delivered again carries another
        mark, so the service may refuse its token as used for another request). It is kept, and
        reconciled by the next poll."""
        owned = spec.owned_by(owner)
        probes = [probe.to_api("probeTags") for probe in owned.probes]
        tags = {**owned.tags, GENERATION_TAG: mark.tag_value}
        try:
            CreateMonitor(spec.name, owned.aggregation_period, probes, client_token, tags).apply(self.client)
        except ClientError as error:
            if error_code(error) == "ConflictException":
                live = self.get_monitor(spec.name)
                if live is not None and owner.verdict(live.name, live.tags) is Verdict.OURS:
                    log.warning("monitor %s exists and carries this resource's ownership tags; adopting it", spec.name)
                    return
                raise MonitorNameTakenError(
                    f"A monitor named {spec.name!r} already exists in this account and region and was not "
                    f"created by this request ({error.response['Error'].get('Message', '')}). Monitor names are "
                    "unique per account and region: choose another monitor_name, or delete the existing monitor."
                ) from None
            raise

    def adopt(self, live: LiveMonitor, owner: Owner) -> None:
        """Tag a monitor of an earlier release as this resource's, before anything else touches it."""
        log.info("adopting %s: it predates ownership tags and CloudFormation names it as this resource's", live.name)
        self.apply((TagResource(live.arn, owner.tags),))

    def apply(self, calls: tuple[Write, ...]) -> None:
        for call in calls:
            log.info("%s %s", call.operation, dict(call.params))
            try:
                call.apply(self.client)
            except ClientError as error:
                # A resource deleted under us is what a delete wanted anyway.
                if isinstance(call, DELETES) and error_code(error) == "ResourceNotFoundException":
                    continue
                raise

    def apply_phase(self, monitor_name: str, calls: tuple[Write, ...]) -> None:
        """Apply one phase of a plan. A call the service refuses because an earlier call left the
        monitor settling ends the phase early; the next poll waits, then plans the rest afresh.
        A refusal while nothing is settling is a real failure and is raised."""
        try:
            self.apply(calls[:1] if self.one_write_while_settling else calls)
        except ClientError as error:
            if error_code(error) not in ("ValidationException", "ConflictException"):
                raise
            live = self.get_monitor(monitor_name)
            if live is None or not live.busy:
                raise
            self.one_write_while_settling = True
            log.info("%s is settling; the rest of this phase waits for the next poll (%s)", monitor_name, error)

    def teardown_step(self, name: str, owner: Owner) -> Teardown:
        """One step of deleting this resource's monitor: probes first, then the monitor."""
        live = self.get_monitor(name)
        if live is None:
            return Teardown.GONE
        verdict = owner.verdict(live.name, live.tags)
        if verdict is Verdict.FOREIGN:
            log.warning("monitor %s is not this resource's (no matching ownership tags); leaving it untouched", name)
            return Teardown.LEFT_ALONE
        if verdict is Verdict.ADOPTABLE:
            self.adopt(live, owner)
        if live.probes:
            self.apply(delete_probe_calls(name, live.probes))
            return Teardown.UNDERWAY
        if live.state != DELETING:
            try:
                self.apply((DeleteMonitor(name),))
            except ClientError as error:
                # A probe still on its way out makes the service refuse; the next poll tries again.
                if error_code(error) not in ("ConflictException", "ValidationException"):
                    raise
                log.info("delete_monitor %s refused for now: %s", name, error)
        return Teardown.UNDERWAY
