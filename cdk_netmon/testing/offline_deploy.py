"""Deploy a synthesized stack's monitors to a local emulator, watch them converge, then destroy them.

    python -m cdk_netmon.testing.offline_deploy cdk.out/NetmonHybridConnectivity.template.json

The handler that ships runs unmodified, against the emulator over HTTP; CloudFormation and the
Provider framework are played by `StackDriver`. Time is virtual: PENDING minutes pass instantly,
and the progress lines show the virtual time since the deploy began.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from cdk_netmon.handler import service
from cdk_netmon.handler.lifecycle import Handler

from .cloudformation import StackDriver, placeholder_ids
from .emulator import LocalNetworkMonitor

DEFAULT_TEMPLATE = Path("cdk.out/NetmonHybridConnectivity.template.json")


@contextmanager
def handler_pointed_at(emulator: LocalNetworkMonitor) -> Iterator[Handler]:
    """The shipped handler, with its own retry budget, on an SDK client that reaches the emulator;
    the SDK's backoff passes on the emulator's virtual clock."""
    client = service.new_client(**emulator.client_options())
    with emulator.virtual_sdk_sleep():
        yield Handler(client)


class Progress:
    """Prints a line whenever a request moves on or a monitor's or probe's state changes."""

    def __init__(self, emulator: LocalNetworkMonitor, out: TextIO) -> None:
        self.emulator, self.out = emulator, out
        self.start = emulator.clock.now()
        self.last = ""

    def __call__(self, logical_id: str, request_type: str, stage: str) -> None:
        states = self.states()
        if stage == "waiting" and states == self.last:
            return
        self.last = states
        elapsed = self.emulator.clock.now() - self.start
        self.out.write(f"[t+{elapsed:5.0f}s] {request_type:<6} {logical_id:<28} {stage:<8} {states}\n")

    def states(self) -> str:
        monitors = self.emulator.snapshot()
        if not monitors:
            return "(no monitors)"
        return "; ".join(
            f"{name} {m['state']}" + (f", probes {_count(m['probes'])}" if m["probes"] else "")
            for name, m in sorted(monitors.items())
        )


def _count(probes: list[Mapping[str, Any]]) -> str:
    counts = Counter(p["state"] for p in probes)
    return " ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def describe(emulator: LocalNetworkMonitor) -> str:
    lines = []
    for name, monitor in sorted(emulator.snapshot().items()):
        tags = ", ".join(f"{k}={v}" for k, v in sorted(monitor["tags"].items())) or "no tags"
        lines.append(f"  {name}: {monitor['state']}, aggregation {monitor['aggregationPeriod']} s, {tags}")
        for probe in monitor["probes"]:
            port = f":{probe['destinationPort']}" if "destinationPort" in probe else ""
            subnet = probe["sourceArn"].rsplit("/", 1)[-1]
            lines.append(
                f"    {probe['probeId']} {probe['state']:<8} {probe['protocol']:<4} "
                f"{subnet} -> {probe['destination']}{port} ({probe['packetSize']} bytes)"
            )
    return "\n".join(lines) or "  (nothing)"


def run(template_path: Path, out: TextIO, pending_seconds: float = 60.0) -> int:
    template = json.loads(template_path.read_text())
    stack_name = template_path.name.split(".")[0]
    with LocalNetworkMonitor(pending_seconds=pending_seconds) as emulator, handler_pointed_at(emulator) as handler:
        progress = Progress(emulator, out)
        driver = StackDriver(
            on_event=handler.on_event,
            is_complete=handler.is_complete,
            grant=emulator.use_policy,
            clock=emulator.clock,
            refs=placeholder_ids(template),
            stack_name=stack_name,
            observe=progress,
        )
        out.write(f"Deploying {stack_name} to a local Network Monitor emulator at {emulator.endpoint_url}\n")
        driver.deploy(template)
        out.write(f"Deployed:\n{describe(emulator)}\n")
        for logical_id, resource in driver.resources.items():
            out.write(f"  {logical_id} returned {json.dumps(resource.data, sort_keys=True)}\n")
        out.write(f"Destroying {stack_name}\n")
        driver.destroy()
        remaining = emulator.snapshot()
        out.write(f"Destroyed: the emulator holds {len(remaining)} monitors.\n")
        return 0 if not remaining else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "template",
        nargs="?",
        type=Path,
        default=DEFAULT_TEMPLATE,
        help=f"a synthesized template (default: {DEFAULT_TEMPLATE}, from `make synth`)",
    )
    parser.add_argument(
        "--pending-seconds",
        type=float,
        default=60.0,
        help="how long the emulated service keeps things PENDING (virtual seconds)",
    )
    args = parser.parse_args(argv)
    if not args.template.exists():
        parser.error(f"{args.template} does not exist: run `make synth` first")
    return run(args.template, sys.stdout, args.pending_seconds)


if __name__ == "__main__":
    sys.exit(main())
