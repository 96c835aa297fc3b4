"""A class whose environments went away under its record (found by a new user): the sandbox stopped (the twin keeps
its resources in memory, so they go with it: `labctl sandbox stop`'s help), or one learner's workspace deleted in
the portal. `class status`, `verify`, `up` and `cleanup` look each learner up as `labctl status` looks up a stack,
and every advice names the class's own command, never a learner's or the default stack's `labctl up --sandbox`.

Driven through the CLI on a sandbox of this test's own, started by `class up --sandbox` as a user's is (the shared one
must not be stopped)."""

from __future__ import annotations

import json

import pytest

from tests.lifecycle.conftest import EMPTY, Labctl

CHAT = 'deployments=[{"name":"chat","model":"gpt-5","capacity":10}]'  # 10 RPM per unit: notebooks not paced
UP_AGAIN = "`labctl class up --class rs --learners 2 --sandbox` brings"
STACKS = ["rs-01", "rs-02"]


@pytest.fixture
def own_labctl(tmp_path, monkeypatch):
    monkeypatch.setenv("LABCTL_HOME", str(tmp_path / ".labctl"))  # for the test's own look through the real SDKs
    tool = Labctl(tmp_path)
    yield tool
    tool("class", "down", "--class", "rs", "--yes")
    tool("sandbox", "stop")  # the background sandbox `class up --sandbox` started


def _running(labctl) -> bool:
    from agent import sandbox_process

    return sandbox_process.running(labctl.sandbox_dir) is not None


def _no_learner_up_advice(text: str) -> None:
    # `labctl up --sandbox` (with or without --stack) would bring up the default stack or one learner without the
    # class's settings and notebooks.
    assert "`labctl up " not in text and "labctl up --sandbox" not in text


def test_a_stopped_sandbox_or_a_deleted_workspace_is_seen_and_brought_back_by_the_class_commands(own_labctl):
    labctl = own_labctl
    first = labctl.json("class", "up", "--sandbox", "--class", "rs", "--learners", "2", "-c", CHAT)
    assert first["ok"]

    labctl("sandbox", "stop")

    # status: every learner gone (not `ready`), no cluster, no cost, exit 1 as `labctl status` for a stack that is down.
    shown = labctl("class", "status", "--class", "rs", expect=1)
    assert UP_AGAIN in shown.stdout and "rs-01: gone (the sandbox is not running" in shown.stdout
    _no_learner_up_advice(shown.stdout + shown.stderr)
    rows = json.loads(labctl("class", "status", "--class", "rs", "--json", expect=1).stdout)["learners"]
    assert [(r["learner"], r["state"], r["cluster"], r["cost_so_far_usd"], r["expires"]) for r in rows] == [
        (stack, "gone", None, None, None) for stack in STACKS]

    # verify: each learner fails with the class's command; cleanup's dry run takes down nothing (nothing exists).
    verified = labctl("class", "verify", "--class", "rs", expect=1)
    assert verified.stdout.count(UP_AGAIN) == 2
    _no_learner_up_advice(verified.stdout + verified.stderr)
    dry = labctl.json("class", "cleanup", "--class", "rs")
    assert dry["stacks"] == [] and dry["gone"] == STACKS
    assert not _running(labctl)  # looking started no sandbox

    # up: the sandbox is started and both learners are brought up again (not "ready" unchecked), notebooks included.
    resumed = labctl("--json", "class", "up", "--sandbox", "--class", "rs", "--learners", "2")
    report = json.loads(resumed.stdout)
    assert report["ok"] and [(r["learner"], r["started"]) for r in report["learners"]] == [(s, True) for s in STACKS]
    assert "the sandbox is not running" in resumed.stderr and _running(labctl)
    assert all(len(labctl.inventory_of(stack)["workspaces"]) == 1 for stack in STACKS)
    rows = labctl.json("class", "status", "--class", "rs")["learners"]
    assert [(r["state"], r["cluster"]) for r in rows] == [("ready", "RUNNING")] * 2
    assert all(r["cost_so_far_usd"] is not None for r in rows)
    assert labctl.json("class", "verify", "--class", "rs")["ok"]

    # One learner's workspace deleted in the portal: that learner is partly down, and only it is brought up again.
    from agent.lifecycle.status import DATABRICKS_ARM_API
    from agent.target import load_target

    workspace = json.loads(labctl.state_file("rs-02", "outputs.json").read_text())["workspaceResourceId"]
    load_target("rs-02").resources().resources.begin_delete_by_id(workspace, api_version=DATABRICKS_ARM_API).result()
    rows = {r["learner"]: r for r in labctl.json("class", "status", "--class", "rs", expect=1)["learners"]}
    assert rows["rs-01"]["state"] == "ready" and rows["rs-02"]["state"] == "partly down"
    assert any(m.startswith("Databricks workspace") for m in rows["rs-02"]["missing"])
    assert rows["rs-02"]["cost_so_far_usd"] is None  # its cluster went with its workspace
    repaired = labctl.json("class", "up", "--sandbox", "--class", "rs", "--learners", "2")
    assert repaired["ok"] and {r["learner"]: r["started"] for r in repaired["learners"]} == {"rs-01": False,
                                                                                             "rs-02": True}
    assert labctl("class", "status", "--class", "rs").returncode == 0

    # After a completed `class down`, cleanup finds nothing to take down (the stacks' folders stay, empty).
    assert labctl.json("class", "down", "--class", "rs", "--yes")["clean"]
    assert all(labctl.inventory_of(stack) == EMPTY for stack in STACKS)
    dry = labctl("class", "cleanup", "--class", "rs")
    assert "would take down nothing" in dry.stdout and "rs-01" not in dry.stdout
