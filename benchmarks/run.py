"""What cdk_netmon adds to every synth and every deploy, measured on this machine.

    make benchmark                          # full run: 5 repetitions, all sizes (a few minutes)
    python -m benchmarks.run --quick        # one repetition, smallest size (the test suite's smoke run)

Prints a table and writes it as JSON (benchmarks/results.json by default):
1. what a user feels on every `cdk synth`: the whole `python` process of one app built five ways
   (this library with either engine, the CfnMonitor floor, the hand-written native pair, a
   hand-written AwsCustomResource), timed from outside, each in a fresh process, interleaved within
   every repetition; medians and ratios; the in-process synth time and peak memory beside it;
2. template figures: resources per monitor, shared resources per stack, template bytes;
3. API calls per lifecycle step against the emulator, writes beside the minimum the API permits
   (and the handler's design: an update that changes something first marks the monitor as the
   request's, one TagResource, so that an older request's waiter stops writing);
4. handler cold start: importing the handler as Lambda does, beside `import boto3` alone, and the
   size of the Lambda asset.
"""

from __future__ import annotations

import argparse
import compileall
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HANDLER_DIR = ROOT / "cdk_netmon" / "handler"
VARIANTS = ("NetworkMonitor", "NativeEngine", "CfnMonitor", "NativePair", "AwsCustomResource")
PEERS = ("NativePair", "AwsCustomResource")
SIZES = ((1, 1), (10, 4), (100, 20), (0, 0))
"""(monitors, probes per monitor); (0, 0) is the realistic app: a VPC in 3 AZs, 12 probes, alarms."""

PROCESS_RATIO_TARGET = 1.25
"""At 1x1 and 100x20, the whole process at most this much slower than the CfnMonitor floor."""
NATIVE_RATIO_TARGET = 1.05
"""At 1x1 and 100x20, the whole process of the native engine at most this much slower than the
hand-written native pair it renders."""
IMPORT_RATIO_TARGET = 1.10


# --- 1 and 2: synth cost and template figures -----------------------------------------------------


def size_name(monitors: int, per_monitor: int) -> str:
    return "realistic" if monitors == 0 else f"{monitors}x{per_monitor}"


def children_cpu_seconds() -> float:
    """User and system time of the children waited for so far: jsii waits for its Node.js at exit,
    so a finished app's process counts with its Node.js. Less moved by other work on the machine
    than the wall clock (it leaves out the time spent waiting for a core)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def synth_once(variant: str, monitors: int, per_monitor: int) -> dict[str, Any]:
    """One app in a fresh process, timed from outside: start-up, imports, synth and shutdown."""
    with tempfile.TemporaryDirectory() as outdir:
        cpu = children_cpu_seconds()
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "benchmarks.synth_one", variant, str(monitors), str(per_monitor), outdir],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env=os.environ.copy(),
        )
        wall = time.perf_counter() - started
        cpu = children_cpu_seconds() - cpu
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "wall_seconds": wall, "cpu_seconds": cpu}


def compile_bytecode() -> None:
    """Compile this checkout's Python, as pip does when it installs a wheel: with
    PYTHONDONTWRITEBYTECODE set (as on this project's machine), every measured process would
    otherwise compile cdk_netmon's modules from source, which no installed copy does (aws-cdk-lib's
    are compiled at install). The handler's cold start is measured without bytecode, as Lambda runs it."""
    for directory in (ROOT / "cdk_netmon", ROOT / "benchmarks"):
        compileall.compile_dir(directory, quiet=1)


def measure_synth(
    sizes: Sequence[tuple[int, int]], repetitions: int, log: Callable[[str], None]
) -> list[dict[str, Any]]:
    rows = []
    for monitors, per_monitor in sizes:
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
        for repetition in range(repetitions):
            shift = repetition % len(VARIANTS)
            order = VARIANTS[shift:] + VARIANTS[:shift]  # interleaved, rotating
            for variant in order:
                runs[variant].append(synth_once(variant, monitors, per_monitor))
            log(f"  {size_name(monitors, per_monitor)}: repetition {repetition + 1}/{repetitions}")
        for variant in VARIANTS:
            samples = runs[variant]
            rows.append(
                {
                    "variant": variant,
                    "monitors": monitors,
                    "probes_per_monitor": per_monitor,
                    "size": size_name(monitors, per_monitor),
                    "wall_seconds_median": statistics.median(s["wall_seconds"] for s in samples),
                    "cpu_seconds_median": statistics.median(s["cpu_seconds"] for s in samples),
                    "synth_seconds_median": statistics.median(s["synth_seconds"] for s in samples),
                    "process_seconds_median": statistics.median(s["process_seconds"] for s in samples),
                    "peak_mib_median": statistics.median(s["peak_kib"] for s in samples) / 1024,
                    "template_bytes": samples[0]["template_bytes"],
                    "resources": samples[0]["resources"],
                    "imported_cdk_netmon": samples[0]["imported_cdk_netmon"],
                    "repetitions": len(samples),
                }
            )
    by_size = {(r["variant"], r["size"]): r for r in rows}
    for row in rows:
        for other in ("CfnMonitor", *PEERS):
            base = by_size[(other, row["size"])]
            row[f"wall_ratio_to_{other.lower()}"] = row["wall_seconds_median"] / base["wall_seconds_median"]
            row[f"cpu_ratio_to_{other.lower()}"] = row["cpu_seconds_median"] / base["cpu_seconds_median"]
        row["synth_ratio_to_cfnmonitor"] = (
            row["synth_seconds_median"] / by_size[("CfnMonitor", row["size"])]["synth_seconds_median"]
        )
    return rows


def template_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Resources and template bytes as shared per stack + per monitor + per probe, solved from three
    sizes of the same variant (the native variants' grow with the probes, the others' with the
    monitors); from two sizes, per monitor only."""
    figures: dict[str, Any] = {}
    for variant in VARIANTS:
        by_size = sorted(
            (r["monitors"], r["probes_per_monitor"], r["resources"], r["template_bytes"])
            for r in rows
            if r["variant"] == variant and r["monitors"]
        )
        if len(by_size) < 2:
            ((m, _, resources, size),) = by_size
            figures[variant] = {"resources": resources, "template_bytes": size, "monitors": m}
            continue
        sizes = [(m, m * p) for m, p, _, _ in by_size]
        if len(by_size) >= 3:
            shared, per_monitor, per_probe = solve3(sizes[:3], [r for _, _, r, _ in by_size[:3]])
            bytes_shared, bytes_per_monitor, bytes_per_probe = solve3(sizes[:3], [b for _, _, _, b in by_size[:3]])
        else:
            (m1, _), (m2, _) = sizes
            (r1, b1), (r2, b2) = ((r, b) for _, _, r, b in by_size)
            per_monitor, bytes_per_monitor = (r2 - r1) / (m2 - m1), (b2 - b1) / (m2 - m1)
            shared, bytes_shared, per_probe, bytes_per_probe = r1 - per_monitor * m1, b1 - bytes_per_monitor * m1, 0, 0
        figures[variant] = {
            "resources_per_monitor": per_monitor,
            "resources_per_probe": per_probe,
            "shared_resources_per_stack": shared,
            "template_bytes_per_monitor": bytes_per_monitor,
            "template_bytes_per_probe": bytes_per_probe,
            "template_bytes_shared": bytes_shared,
            "template_bytes": {f"{m}x{p}": b for m, p, _, b in by_size},
        }
    return figures


def solve3(sizes: list[tuple[int, int]], values: list[int]) -> tuple[float, float, float]:
    """a, b, c with value = a + b * monitors + c * probes at each of three (monitors, probes) sizes
    (Cramer's rule; the sizes are independent)."""

    def det(rows: list[tuple[float, float, float]]) -> float:
        (a, b, c), (d, e, f), (g, h, i) = rows
        return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)

    matrix = [(1.0, float(m), float(p)) for m, p in sizes]
    whole = det(matrix)
    answers = []
    for column in range(3):
        replaced = [
            tuple(v if j == column else row[j] for j in range(3)) for row, v in zip(matrix, values, strict=True)
        ]
        answers.append(round(det(replaced) / whole, 2))  # type: ignore[arg-type]
    return answers[0], answers[1], answers[2]


# --- 3: API calls per lifecycle step ---------------------------------------------------------------


def measure_api_calls(k: int = 20) -> list[dict[str, Any]]:
    from cdk_netmon.handler.spec import OWNERSHIP_PROPERTY, OWNERSHIP_PROPERTY_VALUE
    from cdk_netmon.testing import LocalNetworkMonitor, handler_pointed_at
    from cdk_netmon.testing.cloudformation import StackDriver

    def probe(i: int, port: int = 443) -> dict[str, Any]:
        return {
            "sourceArn": f"arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-{i // 4:017x}",
            "destination": f"10.0.{i}.1",
            "protocol": "TCP",
            "destinationPort": port,
        }

    def template(probes: list[dict[str, Any]], period: int = 60) -> dict[str, Any]:
        body = {"monitorName": "bench", "aggregationPeriod": period, "probes": probes}
        return {
            "Resources": {
                "Monitor": {
                    "Type": "Custom::NetworkMonitor",
                    "Properties": {
                        "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:f",
                        "Monitor": json.dumps(body),
                        OWNERSHIP_PROPERTY: OWNERSHIP_PROPERTY_VALUE,
                    },
                }
            }
        }

    base = [probe(i) for i in range(k)]
    middle = k // 2
    changed = [*base[:middle], probe(middle, port=8443), *base[middle + 1 :]]
    mark = 1  # the request's generation mark, before the first write of a changing update
    steps: list[tuple[str, Callable[[StackDriver], None], int]] = [
        (f"create with {k} probes", lambda d: d.deploy(template(base)), 1),  # the mark rides on CreateMonitor
        ("no-op update", lambda d: d.resend_update("Monitor"), 0),
        (f"change one probe of {k}", lambda d: d.deploy(template(changed)), mark + 1),
        ("add one probe", lambda d: d.deploy(template([*changed, probe(k)])), mark + 1),
        ("reorder probes", lambda d: d.deploy(template(list(reversed([*changed, probe(k)])))), 0),
        ("change aggregation period", lambda d: d.deploy(template(list(reversed([*changed, probe(k)])), 30)), mark + 1),
        (f"delete with {k + 1} probes", lambda d: d.destroy(), k + 2),
    ]
    rows = []
    with LocalNetworkMonitor() as emulator, handler_pointed_at(emulator) as handler:
        driver = StackDriver(on_event=handler.on_event, is_complete=handler.is_complete, clock=emulator.clock)
        for name, step, minimum in steps:
            before = len(emulator.calls)
            step(driver)
            calls = emulator.calls[before:]
            writes = emulator.writes(before)
            rows.append(
                {
                    "step": name,
                    "calls": len(calls),
                    "reads": len(calls) - len(writes),
                    "writes": len(writes),
                    "minimum_writes": minimum,
                    "write_operations": writes,
                }
            )
    return rows


# --- 3b: converging while the monitor settles --------------------------------------------------------

SETTLING_CHANGES = (1, 8, 24)


def measure_settling(changes: tuple[int, ...] = SETTLING_CHANGES) -> list[dict[str, Any]]:
    """A change of k of a monitor's 24 probes (their port), in both of the emulator's modes for
    writes to a settling monitor: the virtual time and the calls it takes to converge."""
    from cdk_netmon.handler.spec import OWNERSHIP_PROPERTY, OWNERSHIP_PROPERTY_VALUE
    from cdk_netmon.testing import LocalNetworkMonitor, handler_pointed_at
    from cdk_netmon.testing.cloudformation import StackDriver

    def template(ports: list[int]) -> dict[str, Any]:
        probes = [
            {
                "sourceArn": f"arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-{i // 4:017x}",
                "destination": f"10.0.{i}.1",
                "protocol": "TCP",
                "destinationPort": port,
            }
            for i, port in enumerate(ports)
        ]
        body = {"monitorName": "settling", "aggregationPeriod": 60, "probes": probes}
        properties = {"ServiceToken": "f", "Monitor": json.dumps(body), OWNERSHIP_PROPERTY: OWNERSHIP_PROPERTY_VALUE}
        return {"Resources": {"Monitor": {"Type": "Custom::NetworkMonitor", "Properties": properties}}}

    rows = []
    for mode in ("accept", "refuse"):
        for k in changes:
            with LocalNetworkMonitor(settling_writes=mode) as emulator, handler_pointed_at(emulator) as handler:
                driver = StackDriver(on_event=handler.on_event, is_complete=handler.is_complete, clock=emulator.clock)
                driver.deploy(template([443] * 24))
                before, started = len(emulator.calls), emulator.clock.now()
                driver.deploy(template([8443] * k + [443] * (24 - k)))
                writes = emulator.writes(before)
                rows.append(
                    {
                        "settling_writes": mode,
                        "probes_changed": k,
                        "virtual_seconds": emulator.clock.now() - started,
                        "calls": len(emulator.calls) - before,
                        "writes": len(writes),
                        # Besides the k UpdateProbes, the request's mark (one TagResource).
                        "refused_writes": len(writes) - k - writes.count("TagResource"),
                    }
                )
    return rows


# --- 4: handler cold start ---------------------------------------------------------------------------


def measure_import(repetitions: int) -> dict[str, Any]:
    """Import the handler as Lambda does (a top-level `handler` package from the asset), in fresh
    interpreters, interleaved with `import boto3` alone."""
    with tempfile.TemporaryDirectory() as asset:
        shutil.copytree(HANDLER_DIR, Path(asset) / "handler", ignore=shutil.ignore_patterns("__pycache__"))
        programs = {"boto3": "import boto3", "handler": "import handler.lifecycle"}
        samples: dict[str, list[float]] = {name: [] for name in programs}
        for _ in range(repetitions):
            for name, statement in programs.items():
                code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
                env = {**os.environ, "PYTHONPATH": asset, "PYTHONDONTWRITEBYTECODE": "1"}
                out = subprocess.run(
                    [sys.executable, "-c", code], cwd=asset, env=env, capture_output=True, text=True, check=True
                )
                samples[name].append(float(out.stdout))
    boto3_median = statistics.median(samples["boto3"])
    handler_median = statistics.median(samples["handler"])
    return {
        "import_boto3_ms_median": boto3_median * 1000,
        "import_handler_ms_median": handler_median * 1000,
        "ratio": handler_median / boto3_median,
        "repetitions": repetitions,
        "asset_zip_bytes": asset_zip_bytes(),
    }


def asset_zip_bytes() -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(HANDLER_DIR.glob("*.py")):
            archive.write(path, f"handler/{path.name}")
    return len(buffer.getvalue())


# --- report -----------------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> str:
    lines = [
        f"Whole process of `python app` (fresh process per build, timed from outside; medians of "
        f"{results['synth'][0]['repetitions']})",
        f"{'app':<18} {'size':>9} {'process s':>9} {'x floor':>7} {'x native':>8} {'x AwsCR':>7} {'cpu s':>6}"
        f" {'x native':>8} {'synth s':>7} {'peak MiB':>8} {'resources':>9} {'template B':>10}",
    ]
    for r in results["synth"]:
        lines.append(
            f"{r['variant']:<18} {r['size']:>9} {r['wall_seconds_median']:>9.2f} "
            f"{r['wall_ratio_to_cfnmonitor']:>7.2f} {r['wall_ratio_to_nativepair']:>8.2f} "
            f"{r['wall_ratio_to_awscustomresource']:>7.2f} {r['cpu_seconds_median']:>6.2f} "
            f"{r['cpu_ratio_to_nativepair']:>8.2f} {r['synth_seconds_median']:>7.2f} "
            f"{r['peak_mib_median']:>8.0f} {r['resources']:>9} {r['template_bytes']:>10}"
        )
    lines += ["", "Template figures"]
    for variant, f in results["templates"].items():
        lines.append(f"  {variant:<18} " + ", ".join(f"{k}={v}" for k, v in f.items()))
    lines += [
        "",
        "API calls per lifecycle step (emulator)",
        f"{'step':<28} {'calls':>5} {'reads':>5} {'writes':>6} {'minimum':>7}",
    ]
    for r in results["api_calls"]:
        lines.append(f"{r['step']:<28} {r['calls']:>5} {r['reads']:>5} {r['writes']:>6} {r['minimum_writes']:>7}")
    lines += [
        "",
        "Converging a change of k of 24 probes, by the emulator's way with writes to a settling monitor",
        f"{'writes while settling':<22} {'k':>3} {'virtual s':>9} {'calls':>5} {'writes':>6} {'refused':>7}",
    ]
    for r in results["settling"]:
        lines.append(
            f"{r['settling_writes']:<22} {r['probes_changed']:>3} {r['virtual_seconds']:>9.0f} {r['calls']:>5}"
            f" {r['writes']:>6} {r['refused_writes']:>7}"
        )
    c = results["cold_start"]
    lines += [
        "",
        f"Handler cold start (fresh interpreter; medians of {c['repetitions']})",
        f"  import boto3 {c['import_boto3_ms_median']:.0f} ms, import handler {c['import_handler_ms_median']:.0f} ms,"
        f" ratio {c['ratio']:.2f}; Lambda asset {c['asset_zip_bytes']} bytes zipped",
    ]
    lines += ["", "Targets"] + [
        f"  [{'met' if t['met'] else 'MISSED'}] {t['target']}: {t['measured']}" for t in results["targets"]
    ]
    return "\n".join(lines)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    checks = []
    ours = {r["size"]: r for r in results["synth"] if r["variant"] == "NetworkMonitor"}
    for size in ("1x1", "100x20"):
        if size in ours:
            ratio = ours[size]["wall_ratio_to_cfnmonitor"]
            checks.append(
                {
                    "target": f"whole process at {size} <= {PROCESS_RATIO_TARGET}x the CfnMonitor floor",
                    "measured": f"{ratio:.2f}x",
                    "met": ratio <= PROCESS_RATIO_TARGET,
                }
            )
    for size, row in ours.items():
        for peer in PEERS:
            ratio = row[f"wall_ratio_to_{peer.lower()}"]
            checks.append({"target": f"faster than {peer} at {size}", "measured": f"{ratio:.2f}x", "met": ratio < 1})
    native = {r["size"]: r for r in results["synth"] if r["variant"] == "NativeEngine"}
    for size in ("1x1", "100x20"):
        if size in native:
            ratio, cpu = native[size]["wall_ratio_to_nativepair"], native[size]["cpu_ratio_to_nativepair"]
            checks.append(
                {
                    "target": f"native engine at {size} <= {NATIVE_RATIO_TARGET}x the hand-written native pair",
                    "measured": f"{ratio:.2f}x (CPU time {cpu:.2f}x)",
                    "met": ratio <= NATIVE_RATIO_TARGET,
                }
            )
    shared = results["templates"]["NetworkMonitor"].get("resources_per_monitor")
    if shared is not None:
        checks.append(
            {
                "target": "provider resources constant in the number of monitors",
                "measured": f"{shared} resources per monitor",
                "met": shared == 1,
            }
        )
    extra = [r for r in results["api_calls"] if r["writes"] != r["minimum_writes"]]
    checks.append(
        {
            "target": "write calls equal the minimum for every step",
            "measured": "all equal" if not extra else ", ".join(f"{r['step']}: {r['writes']}" for r in extra),
            "met": not extra,
        }
    )
    ratio = results["cold_start"]["ratio"]
    checks.append(
        {
            "target": f"handler import within {IMPORT_RATIO_TARGET - 1:.0%} of import boto3",
            "measured": f"{ratio:.2f}x",
            "met": ratio <= IMPORT_RATIO_TARGET,
        }
    )
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="one repetition, smallest size (a smoke run)")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results.json")
    args = parser.parse_args(argv)
    repetitions = 1 if args.quick else args.repetitions
    sizes = SIZES[:1] if args.quick else SIZES

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    compile_bytecode()
    log("synth ...")
    synth = measure_synth(sizes, repetitions, log)
    log("API calls ...")
    api_calls = measure_api_calls(k=4 if args.quick else 20)
    log("settling ...")
    settling = measure_settling((1, 8) if args.quick else SETTLING_CHANGES)
    log("cold start ...")
    cold_start = measure_import(3 if args.quick else 15)
    results: dict[str, Any] = {
        "synth": synth,
        "templates": template_figures(synth),
        "api_calls": api_calls,
        "settling": settling,
        "cold_start": cold_start,
    }
    results["targets"] = targets(results)
    results["seconds"] = time.perf_counter() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))
    print(f"\n({results['seconds']:.0f} s; written to {args.output})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
