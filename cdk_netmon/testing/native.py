"""CloudFormation's own handlers for `AWS::NetworkMonitor::Monitor` and `AWS::NetworkMonitor::Probe`,
played for the offline stand-in (`StackDriver(native=NativeResources(...))`; `offline_stack` wires it).

CloudFormation provisions these types itself, calling the service with the permissions of whoever
deploys the stack (the caller, or the role given to CloudFormation), not with a custom resource
handler's: the client given here is an administrator's (`kit.native_resources` makes one), whose
calls the emulator does not judge by the handler policy it enforces for the stack's custom resources.
The module needs nothing but botocore, so that the local cloud's ministack, whose environment has no
cdk_netmon, loads it from its file for its own provisioners of the two types
(localcloud/launch_ministack.py).

What the handlers do, from published sources (aws-cdk-lib 2.276.0's generated `aws-networkmonitor`
module, the registry schema of the Monitor as cfn-lint 1.58.0 and pulumi-aws-native ship it, the
Probe schema this kit ships in `schemas/`, pulumi-aws-native 1.84.0, Terraform's
`internal/service/networkmonitor/probe.go`):
- `Ref` of a monitor is its ARN, of a probe `MonitorName|ProbeId`; `Fn::GetAtt` gives a monitor's
  MonitorArn, State, CreatedAt and ModifiedAt, a probe's ProbeId, ProbeArn, State, AddressFamily,
  VpcId, CreatedAt and ModifiedAt (timestamps as ISO 8601 strings).
- A change of a create-only property (a monitor's MonitorName; a probe's MonitorName or SourceArn)
  replaces the resource: the driver creates the new one and deletes the old one in the clean-up.
  Every other property is updated in place: UpdateMonitor (AggregationPeriod), UpdateProbe
  (Destination, DestinationPort, Protocol, PacketSize), TagResource and UntagResource (Tags).
- Read-only properties written in a template (a probe's `State`) are not sent to the handler, as
  CloudFormation documents for `readOnlyProperties`: a template cannot pause a probe.
- A monitor's delete handler holds `networkmonitor:DeleteMonitor` and `GetMonitor` only (the registry
  schema's handler permissions): it deletes no probe, so a monitor that still has probes (kept by a
  Retain policy, say) fails to delete, as the service refuses it. Deletes wait until the resource is
  gone; a resource already gone is deleted.
- Nothing here deletes the security group the service leaves in each probe's VPC: with native
  resources it stays after the stack is destroyed (Terraform's acceptance tests delete it by hand).

*Unconfirmed*: whether CloudFormation's handlers wait for a monitor or probe to leave PENDING after
a create or an update (Terraform's do: 10 s polls, up to 10 minutes for a monitor, 15 for a probe).
By default these wait, as Terraform's do, and an ERROR state fails the resource; with
`wait_for_pending=False` they return at once, leaving the next resource to meet a PENDING monitor.
Also unconfirmed, and chosen here: a template that drops AggregationPeriod sets the service's default
(60); one that drops PacketSize leaves the live size as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MONITOR_TYPE = "AWS::NetworkMonitor::Monitor"
PROBE_TYPE = "AWS::NetworkMonitor::Probe"
NATIVE_TYPES = (MONITOR_TYPE, PROBE_TYPE)

CREATE_ONLY: Mapping[str, tuple[str, ...]] = {MONITOR_TYPE: ("MonitorName",), PROBE_TYPE: ("MonitorName", "SourceArn")}
"""A change of these replaces the resource (the registry schemas' createOnlyProperties)."""
READ_ONLY: Mapping[str, tuple[str, ...]] = {
    MONITOR_TYPE: ("MonitorArn", "State", "CreatedAt", "ModifiedAt"),
    PROBE_TYPE: ("ProbeId", "ProbeArn", "State", "AddressFamily", "VpcId", "CreatedAt", "ModifiedAt"),
}
"""What the service sets: the attributes `Fn::GetAtt` reads; never sent to the handler."""

PROBE_UPDATES = {"Destination": "destination", "DestinationPort": "destinationPort", "Protocol": "protocol"}
"""A probe's properties that UpdateProbe changes in place (PacketSize too, see `_update_probe`)."""
DEFAULT_AGGREGATION_PERIOD = 60
"""The service's period where a template gives none (botocore's model and the API reference)."""


class ProvisionFailure(Exception):
    """A native resource's handler failed; `physical_id` is the resource it made, if it made one
    (a rollback deletes it)."""

    def __init__(self, reason: str, physical_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.physical_id = reason, physical_id


@dataclass
class NativeResources:
    """The two types' handlers over a boto3 client; `sleep` passes time while they poll (the
    emulator's virtual clock, `clock.advance`)."""

    client: Any
    sleep: Callable[[float], None]
    wait_for_pending: bool = True
    """Wait for PENDING to end after a create or an update (unconfirmed; see the module's docstring)."""
    poll_interval: float = 10.0
    monitor_timeout: float = 600.0
    probe_timeout: float = 900.0

    @property
    def types(self) -> tuple[str, ...]:
        return NATIVE_TYPES

    def replaces(self, resource_type: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        return any(old.get(name) != new.get(name) for name in CREATE_ONLY[resource_type])

    def create(self, resource_type: str, properties: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The new resource's physical id (its `Ref`) and attributes."""
        properties = _writable(resource_type, properties)
        if resource_type == MONITOR_TYPE:
            return self._create_monitor(properties)
        return self._create_probe(properties)

    def update(
        self, resource_type: str, physical_id: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> dict[str, Any]:
        """An update in place (the driver creates a replacement instead where `replaces`); the attributes."""
        old, new = _writable(resource_type, old), _writable(resource_type, new)
        if resource_type == MONITOR_TYPE:
            return self._update_monitor(physical_id, old, new)
        return self._update_probe(physical_id, old, new)

    def delete(self, resource_type: str, physical_id: str, properties: Mapping[str, Any]) -> None:
        if resource_type == MONITOR_TYPE:
            name = _monitor_name_of(physical_id)
            self._call("DeleteMonitor", missing_ok=True, monitorName=name)
            self._wait_until_gone(lambda: self.client.get_monitor(monitorName=name), self.monitor_timeout)
            return
        monitor, probe_id = _probe_key(physical_id)
        self._call("DeleteProbe", missing_ok=True, monitorName=monitor, probeId=probe_id)
        self._wait_until_gone(lambda: self.client.get_probe(monitorName=monitor, probeId=probe_id), self.probe_timeout)

    # -- monitors ---------------------------------------------------------------------------------

    def _create_monitor(self, properties: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        name = str(properties["MonitorName"])
        request: dict[str, Any] = {"monitorName": name}
        if "AggregationPeriod" in properties:
            request["aggregationPeriod"] = int(properties["AggregationPeriod"])
        if properties.get("Tags"):
            request["tags"] = _tags(properties)
        arn = str(self._call("CreateMonitor", **request)["monitorArn"])
        return arn, self._settled_monitor(name, arn)

    def _update_monitor(self, arn: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
        name = _monitor_name_of(arn)
        period = int(new.get("AggregationPeriod", DEFAULT_AGGREGATION_PERIOD))
        if period != int(old.get("AggregationPeriod", DEFAULT_AGGREGATION_PERIOD)):
            self._call("UpdateMonitor", monitorName=name, aggregationPeriod=period)
        self._retag(arn, old, new)
        return self._settled_monitor(name, arn)

    def _settled_monitor(self, name: str, arn: str) -> dict[str, Any]:
        monitor = self._settled(lambda: self.client.get_monitor(monitorName=name), self.monitor_timeout, arn)
        return {
            "MonitorArn": monitor["monitorArn"],
            "State": monitor["state"],
            "CreatedAt": _timestamp(monitor.get("createdAt")),
            "ModifiedAt": _timestamp(monitor.get("modifiedAt")),
        }

    # -- probes -----------------------------------------------------------------------------------

    def _create_probe(self, properties: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        monitor = str(properties["MonitorName"])
        probe: dict[str, Any] = {
            "sourceArn": properties["SourceArn"],
            "destination": properties["Destination"],
            "protocol": properties["Protocol"],
        }
        if "DestinationPort" in properties:
            probe["destinationPort"] = int(properties["DestinationPort"])
        if "PacketSize" in properties:
            probe["packetSize"] = int(properties["PacketSize"])
        if properties.get("Tags"):
            probe["tags"] = _tags(properties)
        probe_id = str(self._call("CreateProbe", monitorName=monitor, probe=probe)["probeId"])
        physical_id = f"{monitor}|{probe_id}"
        return physical_id, self._settled_probe(monitor, probe_id, physical_id)

    def _update_probe(self, physical_id: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
        monitor, probe_id = _probe_key(physical_id)
        changed: dict[str, Any] = {
            field: int(new[name]) if name == "DestinationPort" else new[name]
            for name, field in PROBE_UPDATES.items()
            if name in new and new.get(name) != old.get(name)
        }
        if "PacketSize" in new and new.get("PacketSize") != old.get("PacketSize"):
            changed["packetSize"] = int(new["PacketSize"])
        if changed:
            self._call("UpdateProbe", monitorName=monitor, probeId=probe_id, **changed)
        if _tags(old) != _tags(new):
            arn = self._call("GetProbe", monitorName=monitor, probeId=probe_id)["probeArn"]
            self._retag(str(arn), old, new)
        return self._settled_probe(monitor, probe_id, physical_id)

    def _settled_probe(self, monitor: str, probe_id: str, physical_id: str) -> dict[str, Any]:
        probe = self._settled(
            lambda: self.client.get_probe(monitorName=monitor, probeId=probe_id), self.probe_timeout, physical_id
        )
        return {
            "ProbeId": probe["probeId"],
            "ProbeArn": probe["probeArn"],
            "State": probe["state"],
            "AddressFamily": probe.get("addressFamily", ""),
            "VpcId": probe.get("vpcId", ""),
            "CreatedAt": _timestamp(probe.get("createdAt")),
            "ModifiedAt": _timestamp(probe.get("modifiedAt")),
        }

    # -- the service ------------------------------------------------------------------------------

    def _retag(self, arn: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        before, after = _tags(old), _tags(new)
        removed = sorted(set(before) - set(after))
        if removed:
            self._call("UntagResource", resourceArn=arn, tagKeys=removed)
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        if changed:
            self._call("TagResource", resourceArn=arn, tags=changed)

    def _call(self, operation: str, *, missing_ok: bool = False, **request: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        method = getattr(self.client, _snake(operation))
        try:
            return dict(method(**request))
        except ClientError as error:
            if missing_ok and _code(error) == "ResourceNotFoundException":
                return {}
            raise ProvisionFailure(f"{operation}: {_message(error)}") from None

    def _settled(self, get: Callable[[], Mapping[str, Any]], timeout: float, physical_id: str) -> Mapping[str, Any]:
        """What `get` answers once PENDING is over (at once without `wait_for_pending`); ERROR
        fails, with the resource made, so that a rollback deletes it."""
        from botocore.exceptions import ClientError

        waited = 0.0
        while True:
            try:
                found = get()
            except ClientError as error:
                raise ProvisionFailure(_message(error), physical_id) from None
            state = found.get("state")
            if state == "ERROR":
                raise ProvisionFailure(f"{physical_id} is in state ERROR", physical_id)
            if state != "PENDING" or not self.wait_for_pending:
                return found
            if waited >= timeout:
                raise ProvisionFailure(f"{physical_id} still PENDING after {timeout:.0f} s", physical_id)
            self.sleep(self.poll_interval)
            waited += self.poll_interval

    def _wait_until_gone(self, get: Callable[[], Mapping[str, Any]], timeout: float) -> None:
        from botocore.exceptions import ClientError

        waited = 0.0
        while True:
            try:
                state = get().get("state")
            except ClientError as error:
                if _code(error) == "ResourceNotFoundException":
                    return
                raise ProvisionFailure(_message(error)) from None
            if state == "DELETED":
                return
            if waited >= timeout:
                raise ProvisionFailure(f"still {state} after {timeout:.0f} s")
            self.sleep(self.poll_interval)
            waited += self.poll_interval


def monitor_of(physical_id: str) -> str:
    """The name of the monitor a deployed resource stands for: a custom resource's physical id is
    the name, a native monitor's is its ARN, a native probe's `MonitorName|ProbeId`."""
    return _probe_key(physical_id)[0] if "|" in physical_id else _monitor_name_of(physical_id)


def _writable(resource_type: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in properties.items() if k not in READ_ONLY[resource_type]}


def _tags(properties: Mapping[str, Any]) -> dict[str, str]:
    """A template's `Tags` (a list of {Key, Value}) as the API's map."""
    return {str(tag["Key"]): str(tag["Value"]) for tag in properties.get("Tags") or ()}


def _monitor_name_of(arn: str) -> str:
    return arn.rsplit(":monitor/", 1)[-1]


def _probe_key(physical_id: str) -> tuple[str, str]:
    """`MonitorName|ProbeId`, the probe's `Ref`, split."""
    monitor, _, probe_id = physical_id.partition("|")
    return monitor, probe_id


def _timestamp(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: Any) -> str:
    details = error.response.get("Error", {})
    return f"{details.get('Code', 'Error')}: {details.get('Message', error)}"
