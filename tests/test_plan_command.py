"""`python -m cdk_netmon plan` as a command: its options, exit codes and messages.

The exit code is a CI gate's verdict: 0 when the deploy would change nothing, 2 when it would, 1
for every error, usage errors included. Every error is one line that names the file, and for a
template the resource and the property; no template, however malformed, ends in a traceback.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_netmon.plan import command as preview

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0a1b2c3d4e5f60001"
OWNERSHIP = {"OwnershipTags": "cdk-netmon:stack-id,cdk-netmon:logical-id"}


def probe(destination: str = "10.0.0.1", port: Any = 443, **extra: Any) -> dict[str, Any]:
    return {"SourceArn": SOURCE, "Destination": destination, "Protocol": "TCP", "DestinationPort": port, **extra}


def monitor(name: Any = "dc", probes: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    properties = {"ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]}, "MonitorName": name, "AggregationPeriod": 60}
    properties["Probes"] = {"dc1": probe(port={"Ref": "Port"})} if probes is None else probes
    return {"Type": "Custom::NetworkMonitor", "Properties": {**properties, **OWNERSHIP}, **extra}


def stack(**resources: dict[str, Any]) -> dict[str, Any]:
    return {"Parameters": {"Port": {"Type": "Number", "Default": 443}}, "Resources": resources or {"Dc1": monitor()}}


def plan(tmp_path: Path, new: Any, *options: str, old: Any = None) -> tuple[int, str, str]:
    """The command's exit code, output and error output, for templates given as JSON-ready values."""
    new_path, old_path = tmp_path / "new.template.json", tmp_path / "old.template.json"
    new_path.write_text(json.dumps(new))
    old_path.write_text(json.dumps(stack() if old is None else old))
    out, err = io.StringIO(), io.StringIO()
    stderr, sys.stderr = sys.stderr, err
    try:
        code = preview.main([str(new_path), "--against", str(old_path), *options], out=out)
    finally:
        sys.stderr = stderr
    return code, out.getvalue(), err.getvalue()


def command(*arguments: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cdk_netmon", *arguments], cwd=cwd, capture_output=True, text=True, timeout=120,
        check=False, env=env,
    )  # fmt: skip


# --- exit codes ----------------------------------------------------------------------------------


def test_exit_codes_0_no_change_2_changes_1_every_error(tmp_path: Path) -> None:
    assert plan(tmp_path, stack())[0] == 0
    assert plan(tmp_path, stack(Dc1=monitor(probes={"dc1": probe(port=8443)})))[0] == 2
    assert plan(tmp_path, {"Resources": []})[0] == 1
    assert plan(tmp_path, stack(), "--bogus")[0] == 1  # argparse's own code for this is 2: "changes"
    assert plan(tmp_path, stack(), "--live")[0] == 1  # --against and --live at once


@pytest.mark.parametrize(
    ("arguments", "code", "stream", "expected"),
    [
        (["--help"], 0, "stdout", "usage: python -m cdk_netmon plan"),
        (["-h"], 0, "stdout", "usage: python -m cdk_netmon plan"),
        (["plan", "--help"], 0, "stdout", "--parameter NAME=VALUE"),
        ([], 1, "stderr", "usage: python -m cdk_netmon plan"),
        (["deploy"], 1, "stderr", "python -m cdk_netmon: error: unknown command 'deploy'"),
        (["plan", "--bogus"], 1, "stderr", "python -m cdk_netmon plan: error: unrecognized arguments: --bogus"),
        (["plan", "--stack"], 1, "stderr", "error: argument --stack: expected one argument"),
        (["plan", "cdk.out"], 1, "stderr", "error: give either --against TEMPLATE or --live"),
    ],
)
def test_help_exits_0_and_every_usage_error_1_with_the_usage(
    arguments: list[str], code: int, stream: str, expected: str
) -> None:
    result = command(*arguments)
    assert result.returncode == code, result.stderr
    assert expected in getattr(result, stream)
    assert "usage: python -m cdk_netmon plan" in (result.stdout if code == 0 else result.stderr)
    assert "Traceback" not in result.stderr


def test_the_command_starts_without_node_or_jsii(tmp_path: Path) -> None:
    (tmp_path / "t.json").write_text(json.dumps(stack()))
    script = (
        "import sys; sys.modules['jsii'] = None; sys.modules['aws_cdk'] = None\n"
        "import cdk_netmon\n"
        "from cdk_netmon.__main__ import main\n"
        f"code = main(['plan', {str(tmp_path / 't.json')!r}, '--against', {str(tmp_path / 't.json')!r}])\n"
        "assert not [m for m in sys.modules if m.startswith(('jsii', 'aws_cdk', 'constructs')) and sys.modules[m]]\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "PATH": str(Path(sys.executable).parent.parent / "no-node"), "JSII_NODE": "/nonexistent"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "No changes" in result.stdout


# --- parameters ----------------------------------------------------------------------------------


def with_port_parameter(default: int | None) -> dict[str, Any]:
    body = stack(Dc1=monitor(probes={"dc1": probe(port={"Ref": "Port"})}))
    body["Parameters"] = {"Port": {"Type": "Number", **({"Default": default} if default is not None else {})}}
    return body


def test_a_parameter_without_a_value_or_default_is_named_with_the_option_to_give_it(tmp_path: Path) -> None:
    body = with_port_parameter(None)
    code, _, err = plan(tmp_path, body, old=body)
    assert code == 1
    assert (
        err == f"plan: {tmp_path}/new.template.json: parameter Port has no value and no default: "
        "give it (--parameter Port=VALUE)\n"
    )
    assert plan(tmp_path, body, "--parameter", "Port=443", old=body)[0] == 0


def test_a_parameter_value_reaches_both_templates_unless_the_older_one_is_given_its_own(tmp_path: Path) -> None:
    body = with_port_parameter(443)
    assert plan(tmp_path, body, "--parameter", "Port=8443", old=body)[0] == 0  # deployed with it, deployed again
    code, out, _ = plan(tmp_path, body, "--parameter", "Port=8443", "--against-parameter", "Port=443", old=body)
    assert code == 2
    assert ": port 443 -> 8443 (UpdateProbe)" in out


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--parameter=Prot=1", "--parameter Prot: neither template has a parameter of that name (they have: Port)"),
        ("--parameter=Port", "--parameter 'Port': write it as NAME=VALUE"),
        (
            "--against-parameter=X=1",
            "--against-parameter X: the older template has no parameter of that name (it has: Port)",
        ),
    ],
)
def test_a_parameter_option_the_templates_cannot_take_is_refused(tmp_path: Path, option: str, message: str) -> None:
    code, _, err = plan(tmp_path, with_port_parameter(443), option, old=with_port_parameter(443))
    assert code == 1
    assert err.startswith(f"plan: {message}")
    assert len(err.splitlines()) == 1


# --- inputs --------------------------------------------------------------------------------------


def assembly(path: Path, *stacks: str, template: dict[str, Any] | None = None) -> Path:
    path.mkdir()
    artifacts = {}
    for name in stacks:
        (path / f"{name}.template.json").write_text(json.dumps(template or stack()))
        artifacts[name] = {"type": "aws:cloudformation:stack", "properties": {"templateFile": f"{name}.template.json"}}
    (path / "manifest.json").write_text(json.dumps({"version": "40.0.0", "artifacts": artifacts}))
    return path


def test_against_a_cloud_assembly_the_same_stack_is_read_from_it(tmp_path: Path) -> None:
    new = assembly(tmp_path / "cdk.out", "Hub", "Spoke")
    old = assembly(tmp_path / "before.out", "Hub", "Spoke", template=stack(Dc1=monitor(probes={"dc1": probe(port=80)})))
    out = io.StringIO()
    assert preview.main([str(new), "--stack", "Spoke", "--against", str(old)], out=out) == 2
    assert f"Plan for Spoke: {new}/Spoke.template.json against {old}/Spoke.template.json" in out.getvalue()
    assert ": port 80 -> 443 (UpdateProbe)" in out.getvalue()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["cdk.out", "--stack", "Nope", "--against", "t.json"],
            "cdk.out: no stack Nope in this cloud assembly; its stacks: Hub, Spoke",
        ),
        (["cdk.out", "--against", "t.json"], "cdk.out holds several stacks: name one with --stack (Hub, Spoke)"),
        (
            ["cdk.out", "--stack", "Hub", "--against", "other.out"],
            "other.out: no stack Hub in this cloud assembly; its stacks: Edge",
        ),
        (
            ["cdk.out", "--stack", "Hub", "--against", "plain"],
            "plain is not a cloud assembly (no manifest.json): run cdk synth first",
        ),
        (
            ["binary.json", "--against", "t.json"],
            "binary.json is not JSON: it is not UTF-8 text (byte 0xff at offset 0)",
        ),
        (
            ["t.json", "--against", "binary.json"],
            "binary.json is not JSON: it is not UTF-8 text (byte 0xff at offset 0)",
        ),
        (["text.json", "--against", "t.json"], "text.json is not JSON: Expecting value: line 1 column 1 (char 0)"),
        (["missing.json", "--against", "t.json"], "missing.json does not exist"),
        (["list.json", "--against", "t.json"], "list.json is not a CloudFormation template (it has no Resources)"),
        (
            ["broken.out", "--against", "t.json"],
            "broken.out/manifest.json is not JSON: Expecting value: line 1 column 1 (char 0)",
        ),
    ],
)
def test_input_errors_are_one_line_naming_the_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    assembly(tmp_path / "cdk.out", "Hub", "Spoke")
    assembly(tmp_path / "other.out", "Edge")
    (tmp_path / "plain").mkdir()
    (tmp_path / "broken.out").mkdir()
    (tmp_path / "broken.out" / "manifest.json").write_text("")
    (tmp_path / "t.json").write_text(json.dumps(stack()))
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00\x01PK\x03\x04")
    (tmp_path / "text.json").write_text("Resources: {}\n")
    (tmp_path / "list.json").write_text("[]")
    assert preview.main(arguments, out=io.StringIO()) == 1
    assert capsys.readouterr().err == f"plan: {message}\n"


# --- malformed templates -------------------------------------------------------------------------

MISSING = object()


def changed(path: str, value: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The template with the value at a dotted path (from Resources' parent) set, or removed (MISSING)."""
    body = copy.deepcopy(body or stack())
    *parents, last = path.split(".")
    place: Any = body
    for key in parents:
        place = place[key]
    if value is MISSING:
        del place[last]
    else:
        place[last] = value
    return body


PROPERTIES = "Resources.Dc1.Properties"
PROBE = f"{PROPERTIES}.Probes.dc1"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("Resources", [], "Resources is a list, not a map"),
        ("Parameters", [], "Parameters is a list, not a map"),
        ("Parameters.Port", "443", "Parameters.Port is a string, not a map"),
        ("Resources.Dc1", "monitor", "resource Dc1 is a string, not a map"),
        (f"{PROPERTIES}", "dc", "resource Dc1: Properties is a string, not a map"),
        (f"{PROPERTIES}.MonitorName", MISSING, "resource Dc1: Properties.MonitorName is missing"),
        (f"{PROPERTIES}.MonitorName", ["dc"], "resource Dc1: Properties.MonitorName is a list, not a string"),
        (f"{PROPERTIES}.MonitorName", None, "resource Dc1: Properties.MonitorName is null, not a string"),
        (
            f"{PROPERTIES}.AggregationPeriod",
            "sixty",
            "resource Dc1: Properties.AggregationPeriod is 'sixty', not a whole number",
        ),
        (
            f"{PROPERTIES}.AggregationPeriod",
            True,
            "resource Dc1: Properties.AggregationPeriod is true, not a whole number",
        ),
        (
            f"{PROPERTIES}.Tags",
            [{"Key": "team", "Value": "network"}],
            "resource Dc1: Properties.Tags is a list, not a map",
        ),
        (
            f"{PROPERTIES}.Tags",
            {"team": {"name": "network"}},
            "resource Dc1: Properties.Tags.team is a map, not a string",
        ),
        (f"{PROPERTIES}.Probes", [probe()], "resource Dc1: Properties.Probes is a list, not a map"),
        (f"{PROBE}", "10.0.0.1", "resource Dc1: Properties.Probes.dc1 is a string, not a map"),
        (f"{PROBE}.Destination", MISSING, "resource Dc1: Properties.Probes.dc1.Destination is missing"),
        (
            f"{PROBE}.Destination",
            ["10.0.0.1"],
            "resource Dc1: Properties.Probes.dc1.Destination is a list, not a string",
        ),
        (
            f"{PROBE}.DestinationPort",
            44.5,
            "resource Dc1: Properties.Probes.dc1.DestinationPort is 44.5, not a whole number",
        ),
        (
            f"{PROBE}.PacketSize",
            {"size": 56},
            "resource Dc1: Properties.Probes.dc1.PacketSize is a map, not a whole number",
        ),
        (f"{PROBE}.Tags", "team=network", "resource Dc1: Properties.Probes.dc1.Tags is a string, not a map"),
        (f"{PROBE}.State", ["ACTIVE"], "resource Dc1: Properties.Probes.dc1.State is a list, not a string"),
        (
            f"{PROBE}.SourceArn",
            {"Ref": 5},
            "resource Dc1: Properties.Probes.dc1.SourceArn: Ref takes a name (a string), not a number",
        ),
        (
            f"{PROBE}.SourceArn",
            {"Fn::Join": "arn"},
            "resource Dc1: Properties.Probes.dc1.SourceArn: Fn::Join takes [separator, [values]], not a string",
        ),
        (
            f"{PROBE}.SourceArn",
            {"Fn::Join": ["", [{"a": 1}]]},
            "resource Dc1: Properties.Probes.dc1.SourceArn: Fn::Join's value 0 is a map, not a string",
        ),
        (
            f"{PROBE}.SourceArn",
            {"Fn::GetAtt": ["Subnet"]},
            "resource Dc1: Properties.Probes.dc1.SourceArn: Fn::GetAtt takes [logical id, attribute], not [a string]",
        ),
        (
            f"{PROBE}.SourceArn",
            {"Fn::Select": [2, ["a", "b"]]},
            "resource Dc1: Properties.Probes.dc1.SourceArn: Fn::Select index 2 is outside a list of 2",
        ),
        (
            f"{PROBE}.SourceArn",
            {"Fn::Select": ["\u0663", ["a", "b"]]},  # ARABIC-INDIC DIGIT THREE: a digit, not an ASCII one
            "resource Dc1: Properties.Probes.dc1.SourceArn: Fn::Select index '\u0663' is not a whole number",
        ),
        (
            f"{PROBE}.SourceArn",
            {"Fn::Sub": ["${A}", []]},
            "resource Dc1: Properties.Probes.dc1.SourceArn: "
            "Fn::Sub takes a string or [string, {name: value}], not [a string, a list]",
        ),
        (
            f"{PROBE}.DestinationPort",
            {"Ref": "Nope"},
            "resource Dc1: Properties.Probes.dc1.DestinationPort: "
            "Ref Nope: the template has no parameter or resource of that name",
        ),
        (
            "Resources.Dc1.DeletionPolicy",
            "Snapshot",
            "resource Dc1: DeletionPolicy is 'Snapshot', not one of Delete, Retain, RetainExceptOnCreate",
        ),
        (
            "Resources.Dc1.UpdateReplacePolicy",
            "RetainExceptOnCreate",
            "resource Dc1: UpdateReplacePolicy is 'RetainExceptOnCreate', not one of Delete, Retain",
        ),
        ("Resources.Dc1.UpdateReplacePolicy", 5, "resource Dc1: UpdateReplacePolicy is a number, not a string"),
        (
            "Resources.Dc1.Condition",
            "InProduction",
            "resource Dc1: has Condition InProduction, which the plan does not evaluate",
        ),
        (
            f"{PROPERTIES}.Monitor",
            5,
            "resource Dc1: Properties.Monitor is a number, not a string (the JSON of a monitor, as 0.2.0 wrote it)",
        ),
        (
            f"{PROPERTIES}.Monitor",
            "{",
            "resource Dc1: Properties.Monitor is not JSON: "
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (
            f"{PROPERTIES}.Monitor",
            '{"monitorName": "dc", "probes": {}}',
            "resource Dc1: Properties.Monitor: probes is a map, not a list",
        ),
        (
            f"{PROPERTIES}.Monitor",
            '{"monitorName": "dc", "probes": [{"sourceArn": 1}]}',
            "resource Dc1: Properties.Monitor: probes.0.sourceArn is a number, not a string; "
            "probes.0.destination is missing; probes.0.protocol is missing",
        ),
    ],
)
def test_a_malformed_template_is_one_line_naming_the_resource_and_the_property(
    tmp_path: Path, path: str, value: Any, message: str
) -> None:
    code, out, err = plan(tmp_path, changed(path, value))
    assert (code, err) == (1, f"plan: {tmp_path}/new.template.json: {message}\n")
    assert out == ""
    code, _, err = plan(tmp_path, stack(), old=changed(path, value))  # the older template is read the same way
    assert (code, err) == (1, f"plan: {tmp_path}/old.template.json: {message}\n")


def test_all_of_a_templates_problems_are_named_at_once(tmp_path: Path) -> None:
    body = changed(f"{PROBE}.Destination", MISSING, changed(f"{PROPERTIES}.Tags", []))
    _, _, err = plan(tmp_path, body)
    assert err == (
        f"plan: {tmp_path}/new.template.json: resource Dc1: Properties.Tags is a list, not a map; "
        "resource Dc1: Properties.Probes.dc1.Destination is missing\n"
    )


@pytest.mark.parametrize(
    ("value", "delivered"),
    [(42, "42"), (True, "true"), ("dc", "dc")],
)
def test_numbers_and_booleans_are_planned_as_the_strings_cloudformation_delivers(
    tmp_path: Path, value: Any, delivered: str
) -> None:
    """CloudFormation turns every number and boolean of a custom resource's properties into a
    string: a number where a string belongs is what the handler receives, not a malformed template."""
    code, out, _ = plan(tmp_path, stack(Dc1=monitor(name=value)), old={"Resources": {}})
    assert code == 2
    assert f"+ monitor {delivered}: 1 probes (CreateMonitor)" in out


def test_two_resources_naming_one_monitor_are_an_error_naming_both(tmp_path: Path) -> None:
    code, _, err = plan(tmp_path, stack(Dc1=monitor(), Dc2=monitor()), old={"Resources": {}})
    assert code == 1
    assert err == (
        f"plan: {tmp_path}/new.template.json: resources Dc1 and Dc2 both declare MonitorName 'dc': a monitor's "
        "name is unique in its account and region, so the deploy would fail on the second\n"
    )


def test_a_name_taken_over_from_another_resource_is_an_error(tmp_path: Path) -> None:
    """CloudFormation creates Dc2 before the clean-up deletes Dc1: the handler finds Dc1's monitor
    under that name and refuses it as another resource's."""
    code, _, err = plan(tmp_path, stack(Dc2=monitor()), old=stack(Dc1=monitor()))
    assert code == 1
    assert err == (
        f"plan: {tmp_path}/new.template.json: resource Dc2: MonitorName 'dc' is resource Dc1's in "
        f"{tmp_path}/old.template.json; CloudFormation deletes that monitor only in the clean-up, after creating "
        "Dc2's, so the handler would refuse it as another resource's: choose another name, or free this one in a "
        "deploy of its own first\n"
    )


# --- any value, anywhere -------------------------------------------------------------------------

INTRINSICS = ["Ref", "Fn::GetAtt", "Fn::Join", "Fn::Sub", "Fn::Select", "Fn::Split", "Fn::ImportValue", "Fn::If"]
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.sampled_from(["Port", "60"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6) | st.sampled_from(INTRINSICS), inner, max_size=3)
    ),
    max_leaves=8,
)
PLACES = [
    "Resources", "Parameters", "Parameters.Port", "Parameters.Port.Default", "Resources.Dc1",
    "Resources.Dc1.Type", "Resources.Dc1.DeletionPolicy", "Resources.Dc1.UpdateReplacePolicy",
    PROPERTIES, f"{PROPERTIES}.MonitorName", f"{PROPERTIES}.AggregationPeriod", f"{PROPERTIES}.Tags",
    f"{PROPERTIES}.Probes", f"{PROPERTIES}.Monitor", f"{PROPERTIES}.ServiceToken", PROBE,
    *(f"{PROBE}.{name}" for name in ("SourceArn", "Destination", "Protocol", "DestinationPort", "PacketSize")),
    f"{PROBE}.Tags", f"{PROBE}.State",
]  # fmt: skip


def any_value_at_any_place(
    run: Callable[[dict[str, Any], dict[str, Any]], tuple[int, str, str]],
) -> Callable[..., None]:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(place=st.sampled_from(PLACES), value=values, older=st.booleans())
    def check(place: str, value: Any, older: bool) -> None:
        body = changed(place, value)
        code, out, err = run(stack(), body) if older else run(body, stack())
        assert code in (0, 1, 2)
        if code == 1:
            assert err.startswith("plan: "), err
            assert len(err.splitlines()) == 1, err
            assert not re.match(r"plan: \w+(Error|Exception)\b", err), err  # an internal error's class name
        else:
            assert err == ""
            assert out.startswith("Plan for ")

    return check


@pytest.mark.slow
def test_any_json_value_anywhere_in_a_template_ends_in_0_1_or_2_and_never_a_traceback() -> None:
    with tempfile.TemporaryDirectory() as directory:

        def run(new: dict[str, Any], old: dict[str, Any]) -> tuple[int, str, str]:
            return plan(Path(directory), new, old=old)

        any_value_at_any_place(run)()
