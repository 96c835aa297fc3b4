"""Unity Catalog: the workspace's metastore assignment, catalogs (get, list), schemas (create, get, delete) and
volumes (create, get, list, delete).

A workspace sees its own workspace catalog only (created with it, bound to it: isolation mode ISOLATED), as
a new Azure workspace does ("Automatic enablement of Unity Catalog", Azure Databricks docs)."""

from __future__ import annotations

import shutil

from fastapi import APIRouter, Request

from sandbox.databricks import permissions, uc_tables
from sandbox.databricks.api.common import CurrentUser, CurrentWorkspace, CurrentWorld
from sandbox.databricks.state import Workspace
from sandbox.errors import DatabricksError

router = APIRouter()
METASTORE_ID = "5a1db0c5-0000-4000-8000-000000000001"  # the region's metastore, one per region on Azure


def present(fields: dict) -> dict:
    """The fields that have a value: Databricks omits unset fields rather than sending null."""
    return {k: v for k, v in fields.items() if v is not None}


def catalog_json(ws: Workspace, name: str) -> dict:
    return {"name": name, "full_name": name, "catalog_type": "MANAGED_CATALOG", "isolation_mode": "ISOLATED",
            "owner": permissions.owner(ws, "catalog", name) or ws.user, "metastore_id": METASTORE_ID,
            "securable_type": "CATALOG",
            "created_at": int(ws.created_at * 1000), "created_by": ws.user}


def catalog_not_found(name: str) -> DatabricksError:
    return DatabricksError(404, "CATALOG_DOES_NOT_EXIST", f"Catalog '{name}' does not exist.")


def schema_not_found(full_name: str) -> DatabricksError:
    return DatabricksError(404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{full_name}' does not exist.")


def volume_not_found(full_name: str) -> DatabricksError:
    return DatabricksError(404, "VOLUME_DOES_NOT_EXIST", f"Volume '{full_name}' does not exist.")


def volume_json(ws: Workspace, full: str) -> dict:
    catalog, schema, name = full.split(".")
    return {"full_name": full, "catalog_name": catalog, "schema_name": schema, "name": name,
            "volume_type": ws.volumes[full]["volume_type"], "owner": permissions.owner(ws, "volume", full) or ws.user,
            "storage_location": f"abfss://sandbox@{ws.name}/volumes/{full.replace('.', '/')}"}


def drop_volume(ws: Workspace, full: str) -> None:
    del ws.volumes[full]
    ws.owners.pop(permissions.key("volume", full), None)
    ws.grants.pop(permissions.key("volume", full), None)
    shutil.rmtree(ws.volumes_dir / full.replace(".", "/"), ignore_errors=True)


@router.get("/api/2.1/unity-catalog/current-metastore-assignment")
def current_metastore_assignment(ws: CurrentWorkspace):
    # default_catalog_name is deprecated in favour of the default-namespace setting, but still answered.
    return {"workspace_id": ws.workspace_id, "metastore_id": METASTORE_ID, "default_catalog_name": ws.default_catalog}


@router.get("/api/2.1/unity-catalog/catalogs")
def list_catalogs(ws: CurrentWorkspace):
    return {"catalogs": [catalog_json(ws, name) for name in sorted(ws.catalogs)]}


@router.get("/api/2.1/unity-catalog/catalogs/{name}")
def get_catalog(name: str, ws: CurrentWorkspace):
    if name not in ws.catalogs:
        raise catalog_not_found(name)
    return catalog_json(ws, name)


@router.post("/api/2.1/unity-catalog/schemas")
async def create_schema(request: Request, ws: CurrentWorkspace, world: CurrentWorld, user: CurrentUser):
    body = await request.json()
    catalog, name = body["catalog_name"], body["name"]
    if catalog not in ws.catalogs:
        raise catalog_not_found(catalog)
    permissions.require(ws, user, [("USE_CATALOG", catalog), ("CREATE_SCHEMA", catalog)])
    full = f"{catalog}.{name}"
    with world.lock:
        if full in ws.schemas:
            raise DatabricksError(409, "SCHEMA_ALREADY_EXISTS", f"Schema '{full}' already exists.")
        ws.schemas[full] = {"comment": body.get("comment"), "owner": user, "created_at": int(world.now() * 1000)}
        ws.owners[permissions.key("schema", full)] = user
    return present({"full_name": full, "catalog_name": catalog, "name": name, **ws.schemas[full]})


@router.get("/api/2.1/unity-catalog/schemas/{full_name}")
def get_schema(full_name: str, ws: CurrentWorkspace):
    if full_name not in ws.schemas:
        raise schema_not_found(full_name)
    catalog, name = full_name.split(".")
    return present({"full_name": full_name, "catalog_name": catalog, "name": name, **ws.schemas[full_name]})


@router.delete("/api/2.1/unity-catalog/schemas/{full_name}")
def delete_schema(full_name: str, ws: CurrentWorkspace, world: CurrentWorld, force: bool = False):
    with world.lock:
        if full_name not in ws.schemas:
            raise schema_not_found(full_name)
        inside = [v for v in ws.volumes if v.startswith(full_name + ".")]
        if (inside or uc_tables.tables_of(ws.root / "warehouse", full_name)) and not force:
            raise DatabricksError(400, "SCHEMA_NOT_EMPTY", f"Schema '{full_name}' is not empty.")
        for volume in inside:
            drop_volume(ws, volume)
        uc_tables.drop_schema_tables(ws.root / "warehouse", full_name)
        del ws.schemas[full_name]
        ws.owners.pop(permissions.key("schema", full_name), None)
        ws.grants.pop(permissions.key("schema", full_name), None)
    return {}


@router.get("/api/2.1/unity-catalog/tables")
def list_tables(catalog_name: str, schema_name: str, ws: CurrentWorkspace):
    schema = f"{catalog_name}.{schema_name}"
    if schema not in ws.schemas:
        raise schema_not_found(schema)
    return {"tables": [{"name": t, "catalog_name": catalog_name, "schema_name": schema_name,
                        "full_name": f"{schema}.{t}", "table_type": "MANAGED", "owner": ws.user}
                       for t in uc_tables.tables_of(ws.root / "warehouse", schema)]}


@router.post("/api/2.1/unity-catalog/volumes")
async def create_volume(request: Request, ws: CurrentWorkspace, world: CurrentWorld, user: CurrentUser):
    body = await request.json()
    schema = f"{body['catalog_name']}.{body['schema_name']}"
    full = f"{schema}.{body['name']}"
    with world.lock:
        if schema not in ws.schemas:
            raise schema_not_found(schema)
        permissions.require(ws, user, [("USE_CATALOG", body["catalog_name"]), ("USE_SCHEMA", schema),
                                       ("CREATE_VOLUME", schema)])
        if full in ws.volumes:
            raise DatabricksError(409, "VOLUME_ALREADY_EXISTS", f"Volume '{full}' already exists.")
        ws.owners.setdefault(permissions.key("volume", full), user)
        ws.volumes[full] = {"volume_type": body.get("volume_type", "MANAGED")}
        (ws.volumes_dir / full.replace(".", "/")).mkdir(parents=True, exist_ok=True)
        return volume_json(ws, full)


@router.get("/api/2.1/unity-catalog/volumes/{full_name}")
def get_volume(full_name: str, ws: CurrentWorkspace):
    if full_name not in ws.volumes:
        raise volume_not_found(full_name)
    return volume_json(ws, full_name)


@router.get("/api/2.1/unity-catalog/volumes")
def list_volumes(catalog_name: str, schema_name: str, ws: CurrentWorkspace):
    if catalog_name not in ws.catalogs:
        raise catalog_not_found(catalog_name)
    if f"{catalog_name}.{schema_name}" not in ws.schemas:  # Unity Catalog answers 404, not an empty list
        raise schema_not_found(f"{catalog_name}.{schema_name}")
    prefix = f"{catalog_name}.{schema_name}."
    return {"volumes": [volume_json(ws, v) for v in sorted(ws.volumes) if v.startswith(prefix)]}


@router.delete("/api/2.1/unity-catalog/volumes/{full_name}")
def delete_volume(full_name: str, ws: CurrentWorkspace, world: CurrentWorld):
    with world.lock:
        if full_name not in ws.volumes:
            raise volume_not_found(full_name)
        drop_volume(ws, full_name)
    return {}


SECURABLES = {"catalog": "catalogs", "schema": "schemas", "volume": "volumes"}


def securable_exists(ws: Workspace, securable_type: str, full_name: str) -> None:
    kind = securable_type.lower()
    if kind not in SECURABLES:
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Unsupported securable type {securable_type}.")
    if full_name not in getattr(ws, SECURABLES[kind]):
        raise {"catalog": catalog_not_found, "schema": schema_not_found, "volume": volume_not_found}[kind](full_name)


def assignments(ws: Workspace, securable_type: str, full_name: str) -> dict:
    granted = ws.grants.get(permissions.key(securable_type, full_name), {})
    return {"privilege_assignments": [{"principal": p, "privileges": sorted(v)} for p, v in sorted(granted.items()) if v]}


@router.get("/api/2.1/unity-catalog/permissions/{securable_type}/{full_name}")
def get_permissions(securable_type: str, full_name: str, ws: CurrentWorkspace):
    securable_exists(ws, securable_type, full_name)
    return assignments(ws, securable_type, full_name)


@router.patch("/api/2.1/unity-catalog/permissions/{securable_type}/{full_name}")
async def update_permissions(securable_type: str, full_name: str, request: Request, ws: CurrentWorkspace,
                             world: CurrentWorld, user: CurrentUser):
    body = await request.json()
    with world.lock:
        securable_exists(ws, securable_type, full_name)
        if not permissions.may_manage_grants(ws, user, securable_type, full_name):
            raise permissions.denied(f"User does not have MANAGE on {securable_type.capitalize()} '{full_name}'.")
        granted = ws.grants.setdefault(permissions.key(securable_type, full_name), {})
        for change in body.get("changes") or []:
            held = granted.setdefault(change["principal"], set())
            held.update(p.replace(" ", "_").upper() for p in change.get("add") or [])
            held.difference_update(p.replace(" ", "_").upper() for p in change.get("remove") or [])
        return assignments(ws, securable_type, full_name)
