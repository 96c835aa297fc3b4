"""A roster class: each learner's identity reaches their stack; a learner that failed is resumed alone; a class
whose record is lost is still found and taken down by `class cleanup`."""

import json

from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config

from tests.lifecycle.conftest import EMPTY

CHAT = 'deployments=[{"name":"chat","model":"gpt-5","capacity":10}]'  # 10 RPM per unit: notebooks not paced


def _workspace(labctl, stack: str) -> WorkspaceClient:
    access = labctl.control("GET", f"/databricks/workspaces/dbw-labctl-{stack}")
    import os

    os.environ["REQUESTS_CA_BUNDLE"] = access["ca_bundle"]
    return WorkspaceClient(config=Config(host=access["host"], token=access["token"], auth_type="pat"))


def test_a_roster_class_resumes_a_failed_learner_and_cleanup_finds_a_lost_class(labctl, tmp_path):
    roster = tmp_path / "roster.txt"
    roster.write_text("ada@example.com\ngrace@example.com\n", encoding="utf-8")
    # The second learner's workspace cannot be created (a 400 is not retried): that learner fails, the first does not.
    labctl.control("PUT", "/faults", json={"rules": [{"path": "workspaces/dbw-labctl-ros-02", "method": "PUT",
                                                      "status": 400}]})
    failed = labctl("--json", "class", "up", "--sandbox", "--class", "ros", "--roster", str(roster), "-c", CHAT, expect=1)
    report = json.loads(failed.stdout)
    states = {r["learner"]: (r["state"], r["error"]) for r in report["learners"]}
    assert states["ros-01"] == ("ready", None)
    assert states["ros-02"][0] == "failed" and "Azure Resource Manager" in states["ros-02"][1]

    # The learner's identity: owner of their dedicated cluster, their notebooks in their own folder.
    w = _workspace(labctl, "ros-01")
    outputs = labctl.json("status", "--stack", "ros-01")["outputs"]
    assert w.clusters.get(outputs["clusterId"]).single_user_name == "ada@example.com"
    assert outputs["tags"]["owner"] == "ada@example.com"
    listed = sorted(o.path for o in w.workspace.list("/Users/ada@example.com/labctl-labs"))
    assert listed == ["/Users/ada@example.com/labctl-labs/01_connect",
                      "/Users/ada@example.com/labctl-labs/02_counterfactual_prompts"]
    source = w.workspace.download(listed[0]).read().decode()
    assert source.startswith("# Databricks notebook source") and "dbutils.secrets.get(scope" in source
    assert outputs["secretScope"] in source and "api_key=dbutils.secrets.get" in source

    # No key is written into a notebook, the class record or the learners' logs.
    from agent.target import load_target

    key = load_target("ros-01").cognitive().accounts.list_keys(outputs["resourceGroupName"],
                                                              outputs["openaiAccountName"]).key1
    written = [w.workspace.download(path).read().decode() for path in listed]
    written += [p.read_text() for p in (labctl.home / ".labctl" / "classes" / "ros").rglob("*") if p.is_file()]
    assert len(key) > 16 and not any(key in text for text in written)

    # Rerun: the failed learner is brought up, the ready one is left as it is.
    labctl.control("DELETE", "/faults")
    cluster = outputs["clusterId"]
    resumed = labctl.json("class", "up", "--sandbox", "--class", "ros", "--roster", str(roster), "-c", CHAT)
    assert resumed["ok"] and resumed["plan"] == {"resumed": True}
    assert labctl.json("status", "--stack", "ros-01")["outputs"]["clusterId"] == cluster

    # A notebook that fails is reported with its own error, learner by learner (exit 1).
    w.secrets.delete_secret(outputs["secretScope"], "openai-key")
    broken = json.loads(labctl("--json", "class", "verify", "--class", "ros", expect=1).stdout)
    runs = {r["learner"]: r["runs"] for r in broken["learners"]}
    assert runs["ros-01"][0]["result_state"] == "FAILED" and "openai-key" in runs["ros-01"][0]["error"]
    assert [run["result_state"] for run in runs["ros-02"]] == ["SUCCESS", "SUCCESS"]

    # The class record is lost: cleanup still finds the class's stacks by name, dry run first.
    (labctl.home / ".labctl" / "classes" / "ros" / "class.json").unlink()
    dry = labctl.json("class", "cleanup", "--class", "ros")
    assert dry == {"dry_run": True, "class": "ros", "stacks": ["ros-01", "ros-02"], "gone": []}
    assert labctl.inventory_of("ros-01") != EMPTY
    done = labctl.json("class", "cleanup", "--class", "ros", "--yes")
    assert done["clean"] and [r["learner"] for r in done["learners"]] == ["ros-01", "ros-02"]
    assert labctl.inventory_of("ros-01") == EMPTY and labctl.inventory_of("ros-02") == EMPTY
