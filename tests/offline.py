"""Offline deploys for the tests: the emulator, the driver, and templates small enough to make many."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from aws_cdk import App, Stack

from cdk_netmon import NetworkMonitor
from cdk_netmon.handler.lifecycle import Handler
from cdk_netmon.handler.spec import OWNERSHIP_PROPERTY, OWNERSHIP_PROPERTY_VALUE
from cdk_netmon.testing import Faults, LocalNetworkMonitor
from cdk_netmon.testing.cloudformation import StackDriver
from cdk_netmon.testing.defaults import DEFAULT_ACCOUNT, DEFAULT_REGION
from cdk_netmon.testing.emulator import SettlingWrites
from cdk_netmon.testing.kit import declared_properties, handler_for, service_security_groups
from tests.support import resources_of_type, template_json


@contextmanager
def offline(
    faults: Faults | None = None, settling_writes: SettlingWrites = "accept", **options: Any
) -> Iterator[LocalNetworkMonitor]:
    """An emulator on loopback (with its EC2), with the SDK's backoff on its virtual clock."""
    with (
        LocalNetworkMonitor(faults=faults, settling_writes=settling_writes, **options) as emulator,
        emulator.virtual_sdk_sleep(),
    ):
        yield emulator


class LambdaKilled(RuntimeError):
    """What the Provider framework sees of a handler Lambda that timed out or ran out of memory:
    a FunctionError, which it answers FAILED (cfn-response.js, `safeHandler`)."""


class Calls:
    """Counts the SDK calls of the clients `count` wraps, and kills the Lambda right after call
    number `kill_after` (once: the next invocation is a fresh one)."""

    def __init__(self, kill_after: int | None = None) -> None:
        self.made = 0
        self.kill_after = kill_after

    def count(self, client: Any) -> Any:
        return _Counted(client, self)

    def made_one(self, operation: str) -> None:
        self.made += 1
        if self.made == self.kill_after:
            raise LambdaKilled(f"Task timed out after 300.00 seconds (right after call {self.made}, {operation})")


class _Counted:
    def __init__(self, client: Any, calls: Calls) -> None:
        self._client, self._calls = client, calls

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name == "get_paginator":
            return lambda operation: _CountedPaginator(method(operation), operation, self._calls)

        def call(**params: Any) -> Any:
            result = method(**params)
            self._calls.made_one(name)
            return result

        return call


class _CountedPaginator:
    def __init__(self, paginator: Any, operation: str, calls: Calls) -> None:
        self._paginator, self._operation, self._calls = paginator, operation, calls

    def paginate(self, **params: Any) -> list[Any]:
        pages = list(self._paginator.paginate(**params))
        self._calls.made_one(self._operation)
        return pages


def counted_handler(emulator: LocalNetworkMonitor, calls: Calls) -> Handler:
    """The shipped handler, its two clients counted by `calls`."""
    plain = handler_for(emulator)
    return Handler(calls.count(plain.api.client), calls.count(plain.groups.client), now=emulator.clock.now)


def vpc_with_subnets(
    emulator: LocalNetworkMonitor, count: int = 2, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> tuple[str, list[str]]:
    """A VPC in the emulator's EC2, as a stack would hold it: its id and the ARNs of its subnets."""
    assert emulator.ec2 is not None
    ec2 = emulator.ec2.client(account, region)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24")["Subnet"]["SubnetId"] for i in range(count)]
    return vpc, [f"arn:aws:ec2:{region}:{account}:subnet/{s}" for s in subnets]


def service_groups(
    emulator: LocalNetworkMonitor, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> dict[str, str]:
    """Every security group the service made, as "vpc: description" -> group id."""
    return {
        f"{g['VpcId']}: {g['Description']}": g["GroupId"] for g in service_security_groups(emulator, account, region)
    }


MARK = "TagResource"
"""The write that marks a monitor as the request's own (its generation), before the first write of
a changing Update: a waiter of an older request then stops (see `cdk_netmon.handler.live.Generation`)."""

SERVICE_TOKEN = {"ProviderframeworkonEvent.Arn": "arn:aws:lambda:eu-west-1:123456789012:function:framework-onEvent"}
HANDLER_ROLE = "cdknetmonNetworkMonitorProviderHandlerRoleBFDC3F24"
"""The handler role's logical id in every stack, which the handler policy names."""


def provider_resources() -> dict[str, Any]:
    """The chain the driver follows from a monitor's service token to the handler's role, as the
    construct synthesizes it: the framework's onEvent function, the handler's function, its role."""
    return {
        "ProviderframeworkonEvent": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Environment": {"Variables": {"USER_ON_EVENT_FUNCTION_ARN": {"Fn::GetAtt": ["OnEvent", "Arn"]}}}
            },
        },
        "OnEvent": {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": [HANDLER_ROLE, "Arn"]}}},
        HANDLER_ROLE: {"Type": "AWS::IAM::Role", "Properties": {}},
    }


def driver(
    emulator: LocalNetworkMonitor,
    refs: Mapping[str, str] | None = None,
    handler: Handler | None = None,
    account: str = DEFAULT_ACCOUNT,
    region: str = DEFAULT_REGION,
    **options: Any,
) -> StackDriver:
    """A stack in `account` and `region` whose handler policy the emulator enforces, in
    CloudFormation's order."""
    handler = handler or handler_for(emulator, account, region)
    return StackDriver(
        on_event=handler.on_event,
        is_complete=handler.is_complete,
        clock=emulator.clock,
        grant=lambda policy: emulator.use_policy(policy, account),
        refs={**SERVICE_TOKEN, **(refs or {})},
        account=account,
        region=region,
        **options,
    )


@functools.cache
def _handler_policy() -> str:
    stack = Stack(App(), "Stack")
    NetworkMonitor(stack, "Monitor")
    [policy] = [
        p
        for logical_id, p in resources_of_type(template_json(stack), "AWS::IAM::Policy").items()
        if logical_id.startswith("cdknetmonNetworkMonitorProviderHandlerPolicy")
    ]
    return json.dumps(policy)


def handler_policy() -> dict[str, Any]:
    """The handler's policy exactly as the construct synthesizes it (the same in every stack)."""
    return dict(json.loads(_handler_policy()))


def template(
    *monitors: Mapping[str, Any],
    logical_ids: Sequence[str] | None = None,
    policy: Mapping[str, Any] | None = None,
    retain: bool = False,
    release: str = "current",
) -> dict[str, Any]:
    """A template as the construct synthesizes it, for monitors given in CreateMonitor's shape,
    with the handler policy the construct writes (or `policy`); `retain` is RemovalPolicy.RETAIN.
    `release="0.2.0"` writes the monitors as 0.2.0 did: one `Monitor` JSON string each."""
    ids = logical_ids or [f"Monitor{i}" for i in range(len(monitors))]
    resources: dict[str, Any] = {**provider_resources(), "HandlerPolicy": dict(policy or handler_policy())}
    for logical_id, monitor in zip(ids, monitors, strict=True):
        declared = {"Monitor": json.dumps(monitor)} if release == "0.2.0" else declared_properties(monitor)
        resources[logical_id] = {
            "Type": "Custom::NetworkMonitor",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["ProviderframeworkonEvent", "Arn"]},
                **declared,
                OWNERSHIP_PROPERTY: OWNERSHIP_PROPERTY_VALUE,
            },
            "DependsOn": ["HandlerPolicy"],
        }
        if retain:
            resources[logical_id].update({"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
    return {"Resources": resources}


def probe_id_at(stack: StackDriver, logical_id: str, index: int) -> str:
    """The id of a monitor's `index`-th declared probe, from the Data its resource returned."""
    data = stack.resources[logical_id].data
    return str([v for k, v in data.items() if k.startswith("ProbeId.")][index])


def assert_converged(
    emulator: LocalNetworkMonitor, *declared: Mapping[str, Any], account: str | None = None, region: str | None = None
) -> None:
    """The emulator holds exactly the declared monitors and probes, settled, and nothing else.

    Monitor tags are compared without the handler's own (`cdk-netmon:`: the ownership tags and the
    generation mark), which it adds.
    Each probe is in its declared state: ACTIVE, or INACTIVE where declared paused.
    A probe's packet size is compared only where the template declares one: an unset size is not
    managed (see README), so the live size may be whatever it was.
    """
    live = emulator.snapshot(account, region)
    assert sorted(live) == sorted(m["monitorName"] for m in declared)
    for monitor in declared:
        state = live[monitor["monitorName"]]
        assert state["state"] in ("ACTIVE", "INACTIVE")
        assert state["aggregationPeriod"] == monitor.get("aggregationPeriod", 60)
        assert {k: v for k, v in state["tags"].items() if not k.startswith("cdk-netmon:")} == monitor.get("tags", {})
        assert sorted(k for k in state["tags"] if k.startswith("cdk-netmon:")) == [
            "cdk-netmon:generation",
            "cdk-netmon:logical-id",
            "cdk-netmon:stack-id",
        ]
        live_probes = {_identity(p): p for p in state["probes"]}
        assert sorted(live_probes) == sorted(_identity(p) for p in monitor.get("probes", []))
        for probe in monitor.get("probes", []):
            twin = live_probes[_identity(probe)]
            assert twin["state"] == probe.get("state", "ACTIVE")
            assert twin["tags"] == probe.get("probeTags", {})
            if "packetSize" in probe:
                assert twin["packetSize"] == probe["packetSize"]


def destroyed_leaving_nothing(stacks: str) -> str:
    """The offline command's last line once it has destroyed `stacks` (a stack's name, or "2 stacks")
    and the service holds nothing of them."""
    return f"Destroyed {stacks}: the emulator holds 0 monitors, its EC2 0 security groups of the service."


def _identity(probe: Mapping[str, Any]) -> tuple[Any, ...]:
    port = probe.get("destinationPort") if probe["protocol"] == "TCP" else None
    return (probe["sourceArn"], probe["destination"], probe["protocol"], port)
