"""Offline test support for cdk_netmon: a Network Monitor emulator and a CloudFormation driver.

Nothing here is deployed: the Lambda asset holds only `cdk_netmon/handler`.
"""

from .cloudformation import DeployFailedError, StackDriver, UnsupportedTemplateError, placeholder_ids
from .emulator import Clock, Faults, LocalNetworkMonitor

__all__ = [
    "Clock",
    "DeployFailedError",
    "Faults",
    "LocalNetworkMonitor",
    "StackDriver",
    "UnsupportedTemplateError",
    "placeholder_ids",
]
