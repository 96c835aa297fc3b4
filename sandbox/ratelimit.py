"""Per-deployment TPM and RPM limits, enforced and reported the way Azure OpenAI documents them.

Sources (Microsoft Learn, "Manage Azure OpenAI quota": MicrosoftDocs/azure-ai-docs
articles/foundry/openai/includes/quota-1.md, ms.date 2026-09-16, and quota-2.md, ms.date 2026-05-06; the quota tier
tables, includes/quota-tier/tier-1.md, ms.date 2026-08-20):
- A deployment of capacity C units gets C x 1,000 tokens per minute and an RPM "set proportionally to the TPM
  assignment"; the ratio "can vary by model" (older chat models 6 RPM per unit, o4-mini and o3 1, gpt-5 10...).
  The twin takes it per model from its catalog (`rpmPer1000Tpm`), see `RateLimits.for_capacity`.
- A request's token cost is estimated when it is received: prompt tokens plus max_tokens (times n).
- RPM "expects that requests be evenly distributed over a one-minute period" and is evaluated "over a small
  period of time, typically 1 or 10 seconds". The twin counts requests over the last 60 s (limit RPM) and over
  the last 10 s (limit RPM/6 rounded up, at least 1), tokens over the last 60 s (limit TPM).
- "Unsuccessful requests still count toward your per-minute rate limit. Continuously resending a request without
  backing off makes throttling worse": every request received counts in the request windows, admitted or refused
  with 429; a refused request costs no tokens (nothing is processed).
- Every reply carries x-ratelimit-limit/remaining/reset for requests and tokens. All three describe the same
  per-minute window: limit = RPM (TPM), remaining = limit minus what the last 60 s hold, reset = seconds until
  that window holds nothing again (its initial state, whole seconds rounded up).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass

MINUTE = 60.0
SHORT_WINDOW = 10.0  # the "small period" over which Azure checks that requests are evenly spread
OLDER_CHAT_MODELS_RPM_PER_UNIT = 6  # quota-1.md's "Older chat models" row: 1 unit = 6 RPM + 1,000 TPM


@dataclass(frozen=True)
class RateLimits:
    """A deployment's limits: tokens and requests per minute, and the short-window request allowance."""

    tokens_per_minute: int
    requests_per_minute: int

    @classmethod
    def for_capacity(cls, capacity: int, rpm_per_1000_tpm: float = OLDER_CHAT_MODELS_RPM_PER_UNIT) -> RateLimits:
        """`capacity` units of a model whose quota table gives `rpm_per_1000_tpm` requests per 1,000 TPM."""
        tokens = capacity * 1000
        return cls(tokens, max(1, math.floor(tokens / 1000 * rpm_per_1000_tpm)))

    @property
    def requests_per_short_window(self) -> int:
        return max(1, math.ceil(self.requests_per_minute * SHORT_WINDOW / MINUTE))

    def arm_json(self) -> list[dict]:
        """ARM's deployment `properties.rateLimits`: requests per 10 s when the RPM divides into 10-second windows
        (as Azure reports older chat models), else per 60 s; tokens per 60 s."""
        rpm = self.requests_per_minute
        requests = ({"key": "request", "renewalPeriod": 10, "count": rpm // 6} if rpm % 6 == 0
                    else {"key": "request", "renewalPeriod": 60, "count": rpm})
        return [requests, {"key": "token", "renewalPeriod": 60, "count": self.tokens_per_minute}]


def deployment_limits(catalog, model_name: str, capacity: int) -> RateLimits:
    """The limits of `capacity` units of `model_name`, its RPM per unit from the catalog (`rpmPer1000Tpm`)."""
    return RateLimits.for_capacity(capacity, catalog.requests_per_unit(model_name))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until the request would fit; 0 when allowed, inf when it never can
    limit_tokens: int
    limit_requests: int  # per minute
    remaining_tokens: int
    remaining_requests: int
    reset_tokens: float  # seconds until the token window is empty again
    reset_requests: float  # seconds until the per-minute request window is empty again
    reason: str = ""  # "tokens" or "requests" when refused

    def headers(self) -> dict[str, str]:
        """The x-ratelimit-* headers Azure sends with every reply (quota-2.md, "Rate limit response headers")."""
        return {
            "x-ratelimit-limit-requests": str(self.limit_requests),
            "x-ratelimit-limit-tokens": str(self.limit_tokens),
            "x-ratelimit-remaining-requests": str(self.remaining_requests),
            "x-ratelimit-remaining-tokens": str(self.remaining_tokens),
            "x-ratelimit-reset-requests": str(math.ceil(self.reset_requests)),
            "x-ratelimit-reset-tokens": str(math.ceil(self.reset_tokens)),
        }


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

    def empty_in(self, now: float) -> float:
        """Seconds until nothing counted now is left in the window."""
        self._expire(now)
        return max(0.0, self._events[-1][0] + self.window - now) if self._events else 0.0

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
        return math.inf  # pragma: no cover - the whole window frees everything


class DeploymentLimiter:
    def __init__(self, limits: RateLimits):
        self.limits = limits
        self._tokens = SlidingWindow(MINUTE)
        self._requests = SlidingWindow(MINUTE)
        self._short = SlidingWindow(SHORT_WINDOW)
        self._lock = threading.Lock()

    def try_acquire(self, now: float, cost: int) -> Decision:
        """Admit a request estimated at `cost` tokens received at `now`, or say how long until it would fit."""
        limits = self.limits
        with self._lock:
            token_wait = self._tokens.wait_for(now, cost, limits.tokens_per_minute)
            request_wait = max(self._requests.wait_for(now, 1, limits.requests_per_minute),
                               self._short.wait_for(now, 1, limits.requests_per_short_window))
            allowed = token_wait == 0 and request_wait == 0
            # Received is counted, admitted or not (quota-2.md: unsuccessful requests still count).
            self._requests.add(now, 1)
            self._short.add(now, 1)
            if allowed:
                self._tokens.add(now, cost)
                wait, reason = 0.0, ""
            else:
                # The refused request now sits in the request windows too: the wait accounts for it.
                request_wait = max(self._requests.wait_for(now, 1, limits.requests_per_minute),
                                   self._short.wait_for(now, 1, limits.requests_per_short_window))
                wait = max(token_wait, request_wait)
                reason = "tokens" if token_wait >= request_wait else "requests"
            return Decision(
                allowed=allowed,
                retry_after=wait,
                limit_tokens=limits.tokens_per_minute,
                limit_requests=limits.requests_per_minute,
                remaining_tokens=max(0, limits.tokens_per_minute - self._tokens.used(now)),
                remaining_requests=max(0, limits.requests_per_minute - self._requests.used(now)),
                reset_tokens=self._tokens.empty_in(now),
                reset_requests=self._requests.empty_in(now),
                reason=reason,
            )
