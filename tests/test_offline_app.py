"""Features meeting in one app, offline: a grant beside the handler's policy, quotas a team raised,
an app of two stacks deployed version after version, resumed from a state file. Each worked alone
and broke together; these stories take the command and the kit through them as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam

from cdk_netmon import NetworkMonitor, ProbeProtocol
from cdk_netmon.testing import (
    LocalNetworkMonitor,
    StackDriver,
    declared_quotas,
    handler_pointed_at,
    offline_stack,
    placeholder_ids,
)
from cdk_netmon.testing.offline_deploy import main
from tests.offline import destroyed_leaving_nothing
from tests.support import isolated_vpc, subnet_arn, template_json
from tests.test_quotas import RAISED
from tests.test_quotas import stack_of as raised_quota_stack


def granted_stack() -> Stack:
    """A monitor whose operators may read it: their role's policy names networkmonitor actions too."""
    stack = Stack(App(), "Granted")
    monitor = NetworkMonitor(stack, "Dc", monitor_name="dc")
    monitor.add_probe(source_arn=subnet_arn(1), destination="10.0.0.1", protocol=ProbeProtocol.ICMP)
    operators = iam.Role(stack, "Operators", assumed_by=iam.AccountRootPrincipal())
    monitor.grant_read(operators)
    monitor.grant(operators, "networkmonitor:UpdateProbe")
    return stack


def write(path: Path, template: dict[str, Any]) -> Path:
    path.write_text(json.dumps(template))
    return path


@pytest.mark.slow
def test_a_stack_that_grants_its_monitor_deploys_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = template_json(granted_stack())
    assert main([str(write(tmp_path / "Granted.template.json", template))]) == 0, capsys.readouterr().err
    assert "Destroyed Granted: the emulator holds 0 monitors" in capsys.readouterr().out

    # Wired by hand, as docs/testing.md shows: the driver takes the handler's policy only.
    with LocalNetworkMonitor() as emulator, handler_pointed_at(emulator) as handler:
        stack = StackDriver(
            on_event=handler.on_event,
            is_complete=handler.is_complete,
            clock=emulator.clock,
            grant=emulator.use_policy,
            refs=placeholder_ids(template),
        )
        stack.deploy(template)
        assert stack.policy is not None
        # The operators may list monitors (grant_read); the handler may not, and is judged as itself.
        assert not stack.policy.allows("networkmonitor:ListMonitors", "*")
        assert stack.policy.allows("networkmonitor:CreateProbe", "*")
        stack.destroy()
        assert emulator.snapshot() == {}


@pytest.mark.slow
def test_quotas_a_stack_declares_reach_the_handler_and_the_emulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = template_json(raised_quota_stack(RAISED)[0])  # 30 probes, 6 from each subnet
    assert declared_quotas(template) == RAISED
    assert main([str(write(tmp_path / "Raised.template.json", template))]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.count(" ACTIVE   ICMP subnet-") == 30

    with LocalNetworkMonitor() as emulator, offline_stack(emulator) as stack:
        stack.deploy(template)
        assert len(emulator.snapshot()["dc"]["probes"]) == 30
        stack.destroy()

    # By hand: the handler takes the declared quotas, the emulator the account's raised ones.
    with (
        LocalNetworkMonitor() as emulator,
        handler_pointed_at(emulator, quotas=declared_quotas(template)) as handler,
    ):
        emulator.set_quotas(probes_per_monitor=RAISED.probes_per_monitor, probes_per_subnet=RAISED.probes_per_subnet)
        stack = StackDriver(
            on_event=handler.on_event, is_complete=handler.is_complete, clock=emulator.clock,
            grant=emulator.use_policy, refs=placeholder_ids(template),
        )  # fmt: skip
        stack.deploy(template)
        assert len(emulator.snapshot()["dc"]["probes"]) == 30
        stack.destroy()


def two_stack_app(outdir: Path, *, port: int) -> Path:
    """A network stack and a monitor stack probing from its subnets (Fn::ImportValue)."""
    app = App(outdir=str(outdir))
    network = Stack(app, "Net")
    subnets = isolated_vpc(network).isolated_subnets
    hub = Stack(app, "Hub")
    monitor = NetworkMonitor(hub, "Dc", monitor_name="dc")
    monitor.add_probes(sources=subnets, destinations=["10.0.0.1"], protocol=ProbeProtocol.TCP, destination_port=port)
    app.synth()
    return outdir


@pytest.mark.slow
def test_two_versions_of_an_app_of_two_stacks_need_no_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    v1 = two_stack_app(tmp_path / "v1.out", port=443)
    v2 = two_stack_app(tmp_path / "v2.out", port=8443)
    assert main([str(v1), str(v2)]) == 0, capsys.readouterr().err
    output = capsys.readouterr().out
    assert output.index("Deploying Net") < output.index("Deploying Hub") < output.index("Updating Net")
    update = output[output.index("Updating Hub") :]
    marked_then_ports = "TagResource, UpdateProbe, UpdateProbe\n"  # the request's mark, then the two ports
    assert update.split("Write calls: ", 1)[1].startswith(marked_then_ports)
    assert output.count("TCP  subnet-") == 4  # the hub's two probes, after each of its deploys
    assert output.count("-> 10.0.0.1:8443 (56 bytes)") == 2  # once the update reached them
    assert output.index("Destroying Hub") < output.index("Destroying Net")
    assert output.rstrip().endswith(destroyed_leaving_nothing("2 stacks"))


@pytest.mark.slow
def test_keep_and_state_carry_every_stack_of_the_app_to_a_later_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v1 = two_stack_app(tmp_path / "v1.out", port=443)
    v2 = two_stack_app(tmp_path / "v2.out", port=8443)
    state = tmp_path / "app.json"
    assert main([str(v1), "--keep", "--state", str(state)]) == 0, capsys.readouterr().err
    assert "Destroying" not in capsys.readouterr().out
    assert main([str(v2), "--state", str(state)]) == 0, capsys.readouterr().err
    output = capsys.readouterr().out
    assert "Resumed Net, Hub:" in output
    assert "Updating Net" in output
    hub = output[output.index("Updating Hub") :]
    assert hub.split("Write calls: ", 1)[1].startswith("TagResource, UpdateProbe, UpdateProbe")
    assert destroyed_leaving_nothing("2 stacks") in output


def test_a_missing_value_names_one_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    v1 = two_stack_app(tmp_path / "v1.out", port=443)
    assert main([str(v1 / "Hub.template.json")]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    name = line.split()[2].rstrip(":")
    assert name.startswith("Net:ExportsOutputRef")
    assert line == (
        f"offline_deploy: Fn::ImportValue {name}: no stack deployed before this one exports it; "
        f"give it with --ref {name}=VALUE"
    )


@pytest.mark.parametrize(
    "code",
    [
        "import cdk_netmon.testing",
        "from cdk_netmon.testing.offline_deploy import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
    ],
)
def test_the_kit_starts_no_node_until_a_construct_is_built(code: str) -> None:
    check = f"{code}\nimport sys\nprint(sorted(m for m in sys.modules if m.split('.')[0] in ('jsii', 'aws_cdk')))"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120, check=False)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr
