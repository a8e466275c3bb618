"""Props as Python users write them: `None` for "not set" everywhere, and wrong types refused in the
synth report with the construct path, the prop, what was given and what to pass.

No compiler checks a Python user's types, and jsii's own errors ("'str' object has no attribute
'value'") name neither the construct nor the prop, so each row is what a user would plausibly type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import pytest
from aws_cdk import App, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2

from cdk_netmon import MonitorProbe, NetworkMonitor, ProbeProtocol
from cdk_netmon.testing import declared_monitors
from tests.support import SUBNET_A, isolated_vpc, new_stack, resources_of_type, template_json


def probe(**fields: Any) -> MonitorProbe:
    body: dict[str, Any] = {
        "source_arn": SUBNET_A,
        "destination": "10.0.0.1",
        "protocol": ProbeProtocol.TCP,
        "destination_port": 443,
        **fields,
    }
    return MonitorProbe(**body)


@dataclass(frozen=True)
class Row:
    case: str
    props: Callable[[Stack], dict[str, Any]]
    problems: list[str]


ROWS = [
    Row(
        "protocol as a string",
        lambda _: {"probes": [probe(protocol="TCP")]},
        ["probes[0].protocol 'TCP' is a str, not a ProbeProtocol; pass ProbeProtocol.TCP"],
    ),
    Row(
        "an unknown protocol",
        lambda _: {"probes": [probe(protocol="UDP")]},
        ["probes[0].protocol 'UDP' is a str, not a ProbeProtocol; pass ProbeProtocol.TCP or .ICMP"],
    ),
    Row(
        "aggregation period in seconds",
        lambda _: {"aggregation_period": 30},
        ["aggregation_period 30 is an int, not a Duration; pass Duration.seconds(30)"],
    ),
    Row(
        "a subnet selection as source",
        lambda stack: {"probes": [probe(source_arn=None, source=isolated_vpc(stack).select_subnets())]},
        [
            "probes[0].source is an ec2.SelectedSubnets, not an ec2.ISubnet; "
            "pass one subnet of it, one probe per subnet (for example selection.subnets[0])"
        ],
    ),
    Row(
        "a subnet id as source",
        lambda _: {"probes": [probe(source_arn=None, source="subnet-0abc")]},
        [
            "probes[0].source 'subnet-0abc' is a str, not an ec2.ISubnet; "
            "pass an ec2.ISubnet (ec2.Subnet.from_subnet_id(...)), or the subnet's ARN as source_arn"
        ],
    ),
    Row(
        "a VPC as source",
        lambda stack: {"probes": [probe(source_arn=None, source=isolated_vpc(stack))]},
        ["probes[0].source is an ec2.Vpc, not an ec2.ISubnet; pass an ec2.ISubnet"],
    ),
    Row(
        "a fractional port",
        lambda _: {"probes": [probe(destination_port=443.5)]},
        ["probes[0].destination_port 443.5 is not a whole number; pass an int such as 443"],
    ),
    Row(
        "a port as a string",
        lambda _: {"probes": [probe(destination_port="443")]},
        ["probes[0].destination_port '443' is not a whole number; pass an int such as 443"],
    ),
    Row(
        "a boolean packet size",
        lambda _: {"probes": [probe(packet_size=True)]},
        ["probes[0].packet_size True is not a whole number; pass an int such as 56"],
    ),
    Row(
        "a destination as a number",
        lambda _: {"probes": [probe(destination=167772161)]},
        ["probes[0].destination 167772161 is an int, not a str; pass an IP address such as '10.0.0.1'"],
    ),
    Row(
        "a source ARN as a number",
        lambda _: {"probes": [probe(source_arn=42)]},
        ["probes[0].source_arn 42 is an int, not a str; pass a subnet ARN"],
    ),
    Row(
        "a monitor name as a number",
        lambda _: {"monitor_name": 123},
        ["monitor_name 123 is an int, not a str; pass a str or None"],
    ),
    Row(
        "tags as a list",
        lambda _: {"tags": ["team=network"]},
        ["tags ['team=network'] is a list, not a dict; pass a dict of str to str"],
    ),
    Row(
        "a tag value as a number",
        lambda _: {"tags": {"cost-centre": 42}},
        ["tags entry 'cost-centre': 42 is not str to str; pass a dict of str to str"],
    ),
    Row(
        "probe tags as a string",
        lambda _: {"probes": [probe(probe_tags="path=dx")]},
        ["probes[0].probe_tags 'path=dx' is a str, not a dict; pass a dict of str to str"],
    ),
    Row(
        "one probe instead of a list",
        lambda _: {"probes": probe()},
        ["probes is a MonitorProbe, not a list; pass a list of MonitorProbe"],
    ),
    Row(
        "a probe as a dict",
        lambda _: {"probes": [{"destination": "10.0.0.1", "protocol": "TCP"}]},
        ["probes[0] is a dict, not a MonitorProbe; pass MonitorProbe(...)"],
    ),
    Row(
        "a removal policy as a string",
        lambda _: {"removal_policy": "RETAIN"},
        ["removal_policy 'RETAIN' is a str, not a RemovalPolicy; pass RemovalPolicy.DESTROY or RemovalPolicy.RETAIN"],
    ),
    Row(
        "a snapshot removal policy",
        lambda _: {"removal_policy": RemovalPolicy.SNAPSHOT},
        [
            "removal_policy RemovalPolicy.SNAPSHOT is not supported: a monitor has no snapshot; "
            "allowed: RemovalPolicy.DESTROY, RETAIN or RETAIN_ON_UPDATE_OR_DELETE"
        ],
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.case for row in ROWS])
def test_wrong_type(row: Row) -> None:
    stack = new_stack()
    monitor = NetworkMonitor(stack, "Monitor", **row.props(stack))
    assert list(monitor.node.validate()) == row.problems


def test_a_refused_synth_names_every_wrong_type_with_the_construct_path_and_builds_nothing_half_way() -> None:
    stack = new_stack()
    NetworkMonitor(
        stack,
        "OnPrem",
        aggregation_period=30,  # type: ignore[arg-type]
        probes=[
            probe(protocol="TCP"),
            probe(destination="10.0.0.2", destination_port=443.5),
            probe(destination="10.0.0.3", packet_size=9000),
        ],
    )
    with pytest.raises(RuntimeError, match="Validation failed") as refused:
        template_json(stack)
    message = str(refused.value)
    for expected in (
        "[Stack/OnPrem] aggregation_period 30 is an int, not a Duration; pass Duration.seconds(30)",
        "[Stack/OnPrem] probes[0].protocol 'TCP' is a str, not a ProbeProtocol; pass ProbeProtocol.TCP",
        "[Stack/OnPrem] probes[1].destination_port 443.5 is not a whole number",
        "[Stack/OnPrem] probes[2].packet_size 9000 is out of range",
    ):
        assert expected in message


def test_a_whole_float_is_a_whole_number() -> None:
    stack = new_stack()
    NetworkMonitor(stack, "Monitor", monitor_name="m", probes=[probe(destination_port=443.0, packet_size=1500.0)])
    [resource] = resources_of_type(template_json(stack), "Custom::NetworkMonitor").values()
    [body] = resource["Properties"]["Probes"].values()
    assert (body["DestinationPort"], body["PacketSize"]) == (443, 1500)
    assert isinstance(body["DestinationPort"], int)


def test_apply_removal_policy_reaches_the_custom_resource() -> None:
    stack = new_stack()
    NetworkMonitor(stack, "Monitor").apply_removal_policy(RemovalPolicy.RETAIN)
    [resource] = resources_of_type(template_json(stack), "Custom::NetworkMonitor").values()
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"


def test_apply_removal_policy_refuses_snapshot() -> None:
    monitor = NetworkMonitor(new_stack(), "Monitor")
    with pytest.raises(ValueError, match=r"^Stack/Monitor: removal_policy RemovalPolicy.SNAPSHOT is not supported"):
        monitor.apply_removal_policy(RemovalPolicy.SNAPSHOT)


# --- None is "not set" -------------------------------------------------------------------------------


def test_every_optional_prop_of_network_monitor_accepts_none() -> None:
    stack = new_stack()
    monitor = NetworkMonitor(
        stack, "Monitor", monitor_name=None, probes=None, aggregation_period=None, tags=None, removal_policy=None
    )
    assert list(monitor.node.validate()) == []
    [resource] = resources_of_type(template_json(stack), "Custom::NetworkMonitor").values()
    [body] = declared_monitors({"Resources": {"M": resource}}).values()
    assert (body["aggregationPeriod"], body["probes"]) == (60, [])
    assert "tags" not in body
    assert resource["DeletionPolicy"] == "Delete"


def test_every_optional_field_of_monitor_probe_accepts_none() -> None:
    stack = new_stack()
    NetworkMonitor(
        stack,
        "Monitor",
        monitor_name="m",
        probes=[
            MonitorProbe(
                destination="10.0.0.1",
                protocol=ProbeProtocol.ICMP,
                source_arn=SUBNET_A,
                source=None,
                destination_port=None,
                packet_size=None,
                probe_tags=None,
            )
        ],
    )
    [resource] = resources_of_type(template_json(stack), "Custom::NetworkMonitor").values()
    assert declared_monitors({"Resources": {"M": resource}})["M"]["probes"] == [
        {"sourceArn": SUBNET_A, "destination": "10.0.0.1", "protocol": "ICMP"}
    ]


def test_every_optional_argument_of_add_probe_accepts_none() -> None:
    stack = new_stack()
    monitor = NetworkMonitor(stack, "Monitor", monitor_name="m")
    monitor.add_probe(
        destination="10.0.0.1",
        protocol=ProbeProtocol.TCP,
        source_arn=SUBNET_A,
        source=None,
        destination_port=443,
        packet_size=None,
        probe_tags=None,
    )
    assert list(monitor.node.validate()) == []
    [resource] = resources_of_type(template_json(stack), "Custom::NetworkMonitor").values()
    assert declared_monitors({"Resources": {"M": resource}})["M"]["probes"] == [
        {"sourceArn": SUBNET_A, "destination": "10.0.0.1", "protocol": "TCP", "destinationPort": 443}
    ]


# --- subnets are named as users know them --------------------------------------------------------------


@pytest.mark.parametrize(
    ("subnet_of", "named"),
    [
        (lambda stack: isolated_vpc(stack, azs=1).isolated_subnets[0], "Stack/Vpc/PSubnet1"),
        (
            lambda stack: ec2.Subnet.from_subnet_id(stack, "Imported", "subnet-0a1b2c3d4e5f60001"),
            "subnet-0a1b2c3d4e5f60001",
        ),
    ],
    ids=["a subnet of this app, by its construct path", "an imported subnet, by its id"],
)
def test_subnets_are_named_as_users_know_them_never_by_a_token(
    subnet_of: Callable[[Stack], ec2.ISubnet], named: str
) -> None:
    stack = Stack(App(), "Stack", env={"account": "111122223333", "region": "eu-central-1"})
    subnet = subnet_of(stack)
    monitor = NetworkMonitor(
        stack,
        "Monitor",
        probes=[MonitorProbe(source=subnet, destination=f"10.0.0.{i}", protocol=ProbeProtocol.ICMP) for i in range(5)],
    )
    assert list(monitor.node.validate()) == [
        f"probes has 5 probes from source {named!r}; allowed: at most 4 per subnet in one monitor"
    ]


def test_a_well_typed_monitor_with_a_duration_of_one_minute_is_fine() -> None:
    monitor = NetworkMonitor(new_stack(), "Monitor", aggregation_period=Duration.minutes(1), probes=[probe()])
    assert list(monitor.node.validate()) == []


def test_the_probe_keywords_are_monitor_probe_fields_with_their_types() -> None:
    """add_probe takes MonitorProbe's fields (ProbeFields), add_probes and fan_out the ones their
    probes share (ProbeOptions): one definition, checked against the dataclass."""
    import dataclasses
    import typing

    from cdk_netmon import ProbeFields, ProbeOptions

    def written(annotation: Any) -> str:
        text = annotation.__forward_arg__ if isinstance(annotation, typing.ForwardRef) else str(annotation)
        return text.removeprefix("Required[").removesuffix("]") if text.startswith("Required[") else text

    fields = {f.name: str(f.type) for f in dataclasses.fields(MonitorProbe)}
    assert {name: written(a) for name, a in ProbeFields.__annotations__.items()} == fields
    shared = {name: written(a) for name, a in ProbeOptions.__annotations__.items()}
    assert shared == {name: fields[name] for name in shared}
    assert set(fields) - set(shared) == {"destination", "source", "source_arn", "name"}


def test_the_monitor_keywords_are_the_constructors_and_fan_out_takes_both_sets() -> None:
    """fan_out gives each monitor MonitorOptions (the constructor's keywords of those names, with
    the constructor's types) and each probe ProbeOptions: FanOutOptions is exactly the two."""
    import inspect

    from cdk_netmon import FanOutOptions, MonitorOptions, ProbeOptions

    def written(annotation: Any) -> str:
        return str(getattr(annotation, "__forward_arg__", annotation))

    constructor = inspect.signature(NetworkMonitor.__init__).parameters
    for name, annotation in MonitorOptions.__annotations__.items():
        assert constructor[name].default is None, name
        assert written(constructor[name].annotation) == written(annotation), name
    both = {**MonitorOptions.__annotations__, **ProbeOptions.__annotations__}
    assert {k: written(v) for k, v in FanOutOptions.__annotations__.items()} == {k: written(v) for k, v in both.items()}


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.add_probe(source_arn=SUBNET_A, destination="10.0.0.1", protocol=ProbeProtocol.ICMP, port=1),
        lambda m: m.add_probes(sources=[SUBNET_A], destinations=["10.0.0.1"], protocol=ProbeProtocol.ICMP, port=1),
        lambda m: cast(Any, NetworkMonitor).fan_out(
            m, "Fan", sources=[SUBNET_A], destinations=["10.0.0.1"], protocol=ProbeProtocol.ICMP, port=1
        ),
    ],
    ids=["add_probe", "add_probes", "fan_out"],
)
def test_a_misspelt_probe_keyword_is_a_type_error_naming_the_allowed_ones(call: Callable[[Any], Any]) -> None:
    monitor = NetworkMonitor(new_stack(), "Monitor", monitor_name="m")
    with pytest.raises(TypeError, match=r"got unexpected keyword arguments 'port'; allowed: .*destination_port"):
        call(monitor)


def test_add_probes_without_a_protocol_is_reported_with_the_rest() -> None:
    monitor = NetworkMonitor(new_stack(), "Monitor", monitor_name="m")
    assert monitor.add_probes(sources=[SUBNET_A], destinations=["10.0.0.1"]) == []  # type: ignore[call-arg]
    assert [str(e) for e in monitor.node.validate()] == [
        "add_probes: protocol is missing; pass ProbeProtocol.TCP or .ICMP"
    ]
