"""The sandbox clock: wall time, optionally sped up, that tests can also push forward.

Everything that takes time in the sandbox (deployments provisioning, files processing, fine-tuning
jobs, cluster auto-termination) is derived from this clock when it is read, so no background thread
is needed and a test can jump an hour ahead with one call.
"""

from __future__ import annotations

import datetime as dt
import threading
import time


class SandboxClock:
    """`start`: the sandbox time at creation (an aware datetime; a naive one is read as UTC), else wall time."""

    def __init__(self, speed: float = 1.0, start: dt.datetime | None = None):
        self._speed = speed
        self._origin_wall = time.time()
        if start is not None and start.tzinfo is None:
            start = start.replace(tzinfo=dt.timezone.utc)
        self._origin = (start or dt.datetime.now(dt.timezone.utc)).timestamp()
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        """Sandbox time as a Unix timestamp."""
        with self._lock:
            return self._origin + (time.time() - self._origin_wall) * self._speed + self._offset

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.time(), dt.timezone.utc)

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._offset += seconds
        return self.time()
