"""Offline test support for cdk_netmon: a Network Monitor emulator and a CloudFormation driver.

Install it with the `testing` extra (``pip install "cdk-netmon[testing]"``), which brings boto3 and
botocore. Nothing here is deployed: the Lambda asset holds only `cdk_netmon/handler`.
"""

try:
    import boto3  # noqa: F401
    import botocore  # noqa: F401
except ImportError as missing:  # pragma: no cover - exercised in a clean venv by tests/test_clean_install.py
    raise ImportError(
        "cdk_netmon.testing needs boto3 and botocore: install the testing extra, pip install 'cdk-netmon[testing]'"
    ) from missing

from .cloudformation import DeployFailedError, StackDriver, UnsupportedTemplateError, placeholder_ids
from .emulator import Clock, Faults, LocalNetworkMonitor
from .iam import AccessPolicy

__all__ = [
    "AccessPolicy",
    "Clock",
    "DeployFailedError",
    "Faults",
    "LocalNetworkMonitor",
    "StackDriver",
    "UnsupportedTemplateError",
    "placeholder_ids",
]
