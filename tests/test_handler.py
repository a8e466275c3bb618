"""The handler's lifecycle, driven with the events CloudFormation and the Provider framework send.

Every request goes through a real boto3 client: botocore validates it against the service model
before the Stubber answers, and the Stubber checks each answer against the model's output shapes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from cdk_netmon.handler import service
from cdk_netmon.handler.lifecycle import (
    ABANDONED_MONITOR,
    GENERATION,
    GIVE_UP_AFTER_SECONDS,
    GIVE_UP_AT,
    Handler,
    MonitorFailedError,
    SecurityGroupInUseError,
)
from cdk_netmon.handler.planner import client_token
from cdk_netmon.handler.response import RESPONSE_LIMIT_BYTES
from cdk_netmon.handler.rules import GENERATION_TAG
from cdk_netmon.handler.spec import InvalidSpecError
from tests.handler_events import (
    ACCOUNT_PREFIX,
    CREATE_FAILED_MARKER,
    LOGICAL_ID,
    OWNER_TAGS,
    REQUEST_ID,
    STACK_ID,
    after_on_event,
    event,
    live_monitor,
    live_probe,
    mark,
    monitor,
    probe,
    probe_id,
)
from tests.support import SUBNET_A, SUBNET_B, subnet_arn

TCP_A = probe(SUBNET_A, "10.0.0.1", packet_size=56, tags={"path": "dx"})
ICMP_B = probe(SUBNET_B, "10.0.0.2", "ICMP")
DECLARED = monitor("onprem", [TCP_A, ICMP_B], period=30, tags={"team": "network"})


class FakeService:
    """Scripted Network Monitor answers; every request is checked against the botocore model.
    `on_event` and `is_complete` are the handler's, on the stubbed client."""

    def __init__(self, stubber: Stubber, ec2: Stubber, handler: Handler) -> None:
        self.stubber = stubber
        self.ec2 = ec2
        self.on_event = handler.on_event
        self.is_complete = handler.is_complete

    def get(self, live: Mapping[str, Any] | None, name: str = "onprem") -> None:
        if live is None:
            self.stubber.add_client_error(
                "get_monitor",
                "ResourceNotFoundException",
                "Monitor not found",
                404,
                expected_params={"monitorName": name},
            )
        else:
            self.stubber.add_response("get_monitor", dict(live), {"monitorName": name})

    def expect(self, operation: str, params: Mapping[str, Any], response: Mapping[str, Any] | None = None) -> None:
        self.stubber.add_response(operation, dict(response or {}), dict(params))

    def expect_create_monitor(self, request: Mapping[str, Any], request_id: str = REQUEST_ID) -> None:
        """CreateMonitor for a declared monitor: its tags arrive with the ownership tags and the
        request's mark added."""
        name = request["monitorName"]
        declared = {k: v for k, v in request.items() if k != "clientToken"}
        tags = {**request.get("tags", {}), **OWNER_TAGS, GENERATION_TAG: mark(declared, NOW_MS, request_id)}
        self.expect(
            "create_monitor",
            {**request, "tags": tags},
            {"monitorArn": f"{ACCOUNT_PREFIX}:monitor/{name}", "monitorName": name, "state": "PENDING"},
        )

    def expect_mark(self, declared: Mapping[str, Any], request_id: str = REQUEST_ID) -> None:
        """The TagResource that marks the monitor as this request's, before its first write."""
        arn = f"{ACCOUNT_PREFIX}:monitor/{declared['monitorName']}"
        self.expect("tag_resource", {"resourceArn": arn, "tags": {GENERATION_TAG: mark(declared, NOW_MS, request_id)}})

    def groups(self, name: str = "onprem", found: list[Mapping[str, Any]] | None = None) -> None:
        """DescribeSecurityGroups for the monitor's description, answering `found` (none by default)."""
        description = f"Created By Amazon CloudWatch Network Monitor for {name}"
        self.ec2.add_response(
            "describe_security_groups",
            {"SecurityGroups": [dict(g) for g in found or []]},
            {"Filters": [{"Name": "description", "Values": [description]}]},
        )

    def fail(self, operation: str, code: str, status: int, params: Mapping[str, Any]) -> None:
        self.stubber.add_client_error(operation, code, f"{code} from the service", status, expected_params=dict(params))


NOW = 1_790_000_000.0
"""The handler's clock in these tests: on_event answers GIVE_UP_AT = NOW + 45 minutes."""
NOW_MS = int(NOW * 1000)


def answer(physical_id: str, **extra: Any) -> dict[str, Any]:
    """What on_event answers: the physical id, when to stop waiting for security groups, and when
    the request began (its generation)."""
    deadline = {GIVE_UP_AT: round(NOW + GIVE_UP_AFTER_SECONDS)}
    return {"PhysicalResourceId": physical_id, **deadline, GENERATION: NOW_MS, **extra}


def delete_answer(physical_id: str) -> dict[str, Any]:
    """What on_event answers a Delete: no generation (a Delete marks nothing)."""
    return {"PhysicalResourceId": physical_id, GIVE_UP_AT: round(NOW + GIVE_UP_AFTER_SECONDS)}


@pytest.fixture
def api() -> Iterator[FakeService]:
    credentials = {"region_name": "eu-west-1", "aws_access_key_id": "test", "aws_secret_access_key": "test"}
    client = service.new_client(**credentials)
    ec2 = service.new_client("ec2", **credentials)
    with Stubber(client) as stubber, Stubber(ec2) as ec2_stubber:
        yield FakeService(stubber, ec2_stubber, Handler(client, ec2, now=lambda: NOW))
        stubber.assert_no_pending_responses()
        ec2_stubber.assert_no_pending_responses()


def owned(declared: Mapping[str, Any], request_id: str = REQUEST_ID) -> dict[str, Any]:
    """A declared monitor as the handler creates it: with the ownership tags and the request's mark."""
    tags = {**declared.get("tags", {}), **OWNER_TAGS, GENERATION_TAG: mark(declared, NOW_MS, request_id)}
    return {**declared, "tags": tags}


def probe_response(declared: Mapping[str, Any], n: int) -> dict[str, Any]:
    body = live_probe(n, declared, state="PENDING")
    return {k: v for k, v in body.items() if k not in ("createdAt", "modifiedAt")}


# --- Create -----------------------------------------------------------------------------------


class TestCreate:
    def test_on_event_writes_nothing_and_is_complete_makes_one_create_monitor_then_waits_out_pending(
        self, api: FakeService
    ) -> None:
        create = event("Create", DECLARED)
        response = api.on_event(create)  # no call: a kill from here on reaches the rollback's Delete
        assert response == answer("onprem")

        polled = after_on_event(create, response)
        token = client_token(STACK_ID, LOGICAL_ID, create["RequestId"], "create")
        api.get(None)
        api.expect_create_monitor({**DECLARED, "clientToken": token})
        assert api.is_complete(polled) == {"IsComplete": False}
        created = mark(DECLARED, NOW_MS)
        api.get(
            live_monitor(
                state="PENDING",
                period=30,
                tags={"team": "network"},
                probes=[live_probe(1, TCP_A, "PENDING"), live_probe(2, ICMP_B, "PENDING")],
                mark=created,
            )
        )
        assert api.is_complete(polled) == {"IsComplete": False}

        # Probes come back in another order; their ids still follow the declared order.
        api.get(
            live_monitor(
                period=30, tags={"team": "network"}, probes=[live_probe(2, ICMP_B), live_probe(1, TCP_A)], mark=created
            )
        )
        api.groups()
        assert api.is_complete(polled) == {
            "IsComplete": True,
            "Data": {
                "MonitorArn": f"{ACCOUNT_PREFIX}:monitor/onprem",
                "MonitorName": "onprem",
                "ProbeId.0": probe_id(1),
                "ProbeId.1": probe_id(2),
            },
        }

    def test_a_retried_poll_sends_the_same_client_token(self, api: FakeService) -> None:
        create = event("Create", DECLARED)
        polled = after_on_event(create, api.on_event(create))
        token = client_token(STACK_ID, LOGICAL_ID, create["RequestId"], "create")
        for _ in range(2):
            api.get(None)
            api.expect_create_monitor({**DECLARED, "clientToken": token})
            api.is_complete(polled)

    def test_an_empty_monitor_is_done_when_inactive(self, api: FakeService) -> None:
        create = event("Create", monitor("empty"))
        polled = after_on_event(create, api.on_event(create))
        api.get(None, name="empty")
        api.expect_create_monitor({**monitor("empty"), "clientToken": ANY})
        assert api.is_complete(polled) == {"IsComplete": False}
        api.get(live_monitor("empty", state="INACTIVE", mark=mark(monitor("empty"), NOW_MS)), name="empty")
        api.groups("empty")
        assert api.is_complete(polled)["IsComplete"] is True

    def test_a_name_taken_outside_the_stack_fails_and_leaves_that_monitor_alone(self, api: FakeService) -> None:
        create = event("Create", DECLARED)
        polled = after_on_event(create, api.on_event(create))
        api.get(live_monitor(period=30, probes=[live_probe(9, TCP_A)], owner_tags={}))
        with pytest.raises(service.ForeignMonitorError, match="'onprem' exists but is not this resource's"):
            api.is_complete(polled)

    def test_a_name_taken_between_get_and_create_is_read_again_on_the_next_poll(self, api: FakeService) -> None:
        create = event("Create", DECLARED)
        polled = after_on_event(create, api.on_event(create))
        api.get(None)
        api.fail("create_monitor", "ConflictException", 409, {**owned(DECLARED), "clientToken": ANY})
        api.get(live_monitor(period=30, probes=[live_probe(9, TCP_A)], owner_tags={}))
        assert api.is_complete(polled) == {"IsComplete": False}
        api.get(live_monitor(period=30, probes=[live_probe(9, TCP_A)], owner_tags={}))
        with pytest.raises(service.ForeignMonitorError, match="'onprem' exists but is not this resource's"):
            api.is_complete(polled)

    def test_invalid_properties_fail_before_any_call(self, api: FakeService) -> None:
        bad = monitor("onprem", [probe(SUBNET_A, "not-an-ip"), probe("arn:aws:ec2:x", "10.0.0.1", port=0)], period=45)
        with pytest.raises(InvalidSpecError) as refused:
            api.on_event(event("Create", bad))
        message = str(refused.value)
        for expected in (
            "aggregationPeriod 45",
            "probes[0].destination 'not-an-ip'",
            "probes[1].sourceArn",
            "probes[1].destinationPort 0",
        ):
            assert expected in message

    def test_a_probe_in_error_fails_the_deploy_with_the_probe_named(self, api: FakeService) -> None:
        create = event("Create", DECLARED)
        api.get(
            live_monitor(
                period=30,
                tags={"team": "network"},
                probes=[live_probe(1, TCP_A, "ERROR"), live_probe(2, ICMP_B)],
                mark=mark(DECLARED, NOW_MS),
            )
        )
        with pytest.raises(
            MonitorFailedError, match=rf"probe {probe_id(1)} \(TCP {SUBNET_A} -> 10.0.0.1:443\) is in state ERROR"
        ):
            api.is_complete(after_on_event(create, answer("onprem")))

    def test_a_monitor_in_error_fails_the_deploy(self, api: FakeService) -> None:
        api.get(
            live_monitor(
                state="ERROR",
                period=30,
                tags={"team": "network"},
                probes=[live_probe(1, TCP_A), live_probe(2, ICMP_B)],
                mark=mark(DECLARED, NOW_MS),
            )
        )
        with pytest.raises(MonitorFailedError, match="the monitor is in state ERROR"):
            api.is_complete(after_on_event(event("Create", DECLARED), answer("onprem")))

    def test_24_probes_fit_the_4096_byte_response_limit(self, api: FakeService) -> None:
        probes = [probe(subnet_arn(i // 4), f"10.0.{i}.1") for i in range(24)]
        declared = monitor("m" * 200, probes)
        longest_ids = [{**live_probe(i, p), "probeId": f"probe-{i:064d}"} for i, p in enumerate(probes)]
        api.get(live_monitor("m" * 200, probes=longest_ids, mark=mark(declared, NOW_MS)), name="m" * 200)
        api.groups("m" * 200)
        response = api.is_complete(after_on_event(event("Create", declared), answer("m" * 200)))
        assert len(response["Data"]) == 26
        framework_envelope = {
            "Status": "SUCCESS",
            "Reason": "SUCCESS",
            "StackId": STACK_ID,
            "RequestId": REQUEST_ID,
            "LogicalResourceId": LOGICAL_ID,
            "PhysicalResourceId": "m" * 200,
            "Data": response["Data"],
        }
        assert len(json.dumps(framework_envelope).encode()) < RESPONSE_LIMIT_BYTES


# --- Update -----------------------------------------------------------------------------------


def update(api: FakeService, declared: Mapping[str, Any], old: Mapping[str, Any] = DECLARED) -> dict[str, Any]:
    request = event("Update", declared, physical_id=old["monitorName"], old=old)
    assert api.on_event(request) == answer(old["monitorName"])  # in place: no call
    return after_on_event(request, answer(old["monitorName"]))


CONVERGED = live_monitor(period=30, tags={"team": "network"}, probes=[live_probe(1, TCP_A), live_probe(2, ICMP_B)])


class TestUpdate:
    def test_reordering_the_probes_makes_no_call(self, api: FakeService) -> None:
        polled = update(api, monitor("onprem", [ICMP_B, TCP_A], period=30, tags={"team": "network"}))
        api.get(CONVERGED)
        api.groups()
        result = api.is_complete(polled)
        assert result["IsComplete"] is True
        assert result["Data"]["ProbeId.0"] == probe_id(2)

    def test_a_changed_destination_is_one_update_probe_then_a_wait(self, api: FakeService) -> None:
        moved = {**TCP_A, "destination": "10.0.0.99"}
        declared = monitor("onprem", [moved, ICMP_B], period=30, tags={"team": "network"})
        polled = update(api, declared)
        api.get(CONVERGED)
        api.expect_mark(declared)  # before its first write: an older request's waiter then stops
        api.expect(
            "update_probe",
            {"monitorName": "onprem", "probeId": probe_id(1), "destination": "10.0.0.99"},
            probe_response(moved, 1),
        )
        assert api.is_complete(polled) == {"IsComplete": False}
        marked = mark(declared, NOW_MS)
        probes = [live_probe(1, moved, "PENDING"), live_probe(2, ICMP_B)]
        api.get(live_monitor(period=30, tags={"team": "network"}, probes=probes, mark=marked))
        assert api.is_complete(polled) == {"IsComplete": False}
        probes = [live_probe(1, moved), live_probe(2, ICMP_B)]
        api.get(live_monitor(period=30, tags={"team": "network"}, probes=probes, mark=marked))
        api.groups()
        assert api.is_complete(polled)["IsComplete"] is True

    def test_protocol_port_and_packet_size_change_in_the_same_call(self, api: FakeService) -> None:
        changed = probe(SUBNET_B, "10.0.0.2", "TCP", port=8443, packet_size=1500)
        declared = monitor("onprem", [TCP_A, changed], period=30, tags={"team": "network"})
        polled = update(api, declared)
        api.get(CONVERGED)
        api.expect_mark(declared)
        api.expect(
            "update_probe",
            {
                "monitorName": "onprem",
                "probeId": probe_id(2),
                "protocol": "TCP",
                "destinationPort": 8443,
                "packetSize": 1500,
            },
            probe_response(changed, 2),
        )
        assert api.is_complete(polled) == {"IsComplete": False}

    def test_an_added_probe_is_one_create_probe_with_its_tags(self, api: FakeService) -> None:
        added = probe(SUBNET_B, "10.0.0.3", tags={"k": "v"})
        declared = monitor("onprem", [TCP_A, ICMP_B, added], period=30, tags={"team": "network"})
        polled = update(api, declared)
        api.get(CONVERGED)
        api.expect_mark(declared)
        api.expect(
            "create_probe",
            {
                "monitorName": "onprem",
                "probe": {
                    "sourceArn": SUBNET_B,
                    "destination": "10.0.0.3",
                    "protocol": "TCP",
                    "destinationPort": 443,
                    "tags": {"k": "v"},
                },
                "clientToken": ANY,
            },
            probe_response(added, 3),
        )
        assert api.is_complete(polled) == {"IsComplete": False}

    def test_a_removed_probe_is_deleted_and_waited_for(self, api: FakeService) -> None:
        declared = monitor("onprem", [TCP_A], period=30, tags={"team": "network"})
        polled = update(api, declared)
        api.get(CONVERGED)
        api.expect_mark(declared)
        api.expect("delete_probe", {"monitorName": "onprem", "probeId": probe_id(2)})
        assert api.is_complete(polled) == {"IsComplete": False}
        marked = mark(declared, NOW_MS)
        probes = [live_probe(1, TCP_A), live_probe(2, ICMP_B, "DELETING")]
        api.get(live_monitor(period=30, tags={"team": "network"}, probes=probes, mark=marked))
        assert api.is_complete(polled) == {"IsComplete": False}
        probes = [live_probe(1, TCP_A), live_probe(2, ICMP_B, "DELETED")]
        api.get(live_monitor(period=30, tags={"team": "network"}, probes=probes, mark=marked))
        api.groups()
        assert api.is_complete(polled)["IsComplete"] is True

    def test_a_changed_source_is_delete_then_create_after_the_delete_settles(self, api: FakeService) -> None:
        moved = {**ICMP_B, "sourceArn": subnet_arn(7)}
        declared = monitor("onprem", [TCP_A, moved], period=30, tags={"team": "network"})
        polled = update(api, declared)
        api.get(CONVERGED)
        api.expect_mark(declared)
        api.expect("delete_probe", {"monitorName": "onprem", "probeId": probe_id(2)})
        assert api.is_complete(polled) == {"IsComplete": False}
        marked = mark(declared, NOW_MS)
        api.get(live_monitor(period=30, tags={"team": "network"}, probes=[live_probe(1, TCP_A)], mark=marked))
        api.expect(
            "create_probe",
            {"monitorName": "onprem", "probe": dict(moved), "clientToken": ANY},
            probe_response(moved, 3),
        )
        assert api.is_complete(polled) == {"IsComplete": False}

    def test_the_aggregation_period_is_one_update_monitor(self, api: FakeService) -> None:
        declared = monitor("onprem", [TCP_A, ICMP_B], period=60, tags={"team": "network"})
        polled = update(api, declared)
        api.get(CONVERGED)
        api.expect_mark(declared)
        api.expect(
            "update_monitor",
            {"monitorName": "onprem", "aggregationPeriod": 60},
            {"monitorArn": f"{ACCOUNT_PREFIX}:monitor/onprem", "monitorName": "onprem", "state": "PENDING"},
        )
        assert api.is_complete(polled) == {"IsComplete": False}

    def test_tags_are_added_changed_and_removed_on_monitor_and_probes(self, api: FakeService) -> None:
        retagged = {**TCP_A, "probeTags": {"path": "vpn", "new": "1"}}
        declared = monitor("onprem", [retagged, {**ICMP_B, "probeTags": {}}], period=30, tags={"owner": "me"})
        polled = update(api, declared)
        api.get(
            live_monitor(
                period=30,
                tags={"team": "network"},
                probes=[live_probe(1, TCP_A), live_probe(2, {**ICMP_B, "probeTags": {"old": "x"}})],
            )
        )
        api.expect_mark(declared)
        api.expect("tag_resource", {"resourceArn": f"{ACCOUNT_PREFIX}:monitor/onprem", "tags": {"owner": "me"}})
        api.expect("untag_resource", {"resourceArn": f"{ACCOUNT_PREFIX}:monitor/onprem", "tagKeys": ["team"]})
        api.expect(
            "tag_resource",
            {"resourceArn": f"{ACCOUNT_PREFIX}:probe/{probe_id(1)}", "tags": {"path": "vpn", "new": "1"}},
        )
        api.expect("untag_resource", {"resourceArn": f"{ACCOUNT_PREFIX}:probe/{probe_id(2)}", "tagKeys": ["old"]})
        assert api.is_complete(polled) == {"IsComplete": False}

    def test_drift_is_repaired_from_the_live_state_not_the_old_properties(self, api: FakeService) -> None:
        # Unchanged template, but out of band: a probe paused, a packet size changed, a stray probe added.
        polled = update(api, DECLARED)
        stray = probe(SUBNET_A, "10.0.0.66")
        api.get(
            live_monitor(
                period=30,
                tags={"team": "network"},
                probes=[live_probe(1, TCP_A, "INACTIVE", packetSize=1000), live_probe(2, ICMP_B), live_probe(3, stray)],
            )
        )
        api.expect_mark(DECLARED)
        api.expect("delete_probe", {"monitorName": "onprem", "probeId": probe_id(3)})
        assert api.is_complete(polled) == {"IsComplete": False}
        api.get(
            live_monitor(
                period=30,
                tags={"team": "network"},
                probes=[live_probe(1, TCP_A, "INACTIVE", packetSize=1000), live_probe(2, ICMP_B)],
                mark=mark(DECLARED, NOW_MS),
            )
        )
        api.expect(
            "update_probe",
            {"monitorName": "onprem", "probeId": probe_id(1), "packetSize": 56, "state": "ACTIVE"},
            probe_response(TCP_A, 1),
        )
        assert api.is_complete(polled) == {"IsComplete": False}

    def test_a_monitor_deleted_out_of_band_is_created_again(self, api: FakeService) -> None:
        polled = update(api, DECLARED)
        api.get(None)
        api.expect_create_monitor(
            {**DECLARED, "clientToken": client_token(STACK_ID, LOGICAL_ID, polled["RequestId"], "create")}
        )
        assert api.is_complete(polled) == {"IsComplete": False}

    def test_a_monitor_not_yet_visible_after_create_is_not_mistaken_for_a_name_conflict(self, api: FakeService) -> None:
        # GetMonitor may lag CreateMonitor. Asking again with the request's own token is idempotent,
        # and a conflict here only means the monitor is there after all: the next poll reads it.
        create = event("Create", DECLARED)
        polled = after_on_event(create, answer("onprem"))
        api.get(None)
        api.fail(
            "create_monitor",
            "ConflictException",
            409,
            {**owned(DECLARED), "clientToken": client_token(STACK_ID, LOGICAL_ID, create["RequestId"], "create")},
        )
        api.get(None)  # still not visible: the next poll reads it again
        assert api.is_complete(polled) == {"IsComplete": False}

    def test_a_rollback_is_an_update_back_to_the_old_properties(self, api: FakeService) -> None:
        # The failed update had added a probe; CloudFormation now sends the old properties as new.
        added = probe(SUBNET_B, "10.0.0.3")
        failed = monitor("onprem", [TCP_A, ICMP_B, added], period=30, tags={"team": "network"})
        polled = update(api, DECLARED, old=failed)
        api.get(
            live_monitor(
                period=30,
                tags={"team": "network"},
                probes=[live_probe(1, TCP_A), live_probe(2, ICMP_B), live_probe(3, added)],
            )
        )
        api.expect_mark(DECLARED)
        api.expect("delete_probe", {"monitorName": "onprem", "probeId": probe_id(3)})
        assert api.is_complete(polled) == {"IsComplete": False}

    def test_a_new_name_replaces_the_monitor_which_is_complete_creates(self, api: FakeService) -> None:
        renamed = {**DECLARED, "monitorName": "onprem-v2"}
        request = event("Update", renamed, physical_id="onprem", old=DECLARED)
        # A new physical id, and no call: CloudFormation deletes "onprem" once the stack update succeeds.
        assert api.on_event(request) == answer("onprem-v2")
        api.get(None, name="onprem-v2")
        api.expect_create_monitor(
            {**renamed, "clientToken": client_token(STACK_ID, LOGICAL_ID, request["RequestId"], "create")}
        )
        assert api.is_complete(after_on_event(request, answer("onprem-v2"))) == {"IsComplete": False}

    def test_an_invalid_update_fails_before_any_call(self, api: FakeService) -> None:
        with pytest.raises(InvalidSpecError, match=r"probes\[0\].packetSize 9000"):
            api.on_event(
                event(
                    "Update",
                    monitor("onprem", [probe(SUBNET_A, "10.0.0.1", packet_size=9000)]),
                    physical_id="onprem",
                    old=DECLARED,
                )
            )


# --- Delete -----------------------------------------------------------------------------------


def delete_request(physical_id: str = "onprem") -> dict[str, Any]:
    return event("Delete", DECLARED, physical_id=physical_id)


class TestDelete:
    def test_deletes_every_probe_waits_then_deletes_the_monitor_and_waits(self, api: FakeService) -> None:
        request = delete_request()
        api.get(CONVERGED)
        api.expect("delete_probe", {"monitorName": "onprem", "probeId": probe_id(1)})
        api.expect("delete_probe", {"monitorName": "onprem", "probeId": probe_id(2)})
        assert api.on_event(request) == delete_answer("onprem")

        api.get(live_monitor(period=30, probes=[live_probe(1, TCP_A, "DELETING"), live_probe(2, ICMP_B, "DELETED")]))
        assert api.is_complete(request) == {"IsComplete": False}
        api.get(live_monitor(period=30, state="INACTIVE"))
        api.expect("delete_monitor", {"monitorName": "onprem"})
        assert api.is_complete(request) == {"IsComplete": False}
        api.get(None)
        api.groups()
        assert api.is_complete(request) == {"IsComplete": True}

    def test_a_probe_already_gone_or_a_refused_monitor_delete_is_tried_again_later(self, api: FakeService) -> None:
        request = delete_request()
        api.get(live_monitor(probes=[live_probe(1, TCP_A)]))
        api.fail("delete_probe", "ResourceNotFoundException", 404, {"monitorName": "onprem", "probeId": probe_id(1)})
        api.on_event(request)
        api.get(live_monitor(state="INACTIVE"))
        api.fail("delete_monitor", "ValidationException", 400, {"monitorName": "onprem"})
        assert api.is_complete(request) == {"IsComplete": False}

    def test_a_monitor_that_does_not_exist_is_success(self, api: FakeService) -> None:
        api.get(None)
        api.on_event(delete_request())
        api.get(None)
        api.groups()
        assert api.is_complete(delete_request()) == {"IsComplete": True}

    def test_after_a_failed_create_there_is_nothing_to_call(self, api: FakeService) -> None:
        request = delete_request(CREATE_FAILED_MARKER)
        assert api.on_event(request) == delete_answer(CREATE_FAILED_MARKER)
        assert api.is_complete(request) == {"IsComplete": True}

    def test_probes_in_error_are_deleted_too(self, api: FakeService) -> None:
        api.get(live_monitor(state="ERROR", probes=[live_probe(1, TCP_A, "ERROR")]))
        api.expect("delete_probe", {"monitorName": "onprem", "probeId": probe_id(1)})
        api.on_event(delete_request())


# --- Ownership --------------------------------------------------------------------------------


class TestOwnership:
    """The handler modifies or deletes only monitors carrying this resource's ownership tags; a
    monitor from release 0.1.0 (untagged, named by properties without OwnershipTags) is adopted."""

    @pytest.mark.parametrize(
        ("case", "owner_tags"),
        [
            ("made by hand", {}),
            ("another resource's", {**OWNER_TAGS, "cdk-netmon:logical-id": "Other"}),
            ("another stack's", {**OWNER_TAGS, "cdk-netmon:stack-id": STACK_ID.replace("/Stack/", "/Other/")}),
        ],
    )
    def test_a_monitor_that_is_not_ours_fails_the_deploy_and_is_left_alone(
        self, api: FakeService, case: str, owner_tags: dict[str, str]
    ) -> None:
        api.get(live_monitor(period=30, probes=[live_probe(9, TCP_A)], owner_tags=owner_tags))
        with pytest.raises(service.ForeignMonitorError, match="'onprem' exists but is not this resource's"):
            api.is_complete(after_on_event(event("Create", DECLARED), answer("onprem")))

    def test_delete_leaves_a_monitor_that_is_not_ours_alone(self, api: FakeService) -> None:
        api.get(live_monitor(probes=[live_probe(1, TCP_A)], owner_tags={}))
        assert api.on_event(delete_request()) == delete_answer("onprem")
        api.get(live_monitor(probes=[live_probe(1, TCP_A)], owner_tags={}))
        assert api.is_complete(delete_request()) == {"IsComplete": True}

    def test_an_update_adopts_a_monitor_of_release_0_1_0_before_touching_it(self, api: FakeService) -> None:
        request = event("Update", DECLARED, physical_id="onprem", old=DECLARED, old_release="0.1.0")
        assert api.on_event(request) == answer("onprem")
        polled = after_on_event(request, answer("onprem"))
        untagged = live_monitor(
            period=30, tags={"team": "network"}, probes=[live_probe(1, TCP_A), live_probe(2, ICMP_B)], owner_tags={}
        )
        api.get(untagged)
        api.expect("tag_resource", {"resourceArn": f"{ACCOUNT_PREFIX}:monitor/onprem", "tags": OWNER_TAGS})
        assert api.is_complete(polled) == {"IsComplete": False}
        api.get(CONVERGED)
        api.groups()
        assert api.is_complete(polled)["IsComplete"] is True

    def test_a_delete_adopts_a_monitor_of_release_0_1_0_then_deletes_it(self, api: FakeService) -> None:
        request = event("Delete", DECLARED, physical_id="onprem", release="0.1.0")
        api.get(live_monitor(probes=[live_probe(1, TCP_A)], owner_tags={}))
        api.expect("tag_resource", {"resourceArn": f"{ACCOUNT_PREFIX}:monitor/onprem", "tags": OWNER_TAGS})
        api.expect("delete_probe", {"monitorName": "onprem", "probeId": probe_id(1)})
        assert api.on_event(request) == delete_answer("onprem")

    def test_a_delete_of_0_1_0_properties_still_leaves_another_resources_monitor_alone(self, api: FakeService) -> None:
        request = event("Delete", DECLARED, physical_id="onprem", release="0.1.0")
        api.get(live_monitor(owner_tags={**OWNER_TAGS, "cdk-netmon:logical-id": "Other"}))
        assert api.on_event(request) == delete_answer("onprem")

    def test_an_update_that_rolls_back_a_failed_replacement_deletes_the_monitor_it_created(
        self, api: FakeService
    ) -> None:
        # Engines that ignore the failed replacement's physical id send an Update back to the old
        # properties with the old id; the old properties of that Update name the new monitor.
        renamed = {**DECLARED, "monitorName": "onprem-v2"}
        request = event("Update", DECLARED, physical_id="onprem", old=renamed)
        answered = api.on_event(request)
        assert answered == {**answer("onprem"), ABANDONED_MONITOR: "onprem-v2"}
        polled = after_on_event(request, answered)

        api.get(live_monitor("onprem-v2", state="ERROR", probes=[live_probe(5, TCP_A, "ERROR")]), name="onprem-v2")
        api.expect("delete_probe", {"monitorName": "onprem-v2", "probeId": probe_id(5)})
        assert api.is_complete(polled) == {"IsComplete": False}
        api.get(live_monitor("onprem-v2", state="INACTIVE"), name="onprem-v2")
        api.expect("delete_monitor", {"monitorName": "onprem-v2"})
        assert api.is_complete(polled) == {"IsComplete": False}
        api.get(None, name="onprem-v2")
        api.groups("onprem-v2")
        api.get(CONVERGED)
        api.groups()
        assert api.is_complete(polled)["IsComplete"] is True

    def test_a_monitor_named_by_the_old_properties_that_is_not_ours_is_not_deleted(self, api: FakeService) -> None:
        renamed = {**DECLARED, "monitorName": "onprem-v2"}
        request = event("Update", DECLARED, physical_id="onprem", old=renamed)
        polled = after_on_event(request, api.on_event(request))
        api.get(live_monitor("onprem-v2", owner_tags={}), name="onprem-v2")
        api.get(CONVERGED)
        api.groups()
        assert api.is_complete(polled)["IsComplete"] is True


def test_each_call_gets_eight_attempts_in_all() -> None:
    client = service.new_client(region_name="eu-west-1", aws_access_key_id="test", aws_secret_access_key="test")
    assert client.meta.config.retries == {"mode": "legacy", "total_max_attempts": service.MAX_ATTEMPTS}
    assert service.MAX_ATTEMPTS == 8


class TestPausing:
    def test_a_probe_declared_paused_is_created_without_a_state_then_paused(self, api: FakeService) -> None:
        declared = monitor("onprem", [TCP_A, {**ICMP_B, "state": "INACTIVE"}], period=30, tags={"team": "network"})
        create = event("Create", declared)
        polled = after_on_event(create, api.on_event(create))
        api.get(None)
        # CreateMonitor takes no state; the mark is of the monitor as declared, paused probe included.
        tags = {"team": "network", **OWNER_TAGS, GENERATION_TAG: mark(declared, NOW_MS)}
        created = {"monitorArn": f"{ACCOUNT_PREFIX}:monitor/onprem", "monitorName": "onprem", "state": "PENDING"}
        api.expect("create_monitor", {**DECLARED, "tags": tags, "clientToken": ANY}, created)
        assert api.is_complete(polled) == {"IsComplete": False}
        live = live_monitor(
            period=30,
            tags={"team": "network"},
            probes=[live_probe(1, TCP_A), live_probe(2, ICMP_B)],
            mark=mark(declared, NOW_MS),
        )
        api.get(live)
        api.expect(
            "update_probe",
            {"monitorName": "onprem", "probeId": probe_id(2), "state": "INACTIVE"},
            probe_response(ICMP_B, 2),
        )
        assert api.is_complete(polled) == {"IsComplete": False}

    def test_a_declared_state_other_than_active_or_inactive_is_refused_before_any_call(self, api: FakeService) -> None:
        with pytest.raises(
            InvalidSpecError, match=r"probes\[0\].state 'PENDING' is not a state a probe can be declared in"
        ):
            api.on_event(event("Create", monitor("onprem", [{**TCP_A, "state": "PENDING"}])))


# --- Security groups --------------------------------------------------------------------------


def group(group_id: str, vpc: str, name: str = "onprem") -> dict[str, Any]:
    return {
        "GroupId": group_id,
        "VpcId": vpc,
        "GroupName": f"netmon-{group_id}",
        "Description": f"Created By Amazon CloudWatch Network Monitor for {name}",
    }


MANAGED = {"Key": "ManagedByCloudWatchNetworkMonitor", "Value": "true"}
"""The tag CloudWatchNetworkMonitorServiceRolePolicy names (whether the service sets it is unconfirmed)."""


class TestSecurityGroups:
    """The groups the service leaves: deleted once no probe of the monitor is in their VPC."""

    def test_after_the_monitor_is_gone_its_groups_are_deleted(self, api: FakeService) -> None:
        api.get(None)
        api.groups(found=[group("sg-0a", "vpc-a"), group("sg-0b", "vpc-b")])
        api.ec2.add_response("delete_security_group", {}, {"GroupId": "sg-0a"})
        api.ec2.add_response("delete_security_group", {}, {"GroupId": "sg-0b"})
        assert api.is_complete(delete_request()) == {"IsComplete": True}

    def test_a_vpc_that_keeps_a_probe_keeps_its_group(self, api: FakeService) -> None:
        polled = update(api, DECLARED)
        api.get(CONVERGED)  # both probes in vpc-0a1b2c3d4e5f6a7b8
        api.groups(found=[group("sg-0a", "vpc-0a1b2c3d4e5f6a7b8"), group("sg-old", "vpc-old")])
        api.ec2.add_response("delete_security_group", {}, {"GroupId": "sg-old"})
        assert api.is_complete(polled)["IsComplete"] is True

    def test_a_group_of_another_description_is_never_deleted(self, api: FakeService) -> None:
        # An EC2 that ignores the description filter (ministack's) returns every group.
        api.get(None)
        api.groups(
            found=[{**group("sg-app", "vpc-a"), "Description": "the application"}, group("sg-x", "vpc-a", "onprem-2")]
        )
        assert api.is_complete(delete_request()) == {"IsComplete": True}

    @pytest.mark.parametrize(
        ("case", "found", "deleted"),
        [
            (
                "the service tags its groups: an untagged look-alike is a user's",
                [{**group("sg-0a", "vpc-a"), "Tags": [MANAGED]}, group("sg-mine", "vpc-a")],
                ["sg-0a"],
            ),
            (
                "no group is tagged: the description decides",
                [group("sg-0a", "vpc-a"), group("sg-0b", "vpc-b")],
                [
                    "sg-0a",
                    "sg-0b",
                ],
            ),
            (
                "a tag of another value is no tag",
                [{**group("sg-0a", "vpc-a"), "Tags": [{"Key": MANAGED["Key"], "Value": "false"}]}],
                ["sg-0a"],
            ),
        ],
    )
    def test_where_any_group_carries_the_services_tag_only_tagged_groups_are_the_services(
        self, api: FakeService, case: str, found: list[Mapping[str, Any]], deleted: list[str]
    ) -> None:
        api.get(None)
        api.groups(found=found)
        for group_id in deleted:
            api.ec2.add_response("delete_security_group", {}, {"GroupId": group_id})
        assert api.is_complete(delete_request()) == {"IsComplete": True}, case

    def test_a_group_still_in_use_is_tried_again_on_the_next_poll(self, api: FakeService) -> None:
        request = after_on_event(delete_request(), answer("onprem"))
        api.get(None)
        api.groups(found=[group("sg-0a", "vpc-a")])
        api.ec2.add_client_error(
            "delete_security_group", "DependencyViolation", "resource sg-0a has a dependent object", 400
        )
        assert api.is_complete(request) == {"IsComplete": False}

    def test_a_group_still_in_use_at_the_deadline_fails_with_what_is_left(self) -> None:
        credentials = {"region_name": "eu-west-1", "aws_access_key_id": "test", "aws_secret_access_key": "test"}
        client, ec2 = service.new_client(**credentials), service.new_client("ec2", **credentials)
        late = Handler(client, ec2, now=lambda: NOW + GIVE_UP_AFTER_SECONDS)
        with Stubber(client) as stubber, Stubber(ec2) as ec2_stubber:
            api = FakeService(stubber, ec2_stubber, late)
            api.get(None)
            api.groups(found=[group("sg-0a", "vpc-a")])
            api.ec2.add_client_error("delete_security_group", "DependencyViolation", "in use", 400)
            with pytest.raises(SecurityGroupInUseError, match=r"security group sg-0a in vpc-a, .* is still in use"):
                api.is_complete(after_on_event(delete_request(), answer("onprem")))

    def test_a_probe_whose_vpc_is_not_told_leaves_every_group_alone(self, api: FakeService) -> None:
        polled = update(api, DECLARED)
        unknown = [{k: v for k, v in live_probe(n, p).items() if k != "vpcId"} for n, p in ((1, TCP_A), (2, ICMP_B))]
        api.get(live_monitor(period=30, tags={"team": "network"}, probes=unknown))
        assert api.is_complete(polled)["IsComplete"] is True  # no EC2 call: its VPC may be any

    def test_a_monitor_that_is_not_ours_keeps_its_groups(self, api: FakeService) -> None:
        api.get(live_monitor(owner_tags={}))
        assert api.is_complete(delete_request()) == {"IsComplete": True}  # and no EC2 call


def test_a_create_that_finds_a_monitor_carrying_its_own_tags_converges_it(api: FakeService) -> None:
    """Made by an earlier request of this resource (a deploy retried, or 0.2.0's answer lost after
    its on_event created it): CreateMonitor answers a conflict, and the monitor is this resource's."""
    create = event("Create", DECLARED, request_id="6a0e6b5e-0000-4000-8000-000000000002")
    polled = after_on_event(create, api.on_event(create))
    api.get(None)
    api.fail(
        "create_monitor",
        "ConflictException",
        409,
        {**owned(DECLARED, "6a0e6b5e-0000-4000-8000-000000000002"), "clientToken": ANY},
    )
    api.get(CONVERGED)
    assert api.is_complete(polled) == {"IsComplete": False}
    api.get(CONVERGED)
    api.groups()
    assert api.is_complete(polled)["IsComplete"] is True


# --- The newest request wins ------------------------------------------------------------------

OTHER_REQUEST = "6a0e6b5e-0000-4000-8000-0000000000ff"
CHANGED = monitor("onprem", [TCP_A, {**ICMP_B, "destination": "10.0.0.9"}], period=30, tags={"team": "network"})


def converged(mark: str | None = None) -> dict[str, Any]:
    """The monitor as DECLARED, live, with the generation mark `mark` where given."""
    return live_monitor(period=30, tags={"team": "network"}, probes=CONVERGED["probes"], mark=mark)


def expect_the_changed_write(api: FakeService) -> None:
    """What CHANGED writes over DECLARED: the second probe's new destination."""
    api.expect(
        "update_probe",
        {"monitorName": "onprem", "probeId": probe_id(2), "destination": "10.0.0.9"},
        probe_response({**ICMP_B, "destination": "10.0.0.9"}, 2),
    )


class TestNewestRequestWins:
    """Each request marks the monitor with its generation before its first write; a waiter that
    finds a newer request's mark writes nothing more (the Provider framework keeps polling a request
    CloudFormation cancelled, aws/aws-cdk#31541)."""

    def test_a_waiter_of_a_superseded_request_writes_nothing_and_ends_without_data(self, api: FakeService) -> None:
        polled = update(api, CHANGED)  # would write UpdateProbe, but a newer request marked the monitor
        newer = mark(DECLARED, NOW_MS + 1000, OTHER_REQUEST)
        api.get(converged(mark=newer))
        assert api.is_complete(polled) == {"IsComplete": True}

    def test_an_older_request_marked_the_monitor_first_its_mark_is_replaced_then_the_write(
        self, api: FakeService
    ) -> None:
        polled = update(api, CHANGED)
        older = mark(DECLARED, NOW_MS - 1000, OTHER_REQUEST)
        api.get(converged(mark=older))
        api.expect_mark(CHANGED)
        expect_the_changed_write(api)
        assert api.is_complete(polled) == {"IsComplete": False}

    def test_the_same_request_delivered_again_is_never_superseded(self, api: FakeService) -> None:
        # The later delivery began later: its mark is newer, but it is this very request.
        polled = update(api, CHANGED)
        again = mark(CHANGED, NOW_MS + 5000)
        api.get(converged(mark=again))
        expect_the_changed_write(api)
        assert api.is_complete(polled) == {"IsComplete": False}

    def test_a_rollback_with_nothing_to_write_still_marks_the_monitor(self, api: FakeService) -> None:
        # The cancelled update had not written yet; its waiter may: the rollback's mark stops it.
        polled = update(api, DECLARED, old=CHANGED)
        api.get(converged())
        api.expect_mark(DECLARED)
        api.groups()
        assert api.is_complete(polled)["IsComplete"] is True

    @pytest.mark.parametrize(
        ("the_other_request_declared", "marked_again"),
        [
            pytest.param(DECLARED, False, id="the-same-monitor-is-left-unmarked"),
            # Its waiter may still be polling, and would write what it declared.
            pytest.param(CHANGED, True, id="another-monitor-is-marked-over"),
        ],
    )
    def test_a_no_op_update_over_an_earlier_requests_mark_writes_only_a_mark_it_must(
        self, api: FakeService, the_other_request_declared: dict[str, Any], marked_again: bool
    ) -> None:
        polled = update(api, DECLARED)
        earlier = mark(the_other_request_declared, NOW_MS - 60_000, OTHER_REQUEST)
        api.get(converged(mark=earlier))
        if marked_again:
            api.expect_mark(DECLARED)
        api.groups()
        assert api.is_complete(polled)["IsComplete"] is True
