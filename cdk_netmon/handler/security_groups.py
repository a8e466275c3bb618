"""The security groups Network Monitor leaves in a VPC, found and removed for the monitors the handler owns.

For each monitor and VPC its probes run in, the service creates a security group described
`Created By Amazon CloudWatch Network Monitor for <monitor name>`, and leaves it there after the
probes and the monitor are gone; a VPC that still holds it cannot be deleted (DependencyViolation),
so `cdk destroy` of a stack with its VPC would fail. hashicorp/terraform-provider-aws's acceptance
tests find that group by its description and VPC and delete it by hand
(internal/service/networkmonitor/probe_test.go, `testAccCheckProbeDeleteSecurityGroup`). The
handler does the same: once its monitor is deleted, every such group of the monitor; and whenever a
VPC no longer holds any of the monitor's probes, that VPC's group. Never a group of another
description, nor one of a VPC where the monitor still has probes.

The service-linked role's policy (CloudWatchNetworkMonitorServiceRolePolicy) may only delete groups
tagged `ManagedByCloudWatchNetworkMonitor=true`, which suggests that the service tags its groups;
that is unconfirmed. So the tag decides where it is found: if any of the monitor's groups carries
it, only the tagged ones are the service's, and an untagged group of the same description (a
look-alike a user made) is left alone. Where none carries it, the description decides.

While the service is still removing the probes' network interfaces, EC2 refuses to delete the group
(DependencyViolation); the handler tries again on the next poll.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from .clients import Ec2Client
from .live import LiveMonitor

DESCRIPTION_PREFIX = "Created By Amazon CloudWatch Network Monitor for "
MANAGED_TAG = ("ManagedByCloudWatchNetworkMonitor", "true")
"""The tag the service-linked role's policy names for the groups and interfaces it manages."""

log = logging.getLogger(__name__)


def description(monitor_name: str) -> str:
    """The description the service gives the security group of `monitor_name` in each VPC."""
    return f"{DESCRIPTION_PREFIX}{monitor_name}"


@dataclass(frozen=True)
class Group:
    group_id: str
    vpc_id: str

    def __str__(self) -> str:
        return f"{self.group_id} in {self.vpc_id}"


def probe_vpcs(live: LiveMonitor | None) -> frozenset[str] | None:
    """The VPCs the live monitor's probes run in; None when a probe does not say (GetMonitor's
    `vpcId` is optional in the service model), since its group must then be left alone."""
    if live is None:
        return frozenset()
    vpcs = [p.vpc_id for p in live.probes]
    if any(vpc is None for vpc in vpcs):
        return None
    return frozenset(vpc for vpc in vpcs if vpc is not None)


def leftovers(groups: Iterable[Group], in_use: frozenset[str]) -> list[Group]:
    """The groups of VPCs that hold none of the monitor's probes: what the handler removes."""
    return sorted((g for g in groups if g.vpc_id not in in_use), key=lambda g: (g.vpc_id, g.group_id))


class SecurityGroups:
    """The monitor's security groups, through an EC2 client (made when first needed: most polls
    never reach EC2, and an EC2 client is slow to make in a cold Lambda)."""

    def __init__(self, client: Ec2Client) -> None:
        self.client = client

    def of_monitor(self, monitor_name: str) -> list[Group]:
        """Every group the service made for `monitor_name`, in any VPC of this account and region:
        those of its description, and of those only the ones tagged `MANAGED_TAG` if any is.

        The description is also compared here, since not every EC2 honours the filter (ministack's
        returns every group)."""
        wanted = description(monitor_name)
        pages = self.client.get_paginator("describe_security_groups").paginate(
            Filters=[{"Name": "description", "Values": [wanted]}]
        )
        described = [group for page in pages for group in page.get("SecurityGroups", [])]
        described = [group for group in described if group.get("Description") == wanted]
        tagged = [group for group in described if _managed(group)]
        return [Group(group["GroupId"], group.get("VpcId", "")) for group in tagged or described]

    def delete(self, groups: Sequence[Group]) -> list[Group]:
        """Delete each group; those still in use by network interfaces on their way out are returned."""
        in_use = []
        for group in groups:
            log.info("delete_security_group %s", group)
            try:
                self.client.delete_security_group(GroupId=group.group_id)
            except ClientError as error:
                code = str(error.response.get("Error", {}).get("Code", ""))
                if code == "DependencyViolation":
                    in_use.append(group)
                elif code not in ("InvalidGroup.NotFound", "InvalidGroupId.NotFound"):
                    raise
        return in_use


def _managed(group: Mapping[str, Any]) -> bool:
    return any((tag.get("Key"), tag.get("Value")) == MANAGED_TAG for tag in group.get("Tags") or ())
