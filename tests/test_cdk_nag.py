"""cdk-nag's AwsSolutions pack finds nothing unacknowledged in the example app.

The library acknowledges its deliberate choices itself, each with a reason (see
`NetworkMonitorProvider._acknowledge_deliberate_findings`); a new wildcard or a new finding fails
this synth.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import App, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

from examples.hybrid_connectivity import HybridConnectivityStack


def test_the_example_app_passes_aws_solutions_checks(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    HybridConnectivityStack(app, "NetmonHybridConnectivity")
    app.synth()  # raises ValidationFailed, listing every unacknowledged finding


def test_an_unacknowledged_wildcard_is_reported(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = HybridConnectivityStack(app, "NetmonHybridConnectivity")
    role = stack.node.find_child("cdk_netmon.NetworkMonitorProvider").node.find_child("HandlerRole")
    assert isinstance(role, iam.Role)
    role.add_to_policy(iam.PolicyStatement(actions=["networkmonitor:*"], resources=["*"]))
    with pytest.raises(RuntimeError, match=r"AwsSolutions-IAM5\[Action::networkmonitor:\*\]"):
        app.synth()
