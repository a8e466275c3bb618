"""Interop with jsii, the bridge to aws-cdk-lib's Node.js code, kept apart from the rules.

Every call into aws-cdk-lib is a message to Node.js and back, so what Python can answer itself
(is a string a token? is an object an ec2.ISubnet?) is answered here without one. EC2's module is
never imported by cdk_netmon: a value can only be an `ec2.ISubnet` if the app imported it already.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from aws_cdk import Token

_TOKEN_MARKER = "{Token["
_LIST_TOKEN_MARKER = "#{Token["


def ec2_type(name: str) -> Any:
    """A class of aws_cdk.aws_ec2 if the app has imported that module, else None."""
    module = sys.modules.get("aws_cdk.aws_ec2")
    return getattr(module, name) if module is not None else None


def is_ec2(value: object, name: str) -> bool:
    """Whether `value` is an instance of aws_cdk.aws_ec2's class `name` (never, if the app has not
    imported aws_cdk.aws_ec2)."""
    cls = ec2_type(name)
    return cls is not None and isinstance(value, cls)


def is_unresolved(value: Any) -> bool:
    """Token.is_unresolved without a round trip to jsii for the plain values that dominate. NaN and
    infinities are no tokens (and JSON, so jsii, cannot carry them); nor is any Python object jsii
    knows nothing of (it cannot carry those either), nor a dict. A list is one as aws-cdk-lib's
    `unresolved` says: a list token."""
    if value is None or isinstance(value, bool | int):
        return False
    if isinstance(value, str):
        return _TOKEN_MARKER in value
    if isinstance(value, float):
        return math.isfinite(value) and bool(Token.is_unresolved(value))
    if isinstance(value, list | tuple):
        return is_list_token(value)
    if not _known_to_jsii(value):
        return False
    return bool(Token.is_unresolved(value))


def _known_to_jsii(value: object) -> bool:
    """An object of aws-cdk-lib (or another jsii library), or of a class that implements one of its
    interfaces: what jsii can hand over."""
    kind = type(value)
    return (
        hasattr(value, "__jsii_ref__") or hasattr(kind, "__jsii_type__") or bool(getattr(kind, "__jsii_ifaces__", None))
    )


def is_list_element(value: object) -> bool:
    """A string that stands for a deploy-time list (`CfnParameter(type="CommaDelimitedList").value_as_list`
    is one), or an element of one taken with `[i]`: aws-cdk-lib refuses it wherever a string belongs."""
    return isinstance(value, str) and _LIST_TOKEN_MARKER in value


def is_list_token(value: object) -> bool:
    """A deploy-time list (a list parameter's `value_as_list`, `Fn.split`), which holds no items at synth."""
    return isinstance(value, list | tuple) and any(is_list_element(item) for item in value)


def implements(value: object, interface: Any) -> bool:
    """Whether a jsii object implements a jsii interface (which Python's isinstance cannot tell);
    False for an interface of a module the app has not imported (None)."""
    if interface is None:
        return False
    proxy = interface.__jsii_proxy_class__()
    candidates = [value]
    if type(value).__name__ == "InterfaceDynamicProxy":  # an imported resource: its delegates say what it is
        candidates += getattr(value, "_delegates", [])
    for candidate in candidates:
        if isinstance(candidate, proxy):
            return True
        for cls in type(candidate).__mro__:
            if any(interface in declared.__mro__ for declared in getattr(cls, "__jsii_ifaces__", None) or ()):
                return True
    return False


def whole_number(value: Any) -> Any:
    """An int for a whole float (jsii hands numbers over as floats); anything else unchanged."""
    if isinstance(value, float) and value.is_integer() and not is_unresolved(value):
        return int(value)
    return value
