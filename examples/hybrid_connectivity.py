"""Measure the path from a VPC to an on-premises data centre, from every private subnet."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from cdk_netmon import NetworkMonitor, ProbeProtocol


class HybridConnectivityStack(Stack):
    """A VPC with private subnets in two AZs, probing an on-premises TCP service and an ICMP target.

    Each subnet probes both destinations, so a problem in one AZ's path shows up on its own probes,
    and a packet-loss alarm watches each TCP probe.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        on_premises_service: str = "10.100.20.15",
        on_premises_port: int = 443,
        on_premises_gateway: str = "10.100.0.1",
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.20.0.0/16"),
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24)
            ],
            # The probes say that a path degrades; the flow logs help say why.
            flow_logs={"All": ec2.FlowLogOptions(traffic_type=ec2.FlowLogTrafficType.ALL)},
        )

        monitor = NetworkMonitor(
            self,
            "OnPremises",
            aggregation_period=Duration.seconds(30),
            tags={"purpose": "hybrid-connectivity"},
        )
        for subnet in vpc.isolated_subnets:
            service_probe = monitor.add_probe(
                source=subnet,
                destination=on_premises_service,
                protocol=ProbeProtocol.TCP,
                destination_port=on_premises_port,
                packet_size=56,
            )
            monitor.add_probe(source=subnet, destination=on_premises_gateway, protocol=ProbeProtocol.ICMP)

            cloudwatch.Alarm(
                self,
                f"PacketLoss{subnet.node.id}",
                alarm_description=f"Packet loss from {subnet.node.path} to {on_premises_service}:{on_premises_port}",
                metric=monitor.metric_packet_loss(probe_id=monitor.probe_id(service_probe), period=Duration.minutes(1)),
                threshold=5,
                evaluation_periods=3,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
