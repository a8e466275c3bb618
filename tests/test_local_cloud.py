"""End to end in a local cloud: the real CDK CLI deploys a stack to ministack, whose CloudFormation,
Step Functions and Lambda run the Provider framework's Node.js code and the handler's asset exactly
as synthesized; the handler drives the Network Monitor emulator. One story: create, update, a
redeploy without changes, destroy, with the emulator's state checked after each step, and after the
destroy no security group of the service left in ministack's EC2 and the stack's VPC deleted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from cdk_netmon.testing import declared_monitors
from cdk_netmon.testing.emulator import WRITE_OPERATIONS
from localcloud import ACCOUNT, REGION, LocalCloud

ROOT = Path(__file__).resolve().parent.parent
STACK = "NetmonLocalCloud"

pytestmark = [pytest.mark.local_cloud, pytest.mark.cli, pytest.mark.slow]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with LocalCloud(ROOT, workdir=ROOT / ".local-cloud" / "test") as running:
        running.cdk("bootstrap", f"aws://{ACCOUNT}/{REGION}", timeout=300)
        yield running


def deploy(cloud: LocalCloud, step: int, out: Path) -> dict[str, Any]:
    cloud.cdk(
        "deploy", STACK, "--app", "python -m tests.local_cloud_app", "-c", f"step={step}",
        "--output", str(out), "--require-approval", "never", timeout=600,
    )  # fmt: skip
    return dict(json.loads((out / f"{STACK}.template.json").read_text()))


def assert_matches(cloud: LocalCloud, template: dict[str, Any]) -> dict[str, Any]:
    """The emulator holds exactly the declared monitor, settled, and returns it."""
    [declared] = declared_monitors(template).values()
    [(name, live)] = cloud.monitors().items()
    assert name == declared["monitorName"]
    assert live["state"] == "ACTIVE"
    assert live["aggregationPeriod"] == declared["aggregationPeriod"]

    def probes(items: list[dict[str, Any]], state: str) -> list[tuple[Any, ...]]:
        return sorted((p["protocol"], p["destination"], p.get("destinationPort"), p.get("state", state)) for p in items)

    assert probes(live["probes"], "?") == probes(declared["probes"], "ACTIVE")
    assert len({p["sourceArn"] for p in live["probes"]}) == len({p["sourceArn"] for p in declared["probes"]}) == 2
    return dict(live)


def alarmed_probe_ids(cloud: LocalCloud) -> set[str]:
    """The probe ids the alarms' dimensions received through Fn::GetAtt of the monitor's Data."""
    client = boto3.client("cloudwatch", endpoint_url=cloud.endpoint, region_name=REGION,
                          aws_access_key_id=ACCOUNT, aws_secret_access_key="local-cloud")  # fmt: skip
    return {
        dimension["Value"]
        for alarm in client.describe_alarms()["MetricAlarms"]
        for dimension in alarm["Dimensions"]
        if dimension["Name"] == "Probe"
    }


def test_create_update_redeploy_and_destroy_through_the_cdk_cli(cloud: LocalCloud, tmp_path: Path) -> None:
    created = assert_matches(cloud, deploy(cloud, 1, tmp_path / "v1"))
    assert alarmed_probe_ids(cloud) == {p["probeId"] for p in created["probes"]}

    updated_template = deploy(cloud, 2, tmp_path / "v2")
    updated = assert_matches(cloud, updated_template)
    enabled = {p["probeId"] for p in updated["probes"] if p["state"] == "ACTIVE"}
    assert alarmed_probe_ids(cloud) == enabled

    calls = len(cloud.emulator_calls())
    deploy(cloud, 2, tmp_path / "v2-again")
    assert [c for c in cloud.emulator_calls()[calls:] if c in WRITE_OPERATIONS] == []
    assert_matches(cloud, updated_template)

    [vpc] = {p["vpcId"] for p in updated["probes"]}  # the stack's VPC, in ministack's EC2
    assert set(service_groups(cloud)) == {vpc}
    cloud.cdk("destroy", STACK, "--app", "python -m tests.local_cloud_app", "-c", "step=2", "--force", timeout=300)
    assert cloud.monitors() == {}
    assert service_groups(cloud) == {}  # the handler deleted it, so CloudFormation could delete the VPC
    assert vpc not in {v["VpcId"] for v in cloud.ec2().describe_vpcs()["Vpcs"]}


def service_groups(cloud: LocalCloud) -> dict[str, str]:
    """The security groups the service made in ministack's EC2: VPC id -> description."""
    return {
        g["VpcId"]: g["Description"]
        for g in cloud.ec2().describe_security_groups()["SecurityGroups"]
        if g["Description"].startswith("Created By Amazon CloudWatch Network Monitor for ")
    }
