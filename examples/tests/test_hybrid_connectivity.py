"""Tests of the example app, written as a user of cdk_netmon would write tests of their own stack.

They use only the public testing kit (`pip install "cdk-netmon[testing]"`): a snapshot test that
survives library upgrades, an assertion on the declared probes, and an offline update test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from cdk_netmon.testing import (
    LocalNetworkMonitor,
    StackDriver,
    declared_monitors,
    normalise_asset_hashes,
    offline_stack,
)
from examples.hybrid_connectivity import HybridConnectivityStack

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


def synthesize(**props: Any) -> dict[str, Any]:
    """The stack as `cdk synth` makes it: with the feature flags of the app's cdk.json."""
    app = App(context=json.loads(CDK_JSON.read_text())["context"])
    return dict(Template.from_stack(HybridConnectivityStack(app, "NetmonHybridConnectivity", **props)).to_json())


@contextmanager
def deployed(template: dict[str, Any]) -> Iterator[tuple[LocalNetworkMonitor, StackDriver]]:
    """The stack deployed to an emulator by the shipped handler, for an update to follow."""
    with LocalNetworkMonitor() as emulator, offline_stack(emulator) as stack:
        stack.deploy(template)
        yield emulator, stack


def test_the_template_matches_its_snapshot(snapshot: SnapshotAssertion) -> None:
    assert normalise_asset_hashes(synthesize()) == snapshot.use_extension(JSONSnapshotExtension)


def test_every_subnet_probes_the_service_and_the_gateway_and_the_recovery_site_is_paused() -> None:
    [monitor] = declared_monitors(synthesize()).values()
    targets = sorted(
        (p["protocol"], p["destination"], p.get("destinationPort"), p.get("state", "ACTIVE")) for p in monitor["probes"]
    )
    assert targets == [
        ("ICMP", "10.100.0.1", None, "ACTIVE"),
        ("ICMP", "10.100.0.1", None, "ACTIVE"),
        ("ICMP", "10.200.0.1", None, "INACTIVE"),
        ("TCP", "10.100.20.15", 443, "ACTIVE"),
        ("TCP", "10.100.20.15", 443, "ACTIVE"),
    ]
    assert len({p["sourceArn"] for p in monitor["probes"]}) == 2
    assert all(p["probeTags"] == {"cost-centre": "network"} for p in monitor["probes"])


def test_the_recovery_site_is_resumed_after_its_maintenance_window() -> None:
    before, after = synthesize(), synthesize(recovery_site_in_maintenance=False)
    with deployed(before) as (emulator, stack):
        [monitor] = emulator.snapshot().values()
        assert sorted(p["state"] for p in monitor["probes"]) == ["ACTIVE"] * 4 + ["INACTIVE"]
        calls = len(emulator.calls)
        stack.deploy(after)
        assert emulator.writes(calls) == ["TagResource", "UpdateProbe"]  # the request's mark, then the resume
        [monitor] = emulator.snapshot().values()
        assert [p["state"] for p in monitor["probes"]] == ["ACTIVE"] * 5
        stack.destroy()


def test_moving_the_service_to_another_port_updates_two_probes_in_place() -> None:
    before, after = synthesize(), synthesize(on_premises_port=8443)
    with deployed(before) as (emulator, stack):
        calls = len(emulator.calls)
        stack.deploy(after)
        assert emulator.writes(calls) == ["TagResource", "UpdateProbe", "UpdateProbe"]  # the mark, then the ports
        [monitor] = emulator.snapshot().values()
        assert sorted(p.get("destinationPort", 0) for p in monitor["probes"]) == [0, 0, 0, 8443, 8443]
        stack.destroy()
        assert emulator.snapshot() == {}
