"""An app whose probes mix literal and deploy-time values, with alarms and a dashboard: the app of
the stable-identity tests, run in-process or as `python -m tests.identity_app` (the real CDK CLI's
app, and separate processes). Context picks a variant: `port` (of the named HTTPS probe),
`packet_size`, `tag`, `paused` (the ICMP probe), and `extra_tokens` (unrelated parameters made
before the monitor, which shift every later token's number)."""

from __future__ import annotations

from aws_cdk import App, CfnParameter, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch

from cdk_netmon import NetworkMonitor, ProbeProtocol
from tests.support import isolated_vpc


def build(app: App) -> Stack:
    context = app.node.try_get_context
    stack = Stack(app, "Identity")
    for n in range(int(context("extra_tokens") or 0)):
        CfnParameter(stack, f"Unrelated{n}", default="x")
    a, b = isolated_vpc(stack).isolated_subnets
    destination = CfnParameter(stack, "Destination", default="10.9.0.1").value_as_string
    port = CfnParameter(stack, "Port", type="Number", default=443).value_as_number
    monitor = NetworkMonitor(stack, "OnPrem")
    monitor.add_probe(
        source=a,
        destination="10.0.0.1",
        protocol=ProbeProtocol.TCP,
        destination_port=int(context("port") or 443),
        packet_size=int(context("packet_size") or 56),
        probe_tags={"rev": str(context("tag") or "1")},
        name="dc1-https",
    )
    monitor.add_probe(source=b, destination=destination, protocol=ProbeProtocol.TCP, destination_port=port)
    monitor.add_probe(source=a, destination=destination, protocol=ProbeProtocol.TCP, destination_port=8443)
    monitor.add_probe(
        source=b, destination="10.0.0.2", protocol=ProbeProtocol.ICMP, enabled=str(context("paused")) != "true"
    )
    monitor.add_probe_alarms(rtt_threshold=Duration.millis(50))
    cloudwatch.Dashboard(stack, "Dashboard", widgets=[monitor.dashboard_widgets()])
    return stack


if __name__ == "__main__":
    app = App()
    build(app)
    app.synth()
