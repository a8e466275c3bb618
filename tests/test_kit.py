"""The testing kit users import: declared monitors as plain data, and snapshots that survive upgrades."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from aws_cdk import App, CfnParameter, Stack, Token

import cdk_netmon.engines.custom_resource
from cdk_netmon import MonitorProbe, NetworkMonitor, ProbeProtocol
from cdk_netmon.testing import declared_monitors, normalise_asset_hashes
from tests.support import SUBNET_A, isolated_vpc, template_json


def test_declared_monitors_reads_probes_whose_sources_are_subnets_of_the_app() -> None:
    stack = Stack(App(), "Stack")
    vpc = isolated_vpc(stack, azs=1)
    port = CfnParameter(stack, "Port", type="Number").value_as_number
    monitor = NetworkMonitor(
        stack,
        "OnPrem",
        monitor_name="onprem",
        tags={"team": "network"},
        probes=[
            MonitorProbe(source=vpc.isolated_subnets[0], destination="10.0.0.1", protocol=ProbeProtocol.ICMP),
            MonitorProbe(
                source_arn=SUBNET_A,
                destination="10.0.0.2",
                protocol=ProbeProtocol.TCP,
                destination_port=Token.as_number(port),
            ),
        ],
    )
    logical_id = stack.get_logical_id(monitor.node.find_child("Resource").node.default_child)  # type: ignore[arg-type]
    subnet_id = stack.get_logical_id(vpc.isolated_subnets[0].node.default_child)  # type: ignore[arg-type]
    assert declared_monitors(stack) == {
        stack.resolve(logical_id): {
            "monitorName": "onprem",
            "aggregationPeriod": 60,
            "tags": {"team": "network"},
            "probes": [
                {
                    "sourceArn": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:subnet/"
                    + f"${{{stack.resolve(subnet_id)}}}",
                    "destination": "10.0.0.1",
                    "protocol": "ICMP",
                },
                {"sourceArn": SUBNET_A, "destination": "10.0.0.2", "protocol": "TCP", "destinationPort": "${Port}"},
            ],
        }
    }


def test_declared_monitors_reads_a_template_too() -> None:
    stack = Stack(App(), "Stack")
    NetworkMonitor(
        stack,
        "M",
        monitor_name="m",
        probes=[MonitorProbe(source_arn=SUBNET_A, destination="10.0.0.1", protocol=ProbeProtocol.ICMP)],
    )
    [document] = declared_monitors(template_json(stack)).values()
    assert document["probes"] == [{"sourceArn": SUBNET_A, "destination": "10.0.0.1", "protocol": "ICMP"}]


def test_a_changed_byte_of_the_handler_changes_the_template_but_not_its_normalised_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def synthesized() -> dict[str, object]:
        stack = Stack(App(), "Stack")
        NetworkMonitor(stack, "M", monitor_name="m")
        return template_json(stack)

    before = synthesized()
    changed = tmp_path / "cdk_netmon" / "handler"
    handler_dir = cdk_netmon.engines.custom_resource.HANDLER_DIR
    shutil.copytree(handler_dir, changed, ignore=shutil.ignore_patterns("__pycache__"))
    (changed / "rules.py").write_text((changed / "rules.py").read_text() + "\n# one more line\n")
    monkeypatch.setattr(cdk_netmon.engines.custom_resource, "HANDLER_DIR", changed)
    after = synthesized()
    assert after != before
    assert normalise_asset_hashes(after) == normalise_asset_hashes(before)
