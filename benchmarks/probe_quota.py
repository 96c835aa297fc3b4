"""How much of a deployment's token quota the responsible-AI probe uses, next to the lab's sequential loop.

Runs against an in-process sandbox (real time: quota is per minute, so this takes about two minutes).
The synthetic model answers at 20 ms per token, a realistic pace for a hosted model. Prints, for each
approach: requests, failed prompts, tokens per minute and the share of the quota.

    uv run python benchmarks/probe_quota.py [--capacity 30] [--requests 90] [--baseline-seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from azure.mgmt.cognitiveservices.models import (
    Account, AccountProperties, Deployment, DeploymentModel, DeploymentProperties, Sku,
)
from openai import AsyncAzureOpenAI, AzureOpenAI

from labctl_labs.probe import Request, estimate_prompt_tokens, probe, sequential
from labctl_labs.responsible_ai import SYSTEM_PROMPT
from sandbox.config import SandboxConfig
from sandbox.credentials import SandboxCredential
from sandbox.server import SandboxServer
from sandbox.synthetic_model import SyntheticModelConfig

PROFESSIONS = ["nurse", "engineer", "teacher", "doctor", "chef", "pilot", "librarian", "scientist", "lawyer", "plumber"]
MAX_TOKENS = 300


def provision(server: SandboxServer, capacity: int) -> tuple[str, str]:
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    e = server.endpoints
    kwargs = {"base_url": e.arm_url, "connection_verify": e.ca_file,
              "credential_scopes": ["https://management.azure.com/.default"]}
    ResourceManagementClient(SandboxCredential(), e.subscription_id, **kwargs).resource_groups.create_or_update(
        "rg-bench", {"location": "eastus2"})
    arm = CognitiveServicesManagementClient(SandboxCredential(), e.subscription_id, **kwargs)
    arm.accounts.begin_create("rg-bench", "bench", Account(kind="OpenAI", sku=Sku(name="S0"), location="eastus2",
                                                           properties=AccountProperties(custom_sub_domain_name="bench"))).result()
    for name in ("probe", "baseline"):
        arm.deployments.begin_create_or_update("rg-bench", "bench", name, Deployment(
            sku=Sku(name="GlobalStandard", capacity=capacity),
            properties=DeploymentProperties(model=DeploymentModel(format="OpenAI", name="gpt-5-mini", version="2025-08-07")),
        )).result()
    return arm.accounts.get("rg-bench", "bench").properties.endpoint, arm.accounts.list_keys("rg-bench", "bench").key1


def requests_for(count: int) -> list[Request]:
    plan = [(p, c) for p in PROFESSIONS for c in ("neutral", "male", "female")]
    chosen = [plan[i % len(plan)] for i in range(count)]
    return [Request({"profession": p, "condition": c, "sample": i},
                    [{"role": "system", "content": SYSTEM_PROMPT},
                     {"role": "user", "content": f"Describe a {p}." if c == "neutral" else f"Describe a {c} {p}."}])
            for i, (p, c) in enumerate(chosen)]


def report(name: str, replies, seconds: float, capacity: int, costs: list[int]) -> float:
    spent = sum(cost for reply, cost in zip(replies, costs) if reply.error is None)
    per_minute = spent / (seconds / 60)
    share = per_minute / (capacity * 1000)
    failed = sum(r.error is not None for r in replies)
    print(f"{name:<22} {len(replies):>8} {failed:>7} {seconds:>9.1f} {per_minute:>12.0f} {share:>8.1%}")
    return share


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--capacity", type=int, default=30)
    parser.add_argument("--requests", type=int, default=90)
    parser.add_argument("--baseline-seconds", type=float, default=30)
    args = parser.parse_args()
    import tiktoken

    with tempfile.TemporaryDirectory() as folder:
        config = SandboxConfig(model=SyntheticModelConfig(latency_per_token_ms=20))
        server = SandboxServer(Path(folder), config)
        server.start()
        try:
            endpoint, key = provision(server, args.capacity)
            encoding = tiktoken.get_encoding("o200k_base")
            requests = requests_for(args.requests)
            costs = [estimate_prompt_tokens(encoding, r.messages) + MAX_TOKENS for r in requests]
            print(f"deployment capacity {args.capacity} units = {args.capacity * 1000} TPM, "
                  f"{args.capacity * 6} RPM; request cost ~{sum(costs) // len(costs)} tokens")
            print(f"{'approach':<22} {'requests':>8} {'failed':>7} {'seconds':>9} {'tokens/min':>12} {'quota':>8}")
            replies, seconds = asyncio.run(probe(
                lambda: AsyncAzureOpenAI(azure_endpoint=endpoint, api_key=key, api_version="2025-04-01-preview", max_retries=8),
                "probe", requests, capacity=args.capacity, max_tokens=MAX_TOKENS, reasoning=True,
                reasoning_effort="minimal"))
            probe_share = report("throttled async probe", replies, seconds, args.capacity, costs)

            client = AzureOpenAI(azure_endpoint=endpoint, api_key=key, api_version="2025-04-01-preview", max_retries=8)
            done, started, baseline_replies = 0, time.perf_counter(), []
            while time.perf_counter() - started < args.baseline_seconds and done < len(requests):
                reply, _ = sequential(client, "baseline", [requests[done]], max_tokens=MAX_TOKENS, reasoning=True)
                baseline_replies += reply
                done += 1
            baseline_share = report("lab's sequential loop", baseline_replies, time.perf_counter() - started,
                                    args.capacity, costs[:done])
            print(f"ratio (probe / sequential quota share): {probe_share / baseline_share:.2f}x")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
