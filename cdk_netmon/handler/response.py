"""The response to CloudFormation: the attributes `Fn::GetAtt` reads, and the bytes they may take."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from . import rules

RESPONSE_LIMIT_BYTES = 4096
"""CloudFormation refuses a custom resource response body larger than this, Data included, and the
request's real outcome is lost with it."""
MONITOR_ARN_ATTRIBUTE = "MonitorArn"
MONITOR_NAME_ATTRIBUTE = "MonitorName"
PROBE_ID_ATTRIBUTE = "ProbeId.{key}"
"""The attributes `Fn::GetAtt` reads. They stay as named: a deployed stack's Data changes only on an
Update, so a renamed attribute would break the references of every stack until then."""

PROBE_ID_MAX_LENGTH = len("probe-") + 64
"""botocore's model: a probe id matches `probe-[a-z0-9A-Z-]{21,64}`."""
STACK_NAME_MAX_LENGTH = 128
LOGICAL_ID_MAX_LENGTH = 255
REQUEST_ID_LENGTH = 36
"""CloudFormation's bounds: stack names up to 128 characters, logical ids up to 255; request ids and
the tail of a stack id are UUIDs."""
ACCOUNT_LENGTH = 12
PARTITION_MAX_LENGTH = 16
REGION_MAX_LENGTH = 24
"""Room for a partition or region that is a token at synth: botocore 1.44's longest partition is
`aws-us-gov` (10) and its longest region name `aws-us-gov-global` (17, a pseudo-region)."""


def response_data(monitor_arn: str, monitor_name: str, probe_ids: Mapping[str, str]) -> dict[str, str]:
    """The attributes for Fn::GetAtt: the ARN, the name, and `ProbeId.<key>` for each declared probe."""
    data = {MONITOR_ARN_ATTRIBUTE: monitor_arn, MONITOR_NAME_ATTRIBUTE: monitor_name}
    for key, probe_id in probe_ids.items():
        data[PROBE_ID_ATTRIBUTE.format(key=key)] = probe_id
    return data


def response_size(*, stack_id: str, request_id: str, logical_id: str, physical_id: str, data: Mapping[str, str]) -> int:
    """The bytes of the body the Provider framework sends CloudFormation on success: aws-cdk-lib's
    custom-resources/lib/provider-framework/runtime/cfn-response.js (`submitResponse`) writes
    `JSON.stringify` of Status, Reason, StackId, RequestId, PhysicalResourceId, LogicalResourceId,
    NoEcho (left out while undefined, as the handler never sets it) and Data, and counts UTF-8 bytes."""
    body = {
        "Status": "SUCCESS",
        "Reason": "SUCCESS",
        "StackId": stack_id,
        "RequestId": request_id,
        "PhysicalResourceId": physical_id,
        "LogicalResourceId": logical_id,
        "Data": dict(data),
    }
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())


@dataclass(frozen=True)
class ResponseBound:
    """What is known at synth of a monitor's response; None for what is not (a token), which then
    takes the longest it can be."""

    stack_name: str | None
    logical_id: str | None
    monitor_name: str | None
    partition: str | None = None
    region: str | None = None
    account: str | None = None

    def largest(self, probe_keys: Iterable[str]) -> int:
        """The most bytes the response can take with probes of these keys, whatever ids the service gives."""
        partition = self.partition or "p" * PARTITION_MAX_LENGTH
        region = self.region or "r" * REGION_MAX_LENGTH
        account = self.account or "0" * ACCOUNT_LENGTH
        stack_name = self.stack_name or "s" * STACK_NAME_MAX_LENGTH
        name = self.monitor_name or "m" * rules.MONITOR_NAME_MAX_LENGTH
        return response_size(
            stack_id=f"arn:{partition}:cloudformation:{region}:{account}:stack/{stack_name}/{'u' * 36}",
            request_id="q" * REQUEST_ID_LENGTH,
            logical_id=self.logical_id or "L" * LOGICAL_ID_MAX_LENGTH,
            physical_id=name,
            data=response_data(
                f"arn:{partition}:networkmonitor:{region}:{account}:monitor/{name}",
                name,
                dict.fromkeys(probe_keys, "p" * PROBE_ID_MAX_LENGTH),
            ),
        )

    def problem(self, probe_keys: Sequence[str]) -> str | None:
        """Why the monitor cannot be deployed with these probes: its response could be too long."""
        size = self.largest(probe_keys)
        if size <= RESPONSE_LIMIT_BYTES:
            return None
        fit = self.fitting(probe_keys)
        return (
            f"probes: the response to CloudFormation could reach {size:,} bytes, over its limit of "
            f"{RESPONSE_LIMIT_BYTES:,} (a ProbeId.<key> attribute per probe, with ids of up to {PROBE_ID_MAX_LENGTH} "
            f"characters); {fit} of these {len(probe_keys)} probes fit: give the probes shorter names (or the "
            "monitor a shorter monitor_name), or spread them over several monitors with NetworkMonitor.fan_out"
        )

    def fitting(self, probe_keys: Sequence[str]) -> int:
        """How many of the probes, in order, fit in the response."""
        fit = 0
        while fit < len(probe_keys) and self.largest(probe_keys[: fit + 1]) <= RESPONSE_LIMIT_BYTES:
            fit += 1
        return fit
