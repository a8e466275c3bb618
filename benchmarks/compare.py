"""Two variants head to head, for a ratio the full run's five repetitions cannot settle:

    python -m benchmarks.compare NativeEngine NativePair 1x1 100x20 --pairs 16

Each pair is the two apps in fresh processes back to back, the order alternating (an even number
of pairs puts each first as often), so that a machine's drift (another job starting, a CPU's
clock) falls on both. Prints, per size, each variant's median wall time, CPU time, and that CPU
time split into the Python process's and its Node.js's (jsii's kernel), the ratio of the medians,
and the median and quartiles of the pairs' own ratios: the quartiles say how much single pairs
vary, not how sure the median is. Figures only, no verdict.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from collections.abc import Sequence

from benchmarks.run import VARIANTS, compile_bytecode, size_name, synth_once


def parse_size(text: str) -> tuple[int, int]:
    if text == "realistic":
        return 0, 0
    size = re.fullmatch(r"([1-9][0-9]*)x([0-9]+)", text)  # 0 monitors is how benchmarks.apps names `realistic`
    if size is None:
        raise argparse.ArgumentTypeError(f"size {text!r}: allowed: MONITORSxPROBES (1x1, 100x20) or realistic")
    return int(size[1]), int(size[2])


def spread(values: Sequence[float]) -> str:
    """The median and, from 4 values on, the quartiles, within the values (`inclusive`: the default
    method extrapolates beyond them). How much single pairs vary, not how sure their median is."""
    median = statistics.median(values)
    if len(values) < 4:
        return f"{median:.3f}x (quartiles n/a below 4 pairs)"
    low, _, high = statistics.quantiles(values, n=4, method="inclusive")
    return f"{median:.3f}x (quartiles {low:.3f}-{high:.3f})"


def compare(variant: str, baseline: str, size: tuple[int, int], pairs: int) -> str:
    runs: dict[str, list[dict[str, float]]] = {variant: [], baseline: []}
    for pair in range(pairs):
        for name in (variant, baseline) if pair % 2 == 0 else (baseline, variant):
            runs[name].append(synth_once(name, *size))
    lines = [f"{size_name(*size)}, {pairs} pairs:"]
    for run in (*runs[variant], *runs[baseline]):
        run["node_cpu_seconds"] = run["cpu_seconds"] - run["python_cpu_seconds"]
    for measure in ("wall_seconds", "cpu_seconds", "python_cpu_seconds", "node_cpu_seconds"):
        ours = [r[measure] for r in runs[variant]]
        theirs = [r[measure] for r in runs[baseline]]
        paired = [a / b for a, b in zip(ours, theirs, strict=True)]
        lines.append(
            f"  {measure.removesuffix('_seconds').replace('_', ' '):<10} {variant} {statistics.median(ours):.3f} s, "
            f"{baseline} {statistics.median(theirs):.3f} s: ratio of medians "
            f"{statistics.median(ours) / statistics.median(theirs):.3f}x; pairs {spread(paired)}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("baseline", choices=VARIANTS)
    parser.add_argument("sizes", nargs="+", type=parse_size, metavar="SIZE", help="1x1, 100x20, realistic, ...")
    parser.add_argument("--pairs", type=int, default=16)
    args = parser.parse_args(argv)
    if args.variant == args.baseline:
        parser.error(f"{args.variant} against itself: allowed: two different variants")
    if args.pairs < 1:
        parser.error(f"--pairs {args.pairs}: allowed: 1 or more")
    compile_bytecode()
    for size in args.sizes:
        print(compare(args.variant, args.baseline, size, args.pairs), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
