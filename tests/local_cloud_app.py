"""The app the local-cloud test deploys with the real CDK CLI: `-c step=N` picks the step of its story.

Step 1: three probes from two subnets, a 30-second period, an alarm per probe. Step 2 changes a
probe's port, keeps one, removes one, adds a paused one, and moves to a 60-second period.
"""

from aws_cdk import App, Duration, Stack

from cdk_netmon import NetworkMonitor, ProbeProtocol
from tests.support import isolated_vpc

app = App()
step = int(app.node.try_get_context("step") or 1)
stack = Stack(app, "NetmonLocalCloud")
a, b = isolated_vpc(stack).isolated_subnets
monitor = NetworkMonitor(stack, "Dc", aggregation_period=Duration.seconds(30 if step == 1 else 60))
monitor.add_probe(
    source=a, destination="10.0.0.1", protocol=ProbeProtocol.TCP, destination_port=443 if step == 1 else 8443
)
monitor.add_probe(source=b, destination="10.0.0.2", protocol=ProbeProtocol.ICMP)
if step == 1:
    monitor.add_probe(source=b, destination="10.0.0.3", protocol=ProbeProtocol.TCP, destination_port=80)
else:
    monitor.add_probe(source=a, destination="10.0.0.4", protocol=ProbeProtocol.ICMP, enabled=False)
monitor.add_probe_alarms(health_indicator=False)
app.synth()
