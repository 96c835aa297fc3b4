"""Deleting the stack's Azure Databricks workspace so that nothing of it stays: with `forceDeletion=true`.

Without it Azure keeps the workspace's managed resource group, with the DBFS storage account and the Unity Catalog
access connector, whenever Unity Catalog is enabled on the workspace ("When you delete an Azure Databricks
workspace, ... the DBFS storage account and access connector in the managed resource group are retained unless you
force delete them", learn.microsoft.com/azure/databricks/admin/workspace/delete-workspace; Workspaces - Delete,
`forceDeletion`: "By default the data will retained if Uc is enabled on the workspace",
learn.microsoft.com/rest/api/databricks/workspaces/delete, api-version 2026-01-01). Every labctl workspace has a
workspace catalog, so every one needs it. Pulumi's azure-native provider cannot send the parameter, so labctl deletes
the workspace itself before Pulumi destroys the rest.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.target import Target


def parse_workspace_id(resource_id: str) -> tuple[str, str]:
    """(resource group, workspace name) of `/subscriptions/<sub>/resourceGroups/<rg>/providers/
    Microsoft.Databricks/workspaces/<name>`; ValueError for anything else."""
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if len(parts) != 8 or lowered[2] != "resourcegroups" or lowered[5:7] != ["microsoft.databricks", "workspaces"]:
        raise ValueError(f"{resource_id!r} is not the ARM id of a Databricks workspace")
    return parts[3], parts[7]


def force_delete(target: Target, resource_id: str, progress: Callable[[str], None]) -> None:
    """Delete the workspace and its managed resource group with it (forceDeletion=true), waiting for ARM's
    long-running operation. A workspace that is already gone is nothing to do (ARM answers 204 or 404)."""
    force_delete_named(target, *parse_workspace_id(resource_id), progress)


def force_delete_named(target: Target, group: str, name: str, progress: Callable[[str], None]) -> None:
    """`force_delete` of the workspace `name` in resource group `group`."""
    from azure.core.exceptions import ResourceNotFoundError

    progress(f"Databricks workspace {name} (forceDeletion: its managed resource group goes with it)")
    try:
        target.databricks().workspaces.begin_delete(group, name, force_deletion=True).result()
    except ResourceNotFoundError:
        pass
