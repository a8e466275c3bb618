"""A stand-in for CloudFormation and the CDK Provider framework, for `Custom::NetworkMonitor` and,
given their handlers (`native`), CloudFormation's own `AWS::NetworkMonitor::Monitor` and `::Probe`.

`StackDriver.deploy(template)` sends the handler the Create, Update and Delete requests that
CloudFormation would send for a stack update from the last deployed template to this one. Events
carry stringified properties, a RequestId, physical ids and OldResourceProperties. `is_complete` is
polled on a virtual clock as the Provider framework would poll it.

Resources are deployed in CloudFormation's order: after what they depend on (`DependsOn`, and the
resources their properties name with `Ref`, `Fn::GetAtt` or `Fn::Sub`, directly or through resources
the driver does not deploy), in template order where nothing orders them; they are deleted in the
reverse order, dependents first, on destroy and in the clean-up phase. The native types go through
`native` (`cdk_netmon.testing.native.NativeResources`, which `offline_stack` wires to the emulator):
a change of a create-only property replaces the resource, the new one created first and the old
one deleted in the clean-up (for a probe the monitor briefly holds both); a failed update deletes
the new one of a replacement in the rollback's clean-up. Their `Ref` and `Fn::GetAtt` resolve for
the resources and outputs after them. A template with native resources and no `native` is refused.

CloudFormation's order is kept, with the handler's IAM policy in it (the policies of the role the
monitors' service token runs as, found by `provider.handler_resources` and handed to `grant`, e.g.
the emulator's `use_policy`; a role a monitor was granted to is not the handler's), and the handler
functions' environment (handed to `environment`, where the stack's quotas are):
- an update changes the policy first (the custom resources depend on it), then creates and updates
  custom resources, then, in the clean-up phase and under the new policy, deletes removed resources
  and the old physical resources of replacements. A Delete that fails there does not fail the
  update: the resource is abandoned (`abandoned`), as CloudFormation abandons it;
- a failed update rolls the custom resources back under the new policy (an Update back to the old
  properties), restores the old policy, then deletes what the failed update created. How a failed
  replacement is rolled back differs by engine (`failed_replacement`): AWS is reported to delete the
  new physical resource in the clean-up ("delete-new"); other engines ignore the new physical id and
  send an Update back to the old properties with the old id ("update-old");
- a failed first deployment deletes what it created, then the policy;
- destroy deletes the custom resources, then the policy.

`DeletionPolicy: Retain` keeps a resource's monitor where CloudFormation would delete it: on destroy,
on removal from the template, and when a failed deployment rolls back what it created;
`RetainExceptOnCreate` the same, except in that rollback.
`UpdateReplacePolicy: Retain` keeps the old monitor of a replacement. Retained resources are listed
in `retained`. Parameters take the values given in `parameters`, else their defaults. Other resource
types are not deployed; references to them resolve from `refs` (see `placeholder_ids`, which
`placeholders=True` applies to each template deployed). Anything else the driver does not emulate is
refused with one line that names it; a value it lacks names the ref that would give it
(`UnsupportedTemplateError.needed`).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from cdk_netmon.handler.rules import QUOTAS_METADATA, QUOTAS_VARIABLE
from cdk_netmon.handler.spec import RESOURCE_TYPE
from cdk_netmon.plan.resolve import delivered, select_index

from .defaults import DEFAULT_ACCOUNT, DEFAULT_REGION
from .iam import NO_PERMISSIONS, AccessPolicy
from .native import ProvisionFailure
from .provider import handler_resources

NATIVE_PREFIX = "AWS::NetworkMonitor::"
"""CloudFormation's own types of the service, which the driver deploys only through `native`."""

CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
RETAIN, DELETE = "Retain", "Delete"
"""The DeletionPolicy and UpdateReplacePolicy values the stand-in honours (Delete by default)."""
RETAIN_EXCEPT_ON_CREATE = "RetainExceptOnCreate"
"""A DeletionPolicy that retains as Retain does, except when the rollback of the stack operation
that created the resource deletes it (CloudFormation's DeletionPolicy attribute page); aws-cdk-lib
writes it for RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE."""

Handler = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]
FailedReplacement = Literal["delete-new", "update-old"]


class VirtualClock(Protocol):
    def advance(self, seconds: float) -> None: ...


class NativeProvisioner(Protocol):
    """CloudFormation's own handlers for resource types other than the custom resource: what the
    driver needs of `cdk_netmon.testing.native.NativeResources`. Each call returns once the
    handler is done, or raises ProvisionFailure."""

    @property
    def types(self) -> tuple[str, ...]:
        """The resource types it provisions."""
        ...

    def replaces(self, resource_type: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        """Whether going from `old` to `new` changes a create-only property."""
        ...

    def create(self, resource_type: str, properties: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """(physical id, which `Ref` gives; attributes, which `Fn::GetAtt` reads)."""
        ...

    def update(
        self, resource_type: str, physical_id: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> dict[str, Any]:
        """An update in place; the attributes."""
        ...

    def delete(self, resource_type: str, physical_id: str, properties: Mapping[str, Any]) -> None: ...


class UnsupportedTemplateError(ValueError):
    """The template uses something the driver does not emulate, or a value it does not know; the
    message names it. `needed` is the name of the ref that would give the missing value, if that is
    what is missing (`refs={needed: ...}`; the offline command's `--ref NEEDED=VALUE`)."""

    def __init__(self, reason: str, needed: str | None = None) -> None:
        super().__init__(f"{reason}; give its value as ref {needed}=VALUE" if needed else reason)
        self.reason, self.needed = reason, needed


class DeployFailedError(RuntimeError):
    """A stack operation failed and was rolled back; `reason` is the failing resource's reason."""

    def __init__(self, logical_id: str, reason: str) -> None:
        super().__init__(f"{logical_id}: {reason}")
        self.logical_id, self.reason = logical_id, reason


class _ProviderFailure(Exception):
    def __init__(self, reason: str, physical_id: str | None) -> None:
        super().__init__(reason)
        self.reason, self.physical_id = reason, physical_id


@dataclass
class Deployed:
    physical_id: str
    properties: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    deletion_policy: str = "Delete"
    update_replace_policy: str = "Delete"
    resource_type: str = RESOURCE_TYPE


@dataclass
class StackDriver:
    """One stack's custom resources, deployed through `on_event` and `is_complete`."""

    on_event: Handler
    is_complete: Handler
    clock: VirtualClock
    refs: Mapping[str, str] = field(default_factory=dict)
    """Physical ids of the template's other resources, by logical id (see `placeholder_ids`), and
    values of `Fn::ImportValue` names that no deployed stack exports."""
    exports: Mapping[str, str] = field(default_factory=dict)
    """What other stacks of the app export (their `outputs`), for `Fn::ImportValue`."""
    stack_outputs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Every output of the app's other stacks, by `<region>/<stack name>` then output name (their
    `output_values(template)`), for `Fn::GetStackOutput`: aws-cdk-lib writes a
    cross-stack reference so under `@aws-cdk/core:defaultCrossStackReferences: weak`."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    """Values of the template's parameters; a parameter not given takes its Default."""
    stack_name: str = "Stack"
    account: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
    query_interval: float = 15.0
    total_timeout: float = 3600.0
    deliver_twice: bool = False
    """Send every request a second time, as CloudFormation may, after the first has finished."""
    observe: Callable[[str, str, str], None] | None = None
    """Called with (logical id, request type, stage) as requests progress, for progress output."""
    grant: Callable[[AccessPolicy | None], None] | None = None
    """Installs the handler's policy where its calls are judged; None: IAM is left out."""
    environment: Callable[[Mapping[str, str]], None] | None = None
    """Installs the handler functions' environment (resolved), as CloudFormation updates the
    functions before the resources that use them: where the stack's declared quotas are."""
    placeholders: bool = False
    """Give every resource the driver does not deploy a stand-in physical id (`placeholder_ids` of
    each template deployed); `refs` still win."""
    failed_replacement: FailedReplacement = "delete-new"
    """How the engine rolls back a replacement of a custom resource: see the module's docstring."""
    native: NativeProvisioner | None = None
    """The handlers of CloudFormation's own resource types (`native.NativeResources`); without them
    a template that holds such a resource is refused."""
    resources: dict[str, Deployed] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    """Every (request type, logical id) sent, in order."""
    abandoned: list[tuple[str, str, str]] = field(default_factory=list)
    """(logical id, physical id, reason) of clean-up Deletes that failed: what was left behind."""
    retained: list[tuple[str, str]] = field(default_factory=list)
    """(logical id, physical id) of monitors kept by a Retain policy where a Delete would have gone."""
    policy: AccessPolicy | None = None
    """The handler policy in force."""
    deployed: bool = False

    def __post_init__(self) -> None:
        self._given_refs = dict(self.refs)
        self._dependencies: dict[str, set[str]] = {}
        """Among the resources last deployed, what each depends on: the order of deletes."""

    @property
    def stack_id(self) -> str:
        return f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{self.stack_name}/{uuid.UUID(int=0)}"

    # -- stack operations -------------------------------------------------------------------------

    def deploy(self, template: Mapping[str, Any]) -> None:
        """Bring the stack's custom resources to `template`, or roll back and raise DeployFailedError."""
        declared = self._declared(template)
        if self.placeholders:
            self.refs = {**placeholder_ids(template, self.account, self.region), **self._given_refs}
        policy_before, first = self.policy, not self.deployed
        handler = handler_resources(template)
        self._set_policy(self._handler_policy(template))
        if self.environment is not None:
            variables = {k: str(v) for k, v in self._resolve(dict(handler.environment), template).items()}
            declared_quotas = (template.get("Metadata") or {}).get(QUOTAS_METADATA)  # native monitors' (no handler)
            if isinstance(declared_quotas, str):
                variables.setdefault(QUOTAS_VARIABLE, declared_quotas)
            self.environment(variables)
        done: list[tuple[str, str, Deployed | None]] = []  # (kind, logical id, previous)
        replaced: list[tuple[str, Deployed]] = []
        try:
            for logical_id, resource in declared.items():
                properties = self._resolve(resource.get("Properties", {}), template)
                policies = {
                    "deletion_policy": resource.get("DeletionPolicy", DELETE),
                    "update_replace_policy": resource.get("UpdateReplacePolicy", DELETE),
                }
                previous = self.resources.get(logical_id)
                if previous is None:
                    done.append(("create", logical_id, None))
                    self.resources[logical_id] = self._create(logical_id, properties, policies, resource["Type"])
                elif previous.properties != properties:
                    done.append(("update", logical_id, previous))
                    current = self._update(logical_id, previous, properties, policies)
                    self.resources[logical_id] = current
                    if current.physical_id != previous.physical_id:
                        replaced.append((logical_id, previous))
                else:
                    kind = previous.resource_type
                    self.resources[logical_id] = Deployed(
                        previous.physical_id, properties, previous.data, **policies, resource_type=kind
                    )
        except _FailedResourceError as failure:
            self._roll_back(done, failure, policy_before, first)
            raise DeployFailedError(failure.logical_id, failure.reason) from None

        self.deployed = True
        old_dependencies, self._dependencies = self._dependencies, dependencies_among(template, declared)
        # UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, under the new policy, dependents first.
        clean_up: dict[str, tuple[Deployed, str]] = {}
        for logical_id in [k for k in self.resources if k not in declared]:
            removed = self.resources.pop(logical_id)
            clean_up[logical_id] = (removed, removed.deletion_policy)
        for logical_id, old in replaced:
            clean_up[logical_id] = (old, self.resources[logical_id].update_replace_policy)
        for logical_id in dependents_first(list(clean_up), old_dependencies):
            old, policy = clean_up[logical_id]
            self._remove(logical_id, old, policy, clean_up=True)

    def resend_update(self, logical_id: str) -> None:
        """An Update whose properties did not change, as CloudFormation sends when something the
        handler ignores changed (a tag on the stack, the service token's function)."""
        deployed = self.resources[logical_id]
        self.resources[logical_id] = self._update(
            logical_id,
            deployed,
            deployed.properties,
            {"deletion_policy": deployed.deletion_policy, "update_replace_policy": deployed.update_replace_policy},
        )

    def destroy(self) -> None:
        """Delete the resources, dependents first (those with DeletionPolicy Retain stay), then the policy."""
        for logical_id in dependents_first(list(reversed(self.resources)), self._dependencies):
            deployed = self.resources.pop(logical_id)
            self._remove(logical_id, deployed, deployed.deletion_policy, clean_up=False)
        self._set_policy(NO_PERMISSIONS if self.policy is not None else None)
        self.deployed = False

    # -- state, for --state files ----------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """What the stack holds, as JSON-ready data (the policy is taken from the template again);
        a custom resource's entry does not name its type, as before native resources were deployed."""
        return {"resources": {k: _dumped(v) for k, v in self.resources.items()}, "deployed": self.deployed}

    def load(self, state: Mapping[str, Any], template: Mapping[str, Any] | None = None) -> None:
        """Take up a stack `dump` wrote; `template` is the one last deployed, for its policy and
        the order of deletes."""
        self.resources = {k: Deployed(**v) for k, v in state["resources"].items()}
        self.deployed = bool(state["deployed"])
        if template is not None and self.deployed:
            self._set_policy(self._handler_policy(template))
            self._dependencies = dependencies_among(template, self.resources)

    def _declared(self, template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        """The resources the driver deploys, in CloudFormation's order; native ones only with
        their handlers, and no resource changing its type (CloudFormation refuses that update)."""
        native = tuple(self.native.types) if self.native is not None else ()
        found = deployed_resources(template, native)
        for logical_id, resource in found.items():
            kind = resource["Type"]
            if kind != RESOURCE_TYPE and kind not in native:
                raise UnsupportedTemplateError(
                    f"{logical_id} is a {kind}, which CloudFormation provisions itself: the offline driver deploys "
                    "it only with its handlers (StackDriver(native=NativeResources(...)), which offline_stack gives)"
                )
            previous = self.resources.get(logical_id)
            if previous is not None and previous.resource_type != kind:
                raise DeployFailedError(
                    logical_id,
                    f"Update of resource type is not permitted: {previous.resource_type} to {kind} "
                    "(CloudFormation refuses the template before changing anything)",
                )
        return found

    # -- policy -----------------------------------------------------------------------------------

    def _set_policy(self, policy: AccessPolicy | None) -> None:
        self.policy = policy
        if self.grant is not None:
            self.grant(policy)

    def _handler_policy(self, template: Mapping[str, Any]) -> AccessPolicy | None:
        """The policies of the role the handler runs as; None (IAM left out) where the monitors'
        service token names no function of the template."""
        found = handler_resources(template)
        if not found.found:
            return None
        return AccessPolicy.from_documents([self._resolve(dict(d), template) for d in found.policy_documents])

    # -- requests ---------------------------------------------------------------------------------

    def _create(
        self,
        logical_id: str,
        properties: dict[str, Any],
        policies: Mapping[str, str],
        resource_type: str = RESOURCE_TYPE,
    ) -> Deployed:
        try:
            if resource_type != RESOURCE_TYPE:
                physical_id, data = self._provision("Create", logical_id, resource_type, properties)
            else:
                physical_id, data = self._request("Create", logical_id, properties)
        except _ProviderFailure as failure:
            raise _FailedResourceError(logical_id, failure, properties, policies, resource_type) from None
        return Deployed(physical_id, properties, data, **policies, resource_type=resource_type)

    def _update(
        self, logical_id: str, previous: Deployed, properties: dict[str, Any], policies: Mapping[str, str]
    ) -> Deployed:
        kind = previous.resource_type
        try:
            if kind != RESOURCE_TYPE:
                physical_id, data = self._provision("Update", logical_id, kind, properties, previous)
            else:
                physical_id, data = self._request(
                    "Update", logical_id, properties, physical_id=previous.physical_id, old=previous.properties
                )
        except _ProviderFailure as failure:
            raise _FailedResourceError(logical_id, failure, properties, policies, kind) from None
        return Deployed(physical_id, properties, data, **policies, resource_type=kind)

    def _delete(self, logical_id: str, deployed: Deployed) -> None:
        try:
            self._send_delete(logical_id, deployed)
        except _ProviderFailure as failure:
            raise DeployFailedError(logical_id, f"DELETE_FAILED: {failure.reason}") from None

    def _send_delete(self, logical_id: str, deployed: Deployed) -> None:
        if deployed.resource_type != RESOURCE_TYPE:
            self._provision("Delete", logical_id, deployed.resource_type, deployed.properties, deployed)
            return
        self._request("Delete", logical_id, deployed.properties, physical_id=deployed.physical_id)

    def _provision(
        self,
        request_type: str,
        logical_id: str,
        resource_type: str,
        properties: dict[str, Any],
        previous: Deployed | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """What CloudFormation's own handler does with one request: a Create, an Update (a create
        of the replacement where a create-only property changes) or a Delete."""
        assert self.native is not None, "a native resource is declared only with native handlers"
        self.requests.append((request_type, logical_id))
        self._observe(logical_id, request_type, "started")
        try:
            if previous is None:
                result = self.native.create(resource_type, properties)
            elif request_type == "Delete":
                self.native.delete(resource_type, previous.physical_id, previous.properties)
                result = previous.physical_id, {}
            elif self.native.replaces(resource_type, previous.properties, properties):
                result = self.native.create(resource_type, properties)
            else:
                try:
                    data = self.native.update(resource_type, previous.physical_id, previous.properties, properties)
                except ProvisionFailure as failure:  # half updated, perhaps: the rollback updates it back
                    raise ProvisionFailure(failure.reason, previous.physical_id) from None
                result = previous.physical_id, data
        except ProvisionFailure as failure:
            raise _ProviderFailure(failure.reason, failure.physical_id) from None
        self._observe(logical_id, request_type, "complete")
        return result

    def _remove(
        self, logical_id: str, deployed: Deployed, policy: str, *, clean_up: bool, undoing_create: bool = False
    ) -> None:
        """A Delete, unless `policy` (the DeletionPolicy, or the UpdateReplacePolicy of a replaced
        resource) is Retain, or RetainExceptOnCreate where a rollback is not undoing the operation
        that created the resource. A clean-up Delete's failure leaves the resource behind without
        failing the stack; any other Delete's fails it."""
        if policy == RETAIN or (policy == RETAIN_EXCEPT_ON_CREATE and not undoing_create):
            self.retained.append((logical_id, deployed.physical_id))
            return
        if not clean_up:
            self._delete(logical_id, deployed)
            return
        try:
            self._send_delete(logical_id, deployed)
        except _ProviderFailure as failure:
            self.abandoned.append((logical_id, deployed.physical_id, failure.reason))

    def _roll_back(
        self,
        done: list[tuple[str, str, Deployed | None]],
        failure: _FailedResourceError,
        policy_before: AccessPolicy | None,
        first: bool,
    ) -> None:
        """UPDATE_ROLLBACK_IN_PROGRESS, newest first, under the new policy; then the old policy;
        then the clean-up of what the failed update made. A failure is UPDATE_ROLLBACK_FAILED.
        What the failed update made is kept where its DeletionPolicy is Retain."""
        created: list[tuple[str, Deployed]] = []
        for kind, logical_id, previous in reversed(done):
            if logical_id == failure.logical_id:
                current_id = failure.provider_failure.physical_id
                failed_type = failure.resource_type
                current = (
                    Deployed(current_id, failure.properties, {}, **failure.policies, resource_type=failed_type)
                    if current_id
                    else None
                )
            else:
                current = self.resources.get(logical_id)
            if kind == "create":
                self.resources.pop(logical_id, None)
                if current is not None:
                    created.append((logical_id, current))
                continue
            assert previous is not None
            self.resources[logical_id] = previous
            if current is None:
                continue
            native = previous.resource_type != RESOURCE_TYPE
            if current.physical_id != previous.physical_id and (self.failed_replacement == "delete-new" or native):
                created.append((logical_id, current))  # the old monitor stays; the new one goes
                continue
            try:
                if native:  # back in place: `current` to the previous properties
                    native_type = previous.resource_type
                    _, data = self._provision("Update", logical_id, native_type, previous.properties, current)
                else:
                    _, data = self._request(
                        "Update",
                        logical_id,
                        previous.properties,
                        physical_id=previous.physical_id,
                        old=current.properties,
                    )
            except _ProviderFailure as error:
                raise DeployFailedError(logical_id, f"UPDATE_ROLLBACK_FAILED: {error.reason}") from None
            previous.data = data

        if first:  # ROLLBACK_IN_PROGRESS: what was created goes, the policy last
            for logical_id, deployed in created:
                self._remove(logical_id, deployed, deployed.deletion_policy, clean_up=False, undoing_create=True)
            self._set_policy(NO_PERMISSIONS if self.policy is not None else None)
            return
        self._set_policy(policy_before)
        for logical_id, deployed in created:  # UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS
            self._remove(logical_id, deployed, deployed.deletion_policy, clean_up=True, undoing_create=True)

    def _request(
        self,
        request_type: str,
        logical_id: str,
        properties: dict[str, Any],
        *,
        physical_id: str | None = None,
        old: dict[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": properties.get("ServiceToken", ""),
            "ResponseURL": "https://cloudformation-custom-resource-response.invalid/presigned",
            "StackId": self.stack_id,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": logical_id,
            "ResourceType": RESOURCE_TYPE,
            "ResourceProperties": delivered(properties),
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old is not None:
            event["OldResourceProperties"] = delivered(old)
        result = self._provide(event)
        if self.deliver_twice:
            result = self._provide(event)
        return result

    def _provide(self, event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """What the Provider framework does with one request."""
        request_type, logical_id = event["RequestType"], event["LogicalResourceId"]
        self.requests.append((request_type, logical_id))
        self._observe(logical_id, request_type, "started")
        if request_type == "Delete" and event.get("PhysicalResourceId") == CREATE_FAILED_MARKER:
            return CREATE_FAILED_MARKER, {}
        try:
            answer = dict(self.on_event(event, None))
        except Exception as error:
            marker = CREATE_FAILED_MARKER if request_type == "Create" else event.get("PhysicalResourceId")
            raise _ProviderFailure(f"{type(error).__name__}: {error}", marker) from None
        polled = {**event, **answer}
        physical_id = str(polled.get("PhysicalResourceId") or event.get("RequestId"))
        waited = 0.0
        while True:
            try:
                status = dict(self.is_complete(polled, None))
            except Exception as error:
                raise _ProviderFailure(f"{type(error).__name__}: {error}", physical_id) from None
            if status.get("IsComplete"):
                self._observe(logical_id, request_type, "complete")
                return physical_id, {**answer.get("Data", {}), **status.get("Data", {})}
            if waited >= self.total_timeout:
                raise _ProviderFailure(f"Operation timed out after {self.total_timeout:.0f} s", physical_id)
            self._observe(logical_id, request_type, "waiting")
            self.clock.advance(self.query_interval)
            waited += self.query_interval

    def _observe(self, logical_id: str, request_type: str, stage: str) -> None:
        if self.observe is not None:
            self.observe(logical_id, request_type, stage)

    # -- intrinsic functions ----------------------------------------------------------------------

    def _resolve(self, value: Any, template: Mapping[str, Any]) -> Any:
        if isinstance(value, list):
            return [self._resolve(v, template) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, argument)] = value.items()
            if key == "Ref":
                return self._ref(argument, template)
            if key == "Fn::GetAtt":
                return self._get_att(*(argument.split(".", 1) if isinstance(argument, str) else argument))
            if key == "Fn::Join":
                return self._join(argument, template)
            if key == "Fn::Select":
                return self._select(argument, template)
            if key == "Fn::Split":
                return self._split(argument, template)
            if key == "Fn::ImportValue":
                return self._import(str(self._resolve(argument, template)))
            if key == "Fn::GetStackOutput" and isinstance(argument, Mapping):
                return self._stack_output(self._resolve(dict(argument), template))
            if key.startswith("Fn::") or key == "Condition":
                raise UnsupportedTemplateError(
                    f"{key} is not supported by the offline driver "
                    "(it resolves Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split, Fn::ImportValue "
                    "and Fn::GetStackOutput)"
                )
        return {k: self._resolve(v, template) for k, v in value.items()}

    def _join(self, argument: Any, template: Mapping[str, Any]) -> str:
        """`Fn::Join`: its list may itself be a function's result (a `Fn::Split`, say)."""
        if not (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str)):
            raise UnsupportedTemplateError(f"Fn::Join takes [separator, list], not {json.dumps(argument)}")
        parts = self._resolve(argument[1], template)
        if not isinstance(parts, list):
            raise UnsupportedTemplateError(f"Fn::Join takes [separator, list], not {json.dumps([argument[0], parts])}")
        return argument[0].join(str(part) for part in parts)

    def _select(self, argument: Any, template: Mapping[str, Any]) -> Any:
        """`Fn::Select`: a zero-based index into a list, read as the plan reads it (`select_index`);
        aws-cdk-lib writes one around `Fn::Split` for the name part of an ARN."""
        if not (isinstance(argument, list) and len(argument) == 2):
            raise UnsupportedTemplateError(f"Fn::Select takes [index, list], not {json.dumps(argument)}")
        index, items = self._resolve(argument[0], template), self._resolve(argument[1], template)
        position = select_index(index)
        if position is None or not isinstance(items, list):
            raise UnsupportedTemplateError(f"Fn::Select takes [index, list], not {json.dumps([index, items])}")
        if not 0 <= position < len(items):
            raise UnsupportedTemplateError(f"Fn::Select index {position} is outside a list of {len(items)}")
        return items[position]

    def _split(self, argument: Any, template: Mapping[str, Any]) -> list[str]:
        """`Fn::Split`: a string cut at every delimiter
        (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-split.html)."""
        if not (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str) and argument[0]):
            raise UnsupportedTemplateError(f"Fn::Split takes [delimiter, string], not {json.dumps(argument)}")
        text = self._resolve(argument[1], template)
        if not isinstance(text, str):
            shown = json.dumps([argument[0], text])
            raise UnsupportedTemplateError(f"Fn::Split takes [delimiter, string], not {shown}")
        return text.split(argument[0])

    def _ref(self, name: str, template: Mapping[str, Any]) -> str:
        pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        declared = template.get("Parameters", {}).get(name)
        if declared is not None:
            if name in self.parameters:
                return self.parameters[name]
            if "Default" in declared:
                return str(declared["Default"])
            raise UnsupportedTemplateError(
                f"parameter {name} has no value and no default: give it (--parameter {name}=VALUE)"
            )
        if name in self.resources:
            return self.resources[name].physical_id
        if name in self.refs:
            return self.refs[name]
        raise UnsupportedTemplateError(f"Ref {name}: no resource or parameter of that name is in the template", name)

    def _import(self, name: str) -> str:
        if name in self.exports:
            return self.exports[name]
        if name in self.refs:
            return self.refs[name]
        raise UnsupportedTemplateError(f"Fn::ImportValue {name}: no stack deployed before this one exports it", name)

    def _stack_output(self, spec: Mapping[str, Any]) -> str:
        stack, name = str(spec.get("StackName", "")), str(spec.get("OutputName", ""))
        region = str(spec.get("Region") or self.region)
        if "RoleArn" in spec:
            raise UnsupportedTemplateError("Fn::GetStackOutput with a RoleArn is not supported by the offline driver")
        found = self.stack_outputs.get(f"{region}/{stack}", {})
        if name in found:
            return found[name]
        needed = f"StackOutput:{stack}.{name}"
        if needed in self.refs:
            return self.refs[needed]
        raise UnsupportedTemplateError(
            f"Fn::GetStackOutput {stack}.{name}: no stack {stack} deployed before this one in {region} has that output",
            needed,
        )

    def outputs(self, template: Mapping[str, Any]) -> dict[str, str]:
        """The template's exports, by export name, with their values resolved: what a later stack
        of the app imports."""
        found = {}
        for output in template.get("Outputs", {}).values():
            if "Export" in output:
                name = str(self._resolve(output["Export"]["Name"], template))
                found[name] = str(self._resolve(output["Value"], template))
        return found

    def output_values(self, template: Mapping[str, Any]) -> dict[str, str]:
        """Every output of the template by its name, with its value resolved: what a later stack of
        the app reads with `Fn::GetStackOutput`."""
        return {key: str(self._resolve(o["Value"], template)) for key, o in template.get("Outputs", {}).items()}

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        if logical_id in self.resources and attribute in self.resources[logical_id].data:
            return self.resources[logical_id].data[attribute]
        key = f"{logical_id}.{attribute}"
        if key in self.refs:
            return self.refs[key]
        raise UnsupportedTemplateError(f"Fn::GetAtt {key}: no resource deployed so far returned it", key)


class _FailedResourceError(Exception):
    """A resource's request failed; carries what the rollback needs to undo it."""

    def __init__(
        self,
        logical_id: str,
        provider_failure: _ProviderFailure,
        properties: dict[str, Any],
        policies: Mapping[str, str],
        resource_type: str = RESOURCE_TYPE,
    ) -> None:
        super().__init__(provider_failure.reason)
        self.logical_id, self.provider_failure = logical_id, provider_failure
        self.reason, self.properties, self.policies = provider_failure.reason, properties, dict(policies)
        self.resource_type = resource_type


def custom_resources(template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    found = {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == RESOURCE_TYPE}
    for logical_id, resource in found.items():
        if "Condition" in resource:
            raise UnsupportedTemplateError(f"{logical_id} has a Condition, which the offline driver does not evaluate")
    return found


def deployed_resources(template: Mapping[str, Any], native_types: Collection[str] = ()) -> dict[str, Mapping[str, Any]]:
    """The custom resources and the service's native resources of a template, in the order
    CloudFormation deploys them (`in_order`)."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    kinds = {RESOURCE_TYPE, *native_types}
    found = {
        k: v for k, v in resources.items() if v.get("Type") in kinds or str(v.get("Type")).startswith(NATIVE_PREFIX)
    }
    for logical_id, resource in found.items():
        if "Condition" in resource:
            raise UnsupportedTemplateError(f"{logical_id} has a Condition, which the offline driver does not evaluate")
    return {k: found[k] for k in in_order(list(found), dependencies_among(template, found))}


def dependencies(template: Mapping[str, Any]) -> dict[str, set[str]]:
    """What each resource of a template depends on, as CloudFormation reads it: its `DependsOn`,
    and the resources its properties name with `Ref`, `Fn::GetAtt` or `Fn::Sub`."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    found: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn") or []
        named = {depends_on} if isinstance(depends_on, str) else set(depends_on)
        named |= _named(resource.get("Properties") or {})
        found[logical_id] = {n for n in named if n in resources and n != logical_id}
    return found


def dependencies_among(template: Mapping[str, Any], chosen: Collection[str]) -> dict[str, set[str]]:
    """For each of the `chosen` resources, the chosen ones it depends on, directly or through
    resources that are not chosen (a custom resource that waits for an alarm on a probe)."""
    direct = dependencies(template)
    found: dict[str, set[str]] = {}
    for logical_id in chosen:
        reached: set[str] = set()
        seen: set[str] = set()
        stack = list(direct.get(logical_id, ()))
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in chosen:
                reached.add(name)
            else:
                stack.extend(direct.get(name, ()))
        found[logical_id] = reached
    return found


def in_order(names: list[str], depends: Mapping[str, Collection[str]]) -> list[str]:
    """`names` with each after what it depends on, otherwise in their given order."""
    left, ordered = list(names), []
    while left:
        ready = next((n for n in left if not set(depends.get(n, ())) & set(left)), None)
        if ready is None:
            raise UnsupportedTemplateError(f"circular dependency between {', '.join(left)}")
        ordered.append(ready)
        left.remove(ready)
    return ordered


def dependents_first(names: list[str], depends: Mapping[str, Collection[str]]) -> list[str]:
    """`names` with each before what it depends on (the order of deletes), otherwise in their given order."""
    left, ordered = list(names), []
    while left:
        free = next((n for n in left if not any(n in depends.get(other, ()) for other in left)), left[0])
        ordered.append(free)
        left.remove(free)
    return ordered


def _named(value: Any) -> set[str]:
    """The logical ids and parameters that `Ref`, `Fn::GetAtt` and `Fn::Sub` name in a value."""
    if isinstance(value, list):
        return set().union(*(_named(v) for v in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    if len(value) == 1:
        [(key, argument)] = value.items()
        if key == "Ref" and isinstance(argument, str):
            return {argument}
        if key == "Fn::GetAtt":
            if isinstance(argument, list) and argument and isinstance(argument[0], str):
                return {argument[0]} | _named(argument[1:])
            if isinstance(argument, str):
                return {argument.split(".", 1)[0]}
        if key == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
            local = set(variables) if isinstance(variables, dict) else set()
            names = {m.split(".", 1)[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", str(text))}
            return (names - local) | _named(variables)
    return set().union(*(_named(v) for v in value.values())) if value else set()


def _dumped(deployed: Deployed) -> dict[str, Any]:
    body = asdict(deployed)
    if deployed.resource_type == RESOURCE_TYPE:
        del body["resource_type"]
    return body


def placeholder_ids(
    template: Mapping[str, Any], account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> dict[str, str]:
    """Stable stand-in physical ids and ARNs for every resource the driver does not deploy (the
    service's native types it deploys, or refuses)."""
    prefixes = {"AWS::EC2::Subnet": "subnet-", "AWS::EC2::VPC": "vpc-"}
    refs: dict[str, str] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == RESOURCE_TYPE or str(resource.get("Type", "")).startswith(NATIVE_PREFIX):
            continue
        digest = hashlib.sha256(logical_id.encode()).hexdigest()
        prefix = prefixes.get(resource.get("Type", ""))
        refs[logical_id] = f"{prefix}{digest[:17]}" if prefix else f"{logical_id}-{digest[:8]}"
        refs[f"{logical_id}.Arn"] = f"arn:aws:placeholder:{region}:{account}:{logical_id}"
    return refs
