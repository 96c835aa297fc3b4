"""labctl when the world under it changed: files deleted by hand in the portal, a cluster whose library failed,
resources gone before `down`. Each is driven through the real SDKs against the sandbox, as a user would see it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lifecycle.conftest import DATA
from tests.lifecycle.test_cloud_path import fake_auto  # noqa: F401  (fixture: Pulumi's Automation API, faked)
from tests.sandbox.conftest import sandbox  # noqa: F401  (fixture: the sandbox plays Azure for the cloud path)

# The shared lab stack holds all of its region's GlobalStandard quota: stacks of their own go elsewhere.
UP = ("--skip-preflight", "-c", "location=swedencentral")


def _workspace(labctl, stack: str):
    """A WorkspaceClient of the stack's workspace, as the workspace's admin (the sandbox's access endpoint)."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    access = labctl.control("GET", f"/databricks/workspaces/dbw-labctl-{stack}")
    import os

    os.environ["REQUESTS_CA_BUNDLE"] = access["ca_bundle"]
    return WorkspaceClient(config=Config(host=access["host"], token=access["token"], auth_type="pat"))


def _staged(labctl, stack: str) -> dict:
    return json.loads(labctl.state_file(stack, "journal.json").read_text())["entries"]["stage"]["data"]


def _failed_libraries(w, cluster_id: str) -> list[str]:
    return [s.library.whl or s.library.pypi.package for s in w.libraries.cluster_status(cluster_id)
            if s.status.value == "FAILED"]


@pytest.fixture(scope="module")
def staged_stack(lab_home):
    """A stack of its own, up and staged with the lab's datasets (local files, as a user passes them)."""
    from tests.lifecycle.conftest import Labctl

    tool = Labctl(lab_home)
    stack = "wc1"
    tool("up", "--sandbox", "--stack", stack, *UP)
    tool("stage", "--stack", stack, "--training-file", str(DATA / "training_set.jsonl"),
         "--validation-file", str(DATA / "validation_set.jsonl"))
    yield stack
    tool("down", "--stack", stack, "--yes")


def test_run_stages_again_what_was_deleted_by_hand_and_repairs_the_failed_cluster_library(labctl, staged_stack):
    from databricks.sdk.errors import OperationFailed
    from databricks.sdk.service import compute, jobs

    stack = staged_stack
    w = _workspace(labctl, stack)
    outputs = json.loads(labctl.state_file(stack, "outputs.json").read_text())
    wheel = _staged(labctl, stack)["wheel"]
    w.files.delete(wheel)  # someone deleted the lab artifact in the portal
    # A run submitted now (as labctl did before it looked first) fails on the missing file, and the library stays
    # FAILED on the cluster: later runs that attach it fail too, until it is uninstalled and the cluster restarted.
    w.clusters.ensure_cluster_is_running(outputs["clusterId"])
    with pytest.raises(OperationFailed, match="does not exist"):
        w.jobs.submit(run_name="by hand", tasks=[jobs.SubmitTask(
            task_key="t", existing_cluster_id=outputs["clusterId"], libraries=[compute.Library(whl=wheel)],
            python_wheel_task=jobs.PythonWheelTask(package_name="labctl_labs", entry_point="smoke"))]).result()
    assert _failed_libraries(w, outputs["clusterId"]) == [wheel]

    done = labctl("--json", "run", "smoke", "--stack", stack)

    runs = json.loads(done.stdout)["runs"]
    assert runs[0]["result_state"] == "SUCCESS", runs[0]["error"]
    assert "staging again" in done.stderr and "restarting the cluster" in done.stderr
    assert w.files.get_metadata(wheel).content_length > 0  # the same artifact, back in the volume
    assert _failed_libraries(w, outputs["clusterId"]) == []


def test_run_names_the_stack_when_a_dataset_it_needs_cannot_be_staged_again(labctl, staged_stack, tmp_path):
    stack = staged_stack
    training = tmp_path / "training.jsonl"
    training.write_bytes((DATA / "training_set.jsonl").read_bytes())
    labctl("stage", "--stack", stack, "--training-file", str(training),
           "--validation-file", str(DATA / "validation_set.jsonl"))
    training.unlink()  # the local file it was staged from is gone too
    w = _workspace(labctl, stack)
    w.files.delete(f"{_staged(labctl, stack)['wheel'].rsplit('/wheels/', 1)[0]}/data/training_set.jsonl")
    runs_before = len(list(w.jobs.list_runs()))

    refused = labctl("run", "fine-tuning", "--stack", stack, expect=2)

    assert f"labctl stage --stack {stack} --training-file" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert len(list(w.jobs.list_runs())) == runs_before  # nothing submitted
    labctl("stage", "--stack", stack, "--training-file", str(DATA / "training_set.jsonl"),
           "--validation-file", str(DATA / "validation_set.jsonl"))


@pytest.fixture
def restartable(tmp_path):
    """A sandbox of this test's own (the shared one must not restart under other tests), restarted on demand on
    the same state folder, as `labctl sandbox stop` and a later `labctl up --sandbox` do: its resources are gone."""
    from sandbox.config import SandboxConfig
    from sandbox.server import SandboxServer

    from tests.lifecycle.conftest import Labctl

    folder = tmp_path / ".labctl" / "sandbox"
    servers = [SandboxServer(folder, SandboxConfig(customer="existing"))]
    servers[0].start()

    def restart() -> None:
        servers[0].stop()
        servers[0] = SandboxServer(folder, SandboxConfig(customer="existing"))
        servers[0].start()

    yield Labctl(tmp_path), restart
    servers[0].stop()


def test_after_the_sandbox_restarts_run_says_what_to_run_stages_again_and_down_plans_only_what_is_gone(restartable):
    labctl, restart = restartable
    stack = "rs"
    labctl("up", "--sandbox", "--stack", stack, "-c", "lab=world-changed")
    labctl("stage", "--stack", stack, "--training-file", str(DATA / "training_set.jsonl"),
           "--validation-file", str(DATA / "validation_set.jsonl"))
    workspace_root = Path(labctl.control("GET", f"/databricks/workspaces/dbw-labctl-{stack}")["mlflow_tracking_uri"]
                          .removeprefix("sqlite:///")).parents[1]
    assert (workspace_root / "volumes").is_dir()
    restart()
    assert not workspace_root.exists()  # the workspace went with the sandbox, and its files with it

    refused = labctl("run", "smoke", "--stack", stack, expect=3)
    assert f"`labctl up --sandbox --stack {stack}`" in refused.stderr
    assert f"`labctl run smoke --stack {stack}`" in refused.stderr
    refused = labctl("stage", "--stack", stack, "--training-file", str(DATA / "training_set.jsonl"),
                     "--validation-file", str(DATA / "validation_set.jsonl"), expect=3)
    assert f"`labctl up --sandbox --stack {stack}`, then `labctl stage --stack {stack}`" in refused.stderr

    labctl("up", "--sandbox", "--stack", stack)  # the same program, in the new sandbox's empty world
    done = labctl("--json", "run", "smoke", "--stack", stack)
    assert json.loads(done.stdout)["runs"][0]["result_state"] == "SUCCESS"
    assert "staging again" in done.stderr  # the new workspace's volume was empty: the artifact went up again

    restart()
    # Both the dry run and down itself plan nothing to delete, and list what is already gone.
    plan = labctl.json("down", "--stack", stack, "--dry-run")["plan"]
    assert plan["delete"] == []
    assert {f"resource group rg-labctl-{stack}", f"Databricks workspace dbw-labctl-{stack}", "deployment chat"} <= set(plan["gone"])
    assert labctl.state_file(stack, "outputs.json").exists()  # a dry run changes nothing
    down = labctl("--json", "down", "--stack", stack, "--yes")
    report = json.loads(down.stdout)
    assert report["clean"] and report["plan"] == plan and report["deleted"] == []
    assert "(soft delete)" not in down.stderr  # no deletion of what does not exist is shown

    # The user's settings stay; preflight's choices (re-checked by the next up anyway) do not.
    config = json.loads(labctl.state_file(stack, "config.json").read_text())
    assert config["labctl:lab"] == "world-changed"
    assert not {"labctl:location", "labctl:deployments", "labctl:fineTuneBaseModel"} & set(config)


def test_down_deletes_what_exists_and_lists_what_was_deleted_by_hand(labctl):
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    from agent.target import sandbox_target
    from sandbox.server import Endpoints

    stack = "wc2"
    labctl("up", "--sandbox", "--stack", stack, *UP)
    outputs = json.loads(labctl.state_file(stack, "outputs.json").read_text())
    w = _workspace(labctl, stack)
    w.clusters.permanent_delete(outputs["clusterId"])  # deleted by hand in the portal
    target = sandbox_target(Endpoints.read(labctl.sandbox_dir))
    cognitive: CognitiveServicesManagementClient = target.cognitive()
    cognitive.deployments.begin_delete(outputs["resourceGroupName"], outputs["openaiAccountName"], "chat").result()

    plan = labctl.json("down", "--stack", stack, "--dry-run")["plan"]

    assert plan["gone"] == [f"cluster {outputs['clusterId']}", "deployment chat"]
    assert {f"resource group rg-labctl-{stack}", f"Databricks workspace dbw-labctl-{stack}",
            f"Azure OpenAI account {outputs['openaiAccountName']}",
            f"purge of the soft-deleted account {outputs['openaiAccountName']}"} <= set(plan["delete"])
    assert not set(plan["delete"]) & set(plan["gone"])
    report = labctl.json("down", "--stack", stack, "--yes")
    assert report["clean"] and report["verified"] and report["plan"] == plan
    assert labctl.inventory_of(stack) == {k: [] for k in ("resource_groups", "accounts", "deleted_accounts",
                                                          "workspaces", "clusters")}


def test_down_leaves_nothing_of_the_stack_in_its_workspace_not_even_mlflow_experiments(labctl):
    import mlflow

    stack = "wc3"
    experiment = f"/Shared/labctl-llmops-{stack}"
    labctl("up", "--sandbox", "--stack", stack, *UP)
    labctl("stage", "--stack", stack, "--training-file", str(DATA / "training_set.jsonl"),
           "--validation-file", str(DATA / "validation_set.jsonl"))
    assert labctl.json("run", "llmops", "--stack", stack, "-o", "samples=2")["runs"][0]["result_state"] == "SUCCESS"
    store = labctl.json("llmops", "ui", "--stack", stack)["tracking_uri"]
    mlflow.set_tracking_uri(store)
    assert mlflow.get_experiment_by_name(experiment) is not None

    labctl("down", "--stack", stack, "--yes")
    labctl("up", "--sandbox", "--stack", stack, *UP)  # the same names again, in a new workspace

    # Deleting an Azure Databricks workspace deletes what is in it, its MLflow experiments included ("Delete a
    # workspace", Azure Databricks docs): the new workspace holds only what every new workspace has.
    w = _workspace(labctl, stack)
    assert sorted(o.path for o in w.workspace.list("/")) == ["/Shared", "/Users"]
    assert [o.path for o in w.workspace.list("/", recursive=True)] == []  # recursive: files, notebooks, no folders
    mlflow.set_tracking_uri(labctl.json("llmops", "ui", "--stack", stack)["tracking_uri"])
    assert mlflow.get_experiment_by_name(experiment) is None
    assert not Path(store.removeprefix("sqlite:///")).exists()  # the old workspace's store: not even on disk
    labctl("down", "--stack", stack, "--yes")


def test_down_on_azure_takes_preflights_choices_out_of_both_configs_and_keeps_the_users(fake_auto, monkeypatch,
                                                                                        sandbox, tmp_path):
    from agent.lifecycle import updown
    from agent.lifecycle.preflight_step import PreflightOptions, preflight
    from agent.target import Target
    from sandbox.credentials import SandboxCredential

    target = Target("cloud", sandbox.sub, SandboxCredential(), sandbox.endpoints.arm_url, sandbox.endpoints.ca_file)
    mine = {"labctl:owner": "me@example.com", "labctl:location": "swedencentral"}
    preflight(target, "dev", mine, PreflightOptions(), print)
    pulumi_config = fake_auto["stacks"]["dev"].config
    pulumi_config.update(mine)  # `labctl up` sets every setting in Pulumi's stack config
    assert pulumi_config["labctl:aiResourceKind"] == "AIServices"  # chosen: the twin plays a new fine-tuning customer
    target.save("dev")
    monkeypatch.setattr(updown, "load_target", lambda stack, start_sandbox=False: target)

    assert updown.down("dev", print).clean

    assert pulumi_config == mine
    assert json.loads((tmp_path / ".labctl" / "stacks" / "dev" / "config.json").read_text()) == mine
