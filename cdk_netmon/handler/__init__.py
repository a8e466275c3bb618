"""The Lambda handler behind `cdk_netmon.NetworkMonitor`: standard library plus the runtime's boto3.

The Provider framework calls `on_event` once per CloudFormation request and `is_complete` until it
answers IsComplete. This package is shipped on its own as the Lambda asset, so it must not import
anything from the rest of `cdk_netmon`.
"""

import logging

from .lifecycle import is_complete, on_event

# Lambda's root logger passes WARNING and above; the handler's progress is worth INFO.
logging.getLogger(__name__).setLevel(logging.INFO)

__all__ = ["is_complete", "on_event"]
