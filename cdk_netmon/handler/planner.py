"""What to call to turn the live monitor into the declared one: a pure function of the two.

Probes are matched in two passes so that every change costs the fewest write calls the API allows
(a probe's declared state, ACTIVE or paused, is not part of its identity: pausing is an UpdateProbe):
first by identity (source, destination, protocol, port), which makes a reordered list a no-op;
then the rest pairwise by source subnet, so a changed destination, port, protocol or packet size is
one UpdateProbe. Only a changed source (immutable in the API) costs a DeleteProbe and a CreateProbe.

Calls come in phases that the handler applies one at a time, waiting for the service to settle in
between: deletions first (they free the per-monitor and per-subnet quotas, and let a monitor switch
IP family), then in-place updates and tags, then creations.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .clients import ProbeChanges
from .live import DELETING, Generation, LiveMonitor, LiveProbe
from .rules import GENERATION_TAG, PAUSED, is_owner_tag
from .spec import MonitorSpec, ProbeSpec
from .writes import CreateProbe, DeleteProbe, TagResource, UntagResource, UpdateMonitor, UpdateProbe, Write


@dataclass(frozen=True)
class Plan:
    deletes: tuple[Write, ...] = ()
    updates: tuple[Write, ...] = ()
    creates: tuple[Write, ...] = ()
    kept_probe_ids: frozenset[str] = frozenset()
    """Live probes that stay, each paired with a declared probe: their ERROR is a failure."""

    @property
    def phases(self) -> tuple[tuple[Write, ...], ...]:
        return tuple(phase for phase in (self.deletes, self.updates, self.creates) if phase)

    @property
    def calls(self) -> tuple[Write, ...]:
        return self.deletes + self.updates + self.creates

    def __bool__(self) -> bool:
        return bool(self.calls)


@dataclass
class ProbeMatch:
    pairs: list[tuple[ProbeSpec, LiveProbe]] = field(default_factory=list)
    missing: list[ProbeSpec] = field(default_factory=list)
    surplus: list[LiveProbe] = field(default_factory=list)


def match_probes(declared: Sequence[ProbeSpec], live: Sequence[LiveProbe]) -> ProbeMatch:
    """Pair declared probes with live ones: by identity first, then by source within one IP family."""
    result = ProbeMatch()
    unmatched_live = list(live)
    unmatched_declared: list[ProbeSpec] = []
    for spec in declared:
        found = next((p for p in unmatched_live if p.spec.identity == spec.identity), None)
        if found is None:
            unmatched_declared.append(spec)
        else:
            unmatched_live.remove(found)
            result.pairs.append((spec, found))
    for spec in unmatched_declared:
        found = next(
            (
                p
                for p in unmatched_live
                if p.spec.source_arn == spec.source_arn and p.spec.address_family == spec.address_family
            ),
            None,
        )
        if found is None:
            result.missing.append(spec)
        else:
            unmatched_live.remove(found)
            result.pairs.append((spec, found))
    result.surplus = unmatched_live
    return result


def plan_changes(declared: MonitorSpec, live: LiveMonitor, client_token_prefix: str) -> Plan:
    """The write calls that make `live` equal `declared` (ownership tags included, see
    `MonitorSpec.owned_by`); an empty plan means converged."""
    name = declared.name
    match = match_probes(declared.probes, live.probes)

    deletes = delete_probe_calls(name, match.surplus)

    updates: list[Write] = []
    if live.aggregation_period != declared.aggregation_period:
        updates.append(UpdateMonitor(name, declared.aggregation_period))
    updates += tag_calls(live.arn, live.tags, declared.tags)
    for spec, probe in match.pairs:
        changes = probe_changes(spec, probe)
        if changes:
            updates.append(UpdateProbe(name, probe.probe_id, changes))
        updates += tag_calls(probe.probe_arn, probe.spec.tags, spec.tags)

    creates = tuple(
        CreateProbe(name, spec.to_api("tags"), client_token(client_token_prefix, *map(str, spec.identity)))
        for spec in match.missing
    )
    kept = frozenset(probe.probe_id for _, probe in match.pairs)
    return Plan(deletes=deletes, updates=tuple(updates), creates=creates, kept_probe_ids=kept)


def delete_probe_calls(monitor_name: str, probes: Iterable[LiveProbe]) -> tuple[DeleteProbe, ...]:
    """A DeleteProbe for each probe not already on its way out."""
    return tuple(DeleteProbe(monitor_name, probe.probe_id) for probe in probes if probe.state != DELETING)


def probe_changes(spec: ProbeSpec, probe: LiveProbe) -> ProbeChanges:
    live = probe.spec
    changes: ProbeChanges = {}
    if live.destination != spec.destination:
        changes["destination"] = spec.destination
    if live.protocol != spec.protocol:
        changes["protocol"] = spec.protocol
    if spec.protocol == "TCP" and spec.destination_port is not None and live.destination_port != spec.destination_port:
        changes["destinationPort"] = spec.destination_port
    if spec.packet_size is not None and live.packet_size != spec.packet_size:
        changes["packetSize"] = spec.packet_size
    # The declared state wins: a probe paused out of band is resumed, one declared paused is paused.
    if (probe.state == PAUSED) != (spec.state == PAUSED):
        changes["state"] = spec.state
    return changes


def tag_calls(arn: str, live: Mapping[str, str], declared: Mapping[str, str]) -> list[Write]:
    calls: list[Write] = []
    changed = {k: v for k, v in declared.items() if live.get(k) != v}
    if changed:
        calls.append(TagResource(arn, changed))
    # Ownership tags are never removed: without them the handler would no longer touch the resource.
    removed = sorted(key for key in set(live) - set(declared) if not is_owner_tag(key))
    if removed:
        calls.append(UntagResource(arn, removed))
    return calls


def mark_call(live: LiveMonitor, ours: Generation, plan: Plan, predecessor: str | None = None) -> TagResource | None:
    """The TagResource that marks the monitor as this request's, where one is due before anything
    else this poll: before its first write (a waiter of an older request then stops), and, with
    nothing to write, where a waiter of another monitor than this one may still be polling: the
    request's predecessor (`predecessor`, the digest of its old properties) or the mark's writer
    declared another. Never twice for one request: its own mark stands."""
    mark = Generation.of(live.tags)
    if mark is not None and mark.request_id == ours.request_id:
        return None
    due = (
        bool(plan)
        or (predecessor is not None and predecessor != ours.digest)
        or (mark is not None and mark.digest != ours.digest)
    )
    return TagResource(live.arn, {GENERATION_TAG: ours.tag_value}) if due else None


def client_token(*parts: str) -> str:
    """A deterministic idempotency token, so a retried request never makes a second resource."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:64]
