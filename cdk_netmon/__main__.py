"""`python -m cdk_netmon plan ...`: what the next deploy would do to each monitor (see `cdk_netmon.plan`).

Standard library and the handler's pure modules only, so that it starts without Node.js or jsii.
"""

from __future__ import annotations

import sys

COMMANDS = (
    "\ncommands:\n  plan  the next deploy's probe-level changes and exact calls (python -m cdk_netmon plan --help)\n"
)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    from .plan import command

    if arguments[:1] == ["plan"]:
        return command.main(arguments[1:])
    usage = command.parser().format_usage()
    if arguments[:1] in (["-h"], ["--help"]):
        print(usage + COMMANDS, end="")
        return command.EXIT_NO_CHANGES
    problem = f"unknown command {arguments[0]!r}" if arguments else "name a command"
    print(f"{usage}python -m cdk_netmon: error: {problem} (the one command is plan)", file=sys.stderr)
    return command.EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
