"""`labctl run fine-tuning` in the sandbox: a deployed fine-tuned model and a chat answer; a killed labctl
resumes the same job; fine-tuning that is not available ends with its own exit code; down removes it all."""

import json
import signal
from pathlib import Path

from tests.lifecycle.conftest import DATA


def jobs(labctl):
    return [j for j in labctl.control("GET", "/inventory")["fine_tuning_jobs"] if "labctl-ftl-" in j["account"]]


def databricks_runs(labctl, stack: str) -> list[dict]:
    import requests

    access = labctl.control("GET", f"/databricks/workspaces/dbw-labctl-{stack}")
    return requests.get(f"{access['host']}/api/2.2/jobs/runs/list", headers={"Authorization": f"Bearer {access['token']}"},
                        verify=access["ca_bundle"], timeout=10).json().get("runs", [])


def test_fine_tuning_end_to_end_resume_unavailable_and_down(labctl, monkeypatch):
    stack = "ftl"
    labctl("up", "--sandbox", "--stack", stack)
    labctl("stage", "--stack", stack, "--training-file", str(DATA / "training_set.jsonl"),
           "--validation-file", str(DATA / "validation_set.jsonl"))
    labctl.control("PATCH", "/settings", json={"timings": {"finetune_running": 10}})
    # The job create (not idempotent) cut once: the lab looks for the job before creating it again.
    labctl.control("PUT", "/faults/ft", json={"rules": [
        {"path": "/fine_tuning/jobs$", "method": "POST", "kind": "drop", "times": 1}]})
    try:
        first = labctl.spawn("run", "fine-tuning", "--stack", stack, "-o", "poll_seconds=1")
        labctl.wait_for("the fine-tuning job starts", lambda: [j for j in jobs(labctl) if j["status"] == "running"],
                        process=first)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        # Killed again, during the follow-up (deploy + chat): the journal has it as a step of its own.
        from agent.lifecycle import fine_tuning_followup

        def killed(*args, **kwargs):
            raise KeyboardInterrupt

        with monkeypatch.context() as patch:
            patch.setattr(fine_tuning_followup, "complete", killed)
            labctl("run", "fine-tuning", "--stack", stack, "-o", "poll_seconds=1", expect=130)
        assert [e["status"] for e in labctl.journal_entries(stack, "run")] == ["followup"]
        runs = labctl.json("run", "fine-tuning", "--stack", stack, "-o", "poll_seconds=1")["runs"]
        assert len(databricks_runs(labctl, stack)) == 1  # neither kill submitted the lab again
    finally:
        labctl.control("PATCH", "/settings", json={"timings": {"finetune_running": 4}})
    assert len(jobs(labctl)) == 1 and jobs(labctl)[0]["status"] == "succeeded"
    assert labctl.control("GET", "/faults/ft")["injected"] == [1]
    assert runs[0]["result_state"] == "SUCCESS", runs[0]
    result = json.loads((Path(runs[0]["results_dir"]) / "fine_tuning.json").read_text())
    assert result["job_id"] == jobs(labctl)[0]["id"] and result["seed"] == 105
    assert result["fine_tuned_model"].startswith("gpt-4.1-mini-2025-04-14.ft-")
    assert result["validation"]["training"]["examples"] == 10 and result["validation"]["training"]["errors"] == 0
    assert [t["status"] for t in result["timeline"] if "status" in t and "file" not in t][-1] == "succeeded"
    assert result["trained_tokens"] > 0 and result["deployment"]["name"] == "ft-lab"
    assert result["chat"]["answer"] and result["chat"]["messages"][1]["content"] == "Does Azure OpenAI support customer managed keys?"
    account = next(a for a in labctl.control("GET", "/inventory")["accounts"] if a["name"].startswith("labctl-ftl-"))
    assert [d["name"] for d in account["deployments"] if d["fine_tuned"]] == ["ft-lab"]

    labctl.control("PATCH", "/settings", json={"customer": "new"})
    try:
        refused = labctl.json("run", "fine-tuning", "--stack", stack, "-o", "new_job=true", "-o", "poll_seconds=1",
                              expect=4)["runs"][0]
    finally:
        labctl.control("PATCH", "/settings", json={"customer": "existing"})
    assert refused["unavailable"] and refused["result_state"] == "FAILED"
    assert refused["error"].startswith("fine-tuning unavailable: The specified base model does not support fine-tuning")
    unavailable = json.loads((Path(refused["results_dir"]) / "fine_tuning.json").read_text())
    assert unavailable["status"] == "unavailable" and unavailable["validation"]["training"]["errors"] == 0
    assert len(jobs(labctl)) == 1

    report = labctl.json("down", "--stack", stack, "--yes")
    assert report["clean"] and "deployment ft-lab" in report["deleted"]
    assert sum(d.startswith("finetune-file") for d in report["deleted"]) >= 2
    assert jobs(labctl) == []
