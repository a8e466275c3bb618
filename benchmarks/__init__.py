"""Benchmarks for cdk_netmon: `make benchmark` (or `python -m benchmarks.run`)."""
