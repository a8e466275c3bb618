"""The live account, read-only: the live monitors of the declared names and this stack's others,
with your own credentials, by GetMonitor and ListMonitors only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cdk_netmon.handler.live import LiveMonitor
from cdk_netmon.handler.rules import OWNER_LOGICAL_ID_TAG, OWNER_STACK_TAG


def live_monitors(
    client: Any, stack_name: str, names: Sequence[str]
) -> tuple[dict[str, LiveMonitor], list[tuple[str, str]]]:
    """The live monitors of the declared names, and (logical id, name) of this stack's other
    monitors (by their ownership tags), read with GetMonitor and ListMonitors only."""
    from botocore.exceptions import ClientError

    found: dict[str, LiveMonitor] = {}
    for name in names:
        try:
            found[name] = LiveMonitor.from_response(client.get_monitor(monitorName=name))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
    others: list[tuple[str, str]] = []
    for page in client.get_paginator("list_monitors").paginate():
        for summary in page.get("monitors", []):
            tags = summary.get("tags") or {}
            if stack_of(tags) == stack_name and summary["monitorName"] not in names:
                others.append((str(tags.get(OWNER_LOGICAL_ID_TAG, summary["monitorName"])), summary["monitorName"]))
    for _, name in others:
        found[name] = LiveMonitor.from_response(client.get_monitor(monitorName=name))
    return found, others


def stack_of(tags: Mapping[str, str]) -> str | None:
    """The stack name in a monitor's ownership tag (a stack id: `arn:...:stack/<name>/<uuid>`)."""
    parts = str(tags.get(OWNER_STACK_TAG, "")).split("/")
    return parts[1] if len(parts) > 1 else None


def account_of(client: Any) -> str | None:
    """The account of the caller's monitors, from a monitor ARN (ListMonitors): no other service is asked."""
    for page in client.get_paginator("list_monitors").paginate():
        for summary in page.get("monitors", []):
            return str(summary["monitorArn"]).split(":")[4]
    return None
