"""What users import for their own tests of stacks that use `NetworkMonitor`.

For offline deploys: `offline_stack` (a stack deployed by the shipped handler to the emulator, as
CloudFormation would deploy it), `handler_pointed_at` (the shipped handler on a client that reaches
the emulator, for a `StackDriver` of your own), `Progress` (progress lines, as the driver's
`observe`), `describe` and `declared_quotas`.

- `declared_monitors(stack_or_template)`: each monitor in CreateMonitor's shape as plain data, with
  deploy-time values written readably (`${VpcPrivateSubnet1Subnet...}`), so that tests can assert on
  probes even when their sources are `ec2.ISubnet`s (the property is then an `Fn::Join`);
  `declared_properties(document)` the other way round, for templates written by hand.
- `normalise_asset_hashes(template)`: asset hashes replaced by a placeholder, so that a library
  upgrade that changes a byte of the handler does not break a snapshot; a change of resources,
  properties or permissions still does.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from cdk_netmon.handler import service
from cdk_netmon.handler.lifecycle import Handler
from cdk_netmon.handler.rules import DEFAULT_QUOTAS, QUOTAS_METADATA, Quotas, is_owner_tag
from cdk_netmon.handler.spec import (
    ACTIVE,
    AGGREGATION_PERIOD,
    DEFAULT_AGGREGATION_PERIOD,
    LEGACY_PROPERTY,
    MONITOR_NAME,
    PROBES,
    RESOURCE_TYPE,
    TAGS,
    MonitorSpec,
    endpoint,
    probe_key,
    probe_properties,
    unique_keys,
)
from cdk_netmon.plan.declared import native_as_custom
from cdk_netmon.plan.resolve import Resolver

from .cloudformation import StackDriver
from .ec2 import add_principal
from .emulator import LocalNetworkMonitor
from .emulator.network import DESCRIPTION
from .native import MONITOR_TYPE, PROBE_TYPE, NativeResources
from .provider import handler_resources

if TYPE_CHECKING:
    from aws_cdk import Stack

SERVICE_GROUP_DESCRIPTION = DESCRIPTION.format(monitor="")

ASSET_HASH = re.compile(r"[0-9a-f]{64}")
ASSET_PLACEHOLDER = "<asset-hash>"


def template_of(stack_or_template: Stack | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(stack_or_template, Mapping):
        return dict(stack_or_template)
    from aws_cdk.assertions import Template  # aws-cdk-lib (and Node.js) only for a stack

    return dict(Template.from_stack(stack_or_template).to_json())


def declared_monitors(stack_or_template: Stack | Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each monitor, by logical id, in CreateMonitor's shape: `probes` a list in declared order,
    `state` only for a paused probe. A `Custom::NetworkMonitor` reads so, as does a native
    `AWS::NetworkMonitor::Monitor` with the `AWS::NetworkMonitor::Probe` resources of its name (the
    native engine's, or hand-written). Templates of releases up to 0.2.0 (one `Monitor` string) read
    the same, so tests written against them keep passing.

    A deploy-time value reads as `${LogicalId}` (a Ref), `${LogicalId.Attribute}` (a GetAtt) or
    `${AWS::Region}` (a pseudo parameter)."""
    resources = template_of(stack_or_template).get("Resources", {})
    monitors = {
        logical_id: _document(resource["Properties"])
        for logical_id, resource in resources.items()
        if resource.get("Type") == RESOURCE_TYPE
    }
    probes = {
        logical_id: _rendered(resource.get("Properties") or {})
        for logical_id, resource in resources.items()
        if resource.get("Type") == PROBE_TYPE
    }
    native = {
        logical_id: _document(native_as_custom(_rendered(resource.get("Properties") or {}), probes))
        for logical_id, resource in resources.items()
        if resource.get("Type") == MONITOR_TYPE
    }
    return {**monitors, **native}


def _document(properties: Mapping[str, Any]) -> dict[str, Any]:
    if LEGACY_PROPERTY in properties:
        legacy: dict[str, Any] = json.loads(readable(properties[LEGACY_PROPERTY]))
        return legacy
    spec = MonitorSpec.from_properties(_rendered(properties), check=False)
    document: dict[str, Any] = {"monitorName": spec.name, "aggregationPeriod": spec.aggregation_period}
    if spec.tags:
        document["tags"] = dict(spec.tags)
    document["probes"] = []
    for probe in spec.probes:
        body = probe.to_api("probeTags")
        if probe.state != "ACTIVE":
            body["state"] = probe.state
        document["probes"].append(body)
    return document


def declared_properties(document: Mapping[str, Any]) -> dict[str, Any]:
    """The properties the construct writes for a monitor given in CreateMonitor's shape (a `probes`
    list, `probeTags`, `state` for a paused probe): `declared_monitors` the other way round, each
    probe keyed as the construct keys one with a literal source."""
    probes = list(document.get("probes") or ())
    keys = unique_keys(
        probe_key(p["protocol"], p["destination"], str(p["sourceArn"]).rsplit("/", 1)[-1]) for p in probes
    )
    properties: dict[str, Any] = {
        MONITOR_NAME: document["monitorName"],
        AGGREGATION_PERIOD: document.get("aggregationPeriod", DEFAULT_AGGREGATION_PERIOD),
    }
    if document.get("tags"):
        properties[TAGS] = dict(document["tags"])
    if probes:
        properties[PROBES] = {
            key: probe_properties(
                source_arn=p["sourceArn"],
                destination=p["destination"],
                protocol=p["protocol"],
                destination_port=p.get("destinationPort"),
                packet_size=p.get("packetSize"),
                tags=p.get("probeTags") or {},
                state=p.get("state", ACTIVE),
            )
            for key, p in zip(keys, probes, strict=True)
        }
    return properties


def _rendered(value: Any) -> Any:
    """Properties with each intrinsic function written as a `${...}` placeholder."""
    return Resolver({}, {})(value)


def readable(value: Any) -> str:
    """A JSON string property with its intrinsic functions written as `${...}` placeholders; a
    placeholder that stands where JSON expects a value (a number token) is quoted."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        text = ""
        for index, part in enumerate(parts):
            text += (str(separator) if index else "") + (
                part if isinstance(part, str) else _placeholder(part, quoted=not _inside_string(text))
            )
        return text
    return _placeholder(value, quoted=False)


def _placeholder(value: Any, quoted: bool) -> str:
    if isinstance(value, Mapping) and len(value) == 1:
        [(key, argument)] = value.items()
        if key == "Ref":
            name = f"${{{argument}}}"
            return json.dumps(name) if quoted else name
        if key == "Fn::GetAtt":
            name = "${" + ".".join(argument) + "}"
            return json.dumps(name) if quoted else name
    raise ValueError(f"{json.dumps(value)[:80]} is not a value the kit can render")


def _inside_string(json_text: str) -> bool:
    """Whether JSON text so far ends inside a string literal: its unescaped quotes are odd."""
    return len(re.findall(r'(?<!\\)(?:\\\\)*"', json_text)) % 2 == 1


def normalise_asset_hashes(template: Mapping[str, Any]) -> dict[str, Any]:
    """The template with every asset hash (64 hex digits) replaced by `<asset-hash>`."""
    return dict(json.loads(ASSET_HASH.sub(ASSET_PLACEHOLDER, json.dumps(template))))


@contextmanager
def handler_pointed_at(
    emulator: LocalNetworkMonitor,
    account: str | None = None,
    region: str | None = None,
    *,
    quotas: Quotas | None = None,
) -> Iterator[Handler]:
    """The shipped handler, with its own retry budget, on SDK clients that reach the emulator and
    its EC2 as `account` in `region`; the SDK's backoff and the handler's clock are the emulator's
    virtual clock. `quotas`: those the stack declares (`declared_quotas(template)`), which the
    deployed handler reads from its environment. `offline_stack` does all of this for a stack."""
    with emulator.virtual_sdk_sleep():
        yield handler_for(emulator, account, region, quotas=quotas)


def handler_for(
    emulator: LocalNetworkMonitor,
    account: str | None = None,
    region: str | None = None,
    *,
    quotas: Quotas | None = None,
) -> Handler:
    """The shipped handler on its own kind of clients (its retry budget), reaching the emulator and
    its EC2, on the emulator's clock."""
    return Handler(
        service.new_client(**emulator.client_options(account, region)),
        service.new_client("ec2", **emulator.ec2_client_options(account, region)),
        now=emulator.clock.now,
        quotas=quotas or DEFAULT_QUOTAS,
    )


def declared_quotas(stack_or_template: Stack | Mapping[str, Any]) -> Quotas:
    """The quotas a stack declares (`NetworkMonitorProvider.configure(quotas=...)`), as its handler
    functions' environment carries them, or, for native monitors, the template's `Metadata`; the
    service's defaults where it declares none."""
    template = template_of(stack_or_template)
    environment = handler_resources(template).environment
    quotas = Quotas.from_environment({k: v for k, v in environment.items() if isinstance(v, str)})
    metadata = (template.get("Metadata") or {}).get(QUOTAS_METADATA)
    return quotas if quotas != DEFAULT_QUOTAS or not isinstance(metadata, str) else Quotas.decoded(metadata)


@contextmanager
def offline_stack(
    emulator: LocalNetworkMonitor, account: str | None = None, region: str | None = None, **options: Any
) -> Iterator[StackDriver]:
    """A stack in `account` and `region` (the emulator's defaults) that `deploy(template)` deploys
    as CloudFormation would, through the shipped handler, to the emulator: the emulator enforces
    the handler's policy; the quotas the template declares reach the handler and the emulator's
    account and region (as a team raised them there); every resource the driver does not deploy has
    a stand-in physical id. The template's `AWS::NetworkMonitor::Monitor` and `::Probe` go to the
    emulator through CloudFormation's own handlers (`native_resources`), authorized as an
    administrator. `options` are `StackDriver`'s (`stack_name`, `parameters`, `refs`, `exports`,
    `observe`, `native`, ...); the SDK's backoff passes on the virtual clock."""
    with emulator.virtual_sdk_sleep():
        yield stack_on(emulator, account, region, **options)


def stack_on(
    emulator: LocalNetworkMonitor, account: str | None = None, region: str | None = None, **options: Any
) -> StackDriver:
    """`offline_stack`'s driver, for callers that manage the SDK's sleep themselves (the command)."""
    account, region = account or emulator.default_account, region or emulator.default_region
    handler = handler_for(emulator, account, region)

    def environment(variables: Mapping[str, str]) -> None:
        quotas = Quotas.from_environment(variables)
        handler.quotas = quotas
        if quotas != DEFAULT_QUOTAS:
            emulator.set_quotas(account, region, **vars(quotas))

    return StackDriver(
        on_event=handler.on_event,
        is_complete=handler.is_complete,
        clock=emulator.clock,
        grant=lambda policy: emulator.use_policy(policy, account),
        environment=environment,
        account=account,
        region=region,
        **{"placeholders": True, "native": native_resources(emulator, account, region), **options},
    )


def native_resources(
    emulator: LocalNetworkMonitor, account: str | None = None, region: str | None = None, **options: Any
) -> NativeResources:
    """CloudFormation's own handlers of the native types, on an administrator's client of the
    emulator as `account` in `region`, polling on its virtual clock; `options` are
    `NativeResources`' (`wait_for_pending`, ...)."""
    import boto3

    client = add_principal(boto3.client("networkmonitor", **emulator.client_options(account, region)), "admin")
    return NativeResources(client, sleep=emulator.clock.advance, **options)


class Progress:
    """Prints a line whenever a request moves on or a monitor's or probe's state changes."""

    def __init__(
        self, emulator: LocalNetworkMonitor, out: TextIO, account: str | None = None, region: str | None = None
    ) -> None:
        self.emulator, self.out = emulator, out
        self.account, self.region = account, region
        self.start = emulator.clock.now()
        self.last = ""

    def __call__(self, logical_id: str, request_type: str, stage: str) -> None:
        states = self.states()
        if stage == "waiting" and states == self.last:
            return
        self.last = states
        elapsed = self.emulator.clock.now() - self.start
        self.out.write(f"[t+{elapsed:5.0f}s] {request_type:<6} {logical_id:<28} {stage:<8} {states}\n")

    def states(self) -> str:
        monitors = self.emulator.snapshot(self.account, self.region)
        if not monitors:
            return "(no monitors)"
        return "; ".join(
            f"{name} {m['state']}" + (f", probes {_count(m['probes'])}" if m["probes"] else "")
            for name, m in sorted(monitors.items())
        )


def _count(probes: list[Mapping[str, Any]]) -> str:
    counts = Counter(p["state"] for p in probes)
    return " ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def service_security_groups(
    emulator: LocalNetworkMonitor, account: str | None = None, region: str | None = None
) -> list[dict[str, str]]:
    """The security groups the service made in the emulator's EC2 (GroupId, VpcId, Description):
    what the handler must have deleted once their monitor or probes are gone."""
    import boto3

    options = {**emulator.client_options(account, region), "endpoint_url": emulator.ec2_endpoint_url}
    client = add_principal(boto3.client("ec2", **options), "admin")
    return [
        {"GroupId": g["GroupId"], "VpcId": g.get("VpcId", ""), "Description": g["Description"]}
        for g in client.describe_security_groups()["SecurityGroups"]
        if g["Description"].startswith(SERVICE_GROUP_DESCRIPTION)
    ]


def describe(
    emulator: LocalNetworkMonitor,
    account: str | None = None,
    region: str | None = None,
    *,
    names: Collection[str] | None = None,
) -> str:
    """Every monitor and probe of one account and region (or of the monitors `names`), a line each."""
    lines = []
    for name, monitor in sorted(emulator.snapshot(account, region).items()):
        if names is not None and name not in names:
            continue
        tags = ", ".join(f"{k}={v}" for k, v in sorted(monitor["tags"].items()) if not is_owner_tag(k))
        lines.append(f"  {name}: {monitor['state']}, aggregation {monitor['aggregationPeriod']} s, {tags or 'no tags'}")
        for probe in monitor["probes"]:
            subnet = probe["sourceArn"].rsplit("/", 1)[-1]
            target = endpoint(probe["destination"], probe.get("destinationPort"))
            lines.append(
                f"    {probe['probeId']} {probe['state']:<8} {probe['protocol']:<4} "
                f"{subnet} -> {target} ({probe['packetSize']} bytes)"
            )
    return "\n".join(lines) or "  (nothing)"
