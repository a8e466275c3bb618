"""One app, built five ways, each importing only what it uses (imports are part of what users feel):

- NetworkMonitor: this library (its default engine, the custom resource);
- NativeEngine: this library with `engine=MonitorEngine.NATIVE`, the same declarations;
- CfnMonitor: the L1 monitor without probes, the floor (it cannot do what the app asks);
- NativePair: CfnMonitor plus one `AWS::NetworkMonitor::Probe` per probe, what aws-cdk-lib 2.276
  offers as `CfnProbe` (built with `CfnResource` while 2.276 cannot be installed here);
- AwsCustomResource: the custom resource a user would hand-write to call createMonitor.

Sizes are (monitors, probes per monitor), or "realistic": a VPC in 3 AZs with 12 probes (every
subnet to 4 on-premises destinations) and a packet-loss alarm per probe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

REALISTIC = "realistic"
DESTINATIONS = ("10.100.20.15", "10.100.20.16", "10.100.0.1", "10.100.0.2")


def subnet(index: int) -> str:
    return f"arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-{index:017x}"


def probes(monitor: int, count: int) -> list[dict[str, Any]]:
    """`count` TCP probes, at most 4 per subnet, in the API's shape."""
    return [
        {
            "sourceArn": subnet(i // 4),
            "destination": f"10.{monitor % 250}.{i}.1",
            "protocol": "TCP",
            "destinationPort": 443,
        }
        for i in range(count)
    ]


def _realistic_vpc(stack: Any) -> list[Any]:
    from aws_cdk import aws_ec2 as ec2

    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="Private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    return list(vpc.isolated_subnets)


def _loss_alarm(stack: Any, id: str, monitor_name: str, probe_id: str) -> None:
    from aws_cdk import aws_cloudwatch as cloudwatch

    cloudwatch.Alarm(
        stack,
        id,
        metric=cloudwatch.Metric(
            namespace="AWS/NetworkMonitor",
            metric_name="PacketLoss",
            dimensions_map={"Monitor": monitor_name, "Probe": probe_id},
        ),
        threshold=5,
        evaluation_periods=3,
    )


def construct_app(stack: Any, monitors: int, per_monitor: int, first: int = 0, native: bool = False) -> None:
    """The monitors named as the other variants name theirs, so that the templates compare."""
    from aws_cdk import Duration

    from cdk_netmon import MonitorEngine, MonitorProbe, NetworkMonitor, ProbeProtocol

    engine = MonitorEngine.NATIVE if native else None
    if monitors == 0:  # realistic
        subnets = _realistic_vpc(stack)
        monitor = NetworkMonitor(
            stack, "OnPremises", monitor_name="on-premises", aggregation_period=Duration.seconds(30), engine=engine
        )
        monitor.add_probes(sources=subnets, destinations=list(DESTINATIONS), protocol=ProbeProtocol.ICMP)
        monitor.add_probe_alarms(health_indicator=False)
        return
    for m in range(first, first + monitors):
        NetworkMonitor(
            stack,
            f"Monitor{m}",
            monitor_name=f"bench-{m}",
            aggregation_period=Duration.seconds(30),
            engine=engine,
            probes=[
                MonitorProbe(
                    source_arn=str(p["sourceArn"]),
                    destination=str(p["destination"]),
                    protocol=ProbeProtocol.TCP,
                    destination_port=443,
                )
                for p in probes(m, per_monitor)
            ],
        )


def native_engine_app(stack: Any, monitors: int, per_monitor: int, first: int = 0) -> None:
    construct_app(stack, monitors, per_monitor, first, native=True)


def cfn_monitor_app(stack: Any, monitors: int, per_monitor: int, first: int = 0) -> None:
    from aws_cdk import aws_networkmonitor as networkmonitor

    if monitors == 0:
        _realistic_vpc(stack)
        networkmonitor.CfnMonitor(stack, "OnPremises", monitor_name="on-premises", aggregation_period=30)
        for i in range(12):
            _loss_alarm(stack, f"Loss{i}", "on-premises", f"probe-{i:021d}")
        return
    for m in range(first, first + monitors):
        networkmonitor.CfnMonitor(stack, f"Monitor{m}", monitor_name=f"bench-{m}", aggregation_period=30)


def native_pair_app(stack: Any, monitors: int, per_monitor: int, first: int = 0) -> None:
    from aws_cdk import Acknowledgment, CfnResource, Fn, Validations
    from aws_cdk import aws_networkmonitor as networkmonitor

    # aws-cdk-lib 2.275 does not know the type yet and warns on each probe; 2.276's CfnProbe would not.
    Validations.of(stack).acknowledge(
        Acknowledgment(id="CloudFormation-Validate::F3006", reason="AWS::NetworkMonitor::Probe is new in 2.276")
    )

    def probe(id: str, monitor: CfnResource, name: str, body: dict[str, Any]) -> CfnResource:
        # MonitorName is the monitor's name (its `Ref` is the ARN), a plain string: the probe needs
        # an explicit dependency on its monitor, as a careful hand-written template has.
        properties = {
            "MonitorName": name,
            "SourceArn": body["sourceArn"],
            "Destination": body["destination"],
            "Protocol": body["protocol"],
        }
        if "destinationPort" in body:
            properties["DestinationPort"] = body["destinationPort"]
        created = CfnResource(stack, id, type="AWS::NetworkMonitor::Probe", properties=properties)
        created.add_resource_dependency(monitor)
        return created

    if monitors == 0:
        subnets = _realistic_vpc(stack)
        monitor = networkmonitor.CfnMonitor(stack, "OnPremises", monitor_name="on-premises", aggregation_period=30)
        i = 0
        for source in subnets:
            arn = Fn.sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:subnet/" + source.subnet_id)
            for destination in DESTINATIONS:
                body = {"sourceArn": arn, "destination": destination, "protocol": "ICMP"}
                created = probe(f"Probe{i}", monitor, "on-premises", body)
                _loss_alarm(stack, f"Loss{i}", "on-premises", created.get_att("ProbeId").to_string())
                i += 1
        return
    for m in range(first, first + monitors):
        monitor = networkmonitor.CfnMonitor(stack, f"Monitor{m}", monitor_name=f"bench-{m}", aggregation_period=30)
        for i, body in enumerate(probes(m, per_monitor)):
            probe(f"Monitor{m}Probe{i}", monitor, f"bench-{m}", body)


def aws_custom_resource_app(stack: Any, monitors: int, per_monitor: int, first: int = 0) -> None:
    from aws_cdk import custom_resources as cr

    def create(id: str, name: str, bodies: list[dict[str, Any]]) -> None:
        cr.AwsCustomResource(
            stack,
            id,
            on_create=cr.AwsSdkCall(
                service="NetworkMonitor",
                action="createMonitor",
                parameters={"monitorName": name, "aggregationPeriod": 30, "probes": bodies},
                physical_resource_id=cr.PhysicalResourceId.of(name),
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE),
            install_latest_aws_sdk=False,
        )

    if monitors == 0:
        from aws_cdk import Fn

        subnets = _realistic_vpc(stack)
        bodies = [
            {
                "sourceArn": Fn.sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:subnet/" + s.subnet_id),
                "destination": d,
                "protocol": "ICMP",
            }
            for s in subnets
            for d in DESTINATIONS
        ]
        create("OnPremises", "on-premises", bodies)
        # createMonitor answers no probe ids: the alarms can only name them by hand.
        for i in range(12):
            _loss_alarm(stack, f"Loss{i}", "on-premises", f"probe-{i:021d}")
        return
    for m in range(first, first + monitors):
        create(f"Monitor{m}", f"bench-{m}", probes(m, per_monitor))


VARIANTS: dict[str, Callable[[Any, int, int, int], None]] = {
    "NetworkMonitor": construct_app,
    "NativeEngine": native_engine_app,
    "CfnMonitor": cfn_monitor_app,
    "NativePair": native_pair_app,
    "AwsCustomResource": aws_custom_resource_app,
}


MAX_RESOURCES_PER_STACK = 500
"""CloudFormation's limit (aws-cdk-lib refuses to synthesize more): the native resources are one per
probe, so a large app needs stacks."""
NATIVE = ("NativeEngine", "NativePair")


def build(variant: str, monitors: int, per_monitor: int, outdir: str) -> Any:
    """The app; `monitors` 0 builds the realistic one. The native variants' monitors are spread over
    as many stacks as CloudFormation's 500 resources per stack make necessary, as a user must, and
    numbered on from the stack before, so that each name is once in the account and region."""
    from aws_cdk import App, Stack

    app = App(outdir=outdir)
    per_stack = monitors
    if variant in NATIVE and monitors * (1 + per_monitor) > MAX_RESOURCES_PER_STACK:
        per_stack = MAX_RESOURCES_PER_STACK // (1 + per_monitor)
    if monitors == 0 or per_stack == monitors:
        VARIANTS[variant](Stack(app, "Bench"), monitors, per_monitor, 0)
        return app
    for index, start in enumerate(range(0, monitors, per_stack)):
        VARIANTS[variant](Stack(app, f"Bench{index + 1}"), min(per_stack, monitors - start), per_monitor, start)
    return app
