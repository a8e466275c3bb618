"""The per-stack provider as an enterprise meets it: log retention chosen once per stack, the
stack-wide aspects (permissions boundaries, tags) reaching its roles and functions, and a warning
for a stack in a region without Network Monitor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cfnlint  # type: ignore[import-untyped]
import pytest
from aws_cdk import Annotations as CdkAnnotations
from aws_cdk import App, Environment, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Annotations, Match

from cdk_netmon import NetworkMonitor, NetworkMonitorProvider
from cdk_netmon.provider import REGIONS_WITHOUT_NETWORK_MONITOR, UNAVAILABLE_REGION_WARNING
from tests.support import new_stack, resources_of_type, template_json


def log_groups(stack: Stack) -> list[dict[str, Any]]:
    return list(resources_of_type(template_json(stack), "AWS::Logs::LogGroup").values())


def functions(template: dict[str, Any]) -> dict[str, Any]:
    return resources_of_type(template, "AWS::Lambda::Function")


def test_every_function_of_the_provider_logs_to_one_group_kept_a_year_by_default() -> None:
    stack = new_stack()
    NetworkMonitor(stack, "Monitor")
    template = template_json(stack)
    [(group_id, group)] = resources_of_type(template, "AWS::Logs::LogGroup").items()
    assert group["Properties"]["RetentionInDays"] == 365
    assert len(functions(template)) == 5
    for function in functions(template).values():
        assert function["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": group_id}


def test_the_retention_is_chosen_once_per_stack() -> None:
    stack = new_stack()
    NetworkMonitorProvider.configure(stack, log_retention=logs.RetentionDays.ONE_MONTH)
    NetworkMonitor(stack, "A")
    NetworkMonitor(stack, "B")
    [group] = log_groups(stack)
    assert group["Properties"]["RetentionInDays"] == 30


def test_configuring_after_the_first_monitor_is_refused() -> None:
    stack = new_stack()
    NetworkMonitor(stack, "A")
    with pytest.raises(ValueError, match=r"configure\(Stack\): the stack's provider already exists"):
        NetworkMonitorProvider.configure(stack, log_retention=logs.RetentionDays.ONE_MONTH)


def test_a_retention_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(TypeError, match=r"log_retention 30 is not a RetentionDays"):
        NetworkMonitorProvider.configure(new_stack(), log_retention=30)  # type: ignore[arg-type]


def test_a_permissions_boundary_on_the_stack_reaches_every_role_of_the_provider() -> None:
    stack = new_stack()
    boundary = iam.ManagedPolicy.from_managed_policy_name(stack, "Boundary", "network-team-boundary")
    iam.PermissionsBoundary.of(stack).apply(boundary)
    NetworkMonitor(stack, "Monitor")
    roles = resources_of_type(template_json(stack), "AWS::IAM::Role")
    assert len(roles) >= 5
    for logical_id, role in roles.items():
        assert "network-team-boundary" in str(stack.resolve(role["Properties"]["PermissionsBoundary"])), logical_id


def test_tags_on_the_stack_reach_the_providers_roles_functions_and_state_machine() -> None:
    stack = Stack(App(), "Stack")
    NetworkMonitor(stack, "Monitor")
    Tags.of(stack).add("cost-centre", "network")
    template = template_json(stack)
    tagged = {
        **resources_of_type(template, "AWS::IAM::Role"),
        **functions(template),
        **resources_of_type(template, "AWS::StepFunctions::StateMachine"),
        **resources_of_type(template, "AWS::Logs::LogGroup"),
    }
    assert len(tagged) >= 12
    for logical_id, resource in tagged.items():
        tags = resource["Properties"]["Tags"]
        pairs = (
            {t["Key"]: t["Value"] for t in tags} if isinstance(tags, list) else tags  # state machines use a list too
        )
        assert pairs.get("cost-centre") == "network", logical_id


CFN_LINT_REGIONS = Path(cfnlint.__file__).parent / "data" / "schemas" / "providers"


def test_the_regions_without_network_monitor_are_cfn_lints() -> None:
    """cfn-lint packages CloudFormation's resource types per region; ours is its list of regions
    without AWS::NetworkMonitor::Monitor."""
    without = {
        path.stem
        for path in CFN_LINT_REGIONS.glob("*-*-*.json")
        if "AWS::NetworkMonitor::Monitor" not in json.loads(path.read_text())
    }
    assert len(list(CFN_LINT_REGIONS.glob("*-*-*.json"))) > 30
    assert without == REGIONS_WITHOUT_NETWORK_MONITOR


@pytest.mark.parametrize(("region", "warned"), [("cn-north-1", True), ("eu-west-1", False), (None, False)])
def test_a_stack_in_a_region_without_network_monitor_is_warned_once(region: str | None, warned: bool) -> None:
    env = Environment(account="111122223333", region=region) if region else None
    stack = Stack(App(), "Stack", env=env)
    NetworkMonitor(stack, "A")
    NetworkMonitor(stack, "B")
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("Network Monitor is not offered")
    )
    assert len(warnings) == (1 if warned else 0)
    if warned:
        message = str(warnings[0].entry.data)
        assert "cn-north-1" in message
        assert UNAVAILABLE_REGION_WARNING in message


def test_the_region_warning_can_be_acknowledged() -> None:
    stack = Stack(App(), "Stack", env=Environment(account="111122223333", region="us-gov-west-1"))
    NetworkMonitor(stack, "A")
    CdkAnnotations.of(stack).acknowledge_warning(UNAVAILABLE_REGION_WARNING)
    assert Annotations.from_stack(stack).find_warning("*", Match.any_value()) == []
