"""Each learner's environment is brought up and taken down by labctl's own `up` and `down`, one process per
learner, `concurrency` at a time (a thread pool waiting on the processes).

Why processes: the sandbox provisions through the Pulumi program under `pulumi.runtime.set_mocks`, and Pulumi's
runtime settings (config, mocks, the stack) are global to a process; the Automation API on Azure runs the `pulumi`
CLI as processes anyway. One process per learner is therefore the same on both targets and exactly what a user
running `labctl up --stack <class>-<nn>` gets: same preflight of the chosen region, same journal, same exit codes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from agent.workdir import home

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Outcome:
    code: int  # the child labctl's exit code (0 ok, 1 failed, 2 usage, 3 service)
    data: dict | None  # its --json answer on stdout, if any
    error: str | None  # its one-sentence error, if any
    seconds: float


def labctl(args: list[str], log: Path) -> Outcome:
    """Run `labctl --json ARGS` as a process of its own, its progress appended to `log`; never raises for a
    failure of the child (its exit code and sentence are in the outcome)."""
    env = {**os.environ, "LABCTL_HOME": str(home())}
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("a", encoding="utf-8") as stderr:
        stderr.write(f"$ labctl {' '.join(args)}\n")
        stderr.flush()
        done = subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", "--json", *args],
                              stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
    seconds = time.monotonic() - started
    try:
        data = json.loads(done.stdout) if done.stdout.strip() else None
    except json.JSONDecodeError:
        data = None
    return Outcome(done.returncode, data, _last_error(log) if done.returncode else None, seconds)


def _last_error(log: Path) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    errors = [line.removeprefix("error: ").strip() for line in lines if line.startswith("error:")]
    if errors:
        return errors[-1]
    tail = [line for line in lines if line.strip()][-1:] or ["no output"]
    return f"labctl ended without a sentence (last line: {tail[0][:200]}); see {log}"


def each(items: Iterable[T], action: Callable[[T], R], concurrency: int) -> list[R]:
    """`action` on every item, at most `concurrency` at once; results in the items' order. An exception of one
    action does not stop the others; it is raised once all have ended."""
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="learner") as pool:
        futures = [pool.submit(action, item) for item in items]
        return [future.result() for future in futures]
