"""The SDK calls the handler makes, as typed interfaces (aws-cdk's EKS handler has its `EksClient`).

A boto3 client satisfies them; so do the test kit's clients. The handler's IAM policy grants
exactly these calls (and what the service does with the caller's permissions), which a test checks
against botocore's names for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

if TYPE_CHECKING:
    from typing import Unpack


class ProbeChanges(TypedDict, total=False):
    """What UpdateProbe changes of a probe, in botocore's names (its other members, `monitorName` and
    `probeId`, name the probe)."""

    state: str
    destination: str
    destinationPort: int
    protocol: str
    packetSize: int


class NetworkMonitorClient(Protocol):
    """Network Monitor's operations the handler calls, with botocore's parameter names."""

    def get_monitor(self, *, monitorName: str) -> Mapping[str, Any]: ...

    def create_monitor(
        self,
        *,
        monitorName: str,
        aggregationPeriod: int,
        probes: Sequence[Mapping[str, Any]],
        clientToken: str,
        tags: Mapping[str, str] = ...,
    ) -> Mapping[str, Any]: ...

    def update_monitor(self, *, monitorName: str, aggregationPeriod: int) -> Mapping[str, Any]: ...

    def delete_monitor(self, *, monitorName: str) -> Mapping[str, Any]: ...

    def create_probe(self, *, monitorName: str, probe: Mapping[str, Any], clientToken: str) -> Mapping[str, Any]: ...

    def update_probe(self, *, monitorName: str, probeId: str, **changes: Unpack[ProbeChanges]) -> Mapping[str, Any]: ...

    def delete_probe(self, *, monitorName: str, probeId: str) -> Mapping[str, Any]: ...

    def tag_resource(self, *, resourceArn: str, tags: Mapping[str, str]) -> Mapping[str, Any]: ...

    def untag_resource(self, *, resourceArn: str, tagKeys: Sequence[str]) -> Mapping[str, Any]: ...


class Paginator(Protocol):
    def paginate(self, **params: Any) -> Any: ...


class Ec2Client(Protocol):
    """EC2's operations the handler calls: finding and removing the security groups the service
    leaves behind (see `cdk_netmon.handler.security_groups`)."""

    def get_paginator(self, operation_name: str) -> Paginator:
        """Used for describe_security_groups only."""
        ...

    def delete_security_group(self, *, GroupId: str) -> Mapping[str, Any]: ...


NETWORK_MONITOR_CALLS = tuple(
    name for name, member in vars(NetworkMonitorClient).items() if not name.startswith("_") and callable(member)
)
"""boto3's names of the calls, for the policy's test."""
EC2_CALLS = ("describe_security_groups", "delete_security_group")
"""boto3's names of EC2's calls: the paginator's operation, and DeleteSecurityGroup."""
