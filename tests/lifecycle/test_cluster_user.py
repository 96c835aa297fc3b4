"""`labctl:clusterUser` naming someone other than the deployer: the labs run as that user, on the cluster dedicated
to them, with the secret-scope ACL and the Unity Catalog grants the stack gives them; without those the twin refuses,
as Databricks would ("Secret ACLs", "Manage privileges in Unity Catalog", "Access modes")."""

from __future__ import annotations

from tests.lifecycle.conftest import EMPTY

LEARNER = "learner@sandbox.local"


def admin_client(labctl, stack: str, monkeypatch):
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    access = labctl.control("GET", f"/databricks/workspaces/dbw-labctl-{stack}")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", access["ca_bundle"])
    return WorkspaceClient(config=Config(host=access["host"], token=access["token"], auth_type="pat"))


def test_the_labs_run_as_the_cluster_user_and_only_with_what_the_stack_grants(labctl, monkeypatch):
    stack = "cu"
    labctl("up", "--sandbox", "--stack", stack, "-c", f"clusterUser={LEARNER}")
    labctl("stage", "--stack", stack)
    w = admin_client(labctl, stack, monkeypatch)
    cluster_id = labctl.json("status", "--stack", stack)["outputs"]["clusterId"]
    assert w.clusters.get(cluster_id).single_user_name == LEARNER

    smoke = labctl.json("run", "smoke", "--stack", stack)["runs"][0]
    assert smoke["result_state"] == "SUCCESS", smoke
    probe = labctl.json("run", "responsible-ai", "--stack", stack, "-o", "samples=1", "-o", "mitigation=false")["runs"][0]
    assert probe["result_state"] == "SUCCESS", probe
    # The table the lab wrote as the learner, in the stack's own schema of the workspace catalog.
    assert [t.name for t in w.tables.list(f"dbw_labctl_{stack}", f"labctl_{stack}")] == ["labctl_bias_probe"]

    # Take the scope's ACL away and the same lab is refused on the cluster: what a stack without it meets.
    w.secrets.delete_acl("labctl", LEARNER)
    refused = labctl.json("run", "smoke", "--stack", stack, expect=1)["runs"][0]
    assert refused["result_state"] == "FAILED"
    assert f"{LEARNER} does not have READ permission on scope labctl" in refused["error"]

    assert labctl.json("down", "--stack", stack, "--yes")["clean"]
    assert labctl.inventory_of(stack) == EMPTY
