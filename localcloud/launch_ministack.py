"""Start ministack with what it lacks for the example apps: provisioners for AWS::EC2::FlowLog,
AWS::CloudWatch::CompositeAlarm, AWS::NetworkMonitor::Monitor and AWS::NetworkMonitor::Probe.

Run by the local cloud's own Python (localcloud/requirements.txt), never by the project's: it
imports ministack only. Flow logs deliver nothing locally, so create and delete record nothing.
Composite alarms go through ministack's own CloudWatch (PutCompositeAlarm, DeleteAlarms), which
checks the rule and that its alarms exist, keeps their states and answers DescribeAlarms: the
template's properties are those of the resource page
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-compositealarm.html):
AlarmName (replacement), AlarmRule, AlarmDescription, ActionsEnabled, the three action lists and
Tags; Ref is the name, Fn::GetAtt Arn the ARN. ActionsSuppressor* are not emulated and are refused.

The two Network Monitor types are CloudFormation's own handlers as the kit plays them offline
(cdk_netmon/testing/native.py, loaded from its file: this environment has no cdk_netmon), calling the
emulator (AWS_ENDPOINT_URL_NETWORKMONITOR) with this environment's boto3, as the caller's account and
region. Ref is what the handler returns as the physical id (a monitor's ARN, a probe's
MonitorName|ProbeId), Fn::GetAtt its attributes. A change of a create-only property replaces the
resource through ministack's own replacement (`_REPLACING_PROPERTIES`): the new one is created, the
old one deleted in the clean-up. The handlers poll while PENDING lasts (the emulator's clock is
scaled, NETMON_CLOCK_SCALE), so they run on a worker thread as ministack runs its custom resources,
not on its event loop. The service's tags exclude `aws:` keys, so CloudFormation's system tags are
not merged into these types' Tags.
"""

import hashlib
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import boto3
from ministack.app import main
from ministack.core.responses import get_account_id, get_region
from ministack.services import cloudwatch
from ministack.services.cloudformation import provisioners, stacks

_spec = importlib.util.spec_from_file_location(
    "cdk_netmon_native", Path(__file__).resolve().parent.parent / "cdk_netmon" / "testing" / "native.py"
)
native = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = native
_spec.loader.exec_module(native)
_CLOCK_SCALE = float(os.environ.get("NETMON_CLOCK_SCALE", "1"))


def _flow_log_create(logical_id: str, props: dict, stack_name: str) -> tuple[str, dict]:
    flow_log_id = "fl-" + hashlib.sha256(f"{stack_name}/{logical_id}".encode()).hexdigest()[:17]
    return flow_log_id, {"Id": flow_log_id}


def _flow_log_delete(physical_id: str, props: dict) -> None:
    return None


def _answered(response: tuple, what: str) -> None:
    """ministack's CloudWatch answers (status, headers, body); anything but 200 fails the resource."""
    status, _, body = response
    if status != 200:
        message = json.loads(body).get("message", body) if body else status
        raise ValueError(f"{what}: {message}")


def _composite_put(name: str, props: dict) -> tuple[str, dict]:
    suppressors = [key for key in props if key.startswith("ActionsSuppressor")]
    if suppressors:
        raise ValueError(f"AWS::CloudWatch::CompositeAlarm {', '.join(suppressors)} is not supported locally")
    request = {
        "AlarmName": name,
        "AlarmRule": props.get("AlarmRule", ""),
        "AlarmDescription": props.get("AlarmDescription", ""),
        "ActionsEnabled": str(props.get("ActionsEnabled", True)).lower() != "false",
        "AlarmActions": list(props.get("AlarmActions") or []),
        "OKActions": list(props.get("OKActions") or []),
        "InsufficientDataActions": list(props.get("InsufficientDataActions") or []),
        "Tags": list(props.get("Tags") or []),
    }
    _answered(cloudwatch._put_composite_alarm({}, request, False, is_json=True), f"PutCompositeAlarm {name}")
    arn = f"arn:aws:cloudwatch:{cloudwatch.get_region()}:{cloudwatch.get_account_id()}:alarm:{name}"
    return name, {"Arn": arn}


def _composite_create(logical_id: str, props: dict, stack_name: str) -> tuple[str, dict]:
    return _composite_put(props.get("AlarmName") or provisioners._physical_name(stack_name, logical_id), props)


def _composite_update(
    physical_id: str, old_props: dict, new_props: dict, stack_name: str, logical_id: str | None = None
) -> tuple[str, dict]:
    """In place under the same name (PutCompositeAlarm keeps the state); a new AlarmName replaces it."""
    name = new_props.get("AlarmName") or provisioners._physical_name(stack_name, logical_id or physical_id)
    replaced = provisioners._rename_replacement(
        physical_id, old_props, new_props, stack_name, logical_id, name, physical_id,
        _composite_create, _composite_delete,
    )  # fmt: skip
    return replaced if replaced is not None else _composite_put(name, new_props)


def _composite_delete(physical_id: str, props: dict) -> None:
    _answered(cloudwatch._delete_alarms({}, {"AlarmNames": [physical_id]}, False, is_json=True), "DeleteAlarms")


def _handlers():
    """CloudFormation's handlers of the two types, on a client of the emulator as the request's caller."""
    client = boto3.client(
        "networkmonitor", region_name=get_region(), aws_access_key_id=get_account_id(),
        aws_secret_access_key="local-cloud",
    )  # fmt: skip
    return native.NativeResources(client, sleep=lambda seconds: time.sleep(seconds / _CLOCK_SCALE))


def _native(resource_type: str) -> dict:
    def create(logical_id: str, props: dict, stack_name: str) -> tuple[str, dict]:
        return _handlers().create(resource_type, props)

    def update(physical_id: str, old_props: dict, new_props: dict, stack_name: str) -> tuple[str, dict]:
        """In place: ministack replaces the resource itself where a create-only property changed."""
        return physical_id, _handlers().update(resource_type, physical_id, old_props, new_props)

    def delete(physical_id: str, props: dict) -> None:
        _handlers().delete(resource_type, physical_id, props)

    return {"create": create, "update": update, "delete": delete}


provisioners._RESOURCE_HANDLERS.setdefault(
    "AWS::EC2::FlowLog", {"create": _flow_log_create, "delete": _flow_log_delete}
)
provisioners._RESOURCE_HANDLERS.setdefault(
    "AWS::CloudWatch::CompositeAlarm",
    {
        "create": _composite_create,
        "update": _composite_update,
        "update_with_logical_id": True,
        "delete": _composite_delete,
    },
)
for _type in native.NATIVE_TYPES:
    provisioners._RESOURCE_HANDLERS.setdefault(_type, _native(_type))
    provisioners._REPLACING_PROPERTIES.setdefault(_type, native.CREATE_ONLY[_type])
_ministack_threads = stacks._runs_on_worker_thread
stacks._runs_on_worker_thread = lambda resource_type: (
    resource_type in native.NATIVE_TYPES or _ministack_threads(resource_type)
)
sys.argv = sys.argv[:1]
main()
