"""The per-stack custom resource provider that every NetworkMonitor in a stack shares.

A stack with a hundred monitors has a hundred custom resources and one provider: two Python
functions (on_event and is_complete, one asset), their role and policy, and the Provider framework's
functions and waiter state machine.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from pathlib import Path

from aws_cdk import Acknowledgment, ArnFormat, Duration, Stack, Token, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from .handler.rules import MONITOR_NAME_MAX_LENGTH

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
    def of(cls, stack: Stack) -> NetworkMonitorProvider:
        """The stack's provider, created on first use.

        Remembered on the Python side too, so that a stack of a hundred monitors asks jsii once."""
        cached = _PROVIDERS.get(stack)
        if cached is not None:
            return cached
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        provider = existing if isinstance(existing, NetworkMonitorProvider) else cls(stack, cls.CONSTRUCT_ID)
        _PROVIDERS[stack] = provider
        return provider

    def __init__(self, scope: Stack, id: str) -> None:
        super().__init__(scope, id)
        self._stack = scope
        self._stack_path = scope.node.path
        self.generated_name_prefix = f"{scope.stack_name}-"
        """Every generated monitor name in the stack starts with this (unless the stack name is a token)."""
        self._prefix_is_token = Token.is_unresolved(self.generated_name_prefix)
        self._monitor_arn_prefix = f"arn:{scope.partition}:networkmonitor:{scope.region}:{scope.account}:monitor/"
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
        self._acknowledge_deliberate_findings(role, provider, invoked=[on_event, is_complete])

    def _acknowledge_deliberate_findings(
        self, role: iam.Role, provider: cr.Provider, invoked: list[lambda_.Function]
    ) -> None:
        """Findings of policy-validation packs (cdk-nag's AwsSolutions) that are deliberate here, each
        with its reason, so that users who run such packs see only findings about their own code.
        Our own policy's wildcards are acknowledged one by one: a new one would still be reported."""
        basic_execution = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM4[{basic_execution}]",
                reason="AWSLambdaBasicExecutionRole grants only writing the handler's own CloudWatch Logs.",
            )
        )
        region_account = "<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>"
        networkmonitor = region_account.format(service="networkmonitor")
        ec2 = region_account.format(service="ec2")
        wildcards = {
            f"arn:{networkmonitor}:probe/*": "Probe ids are assigned by the service when a probe is created.",
            f"arn:{networkmonitor}:monitor/{self.generated_name_prefix}*": (
                "Generated monitor names share the stack-name prefix, so that the policy does not grow with "
                "the number of monitors (IAM limits its size)."
            ),
        }
        for resource in ("security-group", "network-interface", "subnet", "vpc"):
            wildcards[f"arn:{ec2}:{resource}/*"] = (
                "The service creates a security group and network interfaces in the probes' subnets, "
                "whose ids are not known before; limited to this account and region."
            )
        Validations.of(self.policy).acknowledge(
            *(
                Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{arn}]", reason=reason)
                for arn, reason in wildcards.items()
            )
        )
        framework = "Inside aws-cdk-lib's custom resource Provider framework, which this library does not configure."
        framework_functions = [provider.node.find_child(f"framework-{name}") for name in ("isComplete", "onTimeout")]
        invoke_versions = [
            Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{self._logical_id(function)}.Arn>:*]",
                reason=f"{framework} It may invoke any version of its own functions.",
            )
            for function in [*invoked, *framework_functions]
        ]
        Validations.of(provider).acknowledge(
            Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM4[{basic_execution}]", reason=framework),
            Acknowledgment(id="AwsSolutions::AwsSolutions-SF1", reason=f"{framework} Its waiter logs through Lambda."),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-SF2", reason=f"{framework} Its waiter has no tracing option."
            ),
            *invoke_versions,
        )

    def _logical_id(self, function: IConstruct) -> str:
        return str(self._stack.resolve(self._stack.get_logical_id(function.node.default_child)))  # type: ignore[arg-type]

    def generate_monitor_name(self, path: str) -> str:
        """`<stack name>-<path below the stack>-<hash of the path>`, at most 200 characters.

        Stable across synths, unique within an account and region as long as stack names are, and
        prefixed by the stack name so that one IAM resource pattern covers all of a stack's monitors.
        """
        digest = hashlib.sha256(path.encode()).hexdigest()[:8]
        readable = _NAME_UNSAFE.sub("-", path[len(self._stack_path) + 1 :]).strip("-")
        prefix = self.generated_name_prefix
        if self._prefix_is_token:
            return f"{readable[: MONITOR_NAME_MAX_LENGTH - 9]}-{digest}"
        room = MONITOR_NAME_MAX_LENGTH - len(prefix) - len(digest) - 1
        return f"{prefix}{readable[:room]}-{digest}"

    def grant_monitor(self, monitor_name: str) -> None:
        """Let the handler manage this monitor. Generated names share one stack-wide pattern, so
        that the policy stays far below IAM's size limit however many monitors the stack holds."""
        if not monitor_name.startswith(self.generated_name_prefix):
            self._monitors.add_resources(self._monitor_arn(monitor_name))
        elif not self._generated_names_granted:
            self._monitors.add_resources(self._monitor_arn(f"{self.generated_name_prefix}*"))
            self._generated_names_granted = True

    def _monitor_arn(self, monitor_name: str) -> str:
        return self._monitor_arn_prefix + monitor_name

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


_PROVIDERS: weakref.WeakKeyDictionary[Stack, NetworkMonitorProvider] = weakref.WeakKeyDictionary()
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]+")
