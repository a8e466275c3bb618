"""What the next deploy would do to each monitor, probe by probe, with the exact API calls: a plan
computed by the handler's own pure planner (`cdk_netmon.handler.planner`), like `terraform plan`.

    python -m cdk_netmon plan cdk.out --stack Hub --against old/Hub.template.json   # offline
    python -m cdk_netmon plan cdk.out --stack Hub --against before.out              # the same stack in it
    python -m cdk_netmon plan cdk.out --stack Hub --live                            # read-only, your account

Against an older synthesized template the "live" state is that template's, as if converged (a
deploy from it). With --live it is the account's, read with your own credentials and region:
GetMonitor and ListMonitors only, never a write; what the live monitors have that the template does
not (drift) shows as the changes the deploy would make to remove it.

The plan follows CloudFormation's order: a monitor removed from the template is deleted in the
clean-up unless its resource's `DeletionPolicy` is Retain or RetainExceptOnCreate (which acts as
Retain in every operation but the rollback of the one that created the resource); a new
`MonitorName` is a replacement, whose old monitor is deleted in the clean-up unless the resource's
`UpdateReplacePolicy` is Retain (CloudFormation's DeletionPolicy and UpdateReplacePolicy attribute
pages; the values cfn-lint allows on a custom resource). The kit's `StackDriver` acts the same.

Template parameters take the values given with `--parameter NAME=VALUE`, else their defaults; a
parameter with neither is an error. The values reach both templates (the older one as deployed with
them) unless `--against-parameter NAME=VALUE` gives the older one its own. Exit code 0 when the
deploy would change nothing, 2 when it would, 1 on every error (usage errors included), so that it
fits a CI gate. Every error is one line that names the file, and for a template the resource and
the property.

Deploy-time values are written `${LogicalId}`; offline both templates hold the same placeholders.
Live, a probe's source must be a concrete subnet ARN to be matched with the live probe: give the
physical ids of the stack's subnets with `--ref LogicalId=subnet-...`.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn, TextIO

from .account import account_of, live_monitors
from .assembly import InputError, StackInput, name_value, read_input
from .declared import declared
from .preview import against_account, against_template
from .resolve import parameters_of

EXIT_NO_CHANGES, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


def run(
    stack: StackInput,
    out: TextIO,
    *,
    against: StackInput | None = None,
    client: Any = None,
    refs: Mapping[str, str] | None = None,
    account: str | None = None,
    region: str | None = None,
    parameters: Mapping[str, str] | None = None,
    against_parameters: Mapping[str, str] | None = None,
) -> int:
    """Print the plan of `stack` against an older template or (with `client`) the live account.
    `parameters` are the template parameters' values (both templates'); `against_parameters` the
    older template's, where they differ."""
    values = {"AWS::Partition": "aws", **(refs or {})}
    for name, value in (("AWS::AccountId", account or stack.account), ("AWS::Region", region or stack.region)):
        if value:
            values[name] = value
    values.setdefault("AWS::StackName", stack.stack_name)
    if client is not None and "AWS::AccountId" not in values:
        found = account_of(client)
        if found:
            values["AWS::AccountId"] = found
    _check_parameters(stack, against, parameters or {}, against_parameters or {})
    new, unresolved = declared(stack, values, parameters)
    if against is not None:
        old, _ = declared(against, values, {**(parameters or {}), **(against_parameters or {})})
        out_lines = [f"Plan for {stack.stack_name}: {stack.source} against {against.source}"]
        plans = against_template(stack, new, against, old)
    else:
        _check_resolved(stack, unresolved)
        live, others = live_monitors(client, stack.stack_name, [monitor.spec.name for monitor in new.values()])
        out_lines = [f"Plan for {stack.stack_name}: {stack.source} against the live account (read-only)"]
        plans = against_account(stack, new, live, others)
    changed = [plan for plan in plans if plan.lines]
    for plan in changed:
        out_lines += [plan.title, *(f"  {line}" for line in plan.lines)]
    calls = Counter(call.__name__ for plan in plans for call in plan.calls)
    summary = ", ".join(f"{name} x{n}" for name, n in sorted(calls.items()))
    if changed:
        out_lines.append(f"Calls: {summary or 'none'}")
    else:
        out_lines.append("No changes: the deploy would make no call.")
    out.write("".join(f"{line}\n" for line in out_lines))
    return EXIT_CHANGES if changed else EXIT_NO_CHANGES


def _check_parameters(
    stack: StackInput, against: StackInput | None, given: Mapping[str, str], older: Mapping[str, str]
) -> None:
    """Every parameter given is one of the templates' (CloudFormation refuses others)."""
    for option, names, templates in (
        ("--parameter", given, [stack] + ([against] if against else [])),
        ("--against-parameter", older, [against] if against else []),
    ):
        declared_names = sorted({name for t in templates for name in parameters_of(t.template)})
        for name in names:
            if name in declared_names:
                continue
            if option == "--parameter" and against is not None:
                which, them = "neither template has a parameter of that name", "they have"
            else:
                which, them = f"the {'older ' if against else ''}template has no parameter of that name", "it has"
            listed = f" ({them}: {', '.join(declared_names)})" if declared_names else ""
            raise InputError(f"{option} {name}: {which}{listed}")


def _check_resolved(stack: StackInput, unresolved: set[str]) -> None:
    """Live, every value that identifies a probe must be concrete."""
    unevaluated = sorted({name.split(":")[0] for name in unresolved if name.startswith("Fn::")})
    needed = sorted(name for name in unresolved if not name.startswith("Fn::"))
    if unevaluated:
        raise InputError(
            f"{stack.source}: to compare with the live account the plan needs concrete values; "
            f"it does not evaluate {', '.join(unevaluated)} in the template's monitors"
        )
    if needed:
        raise InputError(
            f"{stack.source}: to compare with the live account, give each of these (--ref NAME=VALUE, "
            f"--parameter NAME=VALUE, or --account, --region): {', '.join(needed)}"
        )


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors exiting 1: its own 2 is this command's "changes"."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    """The plan command's arguments."""
    arguments = _Parser(prog="python -m cdk_netmon plan", description=(__doc__ or "").split("\n\n")[0])
    arguments.add_argument("input", type=Path, nargs="?", default=Path("cdk.out"), help="a cloud assembly or template")
    arguments.add_argument(
        "--stack", metavar="NAME", help="the stack of a cloud assembly with several (its id or stack name)"
    )
    arguments.add_argument(
        "--against", type=Path, metavar="TEMPLATE", help="an older synthesized template, or cloud assembly (offline)"
    )
    arguments.add_argument("--live", action="store_true", help="read the live monitors with your credentials")
    arguments.add_argument(
        "--parameter", action="append", default=[], metavar="NAME=VALUE", help="a template parameter's value"
    )
    arguments.add_argument(
        "--against-parameter", action="append", default=[], metavar="NAME=VALUE",
        help="a parameter's value the older template was deployed with, where not --parameter's",
    )  # fmt: skip
    arguments.add_argument("--ref", action="append", default=[], metavar="NAME=VALUE", help="a reference's value")
    arguments.add_argument("--account", help="default: the stack's, where the app gives it")
    arguments.add_argument("--region", help="default: the stack's, else your SDK configuration's (--live)")
    arguments.epilog = "Exit code: 0 no change, 2 changes, 1 every error (usage errors included)."
    return arguments


def main(argv: list[str] | None = None, out: TextIO | None = None, new_client: Callable[[], Any] | None = None) -> int:
    arguments = parser()
    try:
        args = arguments.parse_args(argv)
        if args.live == (args.against is not None):
            arguments.error("give either --against TEMPLATE or --live")
        if args.live and args.against_parameter:
            arguments.error("--against-parameter is for --against")
    except SystemExit as stop:  # --help (0), or a usage error (1)
        return stop.code if isinstance(stop.code, int) else EXIT_ERROR
    out = out or sys.stdout
    try:
        stack = read_input(args.input, args.stack)
        refs = dict(name_value(r, "--ref") for r in args.ref)
        parameters = dict(name_value(p, "--parameter") for p in args.parameter)
        if args.against is not None:
            against = read_input(args.against, args.stack or stack.stack_name)
            older = dict(name_value(p, "--against-parameter") for p in args.against_parameter)
            return run(
                stack, out, against=against, refs=refs, account=args.account, region=args.region,
                parameters=parameters, against_parameters=older,
            )  # fmt: skip
        client = (new_client or _client(args.region or stack.region))()
        region = args.region or stack.region or client.meta.region_name
        return run(stack, out, client=client, refs=refs, account=args.account, region=region, parameters=parameters)
    except InputError as error:
        print(f"plan: {one_line(str(error))}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:
        if not type(error).__module__.startswith(("botocore", "boto3")):
            raise  # the plan's own fault: its trace is the bug report
        print(f"plan: {type(error).__name__}: {one_line(str(error))}", file=sys.stderr)  # credentials, region, access
        return EXIT_ERROR


def one_line(text: str) -> str:
    """The text with line breaks and other unprintable characters (a template's keys may hold any) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _client(region: str | None) -> Callable[[], Any]:
    def make() -> Any:
        import boto3

        return boto3.client("networkmonitor", region_name=region)

    return make
