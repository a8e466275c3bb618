"""What tests/conftest.py promises the whole session."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App


def test_an_app_without_outdir_writes_to_a_directory_the_session_removes() -> None:
    """Not to /tmp itself, where aws-cdk-lib would leave it (tests/conftest.py removes this one)."""
    outdir = Path(App().outdir)
    assert outdir.name.startswith("cdk.out")
    assert outdir.parent.name.startswith("cdk-netmon-tests-node-")
