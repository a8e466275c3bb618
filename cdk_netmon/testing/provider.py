"""Which resources of a template are the handler of its `Custom::NetworkMonitor` resources.

CloudFormation calls a custom resource's `ServiceToken`. With aws-cdk-lib's Provider framework that is
the framework's onEvent function, whose environment names the user's functions
(`USER_ON_EVENT_FUNCTION_ARN`, `USER_IS_COMPLETE_FUNCTION_ARN`, aws-cdk-lib's
custom-resources/lib/provider-framework/runtime/consts.js); those run as their `Role`, with the
policies attached to it. Following that chain tells the handler's permissions and environment apart
from everything else in the stack, such as the policy of a role a monitor was granted to
(`monitor.grant_read(role)`), which also names `networkmonitor:` actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cdk_netmon.handler.spec import RESOURCE_TYPE

USER_FUNCTION_VARIABLES = ("USER_ON_EVENT_FUNCTION_ARN", "USER_IS_COMPLETE_FUNCTION_ARN")
"""The framework's variables that name the user's handler functions."""
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
"""The resources that attach a policy document to the roles they list."""


@dataclass(frozen=True)
class HandlerResources:
    """The template's handler functions, their roles, what is attached to the roles, and their
    environment, all as written in the template (intrinsic functions unresolved)."""

    functions: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    policy_documents: tuple[Mapping[str, Any], ...] = ()
    """The documents of `AWS::IAM::Policy` resources attached to the roles, and the roles' inline policies."""
    environment: Mapping[str, Any] = field(default_factory=dict)
    """The handler functions' environment variables (the same for every function of one provider)."""

    @property
    def found(self) -> bool:
        return bool(self.functions)


def handler_resources(template: Mapping[str, Any]) -> HandlerResources:
    """The handler behind the template's monitors, found from their service tokens; nothing found
    where a token names no function of this template (a provider of another stack, say)."""
    resources: Mapping[str, Any] = template.get("Resources") or {}
    functions: list[str] = []
    for resource in resources.values():
        if not isinstance(resource, Mapping) or resource.get("Type") != RESOURCE_TYPE:
            continue
        framework = _function_named_by((resource.get("Properties") or {}).get("ServiceToken"), resources)
        if framework is None:
            continue
        variables = _variables(resources[framework])
        users = [_function_named_by(variables.get(name), resources) for name in USER_FUNCTION_VARIABLES]
        # Without the framework (a token that names the handler itself), the function is the handler.
        for function in [u for u in users if u is not None] or [framework]:
            if function not in functions:
                functions.append(function)
    roles: list[str] = []
    environment: dict[str, Any] = {}
    for function in functions:
        properties = resources[function].get("Properties") or {}
        role = _logical_id_of(properties.get("Role"))
        if role is not None and role in resources and role not in roles:
            roles.append(role)
        environment.update(_variables(resources[function]))
    documents: list[Mapping[str, Any]] = []
    for role in roles:
        for inline in (resources[role].get("Properties") or {}).get("Policies") or ():
            if isinstance(inline, Mapping) and isinstance(inline.get("PolicyDocument"), Mapping):
                documents.append(inline["PolicyDocument"])
    for resource in resources.values():
        if not isinstance(resource, Mapping) or resource.get("Type") not in POLICY_TYPES:
            continue
        properties = resource.get("Properties") or {}
        attached = {_logical_id_of(r) for r in properties.get("Roles") or ()}
        if attached & set(roles) and isinstance(properties.get("PolicyDocument"), Mapping):
            documents.append(properties["PolicyDocument"])
    return HandlerResources(tuple(functions), tuple(roles), tuple(documents), environment)


def _function_named_by(value: Any, resources: Mapping[str, Any]) -> str | None:
    """The logical id of the template's Lambda function that `value` (a GetAtt of its Arn, or a Ref) names."""
    logical_id = _logical_id_of(value)
    resource = resources.get(logical_id) if logical_id is not None else None
    if isinstance(resource, Mapping) and resource.get("Type") == "AWS::Lambda::Function":
        return logical_id
    return None


def _logical_id_of(value: Any) -> str | None:
    """`{"Ref": X}` or `{"Fn::GetAtt": [X, ...]}` -> X."""
    if isinstance(value, Mapping) and len(value) == 1:
        [(key, argument)] = value.items()
        if key == "Ref" and isinstance(argument, str):
            return argument
        if key == "Fn::GetAtt" and isinstance(argument, list) and argument and isinstance(argument[0], str):
            return argument[0]
        if key == "Fn::GetAtt" and isinstance(argument, str):
            return argument.split(".", 1)[0]
    return None


def _variables(function: Mapping[str, Any]) -> dict[str, Any]:
    environment = (function.get("Properties") or {}).get("Environment") or {}
    variables = environment.get("Variables") if isinstance(environment, Mapping) else None
    return dict(variables) if isinstance(variables, Mapping) else {}
