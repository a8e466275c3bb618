"""CloudFormation custom resource events and Network Monitor responses, as the handler receives them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from cdk_netmon.handler.rules import GENERATION_TAG
from cdk_netmon.handler.spec import OWNERSHIP_PROPERTY, OWNERSHIP_PROPERTY_VALUE, MonitorSpec

STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/Stack/11111111-2222-3333-4444-555555555555"
LOGICAL_ID = "Monitor23E00D08"
REQUEST_ID = "6a0e6b5e-0000-4000-8000-000000000001"
SERVICE_TOKEN = "arn:aws:lambda:eu-west-1:123456789012:function:Stack-cdknetmonframeworkonEvent"
ACCOUNT_PREFIX = "arn:aws:networkmonitor:eu-west-1:123456789012"
CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
OWNER_TAGS = {"cdk-netmon:stack-id": STACK_ID, "cdk-netmon:logical-id": LOGICAL_ID}
"""What the handler tags every monitor it creates with, for this stack and logical id."""
WHEN = datetime(2026, 11, 26, tzinfo=timezone.utc)


def probe(
    source: str,
    destination: str,
    protocol: str = "TCP",
    port: int | None = 443,
    packet_size: int | None = None,
    tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A probe as the construct declares it (CreateMonitor's shape)."""
    body: dict[str, Any] = {"sourceArn": source, "destination": destination, "protocol": protocol}
    if protocol == "TCP":
        body["destinationPort"] = port
    if packet_size is not None:
        body["packetSize"] = packet_size
    if tags:
        body["probeTags"] = dict(tags)
    return body


def monitor(
    name: str = "onprem",
    probes: Sequence[Mapping[str, Any]] = (),
    period: int = 60,
    tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"monitorName": name, "aggregationPeriod": period, "probes": list(probes)}
    if tags:
        body["tags"] = dict(tags)
    return body


def properties(declared: Mapping[str, Any], release: str = "current") -> dict[str, Any]:
    """The resource's properties as this release writes them, or as 0.1.0 did (no OwnershipTags).
    CloudFormation would stringify numbers in other properties; the monitor travels as one string."""
    body = {"ServiceToken": SERVICE_TOKEN, "Monitor": json.dumps(declared)}
    if release == "current":
        body[OWNERSHIP_PROPERTY] = OWNERSHIP_PROPERTY_VALUE
    return body


def event(
    request_type: str,
    declared: Mapping[str, Any],
    *,
    physical_id: str | None = None,
    old: Mapping[str, Any] | None = None,
    request_id: str = REQUEST_ID,
    release: str = "current",
    old_release: str = "current",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": SERVICE_TOKEN,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/presigned",
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": LOGICAL_ID,
        "ResourceType": "Custom::NetworkMonitor",
        "ResourceProperties": properties(declared, release),
    }
    if physical_id is not None:
        body["PhysicalResourceId"] = physical_id
    if old is not None:
        body["OldResourceProperties"] = properties(old, old_release)
    return body


def mark(declared: Mapping[str, Any], started_ms: int, request_id: str = REQUEST_ID) -> str:
    """The `cdk-netmon:generation` tag a request writes: when it began, its id, what it declares."""
    digest = MonitorSpec.from_properties(properties(declared)).digest
    return f"{started_ms}:{request_id}:{digest}"


def after_on_event(original: Mapping[str, Any], response: Mapping[str, Any]) -> dict[str, Any]:
    """The event the Provider framework hands is_complete: the request merged with on_event's answer."""
    return {**original, **response}


def probe_id(n: int) -> str:
    return f"probe-{n:021d}"


def live_probe(n: int, declared: Mapping[str, Any], state: str = "ACTIVE", **changes: Any) -> dict[str, Any]:
    """A probe as GetMonitor returns it: an id, an ARN, a state, and `tags` instead of `probeTags`."""
    body = {k: v for k, v in declared.items() if k != "probeTags"}
    body.update(changes)
    return {
        **body,
        "probeId": probe_id(n),
        "probeArn": f"{ACCOUNT_PREFIX}:probe/{probe_id(n)}",
        "state": state,
        "addressFamily": "IPV6" if ":" in body["destination"] else "IPV4",
        "vpcId": "vpc-0a1b2c3d4e5f6a7b8",
        "createdAt": WHEN,
        "modifiedAt": WHEN,
        "tags": dict(declared.get("probeTags") or {}),
    }


def live_monitor(
    name: str = "onprem",
    probes: Sequence[Mapping[str, Any]] = (),
    state: str = "ACTIVE",
    period: int = 60,
    tags: Mapping[str, str] | None = None,
    owner_tags: Mapping[str, str] = OWNER_TAGS,
    mark: str | None = None,
) -> dict[str, Any]:
    """A GetMonitor answer; the monitor carries this resource's ownership tags unless told otherwise,
    and the `cdk-netmon:generation` mark `mark` where given (none, as a monitor made before 0.3.1)."""
    return {
        "monitorArn": f"{ACCOUNT_PREFIX}:monitor/{name}",
        "monitorName": name,
        "state": state,
        "aggregationPeriod": period,
        "tags": {**(tags or {}), **owner_tags, **({GENERATION_TAG: mark} if mark is not None else {})},
        "probes": list(probes),
        "createdAt": WHEN,
        "modifiedAt": WHEN,
    }
