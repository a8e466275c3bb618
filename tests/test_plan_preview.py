"""`python -m cdk_netmon plan`: the next deploy's probe-level changes and exact calls, before it runs.

Each story deploys a template to the emulator with the shipped handler, asks the preview about the
next template (against the older one, or read-only against the emulator as the live account), then
deploys it: the calls the preview named are the write calls the handler made. Against the live
account the preview reads only (GetMonitor, ListMonitors), and shows what changed out of band.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from cdk_netmon.plan import command as preview
from cdk_netmon.plan.assembly import InputError, StackInput
from cdk_netmon.testing import LocalNetworkMonitor
from cdk_netmon.testing.emulator import WRITE_OPERATIONS
from tests.offline import driver, offline, probe_id_at, template
from tests.support import subnet_arn

A, B, C, D = subnet_arn(1), subnet_arn(2), subnet_arn(3), subnet_arn(4)
ROOT = Path(__file__).resolve().parent.parent


def tcp(source: str, destination: str, port: int = 443, **extra: Any) -> dict[str, Any]:
    return {"sourceArn": source, "destination": destination, "protocol": "TCP", "destinationPort": port, **extra}


def icmp(source: str, destination: str, **extra: Any) -> dict[str, Any]:
    return {"sourceArn": source, "destination": destination, "protocol": "ICMP", **extra}


def monitor(name: str, *probes: dict[str, Any], period: int = 60, **tags: str) -> dict[str, Any]:
    return {
        "monitorName": name,
        "aggregationPeriod": period,
        "probes": list(probes),
        **({"tags": tags} if tags else {}),
    }


KEPT = monitor("kept", tcp(A, "10.0.0.1"), icmp(B, "10.0.0.2"), tcp(C, "10.0.0.3"), team="network")
CHANGED = monitor(
    "kept",
    tcp(A, "10.0.0.1", port=8443),  # in place
    icmp(B, "10.0.0.2"),  # kept; the probe from C goes
    icmp(D, "10.0.0.4", state="INACTIVE"),  # added from another subnet, paused
    period=30,
    team="network",
    cost="42",
)


def stack_input(template_body: dict[str, Any], source: str) -> StackInput:
    return StackInput(template_body, "Stack", "123456789012", "eu-west-1", source)


def planned(template_body: dict[str, Any], **options: Any) -> tuple[int, str, Counter[str]]:
    out = io.StringIO()
    code = preview.run(stack_input(template_body, "new.template.json"), out, **options)
    text = out.getvalue()
    calls: Counter[str] = Counter()
    for line in text.splitlines():
        if line.startswith("Calls: ") and line != "Calls: none":
            for item in line.removeprefix("Calls: ").split(", "):
                name, count = item.split(" x")
                calls[name] = int(count)
    return code, text, calls


@pytest.mark.slow
def test_against_an_older_template_it_names_the_calls_the_next_deploy_makes() -> None:
    old = template(KEPT, monitor("removed", icmp(A, "10.1.0.1")), monitor("renamed", icmp(B, "10.2.0.1")))
    new = template(CHANGED, monitor("renamed-v2", icmp(B, "10.2.0.1")), monitor("added", icmp(C, "10.3.0.1")),
                   logical_ids=["Monitor0", "Monitor2", "Monitor3"])  # fmt: skip
    code, text, calls = planned(new, against=stack_input(old, "old.template.json"))
    assert code == preview.EXIT_CHANGES
    for line in (
        "~ aggregation period 60 -> 30 s (UpdateMonitor)",
        "~ monitor tags: +cost=42 (TagResource)",
        ": port 443 -> 8443 (UpdateProbe)",
        "+ probe icmp-10-0-0-4-",
        "- probe <tcp-10-0-0-3-",
        "- monitor removed: removed from the template, its 1 probes first (DeleteProbe, DeleteMonitor)",
        "+ monitor renamed-v2: 1 probes (CreateMonitor)",
        "- monitor renamed: replaced; deleted in the clean-up, its 1 probes first (DeleteProbe, DeleteMonitor)",
        "+ monitor added: 1 probes (CreateMonitor)",
    ):
        assert line in text, line
    assert the_driver_writes(old, new)[0] == calls


@pytest.mark.slow
def test_against_the_live_account_it_reads_only_and_shows_drift() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(KEPT))
        emulator.out_of_band().drift_pause_probe("kept", probe_id_at(stack, "Monitor0", 0))
        emulator.out_of_band().drift_delete_probe("kept", probe_id_at(stack, "Monitor0", 2))
        emulator.use_policy(None)  # the preview runs with the user's credentials, not the handler's role
        client = boto3.client("networkmonitor", **emulator.client_options())
        before = len(emulator.calls)
        code, text, calls = planned(template(KEPT), client=client)
        assert set(emulator.calls[before:]) <= {"GetMonitor", "ListMonitors"}
        assert not [c for c in emulator.calls[before:] if c in WRITE_OPERATIONS]
        assert code == preview.EXIT_CHANGES
        assert "against the live account (read-only)" in text
        assert ": resumed (UpdateProbe)" in text  # paused out of band
        assert "+ probe tcp-10-0-0-3-" in text  # deleted out of band
        assert calls == Counter({"TagResource": 1, "UpdateProbe": 1, "CreateProbe": 1})  # the deploy's mark first

        assert writes_of(emulator, lambda: stack.resend_update("Monitor0")) == calls  # the next deploy repairs that
        assert planned(template(KEPT), client=client)[0] == preview.EXIT_NO_CHANGES


@pytest.mark.slow
def test_live_it_finds_this_stacks_monitors_the_template_no_longer_declares() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(KEPT, monitor("gone", icmp(A, "10.1.0.1"))))
        emulator.use_policy(None)
        client = boto3.client("networkmonitor", **emulator.client_options())
        _, text, calls = planned(template(KEPT), client=client)
        assert "- monitor gone: removed from the template" in text
        assert calls == Counter({"DeleteProbe": 1, "DeleteMonitor": 1})


def test_live_it_asks_for_what_it_cannot_resolve() -> None:
    body = template(monitor("m", icmp(A, "10.0.0.1")))
    body["Resources"]["Subnet1"] = {"Type": "AWS::EC2::Subnet", "Properties": {}}
    probes = body["Resources"]["Monitor0"]["Properties"]["Probes"]
    for probe in probes.values():
        probe["SourceArn"] = {"Fn::Join": ["", ["arn:aws:ec2:eu-west-1:123456789012:subnet/", {"Ref": "Subnet1"}]]}
    with offline() as emulator:
        client = boto3.client("networkmonitor", **emulator.client_options())
        with pytest.raises(InputError, match=r"^new.template.json: .*--ref NAME=VALUE.*Subnet1"):
            planned(body, client=client)
        code, text, _ = planned(body, client=client, refs={"Subnet1": "subnet-0a1b2c3d4e5f60001"})
        assert "subnet-0a1b2c3d4e5f60001 -> 10.0.0.1 ICMP" in text
        assert code == preview.EXIT_CHANGES


def test_the_command_exits_0_2_and_1(tmp_path: Path) -> None:
    old, new = tmp_path / "old.template.json", tmp_path / "new.template.json"
    old.write_text(json.dumps(template(KEPT)))
    new.write_text(json.dumps(template(CHANGED)))

    def command(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cdk_netmon", "plan", *arguments], cwd=ROOT, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip

    assert command(str(old), "--against", str(old)).returncode == 0
    changed = command(str(new), "--against", str(old))
    assert changed.returncode == 2
    assert "Calls: CreateProbe x1, DeleteProbe x1, TagResource x2, UpdateMonitor x1, UpdateProbe x2" in changed.stdout
    assert "~ monitor marked as this deploy's request (TagResource)" in changed.stdout
    refused = command(str(tmp_path / "missing.json"), "--against", str(old))
    assert refused.returncode == 1
    assert refused.stderr.startswith("plan: ")
    assert len(refused.stderr.splitlines()) == 1


# --- RETAIN and renames, as CloudFormation acts on them -------------------------------------------


def with_policies(
    body: dict[str, Any], deletion: str | None = None, update_replace: str | None = None
) -> dict[str, Any]:
    """The template with each monitor's DeletionPolicy and UpdateReplacePolicy set (where given)."""
    for resource in body["Resources"].values():
        if resource["Type"] == "Custom::NetworkMonitor":
            resource.update({"DeletionPolicy": deletion} if deletion else {})
            resource.update({"UpdateReplacePolicy": update_replace} if update_replace else {})
    return body


def the_driver_writes(old: dict[str, Any], new: dict[str, Any]) -> tuple[Counter[str], set[str]]:
    """The write calls the kit's StackDriver makes to update a stack from `old` to `new`, and the
    monitors then live."""
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(old)
        return writes_of(emulator, lambda: stack.deploy(new)), set(emulator.snapshot())


def writes_of(emulator: LocalNetworkMonitor, step: Callable[[], object]) -> Counter[str]:
    """The write calls the service receives during `step`."""
    before = len(emulator.calls)
    step()
    return Counter(emulator.writes(before))


@pytest.mark.parametrize(
    ("policy", "line", "calls"),
    [
        (None, "- monitor removed: removed from the template, its 1 probes first (DeleteProbe, DeleteMonitor)",
         {"DeleteProbe": 1, "DeleteMonitor": 1}),
        ("Delete", "- monitor removed: removed from the template, its 1 probes first (DeleteProbe, DeleteMonitor)",
         {"DeleteProbe": 1, "DeleteMonitor": 1}),
        ("Retain", "- monitor removed: removed from the template; its DeletionPolicy is Retain, so it stays, "
         "with its 1 probes (no call)", {}),
        ("RetainExceptOnCreate", "- monitor removed: removed from the template; its DeletionPolicy is "
         "RetainExceptOnCreate, so it stays, with its 1 probes (no call)", {}),
    ],
)  # fmt: skip
def test_a_removed_monitor_is_deleted_unless_its_deletion_policy_retains_it(
    policy: str | None, line: str, calls: dict[str, int]
) -> None:
    old = with_policies(template(KEPT, monitor("removed", icmp(A, "10.1.0.1"))), deletion=policy)
    new = with_policies(template(KEPT), deletion=policy)
    code, text, planned_calls = planned(new, against=stack_input(old, "old.template.json"))
    assert line in text
    assert planned_calls == Counter(calls)
    assert code == preview.EXIT_CHANGES  # the stack changes even where no call is made


@pytest.mark.parametrize("policy", [None, "Delete", "Retain", "RetainExceptOnCreate"])
def test_the_plan_of_a_removal_is_what_the_kits_stackdriver_does(policy: str | None) -> None:
    old = with_policies(template(KEPT, monitor("removed", icmp(A, "10.1.0.1"))), deletion=policy)
    new = with_policies(template(KEPT), deletion=policy)
    _, _, calls = planned(new, against=stack_input(old, "old.template.json"))
    writes, live = the_driver_writes(old, new)
    assert writes == calls
    assert ("removed" in live) == (policy in ("Retain", "RetainExceptOnCreate"))


@pytest.mark.parametrize(
    ("policy", "line", "calls"),
    [
        (None, "- monitor renamed: replaced; deleted in the clean-up, its 1 probes first (DeleteProbe, DeleteMonitor)",
         {"CreateMonitor": 1, "DeleteProbe": 1, "DeleteMonitor": 1}),
        ("Retain", "- monitor renamed: replaced; its UpdateReplacePolicy is Retain, so it stays, with its 1 probes "
         "(no call)", {"CreateMonitor": 1}),
    ],
)  # fmt: skip
def test_a_renamed_monitor_is_created_and_the_old_one_deleted_unless_its_update_replace_policy_retains_it(
    policy: str | None, line: str, calls: dict[str, int]
) -> None:
    old = with_policies(template(monitor("renamed", icmp(B, "10.2.0.1"))), update_replace=policy)
    new = with_policies(template(monitor("renamed-v2", icmp(B, "10.2.0.1"))), update_replace=policy)
    _, text, planned_calls = planned(new, against=stack_input(old, "old.template.json"))
    assert "+ monitor renamed-v2: 1 probes (CreateMonitor)" in text
    assert line in text
    assert planned_calls == Counter(calls)
    writes, live = the_driver_writes(old, new)
    assert writes == planned_calls
    assert ("renamed" in live) == (policy == "Retain")


@pytest.mark.slow
def test_live_a_renamed_monitor_is_planned_by_the_templates_update_replace_policy() -> None:
    old = with_policies(template(monitor("renamed", icmp(B, "10.2.0.1"))), update_replace="Retain")
    new = with_policies(template(monitor("renamed-v2", icmp(B, "10.2.0.1"))), update_replace="Retain")
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(old)
        emulator.use_policy(None)
        client = boto3.client("networkmonitor", **emulator.client_options())
        _, text, calls = planned(new, client=client)
        assert "- monitor renamed: replaced; its UpdateReplacePolicy is Retain, so it stays" in text
        assert calls == Counter({"CreateMonitor": 1})
        assert writes_of(emulator, lambda: stack.deploy(new)) == calls


@pytest.mark.slow
def test_live_a_monitor_of_the_declared_name_that_is_not_this_resources_is_an_error() -> None:
    with offline() as emulator:
        stack = driver(emulator)
        stack.deploy(template(KEPT))  # Monitor0 owns "kept"
        emulator.use_policy(None)
        client = boto3.client("networkmonitor", **emulator.client_options())
        moved = template(KEPT, logical_ids=["Moved"])
        with pytest.raises(InputError) as error:
            planned(moved, client=client)
        assert str(error.value) == (
            "new.template.json: resource Moved: monitor 'kept' exists and is not this resource's (its ownership "
            "tags name Stack/Monitor0): the deploy would fail; choose another MonitorName, or delete that monitor"
        )


# --- parameters -----------------------------------------------------------------------------------


def test_live_a_parameter_given_is_the_value_planned_not_its_default() -> None:
    body = template(KEPT)
    body["Parameters"] = {"Port": {"Type": "Number", "Default": 443}}
    for probe in body["Resources"]["Monitor0"]["Properties"]["Probes"].values():
        if probe["Protocol"] == "TCP":
            probe["DestinationPort"] = {"Ref": "Port"}
    with offline() as emulator:
        stack = driver(emulator, parameters={"Port": "8443"})
        stack.deploy(body)
        emulator.use_policy(None)
        client = boto3.client("networkmonitor", **emulator.client_options())
        assert planned(body, client=client, parameters={"Port": "8443"})[0] == preview.EXIT_NO_CHANGES
        _, text, calls = planned(body, client=client, parameters={"Port": "9443"})
        assert ": port 8443 -> 9443 (UpdateProbe)" in text
        assert calls == Counter({"TagResource": 1, "UpdateProbe": 2})  # the request's mark, then the ports


def test_a_rename_that_also_changes_the_update_replace_policy_follows_the_new_template_and_says_so() -> None:
    old = with_policies(template(monitor("renamed", icmp(B, "10.2.0.1"))), update_replace="Delete")
    new = with_policies(template(monitor("renamed-v2", icmp(B, "10.2.0.1"))), update_replace="Retain")
    _, text, calls = planned(new, against=stack_input(old, "old.template.json"))
    assert "its UpdateReplacePolicy is Retain, so it stays" in text
    assert "(the older template's UpdateReplacePolicy is Delete: the plan follows this one's" in text
    assert the_driver_writes(old, new)[0] == calls
