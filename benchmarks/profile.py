"""Where one app's synth goes, for the Performance page: imports, jsii round trips per phase, and
cProfile's top functions.

    python -m benchmarks.profile NetworkMonitor 1 1        # variant, monitors, probes per monitor

Phases: import (the variant's modules), build (constructing the app), synth (`app.synth()`). Round
trips are the messages to jsii's Node.js kernel (create, invoke, get, set, their static forms, and
the answers to Node's callbacks into Python), each a message to Node.js and back.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections import Counter
from typing import Any


def count_kernel_calls(counter: Counter[str]) -> None:
    """Count every message the Python side sends to jsii's Node.js kernel, by its kind."""
    from jsii._kernel.providers import process

    original = process._NodeProcess.send

    def counted(self: Any, request: Any, response_type: Any) -> Any:
        counter[type(request).__name__.removesuffix("Request")] += 1
        return original(self, request, response_type)

    process._NodeProcess.send = counted  # type: ignore[method-assign]


def main() -> None:
    variant, monitors, per_monitor = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    phases: dict[str, tuple[float, int]] = {}
    counter: Counter[str] = Counter()
    started = time.perf_counter()
    import aws_cdk  # noqa: F401  the floor's import too; jsii is loaded with it

    count_kernel_calls(counter)
    phases["import aws-cdk-lib"] = (time.perf_counter() - started, sum(counter.values()))
    from benchmarks.apps import build

    mark, calls = time.perf_counter(), sum(counter.values())
    if variant in ("NetworkMonitor", "NativeEngine"):
        import cdk_netmon

        getattr(cdk_netmon, "NetworkMonitor")  # noqa: B009  the constructs load on first use
    phases["import the variant"] = (time.perf_counter() - mark, sum(counter.values()) - calls)
    profile = cProfile.Profile()
    with tempfile.TemporaryDirectory() as outdir:
        mark, calls = time.perf_counter(), sum(counter.values())
        profile.enable()
        app = build(variant, monitors, per_monitor, outdir)
        phases["build"] = (time.perf_counter() - mark, sum(counter.values()) - calls)
        mark, calls = time.perf_counter(), sum(counter.values())
        app.synth()
        profile.disable()
        phases["synth"] = (time.perf_counter() - mark, sum(counter.values()) - calls)
    print(f"{variant} {monitors}x{per_monitor}")
    for phase, (seconds, round_trips) in phases.items():
        print(f"  {phase:<20} {seconds:6.2f} s  {round_trips:6} jsii round trips")
    print(f"  by kind: {dict(counter.most_common())}")
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(25)
    print(text.getvalue())


if __name__ == "__main__":
    main()
