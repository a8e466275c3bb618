"""What the deploy would do to each monitor, as lines and the calls they make: computed by the
handler's own planner (`cdk_netmon.handler.planner`), against an older template's converged state or
the live account's, in CloudFormation's order (creations and updates first, deletions in the clean-up).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdk_netmon.handler.live import Generation, LiveMonitor, LiveProbe
from cdk_netmon.handler.planner import mark_call, match_probes, plan_changes, probe_changes, tag_calls
from cdk_netmon.handler.rules import ACTIVE, GENERATION_TAG, OWNER_LOGICAL_ID_TAG, PAUSED, is_owner_tag
from cdk_netmon.handler.spec import MonitorSpec, ProbeSpec, endpoint
from cdk_netmon.handler.writes import (
    CreateMonitor,
    CreateProbe,
    DeleteMonitor,
    DeleteProbe,
    TagResource,
    UpdateMonitor,
    UpdateProbe,
    Write,
)

from .account import stack_of
from .assembly import InputError, StackInput
from .declared import RETAIN, RETAINING, Declared


@dataclass
class MonitorPlan:
    """One monitor's lines and calls, each call named by its write's class (the API operation)."""

    title: str
    lines: list[str] = field(default_factory=list)
    calls: list[type[Write]] = field(default_factory=list)

    def add(self, line: str, *calls: type[Write]) -> None:
        shown = f" ({', '.join(call.__name__ for call in calls)})" if calls else ""
        self.lines.append(f"{line}{shown}")
        self.calls += calls


def as_if_deployed(spec: MonitorSpec) -> LiveMonitor:
    """A monitor as the handler leaves it converged, for a template given as the live state: marked
    by the request that deployed it."""
    return LiveMonitor(
        name=spec.name,
        arn=f"arn:monitor/{spec.name}",
        state=ACTIVE if spec.probes else PAUSED,  # an empty monitor is INACTIVE, as a paused probe
        aggregation_period=spec.aggregation_period,
        tags={**spec.tags, GENERATION_TAG: Generation(0, "deployed", spec.digest).tag_value},
        probes=tuple(LiveProbe(f"<{p.key}>", f"arn:probe/{p.key}", p.state, p) for p in spec.probes),
    )


def describe(spec: ProbeSpec) -> str:
    """A probe as a plan line shows it: `subnet-1 -> 10.0.0.1:443 TCP`."""
    port = spec.destination_port if spec.protocol == "TCP" else None
    return f"{str(spec.source_arn).rsplit('/', 1)[-1]} -> {endpoint(str(spec.destination), port)} {spec.protocol}"


def plan_monitor(
    logical_id: str,
    new: MonitorSpec | None,
    live: LiveMonitor | None,
    *,
    kept: str | None = None,
    adopt: bool = False,
    native: bool = False,
) -> MonitorPlan:
    """The lines and calls of one monitor: created, deleted, replaced or changed in place. `kept`
    says why CloudFormation keeps the old monitor where it would delete it (a Retain policy);
    `adopt`: the live monitor is 0.1.0's, untagged, and the handler tags it as this resource's;
    `native`: CloudFormation's own types, whose handlers create each probe with a call of its own
    and mark no request."""
    if new is not None and live is not None and new.name == live.name:
        return _in_place(logical_id, new, live, adopt, marked=not native)
    plan = MonitorPlan(f"{logical_id} ({new.name if new else live.name if live else '?'})")
    if new is not None and native:
        plan.add(f"+ monitor {new.name}: {len(new.probes)} probes", CreateMonitor, *[CreateProbe] * len(new.probes))
    elif new is not None:
        paused = [p for p in new.probes if p.state == PAUSED]
        plan.add(f"+ monitor {new.name}: {len(new.probes)} probes", CreateMonitor, *[UpdateProbe] * len(paused))
        for probe in new.probes:
            plan.add(f"  + probe {probe.key} ({describe(probe)}){' paused' if probe.state == PAUSED else ''}")
    if live is not None:
        why = "replaced" if new is not None else "removed from the template"
        probes = f"its {len(live.probes)} probes"
        if kept is not None:
            plan.add(f"- monitor {live.name}: {why}; {kept}, so it stays, with {probes} (no call)")
        else:
            deletes = [DeleteProbe] * len(live.probes)
            when = "; deleted in the clean-up," if new is not None else ","
            plan.add(f"- monitor {live.name}: {why}{when} {probes} first", *deletes, DeleteMonitor)
    return plan


def _in_place(logical_id: str, new: MonitorSpec, live: LiveMonitor, adopt: bool, *, marked: bool) -> MonitorPlan:
    plan = MonitorPlan(f"{logical_id} ({new.name})")
    if adopt:
        plan.add("~ adopted: the monitor 0.1.0 made gets this resource's ownership tags", TagResource)
    # The ownership tags are the handler's own: kept as the live monitor has them.
    owner_tags = {k: v for k, v in live.tags.items() if is_owner_tag(k)}
    declared = MonitorSpec(new.name, new.aggregation_period, {**new.tags, **owner_tags}, new.probes)
    planner = plan_changes(declared, live, "preview")
    # The deploy's request marks the monitor as its own before its first write (the newest request wins).
    mark = mark_call(live, Generation(0, "the next deploy", new.digest), planner) if marked else None
    if mark is not None:
        plan.add("~ monitor marked as this deploy's request", TagResource)
    if live.aggregation_period != declared.aggregation_period:
        plan.add(f"~ aggregation period {live.aggregation_period} -> {declared.aggregation_period} s", UpdateMonitor)
    _tags(plan, "monitor", live.tags, declared.tags)
    match = match_probes(declared.probes, live.probes)
    for probe in match.surplus:
        plan.add(f"- probe {probe.probe_id} ({describe(probe.spec)}): not in the template", DeleteProbe)
    order = {id(spec): index for index, spec in enumerate(declared.probes)}
    for spec, probe in sorted(match.pairs, key=lambda pair: order[id(pair[0])]):
        changes = probe_changes(spec, probe)
        if changes:
            plan.add(f"~ probe {spec.key} ({describe(spec)}): {_changed(probe, changes)}", UpdateProbe)
        _tags(plan, f"probe {spec.key}", probe.spec.tags, spec.tags)
    for spec in match.missing:
        then = [UpdateProbe] if spec.state == PAUSED else []
        plan.add(f"+ probe {spec.key} ({describe(spec)}){' paused' if then else ''}", CreateProbe, *then)
    # The handler's own planner decides; the lines above say it probe by probe, and must add up.
    planned: Counter[type[Write]] = Counter(type(call) for call in planner.calls)
    planned[TagResource] += mark is not None
    planned[UpdateProbe] += sum(1 for spec in match.missing if spec.state == PAUSED)  # paused after creation
    planned[TagResource] += adopt
    if Counter(plan.calls) != planned:
        lines, calls = (sorted(call.__name__ for call in found.elements()) for found in (Counter(plan.calls), planned))
        raise RuntimeError(f"the preview's lines ({lines}) disagree with the planner's calls ({calls})")
    return plan


def _changed(probe: LiveProbe, changes: Mapping[str, Any]) -> str:
    live = probe.spec
    words = {
        "destination": ("destination", live.destination),
        "protocol": ("protocol", live.protocol),
        "destinationPort": ("port", live.destination_port),
        "packetSize": ("packet size", live.packet_size),
    }
    parts = []
    for name, value in changes.items():
        if name == "state":
            parts.append("paused" if value == PAUSED else "resumed")
        else:
            label, before = words[name]
            parts.append(f"{label} {before} -> {value}")
    return ", ".join(parts)


def _tags(plan: MonitorPlan, what: str, live: Mapping[str, str], declared: Mapping[str, str]) -> None:
    calls = tag_calls("arn", live, declared)
    if calls:
        added = [f"+{k}={v}" for k, v in declared.items() if live.get(k) != v]
        removed = [f"-{k}" for k in live if k not in declared and not is_owner_tag(k)]
        plan.add(f"~ {what} tags: {' '.join(added + removed)}", *(type(call) for call in calls))


def _whose(logical_id: str, stack_name: str, monitor: Declared, live: LiveMonitor) -> str | None:
    """Why the handler would refuse the live monitor of a declared name as another's, or None
    where it is this resource's (or 0.1.0's, untagged, which it adopts)."""
    owner = live.tags.get(OWNER_LOGICAL_ID_TAG)
    if stack_of(live.tags) == stack_name and owner == logical_id:
        return None
    if not any(is_owner_tag(key) for key in live.tags):
        return None if monitor.legacy else "it has no ownership tags"
    return f"its ownership tags name {stack_of(live.tags)}/{owner}"


def against_template(
    stack: StackInput, new: dict[str, Declared], against: StackInput, old: dict[str, Declared]
) -> list[MonitorPlan]:
    """Each monitor's plan from the older template's converged state, in CloudFormation's order:
    creations and updates, then in the clean-up the deletions that no Retain policy prevents."""
    owners = {monitor.spec.name: logical_id for logical_id, monitor in old.items()}
    taken = [
        _taken(logical_id, monitor, owner, old[owner], against)
        for logical_id, monitor in new.items()
        for owner in [owners.get(monitor.spec.name, logical_id)]
        if owner != logical_id
    ]
    if taken:
        raise InputError(f"{stack.source}: " + "; ".join(taken))
    plans = []
    for logical_id in [*new, *(k for k in old if k not in new)]:
        after, before = new.get(logical_id), old.get(logical_id)
        kept, note = None, None
        if after is None and before is not None and before.deletion_policy in RETAINING:
            kept = f"its DeletionPolicy is {before.deletion_policy}"
        elif after is not None and before is not None and after.spec.name != before.spec.name:
            kept = _replaced_kept(after)
            if after.update_replace_policy != before.update_replace_policy:
                note = (
                    f"  (the older template's UpdateReplacePolicy is {before.update_replace_policy}: the plan "
                    "follows this one's, as the kit's StackDriver does; which one AWS applies is unconfirmed)"
                )
        live = as_if_deployed(before.spec) if before is not None else None
        native = after.native if after is not None else before is not None and before.native
        plan = plan_monitor(logical_id, after.spec if after else None, live, kept=kept, native=native)
        if note is not None:
            plan.add(note)
        if after is None and before is not None:
            switched = _switched_engine(before, new)
            if switched is not None:
                plan.add(switched)
        plans.append(plan)
    return plans


def _taken(logical_id: str, monitor: Declared, owner: str, previous: Declared, against: StackInput) -> str:
    """Why a monitor whose name is another resource's in the older template cannot be deployed."""
    if monitor.native != previous.native:
        return (
            f"resource {logical_id}: monitor {monitor.spec.name!r} changes engine, from {previous.engine} (resource "
            f"{owner} in {against.source}) to {monitor.engine}: CloudFormation creates the new monitor before it "
            "deletes the old one, and the name is taken, so the deploy would fail and roll back; give the monitor "
            "a new monitor_name with the new engine, or take two deploys (docs/engines.md)"
        )
    return (
        f"resource {logical_id}: MonitorName {monitor.spec.name!r} is resource {owner}'s in {against.source}; "
        f"CloudFormation deletes that monitor only in the clean-up, after creating {logical_id}'s, so the handler "
        "would refuse it as another resource's: choose another name, or free this one in a deploy of its own first"
    )


def _switched_engine(before: Declared, new: Mapping[str, Declared]) -> str | None:
    """A note where a removed monitor comes back at the same construct path on the other engine."""
    if before.path is None:
        return None
    for logical_id, after in new.items():
        if after.path == before.path and after.native != before.native:
            return (
                f"  ! {before.path} changes engine, from {before.engine} to {after.engine} ({logical_id}, "
                f"{after.spec.name}): the new monitor first, this one in the clean-up; its probes get new ids and "
                "their alarms are replaced (docs/engines.md)"
            )
    return None


def _replaced_kept(monitor: Declared) -> str | None:
    """Why the old monitor of a replacement stays: the template's UpdateReplacePolicy (as the kit's
    StackDriver and ministack read it; which template AWS reads where an update changes both the
    policy and the name is unconfirmed)."""
    return "its UpdateReplacePolicy is Retain" if monitor.update_replace_policy == RETAIN else None


def against_account(
    stack: StackInput, new: dict[str, Declared], live: Mapping[str, LiveMonitor], others: Sequence[tuple[str, str]]
) -> list[MonitorPlan]:
    """Each monitor's plan from the live account: the monitor of its name, if this resource's,
    else the one tagged as this resource's (a replacement); then the stack's monitors the
    template no longer declares."""
    refused = [
        f"resource {logical_id}: monitor {monitor.spec.name!r} exists and is not this resource's ({why}): the "
        "deploy would fail; choose another MonitorName, or delete that monitor"
        for logical_id, monitor in new.items()
        if monitor.spec.name in live and not monitor.native  # CloudFormation's own: no ownership tags
        for why in [_whose(logical_id, stack.stack_name, monitor, live[monitor.spec.name])]
        if why is not None
    ]
    if refused:
        raise InputError(f"{stack.source}: " + "; ".join(refused))
    tagged = dict(reversed(others))
    plans = []
    for logical_id, monitor in new.items():
        current = live.get(monitor.spec.name)
        if current is not None:
            adopt = not monitor.native and not any(is_owner_tag(key) for key in current.tags)
            plans.append(plan_monitor(logical_id, monitor.spec, current, adopt=adopt, native=monitor.native))
        else:
            previous = live[tagged[logical_id]] if logical_id in tagged else None
            kept = _replaced_kept(monitor)
            plans.append(plan_monitor(logical_id, monitor.spec, previous, kept=kept, native=monitor.native))
    for logical_id, name in others:
        if logical_id not in new:
            plan = plan_monitor(logical_id, None, live[name])
            plan.add("  (unless the deployed stack retains it: --live does not read its DeletionPolicy)")
            plans.append(plan)
    return plans
