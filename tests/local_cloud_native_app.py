"""The app the native local-cloud test deploys with the real CDK CLI: a hand-written native pair, one
AWS::NetworkMonitor::Monitor and two AWS::NetworkMonitor::Probe (`CfnResource`: aws-cdk-lib 2.275 has
no CfnProbe), each probe depending on the monitor, and an alarm on a probe's `Fn::GetAtt ProbeId`.
`-c subnets=A,B` names two subnets of ministack's EC2; `-c step=N` picks the step of the story:
1 creates; 2 changes the TCP probe's port (in place); 3 moves the ICMP probe to subnet B (replaced).
"""

from aws_cdk import Acknowledgment, App, CfnOutput, CfnResource, Stack, Token, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_networkmonitor as networkmonitor

from localcloud import ACCOUNT, REGION

NAME = "netmon-native"
app = App()
step = int(app.node.try_get_context("step") or 1)
a, b = (f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{s}" for s in str(app.node.try_get_context("subnets")).split(","))
stack = Stack(app, "NetmonNative")
Validations.of(stack).acknowledge(
    Acknowledgment(id="CloudFormation-Validate::F3006", reason="AWS::NetworkMonitor::Probe is new in 2.276")
)
monitor = networkmonitor.CfnMonitor(stack, "Monitor", monitor_name=NAME, aggregation_period=30)


def probe(id: str, source: str, destination: str, port: int | None = None) -> CfnResource:
    properties: dict[str, object] = {"MonitorName": NAME, "SourceArn": source, "Destination": destination}
    properties.update({"Protocol": "TCP", "DestinationPort": port} if port else {"Protocol": "ICMP"})
    created = CfnResource(stack, id, type="AWS::NetworkMonitor::Probe", properties=properties)
    created.add_dependency(monitor)  # the monitor is named by a plain string
    return created


probe("Web", a, "10.0.0.1", 443 if step == 1 else 8443)
ping = probe("Ping", a if step < 3 else b, "10.0.0.2")
cloudwatch.Alarm(
    stack,
    "PingLoss",
    metric=cloudwatch.Metric(
        namespace="AWS/NetworkMonitor",
        metric_name="PacketLoss",
        dimensions_map={"Monitor": NAME, "Probe": Token.as_string(ping.get_att("ProbeId"))},
    ),
    threshold=5,
    evaluation_periods=1,
)
CfnOutput(stack, "PingRef", value=ping.ref)
app.synth()
