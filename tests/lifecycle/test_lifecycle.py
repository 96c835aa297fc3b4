"""The lab lifecycle end to end in the sandbox: up -> stage -> run -> down, from every partial state."""

import json
import signal

from tests.lifecycle.conftest import EMPTY


def test_up_stage_run_down_leaves_nothing(labctl):
    outputs = labctl.json("up", "--sandbox", "--stack", "e2e", "-c", "owner=tester@example.com")
    # The workspace catalog (the twin has no `main`), a schema of this stack's own.
    assert outputs["target"] == "sandbox" and outputs["dataPath"] == "/Volumes/dbw_labctl_e2e/labctl_e2e/labdata"
    assert "openaiApiKey" not in outputs
    inventory = labctl.inventory_of("e2e")
    assert inventory["resource_groups"] == ["rg-labctl-e2e", "rg-labctl-e2e-databricks"]
    assert len(inventory["accounts"]) == 1 and len(inventory["clusters"]) == 1

    staged = labctl.json("stage", "--stack", "e2e")
    assert staged["wheel"]["uploaded"] and staged["lab_entry_points"]
    assert any("sample data" in n for n in staged["notices"])  # no network here: labctl says it used its own
    again = labctl.json("stage", "--stack", "e2e")
    assert not again["wheel"]["uploaded"] and not any(d["uploaded"] for d in again["data"])

    runs = labctl.json("run", "smoke", "--stack", "e2e")["runs"]
    assert runs[0]["result_state"] == "SUCCESS" and "answered" in runs[0]["summary"]
    smoke = json.loads(open(runs[0]["results_dir"] + "/smoke.json").read())
    assert smoke["deployment"] == "chat" and smoke["usage"]["total_tokens"] > 0

    status = labctl.json("status", "--stack", "e2e")
    assert status["cluster"]["state"] == "RUNNING" and status["accruing"]

    report = labctl.json("down", "--stack", "e2e", "--yes")
    assert report["clean"] and report["purged"] == [outputs["openaiAccountName"]]
    assert labctl.inventory_of("e2e") == EMPTY


def test_down_right_after_up_and_twice_in_a_row(labctl):
    labctl("up", "--sandbox", "--stack", "p1")
    assert labctl.json("down", "--stack", "p1", "--yes")["clean"]
    assert labctl.inventory_of("p1") == EMPTY
    second = labctl.json("down", "--stack", "p1", "--yes")
    assert second["clean"] and second["purged"] == []


def test_down_after_an_interrupted_stage(labctl):
    labctl("up", "--sandbox", "--stack", "p2")
    labctl.control("PUT", "/faults", json={"rules": [{"path": "validation_set", "status": 500}]})
    labctl.env["LABCTL_RETRY_ATTEMPTS"] = "2"  # a fault that never passes: fail soon
    failed = labctl.process("stage", "--stack", "p2", expect=3)
    assert "error:" in failed.stderr and "Traceback" not in failed.stderr
    assert "Databricks PUT /api/2.0/fs/files/" in failed.stderr and "it resumes" in failed.stderr
    labctl.control("DELETE", "/faults")
    assert labctl.json("down", "--stack", "p2", "--yes")["clean"]
    assert labctl.inventory_of("p2") == EMPTY


def _kill_labctl_mid_run(labctl, stack: str, then):
    """Bring a stack up, start `labctl run smoke` (a process of its own) while the sandbox holds the stack's
    runs, SIGKILL it once the journal records the submission, release the runs, then call `then()`; returns
    the journal entry of the killed run and what `then` returned."""
    labctl("up", "--sandbox", "--stack", stack)
    labctl("stage", "--stack", stack)
    labctl.hold_runs(stack, True)
    try:
        running = labctl.spawn("run", "smoke", "--stack", stack)
        entry = labctl.wait_for("labctl run records its submission", lambda: [
            e for e in labctl.journal_entries(stack, "run") if e["status"] == "submitted"], process=running)[0]
        running.send_signal(signal.SIGKILL)
        running.wait(timeout=10)
    finally:
        labctl.hold_runs(stack, False)
    return entry, then()


def test_killed_run_resumes_from_the_journal_without_resubmitting(labctl):
    entry, runs = _kill_labctl_mid_run(labctl, "p3", lambda: labctl.json("run", "smoke", "--stack", "p3")["runs"])
    assert runs[0]["run_id"] == entry["data"]["run_id"] and runs[0]["result_state"] == "SUCCESS"
    workspace = [w for w in labctl.control("GET", "/inventory")["databricks_workspaces"] if w["name"] == "dbw-labctl-p3"]
    access = labctl.control("GET", "/databricks/workspaces/dbw-labctl-p3")
    import requests

    listed = requests.get(f"{access['host']}/api/2.2/jobs/runs/list", headers={"Authorization": f"Bearer {access['token']}"},
                          verify=access["ca_bundle"], timeout=10).json()["runs"]
    assert [r["run_id"] for r in listed] == [entry["data"]["run_id"]]  # submitted exactly once
    assert workspace and labctl.json("down", "--stack", "p3", "--yes")["clean"]


def test_down_in_the_middle_of_a_run_cancels_it(labctl):
    entry, report = _kill_labctl_mid_run(labctl, "p4", lambda: labctl.json("down", "--stack", "p4", "--yes"))
    assert report["cancelled_runs"] == [entry["data"]["run_id"]] and report["clean"]
    assert labctl.inventory_of("p4") == EMPTY


def test_down_after_a_failed_destroy_finishes_the_job(labctl):
    labctl("up", "--sandbox", "--stack", "p5")
    labctl.control("PUT", "/faults", json={"rules": [
        {"path": "/resourcegroups/rg-labctl-p5$", "method": "DELETE", "status": 500}]})
    failed = labctl.json("down", "--stack", "p5", "--yes", expect=1)
    assert not failed["clean"] and any("rg-labctl-p5" in f for f in failed["failures"] + failed["leftovers"])
    labctl.control("DELETE", "/faults")
    assert labctl.json("down", "--stack", "p5", "--yes")["clean"]
    assert labctl.inventory_of("p5") == EMPTY


def test_preflight_prints_its_choices_and_a_dated_estimate(labctl):
    shown = labctl("preflight", "--sandbox", "--stack", "pf").stdout
    assert "chosen" in shown and "eastus2" in shown
    assert "prices as of 2026-11-21" in shown and "total" in shown and "ESTIMATE" in shown
    refused = labctl("preflight", "--sandbox", "--stack", "pf", "--training-type", "Fast", expect=2)
    assert "--training-type 'Fast' is not Standard or GlobalStandard." in refused.stderr


def test_cleanup_is_a_dry_run_unless_told_and_honours_its_config(labctl, tmp_path):
    import datetime as dt

    from sandbox.server import Endpoints
    from agent.target import sandbox_target

    labctl("preflight", "--sandbox", "--stack", "cl")  # makes sure the background sandbox runs
    target = sandbox_target(Endpoints(**labctl.endpoints))
    expired = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3)).isoformat()
    target.resources().resource_groups.create_or_update(
        "rg-expired-cli", {"location": "eastus2", "tags": {"created-by": "labctl", "expires-at": expired, "owner": "x"}})

    dry = labctl.json("cleanup", "--sandbox", "--include", "rg-expired-cli")
    assert dry["dry_run"] and [r["name"] for r in dry["resources"] if r["status"] == "would delete"] == ["rg-expired-cli"]
    assert target.resources().resource_groups.check_existence("rg-expired-cli")

    blocked = tmp_path / "blocked.yaml"
    blocked.write_text(f"blocked_subscriptions: ['{labctl.endpoints['subscription_id']}']\n")
    refused = labctl("cleanup", "--sandbox", "--yes", "--config", str(blocked), expect=2)
    assert "is on the blocklist" in refused.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("keep_tag:\n  keep: [unclosed\n")
    assert f"{broken} line" in labctl("cleanup", "--sandbox", "--config", str(broken), expect=2).stderr

    done = labctl.json("cleanup", "--sandbox", "--yes", "--include", "rg-expired-cli")
    assert [r["name"] for r in done["resources"] if r["status"] == "deleted"] == ["rg-expired-cli"]
    assert not target.resources().resource_groups.check_existence("rg-expired-cli")


def test_down_after_an_up_that_failed_half_way(labctl):
    too_big = '[{"name":"chat","model":"gpt-5-mini","version":"2025-08-07","capacity":5000}]'
    failed = labctl.process("up", "--sandbox", "--stack", "p6", "--skip-preflight", "-c", f"deployments={too_big}",
                            expect=3)
    assert "InsufficientQuota" in failed.stderr and "Traceback" not in failed.stderr
    assert "Azure Resource Manager" in failed.stderr and "it resumes" in failed.stderr
    assert labctl.inventory_of("p6")["accounts"]  # the account was created before the refusal
    assert labctl.json("down", "--stack", "p6", "--yes")["clean"]
    assert labctl.inventory_of("p6") == EMPTY


def test_down_does_not_delete_a_group_that_holds_what_must_be_kept(labctl):
    """Azure deletes a resource group with everything in it: an account someone keeps in the lab's group (tagged
    keep=true, not labctl's) holds the group back, by cleanup's own rule, until it is moved out."""
    from azure.mgmt.cognitiveservices.models import Account, AccountProperties, Sku

    from agent.target import sandbox_target
    from sandbox.server import Endpoints

    stack = "pk"
    outputs = labctl.json("up", "--sandbox", "--stack", stack, "--skip-preflight")
    group, location = outputs["resourceGroupName"], outputs["location"]
    accounts = sandbox_target(Endpoints(**labctl.endpoints)).cognitive().accounts
    accounts.begin_create(group, "precious-pk", Account(
        kind="OpenAI", sku=Sku(name="S0"), location=location, tags={"keep": "true", "owner": "someone-else"},
        properties=AccountProperties(custom_sub_domain_name="precious-pk"))).result()

    refused = labctl.json("down", "--stack", stack, "--yes", expect=1)
    assert any("precious-pk" in f and "must be kept" in f for f in refused["failures"]), refused
    inventory = labctl.control("GET", "/inventory")
    assert "precious-pk" in [a["name"] for a in inventory["accounts"]]
    assert group in [g["name"] for g in inventory["resource_groups"]]

    accounts.begin_delete(group, "precious-pk").result()  # its owner moves it elsewhere
    sandbox_target(Endpoints(**labctl.endpoints)).cognitive().deleted_accounts.begin_purge(
        location, group, "precious-pk").result()
    assert labctl.json("down", "--stack", stack, "--yes")["clean"]
    assert labctl.inventory_of(stack) == EMPTY
