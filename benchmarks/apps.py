"""One app, built three ways: the construct, the native L1 (no probes: the floor), and the
AwsCustomResource a user would hand-write to call createMonitor with the same probes."""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import App, Duration, Stack
from aws_cdk import aws_networkmonitor as networkmonitor
from aws_cdk import custom_resources as cr

from cdk_netmon import MonitorProbe, NetworkMonitor, ProbeProtocol


def subnet(index: int) -> str:
    return f"arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-{index:017x}"


def probes(monitor: int, count: int) -> list[dict[str, object]]:
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


def construct_app(stack: Stack, monitors: int, per_monitor: int) -> None:
    for m in range(monitors):
        NetworkMonitor(
            stack,
            f"Monitor{m}",
            aggregation_period=Duration.seconds(30),
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


def cfn_monitor_app(stack: Stack, monitors: int, per_monitor: int) -> None:
    for m in range(monitors):
        networkmonitor.CfnMonitor(stack, f"Monitor{m}", monitor_name=f"bench-{m}", aggregation_period=30)


def aws_custom_resource_app(stack: Stack, monitors: int, per_monitor: int) -> None:
    for m in range(monitors):
        name = f"bench-{m}"
        cr.AwsCustomResource(
            stack,
            f"Monitor{m}",
            on_create=cr.AwsSdkCall(
                service="NetworkMonitor",
                action="createMonitor",
                parameters={"monitorName": name, "aggregationPeriod": 30, "probes": probes(m, per_monitor)},
                physical_resource_id=cr.PhysicalResourceId.of(name),
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE),
            install_latest_aws_sdk=False,
        )


VARIANTS: dict[str, Callable[[Stack, int, int], None]] = {
    "NetworkMonitor": construct_app,
    "CfnMonitor": cfn_monitor_app,
    "AwsCustomResource": aws_custom_resource_app,
}


def build(variant: str, monitors: int, per_monitor: int, outdir: str) -> App:
    app = App(outdir=outdir)
    VARIANTS[variant](Stack(app, "Bench"), monitors, per_monitor)
    return app
