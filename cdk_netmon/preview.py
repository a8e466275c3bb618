"""What the next deploy would do to each monitor, probe by probe, with the exact API calls: a plan
computed by the handler's own pure planner (`cdk_netmon.handler.plan`), like `terraform plan`.

    python -m cdk_netmon plan cdk.out --stack Hub --against old/Hub.template.json   # offline
    python -m cdk_netmon plan cdk.out --stack Hub --live                            # read-only, your account

Against an older synthesized template the "live" state is that template's, as if converged (a
deploy from it). With --live it is the account's, read with your own credentials and region:
GetMonitor and ListMonitors only, never a write; what the live monitors have that the template does
not (drift) shows as the changes the deploy would make to remove it. Exit code 0 when the deploy
would change nothing, 2 when it would, 1 on an error, so that it fits a CI gate.

Deploy-time values are written `${LogicalId}`; offline both templates hold the same placeholders.
Live, a probe's source must be a concrete subnet ARN to be matched with the live probe: give the
physical ids of the stack's subnets with `--ref LogicalId=subnet-...`.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .assembly import InputError, StackInput, name_value, read_input
from .handler.model import (
    ACTIVE,
    PAUSED,
    RESOURCE_TYPE,
    Generation,
    LiveMonitor,
    LiveProbe,
    MonitorSpec,
    ProbeSpec,
    endpoint,
)
from .handler.plan import mark_call, match_probes, plan_changes, probe_changes, tag_calls
from .handler.rules import GENERATION_TAG, OWNER_LOGICAL_ID_TAG, OWNER_STACK_TAG, is_owner_tag

EXIT_NO_CHANGES, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
FRAMEWORK_PROPERTIES = ("ServiceToken", "ServiceTimeout")
"""Properties of the custom resource that are not the monitor's."""


@dataclass
class MonitorPlan:
    """One monitor's lines and calls."""

    title: str
    lines: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def add(self, line: str, *calls: str) -> None:
        shown = f" ({', '.join(calls)})" if calls else ""
        self.lines.append(f"{line}{shown}")
        self.calls += calls


# --- templates ------------------------------------------------------------------------------------


class Resolver:
    """Intrinsic functions to values: pseudo parameters and given refs where known, else a
    `${...}` placeholder, recorded in `unresolved`."""

    def __init__(self, template: Mapping[str, Any], values: Mapping[str, str]) -> None:
        self.template, self.values = template, dict(values)
        self.unresolved: set[str] = set()

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, Mapping):
            return value
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return str(separator).join(str(self(p)) for p in parts)
        if set(value) == {"Ref"}:
            return self._named(str(value["Ref"]))
        if set(value) == {"Fn::GetAtt"}:
            return self._named(".".join(value["Fn::GetAtt"]))
        if set(value) == {"Fn::ImportValue"}:
            return self._named(f"ImportValue:{self(value['Fn::ImportValue'])}")
        return {k: self(v) for k, v in value.items()}

    def _named(self, name: str) -> str:
        if name in self.values:
            return self.values[name]
        parameter = self.template.get("Parameters", {}).get(name)
        if parameter is not None and "Default" in parameter:
            return str(parameter["Default"])
        self.unresolved.add(name)
        return f"${{{name}}}"


def declared(stack: StackInput, values: Mapping[str, str]) -> tuple[dict[str, MonitorSpec], set[str]]:
    """The template's monitors by logical id, and the references it could not resolve."""
    resolve = Resolver(stack.template, values)

    def monitor(properties: Mapping[str, Any]) -> MonitorSpec:
        read = {k: v for k, v in properties.items() if k not in FRAMEWORK_PROPERTIES}
        return MonitorSpec.from_properties(resolve(read), check=False)

    monitors = {
        logical_id: monitor(resource.get("Properties", {}))
        for logical_id, resource in stack.template.get("Resources", {}).items()
        if resource.get("Type") == RESOURCE_TYPE
    }
    return monitors, resolve.unresolved


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


# --- the plan ---------------------------------------------------------------------------------------


def describe(spec: ProbeSpec) -> str:
    port = spec.destination_port if spec.protocol == "TCP" else None
    return f"{str(spec.source_arn).rsplit('/', 1)[-1]} -> {endpoint(str(spec.destination), port)} {spec.protocol}"


def plan_monitor(logical_id: str, new: MonitorSpec | None, live: LiveMonitor | None) -> MonitorPlan:
    """The lines and calls of one monitor: created, deleted, replaced or changed in place."""
    if new is not None and live is not None and new.name == live.name:
        return _in_place(logical_id, new, live)
    plan = MonitorPlan(f"{logical_id} ({new.name if new else live.name if live else '?'})")
    if new is not None:
        paused = [p for p in new.probes if p.state == PAUSED]
        plan.add(f"+ monitor {new.name}: {len(new.probes)} probes", "CreateMonitor", *["UpdateProbe"] * len(paused))
        for probe in new.probes:
            plan.add(f"  + probe {probe.key} ({describe(probe)}){' paused' if probe.state == PAUSED else ''}")
    if live is not None:
        why = "replaced" if new is not None else "removed from the template"
        deletes = ["DeleteProbe"] * len(live.probes)
        plan.add(f"- monitor {live.name}: {why}, its {len(live.probes)} probes first", *deletes, "DeleteMonitor")
    return plan


def _in_place(logical_id: str, new: MonitorSpec, live: LiveMonitor) -> MonitorPlan:
    plan = MonitorPlan(f"{logical_id} ({new.name})")
    # The ownership tags are the handler's own: kept as the live monitor has them.
    owner_tags = {k: v for k, v in live.tags.items() if is_owner_tag(k)}
    declared = MonitorSpec(new.name, new.aggregation_period, {**new.tags, **owner_tags}, new.probes)
    planner = plan_changes(declared, live, "preview")
    # The deploy's request marks the monitor as its own before its first write (the newest request wins).
    mark = mark_call(live, Generation(0, "the next deploy", new.digest), planner)
    if mark is not None:
        plan.add("~ monitor marked as this deploy's request", "TagResource")
    if live.aggregation_period != declared.aggregation_period:
        plan.add(f"~ aggregation period {live.aggregation_period} -> {declared.aggregation_period} s", "UpdateMonitor")
    _tags(plan, "monitor", live.tags, declared.tags)
    match = match_probes(declared.probes, live.probes)
    for probe in match.surplus:
        plan.add(f"- probe {probe.probe_id} ({describe(probe.spec)}): not in the template", "DeleteProbe")
    order = {id(spec): index for index, spec in enumerate(declared.probes)}
    for spec, probe in sorted(match.pairs, key=lambda pair: order[id(pair[0])]):
        changes = probe_changes(spec, probe)
        if changes:
            plan.add(f"~ probe {spec.key} ({describe(spec)}): {_changed(probe, changes)}", "UpdateProbe")
        _tags(plan, f"probe {spec.key}", probe.spec.tags, spec.tags)
    for spec in match.missing:
        then = ["UpdateProbe"] if spec.state == PAUSED else []
        plan.add(f"+ probe {spec.key} ({describe(spec)}){' paused' if then else ''}", "CreateProbe", *then)
    # The handler's own planner decides; the lines above say it probe by probe, and must add up.
    planned = Counter(_api_name(call.operation) for call in planner.calls)
    planned["TagResource"] += mark is not None
    planned["UpdateProbe"] += sum(1 for spec in match.missing if spec.state == PAUSED)  # paused after creation
    if Counter(plan.calls) != planned:
        raise RuntimeError(f"the preview's lines ({plan.calls}) disagree with the planner's calls ({dict(planned)})")
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
        plan.add(f"~ {what} tags: {' '.join(added + removed)}", *(_api_name(c.operation) for c in calls))


def _api_name(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))


# --- live -------------------------------------------------------------------------------------------


def live_monitors(client: Any, stack_name: str, names: Sequence[str]) -> tuple[dict[str, LiveMonitor], dict[str, str]]:
    """The live monitors of the declared names, and this stack's monitors the template no longer
    declares (by their ownership tags), read with GetMonitor and ListMonitors only."""
    from botocore.exceptions import ClientError

    found: dict[str, LiveMonitor] = {}
    for name in names:
        try:
            found[name] = LiveMonitor.from_response(client.get_monitor(monitorName=name))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
    others: dict[str, str] = {}
    for page in client.get_paginator("list_monitors").paginate():
        for summary in page.get("monitors", []):
            tags = summary.get("tags") or {}
            stack = str(tags.get(OWNER_STACK_TAG, "")).split("/")
            if len(stack) > 1 and stack[1] == stack_name and summary["monitorName"] not in names:
                others[str(tags.get(OWNER_LOGICAL_ID_TAG, summary["monitorName"]))] = summary["monitorName"]
    for name in others.values():
        found[name] = LiveMonitor.from_response(client.get_monitor(monitorName=name))
    return found, others


def account_of(client: Any) -> str | None:
    """The account of the caller's monitors, from a monitor ARN (ListMonitors): no other service is asked."""
    for page in client.get_paginator("list_monitors").paginate():
        for summary in page.get("monitors", []):
            return str(summary["monitorArn"]).split(":")[4]
    return None


# --- the command -------------------------------------------------------------------------------------


def run(
    stack: StackInput,
    out: TextIO,
    *,
    against: StackInput | None = None,
    client: Any = None,
    refs: Mapping[str, str] | None = None,
    account: str | None = None,
    region: str | None = None,
) -> int:
    """Print the plan of `stack` against an older template or (with `client`) the live account."""
    values = {"AWS::Partition": "aws", **(refs or {})}
    for name, value in (("AWS::AccountId", account or stack.account), ("AWS::Region", region or stack.region)):
        if value:
            values[name] = value
    values.setdefault("AWS::StackName", stack.stack_name)
    if client is not None and "AWS::AccountId" not in values:
        found = account_of(client)
        if found:
            values["AWS::AccountId"] = found
    new, unresolved = declared(stack, values)
    plans: list[MonitorPlan] = []
    if against is not None:
        old, _ = declared(against, values)
        out.write(f"Plan for {stack.stack_name}: {stack.source} against {against.source}\n")
        for logical_id in [*new, *(k for k in old if k not in new)]:
            before = old.get(logical_id)
            plans.append(plan_monitor(logical_id, new.get(logical_id), as_if_deployed(before) if before else None))
    else:
        needed = sorted(unresolved)
        if needed:
            raise InputError(
                "to compare with the live account, give each of these (--ref NAME=VALUE, or --account, "
                f"--region): {', '.join(needed)}"
            )
        live, others = live_monitors(client, stack.stack_name, [spec.name for spec in new.values()])
        out.write(f"Plan for {stack.stack_name}: {stack.source} against the live account (read-only)\n")
        for logical_id, spec in new.items():
            plans.append(plan_monitor(logical_id, spec, live.get(spec.name)))
        for logical_id, name in others.items():
            plans.append(plan_monitor(logical_id, None, live[name]))
    changed = [p for p in plans if p.lines]
    for plan in changed:
        out.write(f"{plan.title}\n" + "".join(f"  {line}\n" for line in plan.lines))
    calls = Counter(call for plan in plans for call in plan.calls)
    summary = ", ".join(f"{name} x{n}" for name, n in sorted(calls.items()))
    out.write(f"Calls: {summary}\n" if calls else "No changes: the deploy would make no call.\n")
    return EXIT_CHANGES if calls else EXIT_NO_CHANGES


def main(argv: list[str] | None = None, out: TextIO = sys.stdout, new_client: Callable[[], Any] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cdk_netmon plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("input", type=Path, nargs="?", default=Path("cdk.out"), help="a cloud assembly or template")
    parser.add_argument("--stack", help="the stack of a cloud assembly with several")
    parser.add_argument("--against", type=Path, metavar="TEMPLATE", help="an older synthesized template (offline)")
    parser.add_argument("--live", action="store_true", help="read the live monitors with your credentials")
    parser.add_argument("--ref", action="append", default=[], metavar="NAME=VALUE", help="a reference's value")
    parser.add_argument("--account", help="default: the stack's, where the app gives it")
    parser.add_argument("--region", help="default: the stack's, else your SDK configuration's (--live)")
    args = parser.parse_args(argv)
    try:
        if args.live == (args.against is not None):
            raise InputError("give either --against TEMPLATE or --live")
        stack = read_input(args.input, args.stack)
        refs = dict(name_value(r, "--ref") for r in args.ref)
        if args.against is not None:
            return run(
                stack, out, against=read_input(args.against), refs=refs, account=args.account, region=args.region
            )
        client = (new_client or _client(args.region or stack.region))()
        region = args.region or stack.region or client.meta.region_name
        return run(stack, out, client=client, refs=refs, account=args.account, region=region)
    except (InputError, ValueError) as error:
        print(f"plan: {error}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:  # an SDK or credentials error: one line, not a trace
        print(f"plan: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR


def _client(region: str | None) -> Callable[[], Any]:
    def make() -> Any:
        import boto3

        return boto3.client("networkmonitor", region_name=region)

    return make
