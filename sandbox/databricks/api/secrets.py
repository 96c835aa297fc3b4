"""The Secrets API: scopes (create, list, delete), secrets (put, list, get, delete) and ACLs (put, get, list,
delete), each call checked against the caller's permission on the scope (sandbox.databricks.permissions)."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request

from sandbox.databricks import permissions
from sandbox.databricks.api.common import CurrentUser, CurrentWorkspace, CurrentWorld, missing
from sandbox.databricks.state import Workspace
from sandbox.errors import DatabricksError

MAX_VALUE_SIZE = 128 * 1024

router = APIRouter()


def scope_of(ws: Workspace, name: str, user: str, level: str) -> dict[str, bytes]:
    """The scope's secrets, once it exists (RESOURCE_DOES_NOT_EXIST) and `user` holds `level` on it
    (READ < WRITE < MANAGE, PERMISSION_DENIED: Databricks "Secret ACLs")."""
    if name not in ws.scopes:
        raise missing(f"Scope {name} does not exist!")
    permissions.require_secret(ws, user, name, level)
    return ws.scopes[name]


@router.post("/api/2.0/secrets/scopes/create")
async def create_scope(request: Request, ws: CurrentWorkspace, world: CurrentWorld, user: CurrentUser):
    body = await request.json()
    scope = body["scope"]
    with world.lock:
        if scope in ws.scopes:
            raise DatabricksError(400, "RESOURCE_ALREADY_EXISTS", f"Scope {scope} already exists!")
        ws.scopes[scope] = {}
        # MANAGE for the creator, or for `initial_manage_principal` ("users" is the only value Azure accepts).
        ws.secret_acls[scope] = {body.get("initial_manage_principal") or user: "MANAGE"}
    return {}


@router.get("/api/2.0/secrets/scopes/list")
def list_scopes(ws: CurrentWorkspace):
    return {"scopes": [{"name": name, "backend_type": "DATABRICKS"} for name in sorted(ws.scopes)]}


@router.post("/api/2.0/secrets/scopes/delete")
async def delete_scope(request: Request, ws: CurrentWorkspace, world: CurrentWorld, user: CurrentUser):
    body = await request.json()
    with world.lock:
        scope_of(ws, body["scope"], user, "MANAGE")
        ws.scopes.pop(body["scope"])
        ws.secret_acls.pop(body["scope"], None)
    return {}


@router.post("/api/2.0/secrets/put")
async def put_secret(request: Request, ws: CurrentWorkspace, world: CurrentWorld, user: CurrentUser):
    body = await request.json()
    key = body["key"]
    if not key or len(key) > 128 or not all(c.isalnum() or c in "-_." for c in key):
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Invalid secret key '{key}': 1-128 letters, digits, '-', '_' or '.'.")
    value = base64.b64decode(body["bytes_value"]) if "bytes_value" in body else (body.get("string_value") or "").encode()
    if len(value) > MAX_VALUE_SIZE:
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "A secret value is limited to 128 KB.")
    with world.lock:
        values = scope_of(ws, body["scope"], user, "WRITE")
        values[key] = value
        ws.secret_updated[(body["scope"], key)] = int(world.now() * 1000)
    return {}


@router.get("/api/2.0/secrets/list")
def list_secrets(scope: str, ws: CurrentWorkspace, world: CurrentWorld, user: CurrentUser):
    keys = scope_of(ws, scope, user, "READ")
    # The time of the secret's last put (Secrets API reference, SecretMetadata.last_updated_timestamp).
    return {"secrets": [{"key": k, "last_updated_timestamp": ws.secret_updated.get((scope, k), 0)} for k in sorted(keys)]}


@router.get("/api/2.0/secrets/get")
def get_secret(scope: str, key: str, ws: CurrentWorkspace, user: CurrentUser):
    values = scope_of(ws, scope, user, "READ")
    if key not in values:
        raise missing(f"Secret {key} does not exist in scope {scope}.")
    return {"key": key, "value": base64.b64encode(values[key]).decode()}


@router.post("/api/2.0/secrets/delete")
async def delete_secret(request: Request, ws: CurrentWorkspace, world: CurrentWorld, user: CurrentUser):
    body = await request.json()
    with world.lock:
        if scope_of(ws, body["scope"], user, "WRITE").pop(body["key"], None) is None:
            raise missing(f"Secret {body['key']} does not exist in scope {body['scope']}.")
    return {}


def acl_json(principal: str, permission: str) -> dict:
    return {"principal": principal, "permission": permission}


@router.post("/api/2.0/secrets/acls/put")
async def put_acl(request: Request, ws: CurrentWorkspace, world: CurrentWorld, user: CurrentUser):
    body = await request.json()
    if body.get("permission") not in permissions.SECRET_LEVELS:
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Invalid permission {body.get('permission')}: "
                                                              "use READ, WRITE or MANAGE.")
    with world.lock:
        scope_of(ws, body["scope"], user, "MANAGE")
        ws.secret_acls.setdefault(body["scope"], {})[body["principal"]] = body["permission"]
    return {}


@router.get("/api/2.0/secrets/acls/list")
def list_acls(scope: str, ws: CurrentWorkspace, user: CurrentUser):
    scope_of(ws, scope, user, "MANAGE")
    return {"items": [acl_json(p, level) for p, level in sorted(ws.secret_acls.get(scope, {}).items())]}


@router.get("/api/2.0/secrets/acls/get")
def get_acl(scope: str, principal: str, ws: CurrentWorkspace, user: CurrentUser):
    scope_of(ws, scope, user, "MANAGE")
    level = ws.secret_acls.get(scope, {}).get(principal)
    if level is None:
        raise missing(f"No ACL for principal {principal} on scope {scope}.")
    return acl_json(principal, level)


@router.post("/api/2.0/secrets/acls/delete")
async def delete_acl(request: Request, ws: CurrentWorkspace, world: CurrentWorld, user: CurrentUser):
    body = await request.json()
    with world.lock:
        scope_of(ws, body["scope"], user, "MANAGE")
        if ws.secret_acls.get(body["scope"], {}).pop(body["principal"], None) is None:
            raise missing(f"No ACL for principal {body['principal']} on scope {body['scope']}.")
    return {}
