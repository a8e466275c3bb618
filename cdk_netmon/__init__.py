"""CloudWatch Network Monitor for the AWS CDK: monitors *and* probes, validated at synth.

from cdk_netmon import MonitorProbe, NetworkMonitor, ProbeProtocol

The names below load their modules (and aws-cdk-lib) on first use, so that `python -m cdk_netmon
plan`, which needs none of them, starts without Node.js.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .engines.engine import MonitorEngine
    from .engines.native import SAME_APP_VPC_WARNING
    from .handler.rules import Quotas
    from .metrics import MetricOptions
    from .monitor import FanOutOptions, MonitorOptions, NetworkMonitor
    from .monitor_base import INetworkMonitor
    from .probe import MonitorProbe, ProbeFields, ProbeOptions, ProbeProtocol
    from .provider import NetworkMonitorProvider

_EXPORTS = {
    "INetworkMonitor": "monitor_base",
    "NetworkMonitor": "monitor",
    "MonitorOptions": "monitor",
    "FanOutOptions": "monitor",
    "MonitorEngine": "engines.engine",
    "SAME_APP_VPC_WARNING": "engines.native",
    "MonitorProbe": "probe",
    "ProbeProtocol": "probe",
    "ProbeOptions": "probe",
    "ProbeFields": "probe",
    "MetricOptions": "metrics",
    "NetworkMonitorProvider": "provider",
    "Quotas": "handler.rules",
}

__all__ = [
    "SAME_APP_VPC_WARNING",
    "FanOutOptions",
    "INetworkMonitor",
    "MetricOptions",
    "MonitorEngine",
    "MonitorOptions",
    "MonitorProbe",
    "NetworkMonitor",
    "NetworkMonitorProvider",
    "ProbeFields",
    "ProbeOptions",
    "ProbeProtocol",
    "Quotas",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
