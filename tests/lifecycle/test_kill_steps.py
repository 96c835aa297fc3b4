"""labctl SIGKILLed in the middle of `up`, `stage` and `down`, then run again (issue 15): exactly one account,
cluster and run, and `down` twice is clean with nothing left in the sandbox and the stack's state cleared.

Each kill lands at a chosen point without sleeps: the sandbox acts on one request, then holds its answer
(a fault `kind: latency, when: after`), and the test kills labctl once the sandbox has taken that request."""

from __future__ import annotations

import json

from tests.lifecycle.conftest import EMPTY
from tests.lifecycle.test_resilience import UP, _runs_of

HOLD_MS = 120_000  # far longer than any test waits: the answer never arrives before the kill
STATE_FILES = ("outputs.json", "sandbox-state.json", "journal.json", "target.json")


def _hold_answer(labctl, key: str, path: str, method: str) -> None:
    """The next matching request is acted on by the sandbox, whose answer then does not come."""
    labctl.control("PUT", f"/faults/{key}", json={"rules": [
        {"path": path, "method": method, "kind": "latency", "latency_ms": HOLD_MS, "when": "after", "times": 1}]})


def _taken(labctl, key: str):
    return lambda: labctl.control("GET", f"/faults/{key}")["injected"] == [1]


def _kill(process) -> None:
    process.kill()  # SIGKILL: no handler, no cleanup, the journal as it was
    process.wait(timeout=30)


def _down_twice_leaves_nothing(labctl, stack: str) -> None:
    for _ in range(2):
        report = labctl.json("down", "--stack", stack, "--yes")
        assert report["clean"], report
    assert labctl.inventory_of(stack) == EMPTY
    inventory = labctl.control("GET", "/inventory")
    assert not [f for f in inventory["files"] if stack in f["account"]]
    assert not any(labctl.state_file(stack, name).exists() for name in STATE_FILES)


def test_up_killed_while_azure_creates_the_account_then_down_twice_leaves_nothing(labctl):
    """The account exists in Azure but labctl died before hearing so: `down` must still delete and purge it (a
    soft-deleted account that is never purged holds its name and quota for 48 hours)."""
    stack = "kz1"
    _hold_answer(labctl, "kz1", f"/accounts/labctl-{stack}-[a-z0-9]+$", "PUT")
    up = labctl.spawn("up", "--sandbox", "--stack", stack, *UP)
    try:
        labctl.wait_for("the account is created", lambda: labctl.inventory_of(stack)["accounts"], process=up)
    finally:
        _kill(up)
    _down_twice_leaves_nothing(labctl, stack)


def test_killed_in_up_stage_and_down_then_rerun_makes_one_of_each_and_down_converges(labctl):
    stack = "kz2"
    # up: killed after the account was created, before labctl heard of it. The rerun puts the same name again.
    _hold_answer(labctl, "kz2-up", f"/accounts/labctl-{stack}-[a-z0-9]+$", "PUT")
    up = labctl.spawn("up", "--sandbox", "--stack", stack, *UP)
    try:
        first = labctl.wait_for("the account is created", lambda: labctl.inventory_of(stack)["accounts"], process=up)
    finally:
        _kill(up)
    # up again, killed after the cluster was created, before its id came back.
    _hold_answer(labctl, "kz2-cluster", "/clusters/create$", "POST")
    up = labctl.spawn("up", "--sandbox", "--stack", stack, *UP)
    try:
        labctl.wait_for("the cluster is created", lambda: labctl.inventory_of(stack)["clusters"], process=up)
    finally:
        _kill(up)
    labctl("up", "--sandbox", "--stack", stack, *UP)
    inventory = labctl.inventory_of(stack)
    assert inventory["accounts"] == first and len(inventory["clusters"]) == 1, inventory

    # stage: killed while the wheel is written to the volume; the rerun completes it and `run` takes it.
    _hold_answer(labctl, "kz2-stage", r"/fs/files/.*\.whl$", "PUT")
    stage = labctl.spawn("stage", "--stack", stack)
    try:
        labctl.wait_for("the wheel is uploaded", _taken(labctl, "kz2-stage"), process=stage)
    finally:
        _kill(stage)
    labctl("stage", "--stack", stack)
    runs = json.loads(labctl("--json", "run", "smoke", "--stack", stack).stdout)["runs"]
    assert [r["result_state"] for r in runs] == ["SUCCESS"]
    assert len(_runs_of(labctl, stack)) == 1

    # down: killed while ARM deletes the Databricks workspace.
    _hold_answer(labctl, "kz2-down", f"/workspaces/dbw-labctl-{stack}$", "DELETE")
    down = labctl.spawn("down", "--stack", stack, "--yes")
    try:
        labctl.wait_for("the workspace delete is sent", _taken(labctl, "kz2-down"), process=down)
    finally:
        _kill(down)
    _down_twice_leaves_nothing(labctl, stack)


def test_ctrl_c_while_following_a_run_says_it_goes_on_and_the_rerun_picks_it_up(labctl, lab_stack):
    import signal

    before = len(_runs_of(labctl, lab_stack))
    labctl.hold_runs(lab_stack, True)
    try:
        running = labctl.spawn("run", "smoke", "--stack", lab_stack)
        labctl.wait_for("the run is submitted", lambda: [e for e in labctl.journal_entries(lab_stack, "run")
                                                         if e["status"] == "submitted"], process=running)
        running.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert running.wait(timeout=60) == 130
        stderr = running.stderr.read()
    finally:
        labctl.hold_runs(lab_stack, False)
    assert "Traceback" not in stderr
    # The stack is shared with other tests: the interrupted run is the one still `submitted`.
    run_id = next(e["data"]["run_id"] for e in labctl.journal_entries(lab_stack, "run") if e["status"] == "submitted")
    assert f"Interrupted: run {run_id} (smoke) goes on on the cluster; `labctl run smoke --stack {lab_stack}` resumes " \
           f"following it and fetches its results, `databricks jobs cancel-run {run_id}` cancels it" \
           in " ".join(stderr.split())
    resumed = json.loads(labctl("--json", "run", "smoke", "--stack", lab_stack).stdout)["runs"]
    assert [(r["run_id"], r["result_state"]) for r in resumed] == [(run_id, "SUCCESS")]
    assert len(_runs_of(labctl, lab_stack)) == before + 1
