"""What users import for their own tests of stacks that use `NetworkMonitor`.

- `declared_monitors(stack_or_template)`: each monitor's `Monitor` document as plain data, with
  deploy-time values written readably (`${VpcPrivateSubnet1Subnet...}`), so that tests can assert on
  probes even when their sources are `ec2.ISubnet`s (the property is then an `Fn::Join`).
- `normalise_asset_hashes(template)`: asset hashes replaced by a placeholder, so that a library
  upgrade that changes a byte of the handler does not break a snapshot; a change of resources,
  properties or permissions still does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import Stack
from aws_cdk.assertions import Template

from cdk_netmon.handler.model import PROPERTY_NAME

MONITOR_TYPE = "Custom::NetworkMonitor"
ASSET_HASH = re.compile(r"[0-9a-f]{64}")
ASSET_PLACEHOLDER = "<asset-hash>"


def template_of(stack_or_template: Stack | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(stack_or_template, Stack):
        return dict(Template.from_stack(stack_or_template).to_json())
    return dict(stack_or_template)


def declared_monitors(stack_or_template: Stack | Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each `Custom::NetworkMonitor`'s document, by logical id, in CreateMonitor's shape.

    A deploy-time value reads as `${LogicalId}` (a Ref), `${LogicalId.Attribute}` (a GetAtt) or
    `${AWS::Region}` (a pseudo parameter)."""
    resources = template_of(stack_or_template).get("Resources", {})
    return {
        logical_id: json.loads(readable(resource["Properties"][PROPERTY_NAME]))
        for logical_id, resource in resources.items()
        if resource.get("Type") == MONITOR_TYPE
    }


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
