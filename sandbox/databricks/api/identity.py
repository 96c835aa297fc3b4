"""Who is calling: the host metadata the SDK's unified auth reads (no token needed) and SCIM's current user."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.databricks.api.common import CurrentWorkspace

open_router = APIRouter()
router = APIRouter()


@open_router.get("/.well-known/databricks-config")
def get_host_metadata(request: Request):
    return {"workspace_id": None, "host": str(request.base_url).rstrip("/")}


@router.get("/api/2.0/preview/scim/v2/Me")
def get_current_user(ws: CurrentWorkspace):
    return JSONResponse({"id": "100", "userName": ws.user, "displayName": ws.user.split("@")[0], "active": True,
                         "emails": [{"value": ws.user, "primary": True}]},
                        headers={"X-Databricks-Org-Id": str(ws.workspace_id)})
