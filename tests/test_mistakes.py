"""Mistakes a new user made on a two-stack app of their own, each with the report line it must get
at synth: the construct's path, the prop, the bad value and what is allowed, never a raw Python or
jsii error, and never one at deploy."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from aws_cdk import App, CfnParameter, Duration, Environment, RemovalPolicy, Stack, Token

from cdk_netmon import MonitorProbe, NetworkMonitor, ProbeProtocol
from tests.support import isolated_vpc

HUB = Environment(account="111122223333", region="eu-central-1")
HERE = "arn:aws:ec2:eu-central-1:111122223333:subnet/subnet-0a1b2c3d4e5f60001"


def hub(app: App | None = None) -> Stack:
    return Stack(app or App(), "Hub", env=HUB)


def icmp(**fields: object) -> MonitorProbe:
    return MonitorProbe(**{"source_arn": HERE, "destination": "10.0.0.1", "protocol": ProbeProtocol.ICMP, **fields})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Mistake:
    case: str
    build: Callable[[], NetworkMonitor]
    problems: list[str]


def another_region_source() -> NetworkMonitor:
    return NetworkMonitor(hub(), "Dc", probes=[icmp(source_arn=HERE.replace("eu-central-1", "us-east-1"))])


def another_account_source() -> NetworkMonitor:
    return NetworkMonitor(hub(), "Dc", probes=[icmp(source_arn=HERE.replace("111122223333", "999988887777"))])


def a_subnet_of_a_stack_elsewhere() -> NetworkMonitor:
    app = App()
    branch = Stack(app, "Branch", env=Environment(account="111122223333", region="us-east-1"))
    subnet = isolated_vpc(branch, azs=1).isolated_subnets[0]
    return NetworkMonitor(hub(app), "Dc", probes=[icmp(source_arn=None, source=subnet)])


def a_name_twice_in_one_stack() -> NetworkMonitor:
    stack = hub()
    NetworkMonitor(stack, "First", monitor_name="dc1")
    return NetworkMonitor(stack, "Second", monitor_name="dc1")


def a_name_twice_in_two_stacks_of_one_environment() -> NetworkMonitor:
    app = App()
    NetworkMonitor(hub(app), "Dc", monitor_name="dc1")
    return NetworkMonitor(Stack(app, "Spoke", env=HUB), "Dc", monitor_name="dc1")


def a_name_twice_in_two_regions() -> NetworkMonitor:
    app = App()
    NetworkMonitor(hub(app), "Dc", monitor_name="dc1")
    west = Stack(app, "West", env=Environment(account="111122223333", region="eu-west-1"))
    return NetworkMonitor(west, "Dc", monitor_name="dc1")


def an_icmp_probe_with_a_token_port() -> NetworkMonitor:
    stack = hub()
    port = CfnParameter(stack, "Port", type="Number").value_as_number
    return NetworkMonitor(stack, "Dc", probes=[icmp(destination_port=port)])


def a_string_token_as_port() -> NetworkMonitor:
    stack = hub()
    port = CfnParameter(stack, "Port").value_as_string
    return NetworkMonitor(stack, "Dc", probes=[icmp(protocol=ProbeProtocol.TCP, destination_port=port)])


def a_period(period: Callable[[Stack], Duration]) -> Callable[[], NetworkMonitor]:
    def build() -> NetworkMonitor:
        stack = hub()
        return NetworkMonitor(stack, "Dc", aggregation_period=period(stack))

    return build


def a_port(port: float) -> Callable[[], NetworkMonitor]:
    return lambda: NetworkMonitor(hub(), "Dc", probes=[icmp(protocol=ProbeProtocol.TCP, destination_port=port)])


def a_packet_size(size: float) -> Callable[[], NetworkMonitor]:
    return lambda: NetworkMonitor(hub(), "Dc", probes=[icmp(packet_size=size)])


def alarms(**options: object) -> Callable[[], NetworkMonitor]:
    def build() -> NetworkMonitor:
        monitor = NetworkMonitor(hub(), "Dc", probes=[icmp()])
        monitor.add_probe_alarms(**options)  # type: ignore[arg-type]
        return monitor

    return build


def alarms_twice() -> NetworkMonitor:
    monitor = NetworkMonitor(hub(), "Dc", probes=[icmp()])
    monitor.add_probe_alarms()
    monitor.add_probe_alarms()
    return monitor


def a_metric_period_in_seconds() -> NetworkMonitor:
    monitor = NetworkMonitor(hub(), "Dc", probes=[icmp()])
    monitor.metric_rtt(monitor.probes[0], period=60)  # type: ignore[arg-type]
    return monitor


def a_fan_out_with_a_string_protocol() -> NetworkMonitor:
    monitor = NetworkMonitor(hub(), "Dc")
    sources = [HERE, HERE.replace("60001", "60002")]
    monitor.add_probes(sources=sources, destinations=["10.0.0.1", "10.0.0.2"], protocol="ICMP")  # type: ignore[arg-type]
    return monitor


MISTAKES = [
    Mistake(
        "a source ARN in another region",
        another_region_source,
        [
            f"probes[0].source_arn {HERE.replace('eu-central-1', 'us-east-1')!r} is in region us-east-1; allowed: a "
            "subnet of the stack's own account and region (111122223333, eu-central-1)"
        ],
    ),
    Mistake(
        "a source ARN in another account",
        another_account_source,
        [
            f"probes[0].source_arn {HERE.replace('111122223333', '999988887777')!r} is in account 999988887777; "
            "allowed: a subnet of the stack's own account and region (111122223333, eu-central-1)"
        ],
    ),
    Mistake(
        "an ec2.ISubnet of a stack in another region",
        a_subnet_of_a_stack_elsewhere,
        [
            "probes[0].source 'Branch/Vpc/PSubnet1' is a subnet of stack Branch in region us-east-1; allowed: a "
            "subnet of this stack's own account and region (the service takes no cross-account or cross-region "
            "source)"
        ],
    ),
    Mistake(
        "a monitor name twice in one stack",
        a_name_twice_in_one_stack,
        [
            "monitor_name 'dc1' is also the name of Hub/First in the same account and region; "
            "allowed: a name used once per account and region"
        ],
    ),
    Mistake(
        "a monitor name twice in two stacks of one account and region",
        a_name_twice_in_two_stacks_of_one_environment,
        [
            "monitor_name 'dc1' is also the name of Hub/Dc in the same account and region; "
            "allowed: a name used once per account and region"
        ],
    ),
    Mistake("a monitor name twice in two regions is fine", a_name_twice_in_two_regions, []),
    Mistake(
        "an ICMP probe with a token port",
        an_icmp_probe_with_a_token_port,
        ["probes[0].destination_port is set (a deploy-time value) on an ICMP probe; allowed: no port"],
    ),
    Mistake(
        "a string token as a port",
        a_string_token_as_port,
        [
            "probes[0].destination_port is a deploy-time string; pass a number: a CfnParameter of type Number "
            "(.value_as_number), or Token.as_number(...)"
        ],
    ),
    Mistake(
        "a fraction of a second",
        a_period(lambda _: Duration.seconds(30.5)),
        [
            "aggregation_period 30.5 seconds is not a whole number of seconds; "
            "allowed: Duration.seconds(30) or Duration.seconds(60)"
        ],
    ),
    Mistake(
        "milliseconds that are no whole second",
        a_period(lambda _: Duration.millis(30500)),
        [
            "aggregation_period 30.5 seconds is not a whole number of seconds; "
            "allowed: Duration.seconds(30) or Duration.seconds(60)"
        ],
    ),
    Mistake(
        "a deploy-time number of minutes",
        a_period(lambda stack: Duration.minutes(CfnParameter(stack, "Minutes", type="Number").value_as_number)),
        [
            "aggregation_period is a deploy-time amount in a unit other than seconds, which cannot be converted "
            "at synth; pass Duration.seconds(<the value in seconds>)"
        ],
    ),
    Mistake(
        "a deploy-time number of seconds is fine",
        a_period(lambda s: Duration.seconds(Token.as_number(CfnParameter(s, "S", type="Number").value_as_number))),
        [],
    ),
    Mistake(
        "a NaN port",
        a_port(math.nan),
        ["probes[0].destination_port nan is not a whole number; pass an int such as 443"],
    ),
    Mistake(
        "an infinite packet size",
        a_packet_size(math.inf),
        ["probes[0].packet_size inf is not a whole number; pass an int such as 56"],
    ),
    Mistake(
        "an RTT threshold as a number",
        alarms(rtt_threshold=50),
        ["add_probe_alarms: rtt_threshold 50 is an int, not a Duration; pass Duration.millis(50)"],
    ),
    Mistake(
        "a packet-loss percentage as a string",
        alarms(packet_loss_percent="5"),
        ["add_probe_alarms: packet_loss_percent '5' is a str, not a number; pass a percentage such as 5"],
    ),
    Mistake("no packet-loss percentage (None: the default)", alarms(packet_loss_percent=None), []),
    Mistake(
        "a packet-loss percentage above 100",
        alarms(packet_loss_percent=150),
        ["add_probe_alarms: packet_loss_percent 150 is out of range; allowed: above 0, at most 100"],
    ),
    Mistake(
        "no evaluation period",
        alarms(evaluation_periods=0),
        ["add_probe_alarms: evaluation_periods 0 is not a whole number of at least 1; pass such as 3"],
    ),
    Mistake(
        "more datapoints than periods",
        alarms(evaluation_periods=2, datapoints_to_alarm=3),
        [
            "add_probe_alarms: datapoints_to_alarm 3 is more than evaluation_periods 2; "
            "allowed: at most evaluation_periods"
        ],
    ),
    Mistake("no health indicator choice (None: the default)", alarms(health_indicator=None), []),
    Mistake(
        "probe alarms asked for twice",
        alarms_twice,
        ["add_probe_alarms was called a second time with id None; pass a distinct id=... for another set of alarms"],
    ),
    Mistake(
        "a metric period in seconds",
        a_metric_period_in_seconds,
        ["metric(RTT): period 60 is an int; pass a Duration, such as Duration.minutes(1)"],
    ),
    Mistake(
        "a fan-out with a string protocol says so once",
        a_fan_out_with_a_string_protocol,
        [
            "add_probes: protocol 'ICMP' is a str, not a ProbeProtocol; pass ProbeProtocol.ICMP",
        ],
    ),
]


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.case for m in MISTAKES])
def test_mistake(mistake: Mistake) -> None:
    assert list(mistake.build().node.validate()) == mistake.problems


def test_every_problem_of_a_probe_is_reported_at_once() -> None:
    """A wrong type no longer hides the probe's other problems."""
    monitor = NetworkMonitor(
        hub(), "Dc", probes=[icmp(protocol="TCP", destination="host.example.com", destination_port=0)]
    )
    assert list(monitor.node.validate()) == [
        "probes[0].protocol 'TCP' is a str, not a ProbeProtocol; pass ProbeProtocol.TCP",
        "probes[0].destination 'host.example.com' is not an IP address; allowed: an IPv4 or IPv6 address",
        "probes[0].destination_port 0 is out of range; allowed: 1 to 65535",
    ]


def test_enabled_none_is_not_set_and_a_removal_policy_string_is_named_as_such() -> None:
    monitor = NetworkMonitor(hub(), "Dc", probes=[icmp(enabled=None)])
    assert list(monitor.node.validate()) == []
    with pytest.raises(TypeError, match=r"^Hub/Dc: removal_policy 'retain' is a str, not a RemovalPolicy"):
        monitor.apply_removal_policy("retain")  # type: ignore[arg-type]
    monitor.apply_removal_policy(RemovalPolicy.RETAIN)


def test_a_metric_of_an_imported_monitor_with_a_bad_option_raises_naming_it() -> None:
    imported = NetworkMonitor.from_monitor_name(hub(), "Imported", "dc1")
    with pytest.raises(TypeError, match=r"^Hub/Imported: metric\(RTT\): period 60 is an int"):
        imported.metric_rtt(probe_id="probe-0", period=60)  # type: ignore[arg-type]
