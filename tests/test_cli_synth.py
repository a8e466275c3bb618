"""The README's main job: the real CDK CLI synthesizes the example app from cdk.json, on the Node.js
the project installs (so jsii prints no end-of-life banner), and cfn-lint finds no error in it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import run_cdk

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"

pytestmark = [pytest.mark.cli, pytest.mark.slow]


@pytest.fixture(scope="module")
def cloud_assembly(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("cdk.out")
    code, output = run_cdk("synth", "--quiet", "--output", str(out))
    assert code == 0, output
    return out, output


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
