"""The handler's write calls, one small typed value per operation, each applied by calling its
`NetworkMonitorClient` method with typed arguments: mypy checks every write against the client's
contract (botocore's names), where a method name and a dict of parameters would pass unchecked.

The planner returns them, the service applies them, and `python -m cdk_netmon plan` names them by
their class, which is the API operation's name (`UpdateProbe`).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .clients import NetworkMonitorClient, ProbeChanges


class Write(abc.ABC):
    """One write call."""

    @abc.abstractmethod
    def apply(self, client: NetworkMonitorClient) -> None:
        """Make the call."""

    @property
    def operation(self) -> str:
        """boto3's name of the call (`update_probe`), as `apply` makes it."""
        return self._recorded()[0]

    @property
    def params(self) -> Mapping[str, Any]:
        """The call's keyword arguments in botocore's names, as `apply` sends them."""
        return self._recorded()[1]

    def _recorded(self) -> tuple[str, dict[str, Any]]:
        """What `apply` calls, recorded from `apply` itself: log lines and tests see exactly the
        arguments mypy checked, written once."""
        recorder = _Recorder()
        self.apply(recorder)
        [call] = recorder.calls
        return call


class _Recorder:
    """A client that keeps the calls made on it, and answers each with nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, operation: str) -> Callable[..., Mapping[str, Any]]:
        def record(**params: Any) -> Mapping[str, Any]:
            self.calls.append((operation, params))
            return {}

        return record


@dataclass(frozen=True)
class CreateMonitor(Write):
    monitor_name: str
    aggregation_period: int
    probes: Sequence[Mapping[str, Any]]
    """In CreateMonitor's shape (`ProbeSpec.to_api("probeTags")`)."""
    client_token: str
    tags: Mapping[str, str]

    def apply(self, client: NetworkMonitorClient) -> None:
        client.create_monitor(
            monitorName=self.monitor_name,
            aggregationPeriod=self.aggregation_period,
            probes=self.probes,
            clientToken=self.client_token,
            tags=self.tags,
        )


@dataclass(frozen=True)
class UpdateMonitor(Write):
    monitor_name: str
    aggregation_period: int

    def apply(self, client: NetworkMonitorClient) -> None:
        client.update_monitor(monitorName=self.monitor_name, aggregationPeriod=self.aggregation_period)


@dataclass(frozen=True)
class DeleteMonitor(Write):
    monitor_name: str

    def apply(self, client: NetworkMonitorClient) -> None:
        client.delete_monitor(monitorName=self.monitor_name)


@dataclass(frozen=True)
class CreateProbe(Write):
    monitor_name: str
    probe: Mapping[str, Any]
    """In CreateProbe's shape (`ProbeSpec.to_api("tags")`)."""
    client_token: str

    def apply(self, client: NetworkMonitorClient) -> None:
        client.create_probe(monitorName=self.monitor_name, probe=self.probe, clientToken=self.client_token)


@dataclass(frozen=True)
class UpdateProbe(Write):
    monitor_name: str
    probe_id: str
    changes: ProbeChanges

    def apply(self, client: NetworkMonitorClient) -> None:
        client.update_probe(monitorName=self.monitor_name, probeId=self.probe_id, **self.changes)


@dataclass(frozen=True)
class DeleteProbe(Write):
    monitor_name: str
    probe_id: str

    def apply(self, client: NetworkMonitorClient) -> None:
        client.delete_probe(monitorName=self.monitor_name, probeId=self.probe_id)


@dataclass(frozen=True)
class TagResource(Write):
    resource_arn: str
    tags: Mapping[str, str]

    def apply(self, client: NetworkMonitorClient) -> None:
        client.tag_resource(resourceArn=self.resource_arn, tags=self.tags)


@dataclass(frozen=True)
class UntagResource(Write):
    resource_arn: str
    tag_keys: Sequence[str]

    def apply(self, client: NetworkMonitorClient) -> None:
        client.untag_resource(resourceArn=self.resource_arn, tagKeys=self.tag_keys)


DELETES = (DeleteProbe, DeleteMonitor)
"""Writes that a resource already gone has done for them (ResourceNotFoundException)."""
