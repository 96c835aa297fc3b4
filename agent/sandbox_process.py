"""The sandbox as a background process that `labctl up --sandbox` starts once and later commands reuse."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from agent.errors import UNAVAILABLE, LabctlError
from sandbox.server import Endpoints


def running(state_dir: Path) -> Endpoints | None:
    """The endpoints of a live sandbox in `state_dir`, or None."""
    path = state_dir / "endpoints.json"
    if not path.exists():
        return None
    endpoints = read_endpoints(path)
    try:
        os.kill(endpoints.pid, 0)
        answer = requests.get(f"{endpoints.control_url()}/health", timeout=2)
        return endpoints if answer.ok else None
    except (OSError, ValueError, TypeError, requests.RequestException):
        return None


def read_endpoints(path: Path) -> Endpoints:
    """The sandbox's endpoints file; a damaged one is one sentence naming it (never silently replaced: the
    sandbox it described may still be running, holding the lab's resources)."""
    from agent.workdir import CorruptState, read_state

    fields = Endpoints.__dataclass_fields__
    data = read_state(path, None, lambda d: isinstance(d, dict) and set(d) == set(fields)
                      and isinstance(d["pid"], int) and all(isinstance(d[k], str) for k in fields if k != "pid"),
                      "a sandbox endpoints file")
    if data is None:  # pragma: no cover - checked by the caller
        raise CorruptState(path, "is missing")
    return Endpoints(**data)


def ensure_running(state_dir: Path, timeout: float = 30.0) -> Endpoints:
    """The running sandbox of `state_dir`, started if there is none. Starting holds a file lock, so two labctl
    commands started together share one sandbox instead of each starting its own."""
    from filelock import FileLock

    endpoints = running(state_dir)
    if endpoints is not None:
        return endpoints
    state_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(state_dir / ".start.lock"):
        return running(state_dir) or _start(state_dir, timeout)


def _start(state_dir: Path, timeout: float) -> Endpoints:
    (state_dir / "endpoints.json").unlink(missing_ok=True)
    log = (state_dir / "sandbox.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-c", "from agent.cli import main; main()", "sandbox", "serve", "--state-dir", str(state_dir)],
        stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LabctlError(f"The sandbox exited at start (code {process.returncode}); see {state_dir / 'sandbox.log'}.",
                              UNAVAILABLE)
        endpoints = running(state_dir)
        if endpoints is not None and endpoints.pid == process.pid:
            return endpoints
        time.sleep(0.1)
    raise LabctlError(f"The sandbox did not start within {timeout:.0f} s; see {state_dir / 'sandbox.log'}.", UNAVAILABLE)


def stop(state_dir: Path) -> bool:
    endpoints = running(state_dir)
    if endpoints is None:
        return False
    os.kill(endpoints.pid, signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(endpoints.pid, 0)
        except OSError:
            break
        time.sleep(0.05)
    (state_dir / "endpoints.json").unlink(missing_ok=True)
    return True
