"""Snapshots of whole templates: a change here is a change users will see in `cdk diff`.

The example app's snapshot is in `examples/tests/`, written as a user writes one.

Asset hashes are normalised, so editing the handler's code does not break a snapshot; a change of
resources, properties or permissions does. Update with `pytest --snapshot-update` after review.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from cdk_netmon import MonitorProbe, NetworkMonitor, ProbeProtocol
from tests.support import normalise_asset_hashes, subnet_arn, template_json


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def ipv6_data_centre_stack() -> Stack:
    """Explicit names, IPv6, subnet ARNs from another team's VPC, two monitors sharing one provider,
    and an alarm on a monitor that lives outside the app."""
    stack = Stack(App(), "Ipv6DataCentre", env={"account": "123456789012", "region": "eu-west-1"})
    primary = NetworkMonitor(
        stack,
        "Primary",
        monitor_name="dc1-ipv6",
        aggregation_period=Duration.seconds(30),
        probes=[
            MonitorProbe(
                source_arn=subnet_arn(i),
                destination="2001:db8:100::10",
                protocol=ProbeProtocol.TCP,
                destination_port=22,
                packet_size=1200,
                probe_tags={"az": f"az{i}"},
            )
            for i in range(2)
        ],
    )
    primary.add_probe(source_arn=subnet_arn(0), destination="2001:db8:100::1", protocol=ProbeProtocol.ICMP)
    NetworkMonitor(
        stack,
        "Secondary",
        probes=[MonitorProbe(source_arn=subnet_arn(2), destination="10.200.0.1", protocol=ProbeProtocol.ICMP)],
    )
    legacy = NetworkMonitor.from_monitor_name(stack, "Legacy", "legacy-dx")
    cloudwatch.Alarm(
        stack,
        "LegacyLoss",
        metric=legacy.metric_packet_loss(probe_id="probe-0123456789abcdefghijk"),
        threshold=10,
        evaluation_periods=2,
    )
    return stack


def test_ipv6_data_centre(snapshot_json: SnapshotAssertion) -> None:
    assert normalise_asset_hashes(template_json(ipv6_data_centre_stack())) == snapshot_json


def test_normalising_keeps_everything_but_asset_hashes() -> None:
    template: dict[str, Any] = {"Code": {"S3Key": "a" * 64 + ".zip"}, "Name": "dc1-ipv6"}
    assert normalise_asset_hashes(template) == {"Code": {"S3Key": "<asset-hash>.zip"}, "Name": "dc1-ipv6"}
