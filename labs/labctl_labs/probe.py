"""Send many chat requests to one deployment as fast as its quota allows, and no faster.

Azure OpenAI gives a deployment of capacity C units C x 1,000 tokens per minute (counted over a sliding
minute, a request costing its prompt tokens plus its max tokens) and C x 6 requests per minute (counted
over 10-second windows). Two aiolimiter leaky buckets keep the client inside both: the token bucket's
burst plus a minute of its leak equals the quota, so a full minute never exceeds it while the long-run
rate stays at 95% of it. The SDK's own retry (which honours retry-after-ms) absorbs the rare 429.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

TOKEN_BURST_SHARE = 0.05
RATE_SHARE = 0.95


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


class QuotaLimiter:
    def __init__(self, capacity: int, largest_request: int):
        tokens_per_minute = capacity * 1000
        burst = max(largest_request, int(tokens_per_minute * TOKEN_BURST_SHARE))
        rate_per_second = tokens_per_minute * RATE_SHARE / 60
        self.tokens = AsyncLimiter(burst, burst / rate_per_second)
        requests_per_window = max(1, capacity)  # 6 RPM per unit, enforced per 10 s
        self.requests = AsyncLimiter(1, 10 / (requests_per_window * RATE_SHARE))

    async def acquire(self, cost: int) -> None:
        await self.requests.acquire()
        await self.tokens.acquire(cost)


def estimate_prompt_tokens(encoding, messages: list[dict]) -> int:
    return 3 + sum(3 + len(encoding.encode_ordinary(m.get("content") or "")) for m in messages)


async def _one(client, limiter: QuotaLimiter, deployment: str, request: Request, budget: dict, cost: int,
               extra: dict) -> Reply:
    await limiter.acquire(cost)
    started = time.perf_counter()
    try:
        answer = await client.chat.completions.create(model=deployment, messages=request.messages, **budget, **extra)
    except Exception as error:  # reported per prompt; the probe carries on
        return Reply(request.key, None, 0, 0, time.perf_counter() - started, cost, f"{type(error).__name__}: {error}")
    usage = answer.usage
    return Reply(request.key, answer.choices[0].message.content or "", usage.prompt_tokens if usage else 0,
                 usage.completion_tokens if usage else 0, time.perf_counter() - started, cost)


async def probe(client_factory: Callable[[], object], deployment: str, requests: list[Request], *, capacity: int,
                max_tokens: int, reasoning: bool, temperature: float | None = None,
                reasoning_effort: str | None = None, concurrency: int = 32) -> tuple[list[Reply], float]:
    """Replies in request order, and the wall time the probe took."""
    import tiktoken

    encoding = tiktoken.get_encoding("o200k_base")
    costs = [estimate_prompt_tokens(encoding, r.messages) + max_tokens for r in requests]
    limiter = QuotaLimiter(capacity, max(costs, default=1))
    # Reasoning models take max_completion_tokens and only the default temperature.
    budget = {"max_completion_tokens": max_tokens} if reasoning else {"max_tokens": max_tokens}
    extra: dict = {}
    if reasoning and reasoning_effort:
        extra["reasoning_effort"] = reasoning_effort
    if not reasoning and temperature is not None:
        extra["temperature"] = temperature
    gate = asyncio.Semaphore(concurrency)
    client = client_factory()

    async def guarded(request: Request, cost: int) -> Reply:
        async with gate:
            return await _one(client, limiter, deployment, request, budget, cost, extra)

    started = time.perf_counter()
    replies = await asyncio.gather(*(guarded(r, c) for r, c in zip(requests, costs)))
    elapsed = time.perf_counter() - started
    await client.close()
    return list(replies), elapsed


def sequential(client, deployment: str, requests: list[Request], *, max_tokens: int, reasoning: bool) -> tuple[list[Reply], float]:
    """The lab's own loop, one request after another (the baseline the benchmark compares against)."""
    budget = {"max_completion_tokens": max_tokens} if reasoning else {"max_tokens": max_tokens}
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
