"""Offline test support for cdk_netmon, and the kit users import for their own tests.

Install it with the `testing` extra (``pip install "cdk-netmon[testing]"``), which brings boto3 and
botocore. Nothing here is deployed: the Lambda asset holds only `cdk_netmon/handler`.

- for snapshot and assertion tests: `declared_monitors`, `normalise_asset_hashes`;
- for offline deploys: `LocalNetworkMonitor` (the emulator), `StackDriver` (CloudFormation and the
  Provider framework), `handler_pointed_at` (the shipped handler on a client that reaches the
  emulator), `Progress` (progress lines), `AccessPolicy` (IAM evaluation).
"""

try:
    import boto3  # noqa: F401
    import botocore  # noqa: F401
except ImportError as missing:  # pragma: no cover - exercised in a clean venv by tests/test_clean_install.py
    raise ImportError(
        "cdk_netmon.testing needs boto3 and botocore: install the testing extra, pip install 'cdk-netmon[testing]'"
    ) from missing

from .clock import Clock
from .cloudformation import DeployFailedError, StackDriver, UnsupportedTemplateError, placeholder_ids
from .emulator import Faults, LocalNetworkMonitor, NetworkMonitorBackend
from .iam import AccessPolicy
from .kit import Progress, declared_monitors, describe, handler_pointed_at, normalise_asset_hashes

__all__ = [
    "AccessPolicy",
    "Clock",
    "DeployFailedError",
    "Faults",
    "LocalNetworkMonitor",
    "NetworkMonitorBackend",
    "Progress",
    "StackDriver",
    "UnsupportedTemplateError",
    "declared_monitors",
    "describe",
    "handler_pointed_at",
    "normalise_asset_hashes",
    "placeholder_ids",
]
