"""What IAM is asked for each request to the emulated service: actions, resources, condition keys.

Which resource an action is authorized on comes from the Service Authorization Reference, through
the table generated from its packaged copy (`cdk_netmon.testing.service_authorization`), never from
our reading: CreateProbe and ListMonitors have no resource type and are asked on `*`; GetProbe,
UpdateProbe and DeleteProbe on the probe; the tag operations on the ARN they name. Two more facts
come from the reference's prose rather than its table, each cited where it is used:
- creating with tags also asks networkmonitor:TagResource (its operations table lists TagResource
  as authorized by CreateMonitor and CreateProbe), on the resource being created: ARNs of resources
  not made yet carry `*` for the id the service will assign, as IAM asks EC2 creations;
- the service places probes with the caller's permissions: AWS documents that the caller needs
  ec2:CreateSecurityGroup, ec2:CreateNetworkInterface and ec2:CreateTags (the Network Monitor
  user guide, "Identity and access management"); they are asked for the footprint a request makes
  (`network`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from cdk_netmon.testing.iam import ContextValue, arn_of, resources_asked

from .backend import NetworkMonitorBackend
from .exceptions import ServiceError
from .models import Monitor, Probe

Authorization = tuple[str, str, dict[str, ContextValue]]
"""What IAM is asked for one request: an action, a resource ARN and the condition context."""


def authorizations(backend: NetworkMonitorBackend, operation: str, params: Mapping[str, Any]) -> list[Authorization]:
    """(action, resource, condition context) for each authorization one request needs."""
    action = f"networkmonitor:{operation}"
    name = params.get("monitor_name", "")
    monitor = backend.monitors.get(name)

    def arn(kind: str, resource_name: str) -> str:
        return arn_of("networkmonitor", kind, region=backend.region, account=backend.account, name=resource_name)

    def asked(
        what: str, involved: Mapping[str, str], context: Mapping[str, ContextValue] | None = None
    ) -> list[Authorization]:
        return [(what, resource, dict(context or {})) for resource in resources_asked(what, involved)]

    if operation == "CreateMonitor":
        keys = list(params.get("tags") or {})
        probes = list(params.get("probes") or ())
        found = asked(action, {"monitor": arn("monitor", name)}, {"aws:TagKeys": keys})
        if keys or any(probe.get("probeTags") for probe in probes):
            found += asked("networkmonitor:TagResource", {"monitor": arn("monitor", name)}, {"aws:TagKeys": keys})
        return found + footprint(backend, name, [probe["sourceArn"] for probe in probes])
    if operation == "CreateProbe":
        probe = params["probe"]
        keys = list({**(params.get("tags") or {}), **(probe.get("tags") or {})})
        found = asked(action, {})
        if keys:
            found += asked("networkmonitor:TagResource", {"probe": arn("probe", "*")}, {"aws:TagKeys": keys})
        return found + footprint(backend, name, [probe["sourceArn"]])
    if operation in ("GetProbe", "UpdateProbe", "DeleteProbe"):
        target = monitor.probes.get(params["probe_id"]) if monitor else None
        return asked(action, {"probe": arn("probe", params["probe_id"])}, _resource_tags(target))
    if operation in ("TagResource", "UntagResource", "ListTagsForResource"):
        resource_arn = params["resource_arn"]
        kind = "probe" if ":probe/" in resource_arn else "monitor"
        try:
            tagged: Monitor | Probe | None = backend._by_arn(resource_arn)
        except ServiceError:
            tagged = None
        keys = list(params.get("tags") or {}) or list(params.get("tag_keys") or [])
        context = {**_resource_tags(tagged), **({"aws:TagKeys": keys} if keys else {})}
        return asked(action, {kind: resource_arn}, context)
    # GetMonitor, UpdateMonitor, DeleteMonitor on the monitor; ListMonitors on "*".
    return asked(action, {"monitor": arn("monitor", name)} if name else {}, _resource_tags(monitor))


def footprint(backend: NetworkMonitorBackend, monitor_name: str, source_arns: Iterable[str]) -> list[Authorization]:
    """The EC2 authorizations of placing probes from `source_arns`: a security group in each VPC
    the monitor has none in yet, and a network interface per probe, each tagged as it is made."""

    def ec2(kind: str, name: str) -> str:
        return arn_of("ec2", kind, region=backend.region, account=backend.account, name=name)

    found: list[Authorization] = []
    new_groups: set[str] = set()
    ours = rf"arn:aws[a-z-]*:ec2:{re.escape(backend.region)}:{backend.account}:subnet/subnet-[0-9a-f]+"
    for source_arn in source_arns:
        if not isinstance(source_arn, str) or not re.fullmatch(ours, source_arn):
            continue  # refused by the service's own checks, before any footprint
        subnet = source_arn.rsplit("/", 1)[-1]
        vpc = backend.network.vpc_of(subnet)
        group = backend.network.group_of(monitor_name, vpc) if vpc not in new_groups else None
        if group is None and vpc not in new_groups:
            new_groups.add(vpc)
            involved = {"security-group": ec2("security-group", "*"), "vpc": ec2("vpc", vpc)}
            found += [("ec2:CreateSecurityGroup", r, {}) for r in resources_asked("ec2:CreateSecurityGroup", involved)]
            found.append(("ec2:CreateTags", ec2("security-group", "*"), {"ec2:CreateAction": "CreateSecurityGroup"}))
        group_arn = ec2("security-group", group or "*")
        involved = {
            "network-interface": ec2("network-interface", "*"),
            "subnet": ec2("subnet", subnet),
            "security-group": group_arn,
        }
        found += [
            ("ec2:CreateNetworkInterface", r, {}) for r in resources_asked("ec2:CreateNetworkInterface", involved)
        ]
        found.append(("ec2:CreateTags", ec2("network-interface", "*"), {"ec2:CreateAction": "CreateNetworkInterface"}))
    return found


def _resource_tags(resource: Monitor | Probe | None) -> dict[str, ContextValue]:
    return {f"aws:ResourceTag/{k}": v for k, v in (resource.tags if resource else {}).items()}
