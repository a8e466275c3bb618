"""The offline deploy command and the driver, on a template the CDK really synthesized."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from cdk_netmon.plan.assembly import read_input
from cdk_netmon.testing.cloudformation import UnsupportedTemplateError, placeholder_ids
from cdk_netmon.testing.offline_deploy import run
from examples.hybrid_connectivity import HybridConnectivityStack
from tests.offline import destroyed_leaving_nothing, driver, offline
from tests.support import parameter_template, template_json


@pytest.fixture(scope="module")
def example_template() -> dict[str, Any]:
    return template_json(HybridConnectivityStack(App(), "NetmonHybridConnectivity"))


@pytest.mark.slow
def test_the_example_app_deploys_converges_and_is_destroyed(tmp_path: Path, example_template: dict[str, Any]) -> None:
    path = tmp_path / "NetmonHybridConnectivity.template.json"
    path.write_text(json.dumps(example_template))
    out = io.StringIO()

    assert run([[read_input(path)]], out, one_stack=True) == 0

    output = out.getvalue()
    assert re.search(r"Create .* waiting +NetmonHybridConnectivity-OnPremises-\w+ PENDING, probes 5 PENDING", output)
    assert re.search(
        r"Create .* complete +NetmonHybridConnectivity-OnPremises-\w+ ACTIVE, probes 4 ACTIVE 1 INACTIVE", output
    )
    assert len(re.findall(r"probe-\w+ ACTIVE +(TCP|ICMP)", output)) == 4
    assert len(re.findall(r"probe-\w+ INACTIVE +ICMP", output)) == 1
    assert "Delete" in output
    assert output.rstrip().endswith(destroyed_leaving_nothing("NetmonHybridConnectivity"))


@pytest.mark.slow
def test_the_driver_resolves_the_subnet_arns_of_a_real_template(example_template: dict[str, Any]) -> None:
    with offline() as emulator:
        stack = driver(emulator, refs=placeholder_ids(example_template))
        stack.deploy(example_template)
        [monitor] = emulator.snapshot().values()
        subnets = {p["sourceArn"] for p in monitor["probes"]}
        assert all(re.fullmatch(r"arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-[0-9a-f]{17}", s) for s in subnets)
        assert len(subnets) == 2
        stack.destroy()


def test_the_driver_refuses_what_it_does_not_emulate() -> None:
    unsupported = {
        "Resources": {"M": {"Type": "Custom::NetworkMonitor", "Properties": {"Monitor": {"Fn::Sub": "${AWS::Region}"}}}}
    }
    missing = {"Resources": {"M": {"Type": "Custom::NetworkMonitor", "Properties": {"Monitor": {"Ref": "Elsewhere"}}}}}
    with offline() as emulator:
        with pytest.raises(UnsupportedTemplateError, match=r"Fn::Sub is not supported by the offline driver"):
            driver(emulator).deploy(unsupported)
        with pytest.raises(
            UnsupportedTemplateError,
            match=r"^Ref Elsewhere: no resource or parameter of that name is in the template; "
            r"give its value as ref Elsewhere=VALUE$",
        ):
            driver(emulator).deploy(missing)
        assert emulator.calls == []


ARN = "arn:aws:networkmonitor:eu-west-1:123456789012:monitor/DataCentres"


@pytest.mark.parametrize(
    ("value", "resolved"),
    [
        ({"Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "Arn"}]}]}, "DataCentres"),  # a native monitor's name
        ({"Fn::Select": ["0", ["a", "b"]]}, "a"),  # an index may be a string of digits
        ({"Fn::Join": ["-", {"Fn::Split": [":", "a:b:c"]}]}, "a-b-c"),
    ],
)
def test_the_driver_resolves_select_and_split_as_cloudformation_does(value: Any, resolved: str) -> None:
    template = {"Parameters": {"Arn": {"Type": "String", "Default": ARN}}, "Outputs": {"Out": {"Value": value}}}
    with offline() as emulator:
        assert driver(emulator).output_values(template) == {"Out": resolved}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Fn::Select": [2, ["a", "b"]]}, "Fn::Select index 2 is outside a list of 2"),
        ({"Fn::Select": [-1, ["a"]]}, "Fn::Select index -1 is outside a list of 1"),
        ({"Fn::Select": ["x", ["a"]]}, 'Fn::Select takes [index, list], not ["x", ["a"]]'),
        ({"Fn::Select": ["\u00b2", ["a"]]}, 'Fn::Select takes [index, list], not ["\\u00b2", ["a"]]'),
        ({"Fn::Select": ["\u0663", ["a"]]}, 'Fn::Select takes [index, list], not ["\\u0663", ["a"]]'),
        ({"Fn::Select": [0, "a"]}, 'Fn::Select takes [index, list], not [0, "a"]'),
        ({"Fn::Select": [0]}, "Fn::Select takes [index, list], not [0]"),
        ({"Fn::Split": ["", "a"]}, 'Fn::Split takes [delimiter, string], not ["", "a"]'),
        ({"Fn::Split": ["/", ["a"]]}, 'Fn::Split takes [delimiter, string], not ["/", ["a"]]'),
        ({"Fn::Join": ["", "a"]}, 'Fn::Join takes [separator, list], not ["", "a"]'),
    ],
)
def test_the_driver_refuses_a_malformed_select_split_or_join_in_one_line(value: Any, message: str) -> None:
    with offline() as emulator, pytest.raises(UnsupportedTemplateError) as refused:
        driver(emulator).output_values({"Outputs": {"Out": {"Value": value}}})
    assert str(refused.value) == message


# --- the command, as a user runs it ------------------------------------------------------------------

from cdk_netmon import MonitorProbe, NetworkMonitor, ProbeProtocol  # noqa: E402
from cdk_netmon.testing.offline_deploy import main  # noqa: E402


def hub_template(port: int, *, destination: str = "2001:db8::10", extra_probe: bool = False) -> dict[str, Any]:
    """An IPv6 hub in a concrete account and region, as a user's app would synthesize it."""
    from aws_cdk import Stack
    from aws_cdk import aws_ec2 as ec2

    stack = Stack(App(), "Hub", env={"account": "111122223333", "region": "eu-central-1"})
    subnet = ec2.Subnet.from_subnet_id(stack, "Shared", "subnet-0a1b2c3d4e5f60001")
    probes = [MonitorProbe(source=subnet, destination=destination, protocol=ProbeProtocol.TCP, destination_port=port)]
    if extra_probe:
        probes.append(MonitorProbe(source=subnet, destination="2001:db8::1", protocol=ProbeProtocol.ICMP))
    NetworkMonitor(stack, "Dc1", monitor_name="dc1", probes=probes)
    return template_json(stack)


def write(path: Path, template: dict[str, Any]) -> Path:
    path.write_text(json.dumps(template))
    return path


@pytest.mark.slow
def test_successive_templates_are_updates_of_one_stack_with_their_write_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v1 = write(tmp_path / "v1.json", hub_template(443))
    v2 = write(tmp_path / "v2.json", hub_template(8443))
    code = main([str(v1), str(v2), "--account", "111122223333", "--region", "eu-central-1"])
    output = capsys.readouterr().out
    assert code == 0, output
    deploying = r"Deploying v1 \(111122223333, eu-central-1\) with \S+v1.json \(1 of 2\)"
    assert re.search(deploying + r"\n(\[t\+.*\n)+Write calls: CreateMonitor\n", output)
    updating = r"Updating v1 \(111122223333, eu-central-1\) with \S+v2.json \(2 of 2\)"
    assert re.search(updating + r"\n(\[t\+.*\n)+Write calls: TagResource, UpdateProbe\n", output)
    assert re.search(r"TCP  subnet-0a1b2c3d4e5f60001 -> \[2001:db8::10\]:8443", output)
    assert output.rstrip().endswith(destroyed_leaving_nothing("v1"))


@pytest.mark.slow
def test_keep_and_state_let_a_later_run_deploy_the_next_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "hub-state.json"
    region_args = ["--account", "111122223333", "--region", "eu-central-1"]
    assert (
        main([str(write(tmp_path / "v1.json", hub_template(443))), "--keep", "--state", str(state), *region_args]) == 0
    )
    assert "Destroying" not in capsys.readouterr().out
    v3 = write(tmp_path / "v3.json", hub_template(443, extra_probe=True))
    assert main([str(v3), "--state", str(state), *region_args]) == 0
    output = capsys.readouterr().out
    assert "Resumed v1:" in output
    updating = r"Updating v1 \(111122223333, eu-central-1\) with \S+v3.json \(1 of 1\)"
    assert re.search(updating + r"\n(\[t\+.*\n)+Write calls: TagResource, CreateProbe\n", output)
    assert output.count("ACTIVE   ICMP") == 1
    assert destroyed_leaving_nothing("v1") in output


@pytest.mark.slow
def test_a_cloud_assembly_gives_the_stack_and_its_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from aws_cdk import Stack
    from aws_cdk import aws_ec2 as ec2

    app = App(outdir=str(tmp_path / "cdk.out"))
    for name, account in (("Hub", "111122223333"), ("Spoke", "444455556666")):
        stack = Stack(app, name, env={"account": account, "region": "eu-central-1"})
        subnet = ec2.Subnet.from_subnet_id(stack, "Shared", "subnet-0a1b2c3d4e5f60001")
        NetworkMonitor(
            stack, "Dc1", probes=[MonitorProbe(source=subnet, destination="10.0.0.1", protocol=ProbeProtocol.ICMP)]
        )
    app.synth()
    assert main([str(tmp_path / "cdk.out")]) == 0  # without --stack: every stack of the app
    both = capsys.readouterr().out
    assert "Deploying Hub (111122223333, eu-central-1)" in both
    assert "Deploying Spoke (444455556666, eu-central-1)" in both
    assert main([str(tmp_path / "cdk.out"), "--stack", "Spoke"]) == 0
    output = capsys.readouterr().out
    assert "Hub" not in output
    assert re.search(r"Deploying Spoke \(444455556666, eu-central-1\) with \S+Spoke.template.json \(1 of 1\)", output)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["missing.json"], "missing.json does not exist"),
        (["."], "is not a cloud assembly (no manifest.json): run cdk synth first"),
        (["bad.json"], "bad.json is not JSON"),
        (["empty.json"], "empty.json is not a CloudFormation template (it has no Resources)"),
        (["param.json"], "parameter Destination has no value and no default: give it (--parameter Destination=VALUE)"),
        (["param.json", "--parameter", "Destination"], "--parameter 'Destination': write it as NAME=VALUE"),
    ],
)
def test_errors_are_one_line_and_exit_non_zero(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "empty.json").write_text("{}")
    write(tmp_path / "param.json", parameter_template())
    assert main(arguments) == 1
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert line.startswith("offline_deploy: ")
    assert message in line


@pytest.mark.slow
def test_a_parameter_given_on_the_command_line_reaches_the_monitor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "param.json", parameter_template())
    assert main([str(path), "--parameter", "Destination=10.8.8.8"]) == 0
    assert "-> 10.8.8.8 (56 bytes)" in capsys.readouterr().out
