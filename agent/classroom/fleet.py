"""Each learner's environment is brought up and taken down by labctl's own `up` and `down`, one process per
learner, `concurrency` at a time (a thread pool waiting on the processes).

Why processes: the sandbox provisions through the Pulumi program under `pulumi.runtime.set_mocks`, and Pulumi's
runtime settings (config, mocks, the stack) are global to a process; the Automation API on Azure runs the `pulumi`
CLI as processes anyway. One process per learner is therefore the same on both targets and exactly what a user
running `labctl up --stack <class>-<nn>` gets: same preflight of the chosen region, same journal, same exit codes.

Ctrl-C: each learner's labctl runs in a process group of its own, so a keyboard Ctrl-C (which the terminal sends to
its foreground group) reaches only the class's labctl, which passes it on exactly once to each learner's labctl
under way (`Learners.interrupt`): each stops as its own `up`/`down` does (what is in flight finishes and is recorded,
exit 130), and no further learner is started. A second Ctrl-C is passed on too: each stops at once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
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


class Learners:
    """The learners' labctl processes of one class command: started only until Ctrl-C (`interrupt`), which is passed
    on to those running."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen] = set()
        self.interrupted = False

    def start(self, command: list[str], **popen) -> subprocess.Popen | None:
        """The process, or None once Ctrl-C came (no learner is started after it)."""
        with self._lock:
            if self.interrupted:
                return None
            # A process group of its own: a terminal's Ctrl-C reaches it only through `interrupt`, exactly once.
            process = subprocess.Popen(command, process_group=0, **popen)
            self._running.add(process)
            return process

    def ended(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._running.discard(process)

    def interrupt(self) -> None:
        """Ctrl-C: start no learner any more, and pass SIGINT on to every learner's labctl that is running."""
        with self._lock:
            self.interrupted = True
            for process in self._running:
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)


def labctl(args: list[str], log: Path, learners: Learners | None = None) -> Outcome | None:
    """Run `labctl --json ARGS` as a process of its own, its progress appended to `log`; never raises for a
    failure of the child (its exit code and sentence are in the outcome). None when it was not started: Ctrl-C
    came first (`learners.interrupt`)."""
    learners = learners or Learners()
    env = {**os.environ, "LABCTL_HOME": str(home())}
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("a", encoding="utf-8") as stderr:
        stderr.write(f"$ labctl {' '.join(args)}\n")
        stderr.flush()
        process = learners.start([sys.executable, "-c", "from agent.cli import main; main()", "--json", *args],
                                 stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
        if process is None:
            stderr.write("not started: Ctrl-C came first\n")
            return None
        try:
            stdout, _ = process.communicate()
        finally:
            learners.ended(process)
    seconds = time.monotonic() - started
    try:
        data = json.loads(stdout) if stdout.strip() else None
    except json.JSONDecodeError:
        data = None
    return Outcome(process.returncode, data, _last_error(log) if process.returncode else None, seconds)


def _last_error(log: Path) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    errors = [line.removeprefix("error: ").strip() for line in lines if line.startswith("error:")]
    if errors:
        return errors[-1]
    tail = [line for line in lines if line.strip()][-1:] or ["no output"]
    if tail[0].startswith("Interrupted"):  # Ctrl-C: the child's own sentence (what it finished, how it resumes)
        return tail[0].strip()
    return f"labctl ended without a sentence (last line: {tail[0][:200]}); see {log}"


def each(items: Iterable[T], action: Callable[[T], R], concurrency: int) -> list[R]:
    """`action` on every item, at most `concurrency` at once; results in the items' order. An exception of one
    action does not stop the others; it is raised once all have ended."""
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="learner") as pool:
        futures = [pool.submit(action, item) for item in items]
        return [future.result() for future in futures]
