"""Deploy synthesized stacks' monitors to a local emulator, as successive updates of one stack.

    python -m cdk_netmon.testing.offline_deploy v1.template.json v2.template.json
    python -m cdk_netmon.testing.offline_deploy cdk.out --stack Hub --keep --state hub.json
    python -m cdk_netmon.testing.offline_deploy cdk.out        # every stack of the app, in dependency order

Each template is deployed in turn as an update of one stack, with progress lines and the write
calls each step made; then the stack is destroyed, unless --keep. With --state FILE the emulator's
and the stack's state are read from FILE when it exists and written back at the end, so a change can
be deployed today and the next one tomorrow. The handler that ships runs unmodified, against the
emulator over HTTP; CloudFormation and the Provider framework are played by `StackDriver`. Time is
virtual: PENDING minutes pass instantly, and progress lines show the virtual time since the start.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from cdk_netmon.assembly import InputError, StackInput, name_value, read_app, read_input

from .cloudformation import DeployFailedError, StackDriver, UnsupportedTemplateError, placeholder_ids
from .emulator import DEFAULT_ACCOUNT, DEFAULT_REGION, LocalNetworkMonitor, SettlingWrites
from .iam import AccessPolicy
from .kit import Progress, describe, handler_for, handler_pointed_at, service_security_groups

DEFAULT_INPUT = Path("cdk.out")


def run(
    inputs: Sequence[StackInput],
    out: TextIO,
    *,
    account: str | None = None,
    region: str | None = None,
    parameters: Mapping[str, str] | None = None,
    keep: bool = False,
    state_file: Path | None = None,
    pending_seconds: float = 60.0,
    settling_writes: SettlingWrites = "accept",
    refs: Mapping[str, str] | None = None,
) -> int:
    """Deploy each input in turn as an update of one stack, then destroy it unless `keep`.
    `refs` gives values of references the template makes to what is not in it (`--ref`).

    A resumed stack (`state_file`) keeps the name, account and region it was deployed with: its
    stack id is in its monitors' ownership tags."""
    saved = json.loads(state_file.read_text()) if state_file is not None and state_file.exists() else None
    first = inputs[0]
    stack_name = saved["stack_name"] if saved else first.stack_name
    account = (saved or {}).get("account") or account or first.account or DEFAULT_ACCOUNT
    region = (saved or {}).get("region") or region or first.region or DEFAULT_REGION
    with (
        LocalNetworkMonitor(pending_seconds=pending_seconds, settling_writes=settling_writes) as emulator,
        handler_pointed_at(emulator, account, region) as handler,
    ):
        progress = Progress(emulator, out, account, region)
        driver = StackDriver(
            on_event=handler.on_event,
            is_complete=handler.is_complete,
            grant=lambda policy: emulator.use_policy(policy, account),
            clock=emulator.clock,
            parameters=dict(parameters or {}),
            stack_name=stack_name,
            account=account,
            region=region,
            observe=progress,
        )
        if saved is not None:
            emulator.load_state(saved["emulator"])
            driver.load(saved["stack"], saved.get("template"))
            out.write(f"Resumed {stack_name} from {state_file}:\n{describe(emulator, account, region)}\n")
        out.write(f"A local Network Monitor emulator at {emulator.endpoint_url} ({account}, {region})\n")
        last: Mapping[str, Any] | None = saved.get("template") if saved else None
        for number, stack_input in enumerate(inputs, start=1):
            driver.refs = {**placeholder_ids(stack_input.template, account, region), **driver.refs, **(refs or {})}
            verb = "Updating" if driver.deployed else "Deploying"
            out.write(f"{verb} {stack_name} with {stack_input.source} ({number} of {len(inputs)})\n")
            before = len(emulator.calls)
            driver.deploy(stack_input.template)
            last = stack_input.template
            writes = emulator.writes(before)
            out.write(f"Write calls: {', '.join(writes) if writes else 'none'}\n")
            out.write(f"Deployed:\n{describe(emulator, account, region)}\n")
        for logical_id, resource in driver.resources.items():
            out.write(f"  {logical_id} returned {json.dumps(resource.data, sort_keys=True)}\n")
        if not keep:
            out.write(f"Destroying {stack_name}\n")
            driver.destroy()
            kept = {physical_id for _, physical_id in driver.retained}
            remaining = set(emulator.snapshot(account, region))
            groups = service_security_groups(emulator, account, region)
            out.write(f"Destroyed: the emulator holds {len(remaining)} monitors")
            out.write(f" (kept by their Retain policy: {', '.join(sorted(kept))})" if kept else "")
            out.write(f", its EC2 {len(groups)} security groups of the service.\n")
            if remaining - kept or (groups and not kept):
                return 1
        if state_file is not None:
            state = {
                "stack_name": stack_name,
                "account": account,
                "region": region,
                "emulator": emulator.dump_state(),
                "stack": driver.dump(),
                "template": last if keep else None,
            }
            state_file.write_text(json.dumps(state, indent=1, sort_keys=True))
            out.write(f"State written to {state_file}\n")
    return 0


def run_app(
    stacks: Sequence[StackInput],
    out: TextIO,
    *,
    account: str | None = None,
    region: str | None = None,
    parameters: Mapping[str, str] | None = None,
    refs: Mapping[str, str] | None = None,
    pending_seconds: float = 60.0,
    settling_writes: SettlingWrites = "accept",
    keep: bool = False,
) -> int:
    """Deploy every stack of an app, each after those it imports from (their exports passed on), to
    one emulator; then destroy them in the reverse order unless `keep`."""
    with LocalNetworkMonitor(pending_seconds=pending_seconds, settling_writes=settling_writes) as emulator:
        out.write(f"A local Network Monitor emulator at {emulator.endpoint_url}\n")
        exports: dict[str, str] = {}
        deployed: list[tuple[StackInput, StackDriver, str, str]] = []
        with emulator.virtual_sdk_sleep():
            for stack in stacks:
                where = (stack.account or account or DEFAULT_ACCOUNT, stack.region or region or DEFAULT_REGION)
                handler = handler_for(emulator, *where)
                driver = StackDriver(
                    on_event=handler.on_event,
                    is_complete=handler.is_complete,
                    grant=functools.partial(_grant, emulator, where[0]),
                    clock=emulator.clock,
                    parameters=dict(parameters or {}),
                    stack_name=stack.stack_name,
                    account=where[0],
                    region=where[1],
                    observe=Progress(emulator, out, *where),
                    exports=exports,
                    refs={**placeholder_ids(stack.template, *where), **(refs or {})},
                )
                out.write(f"Deploying {stack.stack_name} ({where[0]}, {where[1]}) with {stack.source}\n")
                driver.deploy(stack.template)
                exports.update(driver.outputs(stack.template))
                deployed.append((stack, driver, *where))
                out.write(f"Deployed:\n{describe(emulator, *where)}\n")
            if keep:
                return 0
            left = 0
            for stack, driver, stack_account, stack_region in reversed(deployed):
                out.write(f"Destroying {stack.stack_name}\n")
                driver.destroy()
                left += len(emulator.snapshot(stack_account, stack_region)) - len(driver.retained)
            out.write(f"Destroyed {len(deployed)} stacks: {left} monitors left but those retained.\n")
            return 1 if left else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cdk_netmon.testing.offline_deploy", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        type=Path,
        default=[DEFAULT_INPUT],
        metavar="TEMPLATE",
        help="synthesized templates, or a cloud assembly directory (default: cdk.out, from `cdk synth`)",
    )
    parser.add_argument("--stack", help="the stack to deploy from a cloud assembly with several")
    parser.add_argument("--account", help="default: the stack's account when the app gives one, else 123456789012")
    parser.add_argument("--region", help="default: the stack's region when the app gives one, else eu-west-1")
    parser.add_argument(
        "--parameter", action="append", default=[], metavar="NAME=VALUE", help="a template parameter's value"
    )
    parser.add_argument(
        "--ref", action="append", default=[], metavar="NAME=VALUE",
        help="a value the app does not hold: a resource outside the template, or an import (Fn::ImportValue)",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="leave the stack deployed (see --state)")
    parser.add_argument("--state", type=Path, metavar="FILE", help="resume from FILE if it exists; save to it")
    parser.add_argument(
        "--pending-seconds", type=float, default=60.0, help="how long things stay PENDING (virtual seconds)"
    )
    parser.add_argument(
        "--settling-writes",
        choices=["accept", "refuse"],
        default="accept",
        help="whether the emulated service accepts writes to a PENDING monitor (default: accept)",
    )
    args = parser.parse_args(argv)
    try:
        parameters = dict(name_value(p, "--parameter") for p in args.parameter)
        refs = dict(name_value(r, "--ref") for r in args.ref)
        if len(args.inputs) == 1 and args.stack is None and args.state is None and _stacks_in(args.inputs[0]) > 1:
            return run_app(
                read_app(args.inputs[0]),
                sys.stdout,
                account=args.account,
                region=args.region,
                parameters=parameters,
                refs=refs,
                pending_seconds=args.pending_seconds,
                settling_writes=args.settling_writes,
                keep=args.keep,
            )
        inputs = [read_input(path, args.stack) for path in args.inputs]
        return run(
            inputs,
            sys.stdout,
            account=args.account,
            region=args.region,
            parameters=parameters,
            keep=args.keep,
            state_file=args.state,
            pending_seconds=args.pending_seconds,
            settling_writes=args.settling_writes,
            refs=refs,
        )
    except (InputError, UnsupportedTemplateError, DeployFailedError) as error:
        print(f"offline_deploy: {error}", file=sys.stderr)
        return 1


def _grant(emulator: LocalNetworkMonitor, account: str, policy: AccessPolicy | None) -> None:
    emulator.use_policy(policy, account)


def _stacks_in(path: Path) -> int:
    """How many stacks a cloud assembly holds (0 for a template file)."""
    if not path.is_dir():
        return 0
    manifest = json.loads((path / "manifest.json").read_text()) if (path / "manifest.json").exists() else {}
    return sum(a.get("type") == "aws:cloudformation:stack" for a in manifest.get("artifacts", {}).values())


if __name__ == "__main__":
    sys.exit(main())
