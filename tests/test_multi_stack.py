"""Apps of several stacks in the kit and the offline command: a network stack that holds the VPC,
a hub stack whose monitor probes from its subnets (`Fn::ImportValue`, as CDK writes a cross-stack
reference), deployed in dependency order with the exports passed along."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from aws_cdk import App, Stack

from cdk_netmon import NetworkMonitor, ProbeProtocol
from cdk_netmon.plan.assembly import read_app
from cdk_netmon.testing import declared_monitors
from cdk_netmon.testing.offline_deploy import main, run
from tests.offline import destroyed_leaving_nothing
from tests.support import isolated_vpc


def two_stacks(outdir: Path | None = None) -> tuple[App, Stack, Stack]:
    app = App(outdir=str(outdir)) if outdir else App()
    network = Stack(app, "Net")
    subnets = isolated_vpc(network).isolated_subnets
    hub = Stack(app, "Hub")
    monitor = NetworkMonitor(hub, "Dc", monitor_name="dc")
    monitor.add_probes(sources=subnets, destinations=["10.0.0.1"], protocol=ProbeProtocol.ICMP)
    return app, network, hub


def test_declared_monitors_writes_imports_readably() -> None:
    _, _, hub = two_stacks()
    [monitor] = declared_monitors(hub).values()
    sources = [p["sourceArn"] for p in monitor["probes"]]
    assert len(sources) == 2
    for source in sources:
        assert source.startswith("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:subnet/${ImportValue:Net:")


def test_the_app_deploys_in_dependency_order_with_its_exports_and_is_destroyed(tmp_path: Path) -> None:
    app, _, _ = two_stacks(tmp_path)
    app.synth()
    stacks = read_app(tmp_path)
    assert [s.stack_name for s in stacks] == ["Net", "Hub"]
    out = io.StringIO()
    assert run([stacks], out) == 0
    text = out.getvalue()
    assert text.index("Deploying Net") < text.index("Deploying Hub")
    assert text.count("ICMP subnet-") == 2  # both probes, from the subnets Net exported
    assert text.rstrip().endswith(destroyed_leaving_nothing("2 stacks"))


def test_the_command_takes_imports_from_outside_the_app_with_ref(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app, _, _ = two_stacks(tmp_path)
    app.synth()
    hub = tmp_path / "Hub.template.json"
    assert main([str(hub)]) == 1
    refused = capsys.readouterr().err
    assert "Fn::ImportValue Net:" in refused
    assert "no stack deployed before this one exports it; give it with --ref Net:" in refused
    imports = sorted(set(re.findall(r'"Fn::ImportValue": "([^"]+)"', hub.read_text())))
    assert len(imports) == 2
    given = [f"--ref={name}=subnet-0a1b2c3d4e5f6000{i}" for i, name in enumerate(imports, start=1)]
    assert main([str(hub), *given]) == 0
    deployed = capsys.readouterr().out
    assert "ICMP subnet-0a1b2c3d4e5f60001 -> 10.0.0.1" in deployed
    assert "ICMP subnet-0a1b2c3d4e5f60002 -> 10.0.0.1" in deployed
