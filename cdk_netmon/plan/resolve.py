"""A template's values as the plan and the test kit read them: intrinsic functions resolved where
their values are known, else written as `${...}` placeholders (`Resolver`), and what CloudFormation
delivers to a custom resource (`delivered`). Messages name each value by its JSON kind (`json_kind`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any


class TemplateProblem(ValueError):
    """Something at one place of a template that the plan cannot read; the message names the place."""


def json_kind(value: Any) -> str:
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
    return json_kind(value)


def _form(value: Any) -> str:
    """A short list by the kinds of its items ("[a string, a list]"), anything else by its kind."""
    if isinstance(value, list) and 0 < len(value) <= 3:
        return f"[{', '.join(json_kind(item) for item in value)}]"
    return json_kind(value)


def is_placeholder(value: Any) -> bool:
    """A value known at deploy only: it holds a `${...}` the Resolver wrote."""
    return isinstance(value, str) and "${" in value


def select_index(index: Any) -> int | None:
    """`Fn::Select`'s index as CloudFormation reads it, a number or a string of ASCII digits
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-select.html),
    else None. The plan and the offline driver both read it so, each refusing in its own words."""
    if isinstance(index, str) and index.isascii() and index.isdigit():
        return int(index)
    return index if isinstance(index, int) and not isinstance(index, bool) else None


def inside(where: str, key: object) -> str:
    """The place of `key` inside `where`, as messages name it (`Properties.Probes.dc1`)."""
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
            return [self(v, inside(where, i)) for i, v in enumerate(value)]
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
        return {k: self(v, inside(where, k)) for k, v in value.items()}

    def _named(self, name: str) -> str:
        if name in self.values:
            return self.values[name]
        parameter = parameters_of(self.template).get(name)
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
        known = name.startswith("AWS::") or name in parameters_of(self.template)
        if self.strict and not known and not (isinstance(resources, Mapping) and name in resources):
            raise TemplateProblem(f"{where}: {function} {name}: the template has no parameter or resource of that name")

    def _ref(self, name: Any, where: str) -> str:
        if not isinstance(name, str):
            raise TemplateProblem(f"{where}: Ref takes a name (a string), not {json_kind(name)}")
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
            raise TemplateProblem(f"{where}: {what} is {json_kind(resolved)}, not a string")
        return str(delivered(resolved))

    def _join(self, argument: Any, where: str) -> str:
        if not (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str)):
            raise TemplateProblem(f"{where}: Fn::Join takes [separator, [values]], not {_form(argument)}")
        separator, parts = argument[0], self(argument[1], where)
        if is_placeholder(parts):
            return f"${{Fn::Join:{parts}}}"  # a list known at deploy only
        if not isinstance(parts, list):
            raise TemplateProblem(f"{where}: Fn::Join takes [separator, [values]], not [a string, {json_kind(parts)}]")
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
        if is_placeholder(index) or is_placeholder(items):
            return f"${{Fn::Select:{index}:{items}}}"  # known at deploy only
        position = select_index(index)
        if position is None:
            raise TemplateProblem(f"{where}: Fn::Select index {shown(index)} is not a whole number")
        if not isinstance(items, list):
            raise TemplateProblem(f"{where}: Fn::Select takes [index, list], not [a number, {json_kind(items)}]")
        if not 0 <= position < len(items):
            raise TemplateProblem(f"{where}: Fn::Select index {position} is outside a list of {len(items)}")
        return items[position]

    def _split(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str) and argument[0]):
            raise TemplateProblem(f"{where}: Fn::Split takes [delimiter, string], not {_form(argument)}")
        text = self._text(argument[1], where, "Fn::Split's string")
        return text if is_placeholder(text) else text.split(argument[0])

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


def parameters_of(template: Mapping[str, Any]) -> Mapping[str, Any]:
    """The template's parameters, or none where its Parameters section is not a map."""
    parameters = template.get("Parameters")
    return parameters if isinstance(parameters, Mapping) else {}


def delivered(value: Any) -> Any:
    """A property as CloudFormation delivers it to a custom resource: every number and boolean a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [delivered(v) for v in value]
    if isinstance(value, Mapping):
        return {k: delivered(v) for k, v in value.items()}
    return value
