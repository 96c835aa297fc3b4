"""The Workspace API: mkdirs, import (JSON or multipart), export, get-status, list, delete."""

from __future__ import annotations

import base64
import shutil
from typing import Any

from fastapi import APIRouter, Request, Response

from sandbox.databricks import paths
from sandbox.databricks.api.common import CurrentWorkspace, CurrentWorld, missing
from sandbox.databricks.state import Workspace, WorkspaceObject
from sandbox.errors import DatabricksError
from sandbox.world import World

FORMATS = ("SOURCE", "AUTO", "RAW", "JUPYTER", "DBC")
MAX_IMPORT_SIZE = 10 * 1024 * 1024

router = APIRouter()


def object_info(ws: Workspace, path: str) -> dict:
    path = paths.workspace_path(path)
    found = ws.objects.get(path)
    if found is None:
        raise missing(f"Path ({path}) doesn't exist.")
    info: dict[str, Any] = {"path": path, "object_type": found.kind, "object_id": found.object_id,
                            "created_at": int(found.created_at * 1000), "modified_at": int(found.modified_at * 1000)}
    if found.language:
        info["language"] = found.language
    if found.kind != "DIRECTORY":
        info["size"] = paths.workspace_local(ws, path).stat().st_size
    return info


def make_dirs(world: World, ws: Workspace, path: str) -> None:
    path = paths.workspace_path(path)
    parts = [p for p in path.split("/") if p]
    for depth in range(1, len(parts) + 1):
        current = "/" + "/".join(parts[:depth])
        existing = ws.objects.get(current)
        if existing is not None and existing.kind != "DIRECTORY":
            raise DatabricksError(400, "RESOURCE_ALREADY_EXISTS", f"Path ({current}) already exists as a {existing.kind.lower()}.")
        if existing is None:
            ws.objects[current] = WorkspaceObject("DIRECTORY", created_at=world.now(), modified_at=world.now())
    paths.workspace_local(ws, path).mkdir(parents=True, exist_ok=True)


async def import_request(request: Request) -> tuple[dict, bytes]:
    """The import's fields and content, from a multipart form or a JSON body with base64 content."""
    if request.headers.get("content-type", "").startswith("multipart/"):
        async with request.form() as form:
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            upload = form.get("content")
            content = await upload.read() if hasattr(upload, "read") else (upload or "").encode()
        return fields, content
    fields = await request.json()
    return fields, base64.b64decode(fields.get("content") or "")


def imported_kind(fmt: str, language: str | None, content: bytes) -> tuple[str, str | None]:
    """(object type, language) of imported content, or the Workspace API's refusal."""
    if fmt not in FORMATS:
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Invalid format: {fmt}.")
    if fmt == "SOURCE" and not language:
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "The language is required to import in SOURCE format.")
    if len(content) > MAX_IMPORT_SIZE:
        raise DatabricksError(400, "MAX_NOTEBOOK_SIZE_EXCEEDED",
                              "File size imported is (%d bytes), exceeded max size (10485760 bytes)." % len(content))
    if fmt == "AUTO":
        notebook = content.lstrip().startswith(b"# Databricks notebook source")
        return ("NOTEBOOK", language or "PYTHON") if notebook else ("FILE", None)
    if fmt == "RAW":
        return "FILE", None
    return "NOTEBOOK", language


@router.post("/api/2.0/workspace/mkdirs")
async def mkdirs(request: Request, ws: CurrentWorkspace, world: CurrentWorld):
    body = await request.json()
    with world.lock:
        make_dirs(world, ws, body["path"])
    return {}


@router.post("/api/2.0/workspace/import")
async def import_object(request: Request, ws: CurrentWorkspace, world: CurrentWorld):
    fields, content = await import_request(request)
    path = paths.workspace_path(fields["path"])
    kind, language = imported_kind((fields.get("format") or "SOURCE").upper(), fields.get("language"), content)
    overwrite = str(fields.get("overwrite", "false")).lower() == "true"
    with world.lock:
        existing = ws.objects.get(path)
        if existing is not None and not overwrite:
            raise DatabricksError(400, "RESOURCE_ALREADY_EXISTS", f"Path ({path}) already exists.")
        if existing is not None and existing.kind == "DIRECTORY":
            raise DatabricksError(400, "RESOURCE_ALREADY_EXISTS", f"Path ({path}) is a directory.")
        make_dirs(world, ws, path.rsplit("/", 1)[0] or "/")
        paths.workspace_local(ws, path).write_bytes(content)
        ws.objects[path] = WorkspaceObject(kind, language, created_at=world.now(), modified_at=world.now())
    return {}


@router.get("/api/2.0/workspace/export")
def export(path: str, ws: CurrentWorkspace, direct_download: bool = False):
    info = object_info(ws, path)
    if info["object_type"] == "DIRECTORY":
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Path ({path}) is a directory.")
    data = paths.workspace_local(ws, path).read_bytes()
    if direct_download:
        return Response(content=data, media_type="application/octet-stream")
    return {"content": base64.b64encode(data).decode(), "file_type": "py" if info.get("language") == "PYTHON" else ""}


@router.get("/api/2.0/workspace/get-status")
def get_status(path: str, ws: CurrentWorkspace, world: CurrentWorld):
    with world.lock:
        return object_info(ws, path)


@router.get("/api/2.0/workspace/list")
def list_objects(path: str, ws: CurrentWorkspace, world: CurrentWorld):
    with world.lock:
        base = paths.workspace_path(path)
        if object_info(ws, base)["object_type"] != "DIRECTORY":
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Path ({base}) is not a directory.")
        prefix = base.rstrip("/") + "/"
        children = [p for p in ws.objects if p.startswith(prefix) and "/" not in p[len(prefix):]]
        return {"objects": [object_info(ws, p) for p in sorted(children)]}


@router.post("/api/2.0/workspace/delete")
async def delete(request: Request, ws: CurrentWorkspace, world: CurrentWorld):
    body = await request.json()
    with world.lock:
        path = paths.workspace_path(body["path"])
        info = object_info(ws, path)
        below = [p for p in ws.objects if p.startswith(path.rstrip("/") + "/")]
        if info["object_type"] == "DIRECTORY" and below and not body.get("recursive"):
            raise DatabricksError(400, "DIRECTORY_NOT_EMPTY", f"Folder ({path}) is not empty.")
        for p in [path, *below]:
            ws.objects.pop(p, None)
        local = paths.workspace_local(ws, path)
        shutil.rmtree(local, ignore_errors=True) if local.is_dir() else local.unlink(missing_ok=True)
    return {}

