"""Workspace settings: the default namespace (`default_namespace_ws`), i.e. the workspace's default catalog.

Shape of `DefaultNamespaceSetting` in the Settings API (GET /api/2.0/settings/types/default_namespace_ws/names/
default): {etag, setting_name, namespace: {value}}. A workspace enabled for Unity Catalog automatically has its
workspace catalog as default ("Manage the default catalog", Azure Databricks docs)."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter

from sandbox.databricks.api.common import CurrentWorkspace

router = APIRouter()


@router.get("/api/2.0/settings/types/default_namespace_ws/names/default")
def get_default_namespace(ws: CurrentWorkspace):
    etag = hashlib.sha256(f"{ws.workspace_id}:{ws.default_catalog}".encode()).hexdigest()[:16]
    return {"etag": etag, "setting_name": "default", "namespace": {"value": ws.default_catalog}}
