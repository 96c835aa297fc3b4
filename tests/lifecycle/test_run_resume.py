"""Resuming an interrupted `labctl run` when the workspace no longer has the run (a sandbox that restarted, or
Databricks' run history expired), and a mistyped --stack."""

from __future__ import annotations

import json
import signal


def _interrupted_run(labctl, stack: str, *args: str) -> dict:
    """`labctl run ARGS` stopped with Ctrl-C while its run is held RUNNING; the journal's entry of that run."""
    labctl.hold_runs(stack, True)
    try:
        running = labctl.spawn("run", *args, "--stack", stack)
        entry = labctl.wait_for("the run is submitted", lambda: next(
            (e for e in labctl.journal_entries(stack, "run") if e["status"] == "submitted"), None), process=running)
        running.send_signal(signal.SIGINT)
        assert running.wait(timeout=60) == 130
    finally:
        labctl.hold_runs(stack, False)
    return entry


def test_a_run_the_workspace_no_longer_has_is_submitted_again(labctl, lab_stack):
    entry = _interrupted_run(labctl, lab_stack, "smoke")
    # The workspace forgets the run, as a restarted sandbox's new workspace does (Jobs API runs/get then answers
    # INVALID_PARAMETER_VALUE "Run <id> does not exist").
    journal = labctl.state_file(lab_stack, "journal.json")
    state = json.loads(journal.read_text())
    state["entries"][entry["id"]]["data"]["run_id"] = 987654321
    journal.write_text(json.dumps(state))
    done = labctl("run", "smoke", "--stack", lab_stack)
    said = " ".join((done.stdout + done.stderr).split())
    assert "run 987654321 recorded in the journal no longer exists in the workspace" in said
    runs = {e["id"]: e for e in labctl.journal_entries(lab_stack, "run")}
    assert runs[entry["id"]]["status"] == "lost"
    newest = max((e for e in runs.values() if e["data"]["lab"] == "smoke"), key=lambda e: e["created_at"])
    assert newest["id"] != entry["id"] and newest["status"] == "succeeded"
    assert newest["data"]["run_id"] not in (987654321, entry["data"]["run_id"])


def test_a_mistyped_stack_is_named_with_the_stacks_there_are_and_leaves_no_folder(labctl, lab_stack):
    down = labctl("down", "--stack", "nosuch", "--yes")
    said = " ".join((down.stdout + down.stderr).split())
    assert "nothing to take down" in said and "there is no stack 'nosuch'" in said and lab_stack in said
    status = labctl("status", "--stack", "nosuch", expect=2)
    assert "There is no stack 'nosuch'" in " ".join(status.stderr.split() + status.stdout.split())
    assert not labctl.state_file("nosuch", "").exists()
