"""A stand-in for CloudFormation and the CDK Provider framework, for `Custom::NetworkMonitor` only.

`StackDriver.deploy(template)` sends the handler the Create, Update and Delete requests that
CloudFormation would send for a stack update from the last deployed template to this one. Events
carry stringified properties, a RequestId, physical ids and OldResourceProperties. `is_complete` is
polled on a virtual clock as the Provider framework would poll it.

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
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from cdk_netmon.assembly import delivered
from cdk_netmon.handler.model import RESOURCE_TYPE

from .defaults import DEFAULT_ACCOUNT, DEFAULT_REGION
from .iam import NO_PERMISSIONS, AccessPolicy
from .provider import handler_resources

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
    """How the engine rolls back a replacement: see the module's docstring."""
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

    @property
    def stack_id(self) -> str:
        return f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{self.stack_name}/{uuid.UUID(int=0)}"

    # -- stack operations -------------------------------------------------------------------------

    def deploy(self, template: Mapping[str, Any]) -> None:
        """Bring the stack's custom resources to `template`, or roll back and raise DeployFailedError."""
        declared = custom_resources(template)
        if self.placeholders:
            self.refs = {**placeholder_ids(template, self.account, self.region), **self._given_refs}
        policy_before, first = self.policy, not self.deployed
        handler = handler_resources(template)
        self._set_policy(self._handler_policy(template))
        if self.environment is not None:
            self.environment({k: str(v) for k, v in self._resolve(dict(handler.environment), template).items()})
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
                    self.resources[logical_id] = self._create(logical_id, properties, policies)
                elif previous.properties != properties:
                    done.append(("update", logical_id, previous))
                    current = self._update(logical_id, previous, properties, policies)
                    self.resources[logical_id] = current
                    if current.physical_id != previous.physical_id:
                        replaced.append((logical_id, previous))
                else:
                    self.resources[logical_id] = Deployed(previous.physical_id, properties, previous.data, **policies)
        except _FailedResourceError as failure:
            self._roll_back(done, failure, policy_before, first)
            raise DeployFailedError(failure.logical_id, failure.reason) from None

        self.deployed = True
        # UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, under the new policy.
        for logical_id in [k for k in self.resources if k not in declared]:
            removed = self.resources.pop(logical_id)
            self._remove(logical_id, removed, removed.deletion_policy, clean_up=True)
        for logical_id, old in replaced:
            self._remove(logical_id, old, self.resources[logical_id].update_replace_policy, clean_up=True)

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
        """Delete the custom resources (those with DeletionPolicy Retain stay), then the policy."""
        for logical_id in reversed(list(self.resources)):
            deployed = self.resources.pop(logical_id)
            self._remove(logical_id, deployed, deployed.deletion_policy, clean_up=False)
        self._set_policy(NO_PERMISSIONS if self.policy is not None else None)
        self.deployed = False

    # -- state, for --state files ----------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """What the stack holds, as JSON-ready data (the policy is taken from the template again)."""
        return {"resources": {k: asdict(v) for k, v in self.resources.items()}, "deployed": self.deployed}

    def load(self, state: Mapping[str, Any], template: Mapping[str, Any] | None = None) -> None:
        """Take up a stack `dump` wrote; `template` is the one last deployed, for its policy."""
        self.resources = {k: Deployed(**v) for k, v in state["resources"].items()}
        self.deployed = bool(state["deployed"])
        if template is not None and self.deployed:
            self._set_policy(self._handler_policy(template))

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

    def _create(self, logical_id: str, properties: dict[str, Any], policies: Mapping[str, str]) -> Deployed:
        try:
            physical_id, data = self._request("Create", logical_id, properties)
        except _ProviderFailure as failure:
            raise _FailedResourceError(logical_id, failure, properties, policies) from None
        return Deployed(physical_id, properties, data, **policies)

    def _update(
        self, logical_id: str, previous: Deployed, properties: dict[str, Any], policies: Mapping[str, str]
    ) -> Deployed:
        try:
            physical_id, data = self._request(
                "Update", logical_id, properties, physical_id=previous.physical_id, old=previous.properties
            )
        except _ProviderFailure as failure:
            raise _FailedResourceError(logical_id, failure, properties, policies) from None
        return Deployed(physical_id, properties, data, **policies)

    def _delete(self, logical_id: str, deployed: Deployed) -> None:
        try:
            self._request("Delete", logical_id, deployed.properties, physical_id=deployed.physical_id)
        except _ProviderFailure as failure:
            raise DeployFailedError(logical_id, f"DELETE_FAILED: {failure.reason}") from None

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
            self._request("Delete", logical_id, deployed.properties, physical_id=deployed.physical_id)
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
                current = Deployed(current_id, failure.properties, {}, **failure.policies) if current_id else None
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
            if current.physical_id != previous.physical_id and self.failed_replacement == "delete-new":
                created.append((logical_id, current))  # the old monitor stays; the new one goes
                continue
            try:
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
                return self._get_att(*argument)
            if key == "Fn::Join":
                separator, parts = argument
                return separator.join(str(self._resolve(p, template)) for p in parts)
            if key == "Fn::ImportValue":
                return self._import(str(self._resolve(argument, template)))
            if key == "Fn::GetStackOutput" and isinstance(argument, Mapping):
                return self._stack_output(self._resolve(dict(argument), template))
            if key.startswith("Fn::") or key == "Condition":
                raise UnsupportedTemplateError(
                    f"{key} is not supported by the offline driver (it resolves Ref, Fn::GetAtt and Fn::Join)"
                )
        return {k: self._resolve(v, template) for k, v in value.items()}

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
    ) -> None:
        super().__init__(provider_failure.reason)
        self.logical_id, self.provider_failure = logical_id, provider_failure
        self.reason, self.properties, self.policies = provider_failure.reason, properties, dict(policies)


def custom_resources(template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    found = {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == RESOURCE_TYPE}
    for logical_id, resource in found.items():
        if "Condition" in resource:
            raise UnsupportedTemplateError(f"{logical_id} has a Condition, which the offline driver does not evaluate")
    return found


def placeholder_ids(
    template: Mapping[str, Any], account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> dict[str, str]:
    """Stable stand-in physical ids and ARNs for every resource the driver does not deploy."""
    prefixes = {"AWS::EC2::Subnet": "subnet-", "AWS::EC2::VPC": "vpc-"}
    refs: dict[str, str] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == RESOURCE_TYPE:
            continue
        digest = hashlib.sha256(logical_id.encode()).hexdigest()
        prefix = prefixes.get(resource.get("Type", ""))
        refs[logical_id] = f"{prefix}{digest[:17]}" if prefix else f"{logical_id}-{digest[:8]}"
        refs[f"{logical_id}.Arn"] = f"arn:aws:placeholder:{region}:{account}:{logical_id}"
    return refs
