"""The Workspace API: mkdirs, import (JSON or multipart; SOURCE, AUTO, RAW, JUPYTER), export (SOURCE with the
notebook header, JUPYTER, AUTO, RAW; a folder as a zip), get-status, list, delete."""

from __future__ import annotations

import base64
import binascii
import io
import posixpath
import shutil
import zipfile
from typing import Any

from fastapi import APIRouter, Request, Response

from sandbox.databricks import paths
from sandbox.databricks.api import notebooks
from sandbox.databricks.api.common import CurrentWorkspace, CurrentWorld, missing
from sandbox.databricks.state import Workspace, WorkspaceObject
from sandbox.errors import DatabricksError
from sandbox.world import World

# The formats of the Workspace API's import and export (case-sensitive), from its reference
# (docs.databricks.com/api/azure/workspace/workspace/import and .../export, and databricks-sdk's ImportFormat).
FORMATS = ("SOURCE", "AUTO", "RAW", "JUPYTER", "DBC", "HTML", "R_MARKDOWN")
NOT_EMULATED = ("DBC", "HTML", "R_MARKDOWN")  # real formats the twin answers with NOT_IMPLEMENTED
DIRECTORY_FORMATS = ("SOURCE", "AUTO", "DBC")  # "Exporting a directory is only supported for DBC, SOURCE and AUTO"
LANGUAGE_OF_EXTENSION = {".py": "PYTHON", ".sql": "SQL", ".scala": "SCALA", ".r": "R"}
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


def checked_format(value: str | None, option: str = "format") -> str:
    fmt = value or "SOURCE"
    if fmt not in FORMATS:
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE",
                              f"Invalid {option} '{fmt}': one of {', '.join(FORMATS)} (case-sensitive).")
    return fmt


def not_emulated(fmt: str, what: str) -> DatabricksError:
    return DatabricksError(501, "NOT_IMPLEMENTED", f"The sandbox does not {what} in {fmt} format; use SOURCE, "
                                                   "JUPYTER, AUTO or RAW.")


def decoded(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "The content is not valid base64.") from None


async def import_request(request: Request) -> tuple[dict, bytes]:
    """The import's fields and content, from a multipart form or a JSON body with base64 content."""
    if request.headers.get("content-type", "").startswith("multipart/"):
        async with request.form() as form:
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            # "This parameter might be absent, and instead a posted file is used" (import's `content`).
            upload = form.get("content")
            if not hasattr(upload, "read"):
                upload = next((v for v in form.values() if hasattr(v, "read")), upload)
            content = await upload.read() if hasattr(upload, "read") else decoded(upload or "")
        return fields, content
    fields = await request.json()
    return fields, decoded(fields.get("content") or "")


def imported_object(path: str, fmt: str, language: str | None, content: bytes) -> tuple[str, str, str | None, bytes]:
    """(path, object type, language, stored bytes) of an import, or the Workspace API's refusal. With AUTO,
    "if the path is imported as a notebook, then the item's extension is automatically removed" (databricks-sdk
    WorkspaceExt.upload); a notebook is stored as its SOURCE body."""
    if len(content) > MAX_IMPORT_SIZE:
        raise DatabricksError(400, "MAX_NOTEBOOK_SIZE_EXCEEDED",
                              "File size imported is (%d bytes), exceeded max size (10485760 bytes)." % len(content))
    if fmt in NOT_EMULATED:
        raise not_emulated(fmt, "import notebooks")
    stem, extension = posixpath.splitext(path)
    if fmt == "RAW":
        return path, "FILE", None, content
    if fmt == "JUPYTER" or (fmt == "AUTO" and extension.lower() == ".ipynb"):
        body, found_language = notebooks.from_jupyter(content, path)
        return (stem if fmt == "AUTO" else path), "NOTEBOOK", found_language, body
    if fmt == "AUTO":
        if not notebooks.has_header(content):
            return path, "FILE", None, content
        by_extension = LANGUAGE_OF_EXTENSION.get(extension.lower())
        named = stem if by_extension else path
        return named, "NOTEBOOK", language or by_extension or "PYTHON", notebooks.body_of_source(content)
    if not language:
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "The language is required to import in SOURCE format.")
    return path, "NOTEBOOK", language, notebooks.body_of_source(content)


@router.post("/api/2.0/workspace/mkdirs")
async def mkdirs(request: Request, ws: CurrentWorkspace, world: CurrentWorld):
    body = await request.json()
    with world.lock:
        make_dirs(world, ws, body["path"])
    return {}


@router.post("/api/2.0/workspace/import")
async def import_object(request: Request, ws: CurrentWorkspace, world: CurrentWorld):
    fields, content = await import_request(request)
    if not fields.get("path"):
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "Missing required field: path")
    fmt = checked_format(fields.get("format"))
    path, kind, language, stored = imported_object(paths.workspace_path(fields["path"]), fmt,
                                                   fields.get("language"), content)
    overwrite = str(fields.get("overwrite", "false")).lower() == "true"
    with world.lock:
        parent = ws.objects.get(posixpath.dirname(path))
        if parent is None:
            # Azure Databricks does not create missing folders on import (databricks/cli's test server is strict
            # for the same reason, libs/testserver/fake_workspace.go requireParentDirectory).
            raise missing(f"The parent folder ({posixpath.dirname(path)}) does not exist.")
        if parent.kind != "DIRECTORY":
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"The parent ({posixpath.dirname(path)}) is not a folder.")
        existing = ws.objects.get(path)
        if existing is not None and not overwrite:
            raise DatabricksError(400, "RESOURCE_ALREADY_EXISTS", f"Path ({path}) already exists.")
        if existing is not None and existing.kind == "DIRECTORY":
            raise DatabricksError(400, "RESOURCE_ALREADY_EXISTS", f"Path ({path}) is a directory.")
        paths.workspace_local(ws, path).write_bytes(stored)
        ws.objects[path] = WorkspaceObject(kind, language, created_at=world.now(), modified_at=world.now())
    return {}


def exported_notebook(ws: Workspace, path: str, language: str, fmt: str) -> tuple[bytes, str]:
    body = paths.workspace_local(ws, path).read_bytes()
    if fmt == "JUPYTER":
        return notebooks.to_jupyter(body, language, posixpath.basename(path)), "ipynb"
    return notebooks.source_file(body, language), notebooks.EXTENSION.get(language, "")


def exported_directory(ws: Workspace, path: str, fmt: str) -> bytes:
    """A zip of the directory's notebooks in SOURCE (with AUTO, its workspace files as well)."""
    prefix = path.rstrip("/") + "/"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for below in sorted(p for p in ws.objects if p.startswith(prefix)):
            found = ws.objects[below]
            relative = below[len(prefix):]
            if found.kind == "NOTEBOOK":
                data, extension = exported_notebook(ws, below, found.language or "PYTHON", "SOURCE")
                out.writestr(f"{relative}.{extension}", data)
            elif found.kind == "FILE" and fmt == "AUTO":
                out.writestr(relative, paths.workspace_local(ws, below).read_bytes())
    return archive.getvalue()


@router.get("/api/2.0/workspace/export")
def export(path: str, ws: CurrentWorkspace, world: CurrentWorld, format: str | None = None,
           direct_download: bool = False):
    fmt = checked_format(format)
    with world.lock:
        info = object_info(ws, path)
        path = info["path"]
        if info["object_type"] == "DIRECTORY":
            if fmt not in DIRECTORY_FORMATS:
                raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "Exporting a directory is only supported for "
                                                                      "the DBC, SOURCE, and AUTO format.")
            if fmt in NOT_EMULATED:
                raise not_emulated(fmt, "export directories")
            data, file_type = exported_directory(ws, path, fmt), "zip"
        elif info["object_type"] == "FILE":
            if fmt not in ("SOURCE", "AUTO", "RAW"):
                raise DatabricksError(400, "INVALID_PARAMETER_VALUE",
                                      f"{path} is a workspace file, not a notebook: it exports as SOURCE, AUTO or RAW.")
            data, file_type = paths.workspace_local(ws, path).read_bytes(), posixpath.splitext(path)[1].lstrip(".")
        else:
            if fmt in NOT_EMULATED:
                raise not_emulated(fmt, "export notebooks")
            data, file_type = exported_notebook(ws, path, info.get("language") or "PYTHON", fmt)
    if direct_download:
        return Response(content=data, media_type="application/octet-stream")
    return {"content": base64.b64encode(data).decode(), "file_type": file_type}


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
        # A folder is not its own child: listing "/" must not return "/" (the SDK's recursive list would loop).
        children = [p for p in ws.objects if p != base and p.startswith(prefix) and "/" not in p[len(prefix):]]
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

