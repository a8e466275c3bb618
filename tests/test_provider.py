"""The per-stack provider as an enterprise meets it: log retention chosen once per stack, and the
stack-wide aspects (permissions boundaries, tags) reaching its roles and functions."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs

from cdk_netmon import NetworkMonitor, NetworkMonitorProvider
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
