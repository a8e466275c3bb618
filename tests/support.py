"""Builders shared by the tests: stacks, probes and CloudFormation-shaped handler events."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from cdk_netmon import MonitorProbe, ProbeProtocol
from cdk_netmon.testing import normalise_asset_hashes

__all__ = ["normalise_asset_hashes"]

SUBNET_A = "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0a1b2c3d4e5f60001"
SUBNET_B = "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0a1b2c3d4e5f60002"


HANDLER_MODULES = (
    "__init__.py",
    "clients.py",
    "lifecycle.py",
    "live.py",
    "planner.py",
    "response.py",
    "rules.py",
    "security_groups.py",
    "service.py",
    "spec.py",
    "writes.py",
)
"""What the Lambda asset holds, and nothing else: the handler package."""


def subnet_arn(index: int) -> str:
    return f"arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-{index:017x}"


def new_stack(name: str = "Stack") -> Stack:
    return Stack(App(), name)


def isolated_vpc(stack: Stack, azs: int = 2) -> ec2.Vpc:
    """A VPC of isolated subnets only (no NAT), one per AZ: subnets to probe from."""
    return ec2.Vpc(
        stack,
        "Vpc",
        max_azs=azs,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="P", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )


def tcp(destination: str = "10.0.0.1", port: int | None = 443, source_arn: str = SUBNET_A, **kw: Any) -> MonitorProbe:
    return MonitorProbe(
        source_arn=source_arn, destination=destination, protocol=ProbeProtocol.TCP, destination_port=port, **kw
    )


def icmp(destination: str = "10.0.0.1", source_arn: str = SUBNET_A, **kw: Any) -> MonitorProbe:
    return MonitorProbe(source_arn=source_arn, destination=destination, protocol=ProbeProtocol.ICMP, **kw)


def imported_subnet_stack(app: App, env: Any = None) -> Stack:
    """A hub stack of a subnet imported by id and an explicitly named monitor probing from it."""
    from cdk_netmon import NetworkMonitor

    stack = Stack(app, "Hub", env=env)
    subnet = ec2.Subnet.from_subnet_id(stack, "Shared", "subnet-0a1b2c3d4e5f60001")
    NetworkMonitor(
        stack,
        "Dc1",
        monitor_name="dc1",
        probes=[MonitorProbe(source=subnet, destination="10.1.0.1", protocol=ProbeProtocol.ICMP)],
    )
    return stack


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of the project's CDK CLI: the venv's Node.js 24 on PATH and as JSII_NODE."""
    import os
    import sys
    from pathlib import Path

    venv_bin = str(Path(sys.executable).parent)
    cli_bin = str(Path(__file__).resolve().parent.parent / "node_modules" / ".bin")
    return {
        **os.environ,
        "PATH": os.pathsep.join([venv_bin, cli_bin, os.environ.get("PATH", "")]),
        "JSII_NODE": str(Path(venv_bin) / "node"),
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        **extra,
    }


def run_cdk(*arguments: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """The project's CDK CLI, run in the repository: its exit code and its output."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    cdk = root / "node_modules" / ".bin" / "cdk"
    if not cdk.exists():
        raise AssertionError("the CDK CLI is not installed: run the README's set-up (make test) first")
    result = subprocess.run(
        [str(cdk), *arguments, "--no-notices"],
        cwd=root,
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


VALIDATION_REPORT = "ValidationFailedWithErrors: Validation failed with the following errors:"
"""How aws-cdk-lib's synth starts the report of every construct's `node.add_validation` problems
(it raises it across jsii as a RuntimeError)."""


def synth_report(stack: Stack) -> list[str]:
    """Synthesize the app of `stack`: [] for a template, else the lines of aws-cdk-lib's validation
    report (`[construct path] problem`). Any other error, an internal one, is raised as it came."""
    app = stack.node.root
    assert isinstance(app, App)
    try:
        app.synth()
    except RuntimeError as error:
        text = str(error)
        if not text.startswith(VALIDATION_REPORT):
            raise
        return [line.strip() for line in text.splitlines()[1:] if line.strip()]
    return []


def template_json(stack: Stack) -> dict[str, Any]:
    return dict(Template.from_stack(stack).to_json())


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def parameter_template(monitor_name: str = "m", source_arn: str = SUBNET_A) -> dict[str, Any]:
    """A stack whose probe's destination is a template parameter, Destination, with no default."""
    from aws_cdk import CfnParameter

    from cdk_netmon import NetworkMonitor

    stack = Stack(App(), "Param")
    destination = CfnParameter(stack, "Destination").value_as_string
    NetworkMonitor(
        stack,
        "M",
        monitor_name=monitor_name,
        probes=[MonitorProbe(source_arn=source_arn, destination=destination, protocol=ProbeProtocol.ICMP)],
    )
    return template_json(stack)
