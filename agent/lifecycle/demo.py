"""`labctl demo`: the whole product in one command, in the sandbox, leaving nothing behind.

It runs every lab, then LLMOps a second time with one setting changed (DEMO_CHANGE), so the demo's LLMOps
report compares two runs, which is the point of that lab."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.lifecycle.run import check_results_folder, run_labs
from agent.lifecycle.stage import stage
from agent.lifecycle.updown import down, up
from agent import sandbox_process as process
from agent.workdir import sandbox_dir

STACK = "demo"
# A roomier deployment than the default: the responsible-AI lab's default probe (1,180 requests, sized to detect
# a skew of 0.5) is bound by requests per minute, and gpt-5-mini has 1 RPM per 1,000 TPM (Azure's quota tier
# table), so 1,000 units (1M TPM, tier 1's whole regional quota) take about 1.2 min where 100 take 12.
DEMO_CONFIG = ['deployments=[{"name": "chat", "model": "gpt-5-mini", "version": "2025-08-07", "capacity": 1000}]']
DEMO_OPTIONS = {"poll_seconds": 2}
# The second LLMOps run: answers capped at 20 tokens (the lab's default is 400), a change its drift report sees
# in completion tokens and response length. The baseline stays like-for-like (same prompts, deployment, model
# version, temperature), so the first run is the one it is compared with.
DEMO_CHANGE = {"max_tokens": 20}
# The demo shows the seeds' setup (a cluster and a classic Azure OpenAI account, fine-tuning gpt-4.1-mini), which
# only a subscription that fine-tuned before can still train: the demo's sandbox plays one. The twin is a new
# customer otherwise, for whom preflight picks an open-weight base on a Foundry resource (README, "Options").
DEMO_CUSTOMER = {"customer": "existing"}


def demo(results: Path, progress: Callable[[str], None]) -> dict:
    check_results_folder(results)  # before anything is created
    started_here = process.running(sandbox_dir()) is None
    report: dict = {"runs": [], "results": str(results), "ok": False}
    try:
        progress("up: provisioning the lab environment in the sandbox")
        from agent.lifecycle.preflight_step import PreflightOptions

        before = _set_customer(DEMO_CUSTOMER)
        up(STACK, True, DEMO_CONFIG, progress, PreflightOptions())
        progress("stage: wheel and lab data to the volume")
        staged = stage(STACK, progress=progress)
        report["notices"] = staged.notices
        progress("run: every lab on the cluster")
        outcomes = run_labs(STACK, "all", results, dict(DEMO_OPTIONS), progress)
        if all(o.succeeded for o in outcomes):
            progress(f"run: llmops again with {', '.join(f'{k}={v}' for k, v in DEMO_CHANGE.items())}, "
                     f"to compare two runs")
            outcomes += run_labs(STACK, "llmops", results, dict(DEMO_CHANGE), progress)
        report["runs"] = [o.as_dict() for o in outcomes]
        report["ok"] = all(o.succeeded for o in outcomes)
    finally:
        progress("down: deleting everything and verifying")
        teardown = down(STACK, progress)
        report["down"] = teardown.as_dict()
        report["ok"] = report["ok"] and teardown.clean
        if started_here:
            process.stop(sandbox_dir())
        elif "before" in locals():  # a sandbox others use: leave it as the demo found it
            _set_customer(before)
    return report


def _set_customer(setting: dict) -> dict:
    """Set the sandbox's fine-tuning customer (`{"customer": "existing" | "new"}`); returns the setting it had."""
    import requests

    endpoints = process.ensure_running(sandbox_dir())

    def patch(body: dict) -> dict:  # the control API answers with the settings after the change
        answer = requests.patch(f"{endpoints.control_url()}/settings", json=body, timeout=10, verify=endpoints.ca_file)
        answer.raise_for_status()
        return answer.json()

    previous = patch({})
    patch(setting)
    return {"customer": previous["customer"]}
