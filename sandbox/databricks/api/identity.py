"""Who is calling: the host metadata the SDK's unified auth reads (no token needed) and SCIM's current user."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

import hashlib

from sandbox.databricks.api.common import CurrentUser, CurrentWorkspace

open_router = APIRouter()
router = APIRouter()


@open_router.get("/.well-known/databricks-config")
def get_host_metadata(request: Request):
    return {"workspace_id": None, "host": str(request.base_url).rstrip("/")}


@router.get("/api/2.0/preview/scim/v2/Me")
def get_current_user(ws: CurrentWorkspace, user: CurrentUser):
    """The identity of the token: SCIM's /Me, with a stable numeric id per user."""
    user_id = str(int(hashlib.sha256(user.encode()).hexdigest()[:12], 16))
    return JSONResponse({"id": user_id, "userName": user, "displayName": user.split("@")[0], "active": True,
                         "emails": [{"value": user, "primary": True}]},
                        headers={"X-Databricks-Org-Id": str(ws.workspace_id)})
