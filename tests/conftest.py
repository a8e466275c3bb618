"""What the whole suite shares: moto's EC2 without its AMIs, and markers that say what a test does.

`make test-fast` runs `pytest -m "not slow and not cli"`, so a test that runs the CDK CLI without
saying so would land in the fast suite. Two rules are checked rather than hoped for: at
collection, a `local_cloud` test is also `cli` and a `cli` test also `slow`; while a test runs,
starting the CDK CLI fails it unless it is marked `cli`. Whether a test takes more than a second
is not checked: on a shared machine the same test takes one second or five, and the first synth
of a session (several seconds) falls on whichever test comes first.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# The kit's EC2 (cdk_netmon.testing.LocalEc2) is moto's, whose every regional backend loads about
# 1,300 default AMIs with a volume and a snapshot each when it is made: half a second per emulator,
# a third of the offline tests' time. No test uses an AMI (moto's setting, moto/settings.py).
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


def start_jsii_with_its_own_tmpdir() -> str | None:
    """An `App()` without `outdir` writes its assembly to a new `cdk.outXXXX` directory in Node.js's
    `os.tmpdir()` and never removes it (aws-cdk-lib's `Stage`, `FileSystem.mkdtemp`): hundreds per
    run, each with a copy of the Lambda asset. jsii starts Node.js when aws_cdk is first imported,
    with a copy of this process's environment, so Node.js alone gets a directory of the session's.
    None where Node.js already runs, or cannot start: the tests that need it then fail on their own."""
    if "aws_cdk" in sys.modules:
        warnings.warn("aws_cdk was imported before tests/conftest.py: cdk.out directories go to /tmp", stacklevel=1)
        return None
    directory = tempfile.mkdtemp(prefix="cdk-netmon-tests-node-")
    saved_variable, saved_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = directory
    try:
        import aws_cdk  # noqa: F401  jsii's Node.js starts here
    except Exception:  # no Node.js, say: the handler's tests, which need none, still run
        shutil.rmtree(directory, ignore_errors=True)
        return None
    finally:
        if saved_variable is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = saved_variable
        tempfile.tempdir = saved_tempdir  # aws_cdk's import may have cached gettempdir() as ours
    return directory


NODE_TMPDIR = start_jsii_with_its_own_tmpdir()


def pytest_unconfigure(config: pytest.Config) -> None:
    if NODE_TMPDIR is not None:
        shutil.rmtree(NODE_TMPDIR, ignore_errors=True)


IMPLIED = {"local_cloud": "cli", "cli": "slow"}
"""A marker and the marker it implies: the local cloud deploys with the CDK CLI, which is slow."""


def missing_markers(item: pytest.Item) -> list[str]:
    marked = {mark.name for mark in item.iter_markers()}
    return sorted({implied for marker, implied in IMPLIED.items() if marker in marked} - marked)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    problems = [
        f"{item.nodeid}: also mark it {', '.join(missing)}" for item in items if (missing := missing_markers(item))
    ]
    if problems:
        raise pytest.UsageError("markers that imply others (tests/conftest.py):\n" + "\n".join(problems))


def runs_the_cdk_cli(args: Any) -> bool:
    """Whether a process started with `args` is the CDK CLI: its `cdk` script, directly or through node."""
    if isinstance(args, (str, bytes, os.PathLike)):
        argv = shlex.split(os.fsdecode(args)) if isinstance(args, (str, bytes)) else [os.fsdecode(args)]
    else:
        argv = [os.fsdecode(a) for a in args]
    programs = argv[:2] if argv and Path(argv[0]).name in ("node", "npx") else argv[:1]
    return any(Path(program).name == "cdk" for program in programs)


@contextmanager
def cli_refused(nodeid: str) -> Iterator[None]:
    """Fail the test `nodeid` if it starts the CDK CLI."""
    start = subprocess.Popen.__init__

    def guarded(self: subprocess.Popen[Any], args: Sequence[Any] | str, *rest: Any, **options: Any) -> None:
        if runs_the_cdk_cli(args):
            pytest.fail(f"{nodeid} runs the CDK CLI: mark it @pytest.mark.cli (and slow)", pytrace=False)
        start(self, args, *rest, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess.Popen, "__init__", guarded)
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    if item.get_closest_marker("cli") is not None:
        return (yield)
    with cli_refused(item.nodeid):
        return (yield)
