"""on_event and is_complete for `Custom::NetworkMonitor`, the CDK Provider framework's contract.

Lambda calls the module-level `on_event` and `is_complete` (handler `handler.lifecycle.on_event`);
they run a `Handler` around the container's SDK client. Tests and the offline emulator build a
`Handler` around a client of their own.

on_event makes no write on Create or Update: it checks the declared monitor and answers with the
physical id (the monitor name) and the request's generation (when it began). Were it to create the
monitor and die before answering (a timeout), the Provider framework would answer FAILED with a
placeholder id whose Delete never reaches the handler, and the monitor would stay. Everything
happens in is_complete, which is a reconcile loop: read the live monitor, create it if it is missing
(with a client token derived from the request), wait while the service is settling, compute the plan
(a pure function of declared and live state) and apply its next phase. A failure or a kill there is
answered FAILED with the monitor name, so the rollback's Delete removes whatever was made. Because
every poll starts from the live state, a retried event, an out-of-band change or a half-applied
update converges the same way, and a rollback is just another update.

The newest request wins: before its first write, a request marks the monitor with its generation
(`model.Generation`, folded into CreateMonitor's tags on create), and a waiter that finds a newer
request's mark stops without writing (the Provider framework keeps polling a request CloudFormation
has cancelled, aws/aws-cdk#31541).

Every monitor the handler creates carries ownership tags naming its stack and logical id, and the
handler never modifies or deletes a monitor without them (see `model.Owner`). Once its monitor is
deleted, or a VPC holds none of its probes any more, the handler also removes the security group
the service left in that VPC (see `security_groups`).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import service
from .clients import Ec2Client, NetworkMonitorClient
from .live import ERROR, Generation, LiveMonitor, Owner, Verdict
from .planner import client_token, mark_call, plan_changes
from .response import RESPONSE_LIMIT_BYTES, response_data, response_size
from .rules import DEFAULT_QUOTAS, Quotas, check_monitor_name
from .security_groups import SecurityGroups, leftovers, probe_vpcs
from .spec import OWNERSHIP_PROPERTY, MonitorSpec, declared_name

log = logging.getLogger(__name__)

ABANDONED_MONITOR = "AbandonedMonitor"
"""Set by on_event when an Update rolls back a replacement: the monitor the failed update created,
which is_complete deletes (the Provider framework passes on_event's answer to is_complete)."""


GIVE_UP_AT = "GiveUpAt"
"""Set by on_event (epoch seconds): from then on, a security group still in use fails the request
with what is left, instead of waiting further. It comes before the Provider framework's own
timeout (`TOTAL_TIMEOUT` in cdk_netmon/provider.py, 50 minutes), so that the reason is the handler's."""
GIVE_UP_AFTER_SECONDS = 45 * 60

GENERATION = "Generation"
"""Set by on_event: when the request began, in milliseconds on the handler's clock (see `model.Generation`)."""


class MonitorFailedError(RuntimeError):
    """The service put the monitor or one of its probes in ERROR."""


class SecurityGroupInUseError(RuntimeError):
    """A security group the service left is still in use when the handler stops waiting."""


class ResponseTooLongError(RuntimeError):
    """The answer would not fit in CloudFormation's response: said in a message that does."""


@dataclass(frozen=True)
class Request:
    """The parts of a CloudFormation custom resource event the handler uses."""

    request_type: str
    stack_id: str
    request_id: str
    logical_id: str
    physical_id: str | None
    properties: Mapping[str, Any]
    old_properties: Mapping[str, Any] | None
    give_up_at: float | None = None
    """on_event's GIVE_UP_AT, which the Provider framework hands to every is_complete."""
    started_ms: int = 0
    """on_event's GENERATION; 0 for a waiter that an earlier release's on_event started."""

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Request:
        give_up_at = event.get(GIVE_UP_AT)
        started = event.get(GENERATION)
        return cls(
            request_type=event["RequestType"],
            stack_id=event["StackId"],
            request_id=event["RequestId"],
            logical_id=event["LogicalResourceId"],
            physical_id=event.get("PhysicalResourceId"),
            properties=event.get("ResourceProperties", {}),
            old_properties=event.get("OldResourceProperties"),
            give_up_at=float(give_up_at) if isinstance(give_up_at, int | float | str) else None,
            started_ms=int(str(started)) if str(started).isdigit() else 0,
        )

    def declared(self, quotas: Quotas = DEFAULT_QUOTAS) -> MonitorSpec:
        return MonitorSpec.from_properties(self.properties, quotas=quotas)

    @property
    def owner(self) -> Owner:
        """This resource, with the names its 0.1.0 properties (if any) give it."""
        legacy = {
            name
            for properties in (self.properties, self.old_properties)
            if properties is not None and OWNERSHIP_PROPERTY not in properties
            for name in [declared_name(properties)]
            if name is not None
        }
        return Owner(self.stack_id, self.logical_id, frozenset(legacy))

    def token(self, *parts: str) -> str:
        """Stable across CloudFormation's and the SDK's retries of this one request."""
        return client_token(self.stack_id, self.logical_id, self.request_id, *parts)

    @property
    def create_token(self) -> str:
        """One CreateMonitor token per request, so every attempt of it names the same monitor."""
        return self.token("create")

    def generation(self, spec: MonitorSpec) -> Generation:
        return Generation(self.started_ms, self.request_id, spec.digest)

    def predecessor(self, spec: MonitorSpec) -> str | None:
        """The digest of what the old properties declare of the same monitor: the request before
        this one, whose waiter may still be polling if CloudFormation cancelled it. None on Create,
        or where the old properties name another monitor (whose waiter never writes to this one)."""
        if declared_name(self.old_properties) != spec.name:
            return None
        try:
            return MonitorSpec.from_properties(self.old_properties or {}, check=False).digest
        except Exception:  # old properties that do not read: another monitor than this one
            return ""


class Handler:
    """The Provider framework's two entry points, around a Network Monitor client and an EC2 client.

    :param now: the clock for GIVE_UP_AT, in epoch seconds (a virtual one in offline tests).
    :param quotas: the stack's quotas; the container's come from its environment (QUOTAS_VARIABLE).
    """

    def __init__(
        self,
        client: NetworkMonitorClient,
        ec2: Ec2Client,
        *,
        now: Callable[[], float] = time.time,
        quotas: Quotas = DEFAULT_QUOTAS,
    ) -> None:
        self.api = service.NetworkMonitorService(client)
        self.groups = SecurityGroups(ec2)
        self.now = now
        self.quotas = quotas
        """The quotas the stack declares (raised in Service Quotas), which declared monitors are checked against."""

    def on_event(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        _log_event("on_event", event)
        request = Request.from_event(event)
        now = self.now()
        deadline = {GIVE_UP_AT: round(now + GIVE_UP_AFTER_SECONDS)}
        if request.request_type == "Delete":
            if _names_a_monitor(request.physical_id):
                self.api.teardown_step(str(request.physical_id), request.owner)
            return {"PhysicalResourceId": request.physical_id, **deadline}
        if request.request_type not in ("Create", "Update"):
            raise ValueError(f"unsupported request type {request.request_type!r}")

        spec = request.declared(self.quotas)  # an invalid monitor is refused before anything changes
        deadline[GENERATION] = int(now * 1000)
        if request.request_type == "Create" or spec.name != request.physical_id:
            # A new name is a replacement: a new physical id, and CloudFormation deletes the old
            # monitor once the stack update succeeds. Everything else is reconciled in place. Either
            # way is_complete creates the monitor: a failure from then on reaches the Delete.
            return {"PhysicalResourceId": spec.name, **deadline}
        answer: dict[str, Any] = {"PhysicalResourceId": request.physical_id, **deadline}
        previous = declared_name(request.old_properties)
        if previous is not None and previous != spec.name:
            # In place, yet the old properties name another monitor: this Update rolls back a failed
            # replacement, as engines that ignore the failed physical id do. The monitor that
            # replacement created is never named again, so it goes now.
            answer[ABANDONED_MONITOR] = previous
        return answer

    def is_complete(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        _log_event("is_complete", event)
        request = Request.from_event(event)
        if request.request_type == "Delete":
            done = not _names_a_monitor(request.physical_id) or self._teardown_step(
                request, str(request.physical_id), request.owner
            )
            return {"IsComplete": done}
        abandoned = event.get(ABANDONED_MONITOR)
        # Only a monitor this resource tagged: the abandoned one was made by the failed update.
        if isinstance(abandoned, str) and not self._teardown_step(request, abandoned, request.owner.without_legacy()):
            return {"IsComplete": False}
        return self._converge_step(request)

    def _teardown_step(self, request: Request, name: str, owner: Owner) -> bool:
        """One step of deleting monitor `name`, then its security groups; True once all are gone."""
        outcome = self.api.teardown_step(name, owner)
        if outcome is service.Teardown.UNDERWAY:
            return False
        if outcome is service.Teardown.LEFT_ALONE:
            return True
        return self._remove_security_groups(request, name, in_use=frozenset())

    def _remove_security_groups(self, request: Request, name: str, in_use: frozenset[str]) -> bool:
        """Delete the monitor's security groups in VPCs other than `in_use`; True once none is left.
        A group that network interfaces still use waits for the next poll, until GIVE_UP_AT."""
        remaining = self.groups.delete(leftovers(self.groups.of_monitor(name), in_use))
        if not remaining:
            return True
        listed = ", ".join(str(group) for group in remaining)
        if request.give_up_at is not None and self.now() >= request.give_up_at:
            one = len(remaining) == 1
            raise SecurityGroupInUseError(
                f"monitor {name!r}: security group{'' if one else 's'} {listed}, which the service made for it, "
                f"{'is' if one else 'are'} still in use (DependencyViolation) and not deleted; delete "
                f"{'it' if one else 'them'} once the network interfaces are gone, or the VPC cannot be deleted"
            )
        log.info("security group %s of %s is still in use; trying again on the next poll", listed, name)
        return False

    def _converge_step(self, request: Request) -> dict[str, Any]:
        spec = request.declared(self.quotas)
        owner = request.owner
        ours = request.generation(spec)
        live = self.api.get_monitor(spec.name)
        if live is None:
            # Not made yet, deleted out of band, or not yet visible after CreateMonitor: (re)create it
            # with this request's token, which the service answers idempotently if the monitor is
            # ours already. If someone else takes the name meanwhile, the next poll finds it is not ours.
            log.info("monitor %s does not exist; creating it", spec.name)
            try:
                self.api.create_monitor(spec, request.create_token, owner, ours)
            except service.MonitorNameTakenError:
                log.info("monitor %s exists after all; reading it on the next poll", spec.name)
            return {"IsComplete": False}

        verdict = owner.verdict(live.name, live.tags)
        if verdict is Verdict.FOREIGN:
            raise service.ForeignMonitorError(
                f"monitor {spec.name!r} exists but is not this resource's (it lacks the ownership tags of "
                f"{request.logical_id} in this stack); it is left untouched. Choose another monitor_name, "
                "or delete that monitor."
            )
        if verdict is Verdict.ADOPTABLE:
            self.api.adopt(live, owner)
            return {"IsComplete": False}
        newer = Generation.of(live.tags)
        if newer is not None and newer.supersedes(ours):
            # CloudFormation has moved on (cancelled this request, and sent another): it ignores
            # this answer, and the newer request's waiter owns the monitor now.
            log.warning(
                "request %s is superseded by request %s: it stops here, writing nothing",
                ours.request_id,
                newer.request_id,
            )
            return {"IsComplete": True}

        plan = plan_changes(spec.owned_by(owner), live, request.token("probe"))
        mark = mark_call(live, ours, plan, request.predecessor(spec))
        if mark is not None:
            self.api.apply((mark,))
        if live.busy:
            return {"IsComplete": False}
        failures = _failures(live, plan.kept_probe_ids)
        if failures:
            raise MonitorFailedError(f"monitor {spec.name!r} failed: " + "; ".join(failures))
        if plan:
            self.api.apply_phase(spec.name, plan.phases[0])
            return {"IsComplete": False}
        vpcs = probe_vpcs(live)
        if vpcs is not None and not self._remove_security_groups(request, spec.name, vpcs):
            return {"IsComplete": False}
        return {"IsComplete": True, "Data": self._answer(request, spec, live)}

    def _answer(self, request: Request, spec: MonitorSpec, live: LiveMonitor) -> dict[str, str]:
        """The attributes, measured as the framework will send them: a response over CloudFormation's
        limit would be refused and the outcome lost, so it fails here with a message that fits."""
        by_identity = {p.spec.identity: p.probe_id for p in live.probes}
        data = response_data(live.arn, live.name, {p.key: by_identity[p.identity] for p in spec.probes})
        size = response_size(
            stack_id=request.stack_id,
            request_id=request.request_id,
            logical_id=request.logical_id,
            physical_id=str(request.physical_id),
            data=data,
        )
        if size > RESPONSE_LIMIT_BYTES:
            raise ResponseTooLongError(
                f"monitor {spec.name!r}: the response to CloudFormation would be {size:,} bytes, over its limit of "
                f"{RESPONSE_LIMIT_BYTES:,}, with {len(spec.probes)} ProbeId attributes; give the probes shorter "
                "names, or spread them over several monitors"
            )
        return data


@functools.cache
def container_handler() -> Handler:
    """One handler per Lambda container: warm invocations reuse its client (connections, retry
    quota) and what it learned of the service."""
    # Lambda's root logger passes WARNING and above; the handler's progress is worth INFO. Set here,
    # in the Lambda's entry, so that importing the handler (as the test kit does) changes no logging.
    logging.getLogger(__package__).setLevel(logging.INFO)
    return Handler(
        service.new_client(),
        service.LazyClient(lambda: service.new_client("ec2")),
        quotas=Quotas.from_environment(os.environ),
    )


def on_event(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda entry point for the Provider framework's onEvent."""
    return container_handler().on_event(event, context)


def is_complete(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda entry point for the Provider framework's isComplete."""
    return container_handler().is_complete(event, context)


def _failures(live: LiveMonitor, kept_probe_ids: frozenset[str]) -> list[str]:
    """ERROR states that the plan would not remove; the API gives no reason beyond the state."""
    failures = []
    if live.state == ERROR:
        failures.append(f"the monitor is in state ERROR ({live.arn})")
    failures += [
        f"probe {p.probe_id} ({p.spec.describe()}) is in state ERROR"
        for p in live.probes
        if p.state == ERROR and p.probe_id in kept_probe_ids
    ]
    return failures


def _names_a_monitor(physical_id: str | None) -> bool:
    """False for the framework's placeholders after a failed Create, which name nothing to delete."""
    return isinstance(physical_id, str) and not check_monitor_name("PhysicalResourceId", physical_id)


def _log_event(stage: str, event: Mapping[str, Any]) -> None:
    log.info("%s %s", stage, json.dumps({k: v for k, v in event.items() if k != "ResponseURL"}, default=str))
