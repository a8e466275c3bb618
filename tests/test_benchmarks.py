"""A small, fast run of the benchmark, so that it cannot rot: one repetition, the smallest size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.run import main


@pytest.mark.slow
def test_the_quick_benchmark_runs_and_reports_every_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "results.json"
    assert main(["--quick", "--output", str(output)]) == 0

    results = json.loads(output.read_text())
    assert {r["variant"] for r in results["synth"]} == {
        "NetworkMonitor",
        "CfnMonitor",
        "NativePair",
        "AwsCustomResource",
    }
    assert all(r["wall_seconds_median"] > r["synth_seconds_median"] > 0 for r in results["synth"])
    # Only the library's own app pays for importing it: the floor and the peers are plain aws-cdk-lib.
    assert {r["variant"]: r["imported_cdk_netmon"] for r in results["synth"]} == {
        "NetworkMonitor": True,
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
