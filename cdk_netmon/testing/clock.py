"""Virtual time, shared by the emulator (PENDING periods) and the CloudFormation stand-in (polls)."""

from __future__ import annotations

import threading
import time


class Clock:
    """Virtual time: PENDING periods of minutes pass when the test says so, not in real time.

    With `scale`, time also passes by itself, `scale` virtual seconds per real second, as a
    standalone emulator needs when a real CloudFormation engine polls it in real time.
    """

    def __init__(self, start: float = 1_790_000_000.0, scale: float = 0.0) -> None:
        self._now = start
        self._scale = scale
        self._started = time.monotonic()
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now + (time.monotonic() - self._started) * self._scale

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
