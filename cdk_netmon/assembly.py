"""Synthesized stacks as the commands read them: a template file, or a stack of a cloud assembly
(`cdk.out`) with the environment its manifest gives. Standard library only, so that the commands of
the core package (`python -m cdk_netmon plan`) and of the testing kit share it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class InputError(ValueError):
    """An input the command cannot use; the message says which and why, in one line."""


@dataclass(frozen=True)
class StackInput:
    """A template to deploy, with what the cloud assembly says of its stack."""

    template: dict[str, Any]
    stack_name: str
    account: str | None
    region: str | None
    source: str
    """Where the template was read from, for progress lines."""


def read_input(path: Path, stack: str | None = None) -> StackInput:
    """A template file, or a cloud assembly (its directory or manifest.json) and a stack in it."""
    if path.is_dir() or path.name == "manifest.json":
        assembly = path if path.is_dir() else path.parent
        manifest = _manifest(assembly)
        stacks = {
            name: artifact
            for name, artifact in manifest.get("artifacts", {}).items()
            if artifact.get("type") == "aws:cloudformation:stack"
        }
        if stack is None and len(stacks) == 1:
            [stack] = stacks
        if stack not in stacks:
            raise InputError(f"{assembly}: name a stack with --stack, one of: {', '.join(sorted(stacks)) or '(none)'}")
        artifact = stacks[stack]
        template_path = assembly / artifact["properties"]["templateFile"]
    else:
        template_path, artifact = path, _artifact_of(path)
    try:
        template = json.loads(template_path.read_text())
    except FileNotFoundError:
        raise InputError(f"{template_path} does not exist") from None
    except json.JSONDecodeError as error:
        raise InputError(f"{template_path} is not JSON: {error}") from None
    if not isinstance(template, dict) or "Resources" not in template:
        raise InputError(f"{template_path} is not a CloudFormation template (it has no Resources)")
    account, region = _environment(artifact)
    name = (artifact or {}).get("properties", {}).get("stackName") or template_path.name.split(".")[0]
    return StackInput(template, name, account, region, str(template_path))


def read_app(path: Path) -> list[StackInput]:
    """Every stack of a cloud assembly, each after the stacks it depends on (its imports' exporters)."""
    assembly = path if path.is_dir() else path.parent
    manifest = _manifest(assembly)
    artifacts = manifest.get("artifacts", {})
    stacks = [name for name, artifact in artifacts.items() if artifact.get("type") == "aws:cloudformation:stack"]
    ordered: list[str] = []

    def visit(name: str, seen: tuple[str, ...] = ()) -> None:
        if name in ordered or name not in stacks:
            return
        if name in seen:
            raise InputError(f"{assembly}: stacks depend on each other in a cycle: {' -> '.join([*seen, name])}")
        for dependency in artifacts[name].get("dependencies", []):
            visit(dependency, (*seen, name))
        ordered.append(name)

    for name in stacks:
        visit(name)
    return [read_input(assembly, name) for name in ordered]


def _manifest(assembly: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((assembly / "manifest.json").read_text()))
    except FileNotFoundError:
        raise InputError(f"{assembly} is not a cloud assembly (no manifest.json): run cdk synth first") from None


def _artifact_of(template_path: Path) -> Mapping[str, Any] | None:
    """The manifest entry of a template that sits in a cloud assembly, for its environment."""
    try:
        manifest = json.loads((template_path.parent / "manifest.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    for artifact in manifest.get("artifacts", {}).values():
        if artifact.get("properties", {}).get("templateFile") == template_path.name:
            return dict(artifact)
    return None


def _environment(artifact: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """The stack's account and region where the app gave them (`aws://111122223333/eu-central-1`)."""
    environment = str((artifact or {}).get("environment", ""))
    parts = environment.removeprefix("aws://").split("/")
    if len(parts) != 2:
        return None, None
    account, region = parts
    return (None if account.startswith("unknown") else account), (None if region.startswith("unknown") else region)


def name_value(text: str, option: str) -> tuple[str, str]:
    """`NAME=VALUE`, as `--parameter` and `--ref` take it."""
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise InputError(f"{option} {text!r}: write it as NAME=VALUE")
    return name, value
