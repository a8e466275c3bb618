"""The per-stack custom resource provider that every NetworkMonitor in a stack shares.

A stack with a hundred monitors has a hundred custom resources and one provider: two Python
functions (on_event and is_complete, one asset), their role and policy, and the Provider framework's
functions and waiter state machine.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from constructs import Construct

HANDLER_DIR = Path(__file__).parent / "handler"
HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14
"""The newest Python runtime aws-cdk-lib offers; the handler needs only its stdlib and boto3."""

QUERY_INTERVAL = Duration.seconds(15)
"""How often is_complete polls while monitors or probes are PENDING."""

TOTAL_TIMEOUT = Duration.hours(1)
"""How long one resource operation may take: an update waits for the service up to three times
(deletions, updates, creations), and each wait can last minutes."""

HANDLER_TIMEOUT = Duration.minutes(5)
"""One on_event or is_complete call: a few API calls, each with its own SDK retries."""

MONITOR_ACTIONS = [
    "networkmonitor:CreateMonitor",
    "networkmonitor:GetMonitor",
    "networkmonitor:UpdateMonitor",
    "networkmonitor:DeleteMonitor",
    "networkmonitor:CreateProbe",
    "networkmonitor:GetProbe",
    "networkmonitor:UpdateProbe",
    "networkmonitor:DeleteProbe",
    "networkmonitor:TagResource",
    "networkmonitor:UntagResource",
    "networkmonitor:ListTagsForResource",
]
SERVICE_LINKED_ROLE = "aws-service-role/networkmonitor.amazonaws.com/AWSServiceRoleForNetworkMonitor"


class NetworkMonitorProvider(Construct):
    """Backs `Custom::NetworkMonitor` resources; use `NetworkMonitorProvider.of(scope)`."""

    CONSTRUCT_ID = "cdk_netmon.NetworkMonitorProvider"

    @classmethod
    def of(cls, scope: Construct) -> NetworkMonitorProvider:
        """The provider of the scope's stack, created on first use."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        if isinstance(existing, NetworkMonitorProvider):
            return existing
        return cls(stack, cls.CONSTRUCT_ID)

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self._stack = Stack.of(self)
        self._generated_names_granted = False

        role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole")
            ],
        )
        code = lambda_.Code.from_asset(str(HANDLER_DIR.parent), exclude=["*", "!handler", "!handler/*.py"])

        def handler_function(function_id: str, entry_point: str) -> lambda_.Function:
            return lambda_.Function(
                self,
                function_id,
                runtime=HANDLER_RUNTIME,
                architecture=lambda_.Architecture.ARM_64,
                code=code,
                handler=f"handler.{entry_point}",
                role=role,
                timeout=HANDLER_TIMEOUT,
                memory_size=256,
                description=f"cdk_netmon: {entry_point} for Custom::NetworkMonitor",
            )

        on_event = handler_function("OnEvent", "on_event")
        is_complete = handler_function("IsComplete", "is_complete")

        self._monitors = iam.PolicyStatement(actions=MONITOR_ACTIONS, resources=[self._probe_arn_pattern()])
        self.policy = iam.Policy(
            self,
            "HandlerPolicy",
            roles=[role],
            statements=[self._monitors, *self._supporting_statements()],
        )
        """Custom resources depend on this policy, so that it outlives their Delete."""

        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=on_event,
            is_complete_handler=is_complete,
            query_interval=QUERY_INTERVAL,
            total_timeout=TOTAL_TIMEOUT,
        )
        self.service_token = provider.service_token

    def grant_monitor(self, monitor_name: str, *, generated: bool) -> None:
        """Let the handler manage this monitor. Generated names share one stack-wide pattern, so
        that the policy stays far below IAM's size limit however many monitors the stack holds."""
        if not generated:
            self._monitors.add_resources(self._monitor_arn(monitor_name))
        elif not self._generated_names_granted:
            self._monitors.add_resources(self._monitor_arn(f"{generated_name_prefix(self._stack)}*"))
            self._generated_names_granted = True

    def _monitor_arn(self, monitor_name: str) -> str:
        return self._stack.format_arn(
            service="networkmonitor",
            resource="monitor",
            resource_name=monitor_name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def _probe_arn_pattern(self) -> str:
        # Probe ids are assigned by the service, so probes can only be named by pattern.
        return self._stack.format_arn(
            service="networkmonitor", resource="probe", resource_name="*", arn_format=ArnFormat.SLASH_RESOURCE_NAME
        )

    def _supporting_statements(self) -> list[iam.PolicyStatement]:
        """The service-linked role for the first monitor in an account, and the EC2 calls AWS
        documents for the caller of CreateMonitor and CreateProbe."""

        def ec2_arn(resource: str) -> str:
            return self._stack.format_arn(
                service="ec2", resource=resource, resource_name="*", arn_format=ArnFormat.SLASH_RESOURCE_NAME
            )

        return [
            iam.PolicyStatement(
                actions=["iam:CreateServiceLinkedRole"],
                resources=[
                    self._stack.format_arn(
                        service="iam",
                        region="",
                        resource="role",
                        resource_name=SERVICE_LINKED_ROLE,
                        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                    )
                ],
                conditions={"StringEquals": {"iam:AWSServiceName": "networkmonitor.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                actions=["ec2:CreateSecurityGroup", "ec2:CreateNetworkInterface"],
                resources=[ec2_arn(r) for r in ("security-group", "network-interface", "subnet", "vpc")],
            ),
            iam.PolicyStatement(
                actions=["ec2:CreateTags"],
                resources=[ec2_arn(r) for r in ("security-group", "network-interface")],
                conditions={"StringEquals": {"ec2:CreateAction": ["CreateSecurityGroup", "CreateNetworkInterface"]}},
            ),
        ]


def generated_name_prefix(stack: Stack) -> str:
    """Every generated monitor name in a stack starts with this; see `generate_monitor_name`."""
    return f"{stack.stack_name}-"
