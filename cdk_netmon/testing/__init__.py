"""Offline test support for cdk_netmon: a Network Monitor emulator and a CloudFormation driver.

Nothing here is deployed: the Lambda asset holds only `cdk_netmon/handler`.
"""

from .emulator import Clock, Faults, LocalNetworkMonitor

__all__ = ["Clock", "Faults", "LocalNetworkMonitor"]
