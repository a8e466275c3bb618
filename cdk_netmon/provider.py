"""The per-stack settings that every NetworkMonitor in a stack shares, and its custom resource backend.

`NetworkMonitorProvider.configure(stack, ...)` is where a team states what holds for the stack's
account and region (raised quotas) and for the custom-resource engine's functions (log retention).
The backend itself (`engines/custom_resource.py`) is made with the stack's first custom-resource
monitor: a stack whose monitors are all native has no Lambda function, role or asset.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from aws_cdk import Annotations, Stack
from constructs import Construct

from ._jsii import is_unresolved
from .engines._policy import StackArns
from .handler.response import ResponseBound
from .handler.rules import DEFAULT_QUOTAS, QUOTAS_METADATA, Quotas
from .naming import MonitorNames
from .sources import SourceResolver
from .validation import Environment

if TYPE_CHECKING:
    from aws_cdk import aws_logs as logs

    from .engines.custom_resource import Backend

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
    """The stack's monitor settings, and the backend of its `Custom::NetworkMonitor` resources; use
    `NetworkMonitorProvider.of(stack)`, or `configure` it first."""

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
        from aws_cdk import aws_logs as logs  # here, not at import: a stack of native monitors has no logs

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
        self.stack = scope
        self.stack_path = scope.node.path
        self.root = scope.node.root
        """The app's root construct: checks that span the app's stacks (monitor names) meet there."""
        self.quotas = quotas or DEFAULT_QUOTAS
        """The quotas the stack's monitors are checked against, at synth and by the handler."""
        region, account = scope.region, scope.account
        self.environment = Environment(
            None if is_unresolved(account) else account, None if is_unresolved(region) else region
        )
        """The stack's account and region, where they are known at synth."""
        partition = scope.partition
        known_partition = None if is_unresolved(partition) else partition
        self.sources = SourceResolver(scope, self.environment)
        """The stack's subnets as probe sources, resolved once for all its monitors."""
        self.arns = StackArns(
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

        self._log_retention = log_retention
        self._backend: Backend | None = None
        self._quotas_declared = False

    def _declare_quotas(self) -> None:
        """Write raised quotas into the template's `Metadata` (`QUOTAS_METADATA`), once: a stack of
        native monitors has no handler whose environment carries them, and the offline kit deploys
        to an emulator whose account must have them (`testing.declared_quotas`)."""
        if self.quotas != DEFAULT_QUOTAS and not self._quotas_declared:
            self._quotas_declared = True
            self.stack.add_metadata(QUOTAS_METADATA, self.quotas.encoded())

    def _custom_resource_backend(self) -> Backend:
        """The handler's functions, role, policy and Provider framework, made on first use."""
        if self._backend is None:
            # Imported here: aws-cdk-lib's Lambda module alone takes a quarter of a second to import,
            # which a stack of native monitors never needs.
            from .engines.custom_resource import build_backend

            self._backend = build_backend(self, self._log_retention)
        return self._backend

    def _response_bound(self, logical_id: str | None, monitor_name: str | None) -> ResponseBound:
        """What the stack knows at synth of a monitor's response to CloudFormation."""
        stack_name = self.names.stack_name
        environment = self.environment
        return ResponseBound(
            None if is_unresolved(stack_name) else stack_name,
            logical_id,
            monitor_name,
            self.arns.known_partition,
            environment.region,
            environment.account,
        )


_PROVIDERS: weakref.WeakKeyDictionary[Stack, NetworkMonitorProvider] = weakref.WeakKeyDictionary()
