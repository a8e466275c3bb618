"""One measurement in a fresh process: build and synthesize one app, print figures as JSON.

python -m benchmarks.synth_one VARIANT MONITORS PROBES_PER_MONITOR OUTDIR
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path


def high_water_kib(pid: int | str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def children() -> list[int]:
    pids: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        pids += [int(p) for p in (task / "children").read_text().split()]
    return pids


def python_cpu_seconds() -> float:
    """This process's own user and system time, read last: jsii's Node.js is a child, counted apart
    (the interpreter's exit after it, a few milliseconds, counts as Node's)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    variant, monitors, per_monitor, outdir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    started = time.perf_counter()
    from benchmarks.apps import build

    imported = time.perf_counter()
    app = build(variant, monitors, per_monitor, outdir)
    assembly = app.synth()
    finished = time.perf_counter()

    templates = sorted(Path(outdir).glob("Bench*.template.json"))
    figures = {
        "resources": sum(len(json.loads(t.read_text())["Resources"]) for t in templates),
        "template_bytes": sum(t.stat().st_size for t in templates),
        "stacks": len(assembly.stacks),
        "imported_cdk_netmon": "cdk_netmon" in sys.modules,
    }
    print(
        json.dumps(
            {
                "variant": variant,
                "monitors": monitors,
                "probes": per_monitor,
                "synth_seconds": finished - imported,
                "process_seconds": finished - started,
                "python_cpu_seconds": python_cpu_seconds(),
                "peak_kib": high_water_kib("self") + sum(high_water_kib(pid) for pid in children()),
                **figures,
                "pid": os.getpid(),
            }
        )
    )


if __name__ == "__main__":
    main()
