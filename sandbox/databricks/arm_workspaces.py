"""Microsoft.Databricks/workspaces on the sandbox's ARM surface: creating one also creates its managed
resource group and a live workspace in the Databricks emulator; deleting it removes both."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from sandbox.arm import POLL_HEADERS
from sandbox.databricks.registry import WorkspaceRegistry
from sandbox.databricks.state import Workspace
from sandbox.errors import ArmError, not_found
from sandbox.world import ResourceGroup

PATH = "/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.databricks/workspaces"
TYPE = "Microsoft.Databricks/workspaces"


def workspace_json(registry: WorkspaceRegistry, sub: str, ws: Workspace) -> dict:
    world = registry.world
    state = "Succeeded" if world.now() >= ws.ready_at else "Accepted"
    return {
        "id": f"/subscriptions/{sub}/resourceGroups/{ws.resource_group}/providers/{TYPE}/{ws.name}",
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
            # Azure gives the host without a scheme; the sandbox's HTTPS listener serves the workspace.
            "workspaceUrl": world.arm_url.removeprefix("https://"),
        },
    }


def delete_workspace(registry: WorkspaceRegistry, ws: Workspace) -> None:
    world = registry.world
    if ws.managed_resource_group:
        world.groups.pop(ws.managed_resource_group.lower(), None)
    registry.delete(ws)


def build_router(registry: WorkspaceRegistry) -> APIRouter:
    world = registry.world
    router = APIRouter()

    def find(rg: str, name: str) -> Workspace:
        ws = registry.by_name(name)
        if ws is None or (ws.resource_group or "").lower() != rg.lower():
            raise not_found(TYPE, name)
        return ws

    @router.put(PATH + "/{name}")
    async def put_workspace(sub: str, rg: str, name: str, request: Request):
        from sandbox.credentials import ARM_AUDIENCE, token_audience

        if token_audience(request.headers.get("authorization")) != ARM_AUDIENCE:
            raise ArmError(401, "AuthenticationFailed", "Authentication failed.")
        body = await request.json()
        properties = body.get("properties") or {}
        sku = (body.get("sku") or {}).get("name", "")
        mode = properties.get("computeMode") or "Hybrid"
        managed = properties.get("managedResourceGroupId")
        with world.lock:
            group = world.groups.get(rg.lower())
            if group is None:
                raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
            if sku.lower() == "standard":
                raise ArmError(400, "InvalidSku", "The Standard pricing tier is no longer available for new workspaces; use premium.")
            if sku.lower() not in ("premium", "trial"):
                raise ArmError(400, "InvalidSku", f"The SKU '{sku}' is not valid; use premium or trial.")
            if mode == "Hybrid" and not managed:
                raise ArmError(400, "InvalidParameter", "managedResourceGroupId is required in Hybrid compute mode.")
            if mode == "Serverless" and managed:
                raise ArmError(400, "InvalidParameter", "managedResourceGroupId is not allowed in Serverless compute mode.")
            existing = registry.by_name(name)
            if existing is not None:
                existing.tags = body.get("tags") or {}
                return JSONResponse(workspace_json(registry, sub, existing), 200)
            managed_name = managed.rstrip("/").split("/")[-1] if managed else None
            if managed_name and managed_name.lower() in world.groups:
                raise ArmError(409, "ManagedResourceGroupExists",
                               f"The managed resource group '{managed_name}' already exists; Azure creates it.")
            location = (body.get("location") or group.location).replace(" ", "").lower()
            ws = registry.create(name, resource_group=group.name, location=location, tags=body.get("tags") or {},
                                 sku=sku.lower(), managed_resource_group=managed_name, compute_mode=mode)
            if managed_name:
                world.groups[managed_name.lower()] = ResourceGroup(
                    managed_name, location, {"application": "databricks", "databricks-environment": "true"}, world.now())
            return JSONResponse(workspace_json(registry, sub, ws), 201, POLL_HEADERS)

    @router.get(PATH + "/{name}")
    def get_workspace(sub: str, rg: str, name: str):
        with world.lock:
            data = workspace_json(registry, sub, find(rg, name))
        settled = data["properties"]["provisioningState"] == "Succeeded"
        return JSONResponse(data, 200, None if settled else POLL_HEADERS)

    @router.get(PATH)
    def list_workspaces(sub: str, rg: str):
        with world.lock:
            return {"value": [workspace_json(registry, sub, w) for w in registry.workspaces.values()
                              if (w.resource_group or "").lower() == rg.lower()]}

    @router.delete(PATH + "/{name}")
    def remove_workspace(sub: str, rg: str, name: str, request: Request):
        with world.lock:
            ws = registry.by_name(name)
            if ws is None or (ws.resource_group or "").lower() != rg.lower():
                return Response(status_code=204)
            delete_workspace(registry, ws)
            operation = world.start_operation(world.config.timings.deletion)
        base = str(request.base_url).rstrip("/")
        return Response(status_code=202, headers={
            "Location": f"{base}/subscriptions/{sub}/operationresults/{operation.id}?api-version=2025-04-01", **POLL_HEADERS})

    return router
