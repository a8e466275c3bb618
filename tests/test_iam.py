"""The IAM evaluation the offline stand-ins use: a table of requests and what IAM answers.

The rules are IAM's documented ones: explicit deny wins, otherwise an allow is needed; wildcards in
an ARN stay within their segment (the resource segment may hold colons); a condition's keys are
case-insensitive; a negated operator holds when the key is absent, and ForAllValues holds for an
absent or empty set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from cdk_netmon.testing.iam import NO_PERMISSIONS, AccessPolicy, UnsupportedPolicyError

MONITORS = "arn:aws:networkmonitor:eu-west-1:123456789012:monitor/*"
ONPREM = "arn:aws:networkmonitor:eu-west-1:123456789012:monitor/onprem"


def allow(action: Any, resource: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


@dataclass(frozen=True)
class Case:
    name: str
    statements: list[dict[str, Any]]
    action: str
    resource: str
    allowed: bool
    context: dict[str, Any] = field(default_factory=dict)


NOT_OWNER_KEYS = {"ForAllValues:StringNotLike": {"aws:TagKeys": ["cdk-netmon:*"]}}

CASES = [
    Case(
        "exact action and resource",
        [allow("networkmonitor:GetMonitor", ONPREM)],
        "networkmonitor:GetMonitor",
        ONPREM,
        True,
    ),
    Case("no statement", [], "networkmonitor:GetMonitor", ONPREM, False),
    Case("another action", [allow("networkmonitor:GetMonitor", ONPREM)], "networkmonitor:DeleteMonitor", ONPREM, False),
    Case(
        "action names are case-insensitive",
        [allow("NetworkMonitor:getmonitor", ONPREM)],
        "networkmonitor:GetMonitor",
        ONPREM,
        True,
    ),
    Case("action wildcard", [allow("networkmonitor:Get*", ONPREM)], "networkmonitor:GetMonitor", ONPREM, True),
    Case(
        "resource wildcard", [allow("networkmonitor:GetMonitor", MONITORS)], "networkmonitor:GetMonitor", ONPREM, True
    ),
    Case(
        "another region",
        [allow("networkmonitor:GetMonitor", MONITORS)],
        "networkmonitor:GetMonitor",
        ONPREM.replace("eu-west-1", "us-east-1"),
        False,
    ),
    Case(
        "another account",
        [allow("networkmonitor:GetMonitor", MONITORS)],
        "networkmonitor:GetMonitor",
        ONPREM.replace("123456789012", "111122223333"),
        False,
    ),
    Case(
        "a wildcard does not reach across a colon",
        [allow("networkmonitor:GetMonitor", "arn:aws:networkmonitor:*:monitor/onprem")],
        "networkmonitor:GetMonitor",
        ONPREM,
        False,
    ),
    Case(
        "a probe is not a monitor",
        [allow("networkmonitor:DeleteProbe", MONITORS)],
        "networkmonitor:DeleteProbe",
        "arn:aws:networkmonitor:eu-west-1:123456789012:probe/probe-0123456789abcdefghijk",
        False,
    ),
    Case("the whole star", [allow("*", "*")], "networkmonitor:DeleteMonitor", ONPREM, True),
    Case(
        "explicit deny wins",
        [
            allow("networkmonitor:*", "*"),
            {"Effect": "Deny", "Action": "networkmonitor:DeleteMonitor", "Resource": ONPREM},
        ],
        "networkmonitor:DeleteMonitor",
        ONPREM,
        False,
    ),
    Case(
        "untagging a user's key",
        [allow("networkmonitor:UntagResource", MONITORS, NOT_OWNER_KEYS)],
        "networkmonitor:UntagResource",
        ONPREM,
        True,
        {"aws:TagKeys": ["team"]},
    ),
    Case(
        "untagging an ownership key",
        [allow("networkmonitor:UntagResource", MONITORS, NOT_OWNER_KEYS)],
        "networkmonitor:UntagResource",
        ONPREM,
        False,
        {"aws:TagKeys": ["team", "cdk-netmon:stack-id"]},
    ),
    Case(
        "ForAllValues holds for an absent key",
        [allow("networkmonitor:UntagResource", MONITORS, NOT_OWNER_KEYS)],
        "networkmonitor:UntagResource",
        ONPREM,
        True,
    ),
    Case(
        "a resource tag that matches",
        [allow("networkmonitor:DeleteMonitor", MONITORS, {"StringEquals": {"aws:ResourceTag/Team": "network"}})],
        "networkmonitor:DeleteMonitor",
        ONPREM,
        True,
        {"aws:resourcetag/team": "network"},
    ),
    Case(
        "a resource tag that is absent",
        [allow("networkmonitor:DeleteMonitor", MONITORS, {"StringEquals": {"aws:ResourceTag/team": "network"}})],
        "networkmonitor:DeleteMonitor",
        ONPREM,
        False,
    ),
    Case(
        "a negated operator holds when the key is absent",
        [allow("networkmonitor:DeleteMonitor", MONITORS, {"StringNotEquals": {"aws:ResourceTag/team": "x"}})],
        "networkmonitor:DeleteMonitor",
        ONPREM,
        True,
    ),
    Case(
        "IfExists holds when the key is absent",
        [allow("networkmonitor:DeleteMonitor", MONITORS, {"StringEqualsIfExists": {"aws:ResourceTag/team": "x"}})],
        "networkmonitor:DeleteMonitor",
        ONPREM,
        True,
    ),
    Case(
        "ForAnyValue needs one match",
        [allow("networkmonitor:TagResource", MONITORS, {"ForAnyValue:StringLike": {"aws:TagKeys": ["cost-*"]}})],
        "networkmonitor:TagResource",
        ONPREM,
        True,
        {"aws:TagKeys": ["team", "cost-centre"]},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_evaluation(case: Case) -> None:
    policy = AccessPolicy.from_documents([{"Statement": case.statements}])
    assert policy.allows(case.action, case.resource, case.context) is case.allowed


def test_no_permissions_allow_nothing() -> None:
    assert not NO_PERMISSIONS.allows("networkmonitor:GetMonitor", ONPREM)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, r"elements \['NotAction'\] are not modelled"),
        (allow("networkmonitor:GetMonitor", {"Fn::Join": ["", ["arn:", "x"]]}), "is not resolved to a string"),
    ],
)
def test_what_is_not_modelled_is_refused_rather_than_guessed(statement: dict[str, Any], message: str) -> None:
    with pytest.raises(UnsupportedPolicyError, match=message):
        AccessPolicy.from_documents([{"Statement": [statement]}])


def test_an_unmodelled_condition_operator_is_refused_when_it_matters() -> None:
    policy = AccessPolicy.from_documents(
        [{"Statement": [allow("networkmonitor:GetMonitor", ONPREM, {"DateGreaterThan": {"aws:CurrentTime": "x"}})]}]
    )
    with pytest.raises(UnsupportedPolicyError, match="DateGreaterThan is not modelled"):
        policy.allows("networkmonitor:GetMonitor", ONPREM)
