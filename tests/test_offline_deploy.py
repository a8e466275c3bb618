"""The offline deploy command and the driver, on a template the CDK really synthesized."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from cdk_netmon.testing.cloudformation import UnsupportedTemplateError, placeholder_ids
from cdk_netmon.testing.offline_deploy import run
from examples.hybrid_connectivity import HybridConnectivityStack
from tests.offline import driver, offline
from tests.support import template_json


@pytest.fixture(scope="module")
def example_template() -> dict[str, Any]:
    return template_json(HybridConnectivityStack(App(), "NetmonHybridConnectivity"))


def test_the_example_app_deploys_converges_and_is_destroyed(tmp_path: Path, example_template: dict[str, Any]) -> None:
    path = tmp_path / "NetmonHybridConnectivity.template.json"
    path.write_text(json.dumps(example_template))
    out = io.StringIO()

    assert run(path, out) == 0

    output = out.getvalue()
    assert re.search(r"Create .* waiting +NetmonHybridConnectivity-OnPremises-\w+ PENDING, probes 4 PENDING", output)
    assert re.search(r"Create .* complete +NetmonHybridConnectivity-OnPremises-\w+ ACTIVE, probes 4 ACTIVE", output)
    assert len(re.findall(r"probe-\w+ ACTIVE +(TCP|ICMP)", output)) == 4
    assert "Delete" in output
    assert output.rstrip().endswith("Destroyed: the emulator holds 0 monitors.")


def test_the_driver_resolves_the_subnet_arns_of_a_real_template(example_template: dict[str, Any]) -> None:
    with offline() as emulator:
        stack = driver(emulator, refs=placeholder_ids(example_template))
        stack.deploy(example_template)
        [monitor] = emulator.snapshot().values()
        subnets = {p["sourceArn"] for p in monitor["probes"]}
        assert all(re.fullmatch(r"arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-[0-9a-f]{17}", s) for s in subnets)
        assert len(subnets) == 2
        stack.destroy()


def test_the_driver_refuses_what_it_does_not_emulate() -> None:
    unsupported = {
        "Resources": {"M": {"Type": "Custom::NetworkMonitor", "Properties": {"Monitor": {"Fn::Sub": "${AWS::Region}"}}}}
    }
    missing = {"Resources": {"M": {"Type": "Custom::NetworkMonitor", "Properties": {"Monitor": {"Ref": "Elsewhere"}}}}}
    with offline() as emulator:
        with pytest.raises(UnsupportedTemplateError, match=r"Fn::Sub is not supported by the driver"):
            driver(emulator).deploy(unsupported)
        with pytest.raises(UnsupportedTemplateError, match=r"Ref Elsewhere has no value: pass its physical id"):
            driver(emulator).deploy(missing)
        assert emulator.calls == []
