"""CloudWatch Network Monitor for the AWS CDK: monitors *and* probes, validated at synth.

from cdk_netmon import MonitorProbe, NetworkMonitor, ProbeProtocol
"""

from .monitor import INetworkMonitor, NetworkMonitor
from .probe import MonitorProbe, ProbeProtocol

__all__ = ["INetworkMonitor", "MonitorProbe", "NetworkMonitor", "ProbeProtocol"]
