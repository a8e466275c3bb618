"""The handler's writes go through the typed client contract: mypy refuses a write whose arguments do
not match `NetworkMonitorClient`, and the contract is botocore's.

mypy runs on a copy of the package as Lambda imports it (`handler`, with the shipped `clients.py` and
`writes.py`), beside variants of `writes.py` that each break one call, and planned writes that break
the contract: each variant must be an error, the shipped modules none.
"""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import mypy.api
import pytest
from botocore.model import Shape, StructureShape
from botocore.stub import Stubber

from cdk_netmon.handler import writes
from cdk_netmon.handler.clients import NetworkMonitorClient, ProbeChanges

HANDLER = Path(writes.__file__).parent
WRITES = (HANDLER / "writes.py").read_text()

BROKEN_CALLS = [
    (
        "UpdateMonitor sends the period as a string",
        "aggregationPeriod=self.aggregation_period)",
        "aggregationPeriod=str(self.aggregation_period))",
        'Argument "aggregationPeriod" to "update_monitor" of "NetworkMonitorClient" has incompatible type "str"',
    ),
    (
        "DeleteProbe names the probe in Python's words",
        "client.delete_probe(monitorName=self.monitor_name, probeId=self.probe_id)",
        "client.delete_probe(monitorName=self.monitor_name, probe_id=self.probe_id)",
        'Unexpected keyword argument "probe_id" for "delete_probe" of "NetworkMonitorClient"',
    ),
    (
        "CreateMonitor leaves out its client token",
        "            clientToken=self.client_token,\n",
        "",
        'Missing named argument "clientToken" for "create_monitor" of "NetworkMonitorClient"',
    ),
    (
        "UntagResource calls an operation the client does not have",
        "client.untag_resource(",
        "client.remove_tags(",
        '"NetworkMonitorClient" has no attribute "remove_tags"',
    ),
]

BROKEN_PLANS = [
    (
        "an UpdateProbe of a field the API does not update",
        'UpdateProbe("m", "probe-1", {"sourceArn": "subnet-1"})',
        'Extra key "sourceArn" for TypedDict "ProbeChanges"',
    ),
    (
        "an UpdateProbe of a port written as text",
        'UpdateProbe("m", "probe-1", {"destinationPort": "8443"})',
        'Incompatible types (expression has type "str", TypedDict item "destinationPort" has type "int")',
    ),
    (
        "a TagResource of keys where tags belong",
        'TagResource("arn:aws:networkmonitor:eu-west-1:123456789012:monitor/m", ["team"])',
        'Argument 2 to "TagResource" has incompatible type "list[str]"; expected "Mapping[str, str]"',
    ),
]


def test_mypy_refuses_every_write_that_breaks_the_client_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "handler"
    package.mkdir()
    for name in ("__init__.py", "clients.py", "writes.py"):
        shutil.copy(HANDLER / name, package / name)
    expected = {}
    for index, (case, shipped, broken, message) in enumerate(BROKEN_CALLS):
        assert WRITES.count(shipped) == 1, f"{case}: the shipped call to break is not in writes.py once"
        (package / f"broken_call_{index}.py").write_text(WRITES.replace(shipped, broken))
        expected[f"broken_call_{index}.py"] = (case, message)
    for index, (case, planned, message) in enumerate(BROKEN_PLANS):
        body = f"from .writes import TagResource, UpdateProbe, Write\n\nPLANNED: Write = {planned}\n"
        (package / f"broken_plan_{index}.py").write_text(body)
        expected[f"broken_plan_{index}.py"] = (case, message)

    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "mypy-cache"
    report, errors, _ = mypy.api.run(["--strict", "--config-file", "", "--cache-dir", str(cache), "-p", "handler"])
    assert not errors
    found: dict[str, str] = {}
    for line in report.splitlines():
        if ": error: " in line:
            path = Path(line.split(":", 1)[0]).name
            found[path] = found.get(path, "") + line
    assert not {"clients.py", "writes.py"} & set(found), report  # what ships checks clean
    for module, (case, message) in expected.items():
        assert message in found.get(module, ""), f"{case}: mypy did not refuse it\n{report}"


def test_the_client_contract_is_botocores() -> None:
    """Every keyword a write may send is a member of the operation's input in botocore's model, and
    every required member is a keyword it must send."""
    model = botocore.session.get_session().get_service_model("networkmonitor")
    for name in ("create_monitor", "update_monitor", "delete_monitor", "create_probe", "delete_probe"):
        operation = model.operation_model("".join(part.capitalize() for part in name.split("_")))
        parameters = inspect.signature(getattr(NetworkMonitorClient, name)).parameters
        keywords = {k for k, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
        required = {k for k in keywords if parameters[k].default is inspect.Parameter.empty}
        assert keywords <= set(operation.input_shape.members), name
        assert set(operation.input_shape.required_members) <= required, name
    update_probe = model.operation_model("UpdateProbe").input_shape
    assert set(ProbeChanges.__annotations__) == set(update_probe.members) - {"monitorName", "probeId"}


ARN = "arn:aws:networkmonitor:eu-west-1:123456789012"
PROBE = {
    "sourceArn": "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-1",
    "destination": "10.0.0.1",
    "protocol": "ICMP",
}
EVERY_WRITE: list[writes.Write] = [
    writes.CreateMonitor("m", 60, [PROBE], "token", {"team": "network"}),
    writes.UpdateMonitor("m", 30),
    writes.DeleteMonitor("m"),
    writes.CreateProbe("m", PROBE, "token"),
    writes.UpdateProbe("m", "probe-000000000000000000001", {"destinationPort": 8443, "state": "INACTIVE"}),
    writes.DeleteProbe("m", "probe-000000000000000000001"),
    writes.TagResource(f"{ARN}:monitor/m", {"team": "network"}),
    writes.UntagResource(f"{ARN}:monitor/m", ["team"]),
]


def test_each_write_sends_what_it_says_and_botocore_accepts_it() -> None:
    """`operation` and `params` (what the log and the plan's tests read) are the call `apply` makes;
    the Stubber checks it against botocore's model."""
    assert {type(write) for write in EVERY_WRITE} == set(writes.Write.__subclasses__())
    client = boto3.client("networkmonitor", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="s")
    with Stubber(client) as stubber:
        for write in EVERY_WRITE:
            output = client.meta.service_model.operation_model(type(write).__name__).output_shape
            stubber.add_response(write.operation, minimal(output), dict(write.params))
            write.apply(client)
        stubber.assert_no_pending_responses()


def minimal(shape: Shape | None) -> Any:
    """A value of the shape with its required members only, which the Stubber accepts as a response."""
    if shape is None:
        return {}
    if isinstance(shape, StructureShape):
        return {name: minimal(shape.members[name]) for name in shape.required_members}
    if shape.type_name == "string":
        return "x" * shape.metadata.get("min", 1)
    return {"long": 1, "integer": 1, "list": [], "map": {}}[shape.type_name]
