"""End to end in a local cloud, for CloudFormation's own Network Monitor types: the real CDK CLI
deploys a hand-written native pair (tests/local_cloud_native_app.py) to ministack, whose provisioners
for AWS::NetworkMonitor::Monitor and ::Probe (localcloud/launch_ministack.py) drive the emulator. One
story: create, a port changed in place, a source moved (the probe replaced), destroy, with the
emulator checked after each step; after the destroy the service's security group is still in the VPC
(nothing removes it), and the VPC deletes once it is removed by hand, as Terraform's tests do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud import ACCOUNT, REGION, LocalCloud

NAME = "netmon-native"  # the app's monitor (tests/local_cloud_native_app.py, which runs when imported)

ROOT = Path(__file__).resolve().parent.parent
STACK = "NetmonNative"
APP = "python -m tests.local_cloud_native_app"

pytestmark = [pytest.mark.local_cloud, pytest.mark.cli, pytest.mark.slow]


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(ROOT, workdir=ROOT / ".local-cloud" / "test") as running:
        running.cdk("bootstrap", f"aws://{ACCOUNT}/{REGION}", timeout=300)
        yield running


def deploy(cloud: LocalCloud, step: int, subnets: str, out: Path) -> dict[str, Any]:
    cloud.cdk(
        "deploy", STACK, "--app", APP, "-c", f"step={step}", "-c", f"subnets={subnets}",
        "--output", str(out), "--require-approval", "never", timeout=600,
    )  # fmt: skip
    return dict(json.loads((out / f"{STACK}.template.json").read_text()))


def probes(cloud: LocalCloud) -> dict[str, dict[str, Any]]:
    """The live probes by destination, once the monitor has settled."""
    [(name, monitor)] = cloud.monitors().items()
    assert (name, monitor["state"], monitor["aggregationPeriod"]) == (NAME, "ACTIVE", 30)
    assert all(p["state"] == "ACTIVE" for p in monitor["probes"])
    return {p["destination"]: p for p in monitor["probes"]}


def alarmed_probe(cloud: LocalCloud) -> str:
    client = boto3.client("cloudwatch", endpoint_url=cloud.endpoint, region_name=REGION,
                          aws_access_key_id=ACCOUNT, aws_secret_access_key="local-cloud")  # fmt: skip
    [alarm] = [a for a in client.describe_alarms()["MetricAlarms"] if a["Namespace"] == "AWS/NetworkMonitor"]
    return str(next(d["Value"] for d in alarm["Dimensions"] if d["Name"] == "Probe"))


def stack_output(cloud: LocalCloud, name: str) -> str:
    client = boto3.client("cloudformation", endpoint_url=cloud.endpoint, region_name=REGION,
                          aws_access_key_id=ACCOUNT, aws_secret_access_key="local-cloud")  # fmt: skip
    [stack] = client.describe_stacks(StackName=STACK)["Stacks"]
    return str(next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == name))


def test_a_native_pair_is_created_updated_in_place_replaced_and_destroyed(cloud: LocalCloud, tmp_path: Path) -> None:
    ec2 = cloud.ec2()
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    a, b = (ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2))

    deploy(cloud, 1, f"{a},{b}", tmp_path / "v1")
    created = probes(cloud)
    web, ping = created["10.0.0.1"], created["10.0.0.2"]
    assert (web["protocol"], web["destinationPort"], web["vpcId"]) == ("TCP", 443, vpc)
    assert alarmed_probe(cloud) == ping["probeId"]  # Fn::GetAtt ProbeId
    assert stack_output(cloud, "PingRef") == f"{NAME}|{ping['probeId']}"  # Ref

    deploy(cloud, 2, f"{a},{b}", tmp_path / "v2")
    changed = probes(cloud)
    assert (changed["10.0.0.1"]["probeId"], changed["10.0.0.1"]["destinationPort"]) == (web["probeId"], 8443)
    assert changed["10.0.0.2"]["probeId"] == ping["probeId"]

    deploy(cloud, 3, f"{a},{b}", tmp_path / "v3")
    moved = probes(cloud)
    assert len(moved) == 2  # the old probe went in the clean-up
    assert moved["10.0.0.2"]["probeId"] != ping["probeId"]
    assert moved["10.0.0.2"]["sourceArn"].endswith(f"/{b}")
    assert moved["10.0.0.1"]["probeId"] == web["probeId"]
    assert alarmed_probe(cloud) == moved["10.0.0.2"]["probeId"]

    cloud.cdk("destroy", STACK, "--app", APP, "-c", "step=3", "-c", f"subnets={a},{b}", "--force", timeout=300)
    assert cloud.monitors() == {}
    [group] = [g for g, v in cloud.service_groups().items() if v == vpc]  # nothing removes it
    ec2.delete_subnet(SubnetId=a)
    ec2.delete_subnet(SubnetId=b)
    with pytest.raises(Exception, match="DependencyViolation"):
        ec2.delete_vpc(VpcId=vpc)
    ec2.delete_security_group(GroupId=group)
    ec2.delete_vpc(VpcId=vpc)
