"""The Libraries API: install, uninstall, cluster-status (kept by `sandbox.databricks.clusters.ClusterService`)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from sandbox.databricks.api.common import CurrentRegistry, CurrentWorkspace

router = APIRouter()


@router.post("/api/2.0/libraries/install")
async def install(request: Request, ws: CurrentWorkspace, registry: CurrentRegistry):
    body = await request.json()
    registry.clusters.install(ws, body["cluster_id"], body.get("libraries", []))
    return {}


@router.post("/api/2.0/libraries/uninstall")
async def uninstall(request: Request, ws: CurrentWorkspace, registry: CurrentRegistry):
    body = await request.json()
    registry.clusters.uninstall(ws, body["cluster_id"], body.get("libraries", []))
    return {}


@router.get("/api/2.0/libraries/cluster-status")
def cluster_status(cluster_id: str, ws: CurrentWorkspace, registry: CurrentRegistry):
    return registry.clusters.library_statuses(ws, cluster_id)
