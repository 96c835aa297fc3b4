"""`labctl demo`: the whole product in one command, in the sandbox, leaving nothing behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.lifecycle.run import check_results_folder, run_labs
from agent.lifecycle.stage import stage
from agent.lifecycle.updown import down, up
from agent import sandbox_process as process
from agent.workdir import sandbox_dir

STACK = "demo"
# A roomier deployment than the default 10K TPM, so the three labs do not queue behind each other's quota.
DEMO_CONFIG = ['deployments=[{"name": "chat", "model": "gpt-5-mini", "version": "2025-08-07", "capacity": 50}]']
DEMO_OPTIONS = {"poll_seconds": 2}
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

        _play_an_existing_customer()
        up(STACK, True, DEMO_CONFIG, progress, PreflightOptions())
        progress("stage: wheel and lab data to the volume")
        staged = stage(STACK, progress=progress)
        report["notices"] = staged.notices
        progress("run: every lab on the cluster")
        outcomes = run_labs(STACK, "all", results, dict(DEMO_OPTIONS), progress)
        report["runs"] = [o.as_dict() for o in outcomes]
        report["ok"] = all(o.succeeded for o in outcomes)
    finally:
        progress("down: deleting everything and verifying")
        teardown = down(STACK, progress)
        report["down"] = teardown.as_dict()
        report["ok"] = report["ok"] and teardown.clean
        if started_here:
            process.stop(sandbox_dir())
    return report


def _play_an_existing_customer() -> None:
    import requests

    endpoints = process.ensure_running(sandbox_dir())
    answer = requests.patch(f"{endpoints.control_url()}/settings", json=DEMO_CUSTOMER, timeout=10,
                            verify=endpoints.ca_file)
    answer.raise_for_status()
