"""Ctrl-C (a real SIGINT to a labctl process) during `up` and `down` in the sandbox: one sentence saying what was
interrupted and the command that resumes, exit 130, no traceback, nothing started after the signal, and the
resumed command converges.

Each signal lands at a chosen point without sleeps: the sandbox acts on a request, then holds its answer (a fault
`kind: latency, when: after`), and the test signals labctl once the sandbox has taken that request, so the operation
is in flight when Ctrl-C comes; labctl lets it finish (as the Pulumi CLI does) and starts nothing after it."""

from __future__ import annotations

import json
import signal

from tests.lifecycle.conftest import EMPTY
from tests.lifecycle.test_resilience import UP

HOLD_MS = 8_000  # the held answers come back after this; by then labctl has been signalled


def _hold(labctl, key: str, rules: list[tuple[str, str]]) -> None:
    labctl.control("PUT", f"/faults/{key}", json={"rules": [
        {"path": path, "method": method, "kind": "latency", "latency_ms": HOLD_MS, "when": "after", "times": 1}
        for path, method in rules]})


def _interrupt(labctl, process) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    code = process.wait(timeout=180)
    return code, process.stderr.read()


def _recorded_types(labctl, stack: str) -> set[str]:
    state = labctl.state_file(stack, "sandbox-state.json")
    return {entry["type"] for entry in json.loads(state.read_text())["resources"]}


def test_ctrl_c_during_up_stops_registering_and_the_rerun_converges(labctl):
    stack = "cc1"
    # The account and the workspace are the two roots of the program (everything else needs one of them): both are
    # in flight when Ctrl-C comes, so nothing else may start after it.
    _hold(labctl, "cc1", [(f"/accounts/labctl-{stack}-[a-z0-9]+$", "PUT"), (f"/workspaces/dbw-labctl-{stack}$", "PUT")])
    up = labctl.spawn("up", "--sandbox", "--stack", stack, *UP)
    labctl.wait_for("Azure has taken the account and the workspace", lambda: all(
        labctl.inventory_of(stack)[kind] for kind in ("accounts", "workspaces")), process=up)
    code, stderr = _interrupt(labctl, up)

    assert code == 130, stderr
    assert "Traceback" not in stderr and "Exception in callback" not in stderr, stderr
    last = " ".join(stderr.strip().splitlines()[-1].split())
    assert last.startswith(f"Interrupted `labctl up` of stack '{stack}': nothing was created after Ctrl-C"), stderr
    assert last.endswith(f"`labctl up --sandbox --stack {stack}` resumes where it stopped."), stderr
    # What was in flight finished and is recorded; nothing that needed it was started.
    assert _recorded_types(labctl, stack) == {
        "random:index/randomString:RandomString", "azure-native:resources:ResourceGroup",
        "azure-native:databricks:Workspace", "azure-native:cognitiveservices:Account"}
    first = labctl.inventory_of(stack)
    assert first["clusters"] == [] and len(first["accounts"]) == 1, first
    deployments = labctl.control("GET", "/inventory")["accounts"]
    assert not [a for a in deployments if a["name"] in first["accounts"] and a.get("deployments")], deployments
    # `status` lists what the half-done up left, which costs money, instead of saying the stack is not up.
    shown = labctl("status", "--stack", stack, expect=1)
    said = " ".join(shown.stdout.split())
    assert "partly up" in said and f"Azure OpenAI account {first['accounts'][0]}" in said, said
    assert f"`labctl up --sandbox --stack {stack}` finishes it" in said, said

    labctl("up", "--sandbox", "--stack", stack, *UP)  # the resume command the sentence names
    after = labctl.inventory_of(stack)
    assert after["accounts"] == first["accounts"] and len(after["clusters"]) == 1, after

    # down, interrupted while ARM deletes the workspace: the resource group (deleted after it) is left, recorded.
    _hold(labctl, "cc1-down", [(f"/workspaces/dbw-labctl-{stack}$", "DELETE")])
    down = labctl.spawn("down", "--stack", stack, "--yes")
    labctl.wait_for("the workspace delete is sent",
                    lambda: labctl.control("GET", "/faults/cc1-down")["injected"] == [1], process=down)
    code, stderr = _interrupt(labctl, down)
    assert code == 130, stderr
    assert "Traceback" not in stderr, stderr
    last = " ".join(stderr.strip().splitlines()[-1].split())
    assert last.startswith(f"Interrupted `labctl down` of stack '{stack}'"), stderr
    assert last.endswith(f"`labctl down --stack {stack} --yes` resumes where it stopped."), stderr
    assert labctl.inventory_of(stack)["resource_groups"] == [f"rg-labctl-{stack}"]
    assert "azure-native:resources:ResourceGroup" in _recorded_types(labctl, stack)

    report = labctl.json("down", "--stack", stack, "--yes")
    assert report["clean"] and report["verified"], report
    assert labctl.inventory_of(stack) == EMPTY
