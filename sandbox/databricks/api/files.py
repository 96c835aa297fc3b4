"""The Files API (Unity Catalog volumes): files (upload, multipart upload with presigned part URLs, download,
metadata, delete) and directories (create, metadata, list, delete); and, without a token, the cloud-storage
stand-ins that the presigned URLs point at."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, StreamingResponse

from sandbox.databricks import paths, permissions
from sandbox.databricks.api.common import (
    CHUNK, CurrentRegistry, CurrentUser, CurrentWorkspace, http_date, stream_body_to,
)
from sandbox.databricks.state import UploadSession, Workspace
from sandbox.errors import DatabricksError

FILES = "/api/2.0/fs/files/{path:path}"
DIRECTORIES = "/api/2.0/fs/directories/{path:path}"



def volume_access(request: Request, ws: CurrentWorkspace, user: CurrentUser) -> None:
    """Unity Catalog's check on a volume path: reading takes READ VOLUME, anything else WRITE VOLUME too (with
    USE CATALOG and USE SCHEMA on its parents)."""
    path = request.path_params.get("path") or request.query_params.get("path")
    if not path:
        return
    try:
        full_volume, _ = paths.volume_parts("/" + path.lstrip("/"))
    except DatabricksError:
        return  # not a volume path: the handler refuses it
    if full_volume in ws.volumes:
        permissions.require(ws, user, permissions.volume_needs(
            full_volume, write=request.method not in ("GET", "HEAD") and "download" not in request.url.path))


router = APIRouter(dependencies=[Depends(volume_access)])
storage_router = APIRouter()


def ranged_file(local: Path, request: Request) -> Response:
    """The file, or the byte range the client asked for, streamed from disk."""
    size = local.stat().st_size
    headers = {"last-modified": http_date(local.stat().st_mtime), "accept-ranges": "bytes"}
    byte_range = request.headers.get("range")
    if not byte_range:
        return FileResponse(local, media_type="application/octet-stream", headers=headers)
    start_text, _, end_text = byte_range.removeprefix("bytes=").partition("-")
    start = int(start_text or 0)
    end = int(end_text) if end_text else size - 1
    if start >= size:
        return Response(status_code=416, headers={"content-range": f"bytes */{size}"})
    end = min(end, size - 1)
    return StreamingResponse(read_range(local, start, end), status_code=206, media_type="application/octet-stream",
                             headers={**headers, "content-range": f"bytes {start}-{end}/{size}",
                                      "content-length": str(end - start + 1)})


def read_range(local: Path, start: int, end: int):
    with local.open("rb") as stream:
        stream.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            chunk = stream.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def file_headers(local: Path) -> dict[str, str]:
    stat = local.stat()
    return {"content-length": str(stat.st_size), "content-type": "application/octet-stream",
            "last-modified": http_date(stat.st_mtime)}


def existing_file(ws: Workspace, path: str) -> Path:
    local = paths.volume_local(ws, "/" + path)
    if not local.is_file():
        raise DatabricksError(404, "NOT_FOUND", f"The file /{path} does not exist.")
    return local


def existing_directory(ws: Workspace, path: str) -> Path:
    local = paths.volume_local(ws, "/" + path)
    if not local.is_dir():
        raise DatabricksError(404, "NOT_FOUND", f"The directory /{path} does not exist.")
    return local


# Files -------------------------------------------------------------------------------------------

@router.put(FILES)
async def upload(path: str, request: Request, ws: CurrentWorkspace, overwrite: bool = True):
    local = paths.volume_local(ws, "/" + path)
    if local.exists() and not overwrite:
        raise DatabricksError(409, "ALREADY_EXISTS", f"The file being created already exists: /{path}.")
    if local.is_dir():
        raise DatabricksError(409, "ALREADY_EXISTS", f"/{path} is a directory.")
    await stream_body_to(request, local)
    return Response(status_code=204)


@router.post(FILES)
async def multipart_upload(path: str, request: Request, action: str, ws: CurrentWorkspace, registry: CurrentRegistry,
                           overwrite: bool = True, session_token: str | None = None):
    """The multipart upload's steps, chosen by `action`: initiate-upload, complete-upload, abort-upload."""
    full = "/" + path
    local = paths.volume_local(ws, full)
    if action == "initiate-upload":
        if local.exists() and not overwrite:
            raise DatabricksError(409, "ALREADY_EXISTS", f"The file being created already exists: {full}.")
        session = registry.new_upload(ws, full, overwrite)
        return {"multipart_upload": {"session_token": session.token}}
    if action == "complete-upload":
        session = registry.upload_session(session_token or "")
        if session is None or session.path != full:
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "Unknown upload session.")
        complete_upload(session, await request.json(), local)
        registry.drop_upload(session.token)
        return {}
    if action == "abort-upload":
        registry.drop_upload(session_token or "")
        return {}
    raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Unknown action {action}.")


def complete_upload(session: UploadSession, body: dict, local: Path) -> None:
    """Join the uploaded parts, which must be the ones listed (in order, with their ETags), into the file."""
    numbers = [p["part_number"] for p in body.get("parts", [])]
    if numbers != sorted(session.parts) or any(session.parts[p["part_number"]] != p["etag"] for p in body["parts"]):
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "The parts do not match the uploaded parts.")
    local.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=local.parent, delete=False, prefix=".upload-") as out:
        for number in numbers:
            with (session.folder / f"part-{number:06d}").open("rb") as part:
                shutil.copyfileobj(part, out, CHUNK)
    os.replace(out.name, local)


@router.post("/api/2.0/fs/create-upload-part-urls")
async def create_upload_part_urls(request: Request, ws: CurrentWorkspace, registry: CurrentRegistry):
    body = await request.json()
    session = registry.upload_session(body.get("session_token", ""))
    if session is None:
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "Unknown upload session.")
    base = str(request.base_url).rstrip("/")
    start, count = int(body["start_part_number"]), int(body["count"])
    return {"upload_part_urls": [
        {"url": f"{base}/_storage/upload/{session.token}/{n}", "part_number": n,
         "headers": [{"name": "x-ms-blob-type", "value": "BlockBlob"}]}
        for n in range(start, start + count)
    ]}


@router.post("/api/2.0/fs/create-abort-upload-url")
async def create_abort_upload_url(request: Request, ws: CurrentWorkspace):
    body = await request.json()
    base = str(request.base_url).rstrip("/")
    return {"abort_upload_url": {"url": f"{base}/_storage/upload/{body.get('session_token', '')}", "headers": []}}


@router.post("/api/2.0/fs/create-download-url")
def create_download_url(request: Request, path: str, ws: CurrentWorkspace, registry: CurrentRegistry):
    local = paths.volume_local(ws, path)
    if not local.is_file():
        raise DatabricksError(404, "NOT_FOUND", f"The file {path} does not exist.")
    base = str(request.base_url).rstrip("/")
    grant = registry.grant_download(ws, local)
    return {"url": f"{base}/_storage/download/{ws.workspace_id}/{grant}", "headers": []}


@router.get(FILES)
def download(path: str, request: Request, ws: CurrentWorkspace):
    return ranged_file(existing_file(ws, path), request)


@router.head(FILES)
def get_metadata(path: str, ws: CurrentWorkspace):
    local = paths.volume_local(ws, "/" + path)
    if not local.is_file():
        return Response(status_code=404)
    return Response(status_code=200, headers=file_headers(local))


@router.delete(FILES)
def delete(path: str, ws: CurrentWorkspace):
    existing_file(ws, path).unlink()
    return Response(status_code=204)


# Directories -------------------------------------------------------------------------------------

@router.put(DIRECTORIES)
def create_directory(path: str, ws: CurrentWorkspace):
    local = paths.volume_local(ws, "/" + path)
    if local.is_file():
        raise DatabricksError(409, "ALREADY_EXISTS", f"/{path} is a file.")
    local.mkdir(parents=True, exist_ok=True)
    return Response(status_code=204)


@router.head(DIRECTORIES)
def get_directory_metadata(path: str, ws: CurrentWorkspace):
    return Response(status_code=200 if paths.volume_local(ws, "/" + path).is_dir() else 404)


@router.get(DIRECTORIES)
def list_directory_contents(path: str, ws: CurrentWorkspace, page_size: int = 1000, page_token: str | None = None):
    local = existing_directory(ws, path)
    entries = sorted(p for p in local.iterdir() if not p.name.startswith(".upload-"))
    start = int(page_token or 0)
    contents = []
    for entry in entries[start:start + page_size]:
        item = {"path": f"/{path.rstrip('/')}/{entry.name}" + ("/" if entry.is_dir() else ""),
                "name": entry.name, "is_directory": entry.is_dir()}
        if entry.is_file():
            item["file_size"] = entry.stat().st_size
            item["last_modified"] = int(entry.stat().st_mtime * 1000)
        contents.append(item)
    result: dict[str, Any] = {"contents": contents}
    if start + page_size < len(entries):
        result["next_page_token"] = str(start + page_size)
    return result


@router.delete(DIRECTORIES)
def delete_directory(path: str, ws: CurrentWorkspace):
    local = existing_directory(ws, path)
    if any(local.iterdir()):
        raise DatabricksError(400, "DIRECTORY_NOT_EMPTY", f"The directory /{path} is not empty.")
    local.rmdir()
    return Response(status_code=204)


# Cloud storage behind the presigned URLs (no Databricks token) ----------------------------------

@storage_router.put("/_storage/upload/{session}/{part}")
async def put_part(session: str, part: int, request: Request, registry: CurrentRegistry):
    upload = registry.upload_session(session)
    if upload is None:
        return Response(status_code=404, content=b"<Error><Code>NoSuchUpload</Code></Error>")
    target = upload.folder / f"part-{part:06d}"
    await stream_body_to(request, target)
    digest = hashlib.md5(usedforsecurity=False)
    with target.open("rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            digest.update(chunk)
    etag = f'"{digest.hexdigest()}"'
    upload.parts[part] = etag
    return Response(status_code=201, headers={"ETag": etag})


@storage_router.delete("/_storage/upload/{session}")
def abort_upload(session: str, registry: CurrentRegistry):
    registry.drop_upload(session)
    return Response(status_code=204)


@storage_router.get("/_storage/download/{workspace_id}/{token}")
def get_download(workspace_id: int, token: str, request: Request, registry: CurrentRegistry):
    local = registry.download_grant(workspace_id, token)
    if local is None or not local.is_file():
        return Response(status_code=404)
    return ranged_file(local, request)
