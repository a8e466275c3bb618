"""`python -m cdk_netmon plan ...`: what the next deploy would do to each monitor (see `cdk_netmon.preview`).

Standard library and the handler's pure modules only, so that it starts without Node.js or jsii.
"""

from __future__ import annotations

import sys

COMMANDS = (
    "\ncommands:\n  plan  the next deploy's probe-level changes and exact calls (python -m cdk_netmon plan --help)\n"
)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    from . import preview

    if arguments[:1] == ["plan"]:
        return preview.main(arguments[1:])
    usage = preview.parser().format_usage()
    if arguments[:1] in (["-h"], ["--help"]):
        print(usage + COMMANDS, end="")
        return preview.EXIT_NO_CHANGES
    problem = f"unknown command {arguments[0]!r}" if arguments else "name a command"
    print(f"{usage}python -m cdk_netmon: error: {problem} (the one command is plan)", file=sys.stderr)
    return preview.EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
