"""The per-stack custom resource provider that every NetworkMonitor in a stack shares.

A stack with a hundred monitors has a hundred custom resources and one provider: two Python
functions (on_event and is_complete, one asset), their role and policy, and the Provider framework's
functions and waiter state machine.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from ._jsii import is_unresolved
from ._nag import acknowledge_deliberate_findings
from ._policy import StackArns, handler_policy_document
from .handler.model import ResponseBound
from .handler.rules import DEFAULT_QUOTAS, QUOTAS_VARIABLE, Quotas
from .naming import MonitorNames
from .validation import Environment

HANDLER_DIR = Path(__file__).parent / "handler"
HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14
"""The newest Python runtime aws-cdk-lib offers; the handler needs only its stdlib and boto3."""

QUERY_INTERVAL = Duration.seconds(15)
"""How often is_complete polls while monitors or probes are PENDING."""

TOTAL_TIMEOUT = Duration.minutes(50)
"""How long one resource operation may take: an update waits for the service up to three times
(deletions, updates, creations), and each wait can last minutes."""

SERVICE_TIMEOUT = Duration.hours(1)
"""How long CloudFormation waits for a custom resource (its `ServiceTimeout`; 3600 s at most): above
the framework's worst case, TOTAL_TIMEOUT plus its own invocations, so that the framework's answer,
with the handler's reason, arrives before CloudFormation gives up on its own."""

HANDLER_TIMEOUT = Duration.minutes(5)
"""One on_event or is_complete call: a few API calls, each with its own SDK retries."""

DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_YEAR
"""How long the provider's functions keep their logs unless `configure` says otherwise: long enough
to investigate a failed deploy months later, and what AWS Security Hub's CloudWatch.16 asks for."""

REGIONS_WITHOUT_NETWORK_MONITOR = frozenset(
    {
        "ap-east-2",
        "ap-southeast-6",
        "cn-north-1",
        "cn-northwest-1",
        "me-central-1",
        "us-gov-east-1",
        "us-gov-west-1",
    }
)
"""Regions whose CloudFormation has no AWS::NetworkMonitor::Monitor, as cfn-lint 1.58.0's region
schemas list them (cfnlint/data/schemas/providers/<region>.json; tests/test_provider.py reads them).
A list can lag a launch, so a stack there gets a warning, not an error."""
UNAVAILABLE_REGION_WARNING = "cdk_netmon:regionWithoutNetworkMonitor"


class NetworkMonitorProvider(Construct):
    """Backs `Custom::NetworkMonitor` resources; use `NetworkMonitorProvider.of(stack)`."""

    CONSTRUCT_ID = "cdk_netmon.NetworkMonitorProvider"

    @classmethod
    def of(cls, stack: Stack) -> NetworkMonitorProvider:
        """The stack's provider, created with the defaults on first use.

        Remembered on the Python side too, so that a stack of a hundred monitors asks jsii once."""
        cached = _PROVIDERS.get(stack)
        if cached is not None:
            return cached
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        provider = existing if isinstance(existing, NetworkMonitorProvider) else cls(stack, cls.CONSTRUCT_ID)
        _PROVIDERS[stack] = provider
        return provider

    @classmethod
    def configure(
        cls, stack: Stack, *, log_retention: logs.RetentionDays | None = None, quotas: Quotas | None = None
    ) -> NetworkMonitorProvider:
        """Choose the settings of the provider that every NetworkMonitor in `stack` shares.

        Call it once per stack, before the stack's first NetworkMonitor.

        :param log_retention: how long the provider's Lambda functions keep their logs.
            Default: one year (``DEFAULT_LOG_RETENTION``).
        :param quotas: the quotas of the stack's account and region, where a team has raised them
            in Service Quotas (``Quotas(probes_per_monitor=48, probes_per_subnet=8)``). The synth-time
            checks, ``fan_out`` and the deployed handler use them. Default: the service's defaults.
        """
        if not isinstance(stack, Stack):
            raise TypeError(f"NetworkMonitorProvider.configure: stack must be a Stack, got {type(stack).__name__}")
        if quotas is not None and (not isinstance(quotas, Quotas) or quotas.problems()):
            found = quotas.problems() if isinstance(quotas, Quotas) else [f"quotas {quotas!r} is not a Quotas"]
            raise TypeError(f"NetworkMonitorProvider.configure({stack.node.path}): {'; '.join(found)}")
        if log_retention is not None and not isinstance(log_retention, logs.RetentionDays):
            raise TypeError(
                f"NetworkMonitorProvider.configure({stack.node.path}): log_retention {log_retention!r} is not a "
                "RetentionDays; pass for example aws_logs.RetentionDays.ONE_MONTH"
            )
        if _PROVIDERS.get(stack) is not None or stack.node.try_find_child(cls.CONSTRUCT_ID) is not None:
            raise ValueError(
                f"NetworkMonitorProvider.configure({stack.node.path}): the stack's provider already exists; "
                "configure it once, before the stack's first NetworkMonitor"
            )
        provider = cls(stack, cls.CONSTRUCT_ID, log_retention=log_retention, quotas=quotas)
        _PROVIDERS[stack] = provider
        return provider

    def __init__(
        self,
        scope: Stack,
        id: str,
        *,
        log_retention: logs.RetentionDays | None = None,
        quotas: Quotas | None = None,
    ) -> None:
        super().__init__(scope, id)
        self._stack = scope
        self.stack_path = scope.node.path
        self.root = scope.node.root
        """The app's root construct: checks that span the app's stacks (monitor names) meet there."""
        self.subnet_sources: dict[int, Any] = {}
        """The stack's subnets as probe sources, resolved once for all its monitors (NetworkMonitor's)."""
        self.quotas = quotas or DEFAULT_QUOTAS
        """The quotas the stack's monitors are checked against, at synth and by the handler."""
        region, account = scope.region, scope.account
        self.environment = Environment(
            None if is_unresolved(account) else account, None if is_unresolved(region) else region
        )
        """The stack's account and region, where they are known at synth."""
        partition = scope.partition
        known_partition = None if is_unresolved(partition) else partition
        self._arns = StackArns(
            partition, region, account, known_partition, self.environment.region, self.environment.account
        )
        if self.environment.region in REGIONS_WITHOUT_NETWORK_MONITOR:
            Annotations.of(scope).add_warning_v2(
                UNAVAILABLE_REGION_WARNING,
                f"CloudWatch Network Monitor is not offered in {region} (cfn-lint 1.58.0's resource list for the "
                "region has no AWS::NetworkMonitor::Monitor), so the stack's monitors would fail to deploy there. "
                f"If it is offered by now, acknowledge this warning: Annotations.of(stack)"
                f'.acknowledge_warning("{UNAVAILABLE_REGION_WARNING}")',
            )
        self.names = MonitorNames(scope.stack_name, self.stack_path)
        """How the stack's monitors are named when their monitor_name is not given."""

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=DEFAULT_LOG_RETENTION if log_retention is None else log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        """One log group for the provider's five functions: the handler's and the framework's."""

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
                handler=f"handler.lifecycle.{entry_point}",
                role=role,
                log_group=self.log_group,
                timeout=HANDLER_TIMEOUT,
                memory_size=256,
                description=f"cdk_netmon: {entry_point} for Custom::NetworkMonitor",
                environment={QUOTAS_VARIABLE: self.quotas.encoded()} if self.quotas != DEFAULT_QUOTAS else None,
            )

        on_event = handler_function("OnEvent", "on_event")
        is_complete = handler_function("IsComplete", "is_complete")

        self.policy = iam.Policy(
            self,
            "HandlerPolicy",
            roles=[role],
            document=iam.PolicyDocument.from_json(handler_policy_document(self._arns)),
        )
        """Custom resources depend on this policy, so that it outlives their Delete."""

        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=on_event,
            is_complete_handler=is_complete,
            query_interval=QUERY_INTERVAL,
            total_timeout=TOTAL_TIMEOUT,
            log_group=self.log_group,
        )
        self.service_token = provider.service_token
        acknowledge_deliberate_findings(
            scope, self._arns, role=role, policy=self.policy, framework=provider, invoked=[on_event, is_complete]
        )

    def response_bound(self, logical_id: str | None, monitor_name: str | None) -> ResponseBound:
        """What the stack knows at synth of a monitor's response to CloudFormation."""
        stack_name = self.names.stack_name
        environment = self.environment
        return ResponseBound(
            None if is_unresolved(stack_name) else stack_name,
            logical_id,
            monitor_name,
            self._arns.known_partition,
            environment.region,
            environment.account,
        )


_PROVIDERS: weakref.WeakKeyDictionary[Stack, NetworkMonitorProvider] = weakref.WeakKeyDictionary()
