"""The registry schema the kit ships for AWS::NetworkMonitor::Probe, held to AWS's packaged sources and
run through cfn-lint as users run it.

- aws-cdk-lib 2.276.0's definitions (vendored by `make native-reference`): the same properties, types,
  required fields, tag shape, attributes and `Ref`; pulumi-aws-native 1.84.0's `replace_on_changes`:
  the create-only fields. The Monitor schema cfn-lint 1.58.0 bundles is held to CfnMonitor the same way.
- cfn-lint 1.58.0 without the schema answers E3006; with it (`--registry-schemas DIR`, which loads
  every `*.json` under DIR, keyed by its typeName), a valid native template has no error. Its property
  rules, though, never read a registry schema (`ProviderSchemaManager.get_resource_schemas_by_regions`
  looks types up in the bundled region lists only): a wrong probe passes too, which a test pins so
  that the upgrade that fixes it is noticed. With that lookup mended (tests/cfn_lint_registry.py),
  the schema catches the wrong probes a registry schema would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cfnlint  # type: ignore[import-untyped]
import pytest

from cdk_netmon.testing import REGISTRY_SCHEMAS

ROOT = Path(__file__).resolve().parent.parent
PROBE_SCHEMA = Path(REGISTRY_SCHEMAS) / "aws-networkmonitor-probe.json"
DEFINITIONS = json.loads((Path(__file__).parent / "fixtures" / "aws_cdk_lib_2_276_networkmonitor.json").read_text())
CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")
SUBNET = "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0123456789abcdef0"


def bundled_monitor_schema() -> dict[str, Any]:
    data = Path(cfnlint.__file__).parent / "data" / "schemas"
    digest = json.loads((data / "providers" / "us-east-1.json").read_text())["AWS::NetworkMonitor::Monitor"]
    return dict(json.loads((data / "resources" / f"{digest}.json").read_text()))


SCHEMAS = {"CfnProbe": json.loads(PROBE_SCHEMA.read_text()), "CfnMonitor": bundled_monitor_schema()}
TYPES = {"string": "string", "integer": "number", "array": "array<CfnTag>"}
"""A schema's JSON types as aws-cdk-lib's generated props type them."""


def writable(schema: Mapping[str, Any]) -> dict[str, Any]:
    read_only = {p.rsplit("/", 1)[-1] for p in schema["readOnlyProperties"]}
    return {k: v for k, v in schema["properties"].items() if k not in read_only}


def names(pointers: list[str]) -> list[str]:
    return [p.rsplit("/", 1)[-1] for p in pointers]


# --- the schema against aws-cdk-lib 2.276.0 and pulumi-aws-native -----------------------------------


@pytest.mark.parametrize("cls", ["CfnProbe", "CfnMonitor"])
def test_the_schema_has_aws_cdk_libs_properties_types_and_required_fields(cls: str) -> None:
    schema, cdk = SCHEMAS[cls], DEFINITIONS["classes"][cls]
    assert schema["typeName"] == cdk["type"]
    assert {k: TYPES[v["type"]] for k, v in writable(schema).items()} == {
        k: v["type"] for k, v in cdk["properties"].items()
    }
    assert sorted(schema["required"]) == sorted(k for k, v in cdk["properties"].items() if v["required"])


@pytest.mark.parametrize("cls", ["CfnProbe", "CfnMonitor"])
def test_the_schema_has_aws_cdk_libs_tag_shape_attributes_and_ref(cls: str) -> None:
    schema, cdk = SCHEMAS[cls], DEFINITIONS["classes"][cls]
    assert cdk["tags"]["tag_type"] == "STANDARD"  # a list of {Key, Value}
    tags = schema["properties"][cdk["tags"]["property"]]
    assert tags["type"] == "array"
    tag = schema["definitions"][tags["items"]["$ref"].rsplit("/", 1)[-1]]
    assert {k: v["type"] for k, v in tag["properties"].items()} == cdk["tags"]["item"]
    assert sorted(tag["required"]) == sorted(cdk["tags"]["item"])
    assert sorted(names(schema["readOnlyProperties"])) == sorted(cdk["attributes"])
    assert "|".join(names(schema["primaryIdentifier"])) == cdk["ref"]  # CloudFormation joins them with "|"


@pytest.mark.parametrize("cls", ["CfnProbe", "CfnMonitor"])
def test_the_create_only_fields_are_pulumis_replace_on_changes(cls: str) -> None:
    schema = SCHEMAS[cls]
    assert names(schema["createOnlyProperties"]) == DEFINITIONS["create_only"]["types"][schema["typeName"]]


def test_the_kits_native_handlers_replace_on_the_schemas_create_only_fields_and_give_its_attributes() -> None:
    from cdk_netmon.testing.native import CREATE_ONLY, READ_ONLY

    for schema in SCHEMAS.values():
        assert list(CREATE_ONLY[schema["typeName"]]) == names(schema["createOnlyProperties"])
        assert sorted(READ_ONLY[schema["typeName"]]) == sorted(names(schema["readOnlyProperties"]))


def test_the_vendored_data_names_its_sources() -> None:
    assert DEFINITIONS["source"]["package"] == "aws-cdk-lib 2.276.0 (npm)"
    assert DEFINITIONS["source"]["integrity"].startswith("sha512-")
    assert DEFINITIONS["create_only"]["source"].startswith("pulumi-aws-native 1.84.0 (PyPI)")


# --- cfn-lint, as users run it -----------------------------------------------------------------------


def probe(**properties: Any) -> dict[str, Any]:
    body = {"MonitorName": "onprem", "SourceArn": SUBNET, "Destination": "10.0.0.1", "Protocol": "ICMP"}
    return {"Type": "AWS::NetworkMonitor::Probe", "DependsOn": ["Monitor"], "Properties": {**body, **properties}}


VALID: dict[str, Any] = {
    "Resources": {
        "Monitor": {"Type": "AWS::NetworkMonitor::Monitor", "Properties": {"MonitorName": "onprem"}},
        "Web": probe(Protocol="TCP", DestinationPort=443, PacketSize=56, Tags=[{"Key": "team", "Value": "net"}]),
        "Ping": probe(),
        "Loss": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "Namespace": "AWS/NetworkMonitor",
                "MetricName": "PacketLoss",
                "Dimensions": [
                    {"Name": "Monitor", "Value": "onprem"},
                    {"Name": "Probe", "Value": {"Fn::GetAtt": ["Web", "ProbeId"]}},
                ],
                "Statistic": "Maximum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 5,
                "ComparisonOperator": "GreaterThanThreshold",
            },
        },
    },
    "Outputs": {
        "ProbeRef": {"Value": {"Ref": "Web"}},
        "ProbeArn": {"Value": {"Fn::GetAtt": ["Web", "ProbeArn"]}},
        "VpcId": {"Value": {"Fn::GetAtt": ["Ping", "VpcId"]}},
    },
}
WRONG: dict[str, tuple[dict[str, Any], list[str]]] = {
    # logical id: (resource, what cfn-lint reports for it, with the schema's lookup mended)
    "Unknown": (probe(Colour="blue"), ["E3002 Additional properties are not allowed ('Colour' was unexpected)"]),
    "Missing": (
        {"Type": "AWS::NetworkMonitor::Probe", "Properties": {"MonitorName": "m", "Destination": "10.0.0.1"}},
        ["E3003 'Protocol' is a required property", "E3003 'SourceArn' is a required property"],
    ),
    "Port": (probe(Protocol="TCP", DestinationPort=70000), ["E3034 70000 is greater than the maximum of 65536"]),
    "Source": (probe(SourceArn="subnet-0123456789abcdef0"), ["E3031 'subnet-0123456789abcdef0' does not match"]),
    "Udp": (probe(Protocol="UDP"), ["E3030 'UDP' is not one of ['TCP', 'ICMP']"]),
    # A read-only property: cfn-lint 1.58.0's E3040 reports it for no type (not even its bundled
    # Monitor's State, or an S3 bucket's Arn); CloudFormation does not send it to the handler.
    "Paused": (probe(State="INACTIVE"), []),
}
WRONG_TEMPLATE = {
    "Resources": {
        "Monitor": VALID["Resources"]["Monitor"],
        **{k: v for k, (v, _) in WRONG.items()},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::GetAtt": ["Ping", "Colour"]}}},
        "Ping": probe(),
    }
}


def lint(tmp_path: Path, template: Mapping[str, Any], *, schemas: bool, mended: bool = False) -> list[str]:
    """cfn-lint's findings as `RULE message` by logical id (`-` for the template)."""
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template, indent=1))
    runner = [sys.executable, "-m", "tests.cfn_lint_registry"] if mended else [CFN_LINT]
    # The template comes first: --registry-schemas takes every argument after it (nargs="+").
    command = [*runner, str(path), "--format", "json", *(["--registry-schemas", REGISTRY_SCHEMAS] if schemas else [])]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode in (0, 2, 4, 6, 8, 10, 12, 14), result.stderr
    found = []
    for match in json.loads(result.stdout or "[]"):
        path_ = match["Location"]["Path"] or ["-", "-"]
        found.append(f"{path_[1]}: {match['Rule']['Id']} {match['Message']}")
    return sorted(found)


@pytest.mark.slow
def test_without_the_schema_cfn_lint_does_not_know_the_probe_type(tmp_path: Path) -> None:
    assert lint(tmp_path, VALID, schemas=False) == [
        f"{p}: E3006 Resource type 'AWS::NetworkMonitor::Probe' does not exist in 'us-east-1'" for p in ("Ping", "Web")
    ]


@pytest.mark.slow
def test_with_the_schema_a_valid_native_template_has_no_finding(tmp_path: Path) -> None:
    assert lint(tmp_path, VALID, schemas=True) == []
    assert lint(tmp_path, VALID, schemas=True, mended=True) == []


@pytest.mark.slow
def test_cfn_lint_1_58_checks_no_property_of_a_registry_type(tmp_path: Path) -> None:
    """When this fails, cfn-lint validates registry types itself: the mended lookup can go, and
    the findings below are what plain cfn-lint reports."""
    assert lint(tmp_path, WRONG_TEMPLATE, schemas=True) == []


@pytest.mark.slow
def test_with_the_lookup_mended_the_schema_catches_wrong_probes(tmp_path: Path) -> None:
    found = lint(tmp_path, WRONG_TEMPLATE, schemas=True, mended=True)
    expected = [f"{logical_id}: {message}" for logical_id, (_, messages) in WRONG.items() for message in messages]
    expected.append(
        "Topic: E1010 'Colour' is not one of ['ProbeId', 'ProbeArn', 'State', 'AddressFamily', 'VpcId', "
        "'CreatedAt', 'ModifiedAt'] in ['us-east-1']"
    )
    assert len(found) == len(expected)
    for want, got in zip(sorted(expected), found, strict=True):
        assert got.startswith(want)


def test_registry_schemas_is_a_directory_of_the_probe_schema_alone() -> None:
    assert sorted(p.name for p in Path(REGISTRY_SCHEMAS).rglob("*.json")) == ["aws-networkmonitor-probe.json"]
    assert SCHEMAS["CfnProbe"]["typeName"] == "AWS::NetworkMonitor::Probe"
