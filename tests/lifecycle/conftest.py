"""Drive `labctl` as a user does, against one sandbox for the whole session.

The sandbox runs in the test process, in the state folder a background `labctl up --sandbox` would use
(`$LABCTL_HOME/sandbox`), so every `labctl` (in-process or a subprocess) finds it through its
`endpoints.json` and reuses it. Each test uses its own stack. Commands run in-process through
`agent.cli.main`, which ends with SystemExit(exit code) exactly as the console script does; a subprocess
is used where what is tested is the process itself (a SIGKILL, what reaches a terminal).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from sandbox.config import SandboxConfig
from sandbox.server import SandboxServer

EMPTY = {"resource_groups": [], "accounts": [], "deleted_accounts": [], "workspaces": [], "clusters": []}
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "mslearn"
# A roomy chat deployment: the lab tests send hundreds of calls and must not spend their time throttled. gpt-5 has
# 10 requests per minute per 1,000 TPM (gpt-5-mini 1), so 1,000 units allow 10,000 requests a minute.
BIG = '[{"name":"chat","model":"gpt-5","version":"2025-08-07","capacity":1000}]'


class Labctl:
    def __init__(self, home: Path):
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("LABCTL_", "DATABRICKS_", "REQUESTS_CA"))}
        self.env["LABCTL_HOME"] = str(home / ".labctl")
        self.transcript: list[str] = []

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-c", "from agent.cli import main; main()", *args]

    def __call__(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
        """`labctl ARGS` in this process; an exception escaping `main` (a traceback) fails the test."""
        from agent.cli import main

        stdout, stderr = io.StringIO(), io.StringIO()
        previous, previous_home = Path.cwd(), os.environ.get("LABCTL_HOME")
        os.chdir(self.home)  # results land in ./lab-results, as for a user in their folder
        os.environ["LABCTL_HOME"] = self.env["LABCTL_HOME"]
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), _brisk_run_waiter():
                try:
                    main(list(args))
                    code = 0
                except SystemExit as done:
                    code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        finally:
            os.chdir(previous)
            if previous_home is None:
                os.environ.pop("LABCTL_HOME", None)
            else:
                os.environ["LABCTL_HOME"] = previous_home
            logging.basicConfig(level=logging.WARNING, force=True)  # -v must not outlive its command
        return self._check(args, code, stdout.getvalue(), stderr.getvalue(), expect)

    def process(self, *args: str, expect: int = 0, timeout: float = 300) -> subprocess.CompletedProcess:
        """`labctl ARGS` as its own process: what a terminal sees, exit code included."""
        done = subprocess.run(self.command(*args), cwd=self.home, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        return self._check(args, done.returncode, done.stdout, done.stderr, expect)

    def _check(self, args, code: int, stdout: str, stderr: str, expect: int) -> subprocess.CompletedProcess:
        self.transcript += [stdout, stderr]
        assert code == expect, f"labctl {' '.join(args)} -> {code}\n{stdout}\n{stderr}"
        return subprocess.CompletedProcess(["labctl", *args], code, stdout, stderr)

    def json(self, *args: str, expect: int = 0) -> dict:
        return json.loads(self("--json", *args, expect=expect).stdout)

    def spawn(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.command(*args), cwd=self.home, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    # The sandbox, seen from outside ------------------------------------------------------------------

    @property
    def sandbox_dir(self) -> Path:
        return self.home / ".labctl" / "sandbox"

    @property
    def endpoints(self) -> dict:
        return json.loads((self.sandbox_dir / "endpoints.json").read_text())

    def control(self, method: str, path: str, **kwargs):
        answer = requests.request(method, f"{self.endpoints['data_url']}/_sandbox{path}", timeout=10, **kwargs)
        answer.raise_for_status()
        return answer.json()

    def hold_runs(self, stack: str, hold: bool) -> None:
        """Keep the runs of a stack's workspace RUNNING (before their code starts) until released."""
        self.control("PUT", f"/databricks/workspaces/dbw-labctl-{stack}/hold", json={"hold": hold})

    def inventory_of(self, stack: str) -> dict:
        """Everything in the sandbox that belongs to `stack` (its names all carry `-<stack>`)."""
        inventory = self.control("GET", "/inventory")
        mine = f"-{stack}"

        def owned(name: str) -> bool:
            return name.endswith(mine) or f"{mine}-" in name

        return {
            "resource_groups": [g["name"] for g in inventory["resource_groups"] if owned(g["name"])],
            "accounts": [a["name"] for a in inventory["accounts"] if owned(a["name"])],
            "deleted_accounts": [a["name"] for a in inventory["deleted_accounts"] if owned(a["name"])],
            "workspaces": [w["name"] for w in inventory["databricks_workspaces"] if owned(w["name"])],
            "clusters": [c["cluster_id"] for w in inventory["databricks_workspaces"] if owned(w["name"])
                         for c in w["clusters"]],
        }

    def state_file(self, stack: str, name: str) -> Path:
        return self.home / ".labctl" / "stacks" / stack / name

    def journal_entries(self, stack: str, kind: str) -> list[dict]:
        journal = self.state_file(stack, "journal.json")
        if not journal.exists():
            return []
        return [e for e in json.loads(journal.read_text())["entries"].values() if e["kind"] == kind]

    def wait_for(self, what: str, condition, timeout: float = 120, process: subprocess.Popen | None = None):
        """Poll `condition()` until it returns something truthy; fail with `what` if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = condition()
            if found:
                return found
            if process is not None and process.poll() is not None:
                raise AssertionError(f"{what}: labctl ended first ({process.returncode}): {process.stderr.read()}")
            time.sleep(0.1)
        raise AssertionError(f"{what}: not within {timeout:.0f} s")


@contextlib.contextmanager
def _brisk_run_waiter():
    """databricks-sdk's run waiter sleeps 1, 2, ... up to 10 s between polls; a sandbox run that ends meanwhile
    is noticed up to 10 s late. In-process commands poll at most every 0.5 s instead: the same calls, the same
    states seen, less idle time. Only the SDK's jobs module sees the shorter sleep."""
    import types

    from databricks.sdk.service import jobs

    real = jobs.time
    jobs.time = types.SimpleNamespace(time=time.time, sleep=lambda seconds: time.sleep(min(seconds, 0.5)))
    try:
        yield
    finally:
        jobs.time = real


@pytest.fixture(scope="session")
def lab_home(tmp_path_factory):
    """One LABCTL_HOME and one sandbox for every lifecycle test of the session."""
    home = tmp_path_factory.mktemp("lab")
    # An existing fine-tuning customer: the lab tests train gpt-4.1-mini on a classic account, the seeds' setup
    # (the twin's default is a new customer; test_foundry_fine_tuning.py switches to that and back).
    server = SandboxServer(home / ".labctl" / "sandbox", SandboxConfig(customer="existing"))
    server.start()
    saved = os.environ.get("LABCTL_HOME")
    os.environ["LABCTL_HOME"] = str(home / ".labctl")
    yield home
    if saved is None:
        os.environ.pop("LABCTL_HOME", None)
    else:
        os.environ["LABCTL_HOME"] = saved
    server.stop()


@pytest.fixture
def labctl(lab_home):
    tool = Labctl(lab_home)
    yield tool
    # Whatever a test changed in the shared sandbox goes back to how the next test expects it.
    tool.control("DELETE", "/faults")
    tool.control("PUT", "/model", json={})


@pytest.fixture(scope="session")
def lab_stack(lab_home):
    """The stack every lab test shares: up (a roomy deployment) and staged with the lab's own datasets.
    Its teardown is checked by the tests that own their stacks; here it is only removed."""
    tool = Labctl(lab_home)
    stack = "labs"
    tool("up", "--sandbox", "--stack", stack, "-c", f"deployments={BIG}")
    tool("stage", "--stack", stack, "--training-file", str(DATA / "training_set.jsonl"),
         "--validation-file", str(DATA / "validation_set.jsonl"))
    yield stack
    tool("down", "--stack", stack, "--yes")
