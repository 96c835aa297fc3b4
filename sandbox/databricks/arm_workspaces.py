"""Microsoft.Databricks/workspaces on the sandbox's ARM surface: creating one also creates its managed
resource group (`managedBy` the workspace, holding the DBFS storage account and the Unity Catalog access
connector, behind a deny assignment) and a live workspace in the Databricks emulator.

Deleting a workspace removes the live workspace; its managed resource group goes with it only when the delete
says `forceDeletion=true` or the workspace has no workspace catalog. "When you delete an Azure Databricks
workspace, ... the DBFS storage account and access connector in the managed resource group are retained unless
you force delete them" (learn.microsoft.com/azure/databricks/admin/workspace/delete-workspace), and Workspaces -
Delete's `forceDeletion`: "By default the data will retained if Uc is enabled on the workspace"
(learn.microsoft.com/rest/api/databricks/workspaces/delete, api-version 2026-01-01). A group that ARM deletes
deletes its workspaces without that parameter, so their managed groups stay too. Once the workspace is gone, the
deny assignment goes with it and the retained group can be deleted like any other."""

from __future__ import annotations

import secrets
import string

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from sandbox.arm.common import find_group
from sandbox.arm.operations import POLL_HEADERS, accepted, polled
from sandbox.credentials import ARM_AUDIENCE, token_audience
from sandbox.databricks.api.common import CurrentRegistry, bind_registry
from sandbox.databricks.registry import WorkspaceRegistry
from sandbox.databricks.state import Workspace
from sandbox.errors import ArmError, not_found
from sandbox.world import ResourceGroup

PATH = "/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.databricks/workspaces"
TYPE = "Microsoft.Databricks/workspaces"
# What the managed group keeps after a delete without force (the delete-workspace page): the DBFS root storage
# account, named `dbstorage` and 13 lower-case letters or digits as Azure names it (e.g. `dbstoragezqdzr3t745fsu`
# in Azure/migAz#266), and the workspace's Unity Catalog access connector.
STORAGE_TYPE = "Microsoft.Storage/storageAccounts"
ACCESS_CONNECTOR_TYPE = "Microsoft.Databricks/accessConnectors"
ACCESS_CONNECTOR_NAME = "unity-catalog-access-connector"

router = APIRouter()


def build_router(registry: WorkspaceRegistry) -> APIRouter:
    combined = APIRouter()
    combined.include_router(router, dependencies=[Depends(bind_registry(registry))])
    return combined


def workspace_json(registry: WorkspaceRegistry, sub: str, ws: Workspace) -> dict:
    world = registry.world
    state = "Succeeded" if world.now() >= ws.ready_at else "Accepted"
    return {
        "id": workspace_id(sub, ws),
        "name": ws.name,
        "type": TYPE,
        "location": ws.location,
        "sku": {"name": ws.sku},
        "tags": ws.tags,
        "properties": {
            "provisioningState": state,
            "managedResourceGroupId": f"/subscriptions/{sub}/resourceGroups/{ws.managed_resource_group}",
            "computeMode": ws.compute_mode,
            "workspaceId": str(ws.workspace_id),
            # Echoed only when the create named it: Azure omits what was not set.
            **({"defaultCatalog": ws.default_catalog_request} if ws.default_catalog_request else {}),
            # Azure gives the host without a scheme; the sandbox's HTTPS listener serves the workspace.
            "workspaceUrl": world.arm_url.removeprefix("https://"),
        },
    }


def workspace_id(sub: str, ws: Workspace) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{ws.resource_group}/providers/{TYPE}/{ws.name}"


def delete_workspace(registry: WorkspaceRegistry, ws: Workspace, force: bool = False) -> None:
    """Remove the workspace; its managed group goes too when `force` or when Unity Catalog holds no data of it
    (no workspace catalog), else it stays, holding its storage account and access connector (module docstring)."""
    world = registry.world
    if ws.managed_resource_group and (force or ws.default_catalog not in ws.catalogs):
        world.groups.pop(ws.managed_resource_group.lower(), None)
    registry.delete(ws)


def deny_managed_group_deletion(registry: WorkspaceRegistry, sub: str, group: ResourceGroup) -> None:
    """Azure Databricks' system deny assignment on a live workspace's managed group: its owner may not delete it.
    The refusal as ARM words it (microsoft/AzureTRE#4776, 403 DenyAssignmentAuthorizationFailed)."""
    for ws in registry.workspaces.values():
        if (ws.managed_resource_group or "").lower() == group.name.lower():
            scope = f"/subscriptions/{sub}/resourceGroups/{group.name}"
            raise ArmError(403, "DenyAssignmentAuthorizationFailed",
                           f"The client has permission to perform action 'Microsoft.Resources/subscriptions/"
                           f"resourcegroups/delete' on scope '{scope}'; however, the access is denied because of the "
                           f"deny assignment with name 'System deny assignment created by Azure Databricks "
                           f"{workspace_id(sub, ws)}' at scope '{scope}'.")


def workspace_in_group(registry: WorkspaceRegistry, rg: str, name: str) -> Workspace | None:
    ws = registry.by_name(name)
    return ws if ws is not None and (ws.resource_group or "").lower() == rg.lower() else None


def check_workspace_request(sku: str, mode: str, managed: str | None, default_catalog: dict | None = None) -> None:
    """Azure's refusals of a workspace's pricing tier, compute mode and default catalog properties."""
    if sku.lower() == "standard":
        raise ArmError(400, "InvalidSku", "The Standard pricing tier is no longer available for new workspaces; use premium.")
    if sku.lower() not in ("premium", "trial"):
        raise ArmError(400, "InvalidSku", f"The SKU '{sku}' is not valid; use premium or trial.")
    if mode == "Hybrid" and not managed:
        raise ArmError(400, "InvalidParameter", "managedResourceGroupId is required in Hybrid compute mode.")
    if mode == "Serverless" and managed:
        raise ArmError(400, "InvalidParameter", "managedResourceGroupId is not allowed in Serverless compute mode.")
    if default_catalog is not None:
        # DefaultCatalogProperties: "Not allowed in Serverless ComputeMode workspace" (REST API 2026-01-01).
        if mode == "Serverless":
            raise ArmError(400, "InvalidParameter", "defaultCatalog is not allowed in Serverless compute mode.")
        kind = str(default_catalog.get("initialType") or "UnityCatalog")
        if kind.lower() not in ("hivemetastore", "unitycatalog"):
            raise ArmError(400, "InvalidParameter",
                           f"defaultCatalog.initialType '{kind}' is not valid; use HiveMetastore or UnityCatalog.")


def create_workspace(registry: WorkspaceRegistry, sub: str, group: ResourceGroup, name: str, body: dict) -> Workspace:
    """A new workspace and the managed resource group that Azure creates with it."""
    world = registry.world
    properties = body.get("properties") or {}
    managed = properties.get("managedResourceGroupId")
    managed_name = managed.rstrip("/").split("/")[-1] if managed else None
    if managed_name and managed_name.lower() in world.groups:
        raise ArmError(409, "ManagedResourceGroupExists",
                       f"The managed resource group '{managed_name}' already exists; Azure creates it.")
    location = (body.get("location") or group.location).replace(" ", "").lower()
    ws = registry.create(name, resource_group=group.name, location=location, tags=body.get("tags") or {},
                         sku=(body.get("sku") or {}).get("name", "").lower(), managed_resource_group=managed_name,
                         compute_mode=properties.get("computeMode") or "Hybrid",
                         default_catalog=properties.get("defaultCatalog"))
    if managed_name:
        storage = "dbstorage" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(13))
        world.groups[managed_name.lower()] = ResourceGroup(
            managed_name, location, {"application": "databricks", "databricks-environment": "true"}, world.now(),
            managed_by=workspace_id(sub, ws),
            resources=[{"type": STORAGE_TYPE, "name": storage, "location": location},
                       {"type": ACCESS_CONNECTOR_TYPE, "name": ACCESS_CONNECTOR_NAME, "location": location}])
    return ws


@router.put(PATH + "/{name}")
async def create_or_update_workspace(sub: str, rg: str, name: str, request: Request, registry: CurrentRegistry):
    if token_audience(request.headers.get("authorization")) != ARM_AUDIENCE:
        raise ArmError(401, "AuthenticationFailed", "Authentication failed.")
    body = await request.json()
    properties = body.get("properties") or {}
    world = registry.world
    with world.lock:
        group = find_group(world, rg)
        check_workspace_request((body.get("sku") or {}).get("name", ""), properties.get("computeMode") or "Hybrid",
                                properties.get("managedResourceGroupId"), properties.get("defaultCatalog"))
        existing = registry.by_name(name)
        if existing is not None:
            existing.tags = body.get("tags") or {}
            return JSONResponse(workspace_json(registry, sub, existing), 200)
        ws = create_workspace(registry, sub, group, name, body)
        return JSONResponse(workspace_json(registry, sub, ws), 201, POLL_HEADERS)


@router.get(PATH + "/{name}")
def get_workspace(sub: str, rg: str, name: str, registry: CurrentRegistry):
    with registry.world.lock:
        ws = workspace_in_group(registry, rg, name)
        if ws is None:
            raise not_found(TYPE, name)
        data = workspace_json(registry, sub, ws)
    return polled(data)


@router.get(PATH)
def list_workspaces(sub: str, rg: str, registry: CurrentRegistry):
    with registry.world.lock:
        return {"value": [workspace_json(registry, sub, w) for w in registry.workspaces.values()
                          if (w.resource_group or "").lower() == rg.lower()]}


@router.delete(PATH + "/{name}")
def delete(sub: str, rg: str, name: str, request: Request, registry: CurrentRegistry):
    world = registry.world
    with world.lock:
        ws = workspace_in_group(registry, rg, name)
        if ws is None:
            return Response(status_code=204)
        delete_workspace(registry, ws, force=request.query_params.get("forceDeletion", "").lower() == "true")
        operation = world.start_operation(world.config.timings.deletion)
    return accepted(request, sub, operation.id)
