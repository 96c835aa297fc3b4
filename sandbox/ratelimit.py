"""Per-deployment TPM and RPM limits, enforced the way Azure OpenAI does.

A deployment's capacity C (units) allows C x 1,000 tokens per minute and C x 6 requests per minute.
Azure evaluates RPM over short windows (600 RPM is about 10 requests a second), so requests are
counted over 10 seconds with a limit of C (= 6C per minute / 6). A request's token cost is estimated
before it runs as its prompt tokens plus its max tokens, which is what Azure counts too.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass

TOKEN_WINDOW = 60.0
REQUEST_WINDOW = 10.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until the request would fit; 0 when allowed
    limit_tokens: int
    limit_requests: int
    remaining_tokens: int
    remaining_requests: int
    reason: str = ""  # "tokens" or "requests" when refused


class SlidingWindow:
    """Sum of costs over the last `window` seconds of the sandbox clock."""

    def __init__(self, window: float):
        self.window = window
        self._events: deque[tuple[float, int]] = deque()
        self._total = 0

    def _expire(self, now: float) -> None:
        while self._events and self._events[0][0] <= now - self.window:
            self._total -= self._events.popleft()[1]

    def used(self, now: float) -> int:
        self._expire(now)
        return self._total

    def add(self, now: float, cost: int) -> None:
        self._events.append((now, cost))
        self._total += cost

    def wait_for(self, now: float, cost: int, limit: int) -> float:
        """Seconds until `cost` more fits under `limit` (inf if it never can)."""
        self._expire(now)
        if cost > limit:
            return math.inf
        need = self._total + cost - limit
        if need <= 0:
            return 0.0
        freed = 0
        for stamp, spent in self._events:
            freed += spent
            if freed >= need:
                return max(0.0, stamp + self.window - now)
        return math.inf


class DeploymentLimiter:
    def __init__(self, capacity: int):
        self.capacity = capacity
        self.tokens_per_minute = capacity * 1000
        self.requests_per_window = max(1, capacity)  # 6 RPM per unit, counted over 10 s
        self._tokens = SlidingWindow(TOKEN_WINDOW)
        self._requests = SlidingWindow(REQUEST_WINDOW)
        self._lock = threading.Lock()

    @property
    def requests_per_minute(self) -> int:
        return self.capacity * 6

    def try_acquire(self, now: float, cost: int) -> Decision:
        with self._lock:
            token_wait = self._tokens.wait_for(now, cost, self.tokens_per_minute)
            request_wait = self._requests.wait_for(now, 1, self.requests_per_window)
            if token_wait == 0 and request_wait == 0:
                self._tokens.add(now, cost)
                self._requests.add(now, 1)
                allowed, wait, reason = True, 0.0, ""
            else:
                allowed = False
                wait = max(token_wait, request_wait)
                reason = "tokens" if token_wait >= request_wait else "requests"
            return Decision(
                allowed=allowed,
                retry_after=wait,
                limit_tokens=self.tokens_per_minute,
                limit_requests=self.requests_per_minute,
                remaining_tokens=max(0, self.tokens_per_minute - self._tokens.used(now)),
                remaining_requests=max(0, self.requests_per_window - self._requests.used(now)),
                reason=reason,
            )
