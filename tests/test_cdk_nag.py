"""cdk-nag's AwsSolutions pack finds nothing unacknowledged, in stacks with and without a concrete
account and region.

The library acknowledges its deliberate choices itself, each with its reason (see
`NetworkMonitorProvider._acknowledge_deliberate_findings`). The acknowledgement ids are written from
the resolved ARNs, so they match `arn:<AWS::Partition>:networkmonitor:<AWS::Region>:...` in an
env-agnostic stack and `...:eu-central-1:111122223333:...` in an env-specific one. A new wildcard or
a new finding fails these synths.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

from examples.hybrid_connectivity import HybridConnectivityStack
from tests.support import imported_subnet_stack

pytestmark = pytest.mark.slow  # each synth runs the AwsSolutions pack's rules on every construct

ENVIRONMENTS = {
    "env-agnostic": None,
    "env-specific": Environment(account="111122223333", region="eu-central-1"),
}


CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


def checked_app(tmp_path: Path) -> App:
    """An app with cdk.json's feature flags, as `cdk synth` makes it, and the AwsSolutions pack."""
    app = App(outdir=str(tmp_path), context=json.loads(CDK_JSON.read_text())["context"])
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


@pytest.mark.parametrize("env", ENVIRONMENTS.values(), ids=ENVIRONMENTS.keys())
def test_the_example_app_passes_aws_solutions_checks(tmp_path: Path, env: Environment | None) -> None:
    app = checked_app(tmp_path)
    HybridConnectivityStack(app, "NetmonHybridConnectivity", env=env)
    app.synth()  # raises ValidationFailed, listing every unacknowledged finding


@pytest.mark.parametrize("env", ENVIRONMENTS.values(), ids=ENVIRONMENTS.keys())
def test_a_stack_of_imported_subnets_and_explicit_names_passes_too(tmp_path: Path, env: Environment | None) -> None:
    app = checked_app(tmp_path)
    imported_subnet_stack(app, env)
    app.synth()
    statements = [
        statement
        for resource in json.loads((tmp_path / "Hub.template.json").read_text())["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]
    for statement in statements:
        actions: list[Any] = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources: list[Any] = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if any(str(a).startswith("networkmonitor:") for a in actions):
            assert "networkmonitor:*" not in actions
            # CreateProbe has no resource type in the Service Authorization Reference: `*` only.
            assert "*" not in resources or actions == ["networkmonitor:CreateProbe"]


def test_an_unacknowledged_wildcard_is_reported(tmp_path: Path) -> None:
    app = checked_app(tmp_path)
    stack = HybridConnectivityStack(app, "NetmonHybridConnectivity")
    role = stack.node.find_child("cdk_netmon.NetworkMonitorProvider").node.find_child("HandlerRole")
    assert isinstance(role, iam.Role)
    role.add_to_policy(iam.PolicyStatement(actions=["networkmonitor:*"], resources=["*"]))
    with pytest.raises(RuntimeError, match=r"AwsSolutions-IAM5\[Action::networkmonitor:\*\]"):
        app.synth()
