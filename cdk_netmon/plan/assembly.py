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
    """A template file, or a cloud assembly (its directory or manifest.json) and a stack in it,
    named by its artifact id or its stack name."""
    artifact: Mapping[str, Any] | None
    if path.is_dir() or path.name == "manifest.json":
        assembly = path if path.is_dir() else path.parent
        stacks = _stacks(assembly)
        names = ", ".join(sorted(stacks)) or "(none)"
        if stack is None and len(stacks) != 1:
            several = f"several stacks: name one with --stack ({names})" if stacks else "no stack"
            raise InputError(f"{assembly} holds {several}")
        if stack is None:
            [stack] = stacks
        found = stacks.get(stack) or next(
            (a for a in stacks.values() if a["properties"].get("stackName") == stack), None
        )
        if found is None:
            raise InputError(f"{assembly}: no stack {stack} in this cloud assembly; its stacks: {names}")
        template_file = found["properties"].get("templateFile")
        if not isinstance(template_file, str):
            raise InputError(f"{assembly / 'manifest.json'}: stack {stack} names no templateFile")
        template_path, artifact = assembly / template_file, found
    else:  # a template file; the manifest beside it, if any, gives its stack's environment
        template_path, artifact = path, _artifact_of(path)
    template = _json(template_path)
    if not isinstance(template, dict) or "Resources" not in template:
        raise InputError(f"{template_path} is not a CloudFormation template (it has no Resources)")
    account, region = _environment(artifact)
    name = (artifact or {}).get("properties", {}).get("stackName") or template_path.name.split(".")[0]
    return StackInput(template, str(name), account, region, str(template_path))


def _json(path: Path) -> Any:
    """A JSON file's value; an InputError naming the file when it is missing, unreadable or not JSON."""
    try:
        return json.loads(path.read_bytes().decode())
    except FileNotFoundError:
        raise InputError(f"{path} does not exist") from None
    except OSError as error:
        raise InputError(f"{path} cannot be read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        byte = error.object[error.start]
        raise InputError(
            f"{path} is not JSON: it is not UTF-8 text (byte 0x{byte:02x} at offset {error.start})"
        ) from None
    except json.JSONDecodeError as error:
        raise InputError(f"{path} is not JSON: {error}") from None


def read_app(path: Path) -> list[StackInput]:
    """Every stack of a cloud assembly, each after the stacks it depends on (its imports' exporters)."""
    assembly = path if path.is_dir() else path.parent
    artifacts = _stacks(assembly)
    stacks = list(artifacts)
    ordered: list[str] = []

    def visit(name: str, seen: tuple[str, ...] = ()) -> None:
        if name in ordered or name not in stacks:
            return
        if name in seen:
            raise InputError(f"{assembly}: stacks depend on each other in a cycle: {' -> '.join([*seen, name])}")
        for dependency in artifacts[name].get("dependencies") or []:
            visit(dependency, (*seen, name))
        ordered.append(name)

    for name in stacks:
        visit(name)
    return [read_input(assembly, name) for name in ordered]


def _stacks(assembly: Path) -> dict[str, dict[str, Any]]:
    """The stack artifacts of a cloud assembly's manifest, by artifact id."""
    if not (assembly / "manifest.json").exists():
        raise InputError(f"{assembly} is not a cloud assembly (no manifest.json): run cdk synth first")
    manifest = _json(assembly / "manifest.json")
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        raise InputError(f"{assembly / 'manifest.json'} is not a cloud assembly's manifest (it has no artifacts)")
    return {
        name: {**artifact, "properties": dict(artifact.get("properties") or {})}
        for name, artifact in artifacts.items()
        if isinstance(artifact, dict) and artifact.get("type") == "aws:cloudformation:stack"
    }


def _artifact_of(template_path: Path) -> Mapping[str, Any] | None:
    """The manifest entry of a template that sits in a cloud assembly, for its environment."""
    try:
        stacks = _stacks(template_path.parent)
    except InputError:
        return None
    return next((a for a in stacks.values() if a["properties"].get("templateFile") == template_path.name), None)


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
