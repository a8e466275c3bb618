"""A stateful, local stand-in for the Network Monitor API (2023-08-01), served over HTTP.

An unmodified boto3 client reaches it through `endpoint_url` or AWS_ENDPOINT_URL_NETWORKMONITOR,
so the real REST-JSON serialisation, error parsing and SDK retries are exercised. One emulator
serves every account and region. Requests are validated against the service model, then against
the service's rules; with a policy installed (`use_policy`) every request is first authorized as
IAM would, and refused with AccessDeniedException otherwise. States stay PENDING or DELETING for a
while on a clock the caller controls.

Layout, as moto lays out a service: `models` (monitors and probes), `backend` (one account and
region: state and rules), `exceptions` (the service's errors), `protocol` (routes from botocore's
model, identity, validation, dispatch, error responses), `authorization` (what IAM is asked),
`network` (the service's footprint in EC2), `out_of_band` (errors and drift tests cause),
`facade` (`LocalNetworkMonitor`: clock, backends, faults, policies) and `server` (HTTP).
"""

from cdk_netmon.testing.clock import Clock
from cdk_netmon.testing.defaults import DEFAULT_ACCOUNT, DEFAULT_REGION
from cdk_netmon.testing.ec2 import LocalEc2

from .backend import WRITE_OPERATIONS, NetworkMonitorBackend, Settings, SettlingWrites
from .exceptions import ServiceError
from .facade import CONTROL_PATH, Faults, LocalNetworkMonitor
from .out_of_band import OutOfBand

__all__ = [
    "CONTROL_PATH",
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "WRITE_OPERATIONS",
    "Clock",
    "Faults",
    "LocalEc2",
    "LocalNetworkMonitor",
    "NetworkMonitorBackend",
    "OutOfBand",
    "ServiceError",
    "Settings",
    "SettlingWrites",
]
