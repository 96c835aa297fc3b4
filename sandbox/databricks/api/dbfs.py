"""The DBFS API: streaming upload (create, add-block, close), put (JSON or multipart), get-status, read, list,
mkdirs, delete."""

from __future__ import annotations

import base64
import binascii
import os
import shutil

from fastapi import APIRouter, Request

from sandbox.databricks import paths
from sandbox.databricks.api.common import CurrentWorkspace, CurrentWorld, missing
from sandbox.databricks.state import DbfsHandle, Workspace
from sandbox.errors import DatabricksError

BLOCK = 1024 * 1024  # the most a block, a put's JSON contents or a read may hold

router = APIRouter()


def file_info(ws: Workspace, path: str) -> dict:
    local = paths.dbfs_local(ws, path)
    if not local.exists():
        raise missing(f"No file or directory exists on path {path}.")
    stat = local.stat()
    return {"path": path.removeprefix("dbfs:"), "is_dir": local.is_dir(),
            "file_size": 0 if local.is_dir() else stat.st_size, "modification_time": int(stat.st_mtime * 1000)}


def already_exists(path: str) -> DatabricksError:
    return DatabricksError(400, "RESOURCE_ALREADY_EXISTS", f"A file or directory already exists at the input path {path}.")


def too_large(what: str, size: int) -> DatabricksError:
    return DatabricksError(400, "MAX_BLOCK_SIZE_EXCEEDED",
                           f"Size of the {what} ({size} bytes) exceeds the maximum size ({BLOCK} bytes).")


def base64_contents(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "The contents are not valid base64.") from None


async def put_request(request: Request) -> tuple[str, bool, bytes]:
    """(path, overwrite, contents) of a put, from a multipart form or a JSON body with base64 contents."""
    if request.headers.get("content-type", "").startswith("multipart/"):
        async with request.form() as form:
            path, overwrite = form.get("path"), str(form.get("overwrite", "false")).lower() == "true"
            upload = form.get("contents")
            if not hasattr(upload, "read") and not upload:
                # "If contents is absent, a posted file is used" (DBFS put reference): the legacy CLI's `fs cp`
                # posts the file in a part named `file`.
                upload = next((v for v in form.values() if hasattr(v, "read")), upload)
            data = await upload.read() if hasattr(upload, "read") else base64_contents(upload or "")
        if not path:
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "Missing required field: path")
        return path, overwrite, data
    body = await request.json()
    if not body.get("path"):
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "Missing required field: path")
    path, overwrite = body["path"], bool(body.get("overwrite"))
    data = base64_contents(body.get("contents") or "")
    if len(data) > BLOCK:
        raise too_large("contents", len(data))
    return path, overwrite, data


@router.post("/api/2.0/dbfs/create")
async def create(request: Request, ws: CurrentWorkspace, world: CurrentWorld):
    body = await request.json()
    target = paths.dbfs_local(ws, body["path"])
    if target.exists() and not body.get("overwrite"):
        raise already_exists(body["path"])
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / f".partial-{os.urandom(6).hex()}"
    partial.touch()
    with world.lock:
        handle = max(ws.dbfs_handles, default=0) + 1
        ws.dbfs_handles[handle] = DbfsHandle(body["path"], target, partial)
    return {"handle": handle}


@router.post("/api/2.0/dbfs/add-block")
async def add_block(request: Request, ws: CurrentWorkspace):
    body = await request.json()
    handle = ws.dbfs_handles.get(int(body["handle"]))
    if handle is None:
        raise missing(f"Handle {body['handle']} does not exist.")
    data = base64_contents(body.get("data") or "")
    if len(data) > BLOCK:
        raise too_large("block", len(data))
    with handle.partial.open("ab") as out:
        out.write(data)
    return {}


@router.post("/api/2.0/dbfs/close")
async def close(request: Request, ws: CurrentWorkspace, world: CurrentWorld):
    body = await request.json()
    with world.lock:
        handle = ws.dbfs_handles.pop(int(body["handle"]), None)
    if handle is None:
        raise missing(f"Handle {body['handle']} does not exist.")
    os.replace(handle.partial, handle.target)
    return {}


@router.post("/api/2.0/dbfs/put")
async def put(request: Request, ws: CurrentWorkspace):
    path, overwrite, data = await put_request(request)
    target = paths.dbfs_local(ws, path)
    if target.exists() and not overwrite:
        raise already_exists(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return {}


@router.get("/api/2.0/dbfs/get-status")
def get_status(path: str, ws: CurrentWorkspace):
    return file_info(ws, path)


@router.get("/api/2.0/dbfs/read")
def read(path: str, ws: CurrentWorkspace, offset: int = 0, length: int = BLOCK):
    local = paths.dbfs_local(ws, path)
    if not local.is_file():
        raise missing(f"No file exists on path {path}.")
    if length > BLOCK:
        raise DatabricksError(400, "MAX_READ_SIZE_EXCEEDED", f"Cannot read more than {BLOCK} bytes per call.")
    with local.open("rb") as stream:
        stream.seek(offset)
        data = stream.read(length)
    return {"bytes_read": len(data), "data": base64.b64encode(data).decode()}


@router.get("/api/2.0/dbfs/list")
def list_status(path: str, ws: CurrentWorkspace):
    local = paths.dbfs_local(ws, path)
    if not local.exists():
        raise missing(f"No file or directory exists on path {path}.")
    if local.is_file():
        return {"files": [file_info(ws, path)]}
    base = path.removeprefix("dbfs:").rstrip("/")
    return {"files": [file_info(ws, f"{base}/{child.name}") for child in sorted(local.iterdir())
                      if not child.name.startswith(".partial-")]}


@router.post("/api/2.0/dbfs/mkdirs")
async def mkdirs(request: Request, ws: CurrentWorkspace):
    body = await request.json()
    local = paths.dbfs_local(ws, body["path"])
    if local.is_file():
        raise DatabricksError(400, "RESOURCE_ALREADY_EXISTS", f"A file exists at {body['path']}.")
    local.mkdir(parents=True, exist_ok=True)
    return {}


@router.post("/api/2.0/dbfs/delete")
async def delete(request: Request, ws: CurrentWorkspace):
    body = await request.json()
    local = paths.dbfs_local(ws, body["path"])
    if local.is_dir():
        if any(local.iterdir()) and not body.get("recursive"):
            raise DatabricksError(400, "IO_ERROR", f"The directory {body['path']} is not empty; use recursive.")
        shutil.rmtree(local)
    else:
        local.unlink(missing_ok=True)
    return {}
