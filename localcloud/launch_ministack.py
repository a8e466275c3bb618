"""Start ministack with what it lacks for the example app: a provisioner for AWS::EC2::FlowLog.

Run by the local cloud's own Python (local-cloud/requirements.txt), never by the project's: it
imports ministack only. Flow logs deliver nothing locally, so create and delete record nothing.
"""

import hashlib
import sys

from ministack.app import main
from ministack.services.cloudformation import provisioners


def _flow_log_create(logical_id: str, props: dict, stack_name: str) -> tuple[str, dict]:
    flow_log_id = "fl-" + hashlib.sha256(f"{stack_name}/{logical_id}".encode()).hexdigest()[:17]
    return flow_log_id, {"Id": flow_log_id}


def _flow_log_delete(physical_id: str, props: dict) -> None:
    return None


provisioners._RESOURCE_HANDLERS.setdefault(
    "AWS::EC2::FlowLog", {"create": _flow_log_create, "delete": _flow_log_delete}
)
sys.argv = sys.argv[:1]
main()
