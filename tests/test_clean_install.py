"""What a user meets after `pip install cdk-netmon`: the built wheel in a fresh virtualenv with only
its declared dependencies (no boto3), used from outside this repository.

The dev venv has boto3, so nothing else in the suite could notice the library importing it at synth.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from cdk_netmon import __version__
from tests.support import HANDLER_MODULES

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

USER_APP = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    import cdk_netmon
    from aws_cdk import App, Stack
    from aws_cdk import aws_ec2 as ec2
    from cdk_netmon import MonitorProbe, NetworkMonitor, ProbeProtocol

    out = Path(sys.argv[1])
    app = App(outdir=str(out))
    stack = Stack(app, "Hub", env={"account": "111122223333", "region": "eu-central-1"})
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="P", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    NetworkMonitor(stack, "OnPrem", probes=[
        MonitorProbe(source=subnet, destination="10.0.0.1", protocol=ProbeProtocol.TCP, destination_port=443)
        for subnet in vpc.isolated_subnets])
    app.synth()

    try:
        import cdk_netmon.testing
        testing = "imported"
    except ImportError as error:
        testing = str(error)
    print(json.dumps({
        "version": cdk_netmon.__version__,
        "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore")),
        "lambda_only": sorted(m for m in sys.modules if m.startswith("cdk_netmon.handler.") and
                              m.rsplit(".", 1)[1] in ("lifecycle", "service", "planner")),
        "testing": testing,
    }))
    """
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built by a PEP 517 build from a copy of the sources: setuptools builds in place and
    reuses a checkout's `build/`, which can hold modules since moved or removed."""
    work = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source") / "cdk_netmon"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", "build", "cdk.out", ".local-cloud", "*.egg-info", "__pycache__", ".*_cache"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(work),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = work.glob("cdk_netmon-*.whl")
    packages = {name.split("/")[0] for name in zipfile.ZipFile(built).namelist()}
    assert packages == {"cdk_netmon", f"cdk_netmon-{__version__}.dist-info"}  # no localcloud, tests or examples
    return built


def venv_with(work: Path, requirement: str) -> Path:
    """A fresh virtualenv in `work` with `requirement` (the wheel, perhaps with extras) installed.
    The pins the project tested (requirements-dev.txt) are constraints: what is installed is only
    what the wheel declares, at the versions CI knows."""
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    installed = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--constraint",
            str(ROOT / "requirements-dev.txt"),
            requirement,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    return venv


@pytest.fixture(scope="module")
def clean_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed with its declared dependencies alone."""
    return venv_with(tmp_path_factory.mktemp("clean-install"), str(wheel))


@pytest.mark.slow
def test_the_clean_install_has_no_boto3(clean_venv: Path) -> None:
    listed = subprocess.run(
        [str(clean_venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "cdk-netmon" in names
    assert "aws-cdk-lib" in names
    assert not names & {"boto3", "botocore"}


@pytest.mark.slow
def test_a_user_app_synthesizes_from_outside_the_repository(clean_venv: Path, tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(USER_APP)
    out = tmp_path / "cdk.out"
    env = {**os.environ, "JSII_NODE": str(VENV_BIN / "node"), "PYTHONPATH": ""}
    result = subprocess.run(
        [str(clean_venv / "bin" / "python"), str(app), str(out)],
        cwd=tmp_path,  # not the repository: only the installed wheel can be imported
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["loaded"] == []
    assert report["lambda_only"] == []
    assert "pip install 'cdk-netmon[testing]'" in report["testing"]
    assert report["version"] == "0.3.0"

    template = json.loads((out / "Hub.template.json").read_text())
    [monitor] = [r for r in template["Resources"].values() if r["Type"] == "Custom::NetworkMonitor"]
    assert all("Fn::Join" in p["SourceArn"] for p in monitor["Properties"]["Probes"].values())  # the VPC's subnets
    [asset] = [d for d in out.glob("asset.*") if (d / "handler").is_dir()]
    files = sorted(str(p.relative_to(asset)) for p in asset.rglob("*") if p.is_file())
    assert files == [f"handler/{name}" for name in HANDLER_MODULES]


@pytest.mark.slow
def test_the_wheel_ships_the_registry_schema_for_cfn_lint(wheel: Path) -> None:
    """`cdk_netmon.testing.REGISTRY_SCHEMAS` points into the installed package: the schema is package data."""
    name = "cdk_netmon/testing/schemas/aws-networkmonitor-probe.json"
    shipped = zipfile.ZipFile(wheel).read(name)
    assert shipped == (ROOT / name).read_bytes()


def test_importing_the_library_needs_neither_boto3_nor_botocore() -> None:
    """The check from the issue, in the dev venv: boto3 and botocore made unimportable."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['boto3'] = sys.modules['botocore'] = None; import cdk_netmon; print('ok')",
        ],
        env={**os.environ, "JSII_NODE": str(VENV_BIN / "node")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


@pytest.mark.slow
def test_the_readmes_snapshot_test_runs_as_the_readme_says(wheel: Path, tmp_path: Path) -> None:
    """`pip install "cdk-netmon[snapshot]"` (with the kit) gives what the README's snapshot test
    needs; its first `pytest --snapshot-update` writes the snapshot, and `pytest` then passes."""
    venv = venv_with(tmp_path / "user", f"{wheel}[testing,snapshot]")
    [block] = [
        b
        for b in re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)
        if b.startswith("# tests/test_snapshot.py")
    ]
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_snapshot.py").write_text(block)
    env = {**os.environ, "JSII_NODE": str(VENV_BIN / "node"), "PYTHONPATH": ""}

    def pytest_run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments],
            cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip

    first = pytest_run("--snapshot-update")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "1 snapshot generated" in first.stdout
    assert list((project / "tests" / "__snapshots__").glob("*.ambr"))
    again = pytest_run()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 snapshot passed" in again.stdout
