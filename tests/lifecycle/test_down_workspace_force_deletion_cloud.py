"""`down` on Azure deletes the Databricks workspace with forceDeletion between two Pulumi destroys, so that its
managed resource group goes too; Azure is played by the sandbox's ARM surface, Pulumi by the cloud-path fake of the
Automation API (tests/lifecycle/test_cloud_path.py).

Why: deleting a workspace without forceDeletion keeps its managed group with the DBFS storage account and the access
connector (learn.microsoft.com/azure/databricks/admin/workspace/delete-workspace), and Pulumi's azure-native provider
deletes without it."""

from __future__ import annotations

import pytest
from azure.mgmt.databricks import AzureDatabricksManagementClient
from azure.mgmt.databricks.models import Sku, Workspace, WorkspaceProperties

from tests.lifecycle.test_cloud_path import fake_auto  # noqa: F401  (fixture)
from tests.sandbox.conftest import sandbox  # noqa: F401  (fixture)

from agent.lifecycle import updown
from sandbox.credentials import SandboxCredential

WORKSPACE_URN = "urn:pulumi:dev::labctl::labctl:databricks:Workspace$azure-native:databricks:Workspace::lab-workspace"
CLUSTER_URN = "urn:pulumi:dev::labctl::databricks:index/cluster:Cluster::lab-cluster"


def databricks(sandbox) -> AzureDatabricksManagementClient:
    return AzureDatabricksManagementClient(SandboxCredential(), sandbox.sub, **sandbox.arm_kwargs())


@pytest.fixture
def azure_stack(fake_auto, monkeypatch, sandbox):  # noqa: F811
    """The stack `dev` on "Azure": group rg-lab with an account and workspace dbw-lab (managed group
    rg-lab-databricks), and Pulumi's state naming them and a cluster inside the workspace."""
    from agent.target import Target
    from tests.sandbox.conftest import Lab

    Lab(sandbox)
    managed = f"/subscriptions/{sandbox.sub}/resourceGroups/rg-lab-databricks"
    databricks(sandbox).workspaces.begin_create_or_update("rg-lab", "dbw-lab", Workspace(
        location="eastus2", sku=Sku(name="premium"),
        properties=WorkspaceProperties(compute_mode="Hybrid", managed_resource_group_id=managed))).result()
    target = Target("cloud", sandbox.sub, SandboxCredential(), sandbox.endpoints.arm_url, sandbox.endpoints.ca_file)
    target.save("dev")
    monkeypatch.setattr(updown, "load_target", lambda stack, start_sandbox=False: target)
    fake_auto["behaviour"]["resources"] = [
        {"type": "azure-native:cognitiveservices:Account", "inputs": {"resourceGroupName": "rg-lab"},
         "outputs": {"name": "lab-aoai", "location": "eastus2"}},
        {"type": "azure-native:databricks:Workspace", "urn": WORKSPACE_URN,
         "inputs": {"resourceGroupName": "rg-lab", "workspaceName": "dbw-lab", "managedResourceGroupId": managed},
         "outputs": {"name": "dbw-lab", "managedResourceGroupId": managed}},
        {"type": "databricks:index/cluster:Cluster", "urn": CLUSTER_URN, "outputs": {}},
    ]
    seen = []

    def destroy_targets(urns):  # Pulumi deletes the cluster while the workspace still answers
        seen.append(("targets", urns, [w.name for w in databricks(sandbox).workspaces.list_by_resource_group("rg-lab")]))

    def destroy_all():  # the rest, as azure-native would: a plain DELETE of the workspace, then the group
        seen.append(("all", None, [w.name for w in databricks(sandbox).workspaces.list_by_resource_group("rg-lab")]))
        sandbox.resources().resources.begin_delete_by_id(
            f"/subscriptions/{sandbox.sub}/resourceGroups/rg-lab/providers/Microsoft.Databricks/workspaces/dbw-lab",
            api_version="2026-01-01").result()
        sandbox.resources().resource_groups.begin_delete("rg-lab").result()

    fake_auto["behaviour"].update(destroy_targets=destroy_targets, destroy=destroy_all)
    return seen


def test_down_force_deletes_the_workspace_between_two_destroys_and_nothing_is_left(azure_stack, fake_auto, sandbox):
    report = updown.down("dev", print)
    assert report.clean and report.verified, report
    # First Pulumi deletes what is inside the workspace, which still exists; by the full destroy it is gone.
    assert azure_stack == [("targets", [CLUSTER_URN], ["dbw-lab"]), ("all", None, [])]
    assert "managed resource group rg-lab-databricks (with its workspace: forceDeletion)" in report.plan["delete"]
    groups = [g["name"] for g in sandbox.inventory()["resource_groups"]]
    assert "rg-lab-databricks" not in groups and "rg-lab" not in groups


def test_down_deletes_a_managed_group_an_earlier_deletion_without_force_left(azure_stack, sandbox):
    databricks(sandbox).workspaces.begin_delete("rg-lab", "dbw-lab").result()  # as Pulumi alone (or the portal) did
    assert sandbox.resources().resource_groups.check_existence("rg-lab-databricks")

    report = updown.down("dev", print)
    assert report.clean, report
    left = next(d for d in report.deleted if d.startswith("managed resource group rg-lab-databricks"))
    assert "storage account dbstorage" in left and "access connector" in left
    assert not sandbox.resources().resource_groups.check_existence("rg-lab-databricks")


def test_a_failed_forced_deletion_stops_before_pulumi_destroys_the_rest_and_a_rerun_finishes(
        azure_stack, fake_auto, sandbox, monkeypatch):  # noqa: F811
    monkeypatch.setenv("LABCTL_RETRY_ATTEMPTS", "2")  # a fault that never passes: fail soon
    sandbox.control("PUT", "/faults", json={"rules": [
        {"path": "/workspaces/dbw-lab$", "method": "DELETE", "status": 500}]})
    try:
        failed = updown.down("dev", print)
    finally:
        sandbox.control("DELETE", "/faults")
    assert not failed.clean and any(f.startswith("Databricks workspace dbw-lab:") for f in failed.failures), failed
    assert fake_auto["behaviour"]["destroy_calls"] == [[CLUSTER_URN]]  # the rest was not destroyed
    assert any(x.startswith("managed resource group rg-lab-databricks (of Databricks workspace dbw-lab")
               for x in failed.leftovers), failed

    again = updown.down("dev", print)
    assert again.clean, again
    assert not sandbox.resources().resource_groups.check_existence("rg-lab-databricks")
