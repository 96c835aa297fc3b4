"""The cloud's bad days (issue 15), each cause with a fixed number of faults so every run is the same:
labctl retries what is safe to retry, resumes what was interrupted, and `down` converges from any state."""

from __future__ import annotations

import requests

from tests.lifecycle.test_cloud_path import fake_auto  # noqa: F401  (fixture)
from tests.sandbox.conftest import sandbox  # noqa: F401  (fixture: the sandbox plays Azure for the cloud path)

from tests.lifecycle.conftest import EMPTY

# The shared lab stack holds all of its region's GlobalStandard quota: stacks of their own go elsewhere.
UP = ("--skip-preflight", "-c", "location=swedencentral")


def _faults(labctl, key: str, *rules: dict) -> None:
    labctl.control("PUT", f"/faults/{key}", json={"rules": list(rules)})


def _injected(labctl, key: str) -> list[int]:
    return labctl.control("GET", f"/faults/{key}")["injected"]


def _runs_of(labctl, stack: str) -> list[dict]:
    access = labctl.control("GET", f"/databricks/workspaces/dbw-labctl-{stack}")
    answer = requests.get(f"{access['host']}/api/2.2/jobs/runs/list", params={"limit": 100},
                          headers={"Authorization": f"Bearer {access['token']}"}, verify=access["ca_bundle"], timeout=10)
    return answer.json().get("runs", [])


def test_run_survives_500s_and_truncated_bodies_on_every_databricks_call(labctl, lab_stack):
    before = len(_runs_of(labctl, lab_stack))
    _faults(labctl, "run",
            {"path": "/jobs/runs/submit$", "status": 500, "times": 1},  # guarded by its idempotency token
            # done, answer lost: the sandbox makes the run, then cuts its answer short (ChunkedEncodingError)
            {"path": "/jobs/runs/submit$", "kind": "truncate", "times": 1},
            {"path": "/jobs/runs/get$", "status": 500, "times": 2},
            {"path": "/jobs/runs/get$", "kind": "drop", "times": 1},  # the connection cut, no answer at all
            {"path": "/fs/files/.*/results/.*smoke", "method": "PUT", "status": 500, "times": 2},  # the lab's own upload
            {"path": "/fs/files/.*/results/.*smoke|/_storage/download/", "method": "GET", "kind": "drop", "times": 1},
            {"path": "/clusters/get$", "status": 500, "times": 1})
    done = labctl("--json", "run", "smoke", "--stack", lab_stack)
    import json

    runs = json.loads(done.stdout)["runs"]
    assert runs[0]["result_state"] == "SUCCESS" and "answered" in runs[0]["summary"]
    assert "retrying after" in done.stderr
    assert _injected(labctl, "run") == [1, 1, 2, 1, 2, 1, 1]
    assert len(_runs_of(labctl, lab_stack)) == before + 1  # the retried submits made one run, not three


def test_up_and_down_survive_faults_on_long_running_operations_and_list_keys(labctl):
    stack = "rz1"
    _faults(labctl, "up",
            # The cluster create's answer lost (the sandbox creates it, then cuts the answer short): the retry
            # finds the cluster by name instead of creating a second one.
            {"path": "/clusters/create$", "kind": "truncate", "times": 1},
            # The schema and volume creates acted on, their answers a 500 (found by the soak, seed 9).
            {"path": "/unity-catalog/schemas$", "method": "POST", "status": 500, "when": "after", "times": 1},
            {"path": "/unity-catalog/volumes$", "method": "POST", "status": 500, "when": "after", "times": 1},
            {"path": f"/accounts/labctl-{stack}-[a-z0-9]+$", "method": "PUT", "status": 500, "times": 1},
            {"path": f"/workspaces/dbw-labctl-{stack}$", "method": "PUT", "kind": "drop", "times": 1},
            {"path": "/listkeys$", "method": "POST", "kind": "drop", "times": 1},
            {"path": "/listkeys$", "method": "POST", "status": 500, "times": 1},
            {"path": "/secrets/put$", "status": 500, "times": 1})
    labctl("up", "--sandbox", "--stack", stack, *UP)
    assert all(_injected(labctl, "up")), _injected(labctl, "up")
    assert len(labctl.inventory_of(stack)["clusters"]) == 1
    _faults(labctl, "down",
            {"path": f"/accounts/labctl-{stack}-[a-z0-9]+$", "method": "DELETE", "status": 500, "times": 1},
            {"path": f"/deletedaccounts/labctl-{stack}-[a-z0-9]+$", "method": "DELETE", "kind": "drop", "times": 1},
            {"path": "/secrets/delete$", "status": 500, "times": 1},
            {"path": f"/workspaces/dbw-labctl-{stack}$", "method": "DELETE", "status": 500, "times": 1})
    report = labctl.json("down", "--stack", stack, "--yes")
    assert report["clean"], report
    assert all(_injected(labctl, "down")), _injected(labctl, "down")
    assert labctl.inventory_of(stack) == EMPTY


def test_an_up_that_failed_after_creating_the_cluster_reuses_it(labctl):
    stack = "rz3"
    _faults(labctl, "cluster", {"path": "/clusters/create$", "kind": "drop", "times": 1},  # a cut create is retried
            {"path": "/libraries/install$", "status": 400, "times": 1})  # then `up` fails after the create
    failed = labctl.process("up", "--sandbox", "--stack", stack, *UP, expect=3)  # (a process: Pulumi's futures)
    assert "Traceback" not in failed.stderr
    created = labctl.inventory_of(stack)["clusters"]
    assert len(created) == 1
    labctl("up", "--sandbox", "--stack", stack, *UP)
    assert labctl.inventory_of(stack)["clusters"] == created  # found again, not a second one
    assert labctl.json("down", "--stack", stack, "--yes")["clean"]
    assert labctl.inventory_of(stack) == EMPTY


def test_an_interrupted_run_all_resumes_its_batch_without_rerunning_what_succeeded(labctl, lab_stack, monkeypatch):
    import json

    from agent.lifecycle import run as run_module

    # `all` as two cheap labs: the smoke lab under two names.
    monkeypatch.setattr(run_module, "LABS", {**run_module.LABS, "smoke-again": run_module.LABS["smoke"]})
    monkeypatch.setattr(run_module, "MAIN_LABS", ("smoke", "smoke-again"))
    submitted = run_module._submitted
    crashes = ["smoke-again"]

    def crash_once(w, outputs, wheel, journal, entry, lab, progress):
        if lab in crashes:  # labctl killed between the first lab's end and the second's submission
            crashes.remove(lab)
            raise KeyboardInterrupt
        return submitted(w, outputs, wheel, journal, entry, lab, progress)

    monkeypatch.setattr(run_module, "_submitted", crash_once)
    before = len(_runs_of(labctl, lab_stack))
    labctl("run", "all", "--stack", lab_stack, expect=130)
    assert len(_runs_of(labctl, lab_stack)) == before + 1
    resumed = labctl("--json", "run", "all", "--stack", lab_stack)
    runs = json.loads(resumed.stdout)["runs"]
    assert [r["lab"] for r in runs] == ["smoke", "smoke-again"] and all(r["result_state"] == "SUCCESS" for r in runs)
    assert "not run again" in resumed.stderr
    assert len(_runs_of(labctl, lab_stack)) == before + 2  # smoke ran once, smoke-again once
    again = json.loads(labctl("--json", "run", "all", "--stack", lab_stack).stdout)["runs"]  # a new batch: both run
    assert len(_runs_of(labctl, lab_stack)) == before + 4 and {r["run_id"] for r in again}.isdisjoint(
        {r["run_id"] for r in runs})


def test_down_with_an_existing_resource_group_leaves_it_and_is_clean(labctl):
    from agent.target import sandbox_target
    from sandbox.server import Endpoints

    stack, shared = "rz4", "rg-shared-team"
    labctl("preflight", "--sandbox", "--stack", stack)  # makes sure the background sandbox runs
    groups = sandbox_target(Endpoints(**labctl.endpoints)).resources().resource_groups
    groups.create_or_update(shared, {"location": "swedencentral", "tags": {"team": "shared"}})
    try:
        labctl("up", "--sandbox", "--stack", stack, *UP, "-c", f"existingResourceGroup={shared}")
        assert labctl.json("down", "--stack", stack, "--yes")["clean"]
        assert labctl.json("down", "--stack", stack, "--yes")["clean"]
        assert groups.check_existence(shared)  # not labctl's to delete
        assert labctl.inventory_of(stack) == EMPTY
    finally:
        groups.begin_delete(shared).result()


def test_down_after_failed_deletes_converges_and_keeps_what_it_could_not_delete(labctl, monkeypatch):
    """A failed secret delete (every later `down` failed with 'databricks-provider'), a failed fine-tuning file
    delete (it was dropped from the journal), a delete done whose answer was lost (it was reported left behind)."""
    import json

    from agent.provision import sandbox as provision

    stack = "rz2"
    outputs = labctl.json("up", "--sandbox", "--stack", stack, *UP)
    journal = labctl.state_file(stack, "journal.json")
    data = json.loads(journal.read_text()) if journal.exists() else {"entries": {}}
    data["entries"]["f1"] = {"id": "f1", "kind": "finetune-file", "status": "started", "created_at": "", "updated_at": "",
                             "data": {"id": "file-lost", "resource_group": outputs["resourceGroupName"],
                                      "account": outputs["openaiAccountName"], "endpoint": outputs["openaiEndpoint"]}}
    journal.write_text(json.dumps(data))
    _faults(labctl, "down", {"path": "/secrets/delete$", "status": 400, "times": 1},  # refusals: not retried
            {"path": "/openai/files/file-lost", "method": "DELETE", "status": 400, "times": 1})
    delete = provision._delete_entry

    def answer_lost(target, workspace, entry, progress):
        delete(target, workspace, entry, progress)
        if entry["type"] == "databricks:index/volume:Volume":
            raise ConnectionError("the answer was lost")  # done, but labctl does not know

    monkeypatch.setattr(provision, "_delete_entry", answer_lost)
    failed = labctl.json("down", "--stack", stack, "--yes", expect=1)
    assert not failed["clean"] and any(f.startswith("databricks-secret") for f in failed["failures"]), failed
    assert any("file-lost" in f for f in failed["failures"])
    assert not any("volume" in f.lower() for f in failed["failures"])  # looked at again: gone
    assert [e["data"]["id"] for e in labctl.journal_entries(stack, "finetune-file")] == ["file-lost"]
    second = labctl.process("down", "--stack", stack, "--yes")
    assert "databricks-provider" not in second.stdout + second.stderr
    assert labctl.json("down", "--stack", stack, "--yes")["clean"]
    assert labctl.inventory_of(stack) == EMPTY


def test_two_commands_started_together_share_one_sandbox(tmp_path):
    import os

    from tests.lifecycle.conftest import Labctl

    tool = Labctl(tmp_path)
    both = [tool.spawn("preflight", "--sandbox", "--stack", name) for name in ("a", "b")]
    try:
        for process in both:
            assert process.wait(timeout=120) == 0, process.stderr.read()
        state = str(tool.sandbox_dir)
        serving = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                command = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if b"serve" in command and state.encode() in command:
                serving.append(int(pid))
        assert serving == [tool.endpoints["pid"]]
    finally:
        for process in both:
            if process.poll() is None:
                process.kill()
        tool.process("sandbox", "stop")


def test_the_sandbox_killed_mid_run_gives_one_sentence_and_exit_3(tmp_path):
    import os
    import signal

    from tests.lifecycle.conftest import Labctl

    tool = Labctl(tmp_path)  # a background sandbox of its own, to kill
    stack = "rz6"
    tool("up", "--sandbox", "--stack", stack, "--skip-preflight")  # starts the background sandbox of tmp_path
    tool("stage", "--stack", stack)
    tool.hold_runs(stack, True)
    pid = tool.endpoints["pid"]
    running = tool.spawn("run", "smoke", "--stack", stack)
    try:
        tool.wait_for("the run is submitted", lambda: [e for e in tool.journal_entries(stack, "run")
                                                       if e["status"] == "submitted"], process=running)
        os.kill(pid, signal.SIGKILL)
        assert running.wait(timeout=120) == 3
        stderr = running.stderr.read()
        assert "The sandbox stopped while labctl followed run" in stderr and "Traceback" not in stderr
    finally:
        if running.poll() is None:
            running.kill()
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def test_a_fine_tuning_upload_whose_answer_was_lost_leaves_no_extra_file(labctl, lab_stack):
    """files.create is a POST Azure OpenAI does not deduplicate: a retry after a lost answer (the file made, then
    a 500 or a cut connection) would upload a second copy that nothing records and `down` never deletes.
    And the fine-tuned deployment's polls throttled four times in a row (azure-core retries a status 3 times;
    found by the soak, seed 6) do not end the follow-up."""
    import json

    def files() -> set[str]:  # what labctl uploads (the service's own results.csv files are purpose fine-tune-results)
        return {f["id"] for f in labctl.control("GET", "/inventory")["files"]
                if f["account"].startswith(f"labctl-{lab_stack}-") and f["purpose"] == "fine-tune"}

    before = files()
    _faults(labctl, "upload", {"path": "/openai/files$", "method": "POST", "status": 500, "when": "after", "times": 1},
            {"path": "/openai/files$", "method": "POST", "kind": "drop", "when": "after", "times": 1},
            {"path": "/deployments/ft-lab$", "method": "GET", "status": 429, "retry_after_ms": 200, "times": 4})
    done = labctl("--json", "run", "fine-tuning", "--stack", lab_stack, "-o", "poll_seconds=1", "-o", "new_job=true")
    assert json.loads(done.stdout)["runs"][0]["result_state"] == "SUCCESS"
    assert _injected(labctl, "upload") == [1, 1, 4]
    new = files() - before
    assert len(new) == 2  # one training file, one validation file
    assert new <= {e["data"]["id"] for e in labctl.journal_entries(lab_stack, "finetune-file")}  # `down` removes them


# Pulumi's own report of a resource that failed (the Automation API's CommandError carries stdout and stderr): the
# stack's "update failed" heading first, then the resource's diagnostics with Azure's error.
PULUMI_UP_FAILED = """
 code: 255
 stdout: Updating (dev):
 +  azure-native:cognitiveservices:Account openai creating (2s)
 +  azure-native:cognitiveservices:Account openai creating failed error: Code="InsufficientQuota"
Diagnostics:
  pulumi:pulumi:Stack (labctl-dev):
    error: update failed

  azure-native:cognitiveservices:Account (openai):
    error: Code="InsufficientQuota" Message="This operation require 50 new capacity in quota Tokens Per Minute (thousands) - gpt-5-mini, which is bigger than the current available capacity 0."

 stderr: """


def test_a_failed_pulumi_up_on_azure_is_one_sentence_naming_service_operation_and_resume(fake_auto, tmp_path):
    from tests.lifecycle.conftest import Labctl
    from tests.lifecycle.test_cloud_path import CommandError, FakeStack

    class Failing(FakeStack):
        def up(self, on_output):
            raise CommandError(PULUMI_UP_FAILED)

    fake_auto["stacks"]["dev"] = Failing("dev", fake_auto["behaviour"])
    failed = Labctl(tmp_path)("up", "--stack", "dev", "--skip-preflight", "-c", "azure-native:subscriptionId=sub-123",
                              expect=3)
    sentence = failed.stderr.strip().splitlines()[-1]
    assert sentence.startswith("error: Azure Resource Manager (azure-native:cognitiveservices:Account openai) failed "
                               "during pulumi up of stack 'dev': error: Code=\"InsufficientQuota\""), sentence
    assert sentence.endswith("rerun `labctl up --stack dev`: it resumes (Pulumi's state keeps what was done).")
    assert "update failed" not in sentence


def test_a_failed_pulumi_destroy_is_one_sentence_and_down_stays_resumable(fake_auto, tmp_path, monkeypatch):
    from agent.lifecycle import updown
    from agent.lifecycle.down_plan import DownPlan
    from tests.lifecycle.test_cloud_path import CommandError

    updown.up("dev", False, ["owner=me@example.com", "azure-native:subscriptionId=sub-123"], print)
    from types import SimpleNamespace

    # Only Pulumi's part of `down` is looked at here: the rest needs Azure, and is covered against the sandbox.
    monkeypatch.setattr(updown, "load_target", lambda stack, start_sandbox=False: SimpleNamespace(kind="cloud"))
    monkeypatch.setattr(updown, "_plan", lambda *args: DownPlan())
    monkeypatch.setattr(updown, "_cancel_runs", lambda *args: None)
    monkeypatch.setattr(updown, "_delete_unowned", lambda *args: None)
    monkeypatch.setattr(updown, "_remember_accounts", lambda *args: None)
    monkeypatch.setattr(updown, "_held_back", lambda *args: [])
    monkeypatch.setattr(updown, "_purge", lambda *args: None)
    monkeypatch.setattr(updown, "_verify", lambda *args: None)

    def refused():
        raise CommandError("\n code: 255\n stdout: Destroying (dev):\nDiagnostics:\n  databricks:index/cluster:Cluster "
                           "(lab-cluster):\n    error: cannot delete cluster: Request timed out\n\n stderr: ")

    fake_auto["behaviour"]["destroy"] = refused
    report = updown.down("dev", print)
    assert report.failures == ["Databricks (databricks:index/cluster:Cluster lab-cluster) failed during pulumi destroy of "
                               "stack 'dev': error: cannot delete cluster: Request timed out; fix the cause if it is not "
                               "a passing fault, then rerun `labctl down --stack dev`: it resumes (Pulumi's state keeps "
                               "what was done)."]
    assert (tmp_path / ".labctl" / "stacks" / "dev" / "outputs.json").exists()  # kept for the rerun


def test_status_of_a_half_down_stack_says_what_is_left_and_exits_1(labctl, monkeypatch):
    import json

    stack = "rz7"
    labctl("up", "--sandbox", "--stack", stack, *UP)
    monkeypatch.setenv("LABCTL_RETRY_ATTEMPTS", "1")  # a fault that never passes: fail soon
    _faults(labctl, "half", {"path": f"/resourcegroups/rg-labctl-{stack}$", "method": "DELETE", "status": 500})
    labctl.json("down", "--stack", stack, "--yes", expect=1)  # everything deleted but the group
    labctl.control("DELETE", "/faults/half")
    shown = labctl("status", "--stack", stack, expect=1)
    report = json.loads(labctl("--json", "status", "--stack", stack, expect=1).stdout)
    assert report["state"] == "partly down" and report["present"] == [f"resource group rg-labctl-{stack}"], report
    assert any(m.startswith("Databricks workspace") for m in report["missing"])
    assert f"left: resource group rg-labctl-{stack}" in " ".join(shown.stdout.split())
    assert f"`labctl down --stack {stack} --yes` finishes" in " ".join(shown.stdout.split())
    assert labctl.json("down", "--stack", stack, "--yes")["clean"]
    assert labctl.inventory_of(stack) == EMPTY


def test_down_of_a_stack_never_brought_up_claims_no_verification(labctl):
    done = labctl("down", "--stack", "never-up", "--yes")
    assert "verified" not in done.stdout + done.stderr and "nothing to take down" in done.stdout
    report = labctl.json("down", "--stack", "never-up", "--yes")
    assert report["clean"] and not report["verified"]


def test_down_after_the_sandbox_was_stopped_starts_none_and_clears_the_stack(tmp_path):
    from agent import sandbox_process
    from tests.lifecycle.conftest import Labctl

    tool = Labctl(tmp_path)  # a background sandbox of its own, to stop
    stack = "rz8"
    tool("up", "--sandbox", "--stack", stack, "--skip-preflight")
    tool("sandbox", "stop")
    done = tool("down", "--stack", stack, "--yes")
    assert "the sandbox is not running" in " ".join(done.stdout.split()) and "verified" not in done.stdout
    assert sandbox_process.running(tool.sandbox_dir) is None  # no sandbox started (and left running)
    assert not any(tool.state_file(stack, name).exists() for name in ("outputs.json", "target.json", "journal.json",
                                                                       "sandbox-state.json"))
    assert tool.json("down", "--stack", stack, "--yes")["clean"]


def test_down_on_azure_after_an_up_killed_while_the_account_was_created_purges_it(fake_auto, monkeypatch, sandbox):
    """`pulumi up` killed while Azure created the account: Pulumi's state has it only as a pending operation (and no
    outputs.json was written). Destroying the group soft-deletes the account; `down` must still purge it. Azure is
    played by the sandbox's ARM surface, Pulumi by the fake Automation API."""
    from azure.mgmt.cognitiveservices.models import Account, AccountProperties, Sku

    from agent.lifecycle import updown
    from agent.target import Target
    from sandbox.credentials import SandboxCredential
    from tests.lifecycle.test_cloud_path import FakeStack

    tags = {"created-by": "labctl"}
    sandbox.resources().resource_groups.create_or_update("rg-labctl-dev", {"location": "eastus2", "tags": tags})
    sandbox.cognitive().accounts.begin_create("rg-labctl-dev", "labctl-dev-k1ll3d", Account(
        kind="OpenAI", sku=Sku(name="S0"), location="eastus2", tags=tags,
        properties=AccountProperties(custom_sub_domain_name="labctl-dev-k1ll3d"))).result()
    target = Target("cloud", sandbox.sub, SandboxCredential(), sandbox.endpoints.arm_url, sandbox.endpoints.ca_file)
    target.save("dev")
    monkeypatch.setattr(updown, "load_target", lambda stack, start_sandbox=False: target)

    class Killed(FakeStack):
        def export_stack(self):
            from types import SimpleNamespace

            group = {"type": "azure-native:resources:ResourceGroup", "inputs": {"resourceGroupName": "rg-labctl-dev"},
                     "outputs": {"name": "rg-labctl-dev"}}
            creating = {"type": "azure-native:cognitiveservices:Account", "inputs": {
                "accountName": "labctl-dev-k1ll3d", "resourceGroupName": "rg-labctl-dev", "location": "eastus2"}}
            return SimpleNamespace(deployment={"resources": [group], "pending_operations": [
                {"resource": creating, "type": "creating"}]})

    fake_auto["stacks"]["dev"] = Killed("dev", fake_auto["behaviour"])
    fake_auto["behaviour"]["destroy"] = lambda: sandbox.resources().resource_groups.begin_delete("rg-labctl-dev").result()
    report = updown.down("dev", print)
    assert report.clean and report.verified and report.purged == ["labctl-dev-k1ll3d"], report
    after = sandbox.inventory()
    assert not [a for a in after["accounts"] + after["deleted_accounts"] if a["name"] == "labctl-dev-k1ll3d"]
    assert "rg-labctl-dev" not in [g["name"] for g in after["resource_groups"]]


def test_a_cluster_create_whose_connection_was_cut_after_it_acted_makes_one_cluster(labctl):
    """databricks-sdk retries every requests.ConnectionError itself, a POST clusters/create included: a connection
    cut after Databricks made the cluster (found by the soak, seed 2: two clusters) must not make a second one."""
    stack = "rz9"
    _faults(labctl, "cut-create", {"path": "/clusters/create$", "kind": "drop", "when": "after", "times": 1})
    # And a deployment PUT cut after ARM acted: azure-core resends it while the first still runs, and Azure answers
    # 409 RequestConflict "Another operation is being performed on the parent resource" (soak, seed 2: up exit 3).
    _faults(labctl, "cut-deploy", {"path": "/deployments/chat$", "method": "PUT", "kind": "drop", "when": "after",
                                   "times": 1})
    labctl("up", "--sandbox", "--stack", stack, *UP)
    assert _injected(labctl, "cut-create") == [1] and _injected(labctl, "cut-deploy") == [1]
    assert len(labctl.inventory_of(stack)["clusters"]) == 1
    assert labctl.json("down", "--stack", stack, "--yes")["clean"]
    assert labctl.inventory_of(stack) == EMPTY


def test_a_lab_reads_its_secrets_through_500s(labctl, lab_stack):
    """dbutils.secrets.get talks to Databricks through a client of its own, outside the lab's retry layer, and
    databricks-sdk does not retry a 500: one ended the llmops lab (found by the soak, seed 4)."""
    import json

    _faults(labctl, "secret", {"path": "/secrets/get$", "status": 500, "times": 2})
    done = labctl("--json", "run", "smoke", "--stack", lab_stack)
    assert json.loads(done.stdout)["runs"][0]["result_state"] == "SUCCESS"
    assert _injected(labctl, "secret") == [2]
