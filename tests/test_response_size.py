"""The response to CloudFormation, which it refuses over 4,096 bytes (Data included), losing the
outcome: the construct refuses at synth a monitor whose response could exceed it, fan_out never
builds one, and the handler fails with one short message rather than send one.

The worst case takes probe ids of 70 characters (`probe-[a-z0-9A-Z-]{21,64}` in botocore's model),
a RequestId of 36, and the longest partition, region and stack name where those are tokens.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from aws_cdk import App, Stack
from botocore.stub import Stubber

from cdk_netmon import NetworkMonitor, NetworkMonitorProvider, Quotas
from cdk_netmon.handler import service
from cdk_netmon.handler.lifecycle import Handler, ResponseTooLongError
from cdk_netmon.handler.response import (
    PARTITION_MAX_LENGTH,
    PROBE_ID_MAX_LENGTH,
    REGION_MAX_LENGTH,
    RESPONSE_LIMIT_BYTES,
    STACK_NAME_MAX_LENGTH,
)
from cdk_netmon.handler.rules import GENERATION_TAG, OWNER_LOGICAL_ID_TAG, OWNER_STACK_TAG
from cdk_netmon.handler.spec import MonitorSpec
from cdk_netmon.plan.resolve import delivered
from cdk_netmon.testing import DeployFailedError, placeholder_ids
from tests.handler_events import WHEN
from tests.offline import driver, offline, template
from tests.support import icmp, subnet_arn, template_json

RAISED = Quotas(probes_per_monitor=48, probes_per_subnet=48)
STACK_NAME = "S" * STACK_NAME_MAX_LENGTH
PARTITION, REGION, ACCOUNT = "p" * PARTITION_MAX_LENGTH, "r" * REGION_MAX_LENGTH, "0" * 12
"""What an env-agnostic stack's tokens can be at their longest: what the bound assumes."""
ENTRY_OF_A_LONGEST_PROBE = len(f'"ProbeId.{"n" * 64}":"{"p" * PROBE_ID_MAX_LENGTH}",')
"""What one probe named with 64 characters adds to the response: `"ProbeId.<key>":"<id>",`."""


def monitor_of(count: int) -> tuple[Stack, NetworkMonitor]:
    """An env-agnostic stack of the longest name, a monitor of the longest name, `count` probes of the
    longest names, under raised quotas."""
    stack = Stack(App(), STACK_NAME)
    NetworkMonitorProvider.configure(stack, quotas=RAISED)
    probes = [
        icmp(destination=f"10.0.0.{i + 1}", source_arn=subnet_arn(1), name=f"{i:02d}{'n' * 62}") for i in range(count)
    ]
    return stack, NetworkMonitor(stack, "Monitor", monitor_name="m" * 200, probes=probes)


def test_the_largest_allowed_monitor_answers_within_the_limit_and_the_construct_says_how_many_fit() -> None:
    _, too_large = monitor_of(48)
    [problem] = too_large.node.validate()
    found = re.fullmatch(
        r"probes: the response to CloudFormation could reach ([0-9,]+) bytes, over its limit of 4,096 \(a "
        r"ProbeId.<key> attribute per probe, with ids of up to 70 characters\); ([0-9]+) of these 48 probes fit: give "
        r"the probes shorter names \(or the monitor a shorter monitor_name\), or spread them over several monitors "
        r"with NetworkMonitor.fan_out",
        problem,
    )
    assert found is not None, problem
    fit = int(found.group(2))

    stack, largest = monitor_of(fit)
    assert list(largest.node.validate()) == []
    _, one_more = monitor_of(fit + 1)
    [refused] = one_more.node.validate()
    could_reach = int(re.search(r"could reach ([0-9,]+) bytes", refused).group(1).replace(",", ""))  # type: ignore[union-attr]

    measured = answered_size(stack, fit)
    assert measured <= RESPONSE_LIMIT_BYTES < measured + ENTRY_OF_A_LONGEST_PROBE
    assert could_reach == measured + ENTRY_OF_A_LONGEST_PROBE  # the construct's bound is the handler's measure


def answered_size(stack: Stack, count: int) -> int:
    """The size of the body the Provider framework sends once the handler answers this monitor's Create,
    with probe ids of 70 characters, in a stack of the longest partition and region: written here as
    cfn-response.js writes it (`JSON.stringify` of Status, Reason, StackId, RequestId,
    PhysicalResourceId, LogicalResourceId and Data), apart from the handler's own arithmetic."""
    [(logical_id, resource)] = [
        (k, v) for k, v in template_json(stack)["Resources"].items() if v["Type"] == "Custom::NetworkMonitor"
    ]
    stack_id = f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK_NAME}/{uuid.uuid4()}"
    event: dict[str, Any] = {
        "RequestType": "Create",
        "StackId": stack_id,
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": "Custom::NetworkMonitor",
        "ResourceProperties": delivered({**resource["Properties"], "ServiceToken": "arn:aws:lambda:x"}),
    }
    credentials = {"region_name": "eu-west-1", "aws_access_key_id": "test", "aws_secret_access_key": "test"}
    client, ec2 = service.new_client(**credentials), service.new_client("ec2", **credentials)
    handler = Handler(client, ec2, now=lambda: 1_790_000_000.0, quotas=RAISED)
    polled = {**event, **handler.on_event(event)}
    name = "m" * 200
    probes = [
        {
            "probeId": f"probe-{i:064d}",
            "probeArn": f"arn:{PARTITION}:networkmonitor:{REGION}:{ACCOUNT}:probe/probe-{i:064d}",
            "sourceArn": subnet_arn(1),
            "destination": f"10.0.0.{i + 1}",
            "protocol": "ICMP",
            "state": "ACTIVE",
            "vpcId": "vpc-0a1b2c3d4e5f6a7b8",
            "createdAt": WHEN,
            "modifiedAt": WHEN,
        }
        for i in range(count)
    ]
    digest = MonitorSpec.from_properties(polled["ResourceProperties"], quotas=RAISED).digest
    live = {
        "monitorArn": f"arn:{PARTITION}:networkmonitor:{REGION}:{ACCOUNT}:monitor/{name}",
        "monitorName": name,
        "state": "ACTIVE",
        "aggregationPeriod": 60,
        "tags": {
            OWNER_STACK_TAG: stack_id,
            OWNER_LOGICAL_ID_TAG: logical_id,
            GENERATION_TAG: f"{polled['Generation']}:{event['RequestId']}:{digest}",
        },
        "probes": probes,
        "createdAt": WHEN,
        "modifiedAt": WHEN,
    }
    with Stubber(client) as stubber, Stubber(ec2) as ec2_stubber:
        stubber.add_response("get_monitor", live, {"monitorName": name})
        ec2_stubber.add_response("describe_security_groups", {"SecurityGroups": []})
        answer = handler.is_complete(polled)
    assert answer["IsComplete"] is True
    body = {
        "Status": "SUCCESS",
        "Reason": "SUCCESS",
        "StackId": stack_id,
        "RequestId": event["RequestId"],
        "PhysicalResourceId": polled["PhysicalResourceId"],
        "LogicalResourceId": logical_id,
        "Data": answer["Data"],
    }
    return len(json.dumps(body, separators=(",", ":")).encode())


def test_fan_out_gives_each_monitor_no_more_probes_than_its_response_has_room_for() -> None:
    """Raised quotas would put 48 probes in a monitor; with long IPv6 destinations (keys of 50
    characters) and the longest ids, fewer fit, and fan_out makes more monitors instead."""
    stack = Stack(App(), "Hub")
    NetworkMonitorProvider.configure(stack, quotas=Quotas(probes_per_monitor=48, probes_per_subnet=4))
    destinations = [f"2001:0db8:85a3:0000:0000:8a2e:0370:{7330 + i}" for i in range(4)]
    monitors = NetworkMonitor.fan_out(
        stack, "Mesh", sources=[subnet_arn(i) for i in range(24)], destinations=destinations, protocol=icmp().protocol
    )
    sizes = [len(m.probes) for m in monitors]
    assert sum(sizes) == 96
    assert max(sizes) < 48  # the quota alone would have made two monitors of 48
    assert all(size % 4 == 0 for size in sizes)  # whole subnets, each with every destination
    for monitor in monitors:
        assert list(monitor.node.validate()) == []
    template_json(stack)  # and the app synthesizes


@pytest.mark.slow
def test_the_handler_fails_a_response_that_would_not_fit_with_one_short_message_and_leaves_nothing() -> None:
    """A template the construct would refuse (written by hand): 48 probes keyed with 64 characters.
    The deploy fails with the handler's reason, short enough to reach CloudFormation, and the
    rollback removes the monitor."""
    probes = [{"sourceArn": subnet_arn(i // 12), "destination": f"10.0.{i}.1", "protocol": "ICMP"} for i in range(48)]
    body = template({"monitorName": "onprem", "aggregationPeriod": 60, "probes": probes})
    written = body["Resources"]["Monitor0"]["Properties"]
    written["Probes"] = {f"{i:02d}{'k' * 62}": p for i, p in enumerate(written["Probes"].values())}
    with offline(probes_per_monitor=48, probes_per_subnet=12) as emulator:
        stack = driver(emulator, refs=placeholder_ids(body))
        handler = Handler(
            service.new_client(**emulator.client_options()),
            service.new_client("ec2", **emulator.ec2_client_options()),
            now=emulator.clock.now,
            quotas=Quotas(probes_per_monitor=48, probes_per_subnet=12),
        )
        stack.on_event, stack.is_complete = handler.on_event, handler.is_complete
        with pytest.raises(DeployFailedError) as failed:
            stack.deploy(body)
        reason = failed.value.reason
        assert reason.startswith(
            f"{ResponseTooLongError.__name__}: monitor 'onprem': the response to CloudFormation would be "
        )
        assert reason.endswith(
            "bytes, over its limit of 4,096, with 48 ProbeId attributes; give the probes shorter names, or spread "
            "them over several monitors"
        )
        assert len(reason) < 300
        assert emulator.snapshot() == {}
