"""The Databricks REST subset the product and the labs use, one module per API, with the SDK's request and
response shapes and Databricks' error bodies (`error_code`, `message`), so databricks-sdk raises its typed errors."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from sandbox.databricks.api import (
    cluster_operations, clusters, dbfs, files, identity, jobs, legacy, libraries, secrets, settings, unity_catalog,
    workspace,
)
from sandbox.databricks.api.common import bind_registry, current_workspace
from sandbox.databricks.clusters import ClusterService
from sandbox.databricks.jobs import JobService
from sandbox.databricks.registry import WorkspaceRegistry

# Every API below takes a workspace's token; the host metadata and the storage behind presigned URLs do not.
APIS = (identity, workspace, files, dbfs, secrets, settings, unity_catalog, clusters, cluster_operations, libraries, jobs,
        legacy)


def build_router(registry: WorkspaceRegistry) -> APIRouter:
    registry.clusters = ClusterService(registry)
    registry.jobs = JobService(registry, registry.clusters)
    bind = Depends(bind_registry(registry))
    combined = APIRouter()
    combined.include_router(identity.open_router, dependencies=[bind])
    combined.include_router(files.storage_router, dependencies=[bind])
    for api in APIS:
        combined.include_router(api.router, dependencies=[bind, Depends(current_workspace)])
    return combined
