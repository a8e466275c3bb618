"""The monitors a template declares, read as the handler will read them (`MonitorSpec.from_properties`),
with what CloudFormation does with each resource (its DeletionPolicy and UpdateReplacePolicy). What
the handler could not read is an `InputError` naming the file, each resource and property: all at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cdk_netmon.handler.spec import LEGACY_PROPERTY, OWNERSHIP_PROPERTY, RESOURCE_TYPE, MonitorSpec

from .assembly import InputError, StackInput
from .resolve import Resolver, TemplateProblem, delivered, inside, is_placeholder, json_kind, parameters_of, shown

NATIVE_MONITOR, NATIVE_PROBE = "AWS::NetworkMonitor::Monitor", "AWS::NetworkMonitor::Probe"
FRAMEWORK_PROPERTIES = ("ServiceToken", "ServiceTimeout")
"""Properties of the custom resource that are not the monitor's."""
DELETE, RETAIN, RETAIN_EXCEPT_ON_CREATE = "Delete", "Retain", "RetainExceptOnCreate"
DELETION_POLICIES = (DELETE, RETAIN, RETAIN_EXCEPT_ON_CREATE)
UPDATE_REPLACE_POLICIES = (DELETE, RETAIN)
"""The values cfn-lint 1.58.0 allows on a custom resource (rules E3035 and E3036: Snapshot only on
types that take snapshots)."""
RETAINING = frozenset({RETAIN, RETAIN_EXCEPT_ON_CREATE})
"""DeletionPolicy values that keep the resource of a monitor removed from the template."""


# The properties as the handler reads them (`MonitorSpec.from_properties`): what each place must hold.


def _text_problem(value: Any) -> str | None:
    """A string, or a number or boolean, which CloudFormation delivers as one."""
    return None if isinstance(value, str | int | float) else f"{json_kind(value)}, not a string"


def _string_problem(value: Any) -> str | None:
    return None if isinstance(value, str) else f"{json_kind(value)}, not a string"


def _whole_problem(value: Any) -> str | None:
    """A whole number, written as one or as its digits, or a value known at deploy only."""
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    if isinstance(value, str) and (re.fullmatch(r"-?\d+", value.strip()) or is_placeholder(value)):
        return None
    return f"{shown(value)}, not a whole number"


def _map_problem(value: Any) -> str | None:
    return None if isinstance(value, Mapping) else f"{json_kind(value)}, not a map"


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
    return _fields_problems(properties, "Properties", STRUCTURED)


def _legacy_problems(raw: Any) -> list[str]:
    where = f"Properties.{LEGACY_PROPERTY}"
    if not isinstance(raw, str):
        return [f"{where} is {json_kind(raw)}, not a string (the JSON of a monitor, as 0.2.0 wrote it)"]
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as error:
        return [f"{where} is not JSON: {error}"]
    if not isinstance(document, Mapping):
        return [f"{where} holds {json_kind(document)}, not a map"]
    problems = _fields_problems(document, "", LEGACY)
    return [f"{where}: {'; '.join(problems)}"] if problems else []


def _fields_problems(body: Mapping[str, Any], where: str, names: _Names) -> list[str]:
    problems: list[str] = []

    def check(
        place: Mapping[str, Any], key: str, at: str, problem: Callable[[Any], str | None], required: bool
    ) -> None:
        if key not in place:
            problems.extend([f"{inside(at, key)} is missing"] if required else [])
            return
        found = problem(place[key])
        if found is not None:
            problems.append(f"{inside(at, key)} is {found}")

    def tags(place: Mapping[str, Any], key: str, at: str) -> None:
        check(place, key, at, _map_problem, False)
        if isinstance(place.get(key), Mapping):
            for tag in place[key]:
                check(place[key], tag, inside(at, key), text, True)

    text = _text_problem if names.stringified else _string_problem
    check(body, names.name, where, text, True)
    check(body, names.period, where, _whole_problem, False)
    tags(body, names.tags, where)
    probes = body.get(names.probes, {})
    listed = names is LEGACY
    if names.probes in body and not isinstance(probes, list if listed else Mapping):
        problems.append(f"{inside(where, names.probes)} is {json_kind(probes)}, not {'a list' if listed else 'a map'}")
        return problems
    for key, probe in enumerate(probes) if listed else probes.items():
        at = inside(inside(where, names.probes), key)
        if not isinstance(probe, Mapping):
            problems.append(f"{at} is {json_kind(probe)}, not a map")
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
    """The resource's DeletionPolicy: what becomes of the monitor when the resource leaves the
    template or the stack is deleted."""
    update_replace_policy: str = DELETE
    """Its UpdateReplacePolicy: what becomes of the old monitor when an update replaces the resource."""
    legacy: bool = False
    """Properties without `OwnershipTags` (0.1.0's): the handler adopts an untagged monitor of the name."""
    native: bool = False
    """CloudFormation's own `AWS::NetworkMonitor::Monitor` with its `::Probe` resources: CloudFormation's
    handlers make the calls, with no ownership tags and no request mark."""
    path: str | None = None
    """The construct path the template's `aws:cdk:path` metadata gives (its resource's own last part
    left off), which stays the same when a monitor changes engine."""

    @property
    def engine(self) -> str:
        return "the native engine" if self.native else "the custom resource"


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
            problems.append(f"resource {logical_id} is {json_kind(resource)}, not a map")
        elif resource.get("Type") == RESOURCE_TYPE:
            try:
                monitors[logical_id] = _monitor(resource, resolve)
            except _Problems as found:
                problems += [f"resource {logical_id}: {problem}" for problem in found.problems]
        elif resource.get("Type") == NATIVE_MONITOR:
            try:
                monitors[logical_id] = _native_monitor(resource, dict(resources or {}), resolve)
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
        f"{section} is {json_kind(template[section])}, not a map"
        for section in ("Parameters", "Resources")
        if section in template and not isinstance(template[section], Mapping)
    ]
    for name, parameter in parameters_of(template).items():
        if not isinstance(parameter, Mapping):
            problems.append(f"Parameters.{name} is {json_kind(parameter)}, not a map")
        elif "Default" in parameter and _text_problem(parameter["Default"]) is not None:
            problems.append(f"Parameters.{name}.Default is {_text_problem(parameter['Default'])}")
    return problems


def _monitor(resource: Mapping[str, Any], resolve: Resolver) -> Declared:
    """One `Custom::NetworkMonitor` resource, or `_Problems` naming each place it is malformed."""
    problems, policies = _policies(resource, resolve)
    properties = resource.get("Properties", {})
    resolved = _resolved(properties, "", resolve, problems)
    legacy = isinstance(properties, Mapping) and OWNERSHIP_PROPERTY not in properties
    return _declared(resource, resolved, problems, policies, legacy=legacy)


def _native_monitor(resource: Mapping[str, Any], resources: Mapping[str, Any], resolve: Resolver) -> Declared:
    """An `AWS::NetworkMonitor::Monitor` and the `::Probe` resources of its name, in the custom
    resource's shape of properties (probes keyed by their logical ids), or `_Problems`."""
    problems, policies = _policies(resource, resolve)
    monitor = _resolved(resource.get("Properties", {}), "", resolve, problems)
    probes = {
        logical_id: _resolved(other.get("Properties", {}), f"probe {logical_id}: ", resolve, problems)
        for logical_id, other in resources.items()
        if isinstance(other, Mapping) and other.get("Type") == NATIVE_PROBE
    }
    return _declared(resource, native_as_custom(monitor, probes, problems), problems, policies, native=True)


def native_as_custom(
    monitor: Mapping[str, Any], probes: Mapping[str, Mapping[str, Any]], problems: list[str] | None = None
) -> dict[str, Any]:
    """A native monitor's resolved properties, with those of the template's Probe resources (by
    logical id), as the custom resource's: the probes of its MonitorName under `Probes`, keyed by
    their logical ids, and `Tags` lists as maps. Malformed tags join `problems`."""
    problems = [] if problems is None else problems
    body = _native_tags(dict(monitor), "", problems)
    body["Probes"] = {}
    for logical_id, probe in probes.items():
        fields = _native_tags(dict(probe), f"probe {logical_id}: ", problems)
        if fields.pop("MonitorName", None) == body.get("MonitorName"):
            body["Probes"][logical_id] = fields
    return body


def _declared(
    resource: Mapping[str, Any],
    resolved: dict[str, Any],
    problems: list[str],
    policies: Mapping[str, str],
    **engine: bool,
) -> Declared:
    if problems or shape_problems(resolved):
        raise _Problems(problems or shape_problems(resolved))
    return Declared(
        MonitorSpec.from_properties(delivered(resolved), check=False),
        deletion_policy=policies["DeletionPolicy"],
        update_replace_policy=policies["UpdateReplacePolicy"],
        path=_path(resource),
        **engine,
    )


def _resolved(properties: Any, where: str, resolve: Resolver, problems: list[str]) -> dict[str, Any]:
    """A resource's properties with their values resolved (the framework's left out); problems added."""
    if not isinstance(properties, Mapping):
        problems.append(f"{where}Properties is {json_kind(properties)}, not a map")
        return {}
    resolved: dict[str, Any] = {}
    for key, value in properties.items():
        if key not in FRAMEWORK_PROPERTIES:
            try:
                resolved[key] = resolve(value, f"{where}Properties.{key}")
            except TemplateProblem as problem:
                problems.append(str(problem))
    return resolved


def _native_tags(resolved: dict[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
    """A native resource's `Tags` (a list of Key and Value) as the custom resource's map."""
    tags = resolved.pop("Tags", None)
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(t, Mapping) and {"Key", "Value"} <= set(t) for t in tags):
            problems.append(f"{where}Properties.Tags is {json_kind(tags)}, not a list of Key and Value")
        else:
            resolved["Tags"] = {t["Key"]: t["Value"] for t in tags}
    return resolved


def _path(resource: Mapping[str, Any]) -> str | None:
    metadata = resource.get("Metadata")
    path = metadata.get("aws:cdk:path") if isinstance(metadata, Mapping) else None
    if not isinstance(path, str):
        return None
    for last in ("/Default", "/Resource"):
        path = path.removesuffix(last)
    return path


def _policies(resource: Mapping[str, Any], resolve: Resolver) -> tuple[list[str], dict[str, str]]:
    """The resource's DeletionPolicy and UpdateReplacePolicy, and the problems of either."""
    problems: list[str] = []
    if "Condition" in resource:
        condition = resource["Condition"]
        problems.append(f"has Condition {condition if isinstance(condition, str) else json_kind(condition)}, "
                        "which the plan does not evaluate")  # fmt: skip
    policies: dict[str, str] = {}
    for attribute, allowed in (("DeletionPolicy", DELETION_POLICIES), ("UpdateReplacePolicy", UPDATE_REPLACE_POLICIES)):
        try:
            policy = resolve(resource.get(attribute, DELETE), attribute)
        except TemplateProblem as problem:
            problems.append(str(problem))
            continue
        if not isinstance(policy, str):
            problems.append(f"{attribute} is {json_kind(policy)}, not a string")
        elif policy not in allowed:
            problems.append(f"{attribute} is {policy!r}, not one of {', '.join(allowed)}")
        policies[attribute] = policy
    return problems, policies
