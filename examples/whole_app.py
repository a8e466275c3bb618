"""The whole app: every feature of cdk_netmon at once, across two stacks, as a platform team writes it.

`NetmonNetwork` holds the VPC. `NetmonMonitoring` measures the paths from its subnets (a cross-stack
reference) and from another team's shared-services subnets (by ARN) to the data centres, their
gateways, a bastion, a disaster-recovery site and the branch offices:

- sources from `vpc.select_subnets(...)` and from subnet ARNs; `add_probes` (every subnet to every
  destination), `add_probe` with names, and `NetworkMonitor.fan_out` over the branches;
- a TCP port from a `CfnParameter`, a literal port, a probe paused during a maintenance window;
- quotas the team has raised (`NetworkMonitorProvider.configure(quotas=...)`): 5 probes from one
  subnet, and the branches in one monitor instead of two;
- probe alarms, the composite alarms a team pages on, a dashboard (the bastion's round trip and
  health indicator, hourly peaks) with a monitor imported by name and one of another account
  imported by ARN;
- `grant_read` to an operators' role (its monitors typed `INetworkMonitor`), `grant` to a tagging
  automation, `Tags.of` on the stack and a tag set through one monitor's `cdk_tag_manager`, its
  removal policy, the data centres' monitor name and ARN as stack outputs;
- the options every monitor, probe and metric shares held once, typed (`MonitorOptions`,
  `ProbeOptions`, `ProbeFields`, `FanOutOptions`, `MetricOptions`).

`version=2` (the context value, or `version=2` below) is the next change: the bastion's port moves
and the recovery site comes out of maintenance, both in place. A feature added to cdk_netmon joins
this app, and tests/test_whole_app.py takes it through every tool a user runs.

`engine=native` (the context value, or `engine=` below) builds the same app on CloudFormation's own
`AWS::NetworkMonitor::Monitor` and `::Probe` (tests/test_whole_app_native.py). A native probe cannot
be paused, so there the recovery site's probe joins in version 2 instead of being resumed.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import (
    Acknowledgment,
    Annotations,
    App,
    CfnOutput,
    CfnParameter,
    Duration,
    RemovalPolicy,
    Stack,
    Tags,
    Validations,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_netmon import (
    SAME_APP_VPC_WARNING,
    FanOutOptions,
    INetworkMonitor,
    MetricOptions,
    MonitorEngine,
    MonitorOptions,
    MonitorProbe,
    NetworkMonitor,
    NetworkMonitorProvider,
    ProbeFields,
    ProbeOptions,
    ProbeProtocol,
    Quotas,
)

NETWORK_STACK = "NetmonNetwork"
MONITORING_STACK = "NetmonMonitoring"
RAISED_QUOTAS = Quotas(probes_per_monitor=48, probes_per_subnet=8)
"""What the team raised in Service Quotas for this account and region."""
SHARED_SERVICES_SUBNETS = [f"subnet-0a1b2c3d4e5f6000{i}" for i in range(1, 5)]
"""Another team's subnets in this account and region, known by id only."""
DATA_CENTRES = ["10.100.20.15", "10.100.20.16"]
GATEWAYS = ["10.100.0.1", "10.100.0.2"]
BRANCHES = [f"10.50.{i}.1" for i in range(1, 6)]


class NetworkStack(Stack):
    """The VPC, with an isolated subnet per AZ for the probes and flow logs (the probes say that a path
    degrades, the flow logs help say why)."""

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.20.0.0/16"),
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Probes", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24)
            ],
            flow_logs={"All": ec2.FlowLogOptions(traffic_type=ec2.FlowLogTrafficType.ALL)},
        )


class MonitoringStack(Stack):
    """The monitors, their alarms and dashboard, and who may read them."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        version: int = 1,
        engine: MonitorEngine = MonitorEngine.CUSTOM_RESOURCE,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        NetworkMonitorProvider.configure(self, quotas=RAISED_QUOTAS, log_retention=logs.RetentionDays.ONE_MONTH)
        service_port = CfnParameter(
            self, "ServicePort", type="Number", default=443, min_value=1, max_value=65535,
            description="The data centres' TCP service port",
        )  # fmt: skip
        private = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        shared = [
            self.format_arn(service="ec2", resource="subnet", resource_name=subnet_id)
            for subnet_id in SHARED_SERVICES_SUBNETS
        ]

        # What every monitor of the team shares, typed as the constructor's keywords.
        every_monitor: MonitorOptions = {"aggregation_period": Duration.seconds(30), "engine": engine}
        data_centres: MonitorOptions = {**every_monitor, "tags": {"purpose": "hybrid-connectivity"}}
        self.data_centres = monitor = NetworkMonitor(self, "DataCentres", **data_centres)
        monitor.add_probes(
            sources=private,
            destinations=DATA_CENTRES,
            protocol=ProbeProtocol.TCP,
            destination_port=service_port.value_as_number,
        )
        icmp: ProbeOptions = {"protocol": ProbeProtocol.ICMP}
        monitor.add_probes(sources=private, destinations=GATEWAYS, **icmp)
        bastion: ProbeFields = {
            "name": "bastion-ssh",
            "source": private.subnets[0],
            "destination": "10.100.30.10",
            "protocol": ProbeProtocol.TCP,
            "destination_port": 22 if version == 1 else 2222,
        }
        bastion_ssh: MonitorProbe = monitor.add_probe(**bastion)
        if engine is MonitorEngine.CUSTOM_RESOURCE or version >= 2:
            monitor.add_probe(
                name="recovery-site",
                source_arn=shared[0],
                destination="10.200.0.1",
                protocol=ProbeProtocol.ICMP,
                # Paused while the site is in its maintenance window (a native probe cannot be: it joins later).
                enabled=version >= 2 if engine is MonitorEngine.CUSTOM_RESOURCE else None,
            )
        if engine is MonitorEngine.NATIVE:  # the service's group stays in the VPC: see docs/engines.md
            Annotations.of(monitor).acknowledge_warning(
                SAME_APP_VPC_WARNING, "Before the network stack is destroyed, its groups are deleted (docs/engines.md)."
            )
        monitor.add_probe_alarms(packet_loss_percent=5, rtt_threshold=Duration.millis(50))
        self.paging = monitor.add_aggregate_alarms()

        branch_options: FanOutOptions = {**every_monitor, **icmp, "tags": {"purpose": "branches"}}
        branches = NetworkMonitor.fan_out(self, "Branches", sources=shared, destinations=BRANCHES, **branch_options)
        hourly_peak: MetricOptions = {"period": Duration.hours(1), "statistic": "Maximum"}
        legacy = NetworkMonitor.from_monitor_name(self, "LegacyDx", "legacy-dx-monitor")
        transit = NetworkMonitor.from_monitor_arn(
            self, "Transit", "arn:aws:networkmonitor:eu-west-1:999999999999:monitor/transit-hub"
        )
        cloudwatch.Dashboard(
            self,
            "Dashboard",
            widgets=[
                monitor.dashboard_widgets(),
                *(m.dashboard_widgets() for m in branches),
                [
                    cloudwatch.GraphWidget(
                        title="Bastion: round trip and AWS's network on its path",
                        left=[monitor.metric_rtt(bastion_ssh, **hourly_peak)],
                        right=[monitor.metric_health_indicator(bastion_ssh)],
                    ),
                ],
                [
                    cloudwatch.GraphWidget(
                        title="Legacy Direct Connect and transit hub",
                        left=[
                            legacy.metric_packet_loss(probe_id="probe-0123456789abcdefghij0"),
                            transit.metric("PacketLoss", probe_id="probe-9876543210abcdefghij0", **hourly_peak),
                        ],
                    )
                ],
            ],
        )

        operators = iam.Role(self, "NetworkOperators", assumed_by=iam.AccountRootPrincipal())
        readable: list[INetworkMonitor] = [monitor, *branches, legacy]
        for each in readable:
            each.grant_read(operators)
        Validations.of(operators).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason="networkmonitor:ListMonitors has no resource type: IAM authorizes it on * only.",
            )
        )
        tagging = iam.Role(self, "CostTagging", assumed_by=iam.AccountRootPrincipal())
        monitor.grant(tagging, "networkmonitor:TagResource", "networkmonitor:ListTagsForResource")
        Tags.of(self).add("cost-centre", "network")
        monitor.cdk_tag_manager.set_tag("owner", "network-platform")  # the monitor and its probes; Tags.of would win
        # Said where a reviewer looks: a monitor holds no data, so it goes with the stack (the
        # default; RETAIN would leave it and its probes behind on `cdk destroy`).
        monitor.apply_removal_policy(RemovalPolicy.DESTROY)
        # For the runbooks: references, so the outputs follow the monitor.
        CfnOutput(self, "DataCentresMonitorName", value=monitor.monitor_name)
        CfnOutput(self, "DataCentresMonitorArn", value=monitor.monitor_arn)


def build(
    app: App, *, version: int | None = None, engine: MonitorEngine | None = None, env: Any = None
) -> tuple[NetworkStack, MonitoringStack]:
    """Both stacks in `app`; the version and engine from the app's `version` and `engine` context
    (`custom_resource`, the default, or `native`) unless given."""
    version = version if version is not None else int(app.node.try_get_context("version") or 1)
    if engine is None:
        engine = MonitorEngine[str(app.node.try_get_context("engine") or "custom_resource").upper()]
    network = NetworkStack(app, NETWORK_STACK, env=env)
    monitoring = MonitoringStack(app, MONITORING_STACK, vpc=network.vpc, version=version, engine=engine, env=env)
    return network, monitoring
