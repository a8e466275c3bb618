"""Deploy a synthesized app's monitors to a local emulator, as CloudFormation would, version after version.

    python -m cdk_netmon.testing.offline_deploy cdk.out              # every stack of the app, in dependency order
    python -m cdk_netmon.testing.offline_deploy v1.out v2.out        # the app, then v2 of it as an update
    python -m cdk_netmon.testing.offline_deploy v1.json v2.json      # one stack's templates, v2 as an update
    python -m cdk_netmon.testing.offline_deploy cdk.out --keep --state app.json   # resumed later with --state

Each input is a version: a cloud assembly (every stack of the app, or those `--stack` names and the
stacks they depend on, as `cdk deploy` picks them) or a template (one stack). Each version is
deployed in turn as an update of the stacks the earlier ones deployed, each stack after those it
imports from, with their exports passed on; then every stack is destroyed, in the reverse order,
unless --keep. Progress lines and the write calls of each step are printed. With --state FILE the
emulator's and the stacks' state are read from FILE when it exists and written back at the end, so
a change can be deployed today and the next one tomorrow. The handler that ships runs unmodified,
against the emulator over HTTP, with the quotas each stack declares; CloudFormation and the Provider
framework are played by `StackDriver`. Time is virtual: PENDING minutes pass instantly, and progress
lines show the virtual time since the start. `--ref` gives values from outside the app only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from cdk_netmon.plan.assembly import InputError, StackInput, name_value, read_app, read_input

from .cloudformation import DeployFailedError, StackDriver, UnsupportedTemplateError
from .emulator import DEFAULT_ACCOUNT, DEFAULT_REGION, LocalNetworkMonitor, SettlingWrites
from .emulator.network import DESCRIPTION
from .kit import Progress, describe, service_security_groups, stack_on
from .native import MONITOR_TYPE, monitor_of

DEFAULT_INPUT = Path("cdk.out")
STATE_VERSION = 2
"""The layout of --state files: 2 holds every stack of the app (1, one stack, is still read)."""


@dataclass
class _Stack:
    """One stack of the app as deployed so far."""

    name: str
    account: str
    region: str
    driver: StackDriver
    template: Mapping[str, Any] | None = None
    """The template last deployed, for its policy when a --state file resumes the stack."""


@dataclass
class OfflineApp:
    """The app's stacks in one emulator: deployed version after version, then destroyed."""

    emulator: LocalNetworkMonitor
    out: TextIO
    account: str | None = None
    region: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    """`NAME=VALUE` for every stack with that parameter, `STACK:NAME=VALUE` for one stack's."""
    refs: Mapping[str, str] = field(default_factory=dict)
    stacks: dict[str, _Stack] = field(default_factory=dict)
    """By stack name, in the order they were first deployed."""
    exports: dict[str, str] = field(default_factory=dict)
    """Every deployed stack's exports, for the `Fn::ImportValue`s of the stacks after it."""
    stack_outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    """Every deployed stack's outputs by `<region>/<name>`, for the `Fn::GetStackOutput`s after it."""
    native_monitors: set[str] = field(default_factory=set)
    """The names of the native monitors deployed, whose service groups nothing deletes."""

    def deploy(self, stack_input: StackInput, number: int, versions: int, *, name: str | None = None) -> None:
        """Deploy one stack's template: a create, or an update of what is deployed under its name."""
        name = name or stack_input.stack_name
        stack = self.stacks.get(name) or self._new_stack(name, stack_input)
        stack.driver.parameters = self._parameters_of(name)
        verb = "Updating" if stack.driver.deployed else "Deploying"
        self.out.write(
            f"{verb} {name} ({stack.account}, {stack.region}) with {stack_input.source} ({number} of {versions})\n"
        )
        before = len(self.emulator.calls)
        stack.driver.deploy(stack_input.template)
        stack.template = stack_input.template
        self.exports.update(stack.driver.outputs(stack_input.template))
        self.stack_outputs[f"{stack.region}/{name}"] = stack.driver.output_values(stack_input.template)
        writes = self.emulator.writes(before)
        self.out.write(f"Write calls: {', '.join(writes) if writes else 'none'}\n")
        names = {monitor_of(resource.physical_id) for resource in stack.driver.resources.values()}
        self.native_monitors |= {
            str(r.properties.get("MonitorName"))
            for r in stack.driver.resources.values()
            if r.resource_type == MONITOR_TYPE
        }
        self.out.write(f"Deployed:\n{describe(self.emulator, stack.account, stack.region, names=names)}\n")

    def report(self) -> None:
        for stack in self.stacks.values():
            for logical_id, resource in stack.driver.resources.items():
                self.out.write(f"  {stack.name}/{logical_id} returned {json.dumps(resource.data, sort_keys=True)}\n")

    def destroy(self) -> bool:
        """Destroy every stack, the last deployed first; True if nothing is left but what a Retain
        policy keeps (monitors, and their security groups)."""
        for stack in reversed(list(self.stacks.values())):
            self.out.write(f"Destroying {stack.name}\n")
            stack.driver.destroy()
        kept = sorted({monitor_of(physical_id) for s in self.stacks.values() for _, physical_id in s.driver.retained})
        places = sorted({(s.account, s.region) for s in self.stacks.values()})
        monitors = sorted(name for place in places for name in self.emulator.snapshot(*place))
        groups = [g for place in places for g in service_security_groups(self.emulator, *place)]
        kept_groups = {DESCRIPTION.format(monitor=name) for name in kept}
        native_groups = {DESCRIPTION.format(monitor=name) for name in self.native_monitors}
        stayed = sorted(g["GroupId"] for g in groups if g["Description"] in native_groups - kept_groups)
        left_over = [m for m in monitors if m not in kept] + [
            g["GroupId"] for g in groups if g["Description"] not in kept_groups | native_groups
        ]
        what = next(iter(self.stacks)) if len(self.stacks) == 1 else f"{len(self.stacks)} stacks"
        self.out.write(f"Destroyed {what}: the emulator holds {len(monitors)} monitors")
        self.out.write(f" (kept by their Retain policy: {', '.join(kept)})" if kept else "")
        self.out.write(f", its EC2 {len(groups)} security groups of the service.\n")
        if stayed:
            self.out.write(
                f"The service's groups of native monitors stay, as in AWS ({', '.join(stayed)}): delete them before "
                "their VPC's stack is destroyed (docs/engines.md).\n"
            )
        self.stacks.clear()
        return not left_over

    # -- state --------------------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "emulator": self.emulator.dump_state(),
            "exports": self.exports,
            "stack_outputs": self.stack_outputs,
            "stacks": [
                {
                    "name": s.name,
                    "account": s.account,
                    "region": s.region,
                    "stack": s.driver.dump(),
                    "template": s.template,
                }
                for s in self.stacks.values()
            ],
        }

    def load(self, state: Mapping[str, Any]) -> None:
        """Take up a `dump` (or a one-stack state file of an earlier release)."""
        if "stack_name" in state:  # version 1: one stack
            state = {
                "emulator": state["emulator"],
                "stacks": [{**state, "name": state["stack_name"]}],
            }
        self.emulator.load_state(state["emulator"])
        self.exports.update(state.get("exports") or {})
        self.stack_outputs.update(state.get("stack_outputs") or {})
        for body in state["stacks"]:
            stack = self._new_stack(body["name"], None, account=body["account"], region=body["region"])
            stack.driver.load(body["stack"], body.get("template"))
            stack.template = body.get("template")
        resumed = ", ".join(self.stacks)
        places = sorted({(s.account, s.region) for s in self.stacks.values()})
        self.out.write(f"Resumed {resumed}:\n" + "\n".join(describe(self.emulator, *p) for p in places) + "\n")

    # -- helpers ------------------------------------------------------------------------------------

    def _new_stack(
        self, name: str, stack_input: StackInput | None, *, account: str | None = None, region: str | None = None
    ) -> _Stack:
        account = account or (stack_input.account if stack_input else None) or self.account or DEFAULT_ACCOUNT
        region = region or (stack_input.region if stack_input else None) or self.region or DEFAULT_REGION
        driver = stack_on(
            self.emulator,
            account,
            region,
            stack_name=name,
            refs=dict(self.refs),
            exports=self.exports,
            stack_outputs=self.stack_outputs,
            observe=Progress(self.emulator, self.out, account, region),
        )
        stack = self.stacks[name] = _Stack(name, account, region, driver)
        return stack

    def _parameters_of(self, stack_name: str) -> dict[str, str]:
        given = {k: v for k, v in self.parameters.items() if ":" not in k}
        given.update({k.split(":", 1)[1]: v for k, v in self.parameters.items() if k.startswith(f"{stack_name}:")})
        return given


def run(
    versions: Sequence[Sequence[StackInput]],
    out: TextIO,
    *,
    account: str | None = None,
    region: str | None = None,
    parameters: Mapping[str, str] | None = None,
    refs: Mapping[str, str] | None = None,
    keep: bool = False,
    state_file: Path | None = None,
    pending_seconds: float = 60.0,
    settling_writes: SettlingWrites = "accept",
    one_stack: bool = False,
) -> int:
    """Deploy each version (the app's stacks, in dependency order) in turn, then destroy every
    stack unless `keep`. `one_stack`: the versions are templates of one stack, deployed under the
    first one's name. A resumed stack (`state_file`) keeps the name, account and region it was
    deployed with: its stack id is in its monitors' ownership tags."""
    saved = json.loads(state_file.read_text()) if state_file is not None and state_file.exists() else None
    with (
        LocalNetworkMonitor(pending_seconds=pending_seconds, settling_writes=settling_writes) as emulator,
        emulator.virtual_sdk_sleep(),
    ):
        app = OfflineApp(emulator, out, account, region, dict(parameters or {}), dict(refs or {}))
        if saved is not None:
            app.load(saved)
        out.write(f"A local Network Monitor emulator at {emulator.endpoint_url}\n")
        name = None
        if one_stack:
            name = next(iter(app.stacks), None) or versions[0][0].stack_name
        for number, stacks in enumerate(versions, start=1):
            for stack_input in stacks:
                app.deploy(stack_input, number, len(versions), name=name)
        app.report()
        clean = True
        if not keep:
            clean = app.destroy()
        if state_file is not None:
            state_file.write_text(json.dumps(app.dump(), indent=1, sort_keys=True))
            out.write(f"State written to {state_file}\n")
    return 0 if clean else 1


def read_versions(paths: Sequence[Path], stacks: Sequence[str]) -> tuple[list[list[StackInput]], bool]:
    """Each input as a version: a cloud assembly's stacks (those named and their dependencies), or
    one template; and whether the versions are templates of one stack."""
    assemblies = [_is_assembly(path) for path in paths]
    if any(assemblies) and not all(assemblies):
        raise InputError("give cloud assemblies or templates, not both: a version is one or the other")
    if not all(assemblies):
        if stacks:
            raise InputError("--stack picks stacks of a cloud assembly; these inputs are templates")
        return [[read_input(path)] for path in paths], True
    versions = []
    for path in paths:
        app = read_app(path)
        if stacks:
            app = _with_dependencies(path, app, stacks)
        versions.append(app)
    return versions, False


def _with_dependencies(path: Path, app: Sequence[StackInput], wanted: Sequence[str]) -> list[StackInput]:
    """The named stacks and every stack they depend on (their imports' exporters), in app order."""
    names = {s.stack_name for s in app}
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise InputError(f"{path}: no stack {', '.join(unknown)}; the app's stacks: {', '.join(sorted(names))}")
    manifest = json.loads((_assembly_dir(path) / "manifest.json").read_text())
    artifacts = manifest.get("artifacts", {})
    picked: set[str] = set()

    def pick(name: str) -> None:
        if name in picked or name not in names:
            return
        picked.add(name)
        for dependency in artifacts.get(name, {}).get("dependencies", []):
            pick(dependency)

    for name in wanted:
        pick(name)
    return [s for s in app if s.stack_name in picked]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cdk_netmon.testing.offline_deploy", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        type=Path,
        default=[DEFAULT_INPUT],
        metavar="INPUT",
        help="cloud assemblies (versions of the app) or templates (versions of one stack); default: cdk.out",
    )
    parser.add_argument(
        "--stack", action="append", default=[], metavar="NAME",
        help="deploy only this stack of each cloud assembly, and those it depends on (repeatable)",
    )  # fmt: skip
    parser.add_argument("--account", help="for stacks without one: default 123456789012")
    parser.add_argument("--region", help="for stacks without one: default eu-west-1")
    parser.add_argument(
        "--parameter", action="append", default=[], metavar="[STACK:]NAME=VALUE",
        help="a template parameter's value, for every stack or for STACK's",
    )  # fmt: skip
    parser.add_argument(
        "--ref", action="append", default=[], metavar="NAME=VALUE",
        help="a value from outside the app: a resource no template holds, or an export no stack makes",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="leave the stacks deployed (see --state)")
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
        versions, one_stack = read_versions(args.inputs, args.stack)
        return run(
            versions,
            sys.stdout,
            account=args.account,
            region=args.region,
            parameters=parameters,
            refs=refs,
            keep=args.keep,
            state_file=args.state,
            pending_seconds=args.pending_seconds,
            settling_writes=args.settling_writes,
            one_stack=one_stack,
        )
    except UnsupportedTemplateError as error:
        hint = f"; give it with --ref {error.needed}=VALUE" if error.needed else ""
        print(f"offline_deploy: {error.reason}{hint}", file=sys.stderr)
        return 1
    except (InputError, DeployFailedError) as error:
        print(f"offline_deploy: {error}", file=sys.stderr)
        return 1


def _is_assembly(path: Path) -> bool:
    return path.is_dir() or path.name == "manifest.json"


def _assembly_dir(path: Path) -> Path:
    return path if path.is_dir() else path.parent


if __name__ == "__main__":
    sys.exit(main())
