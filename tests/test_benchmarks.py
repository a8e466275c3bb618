"""A small, fast run of the benchmark, so that it cannot rot: one repetition, the smallest size; and
the two native variants held to the same template, so that comparing them is fair."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import compare
from benchmarks.apps import build
from benchmarks.run import main


@pytest.mark.slow
def test_the_quick_benchmark_runs_and_reports_every_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "results.json"
    assert main(["--quick", "--output", str(output)]) == 0

    results = json.loads(output.read_text())
    assert {r["variant"] for r in results["synth"]} == {
        "NetworkMonitor",
        "NativeEngine",
        "CfnMonitor",
        "NativePair",
        "AwsCustomResource",
    }
    assert all(r["wall_seconds_median"] > r["synth_seconds_median"] > 0 for r in results["synth"])
    assert all(r["cpu_seconds_median"] > 0 for r in results["synth"])
    # Only the library's own apps pay for importing it: the floor and the peers are plain aws-cdk-lib.
    assert {r["variant"]: r["imported_cdk_netmon"] for r in results["synth"]} == {
        "NetworkMonitor": True,
        "NativeEngine": True,
        "CfnMonitor": False,
        "NativePair": False,
        "AwsCustomResource": False,
    }
    assert [r["writes"] for r in results["api_calls"]] == [r["minimum_writes"] for r in results["api_calls"]]
    assert results["cold_start"]["asset_zip_bytes"] > 0
    printed = capsys.readouterr().out
    for heading in (
        "Whole process",
        "Template figures",
        "API calls per lifecycle step",
        "Handler cold start",
        "Targets",
    ):
        assert heading in printed


@pytest.mark.slow
def test_the_head_to_head_comparison_prints_four_measures_for_a_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert compare.main(["NativeEngine", "NativePair", "1x1", "--pairs", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "1x1, 1 pairs:"
    assert [line.split()[:2] for line in lines[1:]] == [
        ["wall", "NativeEngine"], ["cpu", "NativeEngine"], ["python", "cpu"], ["node", "cpu"]
    ]  # fmt: skip
    assert all("NativeEngine" in line and "NativePair" in line and "ratio of medians" in line for line in lines[1:])


@pytest.mark.parametrize(
    ("ratios", "printed"),
    [
        ([1.0, 1.1], "1.050x (quartiles n/a below 4 pairs)"),
        ([1.0, 1.1, 1.2, 1.3], "1.150x (quartiles 1.075-1.225)"),  # within the values, not beyond them
        ([1.3, 1.0, 1.2, 1.1, 1.4], "1.200x (quartiles 1.100-1.300)"),
    ],
)
def test_the_pairs_spread_is_their_median_and_quartiles_within_them(ratios: list[float], printed: str) -> None:
    assert compare.spread(ratios) == printed


def test_the_comparison_refuses_a_variant_against_itself(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        compare.main(["NativePair", "NativePair", "1x1"])
    assert "NativePair against itself: allowed: two different variants" in capsys.readouterr().err


@pytest.mark.parametrize("size", ["10", "ax1", "1x", "0x1", "\u0661x1"])
def test_the_comparison_refuses_a_size_it_cannot_read(size: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        compare.main(["NativeEngine", "NativePair", size])
    assert f"size {size!r}: allowed: MONITORSxPROBES (1x1, 100x20) or realistic" in capsys.readouterr().err


def name(resource: dict[str, Any]) -> str:
    """A monitor by its name, a probe by its destination (each probe's own in the benchmark's apps)."""
    properties = resource["Properties"]
    return f"{resource['Type']} {properties.get('Destination', properties['MonitorName'])}"


def resources_by_content(variant: str, monitors: int, per_monitor: int, outdir: Path) -> dict[str, Any]:
    """The app's resources, each named by what it is instead of its logical id (which differ by
    design: the engine's come from the probes' stable keys), in their dependencies too."""
    build(variant, monitors, per_monitor, str(outdir)).synth()
    resources: dict[str, Any] = {}
    for template in sorted(outdir.glob("Bench*.template.json")):
        stack = json.loads(template.read_text())["Resources"]
        names = {logical_id: name(resource) for logical_id, resource in stack.items()}
        for logical_id, resource in stack.items():
            if "DependsOn" in resource:
                resource = {**resource, "DependsOn": sorted(names[d] for d in resource["DependsOn"])}
            resources[names[logical_id]] = resource
    return resources


@pytest.mark.parametrize(("monitors", "per_monitor"), [(1, 1), (2, 3), (24, 20)])  # 24x20: two stacks
def test_the_native_engine_renders_what_the_hand_written_native_pair_does(
    monitors: int, per_monitor: int, tmp_path: Path
) -> None:
    engine = resources_by_content("NativeEngine", monitors, per_monitor, tmp_path / "engine")
    pair = resources_by_content("NativePair", monitors, per_monitor, tmp_path / "pair")

    assert len(pair) == monitors * (1 + per_monitor)
    assert engine == pair
