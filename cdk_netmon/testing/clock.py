"""Virtual time, shared by the emulator (PENDING periods) and the CloudFormation stand-in (polls)."""

from __future__ import annotations

import threading


class Clock:
    """Virtual time: PENDING periods of minutes pass when the test says so, not in real time."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
