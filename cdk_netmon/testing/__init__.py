"""Offline test support for cdk_netmon, and the kit users import for their own tests.

Install it with the `testing` extra (``pip install "cdk-netmon[testing]"``), which brings boto3,
botocore and moto (whose EC2 holds the offline world's VPCs and the service's security groups).
Nothing here is deployed: the Lambda asset holds only `cdk_netmon/handler`.

- for snapshot and assertion tests: `declared_monitors`, `normalise_asset_hashes`;
- for offline deploys: `LocalNetworkMonitor` (the emulator), `offline_stack` (a stack deployed to
  it as CloudFormation would, by the shipped handler), `LocalEc2` (moto's EC2, which the emulator
  starts), `StackDriver` (CloudFormation and the Provider framework), `handler_pointed_at` (the
  shipped handler on clients that reach the emulator), `declared_quotas`, `Progress` (progress
  lines), `AccessPolicy` (IAM evaluation).

For cfn-lint: `REGISTRY_SCHEMAS`, the directory of the registry schema this kit writes for
`AWS::NetworkMonitor::Probe` until cfn-lint ships CloudFormation's (`cfn-lint TEMPLATE
--registry-schemas "$DIR"`; see docs/testing.md).

Importing the kit starts no Node.js: aws-cdk-lib is loaded only when a function is given a `Stack`.
"""

import importlib.util
from pathlib import Path

try:
    import boto3  # noqa: F401
    import botocore  # noqa: F401

    if importlib.util.find_spec("moto") is None:  # imported only when an emulator starts its EC2
        raise ImportError("No module named 'moto'")
except ImportError as missing:  # pragma: no cover - exercised in a clean venv by tests/test_clean_install.py
    raise ImportError(
        "cdk_netmon.testing needs boto3, botocore and moto: install the testing extra, "
        "pip install 'cdk-netmon[testing]'"
    ) from missing

from .clock import Clock
from .cloudformation import DeployFailedError, StackDriver, UnsupportedTemplateError, placeholder_ids
from .ec2 import LocalEc2
from .emulator import Faults, LocalNetworkMonitor, NetworkMonitorBackend
from .iam import AccessPolicy
from .kit import (
    Progress,
    declared_monitors,
    declared_quotas,
    describe,
    handler_pointed_at,
    normalise_asset_hashes,
    offline_stack,
    service_security_groups,
)

REGISTRY_SCHEMAS = str(Path(__file__).resolve().parent / "schemas")
"""The directory of registry schemas for cfn-lint's `--registry-schemas`: this kit's
`aws-networkmonitor-probe.json` (cfn-lint 1.58.0 has no schema for the type and answers E3006)."""

__all__ = [
    "REGISTRY_SCHEMAS",
    "AccessPolicy",
    "Clock",
    "DeployFailedError",
    "Faults",
    "LocalEc2",
    "LocalNetworkMonitor",
    "NetworkMonitorBackend",
    "Progress",
    "StackDriver",
    "UnsupportedTemplateError",
    "declared_monitors",
    "declared_quotas",
    "describe",
    "handler_pointed_at",
    "normalise_asset_hashes",
    "offline_stack",
    "placeholder_ids",
    "service_security_groups",
]
