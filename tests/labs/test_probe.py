"""The responsible-AI probe against the twin: paced by the deployment's own rate limits, never throttled when
alone on a deployment, and patient with 429s that carry no retry-after.

The probe runs on the sandbox's clock: every wait it makes jumps the sandbox clock (and the probe's) forward
instead of sleeping, so a capacity-1 deployment allowing one request a minute takes no real minutes, and
nothing here depends on how fast the machine is. Figures are counts (429s, failed prompts, admitted tokens
per window), never wall time."""

from __future__ import annotations

import asyncio
import time

import pytest
import tiktoken
from openai import AsyncAzureOpenAI, DefaultAsyncHttpxClient

from labctl_labs.probe import Pacer, RateLimits, Request, advised_wait, estimate_prompt_tokens, probe, quota_use
from labctl_labs.responsible_ai import SYSTEM_PROMPT
from sandbox.tokens import seed_tiktoken_cache
from tests.cookbook import COOKBOOK_CONVERSATION
from tests.sandbox.conftest import Lab, Sandbox, catalog_day, start_sandbox

SEPTEMBER_2026 = 1788220800.0  # 2026-09-01T00:00Z: gpt-4o-mini still served (the catalog retires it 2026-10-01)


class SandboxTime:
    """The probe's clock and sleep, tied to the sandbox clock: a sleep jumps both forward at once, after every
    request already sent has reached the sandbox (as it would have while the real time passed)."""

    def __init__(self, sandbox: Sandbox, on_advance=None):
        self.sandbox, self.offset, self.on_advance = sandbox, 0.0, on_advance
        self.in_flight = 0

    def clock(self) -> float:
        return time.monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        until = self.clock() + seconds
        for _ in range(3):  # let tasks that were just let through start their request
            await asyncio.sleep(0)
        while self.in_flight and self.clock() < until:
            await asyncio.sleep(0.002)
        rest = until - self.clock()  # the real time spent waiting is part of the sleep
        if rest > 0:
            self.offset += rest
            self.sandbox.advance(rest)
        if self.on_advance:
            self.on_advance(self.offset)

    def http_client(self) -> DefaultAsyncHttpxClient:
        async def sent(request):
            self.in_flight += 1

        async def answered(response):
            self.in_flight -= 1

        return DefaultAsyncHttpxClient(event_hooks={"request": [sent], "response": [answered]})


@pytest.fixture
def sandbox(tmp_path_factory):
    # On the catalog's day: gpt-5-mini retires 2027-02-06 (catalog.yaml); the probe is tested, not today's date.
    server = start_sandbox(tmp_path_factory, start=catalog_day())
    yield Sandbox(server)
    server.stop()


def requests_for(count: int) -> list[Request]:
    professions = ["nurse", "engineer", "teacher", "doctor", "chef"]
    return [Request({"i": i}, [{"role": "system", "content": SYSTEM_PROMPT},
                               {"role": "user", "content": f"Describe a {professions[i % 5]}."}])
            for i in range(count)]


def run(lab: Lab, deployment: str, requests: list[Request], reasoning: bool, timer: SandboxTime, **kwargs):
    factory = lambda: AsyncAzureOpenAI(azure_endpoint=lab.endpoint, api_key=lab.key, api_version="2025-04-01-preview",  # noqa: E731
                                       http_client=timer.http_client())
    return asyncio.run(probe(factory, deployment, requests, capacity=kwargs.pop("capacity", 1), max_tokens=100,
                             reasoning=reasoning, reasoning_effort="minimal" if reasoning else None,
                             temperature=None, clock=timer.clock, sleep=timer.sleep, **kwargs))


def arm_limits(lab: Lab, deployment: str) -> RateLimits:
    rules = lab.arm.deployments.get("rg-lab", "lab-aoai", deployment).properties.rate_limits
    return RateLimits.from_arm([rule.as_dict() for rule in rules])


def test_the_prompt_estimate_counts_as_the_service_does():
    seed_tiktoken_cache()
    # OpenAI cookbook, "How to count tokens with tiktoken", section 6: 124 prompt tokens on o200k_base models;
    # roles and names count (the estimate used to leave them out and fell short).
    assert estimate_prompt_tokens(tiktoken.get_encoding("o200k_base"), COOKBOOK_CONVERSATION) == 124


def test_arm_rate_limits_are_read_per_minute():
    limits = RateLimits.from_arm([{"key": "request", "renewalPeriod": 10, "count": 10},
                                  {"key": "token", "renewalPeriod": 60, "count": 10000}])
    assert limits == RateLimits(tokens_per_minute=10000, requests_per_minute=60)


class Throttled(Exception):
    def __init__(self, message: str, headers: dict):
        super().__init__(message)
        self.response = type("Response", (), {"headers": headers, "status_code": 429})()


@pytest.mark.parametrize("headers, message, wait", [
    ({"retry-after-ms": "1500", "retry-after": "2"}, "", 1.5),
    ({"x-ratelimit-reset-tokens": "55", "x-ratelimit-reset-requests": "10"}, "", 55),  # openai-dotnet#838
    ({"x-rate-limit-reset-tokens": "55"}, "", 55),  # the spelling in openai-python#937
    ({"x-ratelimit-reset-requests": "6m0s"}, "", 360),  # OpenAI's own duration format
    ({}, "... have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 33 seconds.", 33),
    ({}, "Rate limit is exceeded. Try again in 50 seconds.", 50),  # Azure-Samples/graphrag-accelerator#129
    ({}, "The service is temporarily unable to process your request.", None),
])
def test_the_wait_a_throttled_reply_advises(headers, message, wait):
    assert advised_wait(Throttled(message, headers)) == wait


@pytest.mark.parametrize("capacity", [1, 10, 30])
def test_token_pacing_never_lets_a_minute_exceed_the_tpm(capacity):
    """Requests of up to 60% of the TPM (capacity 1) and a generous RPM: every 60-second window of sends,
    wherever it starts, holds at most the TPM (the leaky bucket used before drew 5 429s in 6 requests at
    capacity 1, issue 24)."""
    tpm = capacity * 1000
    costs = [int(tpm * share) for share in (0.6, 0.3, 0.45, 0.05, 0.6, 0.2, 0.35, 0.6, 0.1, 0.5) * 3]
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    async def send_all():
        pacer = Pacer(RateLimits(tpm, 10_000), lambda: now[0], sleep)
        return [await pacer.acquire(cost) for cost in costs]

    stamps = asyncio.run(send_all())
    for start in stamps:
        assert sum(c for s, c in zip(stamps, costs) if start <= s < start + 60) <= tpm
    per_minute = sum(costs[:-1]) / ((stamps[-1] - stamps[0]) / 60)
    assert per_minute >= 0.75 * tpm  # granular requests cannot fill it exactly, but the pacer does not idle


@pytest.mark.parametrize("capacity", [1, 10, 30])
def test_reasoning_model_probe_is_never_throttled_and_fills_the_binding_limit(sandbox, capacity):
    # gpt-5-mini: 1 RPM per 1,000 TPM (quota tier table), so its requests bind at every capacity.
    lab = Lab(sandbox, deployments=(("chat", "gpt-5-mini", "2025-08-07", capacity),))
    limits = arm_limits(lab, "chat")
    assert limits.requests_per_minute == capacity
    count = 2 * capacity + 2  # two minutes of its RPM and more: whole minutes to measure
    replies, _ = run(lab, "chat", requests_for(count), True, SandboxTime(sandbox), capacity=capacity)
    assert [r.error for r in replies] == [None] * count
    assert sum(r.throttled for r in replies) == 0 and all(r.attempts == 1 for r in replies)
    use = quota_use(replies, limits)
    assert use["binding"] >= 0.90 and use["peak_requests"] <= 1.0 and use["peak_tokens"] <= 1.0


@pytest.mark.parametrize("capacity", [1, 10, 30])
def test_non_reasoning_model_probe_learns_its_limits_from_the_first_reply(sandbox, capacity):
    # gpt-4o-mini: 10 RPM per 1,000 TPM (quota tier table), 10x gpt-5-mini's. The probe is given no limits: it
    # reads them from the first reply's x-ratelimit-limit-* headers. The catalog retires gpt-4o-mini on
    # 2026-10-01 (Azure's schedule), so this lab runs on the sandbox clock set to September 2026.
    sandbox.advance(SEPTEMBER_2026 - sandbox.control("GET", "/clock")["time"])
    lab = Lab(sandbox, deployments=(("chat", "gpt-4o-mini", "2024-07-18", capacity),))
    limits = arm_limits(lab, "chat")
    assert limits == RateLimits(capacity * 1000, capacity * 10)
    count = {1: 20, 10: 150, 30: 420}[capacity]  # over two minutes of its TPM (~148 tokens a request)
    replies, _ = run(lab, "chat", requests_for(count), False, SandboxTime(sandbox), capacity=capacity)
    assert [r.error for r in replies] == [None] * count
    assert sum(r.throttled for r in replies) == 0 and all(r.attempts == 1 for r in replies)
    use = quota_use(replies, limits)
    # Whole requests cannot fill a small TPM exactly: at capacity 1 only 6 requests of ~148 tokens fit in 1,000
    # (88.8%). The probe must reach 90% of what requests of this size can fill, and never pass either limit.
    cost = max(r.cost_estimate for r in replies)
    ceiling = min(1.0, (limits.tokens_per_minute // cost) * cost / limits.tokens_per_minute)
    binding = max(use["tokens"] / ceiling, use["requests"])
    assert binding >= 0.90 and use["peak_requests"] <= 1.0 and use["peak_tokens"] <= 1.0


@pytest.mark.parametrize("headers", ["ratelimit-reset", "none"])
def test_probe_answers_every_prompt_through_55_seconds_of_429s_without_retry_after(sandbox, headers):
    """Azure has sent 429s carrying only x-ratelimit-reset-* (openai-python#937, openai-dotnet#838), and
    "Please retry after N seconds" in the message is all some get. The probe waits what they say."""
    lab = Lab(sandbox, deployments=(("chat", "gpt-5-mini", "2025-08-07", 30),))
    sandbox.control("PUT", "/faults", json={"rules": [
        {"path": "/chat/completions", "status": 429, "retry_headers": headers, "retry_after_ms": 5000}]})

    def lift_after_55_seconds(offset: float) -> None:
        if offset >= 55:
            sandbox.control("PUT", "/faults", json={"rules": []})

    replies, _ = run(lab, "chat", requests_for(3), True, SandboxTime(sandbox, lift_after_55_seconds),
                     rate_limits=arm_limits(lab, "chat"))
    assert [r.error for r in replies] == [None, None, None]
    throttled = sum(r.throttled for r in replies)
    # Each 429 advised 5 s and the probe held back for it: about 55 / 5 refusals, not a stream of them.
    assert 1 <= throttled <= 3 * 13


def test_a_429_asking_for_a_day_fails_the_prompt_instead_of_waiting(sandbox):
    """Azure answers a request larger than the whole TPM with "Please retry after 86400 seconds" (reported in
    alex-wolf-ps/dbchatprov2#2, jasonacox/TinyLLM#17): beyond the retry deadline, the prompt fails and says why."""
    lab = Lab(sandbox, deployments=(("chat", "gpt-5-mini", "2025-08-07", 10),))
    sandbox.control("PUT", "/faults", json={"rules": [
        {"path": "/chat/completions", "status": 429, "times": 1, "retry_after_ms": 86_400_000}]})
    timer = SandboxTime(sandbox)
    replies, _ = run(lab, "chat", requests_for(2), True, timer, rate_limits=arm_limits(lab, "chat"))
    assert [r.error is None for r in replies].count(True) == 1
    failed = next(r for r in replies if r.error)
    assert "RateLimitError" in failed.error and "86400 seconds" in failed.error and failed.attempts == 1
    assert timer.offset < 3600  # nobody waited for the day
