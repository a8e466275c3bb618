"""The emulated service's footprint in EC2, in the caller's account and region.

Network Monitor places its probes in the source subnets: per monitor and VPC, a security group
described `Created By Amazon CloudWatch Network Monitor for <monitor name>` (the description
hashicorp/terraform-provider-aws's acceptance tests find it by, internal/service/networkmonitor/
probe_test.go), and per probe a network interface in its subnet that uses the group. When a probe
goes, the service-linked role removes its interface (here `Settings.interface_seconds` after the
probe); the group stays, after the monitor too. That is what the handler must clean up, so this
module writes it on its own, apart from `cdk_netmon/handler/security_groups.py`.

Whether the service tags the group and the interfaces `ManagedByCloudWatchNetworkMonitor=true`
(the tag its service-linked role's policy names) is not confirmed; they are tagged here, which is
what makes the caller's `ec2:CreateTags` grant matter, and the handler must not rely on the tag.

The EC2 is any EC2 endpoint: `cdk_netmon.testing.ec2.LocalEc2` (moto) offline, ministack's in
the local cloud. A subnet that EC2 does not hold (a template's placeholder id, a subnet imported by
id into an offline test) is taken to be in a VPC of its own account and region, made on first use
(tagged `cdk-netmon:stand-in`): create the VPCs and subnets in EC2 to say which VPC each is in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

DESCRIPTION = "Created By Amazon CloudWatch Network Monitor for {monitor}"
MANAGED_TAG = {"Key": "ManagedByCloudWatchNetworkMonitor", "Value": "true"}
STAND_IN_TAG = {"Key": "cdk-netmon:stand-in", "Value": "subnets EC2 does not hold"}
STAND_IN_CIDR = "10.255.0.0/16"
_UNKNOWN_SUBNET = ("InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed")


@dataclass(frozen=True)
class Attachment:
    """Where a probe is, in EC2."""

    vpc_id: str
    group_id: str
    interface_id: str


@dataclass
class ServiceNetwork:
    """One account and region's EC2, as the service uses it."""

    endpoint_url: str
    account: str
    region: str
    stand_ins: dict[str, str] = field(default_factory=dict)
    """Subnet ids EC2 does not hold -> the stand-in subnet that plays each."""
    _client: Any = None
    _stand_in_vpc: str | None = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            from cdk_netmon.testing.ec2 import add_principal

            client = boto3.client(
                "ec2",
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id=self.account,
                aws_secret_access_key="network-monitor",
            )
            self._client = add_principal(client, "service")
        return self._client

    def vpc_of(self, subnet_id: str) -> str:
        """The VPC of a subnet (of a stand-in, for a subnet EC2 does not hold)."""
        return str(self._subnet(subnet_id)["VpcId"])

    def group_of(self, monitor_name: str, vpc_id: str) -> str | None:
        """The monitor's security group in `vpc_id`, if the service made one."""
        wanted = DESCRIPTION.format(monitor=monitor_name)
        groups = self.client.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
        for group in groups["SecurityGroups"]:
            if group.get("Description") == wanted and group.get("VpcId") == vpc_id:
                return str(group["GroupId"])
        return None

    def attach(self, monitor_name: str, subnet_id: str) -> Attachment:
        """A probe of `monitor_name` in `subnet_id`: the monitor's group in that VPC (made on
        first use) and a network interface of the probe's own."""
        subnet = self._subnet(subnet_id)
        vpc_id = str(subnet["VpcId"])
        group_id = self.group_of(monitor_name, vpc_id)
        if group_id is None:
            digest = hashlib.sha256(f"{monitor_name}/{vpc_id}".encode()).hexdigest()[:8]
            group_id = self.client.create_security_group(
                GroupName=f"NetworkMonitor-{monitor_name[:200]}-{digest}",
                Description=DESCRIPTION.format(monitor=monitor_name),
                VpcId=vpc_id,
                TagSpecifications=[{"ResourceType": "security-group", "Tags": [MANAGED_TAG]}],
            )["GroupId"]
        interface = self.client.create_network_interface(
            SubnetId=subnet["SubnetId"],
            Groups=[group_id],
            Description=f"Network Monitor probe of {monitor_name}",
            TagSpecifications=[{"ResourceType": "network-interface", "Tags": [MANAGED_TAG]}],
        )["NetworkInterface"]
        return Attachment(vpc_id, str(group_id), str(interface["NetworkInterfaceId"]))

    def detach(self, interface_id: str) -> None:
        """Remove a probe's network interface, as the service-linked role does after the probe."""
        from botocore.exceptions import ClientError

        try:
            self.client.delete_network_interface(NetworkInterfaceId=interface_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "InvalidNetworkInterfaceID.NotFound":
                raise

    def _subnet(self, subnet_id: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        real = self.stand_ins.get(subnet_id, subnet_id)
        try:
            found = self.client.describe_subnets(SubnetIds=[real])["Subnets"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in _UNKNOWN_SUBNET:
                raise
            found = []
        if found:
            return dict(found[0])
        if self._stand_in_vpc is None:
            self._stand_in_vpc = self.client.create_vpc(
                CidrBlock=STAND_IN_CIDR, TagSpecifications=[{"ResourceType": "vpc", "Tags": [STAND_IN_TAG]}]
            )["Vpc"]["VpcId"]
        octet = len(self.stand_ins)
        stand_in = self.client.create_subnet(
            VpcId=self._stand_in_vpc,
            CidrBlock=f"10.255.{octet}.0/24",
            TagSpecifications=[{"ResourceType": "subnet", "Tags": [STAND_IN_TAG]}],
        )["Subnet"]
        self.stand_ins[subnet_id] = stand_in["SubnetId"]
        return dict(stand_in)
