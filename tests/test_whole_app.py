"""The whole app (examples/whole_app.py) through every tool a user runs, both of its versions.

Each feature of cdk_netmon is in that app, and this module takes it where users take theirs: two
synths in separate processes, a snapshot, the real CDK CLI's `cdk diff` of the next version, `plan`
between the versions with a parameter's value, the offline command (v1, v2, destroy: no flag but
the assemblies) and the kit's drivers the same way, the local cloud (deploy, update, destroy of both
stacks), cfn-lint, cdk-nag and parliament. A feature added later joins the app, and so meets every
tool on the day it lands. The app is synthesized as `cdk synth` makes it: with cdk.json's feature
flags (weak cross-stack references among them: `Fn::GetStackOutput`), in a concrete account and
region.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from cdk_netmon.plan.command import main as plan
from cdk_netmon.testing import LocalNetworkMonitor, declared_monitors, normalise_asset_hashes, offline_stack
from cdk_netmon.testing.emulator import WRITE_OPERATIONS
from cdk_netmon.testing.offline_deploy import main as offline_deploy
from examples import whole_app
from tests.offline import destroyed_leaving_nothing
from tests.support import cli_env, run_cdk
from tests.test_service_authorization import resolved_policies

if TYPE_CHECKING:
    from localcloud import LocalCloud

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
ACCOUNT, REGION = "111122223333", "eu-central-1"
ENV = Environment(account=ACCOUNT, region=REGION)
STACKS = (whole_app.NETWORK_STACK, whole_app.MONITORING_STACK)
APP = "python -m tests.whole_app_cli"
"""The whole app alone, as the CLI runs it (`-c version=2` for the next version)."""
CLI_ENV = cli_env(AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION)
"""The CLI's region; its account is unknown (no credentials here), so the VPC's AZs need no lookup."""

pytestmark = pytest.mark.slow  # each test builds or synthesizes the whole app (two stacks), several twice


def synthesized(outdir: Path, version: int = 1, *, checks: bool = False, engine: str = "custom_resource") -> Path:
    """Both stacks synthesized in this process, as `cdk synth` would: cdk.json's flags, a concrete env."""
    app = App(outdir=str(outdir), context={**CONTEXT, "version": str(version), "engine": engine})
    if checks:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    whole_app.build(app, env=ENV)
    app.synth()  # raises, listing every problem, when a check finds one
    return outdir


def template(assembly: Path, stack: str) -> dict[str, Any]:
    return dict(json.loads((assembly / f"{stack}.template.json").read_text()))


def cli_synthesized(tmp_path_factory: pytest.TempPathFactory, engine: str = "custom_resource") -> tuple[Path, Path]:
    """v1 and v2 as the real CDK CLI synthesizes them."""
    assemblies = []
    for version in (1, 2):
        out = tmp_path_factory.mktemp(f"{engine}-v{version}.out")
        code, output = run_cdk(
            "synth", "--app", APP, "--context", f"version={version}", "--context", f"engine={engine}",
            "--output", str(out), "--quiet", env=CLI_ENV,
        )  # fmt: skip
        assert code == 0, output
        assemblies.append(out)
    return assemblies[0], assemblies[1]


@pytest.fixture(scope="module")
def cli_assemblies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return cli_synthesized(tmp_path_factory)


def assert_two_synths_in_separate_processes_are_byte_identical(tmp_path: Path, engine: str) -> None:
    code = (
        "import sys; from pathlib import Path; from tests.test_whole_app import synthesized; "
        "synthesized(Path(sys.argv[1]), engine=sys.argv[2])"
    )
    for name in ("first", "second"):
        subprocess.run([sys.executable, "-c", code, str(tmp_path / name), engine], cwd=ROOT, check=True, timeout=300)
    for stack in STACKS:
        first = (tmp_path / "first" / f"{stack}.template.json").read_bytes()
        assert first == (tmp_path / "second" / f"{stack}.template.json").read_bytes(), stack


# --- synth ------------------------------------------------------------------------------------------


def test_two_synths_in_separate_processes_are_byte_identical(tmp_path: Path) -> None:
    assert_two_synths_in_separate_processes_are_byte_identical(tmp_path, "custom_resource")


def test_the_templates_match_their_snapshots(tmp_path: Path, snapshot: SnapshotAssertion) -> None:
    assembly = synthesized(tmp_path)
    templates = {stack: normalise_asset_hashes(template(assembly, stack)) for stack in STACKS}
    assert templates == snapshot.use_extension(JSONSnapshotExtension)


def test_the_app_declares_what_its_docstring_says(tmp_path: Path) -> None:
    monitoring = template(synthesized(tmp_path), whole_app.MONITORING_STACK)
    monitors = {m["monitorName"]: m for m in declared_monitors(monitoring).values()}
    assert sorted(len(m["probes"]) for m in monitors.values()) == [10, 20]  # the branches in one monitor
    [dc] = [m for name, m in monitors.items() if "DataCentres" in name]
    assert [p["destinationPort"] for p in dc["probes"] if p["protocol"] == "TCP"][:4] == ["${ServicePort}"] * 4
    assert [p.get("state", "ACTIVE") for p in dc["probes"]].count("INACTIVE") == 1
    sources = {p["sourceArn"] for p in dc["probes"]}
    assert any("${StackOutput:NetmonNetwork.PublishOutputRef" in s for s in sources)  # the network stack's subnets
    assert f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0a1b2c3d4e5f60001" in sources
    types = [r["Type"] for r in monitoring["Resources"].values()]
    assert types.count("AWS::CloudWatch::CompositeAlarm") == 8
    assert types.count("AWS::CloudWatch::Alarm") == 27  # 9 enabled probes x 3
    assert {m["aggregationPeriod"] for m in monitors.values()} == {30}  # one MonitorOptions, fan_out's too
    assert [p["destinationPort"] for p in dc["probes"] if p["destination"] == "10.100.30.10"] == [22]  # ProbeFields
    dashboard = dashboard_body(monitoring)
    assert dashboard.count('\\"period\\":3600,\\"stat\\":\\"Maximum\\"') == 2  # one MetricOptions, two metrics
    bastion = dashboard[dashboard.index("Bastion: round trip") : dashboard.index("Legacy Direct Connect")]
    assert bastion.count('"ProbeId.bastion-ssh"') == 2  # metric_rtt and metric_health_indicator of the probe
    assert '\\"RTT\\"' in bastion
    assert '\\"HealthIndicator\\"' in bastion
    assert monitor_outputs(monitoring) == {"Custom::NetworkMonitor"}  # monitor_name and monitor_arn: references


def monitor_outputs(monitoring: dict[str, Any]) -> set[str]:
    """The types of the resources the data centres' monitor name and ARN outputs refer to."""
    resources = monitoring["Resources"]
    outputs = monitoring["Outputs"]
    values = [json.dumps(outputs[o]["Value"]) for o in ("DataCentresMonitorName", "DataCentresMonitorArn")]
    return {r["Type"] for k, r in resources.items() if "DataCentres" in k and all(f'"{k}"' in v for v in values)}


@pytest.mark.parametrize("engine", ["custom_resource", "native"])
def test_tags_of_the_stack_and_the_tag_manager_reach_the_monitor_and_its_probes(tmp_path: Path, engine: str) -> None:
    app = App(outdir=str(tmp_path), context={**CONTEXT, "engine": engine})
    _, monitoring = whole_app.build(app, env=ENV)
    assembly = app.synth()  # Tags.of is an aspect: it has its say at synth
    tags = monitoring.data_centres.cdk_tag_manager.tag_values()
    assert tags == {"purpose": "hybrid-connectivity", "cost-centre": "network", "owner": "network-platform"}
    monitors = declared_monitors(assembly.get_stack_by_name(monitoring.stack_name).template)
    [dc] = [monitor for logical_id, monitor in monitors.items() if "DataCentres" in logical_id]
    assert dc["tags"] == tags  # the monitor's own tags stay the monitor's; the other two reach its probes
    probe_tags = {(p["probeTags"]["cost-centre"], p["probeTags"]["owner"]) for p in dc["probes"]}
    assert probe_tags == {("network", "network-platform")}
    assert not [p for p in dc["probes"] if "purpose" in p["probeTags"]]
    assert list(monitoring.data_centres.node.validate()) == []


def dashboard_body(monitoring: dict[str, Any]) -> str:
    """The stack's one dashboard's body, as the template writes it (a Fn::Join of JSON and tokens)."""
    [dashboard] = [r for r in monitoring["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    return json.dumps(dashboard["Properties"]["DashboardBody"])


# --- the CDK CLI, plan -------------------------------------------------------------------------------


@pytest.mark.cli
def test_cdk_diff_of_the_next_version_replaces_nothing(cli_assemblies: tuple[Path, Path]) -> None:
    v1, _ = cli_assemblies
    code, output = run_cdk(
        "diff", whole_app.MONITORING_STACK, "--exclusively", "--app", APP, "--context", "version=2",
        "--template", str(v1 / f"{whole_app.MONITORING_STACK}.template.json"), env=CLI_ENV,
    )  # fmt: skip
    assert code in (0, 1), output
    assert "replace" not in output.lower(), output
    lines = [line.strip(" │├└─") for line in output.splitlines()]
    port = lines.index("[~] .bastion-ssh:")
    assert lines[port + 1 : port + 4] == ["[~] .DestinationPort:", "[-] 22", "[+] 2222"], output
    state = lines.index("[~] .recovery-site:")
    assert lines[state + 1 : state + 4] == ["[~] .State:", "[-] INACTIVE", "[+] ACTIVE"], output
    assert not [line for line in lines if line.startswith("[-] AWS::")]  # nothing removed, the site's alarms added


@pytest.mark.cli
def test_plan_between_the_versions_with_a_parameter_value(
    cli_assemblies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = cli_assemblies
    code = plan([
        str(v2), "--stack", whole_app.MONITORING_STACK, "--parameter", "ServicePort=8443",
        "--against", str(v1 / f"{whole_app.MONITORING_STACK}.template.json"),
    ])  # fmt: skip
    output = capsys.readouterr().out
    assert code == 2, output
    source = r"\$\{StackOutput:NetmonNetwork\.PublishOutputRef\w+\}"  # the network stack's subnet
    assert re.search(rf"~ probe bastion-ssh \({source} -> 10\.100\.30\.10:2222 TCP\): port 22 -> 2222", output)
    assert "~ probe recovery-site (subnet-0a1b2c3d4e5f60001 -> 10.200.0.1 ICMP): resumed" in output
    assert "10.100.20.15:8443 TCP" not in output  # the parameter's value is the same on both sides
    assert output.rstrip().endswith("Calls: TagResource x1, UpdateProbe x2")


# --- offline -------------------------------------------------------------------------------------------


def offline_deployed_and_destroyed(
    assemblies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> tuple[str, str]:
    """What the offline command prints for v1, then v2 as its update, then the destroy; and the update's part."""
    v1, v2 = assemblies
    assert offline_deploy([str(v1), str(v2)]) == 0, capsys.readouterr().err
    output = capsys.readouterr().out
    return output, output[output.index("Updating NetmonMonitoring") :]


@pytest.mark.cli
def test_the_offline_command_deploys_both_versions_and_destroys_them_with_no_flag(
    cli_assemblies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    output, update = offline_deployed_and_destroyed(cli_assemblies, capsys)
    assert output.index("Deploying NetmonNetwork") < output.index("Deploying NetmonMonitoring")
    assert update.split("Write calls: ", 1)[1].startswith("TagResource, UpdateProbe, UpdateProbe\n")
    assert "-> 10.100.30.10:2222" in update
    assert output.rstrip().endswith(destroyed_leaving_nothing("2 stacks"))


@pytest.fixture
def emulator() -> Iterator[LocalNetworkMonitor]:
    with LocalNetworkMonitor() as running:
        yield running


def deployed_by_the_kits_drivers(
    tmp_path: Path, emulator: LocalNetworkMonitor, engine: str = "custom_resource"
) -> tuple[list[str], dict[str, Any]]:
    """v1, then v2 (its write calls, and the live monitors then), then both stacks destroyed."""
    v1, v2 = synthesized(tmp_path / "v1", engine=engine), synthesized(tmp_path / "v2", version=2, engine=engine)
    outputs: dict[str, dict[str, str]] = {}
    with (
        offline_stack(emulator, ACCOUNT, REGION, stack_name=whole_app.NETWORK_STACK) as network,
        offline_stack(emulator, ACCOUNT, REGION, stack_name=whole_app.MONITORING_STACK, stack_outputs=outputs) as mon,
    ):
        for assembly in (v1, v2):
            network.deploy(template(assembly, whole_app.NETWORK_STACK))
            outputs[f"{REGION}/{whole_app.NETWORK_STACK}"] = network.output_values(
                template(assembly, whole_app.NETWORK_STACK)
            )
            calls = len(emulator.calls)
            mon.deploy(template(assembly, whole_app.MONITORING_STACK))
            writes = emulator.writes(calls)
        live = emulator.snapshot(ACCOUNT, REGION)
        mon.destroy()
        network.destroy()
    assert emulator.snapshot(ACCOUNT, REGION) == {}
    return writes, live


def test_the_kits_drivers_deploy_both_versions_and_destroy_them(tmp_path: Path, emulator: LocalNetworkMonitor) -> None:
    writes, live = deployed_by_the_kits_drivers(tmp_path, emulator)
    assert writes == ["TagResource", "UpdateProbe", "UpdateProbe"]
    assert sorted(len(m["probes"]) for m in live.values()) == [10, 20]  # raised quotas: one monitor of 20
    probes = [p for m in live.values() for p in m["probes"]]
    assert all(p["state"] == "ACTIVE" for p in probes)
    assert {p.get("destinationPort") for p in probes} == {None, 443, 2222}


# --- linters ---------------------------------------------------------------------------------------------


@pytest.mark.cli
def test_cfn_lint_finds_no_error(cli_assemblies: tuple[Path, Path]) -> None:
    templates = [str(a / f"{s}.template.json") for a in cli_assemblies for s in STACKS]
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "json", *templates],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    errors = [f for f in json.loads(result.stdout or "[]") if f["Level"] == "Error"]
    assert errors == [], json.dumps(errors, indent=1)


@pytest.mark.parametrize("version", [1, 2])
def test_cdk_nag_finds_nothing_unacknowledged(tmp_path: Path, version: int) -> None:
    synthesized(tmp_path, version, checks=True)  # raises, listing every unacknowledged finding


def parliament_findings(engine: str) -> tuple[int, list[str]]:
    """How many policies the monitoring stack has, and parliament's findings in them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # parliament imports pkg_resources, which warns of its own deprecation
        import parliament

    app = App(context={**CONTEXT, "engine": engine})
    _, monitoring = whole_app.build(app, env=ENV)
    findings = []
    documents = list(resolved_policies(monitoring))
    for where, document in documents:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            audited = parliament.analyze_policy_string(json.dumps(document))
        findings += [f"{where}: {f.issue} {f.detail}" for f in audited.findings]
    return len(documents), findings


def test_parliament_finds_nothing_in_any_policy() -> None:
    documents, findings = parliament_findings("custom_resource")
    assert documents >= 3  # the handler's, the operators', the tagging automation's, the framework's
    assert findings == []


# --- the local cloud ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def local_cloud_with_v1(tmp_path: Path, workdir: str, *context: str) -> Iterator[LocalCloud]:
    """The local cloud, bootstrapped, with version 1 of the whole app (and `context`) deployed."""
    from localcloud import LocalCloud

    with LocalCloud(ROOT, workdir=ROOT / ".local-cloud" / workdir) as cloud:
        cloud.cdk("bootstrap", "aws://111111111111/us-east-1", timeout=300)
        cloud.deploy(cloud.synth(tmp_path / "v1", app=APP, context=["version=1", *context]))
        yield cloud


def deploy_v2(cloud: LocalCloud, tmp_path: Path, *context: str) -> tuple[Path, list[str]]:
    """Version 2 of the whole app (and `context`) deployed over version 1, and the write calls it made."""
    v2 = cloud.synth(tmp_path / "v2", app=APP, context=["version=2", *context])
    calls = len(cloud.emulator_calls())
    cloud.deploy(v2, parameters=[f"{whole_app.MONITORING_STACK}:ServicePort=8443"])
    return v2, [c for c in cloud.emulator_calls()[calls:] if c in WRITE_OPERATIONS]


@pytest.mark.local_cloud
@pytest.mark.cli
def test_the_local_cloud_deploys_updates_and_destroys_both_stacks(tmp_path: Path) -> None:
    with local_cloud_with_v1(tmp_path, "whole-app") as cloud:
        created = cloud.monitors()
        assert sorted(len(m["probes"]) for m in created.values()) == [10, 20]
        vpcs = {p["vpcId"] for m in created.values() for p in m["probes"]}
        stack_vpc = {p["vpcId"] for m in created.values() for p in m["probes"] if p["destination"] == "10.100.0.1"}
        assert len(stack_vpc) == 1
        assert stack_vpc < vpcs  # the shared-services subnets are in a VPC of their own

        v2, writes = deploy_v2(cloud, tmp_path)
        # The request's mark; 4 ports from the parameter, the bastion, the resumed site.
        assert sorted(writes) == ["TagResource"] + ["UpdateProbe"] * 6
        probes = [p for m in cloud.monitors().values() for p in m["probes"]]
        assert all(p["state"] == "ACTIVE" for p in probes)
        assert {p.get("destinationPort") for p in probes} == {None, 8443, 2222}

        cloud.destroy(v2)
        assert cloud.monitors() == {}
        assert cloud.service_groups() == {}  # the handler deleted them, so CloudFormation could delete the VPC
        assert not stack_vpc & {v["VpcId"] for v in cloud.ec2().describe_vpcs()["Vpcs"]}
