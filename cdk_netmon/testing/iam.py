"""The handler's identity policy, evaluated as IAM evaluates it, for the offline stand-ins.

The driver takes the policy from the template (with `Ref`s and `Fn::Join`s resolved) and the
emulator asks it before every operation, so a deploy that real IAM would refuse is refused offline
too, in CloudFormation's order of policy updates. Modelled: Allow and Deny statements; `Action`
and `Resource` with `*` and `?` (within an ARN segment, as IAM matches them); conditions with the
String operators, their `IfExists` forms and the `ForAllValues:`/`ForAnyValue:` set qualifiers.
Anything else (NotAction, NotResource, other operators) raises `UnsupportedPolicyError` instead of
being guessed, so a new kind of statement fails the tests until it is modelled here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import service_authorization

ContextValue = str | Sequence[str]


class UnsupportedPolicyError(ValueError):
    """The policy uses an element or operator this evaluator does not model."""


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _glob(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE if ignore_case else 0)


def _arn_matches(pattern: str, arn: str) -> bool:
    """IAM compares ARNs segment by segment: a wildcard does not reach across a colon, except in
    the last segment (the resource), which may itself contain colons."""
    if pattern == "*":
        return True
    wanted, actual = pattern.split(":", 5), arn.split(":", 5)
    return len(wanted) == len(actual) == 6 and all(_glob(w).match(a) for w, a in zip(wanted, actual, strict=True))


_STRING_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda value, expected: value == expected, False),
    "StringNotEquals": (lambda value, expected: value == expected, True),
    "StringEqualsIgnoreCase": (lambda value, expected: value.lower() == expected.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda value, expected: value.lower() == expected.lower(), True),
    "StringLike": (lambda value, pattern: bool(_glob(pattern).match(value)), False),
    "StringNotLike": (lambda value, pattern: bool(_glob(pattern).match(value)), True),
}


def _condition_holds(operator: str, expected: list[str], values: list[str] | None) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name not in _STRING_OPERATORS or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise UnsupportedPolicyError(f"condition operator {operator} is not modelled")
    compare, negated = _STRING_OPERATORS[name]

    def one(value: str) -> bool:
        hit = any(compare(value, e) for e in expected)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return values is None or all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return values is not None and any(one(v) for v in values)
    if values is None:
        return if_exists or negated
    return any(one(v) for v in values)


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, Any]]

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Statement:
        unsupported = set(body) - {"Sid", "Effect", "Action", "Resource", "Condition"}
        if unsupported:
            raise UnsupportedPolicyError(f"statement elements {sorted(unsupported)} are not modelled")
        for field in ("Action", "Resource"):
            for value in _listed(body.get(field, [])):
                if not isinstance(value, str):
                    raise UnsupportedPolicyError(f"{field} {value!r} is not resolved to a string")
        return cls(
            effect=body["Effect"],
            actions=tuple(_listed(body["Action"])),
            resources=tuple(_listed(body["Resource"])),
            conditions=dict(body.get("Condition", {})),
        )

    def applies(self, action: str, resource: str, context: Mapping[str, ContextValue]) -> bool:
        if not any(_glob(a, ignore_case=True).match(action) for a in self.actions):
            return False
        if not any(_arn_matches(r, resource) for r in self.resources):
            return False
        keys = {k.lower(): v for k, v in context.items()}
        for operator, entries in self.conditions.items():
            for key, expected in entries.items():
                found = keys.get(key.lower())
                values = None if found is None else _listed(found)
                if not _condition_holds(operator, [str(e) for e in _listed(expected)], values):
                    return False
        return True


@dataclass(frozen=True)
class AccessPolicy:
    """What one caller may do: the statements of its identity policies, together."""

    statements: tuple[Statement, ...]

    @classmethod
    def from_documents(cls, documents: Iterable[Mapping[str, Any]]) -> AccessPolicy:
        return cls(tuple(Statement.parse(s) for d in documents for s in _listed(d.get("Statement", []))))

    def allows(self, action: str, resource: str, context: Mapping[str, ContextValue] | None = None) -> bool:
        """Explicit deny wins; otherwise an allow is needed; otherwise denied."""
        applying = [s for s in self.statements if s.applies(action, resource, context or {})]
        return not any(s.effect == "Deny" for s in applying) and any(s.effect == "Allow" for s in applying)


NO_PERMISSIONS = AccessPolicy(())
"""A caller with no policy: everything is denied."""


def arn_of(service: str, kind: str, *, region: str, account: str, name: str, partition: str = "aws") -> str:
    """The ARN of a resource of `kind` (a resource type of the reference), named `name`."""
    template = service_authorization.RESOURCE_ARNS[service][kind]
    values = {"Partition": partition, "Region": region, "Account": account}
    return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), name), template)


def resources_asked(action: str, involved: Mapping[str, str]) -> list[str]:
    """The resources IAM authorizes `action` on, as the Service Authorization Reference says:
    `*` for an action with no resource type, whatever the request names; otherwise the ARN of each
    of its resource types that the request involves (`involved`, by type), every required one
    included. An action the reference table does not hold raises instead of being guessed."""
    if action not in service_authorization.ACTIONS:
        raise UnsupportedPolicyError(f"{action} is not in the reference table (testing/service_authorization.py)")
    kinds = service_authorization.ACTIONS[action]
    if not kinds:
        return ["*"]
    asked = []
    for kind, required in kinds:
        if kind in involved:
            asked.append(involved[kind])
        elif required:
            raise ValueError(f"{action} is authorized on a {kind}, and the request names none")
    if not asked:
        raise ValueError(f"{action} is authorized on one of {[k for k, _ in kinds]}, and the request names none")
    return asked
