"""What a user meets after `pip install cdk-netmon`: the built wheel in a fresh virtualenv with only
its declared dependencies (no boto3), used from outside this repository.

The dev venv has boto3, so nothing else in the suite could notice the library importing it at synth.
"""

from __future__ import annotations

import json
import os
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
                              m.rsplit(".", 1)[1] in ("lifecycle", "service", "plan")),
        "testing": testing,
    }))
    """
)


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built by a PEP 517 build, installed with its declared dependencies alone."""
    work = tmp_path_factory.mktemp("clean-install")
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
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = work.glob("cdk_netmon-*.whl")
    packages = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert packages == {"cdk_netmon", f"cdk_netmon-{__version__}.dist-info"}  # no localcloud, tests or examples
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # The pins the project tested (requirements-dev.txt) as constraints: what is installed is only
    # what the wheel declares, at the versions CI knows.
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
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    return venv


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
