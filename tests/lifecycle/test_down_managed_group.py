"""`down` in the sandbox and the workspace's managed resource group: the twin keeps it, with the DBFS storage account
and the access connector, when a workspace is deleted without forceDeletion, as Azure does
(learn.microsoft.com/azure/databricks/admin/workspace/delete-workspace). `down` deletes the workspace with
forceDeletion, deletes a managed group an earlier deletion left behind, and names it when it cannot."""

from azure.mgmt.databricks import AzureDatabricksManagementClient

from tests.lifecycle.conftest import EMPTY


def delete_workspace_without_force(labctl, stack: str) -> None:
    """What Pulumi's azure-native provider, an earlier labctl or the portal does."""
    from agent.target import sandbox_target
    from sandbox.server import Endpoints

    target = sandbox_target(Endpoints(**labctl.endpoints))
    client = AzureDatabricksManagementClient(target.credential, target.subscription_id, base_url=target.arm_url,
                                             connection_verify=target.ca_file,
                                             credential_scopes=["https://management.azure.com/.default"])
    client.workspaces.begin_delete(f"rg-labctl-{stack}", f"dbw-labctl-{stack}").result()


def test_down_deletes_the_managed_group_a_workspace_deleted_without_force_left(labctl):
    stack = "mg1"
    labctl("up", "--sandbox", "--stack", stack, "--skip-preflight")
    planned = labctl.json("down", "--stack", stack, "--dry-run")["plan"]["delete"]
    assert f"managed resource group rg-labctl-{stack}-databricks (with its workspace: forceDeletion)" in planned

    delete_workspace_without_force(labctl, stack)
    assert labctl.inventory_of(stack)["resource_groups"] == [f"rg-labctl-{stack}", f"rg-labctl-{stack}-databricks"]
    planned = labctl.json("down", "--stack", stack, "--dry-run")["plan"]["delete"]
    left = [p for p in planned if p.startswith(f"managed resource group rg-labctl-{stack}-databricks")]
    assert left and "storage account dbstorage" in left[0] and "access connector" in left[0], planned

    report = labctl.json("down", "--stack", stack, "--yes")
    assert report["clean"] and report["verified"], report
    assert any(d.startswith(f"managed resource group rg-labctl-{stack}-databricks") for d in report["deleted"])
    assert labctl.inventory_of(stack) == EMPTY


def test_down_names_a_managed_group_it_could_not_delete_and_a_rerun_finishes(labctl):
    stack = "mg2"
    labctl("up", "--sandbox", "--stack", stack, "--skip-preflight")
    delete_workspace_without_force(labctl, stack)
    labctl.control("PUT", "/faults", json={"rules": [
        {"path": f"/resourcegroups/rg-labctl-{stack}-databricks$", "method": "DELETE", "status": 500}]})
    try:
        failed = labctl.json("down", "--stack", stack, "--yes", expect=1)
    finally:
        labctl.control("DELETE", "/faults")
    leftover = [x for x in failed["leftovers"] if x.startswith(f"managed resource group rg-labctl-{stack}-databricks")]
    assert leftover and "storage account" in leftover[0] and "access connector" in leftover[0], failed
    assert not failed["clean"]

    again = labctl.json("down", "--stack", stack, "--yes")
    assert again["clean"], again
    assert labctl.inventory_of(stack) == EMPTY
