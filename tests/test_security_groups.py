"""The security group the service leaves in each VPC, and the handler's clean-up of it.

Per monitor and VPC the service makes a group described `Created By Amazon CloudWatch Network
Monitor for <monitor>` and keeps it after the probes and the monitor are gone, so a stack that holds
its VPC could not be destroyed (hashicorp/terraform-provider-aws deletes it by hand in its
acceptance tests). The emulator makes that footprint in moto's EC2, with a network interface per
probe that outlives its probe; moto's EC2 refuses, as AWS does, to delete a group still in use and a
VPC that still holds a group. Every story runs with the handler's own policy enforced, by the
reference-driven IAM of the emulator and of its EC2.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from cdk_netmon.testing import DeployFailedError, LocalNetworkMonitor
from cdk_netmon.testing.kit import service_security_groups
from tests.offline import driver, handler_policy, offline, service_groups, template, vpc_with_subnets

pytestmark = pytest.mark.slow  # each story deploys through the emulator and its EC2: about a second


def icmp(source: str, destination: str) -> dict[str, Any]:
    return {"sourceArn": source, "destination": destination, "protocol": "ICMP"}


def monitor(name: str, *probes: dict[str, Any]) -> dict[str, Any]:
    return {"monitorName": name, "aggregationPeriod": 60, "probes": list(probes)}


def described(vpc: str, name: str) -> str:
    return f"{vpc}: Created By Amazon CloudWatch Network Monitor for {name}"


def delete_vpc(emulator: LocalNetworkMonitor, vpc: str) -> None:
    """What CloudFormation does after the monitor: delete the VPC's subnets, then the VPC."""
    assert emulator.ec2 is not None
    ec2 = emulator.ec2.client()
    for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]:
        ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    ec2.delete_vpc(VpcId=vpc)


def test_destroying_a_stack_with_its_vpc_leaves_no_monitor_and_no_group() -> None:
    with offline() as emulator:
        vpc, (a, b) = vpc_with_subnets(emulator)
        stack = driver(emulator)
        stack.deploy(template(monitor("onprem", icmp(a, "10.0.0.1"), icmp(b, "10.0.0.2"))))
        assert set(service_groups(emulator)) == {described(vpc, "onprem")}
        assert {p["vpcId"] for p in emulator.snapshot()["onprem"]["probes"]} == {vpc}

        stack.destroy()
        assert emulator.snapshot() == {}
        assert service_groups(emulator) == {}
        delete_vpc(emulator, vpc)  # the stack's VPC goes after the monitor, and can


def test_without_the_clean_up_the_vpc_cannot_be_deleted() -> None:
    """The control: the monitor deleted by another route leaves its group, and EC2 refuses the VPC."""
    with offline() as emulator:
        vpc, (a, _) = vpc_with_subnets(emulator)
        stack = driver(emulator)
        stack.deploy(template(monitor("onprem", icmp(a, "10.0.0.1"))))
        emulator.out_of_band().drift_delete_monitor("onprem")
        emulator.clock.advance(600)
        emulator.settle()
        with pytest.raises(ClientError, match="DependencyViolation"):
            delete_vpc(emulator, vpc)
        assert set(service_groups(emulator)) == {described(vpc, "onprem")}


def test_probes_moved_from_one_vpc_to_another_leave_only_the_new_vpcs_group() -> None:
    with offline() as emulator:
        vpc_a, (a1, a2) = vpc_with_subnets(emulator)
        vpc_b, (b1, b2) = vpc_with_subnets(emulator)
        stack = driver(emulator)
        stack.deploy(template(monitor("onprem", icmp(a1, "10.0.0.1"), icmp(a2, "10.0.0.2"))))
        stack.deploy(template(monitor("onprem", icmp(b1, "10.0.0.1"), icmp(b2, "10.0.0.2"))))
        assert set(service_groups(emulator)) == {described(vpc_b, "onprem")}
        delete_vpc(emulator, vpc_a)

        stack.deploy(template(monitor("onprem", icmp(b1, "10.0.0.1"))))  # one probe less: B still holds one
        assert set(service_groups(emulator)) == {described(vpc_b, "onprem")}


def test_groups_of_another_description_or_monitor_are_left_alone() -> None:
    with offline() as emulator:
        vpc, (a, b) = vpc_with_subnets(emulator)
        assert emulator.ec2 is not None
        admin = emulator.ec2.client()
        kept = {
            admin.create_security_group(GroupName=name, Description=text, VpcId=vpc)["GroupId"]
            for name, text in (
                ("app", "the application's own group"),
                ("netmon-other", "Created By Amazon CloudWatch Network Monitor for onprem-2"),
            )
        }
        stack = driver(emulator)
        stack.deploy(template(monitor("onprem", icmp(a, "10.0.0.1")), monitor("other", icmp(b, "10.0.0.2"))))
        stack.deploy(template(monitor("other", icmp(b, "10.0.0.2")), logical_ids=["Monitor1"]))  # onprem goes
        assert emulator.snapshot().keys() == {"other"}
        assert set(service_groups(emulator)) == {described(vpc, "other"), described(vpc, "onprem-2")}
        stack.destroy()
        left = {g["GroupId"] for g in admin.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"}
        assert left == kept


def test_a_group_still_in_use_is_tried_again_until_its_interfaces_are_gone() -> None:
    with offline(interface_seconds=120) as emulator:
        vpc, (a, _) = vpc_with_subnets(emulator)
        stack = driver(emulator)
        stack.deploy(template(monitor("onprem", icmp(a, "10.0.0.1"))))
        assert emulator.ec2 is not None
        before = len(emulator.ec2.calls)
        stack.destroy()
        tries = emulator.ec2.calls[before:].count("DeleteSecurityGroup")
        assert tries > 1  # refused (DependencyViolation) while the probe's interface lingered
        assert service_groups(emulator) == {}
        delete_vpc(emulator, vpc)


def test_a_group_in_use_past_the_deadline_fails_the_delete_naming_it() -> None:
    with offline(interface_seconds=4 * 3600) as emulator:
        vpc, (a, _) = vpc_with_subnets(emulator)
        stack = driver(emulator)
        stack.deploy(template(monitor("onprem", icmp(a, "10.0.0.1"))))
        [group] = service_groups(emulator).values()
        with pytest.raises(DeployFailedError) as failed:
            stack.destroy()
        reason = failed.value.reason
        assert f"security group {group} in {vpc}" in reason
        assert "still in use (DependencyViolation)" in reason
        assert len(reason) < 400
        assert emulator.snapshot() == {}  # the monitor is gone; only the group waits


def test_retain_keeps_the_monitor_and_its_group() -> None:
    with offline() as emulator:
        vpc, (a, _) = vpc_with_subnets(emulator)
        stack = driver(emulator)
        stack.deploy(template(monitor("onprem", icmp(a, "10.0.0.1")), retain=True))
        stack.destroy()
        assert emulator.snapshot().keys() == {"onprem"}
        assert set(service_groups(emulator)) == {described(vpc, "onprem")}


def test_the_handler_may_delete_only_security_groups_of_its_account_and_region() -> None:
    statements = handler_policy()["Properties"]["PolicyDocument"]["Statement"]
    [delete] = [s for s in statements if s["Action"] == "ec2:DeleteSecurityGroup"]
    assert delete["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ec2:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":security-group/*",
            ],
        ]
    }


def test_without_delete_security_group_in_the_policy_the_destroy_is_refused() -> None:
    """The control for the EC2 half of the policy: the emulator's EC2 authorizes the handler's calls."""
    policy = handler_policy()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if s["Action"] != "ec2:DeleteSecurityGroup"]
    with offline() as emulator:
        _, (a, _) = vpc_with_subnets(emulator)
        stack = driver(emulator)
        stack.deploy(template(monitor("onprem", icmp(a, "10.0.0.1")), policy=policy))
        with pytest.raises(DeployFailedError, match=r"UnauthorizedOperation.*ec2:DeleteSecurityGroup on resource"):
            stack.destroy()


# --- the service's tag: where any of the monitor's groups carries it, it decides ---------------------


def described_ids(emulator: LocalNetworkMonitor) -> set[str]:
    """Every group of the service's description, the service's or not."""
    return {group["GroupId"] for group in service_security_groups(emulator)}


def look_alike(emulator: LocalNetworkMonitor, vpc: str, name: str) -> str:
    """A group a user made in the monitor's VPC with the service's description, and no tag."""
    assert emulator.ec2 is not None
    description = f"Created By Amazon CloudWatch Network Monitor for {name}"
    made = emulator.ec2.client().create_security_group(GroupName="mine", Description=description, VpcId=vpc)
    return str(made["GroupId"])


def test_a_look_alike_group_without_the_services_tag_is_left_alone_on_destroy_and_on_update() -> None:
    """The emulated service tags its groups `ManagedByCloudWatchNetworkMonitor=true`, the tag its
    service-linked role's policy names (unconfirmed of the real service): an untagged group of the
    same description in a VPC of the monitor is a user's, and stays."""
    with offline() as emulator:
        vpc_a, (a1, _) = vpc_with_subnets(emulator)
        vpc_b, (b1, _) = vpc_with_subnets(emulator)
        stack = driver(emulator)
        stack.deploy(template(monitor("onprem", icmp(a1, "10.0.0.1"), icmp(b1, "10.0.0.2"))))
        services = service_groups(emulator)
        mine_a, mine_b = look_alike(emulator, vpc_a, "onprem"), look_alike(emulator, vpc_b, "onprem")

        stack.deploy(template(monitor("onprem", icmp(b1, "10.0.0.2"))))  # vpc_a holds no probe any more
        assert described_ids(emulator) == {mine_a, mine_b, services[described(vpc_b, "onprem")]}

        stack.destroy()
        assert described_ids(emulator) == {mine_a, mine_b}


def test_where_no_group_carries_the_tag_the_description_decides() -> None:
    """Should the service not tag its groups after all, the clean-up works as before the tag."""
    with offline() as emulator:
        vpc, (a, _) = vpc_with_subnets(emulator)
        stack = driver(emulator)
        stack.deploy(template(monitor("onprem", icmp(a, "10.0.0.1"))))
        assert emulator.ec2 is not None
        ec2 = emulator.ec2.client()
        group = service_groups(emulator)[described(vpc, "onprem")]
        ec2.delete_tags(Resources=[group], Tags=[{"Key": "ManagedByCloudWatchNetworkMonitor"}])
        assert ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0].get("Tags", []) == []
        stack.destroy()
        assert service_groups(emulator) == {}
        delete_vpc(emulator, vpc)
