"""The emulated service's resources: monitors and probes, and how their states follow from time."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Probe:
    arn: str
    probe_id: str
    source_arn: str
    destination: str
    protocol: str
    destination_port: int | None
    packet_size: int
    tags: dict[str, str]
    created_at: float
    modified_at: float
    settled_at: float
    paused: bool = False
    error: bool = False
    deleting_until: float | None = None
    vpc_id: str = ""
    """The VPC of the probe's subnet, in EC2."""
    interface_id: str | None = None
    """The probe's network interface, in EC2."""

    @property
    def family(self) -> str:
        return family_of(self.destination)

    def state(self, now: float) -> str:
        return lifecycle_state(self, now, settled="INACTIVE" if self.paused else "ACTIVE")

    def describe(self, now: float) -> dict[str, Any]:
        body: dict[str, Any] = {
            "probeId": self.probe_id,
            "probeArn": self.arn,
            "sourceArn": self.source_arn,
            "destination": self.destination,
            "protocol": self.protocol,
            "packetSize": self.packet_size,
            "addressFamily": self.family,
            "vpcId": self.vpc_id,
            "state": self.state(now),
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "tags": dict(self.tags),
        }
        if self.destination_port is not None:
            body["destinationPort"] = self.destination_port
        return body


@dataclass
class Monitor:
    arn: str
    name: str
    aggregation_period: int
    tags: dict[str, str]
    created_at: float
    modified_at: float
    settled_at: float
    probes: dict[str, Probe] = field(default_factory=dict)
    error: bool = False
    deleting_until: float | None = None

    def state(self, now: float) -> str:
        return lifecycle_state(self, now, settled="ACTIVE" if self.probes else "INACTIVE")

    def summary(self, now: float) -> dict[str, Any]:
        return {
            "monitorArn": self.arn,
            "monitorName": self.name,
            "state": self.state(now),
            "aggregationPeriod": self.aggregation_period,
            "tags": dict(self.tags),
        }

    def describe(self, now: float) -> dict[str, Any]:
        """As GetMonitor answers."""
        return {
            **self.summary(now),
            "probes": [p.describe(now) for p in self.probes.values()],
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
        }


def lifecycle_state(resource: Monitor | Probe, now: float, settled: str) -> str:
    """The precedence monitors and probes share: DELETING, then ERROR, then PENDING until settled."""
    if resource.deleting_until is not None:
        return "DELETING"
    if resource.error:
        return "ERROR"
    if now < resource.settled_at:
        return "PENDING"
    return settled


def family_of(destination: str) -> str:
    return "IPV4" if ipaddress.ip_address(destination).version == 4 else "IPV6"
