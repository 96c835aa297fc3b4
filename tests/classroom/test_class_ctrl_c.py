"""Ctrl-C (a real SIGINT to the `labctl class` process) during `class up` and `class down`: the learner under way
stops as its own `labctl up`/`down` does (what is in flight finishes and is recorded), no new learner is started,
the class record says where each learner is, one sentence names the state and the command that resumes, exit 130;
the named command then converges.

Each signal lands at a chosen point without sleeps: the sandbox holds its answer to one request of the second
learner (a fault `kind: latency, when: after`: the request took effect), and the test signals the class process
once the sandbox has taken that request and the first learner is recorded, as in tests/lifecycle/test_ctrl_c.py.
`class up` is signalled as a terminal does (its whole process group), `class down` as `kill -INT` does (the class
process alone): either way each learner's labctl gets the Ctrl-C exactly once."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess

from tests.lifecycle.conftest import EMPTY

CLASS = "cci"
STACKS = [f"{CLASS}-0{n}" for n in (1, 2, 3)]
CHAT = 'deployments=[{"name":"chat","model":"gpt-5","capacity":10}]'
HOLD_MS = 8_000  # the held answer comes back after this; by then the class process has been signalled
UP = ("class", "up", "--class", CLASS, "--learners", "3", "--sandbox", "-c", CHAT, "--concurrency", "1",
      "--no-notebooks")


def _hold(labctl, key: str, path: str, method: str) -> None:
    labctl.control("PUT", f"/faults/{key}", json={"rules": [
        {"path": path, "method": method, "kind": "latency", "latency_ms": HOLD_MS, "when": "after", "times": 1}]})


def _states(labctl) -> dict[str, str]:
    record = labctl.home / ".labctl" / "classes" / CLASS / "class.json"
    if not record.exists():
        return {}
    return {stack: entry["state"] for stack, entry in json.loads(record.read_text())["learners"].items()}


def _in_a_terminal_group(labctl, *args: str) -> subprocess.Popen:
    """`labctl ARGS` leading a process group of its own, as a shell runs a command in the foreground: a keyboard
    Ctrl-C is sent to the whole group (`_interrupt(..., group=True)`)."""
    return subprocess.Popen(labctl.command(*args), cwd=labctl.home, env=labctl.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _interrupt(process, group: bool = False) -> tuple[int, str]:
    if group:
        os.killpg(process.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C: the whole foreground group
    else:
        process.send_signal(signal.SIGINT)  # what `kill -INT` sends: the class's labctl alone
    code = process.wait(timeout=300)
    return code, process.stderr.read()


def _errors(labctl) -> dict[str, str | None]:
    record = labctl.home / ".labctl" / "classes" / CLASS / "class.json"
    return {stack: entry["error"] for stack, entry in json.loads(record.read_text())["learners"].items()}


def _resume_command(sentence: str) -> list[str]:
    """The command the sentence names (between the last pair of backticks), as arguments of `labctl`."""
    command = sentence.rsplit("`", 2)[-2]
    words = shlex.split(command)
    assert words[0] == "labctl", sentence
    return words[1:]


def test_ctrl_c_during_class_up_and_down_stops_cleanly_and_the_named_command_converges(labctl):
    try:
        # class up, interrupted while ARM creates the second learner's workspace.
        _hold(labctl, "cci-up", f"/workspaces/dbw-labctl-{STACKS[1]}$", "PUT")
        up = _in_a_terminal_group(labctl, *UP)
        labctl.wait_for("the second learner's workspace is being created", lambda: (
            labctl.control("GET", "/faults/cci-up")["injected"] == [1]), timeout=300, process=up)
        assert _states(labctl)[STACKS[0]] == "ready"
        code, stderr = _interrupt(up, group=True)

        assert code == 130, stderr
        assert "Traceback" not in stderr, stderr
        last = " ".join(stderr.strip().splitlines()[-1].split())
        assert last.startswith(f"Interrupted `labctl class up` of class '{CLASS}': 1 of 3 learners ready, "
                               f"{STACKS[1]} stopped where its own `labctl up` stopped (recorded), 1 not started"), stderr
        assert _resume_command(last) == list(UP), last
        assert _states(labctl) == {STACKS[0]: "ready", STACKS[1]: "interrupted", STACKS[2]: "planned"}
        # The learner's own labctl got one Ctrl-C (not two: that would have stopped it at once) and said so.
        assert _errors(labctl)[STACKS[1]].startswith(f"Interrupted `labctl up` of stack '{STACKS[1]}': nothing was "
                                                     f"created after Ctrl-C"), _errors(labctl)
        # What was in flight finished (the workspace is there); nothing was started after Ctrl-C.
        assert labctl.inventory_of(STACKS[1])["workspaces"] == [f"dbw-labctl-{STACKS[1]}"]
        assert labctl.inventory_of(STACKS[1])["clusters"] == []
        assert labctl.inventory_of(STACKS[2]) == EMPTY

        resumed = labctl.json(*_resume_command(last))
        assert resumed["ok"] and [r["state"] for r in resumed["learners"]] == ["ready"] * 3

        # class down, interrupted while ARM deletes the second learner's workspace.
        _hold(labctl, "cci-down", f"/workspaces/dbw-labctl-{STACKS[1]}$", "DELETE")
        down = labctl.spawn("class", "down", "--class", CLASS, "--concurrency", "1", "--yes")
        labctl.wait_for("the second learner's workspace is being deleted", lambda: (
            labctl.control("GET", "/faults/cci-down")["injected"] == [1]), timeout=300, process=down)
        assert _states(labctl)[STACKS[0]] == "down"
        code, stderr = _interrupt(down)

        assert code == 130, stderr
        assert "Traceback" not in stderr, stderr
        last = " ".join(stderr.strip().splitlines()[-1].split())
        assert last.startswith(f"Interrupted `labctl class down` of class '{CLASS}': 1 of 3 learners' environments "
                               f"gone, {STACKS[1]} stopped where its own `labctl down` stopped (recorded), "
                               f"1 not started"), stderr
        assert _resume_command(last) == ["class", "down", "--class", CLASS, "--concurrency", "1", "--yes"], last
        assert _states(labctl) == {STACKS[0]: "down", STACKS[1]: "interrupted", STACKS[2]: "ready"}
        assert _errors(labctl)[STACKS[1]].startswith(f"Interrupted `labctl down` of stack '{STACKS[1]}'"), _errors(labctl)
        assert labctl.inventory_of(STACKS[2]) != EMPTY  # not started: untouched

        done = labctl.json(*_resume_command(last))
        assert done["clean"]
        assert all(labctl.inventory_of(stack) == EMPTY for stack in STACKS)
    finally:
        labctl.control("DELETE", "/faults/cci-up")
        labctl.control("DELETE", "/faults/cci-down")
