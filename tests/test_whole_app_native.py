"""The whole app (examples/whole_app.py) on the native engine (`-c engine=native`) through every
tool a user runs, as tests/test_whole_app.py takes it on the custom resource: two synths in separate
processes, a snapshot, the CDK CLI's `cdk diff` of the next version, the offline command and the
kit's drivers (v1, v2, destroy), cfn-lint with the kit's registry schema, cdk-nag, parliament, and
the local cloud (deploy, update, destroy of both stacks, the service's groups deleted as
docs/engines.md says). A native probe cannot be paused, so in this app the recovery site joins in
version 2; everything else is the same declaration.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

import cdk_netmon.testing
from cdk_netmon.testing import LocalNetworkMonitor, declared_monitors
from examples import whole_app
from tests.support import run_cdk
from tests.test_whole_app import (
    APP,
    CLI_ENV,
    STACKS,
    assert_two_synths_in_separate_processes_are_byte_identical,
    cli_synthesized,
    deploy_v2,
    deployed_by_the_kits_drivers,
    local_cloud_with_v1,
    monitor_outputs,
    offline_deployed_and_destroyed,
    parliament_findings,
    synthesized,
    template,
)

pytestmark = pytest.mark.slow
NATIVE = "engine=native"


def native(outdir: Path, version: int = 1, *, checks: bool = False) -> Path:
    return synthesized(outdir, version, checks=checks, engine="native")


@pytest.fixture(scope="module")
def cli_assemblies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return cli_synthesized(tmp_path_factory, "native")


def test_two_synths_in_separate_processes_are_byte_identical(tmp_path: Path) -> None:
    assert_two_synths_in_separate_processes_are_byte_identical(tmp_path, "native")


def test_the_templates_match_their_snapshots(tmp_path: Path, snapshot: SnapshotAssertion) -> None:
    assembly = native(tmp_path)
    templates = {stack: template(assembly, stack) for stack in STACKS}
    assert templates == snapshot.use_extension(JSONSnapshotExtension)


def test_the_app_has_no_lambda_and_the_same_monitors(tmp_path: Path) -> None:
    monitoring = template(native(tmp_path), whole_app.MONITORING_STACK)
    custom = template(synthesized(tmp_path / "custom"), whole_app.MONITORING_STACK)
    types = Counter(r["Type"] for r in monitoring["Resources"].values())
    assert not [t for t in types if t.startswith(("AWS::Lambda::", "AWS::StepFunctions::", "Custom::"))]
    assert types["AWS::NetworkMonitor::Monitor"] == 2
    assert types["AWS::NetworkMonitor::Probe"] == 29  # the recovery site joins in version 2
    assert monitor_outputs(monitoring) == {"AWS::NetworkMonitor::Monitor"}
    assert not any(r.get("Metadata", {}).get("aws:asset:path") for r in monitoring["Resources"].values())

    def shape(t: dict[str, Any]) -> list[tuple[int, str]]:
        return sorted((len(m["probes"]), m["monitorName"]) for m in declared_monitors(t).values())

    assert [n for n, _ in shape(monitoring)] == [9, 20]
    # A generated name depends on the engine, so that switching engine is one deploy (docs/engines.md).
    assert [name.rsplit("-", 1)[0] for _, name in shape(monitoring)] == [
        name.rsplit("-", 1)[0] for _, name in shape(custom)
    ]
    assert not {name for _, name in shape(monitoring)} & {name for _, name in shape(custom)}


@pytest.mark.cli
def test_cdk_diff_of_the_next_version_replaces_nothing(cli_assemblies: tuple[Path, Path]) -> None:
    v1, _ = cli_assemblies
    code, output = run_cdk(
        "diff", whole_app.MONITORING_STACK, "--exclusively", "--app", APP, "--context", "version=2",
        "--context", NATIVE, "--template", str(v1 / f"{whole_app.MONITORING_STACK}.template.json"), env=CLI_ENV,
    )  # fmt: skip
    assert code in (0, 1), output
    assert "replace" not in output.lower(), output
    lines = [line.strip(" │├└─") for line in output.splitlines()]
    assert "[~] DestinationPort: 22 to 2222" in lines or any("DestinationPort" in line for line in lines), output
    added = [line for line in lines if line.startswith("[+] AWS::NetworkMonitor::Probe")]
    assert len(added) == 1, output  # the recovery site
    assert not [line for line in lines if line.startswith("[-] AWS::")], output


@pytest.mark.cli
def test_the_offline_command_deploys_both_versions_and_destroys_them_with_no_flag(
    cli_assemblies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    output, update = offline_deployed_and_destroyed(cli_assemblies, capsys)
    assert update.split("Write calls: ", 1)[1].startswith("UpdateProbe, CreateProbe\n")  # the port, the site
    # Nothing deletes the service's groups of native probes (one per monitor and VPC): they stay, and it says so.
    assert "Destroyed 2 stacks: the emulator holds 0 monitors, its EC2 2 security groups of the service." in output
    assert re.search(r"The service's groups of native monitors stay, as in AWS \(sg-\w+, sg-\w+\)", output)


@pytest.fixture
def emulator() -> Iterator[LocalNetworkMonitor]:
    with LocalNetworkMonitor() as running:
        yield running


def test_the_kits_drivers_deploy_both_versions_and_destroy_them(tmp_path: Path, emulator: LocalNetworkMonitor) -> None:
    writes, live = deployed_by_the_kits_drivers(tmp_path, emulator, "native")
    assert writes == ["UpdateProbe", "CreateProbe"]
    assert sorted(len(m["probes"]) for m in live.values()) == [10, 20]  # the raised quotas, from the template
    assert {p.get("destinationPort") for m in live.values() for p in m["probes"]} == {None, 443, 2222}


@pytest.mark.cli
def test_cfn_lint_with_the_kits_registry_schema_finds_no_error(cli_assemblies: tuple[Path, Path]) -> None:
    """As docs/engines.md tells users to run it: plain cfn-lint, the kit's schema directory given."""
    templates = [str(a / f"{s}.template.json") for a in cli_assemblies for s in STACKS]
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "json", *templates,
         "--registry-schemas", str(cdk_netmon.testing.REGISTRY_SCHEMAS)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    findings = json.loads(result.stdout or "[]")
    assert [f for f in findings if f["Level"] == "Error"] == [], json.dumps(findings, indent=1)
    assert not [f for f in findings if f["Rule"]["Id"] == "E3006"]  # the Probe type is known


@pytest.mark.parametrize("version", [1, 2])
def test_cdk_nag_finds_nothing_unacknowledged(tmp_path: Path, version: int) -> None:
    native(tmp_path, version, checks=True)  # raises, listing every unacknowledged finding


def test_parliament_finds_nothing_in_any_policy() -> None:
    documents, findings = parliament_findings("native")
    assert documents == 2  # the operators' and the tagging automation's: no handler
    assert findings == []


@pytest.mark.local_cloud
@pytest.mark.cli
def test_the_local_cloud_deploys_updates_and_destroys_both_stacks(tmp_path: Path) -> None:
    with local_cloud_with_v1(tmp_path, "whole-app-native", NATIVE) as cloud:
        assert sorted(len(m["probes"]) for m in cloud.monitors().values()) == [9, 20]

        v2, writes = deploy_v2(cloud, tmp_path, NATIVE)
        assert sorted(writes) == ["CreateProbe"] + ["UpdateProbe"] * 5  # the site; 4 ports, the bastion
        assert sorted(len(m["probes"]) for m in cloud.monitors().values()) == [10, 20]

        cloud.destroy(v2, [whole_app.MONITORING_STACK])
        assert cloud.monitors() == {}
        groups = cloud.service_groups()
        assert groups  # the service's groups stay after native probes, as docs/engines.md says
        ec2 = cloud.ec2()
        for group_id in groups:  # what docs/engines.md tells users to do before destroying the VPC's stack
            ec2.delete_security_group(GroupId=group_id)
        cloud.destroy(v2, [whole_app.NETWORK_STACK])
        assert cloud.service_groups() == {}
