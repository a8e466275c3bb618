"""Measure the path from a VPC to an on-premises data centre, from every private subnet."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack, Tags
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from cdk_netmon import NetworkMonitor, ProbeProtocol


class HybridConnectivityStack(Stack):
    """A VPC with private subnets in two AZs, probing an on-premises TCP service and its gateway.

    Every subnet probes both destinations (a fan-out), so a problem in one AZ's path shows up on its
    own probes. Each probe has packet-loss, round-trip-time and AWS-network-health alarms; composite
    alarms over them say when a destination is unreachable from every subnet or a subnet reaches
    nothing, which is what a team pages on; a dashboard graphs them. A probe to the disaster-recovery
    site is declared paused while that site is in a maintenance window.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        on_premises_service: str = "10.100.20.15",
        on_premises_port: int = 443,
        on_premises_gateway: str = "10.100.0.1",
        recovery_site: str = "10.200.0.1",
        recovery_site_in_maintenance: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        isolated = ec2.SubnetConfiguration(name="Private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24)
        vpc = ec2.Vpc(
            self, "Vpc", ip_addresses=ec2.IpAddresses.cidr("10.20.0.0/16"), subnet_configuration=[isolated], max_azs=2
        )
        vpc.add_flow_log("All")  # every packet: the probes say that a path degrades; the flow logs help say why
        private = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        monitor = NetworkMonitor(
            self,
            "OnPremises",
            aggregation_period=Duration.seconds(30),
            tags={"purpose": "hybrid-connectivity"},
        )
        monitor.add_probes(
            sources=private,
            destinations=[on_premises_service],
            protocol=ProbeProtocol.TCP,
            destination_port=on_premises_port,
            packet_size=56,
        )
        monitor.add_probes(sources=private, destinations=[on_premises_gateway], protocol=ProbeProtocol.ICMP)
        monitor.add_probe(
            source=private.subnets[0],
            destination=recovery_site,
            protocol=ProbeProtocol.ICMP,
            enabled=not recovery_site_in_maintenance,
        )

        monitor.add_probe_alarms(packet_loss_percent=5, rtt_threshold=Duration.millis(50), evaluation_periods=3)
        # What the team pages on: the data centre unreachable from every subnet, or a subnet cut off.
        self.paging = monitor.add_aggregate_alarms()
        cloudwatch.Dashboard(self, "Dashboard", widgets=[monitor.dashboard_widgets()])
        # Cost allocation: reaches the monitor and every probe.
        Tags.of(self).add("cost-centre", "network")
