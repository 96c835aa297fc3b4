"""What deleting an Azure Databricks workspace leaves behind, through azure-mgmt-databricks and azure-mgmt-resource.

Expected values from Azure's docs and public reports:
- "When you delete an Azure Databricks workspace, ... the DBFS storage account and access connector in the managed
  resource group are retained unless you force delete them" (learn.microsoft.com/azure/databricks/admin/workspace/
  delete-workspace, "Force delete the workspace catalog").
- Workspaces - Delete, api-version 2026-01-01, query `forceDeletion`: "By default the data will retained if Uc is
  enabled on the workspace" (learn.microsoft.com/rest/api/databricks/workspaces/delete).
- A live workspace's managed group is protected by "System deny assignment created by Azure Databricks <workspace
  id>": deleting it is 403 DenyAssignmentAuthorizationFailed (microsoft/AzureTRE#4776).
- The managed group's `managedBy` refers to its workspace (Azure refuses a managed group without it,
  pulumi/pulumi-azure-native#3733); the DBFS storage account is named `dbstorage...` (Azure/migAz#266).
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.databricks import AzureDatabricksManagementClient
from azure.mgmt.databricks.models import DefaultCatalogProperties, Sku, Workspace, WorkspaceProperties

from sandbox.credentials import SandboxCredential


def databricks(sandbox) -> AzureDatabricksManagementClient:
    return AzureDatabricksManagementClient(SandboxCredential(), sandbox.sub, **sandbox.arm_kwargs())


def new_workspace(sandbox, group: str, name: str, catalog_type: str = "UnityCatalog") -> str:
    """A premium Hybrid workspace in `group` with its managed group `<group>-databricks`; returns that group's name."""
    managed = f"{group}-databricks"
    sandbox.resources().resource_groups.create_or_update(group, {"location": "eastus2"})
    databricks(sandbox).workspaces.begin_create_or_update(group, name, Workspace(
        location="eastus2", sku=Sku(name="premium"), properties=WorkspaceProperties(
            compute_mode="Hybrid", managed_resource_group_id=f"/subscriptions/{sandbox.sub}/resourceGroups/{managed}",
            default_catalog=DefaultCatalogProperties(initial_type=catalog_type)))).result()
    return managed


def types_in(sandbox, group: str) -> set[str]:
    return {r.type for r in sandbox.resources().resources.list_by_resource_group(group)}


def test_the_managed_group_is_managed_by_the_workspace_and_holds_its_storage_and_access_connector(sandbox):
    managed = new_workspace(sandbox, "rg-fd-shape", "dbw-fd-shape")
    group = sandbox.resources().resource_groups.get(managed)
    assert group.managed_by == (f"/subscriptions/{sandbox.sub}/resourceGroups/rg-fd-shape/providers/"
                                "Microsoft.Databricks/workspaces/dbw-fd-shape")
    listed = {r.type: r.name for r in sandbox.resources().resources.list_by_resource_group(managed)}
    assert set(listed) == {"Microsoft.Storage/storageAccounts", "Microsoft.Databricks/accessConnectors"}
    assert listed["Microsoft.Storage/storageAccounts"].startswith("dbstorage")


def test_the_owner_cannot_delete_a_live_workspaces_managed_group(sandbox):
    managed = new_workspace(sandbox, "rg-fd-deny", "dbw-fd-deny")
    with pytest.raises(HttpResponseError) as refused:
        sandbox.resources().resource_groups.begin_delete(managed).result()
    assert refused.value.status_code == 403 and refused.value.error.code == "DenyAssignmentAuthorizationFailed"
    assert "dbw-fd-deny" in refused.value.error.message
    assert sandbox.resources().resource_groups.check_existence(managed)


def test_a_delete_without_force_leaves_the_managed_group_with_storage_and_access_connector(sandbox):
    managed = new_workspace(sandbox, "rg-fd-keep", "dbw-fd-keep")
    databricks(sandbox).workspaces.begin_delete("rg-fd-keep", "dbw-fd-keep").result()
    assert [w.name for w in databricks(sandbox).workspaces.list_by_resource_group("rg-fd-keep")] == []
    assert sandbox.resources().resource_groups.check_existence(managed)
    assert types_in(sandbox, managed) == {"Microsoft.Storage/storageAccounts", "Microsoft.Databricks/accessConnectors"}
    # The workspace and its deny assignment are gone: the leftover group can be deleted by its owner.
    sandbox.resources().resource_groups.begin_delete(managed).result()
    assert not sandbox.resources().resource_groups.check_existence(managed)


def test_force_deletion_takes_the_managed_group_with_the_workspace(sandbox):
    managed = new_workspace(sandbox, "rg-fd-force", "dbw-fd-force")
    databricks(sandbox).workspaces.begin_delete("rg-fd-force", "dbw-fd-force", force_deletion=True).result()
    assert not sandbox.resources().resource_groups.check_existence(managed)
    assert [w.name for w in databricks(sandbox).workspaces.list_by_resource_group("rg-fd-force")] == []


def test_deleting_the_workspaces_group_leaves_its_managed_group_behind(sandbox):
    """ARM deletes the resources of a group with their providers' default delete: no forceDeletion."""
    managed = new_workspace(sandbox, "rg-fd-group", "dbw-fd-group")
    sandbox.resources().resource_groups.begin_delete("rg-fd-group").result()
    assert not sandbox.resources().resource_groups.check_existence("rg-fd-group")
    assert types_in(sandbox, managed) == {"Microsoft.Storage/storageAccounts", "Microsoft.Databricks/accessConnectors"}


def test_a_workspace_without_unity_catalog_data_takes_its_managed_group_without_force(sandbox):
    """Only Unity Catalog data is retained ("if Uc is enabled"): a HiveMetastore workspace has no workspace catalog."""
    managed = new_workspace(sandbox, "rg-fd-hive", "dbw-fd-hive", catalog_type="HiveMetastore")
    databricks(sandbox).workspaces.begin_delete("rg-fd-hive", "dbw-fd-hive").result()
    assert not sandbox.resources().resource_groups.check_existence(managed)
