"""The local cloud for one `with` block: ministack and the Network Monitor emulator, started and
stopped by their process ids, and the project's CDK CLI pointed at them (see the package's docstring)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

HERE = Path(__file__).resolve().parent
"""ministack's pinned requirements and launcher live beside this module."""
ACCOUNT = "111111111111"
"""A 12-digit access key is the account, for ministack and for the emulator alike."""
REGION = "us-east-1"
CLOCK_SCALE = 10.0
"""Virtual seconds per real second: a 60 s PENDING period lasts 6 s."""
WAITER_SCALE = "0.2"
"""ministack's SFN_WAIT_SCALE: the framework's 15 s polls take 3 s."""
SERVICE_GROUP_DESCRIPTION = "Created By Amazon CloudWatch Network Monitor for "
"""How the service describes the security group it makes per monitor and VPC."""
UNTRUSTED_CA_VARIABLES = ("NODE_EXTRA_CA_CERTS", "AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
"""Preset on these machines; they would point the SDKs at certificates ministack's plain HTTP does not use."""


class LocalCloudError(RuntimeError):
    """A step of the local cloud failed; the message says which, with the end of its output."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalCloud:
    """ministack and the emulator, started for one `with` block in `workdir`.

    `cdk(...)` runs the project's CDK CLI against them; `monitors()` is what the emulator holds.
    """

    def __init__(self, root: Path, workdir: Path | None = None, out: TextIO = sys.stdout) -> None:
        self.root = root
        self.workdir = workdir or root / ".local-cloud"
        self.out = out
        self.bin = Path(sys.executable).parent
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.emulator_url = ""
        self.processes: list[subprocess.Popen[bytes]] = []

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> LocalCloud:
        self.workdir.mkdir(parents=True, exist_ok=True)
        python = self._ministack_python()
        try:
            self._start_emulator()
            self._start_ministack(python)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop both servers by process id: SIGTERM to their process groups, SIGKILL after 10 s."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes = []

    # -- what tests and the command use ---------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The environment of the CDK CLI (and of clients) for the local cloud."""
        env = {k: v for k, v in os.environ.items() if k not in UNTRUSTED_CA_VARIABLES}
        env.update(
            {
                "PATH": os.pathsep.join([str(self.bin), str(self.root / "node_modules" / ".bin"), env.get("PATH", "")]),
                "JSII_NODE": str(self.bin / "node"),
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": ACCOUNT,
                "AWS_SECRET_ACCESS_KEY": "local-cloud",
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "CDK_DISABLE_CLI_TELEMETRY": "true",
                "CDK_DISABLE_VERSION_CHECK": "true",
            }
        )
        return env

    def cdk(self, *arguments: str, timeout: float = 600) -> str:
        """Run the project's CDK CLI; its output, or LocalCloudError with the end of it."""
        command = [str(self.root / "node_modules" / ".bin" / "cdk"), *arguments, "--no-notices"]
        result = subprocess.run(
            command, cwd=self.root, env=self.env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        output = result.stdout + result.stderr
        if result.returncode != 0:
            raise LocalCloudError(f"cdk {arguments[0]} failed ({result.returncode}):\n{_tail(output)}")
        return output

    def synth(self, out: Path, *, app: str | None = None, context: Sequence[str] = ()) -> Path:
        """Synthesize the app (cdk.json's, or `app`) into `out` as a deploy here would: with the
        local cloud's account and region as the CLI's defaults. The quotas its stacks declare
        (`NetworkMonitorProvider.configure(quotas=...)`) become the emulator's, as if the team had
        raised them in this account."""
        arguments = ["synth", "--quiet", "--output", str(out), *(["--app", app] if app else [])]
        self.cdk(*arguments, *(f"--context={c}" for c in context), timeout=600)
        self.raise_quotas(out)
        return out

    def raise_quotas(self, assembly: Path) -> None:
        """The emulator's account takes the largest quotas the assembly's stacks declare."""
        from cdk_netmon.handler.rules import DEFAULT_QUOTAS
        from cdk_netmon.testing.kit import declared_quotas

        declared = [declared_quotas(json.loads(t.read_text())) for t in sorted(assembly.glob("*.template.json"))]
        raised = {
            "probes_per_monitor": max([q.probes_per_monitor for q in declared], default=0),
            "probes_per_subnet": max([q.probes_per_subnet for q in declared], default=0),
        }
        if any(value > getattr(DEFAULT_QUOTAS, name) for name, value in raised.items()):
            request = urllib.request.Request(
                f"{self.emulator_url}/_emulator/quotas/{ACCOUNT}/{REGION}",
                data=json.dumps(raised).encode(),
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=10):
                pass

    def deploy(
        self, assembly: Path, stacks: Sequence[str] = (), *, parameters: Sequence[str] = (), timeout: float = 900
    ) -> str:
        """`cdk deploy` of a synthesized app's stacks (every one if none is named), printing the
        monitors whenever they change; the CLI's output."""
        command = [
            str(self.root / "node_modules" / ".bin" / "cdk"), "deploy", *(stacks or ["--all"]), "--app", str(assembly),
            "--require-approval", "never", *(f"--parameters={p}" for p in parameters), "--no-notices",
        ]  # fmt: skip
        deploy = subprocess.Popen(
            command, cwd=self.root, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        output: list[str] = []
        reader = threading.Thread(target=lambda: output.extend(deploy.stdout or ()), daemon=True)
        reader.start()
        self.watch(deploy, timeout=timeout)
        reader.join(timeout=30)
        if deploy.returncode != 0:
            raise LocalCloudError(f"cdk deploy failed ({deploy.returncode}):\n{_tail(''.join(output))}")
        return "".join(output)

    def destroy(self, assembly: Path, stacks: Sequence[str] = (), timeout: float = 600) -> str:
        return self.cdk("destroy", *(stacks or ["--all"]), "--app", str(assembly), "--force", timeout=timeout)

    def service_groups(self) -> dict[str, str]:
        """The security groups the service made in ministack's EC2: group id -> VPC id."""
        return {
            g["GroupId"]: g.get("VpcId", "")
            for g in self.ec2().describe_security_groups()["SecurityGroups"]
            if g["Description"].startswith(SERVICE_GROUP_DESCRIPTION)
        }

    def monitors(self) -> dict[str, Any]:
        """The emulator's monitors in the local cloud's account and region, as GetMonitor answers."""
        state = self._emulator_state()
        return dict(state["monitors"].get(f"{ACCOUNT}/{REGION}", {}))

    def ec2(self) -> Any:
        """A boto3 EC2 client of ministack, in the local cloud's account and region."""
        import boto3

        return boto3.client(
            "ec2", endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=ACCOUNT,
            aws_secret_access_key="local-cloud",
        )  # fmt: skip

    def emulator_calls(self) -> list[str]:
        """Every Network Monitor operation the emulator has received, in order."""
        return list(self._emulator_state()["calls"])

    def watch(self, process: subprocess.Popen[str], timeout: float) -> None:
        """Print the monitors whenever they change, until `process` ends (or `timeout`)."""
        deadline, last = time.monotonic() + timeout, ""
        while process.poll() is None:
            if time.monotonic() > deadline:
                process.kill()
                raise LocalCloudError(f"still deploying after {timeout:.0f} s")
            lines = describe_monitors(self.monitors())
            if lines != last:
                self.out.write(f"  [{time.strftime('%H:%M:%S')}] {lines}\n")
                self.out.flush()
                last = lines
            time.sleep(1)

    # -- set-up ----------------------------------------------------------------------------------

    def _ministack_python(self) -> Path:
        """ministack's own environment, installed when its pinned requirements change."""
        requirements = HERE / "requirements.txt"
        venv = self.workdir / "venv"
        stamp = venv / ".requirements-sha256"
        digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
        if not stamp.exists() or stamp.read_text() != digest:
            shutil.rmtree(venv, ignore_errors=True)
            self._run([sys.executable, "-m", "venv", str(venv)], "creating ministack's environment", 300)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            self._run([*pip, "-r", str(requirements)], "installing ministack", 600)
            stamp.write_text(digest)
        return venv / "bin" / "python"

    def _start_emulator(self) -> None:
        endpoint_file = self.workdir / "emulator.url"
        endpoint_file.unlink(missing_ok=True)
        command = [
            sys.executable, "-m", "cdk_netmon.testing.emulator", "serve",
            "--clock-scale", str(CLOCK_SCALE), "--endpoint-file", str(endpoint_file),
            "--ec2-endpoint", self.endpoint,
        ]  # fmt: skip
        self._spawn(command, self.workdir / "emulator.log", dict(os.environ))
        _wait_for(endpoint_file.exists, 30, "the emulator to start", self.workdir / "emulator.log")
        self.emulator_url = endpoint_file.read_text().strip()

    def _start_ministack(self, python: Path) -> None:
        env = self.env()
        env.update(
            {
                "GATEWAY_PORT": str(self.port),
                "BIND_HOST": "127.0.0.1",
                "AWS_ENDPOINT_URL_NETWORKMONITOR": self.emulator_url,
                "NETMON_CLOCK_SCALE": str(CLOCK_SCALE),
                "NODE_PATH": str(self.root / "node_modules"),
                "SFN_WAIT_SCALE": WAITER_SCALE,
            }
        )
        log = self.workdir / "ministack.log"
        self._spawn([str(python), str(HERE / "launch_ministack.py")], log, env)
        _wait_for(lambda: _answers(f"{self.endpoint}/_ministack/health"), 60, "ministack to start", log)

    def _spawn(self, command: Sequence[str], log: Path, env: Mapping[str, str]) -> None:
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command, cwd=self.workdir, env=dict(env), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes.append(process)

    def _run(self, command: Sequence[str], what: str, timeout: float) -> None:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise LocalCloudError(f"{what} failed:\n{_tail(result.stdout + result.stderr)}")

    def _emulator_state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.emulator_url}/_emulator/state", timeout=10) as response:
            return dict(json.load(response))


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def _wait_for(condition: Any, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise LocalCloudError(
                f"gave up waiting for {what} after {seconds:.0f} s:\n{_tail(log.read_text(errors='replace'))}"
            )
        time.sleep(0.25)


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def describe_monitors(monitors: Mapping[str, Any]) -> str:
    if not monitors:
        return "(no monitors)"
    parts = []
    for name, monitor in sorted(monitors.items()):
        states: dict[str, int] = {}
        for probe in monitor["probes"]:
            states[probe["state"]] = states.get(probe["state"], 0) + 1
        probes = " ".join(f"{n} {state}" for state, n in sorted(states.items()))
        parts.append(f"{name} {monitor['state']}" + (f", probes {probes}" if probes else ""))
    return "; ".join(parts)
