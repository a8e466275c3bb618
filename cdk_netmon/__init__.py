"""CloudWatch Network Monitor for the AWS CDK: monitors *and* probes, validated at synth.

from cdk_netmon import MonitorProbe, NetworkMonitor, ProbeProtocol
"""

from ._version import __version__
from .monitor import INetworkMonitor, NetworkMonitor
from .probe import MonitorProbe, ProbeProtocol
from .provider import NetworkMonitorProvider

__all__ = [
    "INetworkMonitor",
    "MonitorProbe",
    "NetworkMonitor",
    "NetworkMonitorProvider",
    "ProbeProtocol",
    "__version__",
]
