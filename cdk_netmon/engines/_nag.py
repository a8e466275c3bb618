"""The findings of policy-validation packs (cdk-nag's AwsSolutions) that are deliberate here, each
acknowledged with its reason through aws-cdk-lib's own `Validations` API (no cdk-nag dependency),
so that users who run such packs see only findings about their own code. The handler policy's
wildcards are acknowledged one by one: a new one would still be reported."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

from cdk_netmon.handler.rules import OWNER_TAG_PREFIX

from ._policy import EC2_FOOTPRINT, StackArns

FRAMEWORK = "Inside aws-cdk-lib's custom resource Provider framework, which this library does not configure."
OWNERSHIP = (
    "Monitors this stack created must stay manageable whatever template is in force: CloudFormation "
    "changes this policy before it deletes removed, renamed or rolled-back monitors. So the grant is "
    f"this account and region, and the handler itself modifies or deletes only monitors carrying its "
    f"ownership tags ({OWNER_TAG_PREFIX}stack-id, {OWNER_TAG_PREFIX}logical-id)."
)


def acknowledge_deliberate_findings(
    stack: Stack,
    arns: StackArns,
    *,
    role: IConstruct,
    policy: IConstruct,
    framework: IConstruct,
    invoked: Sequence[IConstruct],
) -> None:
    """`role` and `policy` are the handler's; `framework` is the Provider framework, whose own
    functions and the handler's `invoked` ones it may invoke in any version."""
    # AWSLambdaBasicExecutionRole, as cdk-nag names the managed policy in its finding ids.
    basic_execution = f"Policy::{arns.managed_policy_as_nag_prints_it('service-role/AWSLambdaBasicExecutionRole')}"
    Validations.of(role).acknowledge(
        Acknowledgment(
            id=f"AwsSolutions::AwsSolutions-IAM4[{basic_execution}]",
            reason="AWSLambdaBasicExecutionRole grants only writing the handler's own CloudWatch Logs.",
        )
    )
    wildcards = {
        arns.as_nag_prints_it("networkmonitor", "monitor"): OWNERSHIP,
        arns.as_nag_prints_it("networkmonitor", "probe"): (
            "Probe ids are assigned by the service; the handler reaches probes only through monitors it owns."
        ),
    }
    for resource in EC2_FOOTPRINT:
        wildcards[arns.as_nag_prints_it("ec2", resource)] = (
            "The service creates a security group and network interfaces in the probes' subnets, "
            "whose ids are not known before, and the handler deletes the security groups it leaves "
            "behind once their probes are gone; limited to this account and region."
        )
    wildcards["*"] = (
        "networkmonitor:CreateProbe and ec2:DescribeSecurityGroups have no resource type in the "
        "Service Authorization Reference: IAM authorizes them on * only. Each has a statement of its own."
    )
    Validations.of(policy).acknowledge(
        *(
            Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{arn}]", reason=reason)
            for arn, reason in wildcards.items()
        )
    )
    functions = [*invoked, *(framework.node.find_child(f"framework-{name}") for name in ("isComplete", "onTimeout"))]
    Validations.of(framework).acknowledge(
        Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM4[{basic_execution}]", reason=FRAMEWORK),
        Acknowledgment(id="AwsSolutions::AwsSolutions-SF1", reason=f"{FRAMEWORK} Its waiter logs through Lambda."),
        Acknowledgment(id="AwsSolutions::AwsSolutions-SF2", reason=f"{FRAMEWORK} Its waiter has no tracing option."),
        *(
            Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{_logical_id(stack, function)}.Arn>:*]",
                reason=f"{FRAMEWORK} It may invoke any version of its own functions.",
            )
            for function in functions
        ),
    )


def _logical_id(stack: Stack, construct: IConstruct) -> str:
    return str(stack.resolve(stack.get_logical_id(construct.node.default_child)))  # type: ignore[arg-type]
