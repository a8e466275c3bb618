"""Quotas a team has raised in Service Quotas: declared once per stack, used by the synth-time
checks, by `fan_out`, and by the deployed handler (through its environment)."""

from __future__ import annotations

import pytest
from aws_cdk import App, Stack

from cdk_netmon import NetworkMonitor, NetworkMonitorProvider, ProbeProtocol
from cdk_netmon.handler import service
from cdk_netmon.handler.lifecycle import Handler
from cdk_netmon.handler.rules import QUOTAS_VARIABLE, Quotas
from cdk_netmon.testing import DeployFailedError, placeholder_ids
from tests.offline import SERVICE_TOKEN, driver, offline
from tests.support import resources_of_type, subnet_arn, template_json

RAISED = Quotas(probes_per_monitor=30, probes_per_subnet=8)


def stack_of(quotas: Quotas | None) -> tuple[Stack, NetworkMonitor]:
    stack = Stack(App(), "Hub")
    if quotas is not None:
        NetworkMonitorProvider.configure(stack, quotas=quotas)
    monitor = NetworkMonitor(stack, "Dc", monitor_name="dc")
    monitor.add_probes(
        sources=[subnet_arn(i) for i in range(5)],
        destinations=[f"10.0.0.{i}" for i in range(1, 7)],
        protocol=ProbeProtocol.ICMP,
    )
    return stack, monitor


def test_the_services_defaults_refuse_what_a_raised_quota_allows() -> None:
    _, default = stack_of(None)
    assert next(iter(default.node.validate())).startswith("probes has 30 entries")
    _, raised = stack_of(RAISED)
    assert list(raised.node.validate()) == []


@pytest.mark.slow
def test_the_handler_gets_the_quotas_through_its_environment_and_applies_them() -> None:
    stack, _ = stack_of(RAISED)
    template = template_json(stack)
    ours = [
        f
        for f in resources_of_type(template, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"].startswith("handler.")
    ]
    assert {f["Properties"]["Environment"]["Variables"][QUOTAS_VARIABLE] for f in ours} == {RAISED.encoded()}
    refs = {**placeholder_ids(template), **SERVICE_TOKEN}
    for emulator_quota, converges in ((30, True), (24, False)):
        with offline(probes_per_monitor=emulator_quota, probes_per_subnet=8) as emulator:
            handler = Handler(
                service.new_client(**emulator.client_options()),
                service.new_client("ec2", **emulator.ec2_client_options()),
                now=emulator.clock.now,
                quotas=Quotas.decoded(RAISED.encoded()),
            )
            stack_driver = driver(emulator, refs=refs, handler=handler)
            if converges:
                stack_driver.deploy(template)
                assert len(emulator.snapshot()["dc"]["probes"]) == 30
            else:  # the account's real quota is what counts, and the service says so
                with pytest.raises(DeployFailedError, match="at most 24 probes"):
                    stack_driver.deploy(template)


def test_fan_out_fills_monitors_to_the_raised_quotas() -> None:
    stack = Stack(App(), "Hub")
    NetworkMonitorProvider.configure(stack, quotas=RAISED)
    monitors = NetworkMonitor.fan_out(
        stack, "Mesh", sources=[subnet_arn(i) for i in range(6)], destinations=[f"10.0.0.{i}" for i in range(1, 9)],
        protocol=ProbeProtocol.ICMP,
    )  # fmt: skip
    assert [len(m.probes) for m in monitors] == [24, 24]  # 8 destinations from 3 subnets each: 24 of 30
    assert all(list(m.node.validate()) == [] for m in monitors)


def test_quotas_must_be_whole_numbers() -> None:
    with pytest.raises(TypeError, match=r"quotas.probes_per_subnet 0 is not a whole number of at least 1"):
        NetworkMonitorProvider.configure(Stack(App(), "Hub"), quotas=Quotas(probes_per_subnet=0))
    assert Quotas.decoded(None) == Quotas()
    assert Quotas.decoded("probes_per_monitor=48") == Quotas(probes_per_monitor=48)
