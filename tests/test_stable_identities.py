"""Templates people can snapshot and review: the same in every process, and in-place changes seen as such.

Every construct derived from a probe takes its identity from the probe's key: its name, or a key
generated from what is literal of its protocol, destination and source, never from a token's text
(jsii numbers tokens in the order they are made) nor from what changes in place. The app is
`tests/identity_app.py`: token ports and destinations, ISubnet sources, alarms and a dashboard.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from tests.identity_app import build
from tests.support import cli_env, resources_of_type, run_cdk, template_json

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"


def synthesized(**context: str) -> dict[str, Any]:
    return template_json(build(App(context=context)))


def alarm_ids(template: dict[str, Any]) -> set[str]:
    return set(resources_of_type(template, "AWS::CloudWatch::Alarm"))


def in_a_process_of_its_own(tmp_path: Path, name: str, *context: str) -> bytes:
    out = tmp_path / name
    code = "from aws_cdk import App; from tests.identity_app import build; import sys; " + (
        f"app = App(outdir={str(out)!r}, context=dict(c.split('=') for c in sys.argv[1:])); build(app); app.synth()"
    )
    subprocess.run([sys.executable, "-c", code, *context], cwd=ROOT, check=True, timeout=300)
    return (out / "Identity.template.json").read_bytes()


@pytest.mark.slow
def test_two_synths_in_separate_processes_are_byte_identical(tmp_path: Path) -> None:
    first = in_a_process_of_its_own(tmp_path, "first")
    second = in_a_process_of_its_own(tmp_path, "second")
    assert first == second
    assert len(alarm_ids(json.loads(first))) == 12  # 4 probes x packet loss, health, round-trip time


def test_unrelated_tokens_made_earlier_change_no_logical_id() -> None:
    before, after = synthesized(), synthesized(extra_tokens="3")
    assert alarm_ids(before) == alarm_ids(after)
    assert set(before["Resources"]) == set(after["Resources"])
    assert before["Resources"]["OnPrem91B823E8"]["Properties"]["Probes"].keys() == (
        after["Resources"]["OnPrem91B823E8"]["Properties"]["Probes"].keys()
    )


@pytest.mark.parametrize("change", [{"port": "8443"}, {"packet_size": "1500"}, {"tag": "2"}], ids=str)
def test_an_in_place_change_of_a_probe_keeps_every_logical_id(change: dict[str, str]) -> None:
    before, after = synthesized(), synthesized(**change)
    assert before != after
    assert set(before["Resources"]) == set(after["Resources"])


@pytest.mark.slow
def test_pausing_a_probe_removes_only_its_alarms_and_resuming_brings_the_same_ones_back() -> None:
    running, paused = alarm_ids(synthesized()), alarm_ids(synthesized(paused="true"))
    assert paused < running
    assert len(running - paused) == 3
    assert alarm_ids(synthesized(paused="false")) == running


def test_probes_alike_in_all_that_is_literal_are_told_apart_in_declared_order() -> None:
    probes = synthesized()["Resources"]["OnPrem91B823E8"]["Properties"]["Probes"]
    keys = list(probes)
    assert keys[0] == "dc1-https"
    # The two probes to the deploy-time destination differ in source, so in their keys' hash.
    assert keys[1].startswith("tcp-deploy-time-")
    assert keys[2].startswith("tcp-deploy-time-")
    assert keys[1] != keys[2]
    assert keys[3].startswith("icmp-10-0-0-2-")


@pytest.mark.cli
@pytest.mark.slow
def test_cdk_diff_of_a_port_change_shows_the_port_and_replaces_nothing(tmp_path: Path) -> None:
    """The real CDK CLI, offline: `cdk diff --template` of the app with one probe's port changed."""
    # Credentials that reach nothing: `cdk diff --template` compares locally.
    env = cli_env(
        CDK_DISABLE_VERSION_CHECK="true",
        AWS_ACCESS_KEY_ID="offline",
        AWS_SECRET_ACCESS_KEY="offline",
        AWS_REGION="eu-west-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    old = tmp_path / "old"
    app = f"{sys.executable} -m tests.identity_app"

    def cdk(*arguments: str) -> str:
        code, output = run_cdk(*arguments, "--app", app, env=env)
        assert code == 0, output
        return output

    cdk("synth", "--quiet", "--output", str(old))
    diff = cdk("diff", "-c", "port=8443", "--template", str(old / "Identity.template.json"), "Identity")
    lines = [line.strip() for line in diff.splitlines()]
    assert not [line for line in lines if line.startswith(("[-] AWS::", "[+] AWS::", "[-] Custom::", "[+] Custom::"))]
    assert not any("replace" in line.lower() for line in lines)
    at = lines.index("└─ [~] .DestinationPort:")
    assert lines[at + 1 : at + 3] == ["├─ [-] 443", "└─ [+] 8443"]
    assert "[~] .dc1-https:" in " ".join(lines[at - 2 : at])
