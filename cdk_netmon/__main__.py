"""`python -m cdk_netmon plan ...`: what the next deploy would do to each monitor (see `cdk_netmon.preview`)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if not arguments or arguments[0] != "plan":
        print(
            "usage: python -m cdk_netmon plan [cdk.out] [--stack NAME] (--against TEMPLATE | --live)", file=sys.stderr
        )
        return 1
    from .preview import main as plan

    return plan(arguments[1:])


if __name__ == "__main__":
    sys.exit(main())
