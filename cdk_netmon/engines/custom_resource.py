"""The custom-resource engine: a `Custom::NetworkMonitor` per monitor, served by this library's
Lambda handler through aws-cdk-lib's Provider framework, one provider per stack.

A stack with a hundred monitors has a hundred custom resources and one backend: two Python
functions (on_event and is_complete, one asset), their role and policy, and the Provider framework's
functions and waiter state machine. The backend is made with the stack's first custom-resource
monitor, so that a stack of native monitors only has none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import CfnElement, CustomResource, Duration, IStableAnyProducer, Lazy, RemovalPolicy, TagManager, TagType
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr

from cdk_netmon._jsii import is_unresolved, whole_number
from cdk_netmon.handler.response import MONITOR_ARN_ATTRIBUTE, PROBE_ID_ATTRIBUTE, RESPONSE_LIMIT_BYTES
from cdk_netmon.handler.rules import DEFAULT_QUOTAS, QUOTAS_VARIABLE
from cdk_netmon.handler.spec import (
    ACTIVE,
    AGGREGATION_PERIOD,
    MONITOR_NAME,
    OWNERSHIP_PROPERTY,
    OWNERSHIP_PROPERTY_VALUE,
    PAUSED,
    PROBES,
    RESOURCE_TYPE,
    TAGS,
    probe_properties,
)

from ._nag import acknowledge_deliberate_findings
from ._policy import handler_policy_document

if TYPE_CHECKING:
    from constructs import Construct

    from cdk_netmon.probe import MonitorProbe
    from cdk_netmon.provider import NetworkMonitorProvider
    from cdk_netmon.validation import ResolvedProbe

    from .engine import Declaration, KeyedProbe

HANDLER_DIR = Path(__file__).parent.parent / "handler"
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


@dataclass(frozen=True)
class Backend:
    """What a stack's custom resources need of its provider."""

    service_token: str
    policy: iam.Policy
    """Custom resources depend on this policy, so that it outlives their Delete."""
    log_group: logs.LogGroup
    """One log group for the provider's five functions: the handler's and the framework's."""


def build_backend(provider: NetworkMonitorProvider, log_retention: logs.RetentionDays | None) -> Backend:
    """The handler's functions, role, policy and Provider framework, as children of `provider`."""
    log_group = logs.LogGroup(
        provider,
        "Logs",
        retention=DEFAULT_LOG_RETENTION if log_retention is None else log_retention,
        removal_policy=RemovalPolicy.DESTROY,
    )
    role = iam.Role(
        provider,
        "HandlerRole",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole")],
    )
    code = lambda_.Code.from_asset(str(HANDLER_DIR.parent), exclude=["*", "!handler", "!handler/*.py"])
    quotas = provider.quotas

    def handler_function(function_id: str, entry_point: str) -> lambda_.Function:
        return lambda_.Function(
            provider,
            function_id,
            runtime=HANDLER_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            code=code,
            handler=f"handler.lifecycle.{entry_point}",
            role=role,
            log_group=log_group,
            timeout=HANDLER_TIMEOUT,
            memory_size=256,
            description=f"cdk_netmon: {entry_point} for Custom::NetworkMonitor",
            environment={QUOTAS_VARIABLE: quotas.encoded()} if quotas != DEFAULT_QUOTAS else None,
        )

    on_event = handler_function("OnEvent", "on_event")
    is_complete = handler_function("IsComplete", "is_complete")
    policy = iam.Policy(
        provider,
        "HandlerPolicy",
        roles=[role],
        document=iam.PolicyDocument.from_json(handler_policy_document(provider.arns)),
    )
    framework = cr.Provider(
        provider,
        "Provider",
        on_event_handler=on_event,
        is_complete_handler=is_complete,
        query_interval=QUERY_INTERVAL,
        total_timeout=TOTAL_TIMEOUT,
        log_group=log_group,
    )
    acknowledge_deliberate_findings(
        provider.stack, provider.arns, role=role, policy=policy, framework=framework, invoked=[on_event, is_complete]
    )
    return Backend(framework.service_token, policy, log_group)


class CustomResourceEngine:
    """One monitor as a `Custom::NetworkMonitor`: its probes in one `Probes` property, keyed."""

    def __init__(self, scope: Construct, declared: Declaration) -> None:
        provider = declared.provider
        backend = provider._custom_resource_backend()
        self._provider = provider
        self._stack = provider.stack
        self._declared_name = declared.monitor_name
        self._tags = TagManager(TagType.MAP, RESOURCE_TYPE, declared.tags)
        self._resource = CustomResource(
            scope,
            "Resource",
            service_token=backend.service_token,
            resource_type=RESOURCE_TYPE,
            properties={
                MONITOR_NAME: declared.monitor_name,
                AGGREGATION_PERIOD: declared.aggregation_period,
                # The tag manager renders the monitor's tags itself, in Node.js: no callback.
                TAGS: self._tags.rendered_tags,
                PROBES: Lazy.any(_Probes(declared.valid_probes)),
                OWNERSHIP_PROPERTY: OWNERSHIP_PROPERTY_VALUE,
            },
            service_timeout=SERVICE_TIMEOUT,
            removal_policy=declared.removal_policy,
        )
        scope.node.add_dependency(backend.policy)
        self._monitor_name: str | None = None
        self._monitor_arn: str | None = None

    @property
    def monitor_name(self) -> str:
        if self._monitor_name is None:
            self._monitor_name = self._resource.ref
        return self._monitor_name

    @property
    def monitor_arn(self) -> str:
        if self._monitor_arn is None:
            self._monitor_arn = self._resource.get_att_string(MONITOR_ARN_ATTRIBUTE)
        return self._monitor_arn

    def probe_added(self, probe: MonitorProbe, key: str, source_arn: Callable[[], str | None]) -> None:
        """Nothing to make: the probe is rendered into `Probes` at synth."""

    def probe_id(self, key: str) -> str:
        return self._resource.get_att_string(PROBE_ID_ATTRIBUTE.format(key=key))

    def tag_manager(self) -> TagManager:
        return self._tags

    def rendered_tags(self) -> dict[str, str]:
        return dict(self._tags.render_tags() or {})

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        self._resource.apply_removal_policy(policy)

    def problems(self, probes: Sequence[KeyedProbe]) -> list[str]:
        """The response to CloudFormation could exceed its limit with these probes (see `ResponseBound`)."""
        probe_keys = [entry.key for entry in probes]
        name = None if is_unresolved(self._declared_name) else self._declared_name
        if self._provider._response_bound(None, name).largest(probe_keys) <= RESPONSE_LIMIT_BYTES:
            return []  # fits with the longest logical id, which is then never asked of jsii
        cfn = self._resource.node.default_child
        logical_id = self._stack.resolve(cfn.logical_id) if isinstance(cfn, CfnElement) else None
        problem = self._provider._response_bound(logical_id, name).problem(probe_keys)
        return [problem] if problem else []

    def room_for(self, probes: Sequence[KeyedProbe]) -> bool:
        return not self.problems(probes)


@jsii.implements(IStableAnyProducer)
class _Probes:
    """`Probes`, each probe under its key, written by the handler's own writer
    (`handler.spec.probe_properties`); nothing when there are none."""

    def __init__(self, valid_probes: Callable[[], Sequence[tuple[str, ResolvedProbe]]]) -> None:
        self._valid_probes = valid_probes

    def produce(self) -> Any:
        return {
            key: probe_properties(
                source_arn=resolved.source_arn,
                destination=resolved.probe.destination,
                protocol=resolved.probe.protocol.value,
                destination_port=whole_number(resolved.probe.destination_port),
                packet_size=whole_number(resolved.probe.packet_size),
                tags=resolved.tags,
                state=PAUSED if resolved.probe.enabled is False else ACTIVE,
            )
            for key, resolved in self._valid_probes()
        } or None
