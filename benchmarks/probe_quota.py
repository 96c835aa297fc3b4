"""How much of a deployment's rate limits the responsible-AI probe uses, next to the lab's sequential loop and the
OpenAI cookbook's parallel-processor approach, at capacities 1, 10 and 30 of a reasoning model (gpt-5-mini,
1 RPM per 1,000 TPM) and a non-reasoning one (gpt-4o-mini, 10 RPM per 1,000 TPM; the sandbox clock is set to
September 2026, before the catalog retires it). The limits are the ones Azure would apply (the twin's catalog,
from Microsoft Learn's quota tier table), read from ARM's deployment `rateLimits`.

Runs against an in-process sandbox on its clock: every wait jumps the sandbox clock forward instead of sleeping
(a capacity-1 gpt-5-mini allows one request a minute), so the run takes a few minutes of real time. Each run
sends what the binding limit allows in about `--minutes` minutes (at least 16 prompts, at most 600). The model
answers at 20 ms per completion token on the sandbox clock (a realistic pace for a hosted model), which only the
sequential loop waits for. Prints per approach: prompts, failed prompts, 429s received, the mean tokens and
requests a minute of sends held as shares of the TPM and RPM (labctl_labs.probe.quota_use), and the most any 60
seconds of sends held (above 100% = a minute over the limit, which the twin refuses).

    uv run python benchmarks/probe_quota.py [--minutes 3] [--max-tokens 100]

The approaches:
- probe: labctl_labs.probe (paced by the deployment's limits, waits what 429s say);
- sequential: the lab's loop, one request after another, the SDK's default retry (2 retries, retry-after honoured);
- cookbook: the approach of the OpenAI cookbook's api_request_parallel_processor.py, written here: request and
  token capacity refill continuously at the per-minute limits, a request goes when both cover it, a 429 pauses
  everything for 15 s, up to 5 attempts.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import openai
import tiktoken
from openai import AsyncAzureOpenAI, DefaultAsyncHttpxClient

from labctl_labs.probe import RateLimits, Reply, Request, estimate_prompt_tokens, probe, quota_use
from labctl_labs.responsible_ai import SYSTEM_PROMPT
from sandbox.config import SandboxConfig
from sandbox.credentials import SandboxCredential
from sandbox.server import SandboxServer
from sandbox.synthetic_model import SyntheticModelConfig

PROFESSIONS = ["nurse", "engineer", "teacher", "doctor", "chef", "pilot", "librarian", "scientist", "lawyer", "plumber"]
MODELS = [("gpt-5-mini", "2025-08-07", True), ("gpt-4o-mini", "2024-07-18", False)]
SEPTEMBER_2026 = 1788220800.0
SECONDS_PER_TOKEN = 0.020


class SandboxTime:
    """A clock and sleep shared by the approaches and the sandbox: a sleep jumps both forward, once every request
    already sent has reached the sandbox (the real time spent waiting counts as part of the sleep)."""

    def __init__(self, server: SandboxServer):
        self.world, self.in_flight = server.world, 0

    def clock(self) -> float:
        return self.world.now()

    async def sleep(self, seconds: float) -> None:
        until = self.clock() + seconds
        for _ in range(3):
            await asyncio.sleep(0)
        while self.in_flight and self.clock() < until:
            await asyncio.sleep(0.002)
        if until > self.clock():
            self.world.clock.advance(until - self.clock())
        await asyncio.sleep(0)

    def client(self, endpoint: str, key: str, **kwargs) -> AsyncAzureOpenAI:
        async def sent(_):
            self.in_flight += 1

        async def answered(_):
            self.in_flight -= 1

        return AsyncAzureOpenAI(azure_endpoint=endpoint, api_key=key, api_version="2025-04-01-preview", http_client=
                                DefaultAsyncHttpxClient(event_hooks={"request": [sent], "response": [answered]}),
                                **kwargs)


def provision(server: SandboxServer, name: str, model: str, version: str, capacity: int):
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
    from azure.mgmt.cognitiveservices.models import (
        Account, AccountProperties, Deployment, DeploymentModel, DeploymentProperties, Sku,
    )
    from azure.mgmt.resource.resources import ResourceManagementClient

    e = server.endpoints
    kwargs = {"base_url": e.arm_url, "connection_verify": e.ca_file,
              "credential_scopes": ["https://management.azure.com/.default"]}
    ResourceManagementClient(SandboxCredential(), e.subscription_id, **kwargs).resource_groups.create_or_update(
        "rg-bench", {"location": "eastus2"})
    arm = CognitiveServicesManagementClient(SandboxCredential(), e.subscription_id, **kwargs)
    arm.accounts.begin_create("rg-bench", "bench", Account(kind="OpenAI", sku=Sku(name="S0"), location="eastus2",
                                                           properties=AccountProperties(custom_sub_domain_name="bench"))).result()
    deployment = arm.deployments.begin_create_or_update("rg-bench", "bench", name, Deployment(
        sku=Sku(name="GlobalStandard", capacity=capacity),
        properties=DeploymentProperties(model=DeploymentModel(format="OpenAI", name=model, version=version)),
    )).result()
    limits = RateLimits.from_arm([rule.as_dict() for rule in deployment.properties.rate_limits])
    return arm.accounts.get("rg-bench", "bench").properties.endpoint, arm.accounts.list_keys("rg-bench", "bench").key1, limits


def requests_for(count: int) -> list[Request]:
    plan = [(p, c) for p in PROFESSIONS for c in ("neutral", "male", "female")]
    return [Request({"profession": p, "condition": c, "sample": i},
                    [{"role": "system", "content": SYSTEM_PROMPT},
                     {"role": "user", "content": f"Describe a {p}." if c == "neutral" else f"Describe a {c} {p}."}])
            for i, (p, c) in enumerate(plan[i % len(plan)] for i in range(count))]


def parameters(max_tokens: int, reasoning: bool) -> dict:
    return ({"max_completion_tokens": max_tokens, "reasoning_effort": "minimal"} if reasoning
            else {"max_tokens": max_tokens})


async def sequential(timer: SandboxTime, client, deployment: str, requests, costs, extra: dict) -> list[Reply]:
    """The lab's loop: one request after another; the SDK's default 2 retries, each waiting what retry-after says."""
    replies = []
    for request, cost in zip(requests, costs):
        throttled = 0
        for attempt in range(3):
            sent = timer.clock()
            try:
                answer = await client.chat.completions.create(model=deployment, messages=request.messages, **extra)
                await timer.sleep(answer.usage.completion_tokens * SECONDS_PER_TOKEN)  # the model's own time
                replies.append(Reply(request.key, answer.choices[0].message.content, 0, 0, 0, cost, None,
                                     attempt + 1, throttled, sent))
                break
            except openai.RateLimitError as error:
                throttled += 1
                if attempt == 2:
                    replies.append(Reply(request.key, None, 0, 0, 0, cost, str(error), attempt + 1, throttled, sent))
                else:
                    await timer.sleep(float(error.response.headers.get("retry-after") or 1))
    return replies


async def cookbook(timer: SandboxTime, client, deployment: str, requests, costs, extra: dict,
                   limits: RateLimits) -> list[Reply]:
    """The parallel processor's approach (not its code): continuously refilled request and token capacity."""
    capacity = {"requests": float(limits.requests_per_minute), "tokens": float(limits.tokens_per_minute)}
    last = {"refill": timer.clock(), "error": -1e9}
    queue = list(range(len(requests)))
    attempts_left = {i: 5 for i in queue}
    replies: dict[int, Reply] = {}
    throttled = {i: 0 for i in queue}
    tasks = set()

    async def call(i: int) -> None:
        sent = timer.clock()
        try:
            answer = await client.chat.completions.create(model=deployment, messages=requests[i].messages, **extra)
            replies[i] = Reply(requests[i].key, answer.choices[0].message.content, 0, 0, 0, costs[i], None,
                               6 - attempts_left[i], throttled[i], sent)
        except openai.RateLimitError as error:
            throttled[i] += 1
            last["error"] = timer.clock()
            if attempts_left[i] > 0:
                queue.append(i)
            else:
                replies[i] = Reply(requests[i].key, None, 0, 0, 0, costs[i], str(error), 5, throttled[i], sent)

    while queue or tasks:
        now = timer.clock()
        elapsed, last["refill"] = now - last["refill"], now
        capacity["requests"] = min(limits.requests_per_minute, capacity["requests"] + limits.requests_per_minute * elapsed / 60)
        capacity["tokens"] = min(limits.tokens_per_minute, capacity["tokens"] + limits.tokens_per_minute * elapsed / 60)
        if queue and capacity["requests"] >= 1 and capacity["tokens"] >= costs[queue[0]]:
            i = queue.pop(0)
            attempts_left[i] -= 1
            capacity["requests"] -= 1
            capacity["tokens"] -= costs[i]
            task = asyncio.create_task(call(i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            continue
        pause = last["error"] + 15 - now
        await timer.sleep(max(pause, 0.001) if pause > 0 else 0.05)
    return [replies[i] for i in range(len(requests))]


def line(model: str, capacity: int, name: str, replies: list[Reply], limits: RateLimits) -> None:
    use = quota_use(replies, limits)
    failed = sum(r.error is not None for r in replies)
    throttled = sum(r.throttled for r in replies)
    print(f"{model:<12} {capacity:>3} {name:<11} {len(replies):>4} {failed:>6} {throttled:>5} "
          f"{use['tokens']:>7.1%} {use['requests']:>7.1%} {use['peak_tokens']:>7.1%} {use['peak_requests']:>7.1%}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--max-tokens", type=int, default=100)
    args = parser.parse_args()
    encoding = tiktoken.get_encoding("o200k_base")
    every = requests_for(600)
    every_cost = [estimate_prompt_tokens(encoding, r.messages) + args.max_tokens for r in every]
    print(f"prompts of ~{sum(every_cost) // len(every_cost)} tokens as Azure estimates them; use = mean share of "
          f"the limit a minute of sends held; peak = the most any 60 s of sends held")
    print(f"{'model':<12} {'cap':>3} {'approach':<11} {'reqs':>4} {'failed':>6} {'429s':>5} "
          f"{'TPM use':>7} {'RPM use':>7} {'peak T':>7} {'peak R':>7}")
    for model, version, reasoning in MODELS:
        for capacity in (1, 10, 30):
            extra = parameters(args.max_tokens, reasoning)
            count = None
            for name in ("probe", "sequential", "cookbook"):
                with tempfile.TemporaryDirectory() as folder:
                    server = SandboxServer(Path(folder), SandboxConfig(model=SyntheticModelConfig(latency_per_token_ms=0)))
                    server.start()
                    try:
                        if not reasoning:
                            server.world.clock.advance(SEPTEMBER_2026 - server.world.now())
                        timer = SandboxTime(server)
                        endpoint, key, limits = provision(server, "chat", model, version, capacity)
                        if count is None:
                            per_minute = min(limits.requests_per_minute, limits.tokens_per_minute // max(every_cost))
                            count = max(16, min(600, round(args.minutes * per_minute)))
                        requests, costs = every[:count], every_cost[:count]
                        if name == "probe":
                            replies, _ = asyncio.run(probe(
                                lambda: timer.client(endpoint, key), "chat", requests, capacity=capacity,
                                max_tokens=args.max_tokens, reasoning=reasoning, temperature=None,
                                reasoning_effort="minimal", clock=timer.clock, sleep=timer.sleep))
                        else:
                            async def other():
                                client = timer.client(endpoint, key, max_retries=0)
                                try:
                                    if name == "sequential":
                                        return await sequential(timer, client, "chat", requests, costs, extra)
                                    return await cookbook(timer, client, "chat", requests, costs, extra, limits)
                                finally:
                                    await client.close()
                            replies = asyncio.run(other())
                        line(model, capacity, name, replies, limits)
                    finally:
                        server.stop()


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"(benchmark ran {time.perf_counter() - started:.0f} s of real time)")
