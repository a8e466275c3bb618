"""The emulator behaves as the service does, as far as the service model (botocore's), the API
reference and the user guide tell.

Every request goes through an unmodified boto3 client over HTTP, so these also show that the
emulator's REST-JSON speaks what botocore serialises and parses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cdk_netmon.testing import Faults, LocalNetworkMonitor
from tests.support import subnet_arn

A = subnet_arn(1)


@pytest.fixture
def emulator() -> Iterator[LocalNetworkMonitor]:
    with LocalNetworkMonitor(pending_seconds=60, deleting_seconds=20) as running:
        yield running


def client(emulator: LocalNetworkMonitor, attempts: int = 1) -> Any:
    return boto3.client(
        "networkmonitor",
        endpoint_url=emulator.endpoint_url,
        region_name="eu-west-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"mode": "standard", "max_attempts": attempts}),
    )


def probe(destination: str = "10.0.0.1", source: str = A, **extra: Any) -> dict[str, Any]:
    return {"sourceArn": source, "destination": destination, "protocol": "TCP", "destinationPort": 443, **extra}


def refused(call: Any, **params: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as error:
        call(**params)
    response = error.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_a_monitor_with_probes_is_pending_then_active_and_an_empty_one_inactive(emulator: LocalNetworkMonitor) -> None:
    nm = client(emulator)
    assert nm.create_monitor(monitorName="full", probes=[probe()])["state"] == "PENDING"
    assert nm.create_monitor(monitorName="empty")["state"] == "INACTIVE"
    emulator.clock.advance(59)
    assert nm.get_monitor(monitorName="full")["probes"][0]["state"] == "PENDING"
    emulator.clock.advance(1)
    full = nm.get_monitor(monitorName="full")
    assert (full["state"], full["probes"][0]["state"]) == ("ACTIVE", "ACTIVE")


def test_updates_are_pending_again(emulator: LocalNetworkMonitor) -> None:
    nm = client(emulator)
    nm.create_monitor(monitorName="m", probes=[probe()])
    emulator.clock.advance(60)
    assert nm.update_monitor(monitorName="m", aggregationPeriod=30)["state"] == "PENDING"


@pytest.mark.parametrize(
    ("case", "params", "expected"),
    [
        ("name pattern (botocore leaves it unchecked)", {"monitorName": "bad name"}, ("ValidationException", 400)),
        ("a name ending in a newline (matched whole)", {"monitorName": "m\n"}, ("ValidationException", 400)),
        (
            "a source ARN ending in a newline",
            {"monitorName": "m", "probes": [probe(source=A + "\n")]},
            ("ValidationException", 400),
        ),
        (
            "a source ARN with full-width digits",
            {
                "monitorName": "m",
                "probes": [
                    probe(
                        source=A.replace(
                            "123456789012", "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10\uff11\uff12"
                        )
                    )
                ],
            },
            ("ValidationException", 400),
        ),
        ("aggregation period", {"monitorName": "m", "aggregationPeriod": 45}, ("ValidationException", 400)),
        (
            "packet size over the model's max",
            {"monitorName": "m", "probes": [probe(packetSize=9000)]},
            ("ValidationException", 400),
        ),
        ("host name destination", {"monitorName": "m", "probes": [probe("example.com")]}, ("ValidationException", 400)),
        (
            "TCP without a port",
            {"monitorName": "m", "probes": [{"sourceArn": A, "destination": "10.0.0.1", "protocol": "TCP"}]},
            ("ValidationException", 400),
        ),
        (
            "IPv4 and IPv6 mixed",
            {"monitorName": "m", "probes": [probe(), probe("2001:db8::1")]},
            ("ValidationException", 400),
        ),
        ("reserved tag key", {"monitorName": "m", "tags": {"aws:x": "y"}}, ("ValidationException", 400)),
        (
            "subnet of another account",
            {"monitorName": "m", "probes": [probe(source="arn:aws:ec2:eu-west-1:999999999999:subnet/subnet-0abc")]},
            ("ValidationException", 400),
        ),
        (
            "25 probes",
            {"monitorName": "m", "probes": [probe(f"10.0.{i}.1", subnet_arn(i)) for i in range(25)]},
            ("ServiceQuotaExceededException", 402),
        ),
        (
            "5 probes from one subnet",
            {"monitorName": "m", "probes": [probe(f"10.0.{i}.1") for i in range(5)]},
            ("ServiceQuotaExceededException", 402),
        ),
    ],
)
def test_create_monitor_refuses(
    emulator: LocalNetworkMonitor, case: str, params: dict[str, Any], expected: tuple[str, int]
) -> None:
    nm = client(emulator)
    assert refused(nm.create_monitor, **params)[:2] == expected, case
    assert nm.list_monitors()["monitors"] == []


def test_names_are_unique_and_client_tokens_idempotent(emulator: LocalNetworkMonitor) -> None:
    nm = client(emulator)
    first = nm.create_monitor(monitorName="m", clientToken="t1", probes=[probe()])
    again = nm.create_monitor(monitorName="m", clientToken="t1", probes=[probe()])
    assert again["monitorArn"] == first["monitorArn"]
    assert len(nm.get_monitor(monitorName="m")["probes"]) == 1
    assert refused(nm.create_monitor, monitorName="m", clientToken="t1", probes=[])[:2] == ("ConflictException", 409)
    assert refused(nm.create_monitor, monitorName="m", clientToken="t2")[:2] == ("ConflictException", 409)


def test_a_monitor_with_probes_cannot_be_deleted_and_deletion_takes_time(emulator: LocalNetworkMonitor) -> None:
    nm = client(emulator)
    nm.create_monitor(monitorName="m", probes=[probe()])
    emulator.clock.advance(60)
    [live] = nm.get_monitor(monitorName="m")["probes"]
    assert refused(nm.delete_monitor, monitorName="m")[:2] == ("ValidationException", 400)
    nm.delete_probe(monitorName="m", probeId=live["probeId"])
    assert nm.get_monitor(monitorName="m")["probes"][0]["state"] == "DELETING"
    emulator.clock.advance(20)
    assert nm.get_monitor(monitorName="m")["probes"] == []
    nm.delete_monitor(monitorName="m")
    assert nm.get_monitor(monitorName="m")["state"] == "DELETING"
    emulator.clock.advance(20)
    assert refused(nm.get_monitor, monitorName="m")[:2] == ("ResourceNotFoundException", 404)


def test_by_default_writes_to_a_pending_monitor_are_accepted_and_keep_it_pending(
    emulator: LocalNetworkMonitor,
) -> None:
    nm = client(emulator)
    nm.create_monitor(monitorName="m", probes=[probe()])
    emulator.clock.advance(30)
    created = nm.create_probe(monitorName="m", probe=probe("10.0.0.2", tags={"k": "v"}))
    assert (created["state"], created["tags"]) == ("PENDING", {"k": "v"})
    emulator.clock.advance(59)
    assert nm.get_monitor(monitorName="m")["state"] == "PENDING"
    emulator.clock.advance(1)
    assert nm.get_monitor(monitorName="m")["state"] == "ACTIVE"


def test_in_refuse_mode_writes_wait_while_the_monitor_is_pending() -> None:
    with LocalNetworkMonitor(settling_writes="refuse") as emulator:
        nm = client(emulator)
        nm.create_monitor(monitorName="m", probes=[probe()])
        assert refused(nm.create_probe, monitorName="m", probe=probe("10.0.0.2"))[:2] == ("ValidationException", 400)
        emulator.clock.advance(60)
        created = nm.create_probe(monitorName="m", probe=probe("10.0.0.2", tags={"k": "v"}))
        assert (created["state"], created["tags"]) == ("PENDING", {"k": "v"})


def test_writes_to_a_deleting_monitor_are_refused_in_either_mode(emulator: LocalNetworkMonitor) -> None:
    nm = client(emulator)
    nm.create_monitor(monitorName="m")
    nm.delete_monitor(monitorName="m")
    assert refused(nm.update_monitor, monitorName="m", aggregationPeriod=30)[:2] == ("ValidationException", 400)


@pytest.mark.slow
def test_probe_updates_keep_the_source_and_the_family(emulator: LocalNetworkMonitor) -> None:
    nm = client(emulator)
    nm.create_monitor(monitorName="m", probes=[probe(), probe("10.0.0.2")])
    emulator.clock.advance(60)
    first = nm.get_monitor(monitorName="m")["probes"][0]
    assert refused(nm.update_probe, monitorName="m", probeId=first["probeId"], destination="2001:db8::1")[:2] == (
        "ValidationException",
        400,
    )
    updated = nm.update_probe(monitorName="m", probeId=first["probeId"], destinationPort=8443, state="INACTIVE")
    assert (updated["sourceArn"], updated["destinationPort"]) == (A, 8443)
    emulator.clock.advance(60)
    assert nm.get_probe(monitorName="m", probeId=first["probeId"])["state"] == "INACTIVE"


def test_tags_on_monitors_and_probes(emulator: LocalNetworkMonitor) -> None:
    nm = client(emulator)
    arn = nm.create_monitor(monitorName="m", tags={"a": "1"})["monitorArn"]
    nm.tag_resource(resourceArn=arn, tags={"b": "2"})
    nm.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert nm.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}
    assert refused(nm.tag_resource, resourceArn=arn, tags={"aws:c": "3"})[:2] == ("ValidationException", 400)
    missing = arn.replace("monitor/m", "monitor/gone")
    assert refused(nm.list_tags_for_resource, resourceArn=missing)[:2] == ("ResourceNotFoundException", 404)


def test_list_monitors_pages_and_filters(emulator: LocalNetworkMonitor) -> None:
    nm = client(emulator)
    for i in range(3):
        nm.create_monitor(monitorName=f"m{i}")
    page = nm.list_monitors(maxResults=2)
    rest = nm.list_monitors(maxResults=2, nextToken=page["nextToken"])
    assert [m["monitorName"] for m in page["monitors"] + rest["monitors"]] == ["m0", "m1", "m2"]
    assert "nextToken" not in rest
    assert nm.list_monitors(state="ACTIVE")["monitors"] == []
    assert refused(nm.list_monitors, maxResults=26)[:2] == ("ValidationException", 400)


def test_100_monitors_per_account(emulator: LocalNetworkMonitor) -> None:
    nm = client(emulator)
    for i in range(100):
        nm.create_monitor(monitorName=f"m{i}")
    assert refused(nm.create_monitor, monitorName="m100")[:2] == ("ServiceQuotaExceededException", 402)


@pytest.mark.slow
def test_faults_are_seeded_and_retried_by_the_sdk() -> None:
    def codes(seed: int) -> list[str]:
        with LocalNetworkMonitor(faults=Faults(throttle=0.3, internal_error=0.2, seed=seed)) as running:
            nm = client(running)
            outcomes = []
            for _ in range(20):
                try:
                    nm.list_monitors()
                    outcomes.append("ok")
                except ClientError as error:
                    outcomes.append(error.response["Error"]["Code"])
            return outcomes

    assert codes(1) == codes(1)
    assert {"ok", "ThrottlingException", "InternalServerException"} <= set(codes(1))

    with LocalNetworkMonitor(faults=Faults(throttle=0.5, seed=3)) as running, running.virtual_sdk_sleep():
        assert client(running, attempts=10).list_monitors()["monitors"] == []
        assert running.calls.count("ListMonitors") > 1


def test_forced_errors_and_drift(emulator: LocalNetworkMonitor) -> None:
    nm = client(emulator)
    nm.create_monitor(monitorName="m", probes=[probe(), probe("10.0.0.2")])
    emulator.clock.advance(60)
    first, second = (p["probeId"] for p in nm.get_monitor(monitorName="m")["probes"])
    emulator.out_of_band().force_error("m", first)
    emulator.out_of_band().drift_delete_probe("m", second)
    [left] = nm.get_monitor(monitorName="m")["probes"]
    assert (left["probeId"], left["state"]) == (first, "ERROR")
    emulator.out_of_band().force_error("m")
    assert nm.get_monitor(monitorName="m")["state"] == "ERROR"
    emulator.out_of_band().drift_delete_monitor("m")
    assert refused(nm.get_monitor, monitorName="m")[:2] == ("ResourceNotFoundException", 404)


def test_with_a_policy_installed_a_call_it_does_not_allow_is_access_denied(emulator: LocalNetworkMonitor) -> None:
    from cdk_netmon.testing import AccessPolicy

    nm = client(emulator)
    nm.create_monitor(monitorName="mine", tags={"team": "network"})
    nm.create_monitor(monitorName="theirs")
    emulator.use_policy(
        AccessPolicy.from_documents(
            [
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["networkmonitor:GetMonitor", "networkmonitor:UntagResource"],
                            "Resource": "arn:aws:networkmonitor:eu-west-1:123456789012:monitor/mine",
                            "Condition": {"ForAllValues:StringNotLike": {"aws:TagKeys": ["cdk-netmon:*"]}},
                        }
                    ]
                }
            ]
        )
    )
    assert nm.get_monitor(monitorName="mine")["tags"] == {"team": "network"}
    code, status, message = refused(nm.get_monitor, monitorName="theirs")
    assert (code, status) == ("AccessDeniedException", 403)
    assert "not authorized to perform: networkmonitor:GetMonitor on resource: " in message
    assert message.endswith(
        ":monitor/theirs because no identity-based policy allows the networkmonitor:GetMonitor action"
    )
    arn = "arn:aws:networkmonitor:eu-west-1:123456789012:monitor/mine"
    assert refused(nm.untag_resource, resourceArn=arn, tagKeys=["cdk-netmon:stack-id"])[0] == "AccessDeniedException"
    nm.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert refused(nm.delete_monitor, monitorName="mine")[0] == "AccessDeniedException"
    emulator.use_policy(None)
    nm.delete_monitor(monitorName="theirs")


# --- every account and region ------------------------------------------------------------------

US = ("111122223333", "us-east-1")
EU = ("444455556666", "eu-central-1")


def client_as(emulator: LocalNetworkMonitor, account: str, region: str) -> Any:
    return boto3.client(
        "networkmonitor", **emulator.client_options(account, region), config=Config(retries={"max_attempts": 1})
    )


def subnet_in(account: str, region: str, index: int = 1) -> str:
    return f"arn:aws:ec2:{region}:{account}:subnet/subnet-{index:017x}"


def test_one_emulator_answers_each_account_and_region_from_its_own_state(emulator: LocalNetworkMonitor) -> None:
    us, eu = client_as(emulator, *US), client_as(emulator, *EU)
    created = us.create_monitor(monitorName="m", probes=[probe(source=subnet_in(*US))])
    assert created["monitorArn"] == "arn:aws:networkmonitor:us-east-1:111122223333:monitor/m"
    # The same name in another account and region is another monitor.
    assert (
        eu.create_monitor(monitorName="m")["monitorArn"] == "arn:aws:networkmonitor:eu-central-1:444455556666:monitor/m"
    )
    emulator.clock.advance(60)
    [us_probe] = us.get_monitor(monitorName="m")["probes"]
    assert us_probe["probeArn"].startswith("arn:aws:networkmonitor:us-east-1:111122223333:probe/probe-")
    assert eu.get_monitor(monitorName="m")["probes"] == []
    assert sorted(emulator.snapshot(*US)) == sorted(emulator.snapshot(*EU)) == ["m"]
    assert emulator.snapshot() == {}  # the default account and region hold nothing


def test_a_probe_source_must_be_a_subnet_of_the_callers_account_and_region(emulator: LocalNetworkMonitor) -> None:
    eu = client_as(emulator, *EU)
    code, status, message = refused(eu.create_monitor, monitorName="m", probes=[probe(source=subnet_in(*US))])
    assert (code, status) == ("ValidationException", 400)
    assert message.endswith("is not a subnet of account 444455556666 in eu-central-1")
    assert eu.create_monitor(monitorName="m", probes=[probe(source=subnet_in(*EU))])["state"] == "PENDING"


def test_quotas_count_per_account_and_region() -> None:
    with LocalNetworkMonitor() as emulator:
        us, eu = client_as(emulator, *US), client_as(emulator, *EU)
        for i in range(100):
            us.create_monitor(monitorName=f"m{i}")
        code, status, _ = refused(us.create_monitor, monitorName="m100")
        assert (code, status) == ("ServiceQuotaExceededException", 402)
        assert eu.create_monitor(monitorName="m100")["state"] == "INACTIVE"
        assert client_as(emulator, US[0], "eu-west-1").create_monitor(monitorName="m100")["state"] == "INACTIVE"


def test_other_access_keys_map_to_accounts_as_documented() -> None:
    with LocalNetworkMonitor(accounts={"AKIAEXAMPLEKEY": "777788889999"}, default_account="123456789012") as emulator:

        def arn_for(key: str) -> str:
            options = {**emulator.client_options(region="us-west-2"), "aws_access_key_id": key}
            created = boto3.client("networkmonitor", **options).create_monitor(monitorName=f"m-{key}")
            return str(created["monitorArn"])

        assert ":777788889999:" in arn_for("AKIAEXAMPLEKEY")
        assert ":123456789012:" in arn_for("AKIAOTHERKEY")
        assert ":210987654321:" in arn_for("210987654321")
        assert all(":us-west-2:" in arn_for(key) for key in ("AKIAANOTHERKEY",))


def test_an_unexpected_error_in_the_emulator_is_a_500_with_its_reason(
    emulator: LocalNetworkMonitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(emulator.backend(), "get_monitor", broken)
    code, status, message = refused(client(emulator).get_monitor, monitorName="m")
    assert (code, status) == ("InternalServerException", 500)
    assert message == "Internal error in the emulator: KeyError: 'a bug'"


def test_drift_controls(emulator: LocalNetworkMonitor) -> None:
    nm = client(emulator)
    nm.create_monitor(monitorName="m", probes=[probe(), probe("10.0.0.2")])
    emulator.clock.advance(60)
    first, second = (p["probeId"] for p in nm.get_monitor(monitorName="m")["probes"])
    out_of_band = emulator.out_of_band()
    out_of_band.drift_pause_probe("m", first)
    out_of_band.drift_delete_probe("m", second)
    assert [(p["probeId"], p["state"]) for p in nm.get_monitor(monitorName="m")["probes"]] == [(first, "INACTIVE")]
    out_of_band.drift_delete_monitor("m")
    assert refused(nm.get_monitor, monitorName="m")[0] == "ResourceNotFoundException"


def test_state_survives_a_dump_and_a_load() -> None:
    with LocalNetworkMonitor() as first:
        client_as(first, *US).create_monitor(monitorName="m", probes=[probe(source=subnet_in(*US))], tags={"k": "v"})
        first.clock.advance(60)
        saved, before = first.dump_state(), first.snapshot(*US)
    with LocalNetworkMonitor() as second:
        second.load_state(saved)
        # Its probes are placed again in the new emulator's EC2, which starts empty: a new VPC id.
        assert without_vpcs(second.snapshot(*US)) == without_vpcs(before)
        [vpc] = {p["vpcId"] for p in second.snapshot(*US)["m"]["probes"]}
        assert second.ec2 is not None
        assert second.ec2.client(*US).describe_vpcs(VpcIds=[vpc])["Vpcs"]
        assert client_as(second, *US).get_monitor(monitorName="m")["state"] == "ACTIVE"


def without_vpcs(monitors: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {**m, "probes": [{k: v for k, v in p.items() if k != "vpcId"} for p in m["probes"]]}
        for name, m in monitors.items()
    }
