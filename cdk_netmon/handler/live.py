"""A live monitor as GetMonitor shows it, and whose it is: this resource's ownership tags, and
the mark of the newest request that wrote to it."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import rules
from .spec import ProbeSpec

PENDING = "PENDING"
DELETING = "DELETING"
ERROR = "ERROR"
"""Live states of monitors and probes (botocore's MonitorState and ProbeState), besides
`rules.ACTIVE` and `rules.PAUSED`."""
GONE_PROBE_STATES = frozenset({"DELETED"})
BUSY_STATES = frozenset({PENDING, DELETING})


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
        """Whether this is a later request than `other`: one whose on_event began later. Never the
        same request (CloudFormation may deliver one request twice, each time with its RequestId),
        nor one that began in the same millisecond, which a clock cannot order (an offline test's
        virtual clock that stood still): neither then stops, as before the marks."""
        return self.request_id != other.request_id and self.started_ms > other.started_ms


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
