"""The README's main job: the real CDK CLI synthesizes the example app from cdk.json, on the Node.js
the project installs (so jsii prints no end-of-life banner), and cfn-lint finds no error in it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"


@pytest.fixture(scope="module")
def cloud_assembly(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    if not CDK.exists():
        pytest.fail("the CDK CLI is not installed: run the README's set-up (make test) first")
    out = tmp_path_factory.mktemp("cdk.out")
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": os.pathsep.join([venv_bin, str(CDK.parent), os.environ.get("PATH", "")]),
        "JSII_NODE": shutil.which("node", path=venv_bin) or "node",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
    }
    result = subprocess.run(
        [str(CDK), "synth", "--no-notices", "--quiet", "--output", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return out, result.stdout + result.stderr


def test_synthesizes_the_example_app(cloud_assembly: tuple[Path, str]) -> None:
    out, _ = cloud_assembly
    template = json.loads((out / "NetmonHybridConnectivity.template.json").read_text())
    monitors = [r for r in template["Resources"].values() if r["Type"] == "Custom::NetworkMonitor"]
    assert len(monitors) == 1


def test_runs_on_a_supported_node(cloud_assembly: tuple[Path, str]) -> None:
    _, output = cloud_assembly
    assert "end-of-life" not in output
    assert "not supported" not in output


def test_the_app_configures_every_feature_flag_as_cdk_init_would(cloud_assembly: tuple[Path, str]) -> None:
    _, output = cloud_assembly
    assert "feature flags" not in output


def test_cfn_lint_finds_no_error(cloud_assembly: tuple[Path, str]) -> None:
    out, _ = cloud_assembly
    templates = sorted(str(p) for p in out.glob("*.template.json"))
    assert templates
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "json", *templates],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    findings = json.loads(result.stdout or "[]")
    errors = [f for f in findings if f["Level"] == "Error"]
    assert errors == [], json.dumps(errors, indent=1)
