"""Transitional (issue 23): the names `cdk_netmon/monitor.py` and `cdk_netmon/provider.py` still import
from here. What was this module is now `spec` (the declared monitor), `live` (the live monitor and
whose it is) and `response` (the answer to CloudFormation); delete this file once they import from those.
"""

from __future__ import annotations

from .response import MONITOR_ARN_ATTRIBUTE, PROBE_ID_ATTRIBUTE, RESPONSE_LIMIT_BYTES, ResponseBound
from .spec import (
    ACTIVE,
    AGGREGATION_PERIOD,
    DEFAULT_AGGREGATION_PERIOD,
    MONITOR_NAME,
    OWNERSHIP_PROPERTY,
    OWNERSHIP_PROPERTY_VALUE,
    PAUSED,
    PROBES,
    RESOURCE_TYPE,
    TAGS,
    endpoint,
    probe_key,
    probe_properties,
    unique_keys,
)

__all__ = [
    "ACTIVE",
    "AGGREGATION_PERIOD",
    "DEFAULT_AGGREGATION_PERIOD",
    "MONITOR_ARN_ATTRIBUTE",
    "MONITOR_NAME",
    "OWNERSHIP_PROPERTY",
    "OWNERSHIP_PROPERTY_VALUE",
    "PAUSED",
    "PROBES",
    "PROBE_ID_ATTRIBUTE",
    "RESOURCE_TYPE",
    "RESPONSE_LIMIT_BYTES",
    "TAGS",
    "ResponseBound",
    "endpoint",
    "probe_key",
    "probe_properties",
    "unique_keys",
]
