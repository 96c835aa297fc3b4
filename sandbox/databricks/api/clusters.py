"""The Clusters API: spark-versions, create, edit, get, list, start, delete (terminate), permanent-delete.
The clusters' life cycle is `sandbox.databricks.clusters.ClusterService`'s."""

from __future__ import annotations

from fastapi import APIRouter, Request

from sandbox.databricks.api.common import CurrentRegistry, CurrentWorkspace
from sandbox.databricks.state import SPARK_VERSIONS

router = APIRouter()


@router.get("/api/2.1/clusters/spark-versions")
def spark_versions(ws: CurrentWorkspace):
    return {"versions": [{"key": k, "name": v} for k, v in SPARK_VERSIONS.items()]}


@router.post("/api/2.1/clusters/create")
async def create(request: Request, ws: CurrentWorkspace, registry: CurrentRegistry):
    return {"cluster_id": registry.clusters.create(ws, await request.json())}


@router.post("/api/2.1/clusters/edit")
async def edit(request: Request, ws: CurrentWorkspace, registry: CurrentRegistry):
    registry.clusters.edit(ws, await request.json())
    return {}


@router.get("/api/2.1/clusters/get")
def get(cluster_id: str, ws: CurrentWorkspace, registry: CurrentRegistry):
    return registry.clusters.describe(ws, registry.clusters.find(ws, cluster_id))


@router.get("/api/2.1/clusters/list")
def list_clusters(ws: CurrentWorkspace, registry: CurrentRegistry):
    return {"clusters": [registry.clusters.describe(ws, c) for c in ws.clusters.values()]}


@router.post("/api/2.1/clusters/start")
async def start(request: Request, ws: CurrentWorkspace, registry: CurrentRegistry):
    registry.clusters.start(ws, (await request.json())["cluster_id"])
    return {}


@router.post("/api/2.1/clusters/delete")
async def delete(request: Request, ws: CurrentWorkspace, registry: CurrentRegistry):
    registry.clusters.terminate(ws, (await request.json())["cluster_id"], "USER_REQUEST")
    return {}


@router.post("/api/2.1/clusters/permanent-delete")
async def permanent_delete(request: Request, ws: CurrentWorkspace, registry: CurrentRegistry):
    registry.clusters.permanent_delete(ws, (await request.json())["cluster_id"])
    return {}
