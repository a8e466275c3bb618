"""Offline deploys for the tests: the emulator, the driver, and templates small enough to make many."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from cdk_netmon.handler import is_complete, on_event
from cdk_netmon.testing import Faults, LocalNetworkMonitor
from cdk_netmon.testing.cloudformation import StackDriver
from cdk_netmon.testing.offline_deploy import handler_pointed_at


@contextmanager
def offline(faults: Faults | None = None) -> Iterator[LocalNetworkMonitor]:
    """An emulator that the handler's own, unmodified boto3 client reaches over HTTP."""
    with LocalNetworkMonitor(faults=faults) as emulator, handler_pointed_at(emulator):
        yield emulator


SERVICE_TOKEN = {"ProviderframeworkonEvent.Arn": "arn:aws:lambda:eu-west-1:123456789012:function:framework-onEvent"}


def driver(emulator: LocalNetworkMonitor, refs: Mapping[str, str] | None = None, **options: Any) -> StackDriver:
    return StackDriver(
        on_event=on_event,
        is_complete=is_complete,
        clock=emulator.clock,
        refs={**SERVICE_TOKEN, **(refs or {})},
        **options,
    )


def template(*monitors: Mapping[str, Any], logical_ids: Sequence[str] | None = None) -> dict[str, Any]:
    """A template as the construct synthesizes it, for monitors given in CreateMonitor's shape."""
    ids = logical_ids or [f"Monitor{i}" for i in range(len(monitors))]
    return {
        "Resources": {
            logical_id: {
                "Type": "Custom::NetworkMonitor",
                "Properties": {
                    "ServiceToken": {"Fn::GetAtt": ["ProviderframeworkonEvent", "Arn"]},
                    "Monitor": json.dumps(monitor),
                },
                "DependsOn": ["HandlerPolicy"],
            }
            for logical_id, monitor in zip(ids, monitors, strict=True)
        }
    }


def assert_converged(emulator: LocalNetworkMonitor, *declared: Mapping[str, Any]) -> None:
    """The emulator holds exactly the declared monitors and probes, settled, and nothing else.

    A probe's packet size is compared only where the template declares one: an unset size is not
    managed (see README), so the live size may be whatever it was.
    """
    live = emulator.snapshot()
    assert sorted(live) == sorted(m["monitorName"] for m in declared)
    for monitor in declared:
        state = live[monitor["monitorName"]]
        assert state["state"] in ("ACTIVE", "INACTIVE")
        assert state["aggregationPeriod"] == monitor.get("aggregationPeriod", 60)
        assert state["tags"] == monitor.get("tags", {})
        assert all(p["state"] == "ACTIVE" for p in state["probes"])
        live_probes = {_identity(p): p for p in state["probes"]}
        assert sorted(live_probes) == sorted(_identity(p) for p in monitor.get("probes", []))
        for probe in monitor.get("probes", []):
            twin = live_probes[_identity(probe)]
            assert twin["tags"] == probe.get("probeTags", {})
            if "packetSize" in probe:
                assert twin["packetSize"] == probe["packetSize"]


def _identity(probe: Mapping[str, Any]) -> tuple[Any, ...]:
    port = probe.get("destinationPort") if probe["protocol"] == "TCP" else None
    return (probe["sourceArn"], probe["destination"], probe["protocol"], port)
