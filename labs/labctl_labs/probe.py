"""Send many chat requests to one deployment as fast as its rate limits allow, and no faster.

The limits are the deployment's own (Microsoft Learn, "Manage Azure OpenAI quota", MicrosoftDocs/azure-ai-docs
articles/foundry/openai/includes/quota-1.md and quota-2.md): tokens per minute and requests per minute, whose
ratio "can vary by model" (6 RPM per 1,000 TPM for older chat models, 1 for gpt-5-mini and o4-mini, 10 for gpt-5).
They come from ARM's `properties.rateLimits` when the caller has them, else from the first reply's
`x-ratelimit-limit-requests`/`-tokens` headers (sent "in the HTTP response headers of every API call"); only
when neither is there does the probe assume the smallest documented ratio (1 RPM per 10,000 TPM).

Pacing (`Pacer`): a request costs what Azure estimates when it arrives, its prompt tokens plus max tokens (times
n). The probe keeps a log of what it sent and sends the next request only when (1) the costs sent in the last
`WINDOW` seconds plus this one fit the TPM, so no minute, sliding or fixed, ever holds more than the TPM, whatever
the capacity and however large a request is against it; (2) at least 60/RPM seconds (plus `SPACING_MARGIN`) have
passed since the previous request, because Azure "expects that requests be evenly distributed over a one-minute
period" and checks that over 1 or 10 seconds. A retry goes through the same pacing: unsuccessful requests count
toward the per-minute limit too. aiolimiter's leaky bucket (used before) lets more than the TPM through in a
sliding minute whenever one request is large against the TPM (issue 24), hence the log.

Retries (`labctl_labs.retrying`'s transient faults, tenacity): the SDK's own retry is off (it gives up on a 429
that has no retry-after). The wait honours retry-after-ms, retry-after, then x-ratelimit-reset-requests/-tokens
(also spelled x-rate-limit-reset-*, openai-python#937; openai-dotnet#838), then "retry after N seconds" / "try
again in N seconds" in the message, else exponential backoff; a throttled reply also holds every other request
back for that long. A prompt fails only after LABCTL_RETRY_DEADLINE seconds (300) of transient faults.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import tenacity

from labctl_labs import retrying
from labctl_labs.common import completion_parameters

WINDOW = 61.0  # seconds: Azure's minute plus a second for delays between sending and arrival
# Requests 5% further apart than 60/RPM. They leave evenly spaced but arrive with the network's jitter, and Azure
# counts arrivals over 10 seconds: at 30 RPM five may arrive in any 10 s, and with 2% (2.04 s apart) a first
# request 0.2 s late put six in one window (the twin's 429 under a loaded machine). 5% absorbs 0.5 s and keeps
# 95% of the RPM in use.
SPACING_MARGIN = 0.05
SMALLEST_RPM_PER_1000_TPM = 0.1  # quota-1.md: o1-mini, o3-mini, o3-pro have 1 RPM per 10,000 TPM
RESET_HEADERS = ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens", "x-rate-limit-reset-requests",
                 "x-rate-limit-reset-tokens")
WAIT_IN_MESSAGE = re.compile(r"(?:retry after|try again in)\s+(\d+(?:\.\d+)?)\s*(?:seconds?|s\b)", re.IGNORECASE)
DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$")
MAX_BACKOFF = 30.0

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Request:
    key: dict  # what the caller needs to recognise the answer (profession, condition, sample...)
    messages: list[dict]


@dataclass
class Reply:
    key: dict
    text: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_seconds: float
    cost_estimate: int
    error: str | None = None
    attempts: int = 1  # requests sent for this prompt, retries included
    throttled: int = 0  # of which answered 429
    sent_at: float = 0.0  # probe clock (seconds) when the answered request was sent


@dataclass(frozen=True)
class RateLimits:
    """A deployment's limits, per minute."""

    tokens_per_minute: int
    requests_per_minute: int

    @classmethod
    def from_arm(cls, rate_limits: list[dict]) -> RateLimits:
        """From ARM's deployment `properties.rateLimits`, e.g. [{"key": "request", "renewalPeriod": 10, "count": 10},
        {"key": "token", "renewalPeriod": 60, "count": 10000}] (counts per renewalPeriod seconds). KeyError when a
        key is missing."""
        per_minute = {}
        for limit in rate_limits:
            item = limit if isinstance(limit, dict) else limit.as_dict()
            period = float(item.get("renewalPeriod") or item.get("renewal_period") or 60)
            per_minute[item["key"]] = float(item["count"]) * 60 / period
        return cls(math.floor(per_minute["token"]), max(1, math.floor(per_minute["request"])))

    @classmethod
    def from_headers(cls, headers) -> RateLimits | None:
        """From a reply's x-ratelimit-limit-tokens and -requests (per minute), or None when either is absent."""
        try:
            tokens, requests = int(headers["x-ratelimit-limit-tokens"]), int(headers["x-ratelimit-limit-requests"])
        except (KeyError, TypeError, ValueError):
            return None
        return cls(tokens, requests) if tokens > 0 and requests > 0 else None

    @classmethod
    def assumed(cls, capacity: int) -> RateLimits:
        """Nothing said: capacity x 1,000 TPM and the smallest RPM ratio Azure documents."""
        return cls(capacity * 1000, max(1, math.floor(capacity * SMALLEST_RPM_PER_1000_TPM)))


class Pacer:
    """Admits requests so that no WINDOW holds more than the TPM and requests are at least 60/RPM s apart."""

    def __init__(self, limits: RateLimits, clock: Clock, sleep: Sleep):
        self.limits = limits
        self.interval = 60 / limits.requests_per_minute * (1 + SPACING_MARGIN)
        self._clock, self._sleep = clock, sleep
        self._sent: deque[tuple[float, int]] = deque()
        self._spent = 0
        self._next_at = -math.inf
        self._held_until = -math.inf
        self._lock = asyncio.Lock()

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds` (the service said so)."""
        self._held_until = max(self._held_until, self._clock() + seconds)

    def learn(self, limits: RateLimits) -> None:
        """Pace by `limits` from now on (they came with a reply)."""
        if limits == self.limits:
            return
        self.limits = limits
        self.interval = 60 / limits.requests_per_minute * (1 + SPACING_MARGIN)
        if self._sent:
            self._next_at = self._sent[-1][0] + self.interval

    def _token_wait(self, now: float, cost: int) -> float:
        while self._sent and self._sent[0][0] <= now - WINDOW:
            self._spent -= self._sent.popleft()[1]
        # A request larger than the whole TPM (Azure refuses it anyway) waits for an empty window.
        need = self._spent + min(cost, self.limits.tokens_per_minute) - self.limits.tokens_per_minute
        for stamp, spent in self._sent:
            if need <= 0:
                break
            need -= spent
            if need <= 0:
                return max(0.0, stamp + WINDOW - now)
        return 0.0

    async def acquire(self, cost: int) -> float:
        """Wait until a request of `cost` tokens may go; the probe clock when it goes."""
        async with self._lock:
            while True:
                now = self._clock()
                wait = max(self._next_at - now, self._held_until - now, self._token_wait(now, cost))
                if wait <= 0:
                    break
                await self._sleep(wait)
            self._sent.append((now, cost))
            self._spent += cost
            self._next_at = now + self.interval
            return now


def estimate_prompt_tokens(encoding, messages: list[dict]) -> int:
    """Prompt tokens as the service counts them (OpenAI cookbook, "How to count tokens with tiktoken"): 3 per
    message, the tokens of every string value (role and name included), 1 more for a name, 3 to prime the reply."""
    total = 3
    for message in messages:
        total += 3
        for key, value in message.items():
            if isinstance(value, list):  # content parts: their text counts
                value = " ".join(part.get("text", "") for part in value if isinstance(part, dict))
            if isinstance(value, str):
                total += len(encoding.encode_ordinary(value)) + (1 if key == "name" else 0)
    return total


def _seconds(value) -> float | None:
    """A wait header's value: plain seconds ("55", "0.5") or a duration ("1s", "6m0s", "20ms")."""
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    match = DURATION.match(text)
    if not text or not match:
        return None
    hours, minutes, seconds, millis = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def advised_wait(error: BaseException) -> float | None:
    """What the service asked a throttled request to wait, in seconds, or None (see the module's notes)."""
    asked = retrying.retry_after(error)
    if asked is not None and asked > 0:
        return asked
    headers = getattr(getattr(error, "response", None), "headers", None) or {}
    resets = [s for s in (_seconds(headers[h]) for h in RESET_HEADERS if headers.get(h)) if s is not None and s > 0]
    if resets:
        return max(resets)
    match = WAIT_IN_MESSAGE.search(str(error))
    return float(match.group(1)) if match else None


class _Wait(tenacity.wait.wait_base):
    """Backoff with full jitter, never shorter than what the service advised."""

    def __init__(self, pacer: Pacer, deadline: float):
        self.pacer, self.deadline = pacer, deadline
        self.backoff = tenacity.wait_random_exponential(multiplier=0.5, max=MAX_BACKOFF)

    def __call__(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = advised_wait(error) if error is not None else None
        if asked is not None and asked < self.deadline and retrying.status_of(error) == 429:
            self.pacer.hold(asked)  # the whole probe backs off, not just this prompt (a longer wait is not waited)
        return max(self.backoff(state), asked or 0.0)


def quota_use(replies: list[Reply], limits: RateLimits) -> dict:
    """How much of the deployment's per-minute limits the answered requests used, from their send times.

    Every 60 seconds starting at a send is a minute of quota: `tokens`/`requests` are the mean estimated tokens
    and requests such a minute held, as shares of the TPM and RPM, over the minutes that end before the last
    send (the one minute from the first send when the run is shorter); `binding` is the larger share.
    `peak_tokens`/`peak_requests` are the most any such minute held (above 1 would be a minute over the limit)."""
    answered = sorted((r.sent_at, r.cost_estimate) for r in replies if r.error is None)
    if not answered:
        return {"tokens": 0.0, "requests": 0.0, "binding": 0.0, "peak_tokens": 0.0, "peak_requests": 0.0}
    last = answered[-1][0]
    windows = [(start, [c for s, c in answered if start <= s < start + 60]) for start, _ in answered]
    full = [w for start, w in windows if start + 60 <= last] or [windows[0][1]]
    tokens = sum(sum(w) for w in full) / len(full) / limits.tokens_per_minute
    requests = sum(len(w) for w in full) / len(full) / limits.requests_per_minute
    return {"tokens": round(tokens, 4), "requests": round(requests, 4), "binding": round(max(tokens, requests), 4),
            "peak_tokens": round(max(sum(w) for _, w in windows) / limits.tokens_per_minute, 4),
            "peak_requests": round(max(len(w) for _, w in windows) / limits.requests_per_minute, 4)}


async def _send(client, deployment: str, request: Request, parameters: dict):
    return await client.chat.completions.with_raw_response.create(
        model=deployment, messages=request.messages, **parameters)


async def probe(client_factory: Callable[[], object], deployment: str, requests: list[Request], *, capacity: int,
                max_tokens: int, reasoning: bool | None, temperature: float | None = None,
                reasoning_effort: str | None = None, concurrency: int = 32,
                rate_limits: RateLimits | list[dict] | None = None, clock: Clock = time.monotonic,
                sleep: Sleep = asyncio.sleep, deadline: float | None = None) -> tuple[list[Reply], float]:
    """Replies in request order, and the seconds (probe clock) the probe took.

    `rate_limits`: the deployment's (a `RateLimits` or ARM's `rateLimits` list); None to learn them from the first
    reply. `capacity` (units of 1,000 TPM) is used only when neither says. `clock`/`sleep` let tests run the probe
    on the sandbox's clock. `deadline`: seconds of transient faults one prompt survives (LABCTL_RETRY_DEADLINE)."""
    import tiktoken

    encoding = tiktoken.get_encoding("o200k_base")
    costs = [estimate_prompt_tokens(encoding, r.messages) + max_tokens for r in requests]
    parameters = completion_parameters(reasoning, max_tokens, temperature=temperature,
                                       reasoning_effort=reasoning_effort)
    limits = rate_limits
    if isinstance(rate_limits, list):
        try:
            limits = RateLimits.from_arm(rate_limits)
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            limits = None  # not what ARM sends: the first reply's headers will say
    client = client_factory().with_options(max_retries=0)  # the retries are ours (see the module's notes)
    learned = asyncio.Event()
    pacer = Pacer(limits or RateLimits.assumed(capacity), clock, sleep)
    if limits is not None:
        learned.set()
    gate = asyncio.Semaphore(concurrency)
    stop_after = retrying._deadline() if deadline is None else deadline

    def learn(headers) -> None:
        found = RateLimits.from_headers(headers) if headers is not None else None
        if found is not None and limits is None:  # ARM's figures, when given, are the deployment's own
            pacer.learn(found)

    async def one(index: int, request: Request) -> Reply:
        cost, attempts, throttled = costs[index], 0, 0
        if index > 0:
            await learned.wait()  # the first reply tells every other request the deployment's limits

        async def attempt():
            nonlocal attempts
            attempts += 1
            sent = await pacer.acquire(cost)
            started = time.perf_counter()
            raw = await _send(client, deployment, request, parameters)
            learn(raw.headers)
            return raw, sent, time.perf_counter() - started

        def throttle(state: tenacity.RetryCallState) -> None:
            nonlocal throttled
            error = state.outcome.exception()
            learn(getattr(getattr(error, "response", None), "headers", None))
            throttled += retrying.status_of(error) == 429

        retry = tenacity.AsyncRetrying(
            retry=tenacity.retry_if_exception(retrying.transient), wait=_Wait(pacer, stop_after), sleep=sleep,
            # A wait that would end past the deadline (Azure's "retry after 86400 seconds") is not waited.
            stop=tenacity.stop_before_delay(stop_after), before_sleep=throttle, reraise=True)
        async with gate:
            try:
                raw, sent, latency = await retry(attempt)
            except Exception as error:  # reported per prompt; the probe carries on
                throttled += retrying.status_of(error) == 429
                return Reply(request.key, None, 0, 0, 0.0, cost, f"{type(error).__name__}: {error}", attempts,
                             throttled)
            finally:
                learned.set()
        answer = raw.parse()
        usage = answer.usage
        return Reply(request.key, answer.choices[0].message.content or "", usage.prompt_tokens if usage else 0,
                     usage.completion_tokens if usage else 0, latency, cost, None, attempts, throttled, sent)

    started = clock()
    try:
        replies = await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))
    finally:
        await client.close()
    return list(replies), clock() - started


def sequential(client, deployment: str, requests: list[Request], *, max_tokens: int, reasoning: bool | None) -> tuple[list[Reply], float]:
    """The lab's own loop, one request after another (the baseline the benchmark compares against)."""
    budget = completion_parameters(reasoning, max_tokens)
    replies = []
    started = time.perf_counter()
    for request in requests:
        begun = time.perf_counter()
        try:
            answer = client.chat.completions.create(model=deployment, messages=request.messages, **budget)
            replies.append(Reply(request.key, answer.choices[0].message.content or "", answer.usage.prompt_tokens,
                                 answer.usage.completion_tokens, time.perf_counter() - begun, 0))
        except Exception as error:
            replies.append(Reply(request.key, None, 0, 0, time.perf_counter() - begun, 0, str(error)))
    return replies, time.perf_counter() - started
