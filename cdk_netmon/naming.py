"""Generated monitor names: readable, stable across synths, unique within an account and region.

Monitor names are unique per account and region and changing one replaces the monitor, so a
generated name depends only on the stack name and the construct path, never on the order of
construction or on anything resolved at deploy.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ._jsii import is_unresolved
from .handler.rules import MONITOR_NAME_MAX_LENGTH

_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]+")


@dataclass(frozen=True)
class MonitorNames:
    """The names of one stack's monitors."""

    stack_name: str
    stack_path: str

    @property
    def prefix(self) -> str:
        """Every generated name in the stack starts with this (unless the stack name is a token)."""
        return f"{self.stack_name}-"

    def generate(self, path: str, *, native: bool = False) -> str:
        """`<stack name>-<path below the stack>-<hash of the path>`, at most 200 characters: prefixed
        by the stack name so that a reader sees which stack a monitor belongs to. A native monitor's
        hash is of its path and its engine, so that changing a monitor's engine changes its name:
        CloudFormation creates the new monitor before it deletes the old, and a name is unique."""
        digest = hashlib.sha256((f"{path}\0native" if native else path).encode()).hexdigest()[:8]
        readable = _NAME_UNSAFE.sub("-", path[len(self.stack_path) + 1 :]).strip("-")
        if is_unresolved(self.stack_name):
            return f"{readable[: MONITOR_NAME_MAX_LENGTH - 9]}-{digest}"
        room = MONITOR_NAME_MAX_LENGTH - len(self.prefix) - len(digest) - 1
        return f"{self.prefix}{readable[:room]}-{digest}"
