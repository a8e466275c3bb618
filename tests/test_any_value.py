"""Property: whatever a user passes, of whatever type, to any prop or option of the construct, the
outcome is a synthesized template or aws-cdk-lib's validation report (`ValidationFailedWithErrors`,
which it raises across jsii as a RuntimeError listing every `[path] problem`), never another error.

Each example builds one app: a monitor with arbitrary props and probes, then add_probe, add_probes,
fan_out, add_probe_alarms, add_aggregate_alarms, the metric helpers and dashboard_widgets, each with
arbitrary values; then synthesizes it. jsii makes each example cost about a second, so the number of
examples is bounded; the values are drawn from a pool of every kind (tokens of each sort, huge and
non-finite numbers, wrong enum members, jsii and plain objects).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import jsii
import pytest
from aws_cdk import App, Aws, CfnParameter, Duration, Fn, IStableStringProducer, Lazy, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_netmon import MonitorProbe, NetworkMonitor, ProbeProtocol
from tests.support import SUBNET_A, SUBNET_B, synth_report

pytestmark = pytest.mark.slow

Factory = Callable[[Stack], Any]
_ids = itertools.count()


def _parameter(kind: str = "String") -> Factory:
    def make(stack: Stack) -> Any:
        parameter = CfnParameter(stack, f"P{next(_ids)}", type=kind)
        if kind == "Number":
            return parameter.value_as_number
        if kind == "CommaDelimitedList":
            return parameter.value_as_list
        return parameter.value_as_string

    return make


def _subnet(stack: Stack) -> ec2.ISubnet:
    return ec2.Subnet.from_subnet_id(stack, f"S{next(_ids)}", "subnet-0a1b2c3d4e5f60001")


def _subnet_of_a_token(stack: Stack) -> ec2.ISubnet:
    return ec2.Subnet.from_subnet_attributes(stack, f"S{next(_ids)}", subnet_id=_parameter()(stack))


def _selection(stack: Stack) -> ec2.SelectedSubnets:
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        f"V{next(_ids)}",
        vpc_id="vpc-0a1b2c3d",
        availability_zones=["eu-west-1a"],
        private_subnet_ids=["subnet-1"],
    )
    return vpc.select_subnets()


def _probe(stack: Stack) -> MonitorProbe:
    return MonitorProbe(source_arn=SUBNET_B, destination="10.9.0.1", protocol=ProbeProtocol.ICMP)


@jsii.implements(IStableStringProducer)
class _Produced:
    def __init__(self, value: str) -> None:
        self._value = value

    def produce(self) -> str:
        return self._value


def plain(value: Any) -> Factory:
    return lambda _: value


VALUES: list[Factory] = [
    # None, booleans, numbers (whole, huge, fractional, non-finite)
    plain(None),
    plain(True),
    plain(False),
    plain(0),
    plain(1),
    plain(-1),
    plain(30),
    plain(443),
    plain(65536),
    plain(2**70),
    plain(10**400),
    plain(0.5),
    plain(60.0),
    plain(float("nan")),
    plain(float("inf")),
    plain(-float("inf")),
    plain(1e308),
    # strings: valid for some prop, invalid for others, the service's patterns, tokens of each kind
    plain(""),
    plain("a"),
    plain("dc1-https"),
    plain("10.0.0.1"),
    plain("2001:db8::1"),
    plain(SUBNET_A),
    plain(SUBNET_A + "\n"),
    plain("bad name"),
    plain("x" * 300),
    plain("aws:owner"),
    plain("cdk-netmon:stack-id"),
    plain("ICMP"),
    plain("\u0661\u0662"),
    _parameter(),
    _parameter("Number"),
    lambda stack: _parameter("CommaDelimitedList")(stack)[0],
    lambda stack: Fn.select(0, _parameter("CommaDelimitedList")(stack)),
    plain(Aws.REGION),
    lambda stack: Token.as_string(_parameter("Number")(stack)),
    lambda _: Lazy.string(_Produced("10.0.0.1")),
    # lists and dicts
    plain([]),
    plain([1, 2]),
    plain(["10.0.0.1", "10.0.0.2"]),
    plain([SUBNET_A, SUBNET_B]),
    _parameter("CommaDelimitedList"),
    lambda stack: [_probe(stack)],
    plain({}),
    plain({"team": "network"}),
    plain({"k": 1}),
    plain({1: "v"}),
    lambda stack: {_parameter()(stack): "v"},
    lambda stack: {"k": _parameter()(stack)},
    # Durations: allowed, refused, fractional, deploy-time, beyond any number
    lambda _: Duration.seconds(30),
    lambda _: Duration.minutes(1),
    lambda _: Duration.seconds(29),
    lambda _: Duration.millis(30500),
    lambda _: Duration.seconds(0),
    lambda _: Duration.days(400),
    lambda _: Duration.seconds(10**400),
    lambda stack: Duration.seconds(_parameter("Number")(stack)),
    lambda stack: Duration.minutes(_parameter("Number")(stack)),
    # enum members, right and wrong
    plain(ProbeProtocol.TCP),
    plain(ProbeProtocol.ICMP),
    plain(RemovalPolicy.RETAIN),
    plain(RemovalPolicy.SNAPSHOT),
    plain(cloudwatch.TreatMissingData.BREACHING),
    plain(cloudwatch.Unit.COUNT),
    plain(ec2.SubnetType.PUBLIC),
    # objects: jsii and plain
    plain(object()),
    _subnet,
    _subnet_of_a_token,
    _selection,
    _probe,
    lambda stack: stack,
]

VALUE = st.sampled_from(range(len(VALUES)))


def options(*names: str, required: tuple[str, ...] = ()) -> st.SearchStrategy[dict[str, int]]:
    """Any of these keywords (always the `required` ones, which the signature requires), each an
    index into VALUES."""
    return st.fixed_dictionaries(
        dict.fromkeys(required, VALUE), optional=dict.fromkeys(set(names) - set(required), VALUE)
    )


PROBE_FIELDS = (
    "destination",
    "protocol",
    "source_arn",
    "source",
    "destination_port",
    "packet_size",
    "probe_tags",
    "name",
    "enabled",
)
PROBE_OPTIONS = ("protocol", "destination_port", "packet_size", "probe_tags", "enabled")
METRIC_OPTIONS = ("period", "statistic", "label", "color", "unit", "account", "region")

CALLS = st.fixed_dictionaries(
    {
        "monitor": options("monitor_name", "probes", "aggregation_period", "tags", "removal_policy"),
        "probe": options(*PROBE_FIELDS, required=("destination", "protocol")),
        "add_probe": options(*PROBE_FIELDS, required=("destination", "protocol")),
        "add_probes": options("sources", "destinations", *PROBE_OPTIONS),
        "fan_out": options("sources", "destinations", "aggregation_period", "tags", "removal_policy", *PROBE_OPTIONS),
        "add_probe_alarms": options(
            "id",
            "packet_loss_percent",
            "rtt_threshold",
            "health_indicator",
            "evaluation_periods",
            "datapoints_to_alarm",
            "period",
            "treat_missing_data",
            "alarm_name_prefix",
        ),
        "add_aggregate_alarms": options("id", "alarm_name_prefix"),
        "metric": options("metric_name", "probe", "probe_id", *METRIC_OPTIONS),
        "metric_rtt": options("probe", "probe_id", *METRIC_OPTIONS),
        "dashboard_widgets": options("title", "period", "width", "height"),
    }
)


def build(stack: Stack, calls: dict[str, dict[str, int]]) -> None:
    """Every call of the construct's surface, each with its drawn keywords."""

    def given_values(name: str) -> dict[str, Any]:
        return {key: VALUES[index](stack) for key, index in calls[name].items()}

    props = given_values("monitor")
    probes = props.get("probes")
    if isinstance(probes, list):  # and one MonitorProbe of arbitrary fields among them
        props["probes"] = [*probes, MonitorProbe(**given_values("probe"))]
    monitor = NetworkMonitor(stack, "Monitor", **props)
    monitor.add_probe(**given_values("add_probe"))
    monitor.add_probes(**{"sources": [SUBNET_A], "destinations": ["10.0.0.7"], **given_values("add_probes")})
    NetworkMonitor.fan_out(
        stack, "Mesh", **{"sources": [SUBNET_B], "destinations": ["10.0.0.8"], **given_values("fan_out")}
    )
    monitor.add_probe_alarms(**given_values("add_probe_alarms"))
    monitor.add_aggregate_alarms(**given_values("add_aggregate_alarms"))
    monitor.metric(**{"metric_name": "RTT", **given_values("metric")})
    monitor.metric_rtt(**given_values("metric_rtt"))
    monitor.dashboard_widgets(**given_values("dashboard_widgets"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=CALLS)
def test_any_value_of_any_prop_or_option_ends_in_a_template_or_a_validation_report(
    calls: dict[str, dict[str, int]],
) -> None:
    stack = Stack(App(), "Stack")
    build(stack, calls)
    report = synth_report(stack)  # raises anything that is not the validation report
    assert all(line.startswith("[Stack/") for line in report), report
