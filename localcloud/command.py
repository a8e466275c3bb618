"""`python -m localcloud` (`make deploy-local`): bootstrap, synthesize, deploy, watch, destroy."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .cloud import ACCOUNT, REGION, LocalCloud, LocalCloudError


def deploy_and_destroy(root: Path, stacks: Sequence[str], out: TextIO) -> int:
    """`make deploy-local`: bootstrap, synthesize, deploy (watching the monitors converge), destroy;
    every stack of cdk.json's app unless `stacks` names some."""
    started = time.monotonic()
    with LocalCloud(root, out=out) as cloud:
        out.write(f"ministack at {cloud.endpoint}, the Network Monitor emulator at {cloud.emulator_url}\n")
        out.write(f"cdk bootstrap aws://{ACCOUNT}/{REGION}\n")
        cloud.cdk("bootstrap", f"aws://{ACCOUNT}/{REGION}", timeout=300)
        assembly = cloud.synth(cloud.workdir / "cdk.out")
        named = " ".join(stacks) or "--all"
        out.write(f"cdk deploy {named}\n")
        cloud.deploy(assembly, stacks)
        for name, monitor in sorted(cloud.monitors().items()):
            out.write(f"  {name}: {monitor['state']}, aggregation {monitor['aggregationPeriod']} s\n")
            for probe in monitor["probes"]:
                port = f":{probe['destinationPort']}" if "destinationPort" in probe else ""
                subnet = probe["sourceArn"].rsplit("/", 1)[-1]
                out.write(
                    f"    {probe['probeId']} {probe['state']:<8} {probe['protocol']:<4} "
                    f"{subnet} -> {probe['destination']}{port}\n"
                )
        out.write(f"cdk destroy {named}\n")
        cloud.destroy(assembly, stacks)
        remaining, groups = cloud.monitors(), cloud.service_groups()
        out.write(
            f"Destroyed: the emulator holds {len(remaining)} monitors, ministack {len(groups)} security groups "
            f"of the service ({time.monotonic() - started:.0f} s).\n"
        )
        return 0 if not remaining and not groups else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--stack", action="append", default=[], metavar="NAME",
        help="a stack of cdk.json's app to deploy, with those it depends on (repeatable; default: every stack)",
    )  # fmt: skip
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the project with cdk.json (default: here)")
    args = parser.parse_args(argv)
    try:
        return deploy_and_destroy(args.root.resolve(), args.stack, sys.stdout)
    except (LocalCloudError, subprocess.TimeoutExpired) as error:
        print(f"local_cloud: {error}", file=sys.stderr)
        return 1
