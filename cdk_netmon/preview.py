"""What the next deploy would do to each monitor, probe by probe, with the exact API calls: a plan
computed by the handler's own pure planner (`cdk_netmon.handler.planner`), like `terraform plan`.

    python -m cdk_netmon plan cdk.out --stack Hub --against old/Hub.template.json   # offline
    python -m cdk_netmon plan cdk.out --stack Hub --against before.out              # the same stack in it
    python -m cdk_netmon plan cdk.out --stack Hub --live                            # read-only, your account

Against an older synthesized template the "live" state is that template's, as if converged (a
deploy from it). With --live it is the account's, read with your own credentials and region:
GetMonitor and ListMonitors only, never a write; what the live monitors have that the template does
not (drift) shows as the changes the deploy would make to remove it.

The plan follows CloudFormation's order: a monitor removed from the template is deleted in the
clean-up unless its resource's `DeletionPolicy` is Retain or RetainExceptOnCreate (which acts as
Retain in every operation but the rollback of the one that created the resource); a new
`MonitorName` is a replacement, whose old monitor is deleted in the clean-up unless the resource's
`UpdateReplacePolicy` is Retain (CloudFormation's DeletionPolicy and UpdateReplacePolicy attribute
pages; the values cfn-lint allows on a custom resource). The kit's `StackDriver` acts the same.

Template parameters take the values given with `--parameter NAME=VALUE`, else their defaults; a
parameter with neither is an error. The values reach both templates (the older one as deployed with
them) unless `--against-parameter NAME=VALUE` gives the older one its own. Exit code 0 when the
deploy would change nothing, 2 when it would, 1 on every error (usage errors included), so that it
fits a CI gate. Every error is one line that names the file, and for a template the resource and
the property.

Deploy-time values are written `${LogicalId}`; offline both templates hold the same placeholders.
Live, a probe's source must be a concrete subnet ARN to be matched with the live probe: give the
physical ids of the stack's subnets with `--ref LogicalId=subnet-...`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TextIO

from .assembly import InputError, StackInput, delivered, name_value, read_input
from .handler.live import Generation, LiveMonitor, LiveProbe
from .handler.planner import mark_call, match_probes, plan_changes, probe_changes, tag_calls
from .handler.rules import ACTIVE, GENERATION_TAG, OWNER_LOGICAL_ID_TAG, OWNER_STACK_TAG, PAUSED, is_owner_tag
from .handler.spec import LEGACY_PROPERTY, OWNERSHIP_PROPERTY, RESOURCE_TYPE, MonitorSpec, ProbeSpec, endpoint

EXIT_NO_CHANGES, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
FRAMEWORK_PROPERTIES = ("ServiceToken", "ServiceTimeout")
"""Properties of the custom resource that are not the monitor's."""
DELETE, RETAIN, RETAIN_EXCEPT_ON_CREATE = "Delete", "Retain", "RetainExceptOnCreate"
DELETION_POLICIES = (DELETE, RETAIN, RETAIN_EXCEPT_ON_CREATE)
UPDATE_REPLACE_POLICIES = (DELETE, RETAIN)
"""The values cfn-lint 1.58.0 allows on a custom resource (rules E3035 and E3036: Snapshot only on
types that take snapshots)."""
RETAINING = frozenset({RETAIN, RETAIN_EXCEPT_ON_CREATE})
"""DeletionPolicy values that keep the resource of a monitor removed from the template."""


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


class TemplateProblem(ValueError):
    """Something at one place of a template that the plan cannot read; the message names the place."""


def kind(value: Any) -> str:
    """A JSON value's kind, in the words of messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "a map"


def shown(value: Any) -> str:
    """A scalar as a template writes it ('sixty', 44.5, true); a list or a map by its kind."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str | int | float):
        return repr(value)
    return kind(value)


def _form(value: Any) -> str:
    """A short list by the kinds of its items ("[a string, a list]"), anything else by its kind."""
    if isinstance(value, list) and 0 < len(value) <= 3:
        return f"[{', '.join(kind(item) for item in value)}]"
    return kind(value)


def _is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _at(where: str, key: object) -> str:
    return f"{where}.{key}" if where else str(key)


class Resolver:
    """Intrinsic functions to values: pseudo parameters, given refs and parameters where known,
    else a `${...}` placeholder, recorded in `unresolved`. Functions the plan does not evaluate
    (`Fn::If`, `Fn::FindInMap`, ...) become `${Fn::If:<hash>}`, one per expression; a malformed
    function is a `TemplateProblem` naming its place. With `strict`, a Ref or Fn::GetAtt must name
    a parameter or resource of the template, as CloudFormation requires."""

    def __init__(
        self,
        template: Mapping[str, Any],
        values: Mapping[str, str],
        parameters: Mapping[str, str] | None = None,
        *,
        strict: bool = False,
    ) -> None:
        self.template, self.values = template, dict(values)
        self.parameters = dict(parameters or {})
        self.strict = strict
        self.unresolved: set[str] = set()
        self.without_value: set[str] = set()
        """Parameters referred to that have neither a given value nor a default."""

    def __call__(self, value: Any, where: str = "") -> Any:
        if isinstance(value, list):
            return [self(v, _at(where, i)) for i, v in enumerate(value)]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            [(key, argument)] = value.items()
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, argument, where)
            if key.startswith("Fn::"):
                digest = hashlib.sha256(json.dumps(argument, sort_keys=True, default=str).encode()).hexdigest()
                return self._named(f"{key}:{digest[:6]}")
        return {k: self(v, _at(where, k)) for k, v in value.items()}

    def _named(self, name: str) -> str:
        if name in self.values:
            return self.values[name]
        parameter = _parameters(self.template).get(name)
        if isinstance(parameter, Mapping):
            if name in self.parameters:
                return self.parameters[name]
            if "Default" in parameter and not str(parameter.get("Type", "")).startswith("AWS::SSM::"):
                return str(delivered(parameter["Default"]))  # an SSM parameter's default names it, not its value
            if "Default" not in parameter:
                self.without_value.add(name)
        self.unresolved.add(name)
        return f"${{{name}}}"

    def _declares(self, name: str, where: str, function: str) -> None:
        resources = self.template.get("Resources")
        known = name.startswith("AWS::") or name in _parameters(self.template)
        if self.strict and not known and not (isinstance(resources, Mapping) and name in resources):
            raise TemplateProblem(f"{where}: {function} {name}: the template has no parameter or resource of that name")

    def _ref(self, name: Any, where: str) -> str:
        if not isinstance(name, str):
            raise TemplateProblem(f"{where}: Ref takes a name (a string), not {kind(name)}")
        self._declares(name, where, "Ref")
        return self._named(name)

    def _get_att(self, argument: Any, where: str) -> str:
        if isinstance(argument, str) and "." in argument:
            argument = argument.split(".", 1)
        if not (isinstance(argument, list) and len(argument) == 2 and all(isinstance(p, str) for p in argument)):
            raise TemplateProblem(f"{where}: Fn::GetAtt takes [logical id, attribute], not {_form(argument)}")
        self._declares(argument[0], where, "Fn::GetAtt")
        return self._named(".".join(argument))

    def _text(self, value: Any, where: str, what: str) -> str:
        """A function's argument that must resolve to a string (numbers and booleans as CloudFormation writes them)."""
        resolved = self(value, where)
        if isinstance(resolved, list | Mapping) or resolved is None:
            raise TemplateProblem(f"{where}: {what} is {kind(resolved)}, not a string")
        return str(delivered(resolved))

    def _join(self, argument: Any, where: str) -> str:
        if not (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str)):
            raise TemplateProblem(f"{where}: Fn::Join takes [separator, [values]], not {_form(argument)}")
        separator, parts = argument[0], self(argument[1], where)
        if _is_placeholder(parts):
            return f"${{Fn::Join:{parts}}}"  # a list known at deploy only
        if not isinstance(parts, list):
            raise TemplateProblem(f"{where}: Fn::Join takes [separator, [values]], not [a string, {kind(parts)}]")
        return separator.join(self._text(part, where, f"Fn::Join's value {i}") for i, part in enumerate(parts))

    def _sub(self, argument: Any, where: str) -> str:
        if isinstance(argument, str):
            argument = [argument, {}]
        if not (
            isinstance(argument, list)
            and len(argument) == 2
            and isinstance(argument[0], str)
            and isinstance(argument[1], Mapping)
        ):
            raise TemplateProblem(
                f"{where}: Fn::Sub takes a string or [string, {{name: value}}], not {_form(argument)}"
            )
        text, variables = argument

        def value_of(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return f"${{{name[1:]}}}"
            if name in variables:
                return self._text(variables[name], where, f"Fn::Sub's variable {name}")
            return self._get_att(name, where) if "." in name else self._ref(name, where)

        return re.sub(r"\$\{([^}]*)\}", value_of, text)

    def _select(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateProblem(f"{where}: Fn::Select takes [index, list], not {_form(argument)}")
        index, items = self(argument[0], where), self(argument[1], where)
        if _is_placeholder(index) or _is_placeholder(items):
            return f"${{Fn::Select:{index}:{items}}}"  # known at deploy only
        if isinstance(index, str) and re.fullmatch(r"\d+", index):
            index = int(index)
        if not isinstance(index, int) or isinstance(index, bool):
            raise TemplateProblem(f"{where}: Fn::Select index {shown(index)} is not a whole number")
        if not isinstance(items, list):
            raise TemplateProblem(f"{where}: Fn::Select takes [index, list], not [a number, {kind(items)}]")
        if not 0 <= index < len(items):
            raise TemplateProblem(f"{where}: Fn::Select index {index} is outside a list of {len(items)}")
        return items[index]

    def _split(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str) and argument[0]):
            raise TemplateProblem(f"{where}: Fn::Split takes [delimiter, string], not {_form(argument)}")
        text = self._text(argument[1], where, "Fn::Split's string")
        return text if _is_placeholder(text) else text.split(argument[0])

    def _import(self, argument: Any, where: str) -> str:
        return self._named(f"ImportValue:{self._text(argument, where, 'Fn::ImportValue')}")

    def _stack_output(self, argument: Any, where: str) -> str:
        """A weak cross-stack reference (aws-cdk-lib's `@aws-cdk/core:defaultCrossStackReferences`)."""
        if not isinstance(argument, Mapping):
            raise TemplateProblem(f"{where}: Fn::GetStackOutput takes {{StackName, OutputName}}, not {_form(argument)}")
        stack = self._text(argument.get("StackName"), where, "Fn::GetStackOutput's StackName")
        output = self._text(argument.get("OutputName"), where, "Fn::GetStackOutput's OutputName")
        return self._named(f"StackOutput:{stack}.{output}")


_FUNCTIONS: dict[str, Callable[[Resolver, Any, str], Any]] = {
    "Ref": Resolver._ref,
    "Fn::GetAtt": Resolver._get_att,
    "Fn::Join": Resolver._join,
    "Fn::Sub": Resolver._sub,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::ImportValue": Resolver._import,
    "Fn::GetStackOutput": Resolver._stack_output,
}


def _parameters(template: Mapping[str, Any]) -> Mapping[str, Any]:
    parameters = template.get("Parameters")
    return parameters if isinstance(parameters, Mapping) else {}


# The properties as the handler reads them (`MonitorSpec.from_properties`): what each place must hold.


def _text_problem(value: Any) -> str | None:
    """A string, or a number or boolean, which CloudFormation delivers as one."""
    return None if isinstance(value, str | int | float) else f"{kind(value)}, not a string"


def _string_problem(value: Any) -> str | None:
    return None if isinstance(value, str) else f"{kind(value)}, not a string"


def _whole_problem(value: Any) -> str | None:
    """A whole number, written as one or as its digits, or a value known at deploy only."""
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    if isinstance(value, str) and (re.fullmatch(r"-?\d+", value.strip()) or _is_placeholder(value)):
        return None
    return f"{shown(value)}, not a whole number"


def _map_problem(value: Any) -> str | None:
    return None if isinstance(value, Mapping) else f"{kind(value)}, not a map"


@dataclass(frozen=True)
class _Names:
    """The names a monitor's fields have in one shape of properties, and whether its numbers and
    booleans reach the handler as strings (CloudFormation's properties) or as they are (JSON text)."""

    name: str
    period: str
    tags: str
    probes: str
    probe_tags: str
    required: tuple[str, ...]
    texts: tuple[str, ...]
    numbers: tuple[str, ...]
    stringified: bool


STRUCTURED = _Names(
    "MonitorName", "AggregationPeriod", "Tags", "Probes", "Tags",
    ("SourceArn", "Destination", "Protocol"), ("State",), ("DestinationPort", "PacketSize"), stringified=True,
)  # fmt: skip
LEGACY = _Names(
    "monitorName", "aggregationPeriod", "tags", "probes", "probeTags",
    ("sourceArn", "destination", "protocol"), ("state",), ("destinationPort", "packetSize"), stringified=False,
)  # fmt: skip
"""The fields of 0.2.0's `Monitor` JSON string, in CreateMonitor's names."""


def shape_problems(properties: Mapping[str, Any]) -> list[str]:
    """What in a monitor's resolved properties the handler could not read, each named by its place."""
    if LEGACY_PROPERTY in properties:
        return _legacy_problems(properties[LEGACY_PROPERTY])
    return _monitor_problems(properties, "Properties", STRUCTURED)


def _legacy_problems(raw: Any) -> list[str]:
    where = f"Properties.{LEGACY_PROPERTY}"
    if not isinstance(raw, str):
        return [f"{where} is {kind(raw)}, not a string (the JSON of a monitor, as 0.2.0 wrote it)"]
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as error:
        return [f"{where} is not JSON: {error}"]
    if not isinstance(document, Mapping):
        return [f"{where} holds {kind(document)}, not a map"]
    problems = _monitor_problems(document, "", LEGACY)
    return [f"{where}: {'; '.join(problems)}"] if problems else []


def _monitor_problems(body: Mapping[str, Any], where: str, names: _Names) -> list[str]:
    problems: list[str] = []

    def check(
        place: Mapping[str, Any], key: str, at: str, problem: Callable[[Any], str | None], required: bool
    ) -> None:
        if key not in place:
            problems.extend([f"{_at(at, key)} is missing"] if required else [])
            return
        found = problem(place[key])
        if found is not None:
            problems.append(f"{_at(at, key)} is {found}")

    def tags(place: Mapping[str, Any], key: str, at: str) -> None:
        check(place, key, at, _map_problem, False)
        if isinstance(place.get(key), Mapping):
            for tag in place[key]:
                check(place[key], tag, _at(at, key), text, True)

    text = _text_problem if names.stringified else _string_problem
    check(body, names.name, where, text, True)
    check(body, names.period, where, _whole_problem, False)
    tags(body, names.tags, where)
    probes = body.get(names.probes, {})
    listed = names is LEGACY
    if names.probes in body and not isinstance(probes, list if listed else Mapping):
        problems.append(f"{_at(where, names.probes)} is {kind(probes)}, not {'a list' if listed else 'a map'}")
        return problems
    for key, probe in enumerate(probes) if listed else probes.items():
        at = _at(_at(where, names.probes), key)
        if not isinstance(probe, Mapping):
            problems.append(f"{at} is {kind(probe)}, not a map")
            continue
        for name in names.required:
            check(probe, name, at, text, True)
        for name in names.texts:
            check(probe, name, at, text, False)
        for name in names.numbers:
            check(probe, name, at, _whole_problem, False)
        tags(probe, names.probe_tags, at)
    return problems


@dataclass(frozen=True)
class Declared:
    """A monitor a template declares, with what CloudFormation does with its resource."""

    spec: MonitorSpec
    deletion_policy: str = DELETE
    update_replace_policy: str = DELETE
    legacy: bool = False
    """Properties without `OwnershipTags` (0.1.0's): the handler adopts an untagged monitor of the name."""


def declared(
    stack: StackInput, values: Mapping[str, str], parameters: Mapping[str, str] | None = None
) -> tuple[dict[str, Declared], set[str]]:
    """The template's monitors by logical id, and the references it could not resolve. Anything
    the plan cannot read is an InputError naming the file, each resource and property: all at once."""
    template = stack.template
    resolve = Resolver(template, values, parameters, strict=True)
    problems = _template_problems(template)
    monitors: dict[str, Declared] = {}
    resources = template.get("Resources")
    for logical_id, resource in resources.items() if isinstance(resources, Mapping) and not problems else ():
        if not isinstance(resource, Mapping):
            problems.append(f"resource {logical_id} is {kind(resource)}, not a map")
        elif resource.get("Type") == RESOURCE_TYPE:
            try:
                monitors[logical_id] = _monitor(resource, resolve)
            except _Problems as found:
                problems += [f"resource {logical_id}: {problem}" for problem in found.problems]
    names: dict[str, list[str]] = {}
    for logical_id, monitor in monitors.items():
        names.setdefault(monitor.spec.name, []).append(logical_id)
    for name, ids in names.items():
        if len(ids) > 1:
            problems.append(
                f"resources {', '.join(ids[:-1])} and {ids[-1]} both declare MonitorName {name!r}: a monitor's name "
                "is unique in its account and region, so the deploy would fail on the second"
            )
    missing = sorted(resolve.without_value)
    if missing:
        one = len(missing) == 1
        problems.insert(
            0,
            f"parameter{'' if one else 's'} {', '.join(missing)} {'has' if one else 'have'} no value and no default: "
            f"give {'it' if one else 'them'} ({' '.join(f'--parameter {name}=VALUE' for name in missing)})",
        )
    if problems:
        raise InputError(f"{stack.source}: " + "; ".join(problems))
    return monitors, resolve.unresolved


class _Problems(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _template_problems(template: Mapping[str, Any]) -> list[str]:
    problems = [
        f"{section} is {kind(template[section])}, not a map"
        for section in ("Parameters", "Resources")
        if section in template and not isinstance(template[section], Mapping)
    ]
    for name, parameter in _parameters(template).items():
        if not isinstance(parameter, Mapping):
            problems.append(f"Parameters.{name} is {kind(parameter)}, not a map")
        elif "Default" in parameter and _text_problem(parameter["Default"]) is not None:
            problems.append(f"Parameters.{name}.Default is {_text_problem(parameter['Default'])}")
    return problems


def _monitor(resource: Mapping[str, Any], resolve: Resolver) -> Declared:
    """One `Custom::NetworkMonitor` resource, or `_Problems` naming each place it is malformed."""
    problems: list[str] = []
    if "Condition" in resource:
        condition = resource["Condition"]
        problems.append(f"has Condition {condition if isinstance(condition, str) else kind(condition)}, "
                        "which the plan does not evaluate")  # fmt: skip
    policies: dict[str, str] = {}
    for attribute, allowed in (("DeletionPolicy", DELETION_POLICIES), ("UpdateReplacePolicy", UPDATE_REPLACE_POLICIES)):
        try:
            policy = resolve(resource.get(attribute, DELETE), attribute)
        except TemplateProblem as problem:
            problems.append(str(problem))
            continue
        if not isinstance(policy, str):
            problems.append(f"{attribute} is {kind(policy)}, not a string")
        elif policy not in allowed:
            problems.append(f"{attribute} is {policy!r}, not one of {', '.join(allowed)}")
        policies[attribute] = policy
    properties = resource.get("Properties", {})
    if not isinstance(properties, Mapping):
        raise _Problems([*problems, f"Properties is {kind(properties)}, not a map"])
    resolved: dict[str, Any] = {}
    for key, value in properties.items():
        if key not in FRAMEWORK_PROPERTIES:
            try:
                resolved[key] = resolve(value, f"Properties.{key}")
            except TemplateProblem as problem:
                problems.append(str(problem))
    if problems or shape_problems(resolved):
        raise _Problems(problems or shape_problems(resolved))
    return Declared(
        MonitorSpec.from_properties(delivered(resolved), check=False),
        deletion_policy=policies["DeletionPolicy"],
        update_replace_policy=policies["UpdateReplacePolicy"],
        legacy=OWNERSHIP_PROPERTY not in properties,
    )


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


def plan_monitor(
    logical_id: str,
    new: MonitorSpec | None,
    live: LiveMonitor | None,
    *,
    kept: str | None = None,
    adopt: bool = False,
) -> MonitorPlan:
    """The lines and calls of one monitor: created, deleted, replaced or changed in place. `kept`
    says why CloudFormation keeps the old monitor where it would delete it (a Retain policy);
    `adopt`: the live monitor is 0.1.0's, untagged, and the handler tags it as this resource's."""
    if new is not None and live is not None and new.name == live.name:
        return _in_place(logical_id, new, live, adopt)
    plan = MonitorPlan(f"{logical_id} ({new.name if new else live.name if live else '?'})")
    if new is not None:
        paused = [p for p in new.probes if p.state == PAUSED]
        plan.add(f"+ monitor {new.name}: {len(new.probes)} probes", "CreateMonitor", *["UpdateProbe"] * len(paused))
        for probe in new.probes:
            plan.add(f"  + probe {probe.key} ({describe(probe)}){' paused' if probe.state == PAUSED else ''}")
    if live is not None:
        why = "replaced" if new is not None else "removed from the template"
        probes = f"its {len(live.probes)} probes"
        if kept is not None:
            plan.add(f"- monitor {live.name}: {why}; {kept}, so it stays, with {probes} (no call)")
        else:
            deletes = ["DeleteProbe"] * len(live.probes)
            when = "; deleted in the clean-up," if new is not None else ","
            plan.add(f"- monitor {live.name}: {why}{when} {probes} first", *deletes, "DeleteMonitor")
    return plan


def _in_place(logical_id: str, new: MonitorSpec, live: LiveMonitor, adopt: bool) -> MonitorPlan:
    plan = MonitorPlan(f"{logical_id} ({new.name})")
    if adopt:
        plan.add("~ adopted: the monitor 0.1.0 made gets this resource's ownership tags", "TagResource")
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
    planned["TagResource"] += adopt
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


def live_monitors(
    client: Any, stack_name: str, names: Sequence[str]
) -> tuple[dict[str, LiveMonitor], list[tuple[str, str]]]:
    """The live monitors of the declared names, and (logical id, name) of this stack's other
    monitors (by their ownership tags), read with GetMonitor and ListMonitors only."""
    from botocore.exceptions import ClientError

    found: dict[str, LiveMonitor] = {}
    for name in names:
        try:
            found[name] = LiveMonitor.from_response(client.get_monitor(monitorName=name))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
    others: list[tuple[str, str]] = []
    for page in client.get_paginator("list_monitors").paginate():
        for summary in page.get("monitors", []):
            tags = summary.get("tags") or {}
            if _stack_of(tags) == stack_name and summary["monitorName"] not in names:
                others.append((str(tags.get(OWNER_LOGICAL_ID_TAG, summary["monitorName"])), summary["monitorName"]))
    for _, name in others:
        found[name] = LiveMonitor.from_response(client.get_monitor(monitorName=name))
    return found, others


def _stack_of(tags: Mapping[str, str]) -> str | None:
    """The stack name in a monitor's ownership tag (a stack id: `arn:...:stack/<name>/<uuid>`)."""
    parts = str(tags.get(OWNER_STACK_TAG, "")).split("/")
    return parts[1] if len(parts) > 1 else None


def _whose(logical_id: str, stack_name: str, monitor: Declared, live: LiveMonitor) -> str | None:
    """Why the handler would refuse the live monitor of a declared name as another's, or None
    where it is this resource's (or 0.1.0's, untagged, which it adopts)."""
    owner = live.tags.get(OWNER_LOGICAL_ID_TAG)
    if _stack_of(live.tags) == stack_name and owner == logical_id:
        return None
    if not any(is_owner_tag(key) for key in live.tags):
        return None if monitor.legacy else "it has no ownership tags"
    return f"its ownership tags name {_stack_of(live.tags)}/{owner}"


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
    parameters: Mapping[str, str] | None = None,
    against_parameters: Mapping[str, str] | None = None,
) -> int:
    """Print the plan of `stack` against an older template or (with `client`) the live account.
    `parameters` are the template parameters' values (both templates'); `against_parameters` the
    older template's, where they differ."""
    values = {"AWS::Partition": "aws", **(refs or {})}
    for name, value in (("AWS::AccountId", account or stack.account), ("AWS::Region", region or stack.region)):
        if value:
            values[name] = value
    values.setdefault("AWS::StackName", stack.stack_name)
    if client is not None and "AWS::AccountId" not in values:
        found = account_of(client)
        if found:
            values["AWS::AccountId"] = found
    _check_parameters(stack, against, parameters or {}, against_parameters or {})
    new, unresolved = declared(stack, values, parameters)
    if against is not None:
        old, _ = declared(against, values, {**(parameters or {}), **(against_parameters or {})})
        out_lines = [f"Plan for {stack.stack_name}: {stack.source} against {against.source}"]
        plans = _against(stack, new, against, old)
    else:
        _check_resolved(stack, unresolved)
        live, others = live_monitors(client, stack.stack_name, [monitor.spec.name for monitor in new.values()])
        out_lines = [f"Plan for {stack.stack_name}: {stack.source} against the live account (read-only)"]
        plans = _live(stack, new, live, others)
    changed = [plan for plan in plans if plan.lines]
    for plan in changed:
        out_lines += [plan.title, *(f"  {line}" for line in plan.lines)]
    calls = Counter(call for plan in plans for call in plan.calls)
    summary = ", ".join(f"{name} x{n}" for name, n in sorted(calls.items()))
    if changed:
        out_lines.append(f"Calls: {summary or 'none'}")
    else:
        out_lines.append("No changes: the deploy would make no call.")
    out.write("".join(f"{line}\n" for line in out_lines))
    return EXIT_CHANGES if changed else EXIT_NO_CHANGES


def _against(
    stack: StackInput, new: dict[str, Declared], against: StackInput, old: dict[str, Declared]
) -> list[MonitorPlan]:
    """Each monitor's plan from the older template's converged state, in CloudFormation's order:
    creations and updates, then in the clean-up the deletions that no Retain policy prevents."""
    owners = {monitor.spec.name: logical_id for logical_id, monitor in old.items()}
    taken = [
        f"resource {logical_id}: MonitorName {monitor.spec.name!r} is resource {owner}'s in {against.source}; "
        f"CloudFormation deletes that monitor only in the clean-up, after creating {logical_id}'s, so the handler "
        "would refuse it as another resource's: choose another name, or free this one in a deploy of its own first"
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
        plan = plan_monitor(logical_id, after.spec if after else None, live, kept=kept)
        if note is not None:
            plan.add(note)
        plans.append(plan)
    return plans


def _replaced_kept(monitor: Declared) -> str | None:
    """Why the old monitor of a replacement stays: the template's UpdateReplacePolicy (as the kit's
    StackDriver and ministack read it; which template AWS reads where an update changes both the
    policy and the name is unconfirmed)."""
    return "its UpdateReplacePolicy is Retain" if monitor.update_replace_policy == RETAIN else None


def _live(
    stack: StackInput, new: dict[str, Declared], live: Mapping[str, LiveMonitor], others: Sequence[tuple[str, str]]
) -> list[MonitorPlan]:
    """Each monitor's plan from the live account: the monitor of its name, if this resource's,
    else the one tagged as this resource's (a replacement); then the stack's monitors the
    template no longer declares."""
    refused = [
        f"resource {logical_id}: monitor {monitor.spec.name!r} exists and is not this resource's ({why}): the "
        "deploy would fail; choose another MonitorName, or delete that monitor"
        for logical_id, monitor in new.items()
        if monitor.spec.name in live
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
            adopt = not any(is_owner_tag(key) for key in current.tags)
            plans.append(plan_monitor(logical_id, monitor.spec, current, adopt=adopt))
        else:
            previous = live[tagged[logical_id]] if logical_id in tagged else None
            plans.append(plan_monitor(logical_id, monitor.spec, previous, kept=_replaced_kept(monitor)))
    for logical_id, name in others:
        if logical_id not in new:
            plan = plan_monitor(logical_id, None, live[name])
            plan.add("  (unless the deployed stack retains it: --live does not read its DeletionPolicy)")
            plans.append(plan)
    return plans


def _check_parameters(
    stack: StackInput, against: StackInput | None, given: Mapping[str, str], older: Mapping[str, str]
) -> None:
    """Every parameter given is one of the templates' (CloudFormation refuses others)."""
    for option, names, templates in (
        ("--parameter", given, [stack] + ([against] if against else [])),
        ("--against-parameter", older, [against] if against else []),
    ):
        declared_names = sorted({name for t in templates for name in _parameters(t.template)})
        for name in names:
            if name in declared_names:
                continue
            if option == "--parameter" and against is not None:
                which, them = "neither template has a parameter of that name", "they have"
            else:
                which, them = f"the {'older ' if against else ''}template has no parameter of that name", "it has"
            listed = f" ({them}: {', '.join(declared_names)})" if declared_names else ""
            raise InputError(f"{option} {name}: {which}{listed}")


def _check_resolved(stack: StackInput, unresolved: set[str]) -> None:
    """Live, every value that identifies a probe must be concrete."""
    unevaluated = sorted({name.split(":")[0] for name in unresolved if name.startswith("Fn::")})
    needed = sorted(name for name in unresolved if not name.startswith("Fn::"))
    if unevaluated:
        raise InputError(
            f"{stack.source}: to compare with the live account the plan needs concrete values; "
            f"it does not evaluate {', '.join(unevaluated)} in the template's monitors"
        )
    if needed:
        raise InputError(
            f"{stack.source}: to compare with the live account, give each of these (--ref NAME=VALUE, "
            f"--parameter NAME=VALUE, or --account, --region): {', '.join(needed)}"
        )


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors exiting 1: its own 2 is this command's "changes"."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    """The plan command's arguments."""
    arguments = _Parser(prog="python -m cdk_netmon plan", description=(__doc__ or "").split("\n\n")[0])
    arguments.add_argument("input", type=Path, nargs="?", default=Path("cdk.out"), help="a cloud assembly or template")
    arguments.add_argument(
        "--stack", metavar="NAME", help="the stack of a cloud assembly with several (its id or stack name)"
    )
    arguments.add_argument(
        "--against", type=Path, metavar="TEMPLATE", help="an older synthesized template, or cloud assembly (offline)"
    )
    arguments.add_argument("--live", action="store_true", help="read the live monitors with your credentials")
    arguments.add_argument(
        "--parameter", action="append", default=[], metavar="NAME=VALUE", help="a template parameter's value"
    )
    arguments.add_argument(
        "--against-parameter", action="append", default=[], metavar="NAME=VALUE",
        help="a parameter's value the older template was deployed with, where not --parameter's",
    )  # fmt: skip
    arguments.add_argument("--ref", action="append", default=[], metavar="NAME=VALUE", help="a reference's value")
    arguments.add_argument("--account", help="default: the stack's, where the app gives it")
    arguments.add_argument("--region", help="default: the stack's, else your SDK configuration's (--live)")
    arguments.epilog = "Exit code: 0 no change, 2 changes, 1 every error (usage errors included)."
    return arguments


def main(argv: list[str] | None = None, out: TextIO | None = None, new_client: Callable[[], Any] | None = None) -> int:
    arguments = parser()
    try:
        args = arguments.parse_args(argv)
        if args.live == (args.against is not None):
            arguments.error("give either --against TEMPLATE or --live")
        if args.live and args.against_parameter:
            arguments.error("--against-parameter is for --against")
    except SystemExit as stop:  # --help (0), or a usage error (1)
        return stop.code if isinstance(stop.code, int) else EXIT_ERROR
    out = out or sys.stdout
    try:
        stack = read_input(args.input, args.stack)
        refs = dict(name_value(r, "--ref") for r in args.ref)
        parameters = dict(name_value(p, "--parameter") for p in args.parameter)
        if args.against is not None:
            against = read_input(args.against, args.stack or stack.stack_name)
            older = dict(name_value(p, "--against-parameter") for p in args.against_parameter)
            return run(
                stack, out, against=against, refs=refs, account=args.account, region=args.region,
                parameters=parameters, against_parameters=older,
            )  # fmt: skip
        client = (new_client or _client(args.region or stack.region))()
        region = args.region or stack.region or client.meta.region_name
        return run(stack, out, client=client, refs=refs, account=args.account, region=region, parameters=parameters)
    except InputError as error:
        print(f"plan: {one_line(str(error))}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:
        if not type(error).__module__.startswith(("botocore", "boto3")):
            raise  # the plan's own fault: its trace is the bug report
        print(f"plan: {type(error).__name__}: {one_line(str(error))}", file=sys.stderr)  # credentials, region, access
        return EXIT_ERROR


def one_line(text: str) -> str:
    """The text with line breaks and other unprintable characters (a template's keys may hold any) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _client(region: str | None) -> Callable[[], Any]:
    def make() -> Any:
        import boto3

        return boto3.client("networkmonitor", region_name=region)

    return make
