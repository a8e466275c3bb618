"""Synth-time validation, as a table: each row is props and the exact problems they must produce.

Every bound is exercised on both sides. Values that are tokens (unknown until deploy) must pass synth
untouched; the handler judges them once resolved. Every row is also synthesized: aws-cdk-lib renders
the properties before it validates, so a row's problems must come out as the synth report, never as
an internal error of the rendering.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, Fn, Stack, Tags, Token
from aws_cdk import aws_ec2 as ec2

from cdk_netmon import MonitorEngine, MonitorProbe, NetworkMonitor, ProbeProtocol
from tests.support import (
    SUBNET_A,
    SUBNET_B,
    icmp,
    isolated_vpc,
    new_stack,
    subnet_arn,
    synth_report,
    tcp,
    template_json,
)

VALID_PROBE = tcp()


@dataclass(frozen=True)
class Row:
    case: str
    props: dict[str, Any] | Callable[[Stack], dict[str, Any]]
    """The props, or what makes them in the row's stack (for tokens and subnets)."""
    problems: list[str] = field(default_factory=list)


def probes(*items: MonitorProbe) -> dict[str, Any]:
    return {"probes": list(items)}


def many(count: int, per_subnet: int = 4) -> list[MonitorProbe]:
    return [tcp(port=1000 + i, source_arn=subnet_arn(i // per_subnet)) for i in range(count)]


ROWS = [
    # monitor_name: 1-200 characters of [a-zA-Z0-9_-]
    Row("name of 1 character", {"monitor_name": "a"}),
    Row("name of 200 characters", {"monitor_name": "n" * 200}),
    Row(
        "name of 201 characters",
        {"monitor_name": "n" * 201},
        [f"monitor_name {'n' * 201!r} has length 201; allowed: 1 to 200 characters"],
    ),
    Row("empty name", {"monitor_name": ""}, ["monitor_name '' has length 0; allowed: 1 to 200 characters"]),
    Row("name with every allowed character", {"monitor_name": "Az09_-"}),
    Row(
        "name with a dot",
        {"monitor_name": "on.prem"},
        ["monitor_name 'on.prem' has characters outside [a-zA-Z0-9_-]; allowed: letters, digits, '_' and '-'"],
    ),
    # aggregation_period: 30 or 60 seconds
    Row("period of 30 s", {"aggregation_period": Duration.seconds(30)}),
    Row("period of 1 minute", {"aggregation_period": Duration.minutes(1)}),
    Row(
        "period of 29 s",
        {"aggregation_period": Duration.seconds(29)},
        ["aggregation_period 29 seconds is not supported; allowed: 30 or 60 seconds"],
    ),
    Row(
        "period of 61 s",
        {"aggregation_period": Duration.seconds(61)},
        ["aggregation_period 61 seconds is not supported; allowed: 30 or 60 seconds"],
    ),
    # packet_size: 56-8500
    Row("packet size 56", probes(tcp(packet_size=56))),
    Row("packet size 8500", probes(tcp(packet_size=8500))),
    Row(
        "packet size 55",
        probes(tcp(packet_size=55)),
        ["probes[0].packet_size 55 is out of range; allowed: 56 to 8500 bytes"],
    ),
    Row(
        "packet size 8501",
        probes(tcp(packet_size=8501)),
        ["probes[0].packet_size 8501 is out of range; allowed: 56 to 8500 bytes"],
    ),
    # destination_port: 1-65535 for TCP, none for ICMP
    Row("TCP port 1", probes(tcp(port=1))),
    Row("TCP port 65535", probes(tcp(port=65535))),
    Row(
        "TCP port 0",
        probes(tcp(port=0)),
        ["probes[0].destination_port 0 is out of range; allowed: 1 to 65535"],
    ),
    Row(
        "TCP port 65536",
        probes(tcp(port=65536)),
        ["probes[0].destination_port 65536 is out of range; allowed: 1 to 65535"],
    ),
    Row(
        "TCP without a port",
        probes(tcp(port=None)),
        ["probes[0].destination_port is missing; TCP probes need a port from 1 to 65535"],
    ),
    Row("ICMP without a port", probes(icmp())),
    Row(
        "ICMP with a port",
        probes(icmp(destination_port=80)),
        ["probes[0].destination_port 80 is set on an ICMP probe; allowed: no port for ICMP"],
    ),
    # destination: an IPv4 or IPv6 address
    Row("IPv4 destination", probes(tcp(destination="192.0.2.10"))),
    Row("IPv6 destination", probes(tcp(destination="2001:db8::10"))),
    Row(
        "host name destination",
        probes(tcp(destination="onprem.example.com")),
        ["probes[0].destination 'onprem.example.com' is not an IP address; allowed: an IPv4 or IPv6 address"],
    ),
    Row(
        "IPv4 octet out of range",
        probes(tcp(destination="10.0.0.256")),
        ["probes[0].destination '10.0.0.256' is not an IP address; allowed: an IPv4 or IPv6 address"],
    ),
    Row(
        "IPv4 and IPv6 in one monitor",
        probes(tcp(destination="10.0.0.1"), tcp(destination="2001:db8::1")),
        [
            "probes mix IPv4 (probes[0] 10.0.0.1) and IPv6 (probes[1] 2001:db8::1) destinations; "
            "allowed: one address family per monitor"
        ],
    ),
    # source: exactly one of source and source_arn; an ARN must be a subnet's
    Row(
        "neither source nor source_arn",
        probes(MonitorProbe(destination="10.0.0.1", protocol=ProbeProtocol.ICMP)),
        ["probes[0] sets neither source nor source_arn; allowed: exactly one of them"],
    ),
    Row(
        "a VPC ARN as source",
        probes(icmp(source_arn="arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-0a1b2c3d")),
        [
            "probes[0].source_arn 'arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-0a1b2c3d' is not a subnet ARN; "
            "allowed: arn:<partition>:ec2:<region>:<account>:subnet/subnet-<hex>"
        ],
    ),
    Row("a GovCloud subnet ARN", probes(icmp(source_arn=SUBNET_A.replace("arn:aws:", "arn:aws-us-gov:")))),
    # quotas: 24 probes per monitor, 4 per subnet
    Row("24 probes", probes(*many(24))),
    Row("25 probes", probes(*many(25)), ["probes has 25 entries; allowed: at most 24 per monitor"]),
    Row("4 probes from one subnet", probes(*many(4, per_subnet=4))),
    Row(
        "5 probes from one subnet",
        probes(*many(5, per_subnet=5)),
        [f"probes has 5 probes from source {subnet_arn(0)!r}; allowed: at most 4 per subnet in one monitor"],
    ),
    # no duplicates: same source, destination, protocol and port
    Row("same destination on two ports", probes(tcp(port=80), tcp(port=443))),
    Row("same destination from two subnets", probes(tcp(), tcp(source_arn=SUBNET_B))),
    Row(
        "the same probe twice",
        probes(tcp(packet_size=100), tcp(packet_size=200)),
        ["probes[1] duplicates probes[0] (same source, destination, protocol and port); allowed: each probe once"],
    ),
    # tags: 200 per resource, key 1-128, value 0-256, no aws: prefix
    Row(
        "197 tags (the ownership tags and the generation mark take 3 of 200)",
        {"tags": {f"k{i}": "v" for i in range(197)}},
    ),
    Row(
        "198 tags",
        {"tags": {f"k{i}": "v" for i in range(198)}},
        ["tags has 198 tags; allowed: at most 197 (3 of the service's 200 are cdk-netmon's)"],
    ),
    Row("200 probe tags", probes(tcp(probe_tags={f"k{i}": "v" for i in range(200)}))),
    Row(
        "201 probe tags",
        probes(tcp(probe_tags={f"k{i}": "v" for i in range(201)})),
        ["probes[0].probe_tags has 201 tags; allowed: at most 200"],
    ),
    Row("tag key of 128 characters, empty value", {"tags": {"k" * 128: ""}}),
    Row("empty tag key", {"tags": {"": "v"}}, ["tags key '' has length 0; allowed: 1 to 128 characters"]),
    Row(
        "empty probe tag key",
        probes(tcp(probe_tags={"": "v"})),
        ["probes[0].probe_tags key '' has length 0; allowed: 1 to 128 characters"],
    ),
    Row(
        "tag key of 129 characters",
        {"tags": {"k" * 129: "v"}},
        [f"tags key {'k' * 129!r} has length 129; allowed: 1 to 128 characters"],
    ),
    Row("tag value of 256 characters", {"tags": {"k": "v" * 256}}),
    Row(
        "tag value of 257 characters",
        {"tags": {"k": "v" * 257}},
        ["tags value of 'k' has length 257; allowed: 0 to 256 characters"],
    ),
    Row(
        "reserved tag key",
        {"tags": {"aws:owner": "me"}},
        [
            "tags key 'aws:owner' uses the reserved prefix 'aws:'; "
            "allowed: keys not starting with 'aws:' or 'cdk-netmon:'"
        ],
    ),
    Row(
        "reserved probe tag key",
        probes(tcp(probe_tags={"AWS:x": "y"})),
        [
            "probes[0].probe_tags key 'AWS:x' uses the reserved prefix 'aws:'; "
            "allowed: keys not starting with 'aws:' or 'cdk-netmon:'"
        ],
    ),
    Row(
        "ownership tag key",
        {"tags": {"cdk-netmon:stack-id": "mine"}},
        [
            "tags key 'cdk-netmon:stack-id' uses the reserved prefix 'cdk-netmon:'; "
            "allowed: keys not starting with 'aws:' or 'cdk-netmon:'"
        ],
    ),
    Row(
        "ownership prefix on a probe tag",
        probes(tcp(probe_tags={"CDK-NETMON:x": "y"})),
        [
            "probes[0].probe_tags key 'CDK-NETMON:x' uses the reserved prefix 'cdk-netmon:'; "
            "allowed: keys not starting with 'aws:' or 'cdk-netmon:'"
        ],
    ),
    Row("probe tag key of 128 characters", probes(tcp(probe_tags={"p" * 128: "v"}))),
    Row(
        "probe tag value of 257 characters",
        probes(tcp(probe_tags={"p": "v" * 257})),
        ["probes[0].probe_tags value of 'p' has length 257; allowed: 0 to 256 characters"],
    ),
]


def parameter(stack: Stack, name: str = "Text") -> str:
    return CfnParameter(stack, name).value_as_string


def list_parameter(stack: Stack) -> list[str]:
    return CfnParameter(stack, "List", type="CommaDelimitedList").value_as_list


def subnet_and_its_own_arn(stack: Stack) -> dict[str, Any]:
    subnet = ec2.Subnet.from_subnet_attributes(stack, "Subnet", subnet_id="subnet-0a1b2c3d4e5f60001")
    return probes(MonitorProbe(source=subnet, destination="10.0.0.1", protocol=ProbeProtocol.ICMP), icmp())


FULL_WIDTH_ACCOUNT = SUBNET_A.replace("123456789012", "123456789012".translate({c: c + 0xFEE0 for c in range(48, 58)}))
"""The account in full-width digits (U+FF10 to U+FF19), which `\\d` would take for digits."""
NOT_A_SUBNET_ARN = "is not a subnet ARN; allowed: arn:<partition>:ec2:<region>:<account>:subnet/subnet-<hex>"
DEPLOY_TIME_KEY = "has a deploy-time key; allowed: keys known at synth (values may be deploy-time)"
LIST_ITEM = "is an item of a deploy-time list taken with [i]; pass Fn.select(i, the_list)"

# What aws-cdk-lib renders before validation runs, and the service's patterns matched whole and in ASCII.
ROWS += [
    Row(
        "ints as probes",
        {"probes": [1, 2]},
        [
            "probes[0] is an int, not a MonitorProbe; pass MonitorProbe(...)",
            "probes[1] is an int, not a MonitorProbe; pass MonitorProbe(...)",
        ],
    ),
    Row(
        "a list parameter as probes",
        lambda stack: {"probes": list_parameter(stack)},
        ["probes is a deploy-time list, whose items are unknown at synth; pass a list of MonitorProbe"],
    ),
    Row(
        "a token as a probe's name",
        lambda stack: probes(icmp(name=parameter(stack))),
        [
            "probes[0].name is a deploy-time value; allowed: a name known at synth, since it keys the probe in the "
            "template (leave it unset for a generated key)"
        ],
    ),
    Row(
        "a token as a key of probe_tags",
        lambda stack: probes(icmp(probe_tags={parameter(stack): "v"})),
        [f"probes[0].probe_tags {DEPLOY_TIME_KEY}"],
    ),
    Row("a token as a key of tags", lambda stack: {"tags": {parameter(stack): "v"}}, [f"tags {DEPLOY_TIME_KEY}"]),
    Row("a token as a value of tags", lambda stack: {"tags": {"owner": parameter(stack)}}),
    Row(
        "an item of a list parameter as a destination",
        lambda stack: probes(icmp(destination=list_parameter(stack)[0])),
        [f"probes[0].destination {LIST_ITEM}"],
    ),
    Row(
        "an item of a list parameter as the monitor name",
        lambda stack: {"monitor_name": list_parameter(stack)[0]},
        [f"monitor_name {LIST_ITEM}"],
    ),
    Row(
        "Fn.select of a list parameter as a destination",
        lambda stack: probes(icmp(destination=Fn.select(0, list_parameter(stack)))),
    ),
    Row(
        "a period beyond any number",
        {"aggregation_period": Duration.seconds(10**400)},
        ["aggregation_period is not a finite number of seconds; allowed: Duration.seconds(30) or Duration.seconds(60)"],
    ),
    Row(
        "a huge whole period",
        {"aggregation_period": Duration.seconds(10**20)},
        ["aggregation_period 100000000000000000000 seconds is not supported; allowed: 30 or 60 seconds"],
    ),
    Row(
        "a name ending in a newline",
        {"monitor_name": "dc-monitor\n"},
        ["monitor_name 'dc-monitor\\n' has characters outside [a-zA-Z0-9_-]; allowed: letters, digits, '_' and '-'"],
    ),
    Row(
        "a probe name ending in a newline",
        probes(icmp(name="dc1\n")),
        [
            "probes[0].name 'dc1\\n' is not a probe name; allowed: 1 to 64 letters, digits and '-', not starting or "
            "ending with '-'"
        ],
    ),
    Row(
        "a source ARN ending in a newline",
        probes(icmp(source_arn=SUBNET_A + "\n")),
        [f"probes[0].source_arn {SUBNET_A + chr(10)!r} {NOT_A_SUBNET_ARN}"],
    ),
    Row(
        "a source ARN with full-width digits in its account",
        probes(icmp(source_arn=FULL_WIDTH_ACCOUNT)),
        [f"probes[0].source_arn {FULL_WIDTH_ACCOUNT!r} {NOT_A_SUBNET_ARN}"],
    ),
    Row(
        "a subnet and its own ARN",
        subnet_and_its_own_arn,
        ["probes[1] duplicates probes[0] (same source, destination, protocol and port); allowed: each probe once"],
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.case for row in ROWS])
def test_rule(row: Row) -> None:
    stack = new_stack()
    props = row.props(stack) if callable(row.props) else row.props
    monitor = NetworkMonitor(stack, "Monitor", **props)
    assert list(monitor.node.validate()) == row.problems
    assert synth_report(stack) == [f"[Stack/Monitor] {problem}" for problem in row.problems]


def test_a_refused_synth_names_every_problem_of_every_monitor_with_its_path() -> None:
    stack = new_stack()
    NetworkMonitor(
        stack,
        "First",
        monitor_name="bad name",
        aggregation_period=Duration.seconds(45),
        probes=[tcp(port=0, packet_size=9000)],
    )
    NetworkMonitor(stack, "Second", probes=[icmp(destination="nowhere")])

    with pytest.raises(Exception, match="Validation failed") as refused:
        template_json(stack)

    message = str(refused.value)
    for expected in [
        "[Stack/First] monitor_name 'bad name' has characters outside [a-zA-Z0-9_-]",
        "[Stack/First] aggregation_period 45 seconds is not supported",
        "[Stack/First] probes[0].destination_port 0 is out of range",
        "[Stack/First] probes[0].packet_size 9000 is out of range",
        "[Stack/Second] probes[0].destination 'nowhere' is not an IP address",
    ]:
        assert expected in message


def test_a_probe_added_after_construction_is_validated() -> None:
    monitor = NetworkMonitor(new_stack(), "Monitor")
    monitor.add_probe(source_arn=SUBNET_A, destination="10.0.0.1", protocol=ProbeProtocol.TCP)
    assert list(monitor.node.validate()) == [
        "probes[0].destination_port is missing; TCP probes need a port from 1 to 65535"
    ]


def test_both_sources_is_refused() -> None:
    stack = new_stack()
    subnet = ec2.Subnet.from_subnet_id(stack, "Subnet", "subnet-0a1b2c3d4e5f60001")
    monitor = NetworkMonitor(
        stack,
        "Monitor",
        probes=[MonitorProbe(source=subnet, source_arn=SUBNET_A, destination="10.0.0.1", protocol=ProbeProtocol.ICMP)],
    )
    assert list(monitor.node.validate()) == ["probes[0] sets both source and source_arn; allowed: exactly one of them"]


@pytest.mark.parametrize("engine", [MonitorEngine.CUSTOM_RESOURCE, MonitorEngine.NATIVE])
def test_tags_applied_with_tags_of_are_validated(engine: MonitorEngine) -> None:
    stack = new_stack()
    monitor = NetworkMonitor(stack, "Monitor", engine=engine)
    Tags.of(stack).add("k" * 129, "v")
    template_or_error: Callable[[], object] = lambda: template_json(stack)  # noqa: E731
    with pytest.raises(Exception, match=r"tags key 'k{129}' has length 129"):
        template_or_error()
    assert monitor.node.path == "Stack/Monitor"


def subnets_of(stack: Stack, count: int) -> list[ec2.ISubnet]:
    return list(isolated_vpc(stack, azs=count).isolated_subnets)


def test_subnet_quota_counts_probes_from_one_isubnet_even_though_its_arn_is_a_token() -> None:
    stack = new_stack()
    [subnet] = subnets_of(stack, 1)
    monitor = NetworkMonitor(
        stack,
        "Monitor",
        probes=[
            MonitorProbe(source=subnet, destination=f"10.0.0.{i}", protocol=ProbeProtocol.ICMP) for i in range(1, 6)
        ],
    )
    [problem] = monitor.node.validate()
    assert problem.startswith("probes has 5 probes from source ")
    assert problem.endswith("allowed: at most 4 per subnet in one monitor")


def test_duplicate_probes_from_one_isubnet_are_refused() -> None:
    stack = new_stack()
    [subnet] = subnets_of(stack, 1)
    probe: dict[str, Any] = {"source": subnet, "destination": "10.0.0.1", "protocol": ProbeProtocol.ICMP}
    monitor = NetworkMonitor(stack, "Monitor", probes=[MonitorProbe(**probe), MonitorProbe(**probe)])
    assert list(monitor.node.validate()) == [
        "probes[1] duplicates probes[0] (same source, destination, protocol and port); allowed: each probe once"
    ]


def test_deploy_time_values_pass_synth_untouched() -> None:
    stack = new_stack()
    text = CfnParameter(stack, "Text").value_as_string
    number = CfnParameter(stack, "Number", type="Number").value_as_number
    monitor = NetworkMonitor(
        stack,
        "Monitor",
        monitor_name=text,
        aggregation_period=Duration.seconds(number),
        tags={"owner": text},
        probes=[
            MonitorProbe(
                source_arn=text, destination=text, protocol=ProbeProtocol.TCP, destination_port=Token.as_number(number)
            ),
            MonitorProbe(
                source_arn=text, destination=text, protocol=ProbeProtocol.TCP, destination_port=Token.as_number(number)
            ),
            MonitorProbe(
                source_arn=SUBNET_A,
                destination="10.0.0.1",
                protocol=ProbeProtocol.TCP,
                destination_port=443,
                packet_size=Token.as_number(number),
                probe_tags={"k": text},
            ),
        ],
    )
    assert list(monitor.node.validate()) == []
    template_json(stack)  # synthesizes


def test_tokens_do_not_hide_problems_in_known_values() -> None:
    stack = new_stack()
    text = CfnParameter(stack, "Text").value_as_string
    monitor = NetworkMonitor(
        stack,
        "Monitor",
        probes=[MonitorProbe(source_arn=text, destination=text, protocol=ProbeProtocol.TCP, destination_port=70000)],
    )
    assert list(monitor.node.validate()) == ["probes[0].destination_port 70000 is out of range; allowed: 1 to 65535"]


def test_the_construct_and_the_handler_find_the_same_problems_in_their_own_words() -> None:
    """One rule sequence (rules.check_monitor) serves both sides: the handler's problems with the
    API's field names are the construct's with its prop names, in the same order."""
    from cdk_netmon.handler import rules
    from cdk_netmon.handler.spec import MonitorSpec, ProbeSpec
    from cdk_netmon.validation import ResolvedProbe, monitor_problems

    bad: list[dict[str, Any]] = [
        {"destination": "10.0.0.300"},
        {"destination_port": 0},
        {"protocol": "ICMP", "destination_port": 443},
        {"packet_size": 9000},
        {"source_arn": "arn:aws:ec2:eu-west-1:111122223333:subnet/bad"},
        {"probe_tags": {"aws:owner": "x"}},
        {"destination": "2001:db8::1"},
        {},
        {},
    ]
    valid: dict[str, Any] = {"source_arn": subnet_arn(0), "destination": "10.0.0.1", "protocol": "TCP"}
    fields = [{**valid, "destination_port": 443, **row} for row in bad]
    construct = monitor_problems(
        monitor_name="bad name!",
        name_is_explicit=True,
        aggregation_period_seconds=45,
        tags={"aws:team": "net"},
        probes=[
            ResolvedProbe(
                MonitorProbe(
                    source_arn=f["source_arn"],
                    destination=f["destination"],
                    protocol=ProbeProtocol[f["protocol"]],
                    destination_port=f.get("destination_port"),
                    packet_size=f.get("packet_size"),
                    probe_tags=f.get("probe_tags"),
                ),
                f["source_arn"],
                None,
                f.get("probe_tags", {}),
                where=f"probes[{index}]",
            )
            for index, f in enumerate(fields)
        ],
    )
    handler = MonitorSpec(
        "bad name!",
        45,
        {"aws:team": "net"},
        tuple(
            ProbeSpec(
                f["source_arn"],
                f["destination"],
                f["protocol"],
                f.get("destination_port"),
                f.get("packet_size"),
                f.get("probe_tags", {}),
                key=str(index),
            )
            for index, f in enumerate(fields)
        ),
    ).problems()

    def in_prop_words(problem: str) -> str:
        for api, prop in zip(vars(rules.API_NAMES).values(), vars(rules.PROP_NAMES).values(), strict=True):
            problem = re.sub(rf"(?<![\w]){api}(?= )", prop, problem)
        return problem

    assert len(construct) >= len(bad)  # every row breaks a rule, and so do the monitor's own props
    assert [in_prop_words(problem) for problem in handler] == construct
