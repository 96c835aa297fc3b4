"""The Databricks REST subset the product and the labs use, with the SDK's request and response shapes
and Databricks' error bodies (`error_code`, `message`), so databricks-sdk raises its typed errors.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import tempfile
from email.utils import formatdate
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from sandbox.databricks import paths
from sandbox.databricks.clusters import ClusterService
from sandbox.databricks.jobs import JobService
from sandbox.databricks.registry import WorkspaceRegistry
from sandbox.databricks.state import SPARK_VERSIONS, DbfsHandle, UploadSession, Workspace, WorkspaceObject
from sandbox.errors import DatabricksError

DBFS_BLOCK = 1024 * 1024
CHUNK = 1024 * 1024


def _missing(what: str) -> DatabricksError:
    return DatabricksError(404, "RESOURCE_DOES_NOT_EXIST", what)


async def _stream_body_to(request: Request, target: Path) -> int:
    """Write the request body to `target` chunk by chunk (atomic rename), returning its size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, prefix=".upload-") as out:
        async for chunk in request.stream():
            out.write(chunk)
            size += len(chunk)
    os.replace(out.name, target)
    return size


def _http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)


def build_router(registry: WorkspaceRegistry) -> APIRouter:
    world = registry.world
    clusters = ClusterService(registry)
    jobs = JobService(registry, clusters)
    registry.clusters, registry.jobs = clusters, jobs

    def workspace_for(request: Request) -> Workspace:
        header = request.headers.get("authorization") or ""
        if not header.lower().startswith("bearer "):
            raise DatabricksError(401, "UNAUTHENTICATED", "Credential was not sent or was of an unsupported type for this API.")
        workspace = registry.by_token(header[7:].strip())
        if workspace is None:
            raise DatabricksError(403, "PERMISSION_DENIED", "Invalid access token.")
        return workspace

    open_router = APIRouter()

    @open_router.get("/.well-known/databricks-config")
    def well_known(request: Request):
        return {"workspace_id": None, "host": str(request.base_url).rstrip("/")}

    @open_router.put("/_storage/upload/{session}/{part}")
    async def put_part(session: str, part: int, request: Request):
        upload = registry.upload_session(session)
        if upload is None:
            return Response(status_code=404, content=b"<Error><Code>NoSuchUpload</Code></Error>")
        target = upload.folder / f"part-{part:06d}"
        await _stream_body_to(request, target)
        digest = hashlib.md5(usedforsecurity=False)
        with target.open("rb") as stream:
            for chunk in iter(lambda: stream.read(CHUNK), b""):
                digest.update(chunk)
        etag = f'"{digest.hexdigest()}"'
        upload.parts[part] = etag
        return Response(status_code=201, headers={"ETag": etag})

    @open_router.delete("/_storage/upload/{session}")
    def abort_upload(session: str):
        registry.drop_upload(session)
        return Response(status_code=204)

    @open_router.get("/_storage/download/{workspace_id}/{token}")
    def storage_download(workspace_id: int, token: str, request: Request):
        local = registry.download_grant(workspace_id, token)
        if local is None or not local.is_file():
            return Response(status_code=404)
        return _ranged_file(local, request)

    router = APIRouter(dependencies=[Depends(workspace_for)])

    # Identity ------------------------------------------------------------------------------------

    @router.get("/api/2.0/preview/scim/v2/Me")
    def me(ws: Workspace = Depends(workspace_for)):
        return JSONResponse({"id": "100", "userName": ws.user, "displayName": ws.user.split("@")[0], "active": True,
                             "emails": [{"value": ws.user, "primary": True}]},
                            headers={"X-Databricks-Org-Id": str(ws.workspace_id)})

    # Workspace -----------------------------------------------------------------------------------

    def object_info(ws: Workspace, path: str) -> dict:
        path = paths.workspace_path(path)
        found = ws.objects.get(path)
        if found is None:
            raise _missing(f"Path ({path}) doesn't exist.")
        info: dict[str, Any] = {"path": path, "object_type": found.kind, "object_id": found.object_id,
                                "created_at": int(found.created_at * 1000), "modified_at": int(found.modified_at * 1000)}
        if found.language:
            info["language"] = found.language
        if found.kind != "DIRECTORY":
            info["size"] = paths.workspace_local(ws, path).stat().st_size
        return info

    def make_dirs(ws: Workspace, path: str) -> None:
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

    @router.post("/api/2.0/workspace/mkdirs")
    async def mkdirs(request: Request, ws: Workspace = Depends(workspace_for)):
        body = await request.json()
        with world.lock:
            make_dirs(ws, body["path"])
        return {}

    @router.post("/api/2.0/workspace/import")
    async def import_object(request: Request, ws: Workspace = Depends(workspace_for)):
        if request.headers.get("content-type", "").startswith("multipart/"):
            async with request.form() as form:
                fields = {k: v for k, v in form.items() if isinstance(v, str)}
                upload = form.get("content")
                content = await upload.read() if hasattr(upload, "read") else (upload or "").encode()
        else:
            fields = await request.json()
            content = base64.b64decode(fields.get("content") or "")
        path = paths.workspace_path(fields["path"])
        fmt = (fields.get("format") or "SOURCE").upper()
        language = fields.get("language")
        overwrite = str(fields.get("overwrite", "false")).lower() == "true"
        if fmt not in ("SOURCE", "AUTO", "RAW", "JUPYTER", "DBC"):
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Invalid format: {fmt}.")
        if fmt == "SOURCE" and not language:
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "The language is required to import in SOURCE format.")
        if len(content) > 10 * 1024 * 1024:
            raise DatabricksError(400, "MAX_NOTEBOOK_SIZE_EXCEEDED", "File size imported is (%d bytes), exceeded max size (10485760 bytes)." % len(content))
        if fmt == "AUTO":
            notebook = content.lstrip().startswith(b"# Databricks notebook source")
            kind, language = ("NOTEBOOK", language or "PYTHON") if notebook else ("FILE", None)
        elif fmt == "RAW":
            kind, language = "FILE", None
        else:
            kind = "NOTEBOOK"
        with world.lock:
            existing = ws.objects.get(path)
            if existing is not None and not overwrite:
                raise DatabricksError(400, "RESOURCE_ALREADY_EXISTS", f"Path ({path}) already exists.")
            if existing is not None and existing.kind == "DIRECTORY":
                raise DatabricksError(400, "RESOURCE_ALREADY_EXISTS", f"Path ({path}) is a directory.")
            make_dirs(ws, path.rsplit("/", 1)[0] or "/")
            local = paths.workspace_local(ws, path)
            local.write_bytes(content)
            ws.objects[path] = WorkspaceObject(kind, language, created_at=world.now(), modified_at=world.now())
        return {}

    @router.get("/api/2.0/workspace/export")
    def export(path: str, format: str = "SOURCE", direct_download: bool = False,
               ws: Workspace = Depends(workspace_for)):
        info = object_info(ws, path)
        if info["object_type"] == "DIRECTORY":
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Path ({path}) is a directory.")
        data = paths.workspace_local(ws, path).read_bytes()
        if direct_download:
            return Response(content=data, media_type="application/octet-stream")
        return {"content": base64.b64encode(data).decode(), "file_type": "py" if info.get("language") == "PYTHON" else ""}

    @router.get("/api/2.0/workspace/get-status")
    def get_status(path: str, ws: Workspace = Depends(workspace_for)):
        with world.lock:
            return object_info(ws, path)

    @router.get("/api/2.0/workspace/list")
    def list_objects(path: str, ws: Workspace = Depends(workspace_for)):
        with world.lock:
            base = paths.workspace_path(path)
            if object_info(ws, base)["object_type"] != "DIRECTORY":
                raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Path ({base}) is not a directory.")
            prefix = base.rstrip("/") + "/"
            children = [p for p in ws.objects if p.startswith(prefix) and "/" not in p[len(prefix):]]
            return {"objects": [object_info(ws, p) for p in sorted(children)]}

    @router.post("/api/2.0/workspace/delete")
    async def delete_object(request: Request, ws: Workspace = Depends(workspace_for)):
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

    # Files API (Unity Catalog volumes) -------------------------------------------------------------

    def file_headers(local: Path) -> dict[str, str]:
        stat = local.stat()
        return {"content-length": str(stat.st_size), "content-type": "application/octet-stream",
                "last-modified": _http_date(stat.st_mtime)}

    @router.put("/api/2.0/fs/files/{path:path}")
    async def put_file(path: str, request: Request, overwrite: bool = True, session_token: str | None = None,
                       ws: Workspace = Depends(workspace_for)):
        local = paths.volume_local(ws, "/" + path)
        if local.exists() and not overwrite:
            raise DatabricksError(409, "ALREADY_EXISTS", f"The file being created already exists: /{path}.")
        if local.is_dir():
            raise DatabricksError(409, "ALREADY_EXISTS", f"/{path} is a directory.")
        await _stream_body_to(request, local)
        return Response(status_code=204)

    @router.post("/api/2.0/fs/files/{path:path}")
    async def file_action(path: str, request: Request, action: str, overwrite: bool = True,
                          session_token: str | None = None, upload_type: str | None = None,
                          ws: Workspace = Depends(workspace_for)):
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
            body = await request.json()
            parts = [p["part_number"] for p in body.get("parts", [])]
            if parts != sorted(session.parts) or any(session.parts[p["part_number"]] != p["etag"] for p in body["parts"]):
                raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "The parts do not match the uploaded parts.")
            local.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=local.parent, delete=False, prefix=".upload-") as out:
                for number in parts:
                    with (session.folder / f"part-{number:06d}").open("rb") as part:
                        shutil.copyfileobj(part, out, CHUNK)
            os.replace(out.name, local)
            registry.drop_upload(session.token)
            return {}
        if action == "abort-upload":
            registry.drop_upload(session_token or "")
            return {}
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Unknown action {action}.")

    @router.post("/api/2.0/fs/create-upload-part-urls")
    async def upload_part_urls(request: Request, ws: Workspace = Depends(workspace_for)):
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
    async def abort_url(request: Request, ws: Workspace = Depends(workspace_for)):
        body = await request.json()
        base = str(request.base_url).rstrip("/")
        return {"abort_upload_url": {"url": f"{base}/_storage/upload/{body.get('session_token', '')}", "headers": []}}

    @router.post("/api/2.0/fs/create-download-url")
    def download_url(request: Request, path: str, ws: Workspace = Depends(workspace_for)):
        local = paths.volume_local(ws, path)
        if not local.is_file():
            raise DatabricksError(404, "NOT_FOUND", f"The file {path} does not exist.")
        base = str(request.base_url).rstrip("/")
        grant = registry.grant_download(ws, local)
        return {"url": f"{base}/_storage/download/{ws.workspace_id}/{grant}", "headers": []}

    @router.get("/api/2.0/fs/files/{path:path}")
    def get_file(path: str, request: Request, ws: Workspace = Depends(workspace_for)):
        local = paths.volume_local(ws, "/" + path)
        if not local.is_file():
            raise DatabricksError(404, "NOT_FOUND", f"The file /{path} does not exist.")
        return _ranged_file(local, request)

    @router.head("/api/2.0/fs/files/{path:path}")
    def head_file(path: str, ws: Workspace = Depends(workspace_for)):
        local = paths.volume_local(ws, "/" + path)
        if not local.is_file():
            return Response(status_code=404)
        return Response(status_code=200, headers=file_headers(local))

    @router.delete("/api/2.0/fs/files/{path:path}")
    def delete_file(path: str, ws: Workspace = Depends(workspace_for)):
        local = paths.volume_local(ws, "/" + path)
        if not local.is_file():
            raise DatabricksError(404, "NOT_FOUND", f"The file /{path} does not exist.")
        local.unlink()
        return Response(status_code=204)

    @router.put("/api/2.0/fs/directories/{path:path}")
    def create_directory(path: str, ws: Workspace = Depends(workspace_for)):
        local = paths.volume_local(ws, "/" + path)
        if local.is_file():
            raise DatabricksError(409, "ALREADY_EXISTS", f"/{path} is a file.")
        local.mkdir(parents=True, exist_ok=True)
        return Response(status_code=204)

    @router.head("/api/2.0/fs/directories/{path:path}")
    def head_directory(path: str, ws: Workspace = Depends(workspace_for)):
        return Response(status_code=200 if paths.volume_local(ws, "/" + path).is_dir() else 404)

    @router.get("/api/2.0/fs/directories/{path:path}")
    def list_directory(path: str, page_size: int = 1000, page_token: str | None = None,
                       ws: Workspace = Depends(workspace_for)):
        local = paths.volume_local(ws, "/" + path)
        if not local.is_dir():
            raise DatabricksError(404, "NOT_FOUND", f"The directory /{path} does not exist.")
        entries = sorted(p for p in local.iterdir() if not p.name.startswith(".upload-"))
        start = int(page_token or 0)
        page = entries[start:start + page_size]
        contents = []
        for entry in page:
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

    @router.delete("/api/2.0/fs/directories/{path:path}")
    def delete_directory(path: str, ws: Workspace = Depends(workspace_for)):
        local = paths.volume_local(ws, "/" + path)
        if not local.is_dir():
            raise DatabricksError(404, "NOT_FOUND", f"The directory /{path} does not exist.")
        if any(local.iterdir()):
            raise DatabricksError(400, "DIRECTORY_NOT_EMPTY", f"The directory /{path} is not empty.")
        local.rmdir()
        return Response(status_code=204)

    # DBFS ------------------------------------------------------------------------------------------

    def dbfs_status(ws: Workspace, path: str) -> dict:
        local = paths.dbfs_local(ws, path)
        if not local.exists():
            raise _missing(f"No file or directory exists on path {path}.")
        stat = local.stat()
        return {"path": path.removeprefix("dbfs:"), "is_dir": local.is_dir(),
                "file_size": 0 if local.is_dir() else stat.st_size, "modification_time": int(stat.st_mtime * 1000)}

    @router.post("/api/2.0/dbfs/create")
    async def dbfs_create(request: Request, ws: Workspace = Depends(workspace_for)):
        body = await request.json()
        target = paths.dbfs_local(ws, body["path"])
        if target.exists() and not body.get("overwrite"):
            raise DatabricksError(400, "RESOURCE_ALREADY_EXISTS", f"A file or directory already exists at the input path {body['path']}.")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.parent / f".partial-{os.urandom(6).hex()}"
        partial.touch()
        with world.lock:
            handle = max(ws.dbfs_handles, default=0) + 1
            ws.dbfs_handles[handle] = DbfsHandle(body["path"], target, partial)
        return {"handle": handle}

    @router.post("/api/2.0/dbfs/add-block")
    async def dbfs_add_block(request: Request, ws: Workspace = Depends(workspace_for)):
        body = await request.json()
        handle = ws.dbfs_handles.get(int(body["handle"]))
        if handle is None:
            raise _missing(f"Handle {body['handle']} does not exist.")
        data = base64.b64decode(body.get("data") or "")
        if len(data) > DBFS_BLOCK:
            raise DatabricksError(400, "MAX_BLOCK_SIZE_EXCEEDED",
                                  f"Size of the block ({len(data)} bytes) exceeds the maximum size ({DBFS_BLOCK} bytes).")
        with handle.partial.open("ab") as out:
            out.write(data)
        return {}

    @router.post("/api/2.0/dbfs/close")
    async def dbfs_close(request: Request, ws: Workspace = Depends(workspace_for)):
        body = await request.json()
        with world.lock:
            handle = ws.dbfs_handles.pop(int(body["handle"]), None)
        if handle is None:
            raise _missing(f"Handle {body['handle']} does not exist.")
        os.replace(handle.partial, handle.target)
        return {}

    @router.post("/api/2.0/dbfs/put")
    async def dbfs_put(request: Request, ws: Workspace = Depends(workspace_for)):
        if request.headers.get("content-type", "").startswith("multipart/"):
            async with request.form() as form:
                path, overwrite = form.get("path"), str(form.get("overwrite", "false")).lower() == "true"
                upload = form.get("contents")
                data = await upload.read() if hasattr(upload, "read") else (upload or "").encode()
        else:
            body = await request.json()
            path, overwrite = body["path"], bool(body.get("overwrite"))
            data = base64.b64decode(body.get("contents") or "")
            if len(data) > DBFS_BLOCK:
                raise DatabricksError(400, "MAX_BLOCK_SIZE_EXCEEDED",
                                      f"Size of the contents ({len(data)} bytes) exceeds the maximum size ({DBFS_BLOCK} bytes).")
        target = paths.dbfs_local(ws, path)
        if target.exists() and not overwrite:
            raise DatabricksError(400, "RESOURCE_ALREADY_EXISTS", f"A file or directory already exists at the input path {path}.")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return {}

    @router.get("/api/2.0/dbfs/get-status")
    def dbfs_get_status(path: str, ws: Workspace = Depends(workspace_for)):
        return dbfs_status(ws, path)

    @router.get("/api/2.0/dbfs/read")
    def dbfs_read(path: str, offset: int = 0, length: int = DBFS_BLOCK, ws: Workspace = Depends(workspace_for)):
        local = paths.dbfs_local(ws, path)
        if not local.is_file():
            raise _missing(f"No file exists on path {path}.")
        if length > DBFS_BLOCK:
            raise DatabricksError(400, "MAX_READ_SIZE_EXCEEDED", f"Cannot read more than {DBFS_BLOCK} bytes per call.")
        with local.open("rb") as stream:
            stream.seek(offset)
            data = stream.read(length)
        return {"bytes_read": len(data), "data": base64.b64encode(data).decode()}

    @router.get("/api/2.0/dbfs/list")
    def dbfs_list(path: str, ws: Workspace = Depends(workspace_for)):
        local = paths.dbfs_local(ws, path)
        if not local.exists():
            raise _missing(f"No file or directory exists on path {path}.")
        if local.is_file():
            return {"files": [dbfs_status(ws, path)]}
        base = path.removeprefix("dbfs:").rstrip("/")
        return {"files": [dbfs_status(ws, f"{base}/{child.name}") for child in sorted(local.iterdir())
                          if not child.name.startswith(".partial-")]}

    @router.post("/api/2.0/dbfs/mkdirs")
    async def dbfs_mkdirs(request: Request, ws: Workspace = Depends(workspace_for)):
        body = await request.json()
        local = paths.dbfs_local(ws, body["path"])
        if local.is_file():
            raise DatabricksError(400, "RESOURCE_ALREADY_EXISTS", f"A file exists at {body['path']}.")
        local.mkdir(parents=True, exist_ok=True)
        return {}

    @router.post("/api/2.0/dbfs/delete")
    async def dbfs_delete(request: Request, ws: Workspace = Depends(workspace_for)):
        body = await request.json()
        local = paths.dbfs_local(ws, body["path"])
        if local.is_dir():
            if any(local.iterdir()) and not body.get("recursive"):
                raise DatabricksError(400, "IO_ERROR", f"The directory {body['path']} is not empty; use recursive.")
            shutil.rmtree(local)
        else:
            local.unlink(missing_ok=True)
        return {}

    # Secrets ---------------------------------------------------------------------------------------

    @router.post("/api/2.0/secrets/scopes/create")
    async def create_scope(request: Request, ws: Workspace = Depends(workspace_for)):
        body = await request.json()
        scope = body["scope"]
        with world.lock:
            if scope in ws.scopes:
                raise DatabricksError(400, "RESOURCE_ALREADY_EXISTS", f"Scope {scope} already exists!")
            ws.scopes[scope] = {}
        return {}

    @router.get("/api/2.0/secrets/scopes/list")
    def list_scopes(ws: Workspace = Depends(workspace_for)):
        return {"scopes": [{"name": name, "backend_type": "DATABRICKS"} for name in sorted(ws.scopes)]}

    @router.post("/api/2.0/secrets/scopes/delete")
    async def delete_scope(request: Request, ws: Workspace = Depends(workspace_for)):
        body = await request.json()
        with world.lock:
            if ws.scopes.pop(body["scope"], None) is None:
                raise _missing(f"Scope {body['scope']} does not exist!")
        return {}

    def scope_of(ws: Workspace, name: str) -> dict[str, bytes]:
        if name not in ws.scopes:
            raise _missing(f"Scope {name} does not exist!")
        return ws.scopes[name]

    @router.post("/api/2.0/secrets/put")
    async def put_secret(request: Request, ws: Workspace = Depends(workspace_for)):
        body = await request.json()
        key = body["key"]
        if not key or len(key) > 128 or not all(c.isalnum() or c in "-_." for c in key):
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Invalid secret key '{key}': 1-128 letters, digits, '-', '_' or '.'.")
        value = base64.b64decode(body["bytes_value"]) if "bytes_value" in body else (body.get("string_value") or "").encode()
        if len(value) > 128 * 1024:
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "A secret value is limited to 128 KB.")
        with world.lock:
            scope_of(ws, body["scope"])[key] = value
        return {}

    @router.get("/api/2.0/secrets/list")
    def list_secrets(scope: str, ws: Workspace = Depends(workspace_for)):
        keys = scope_of(ws, scope)
        return {"secrets": [{"key": k, "last_updated_timestamp": int(world.now() * 1000)} for k in sorted(keys)]}

    @router.get("/api/2.0/secrets/get")
    def get_secret(scope: str, key: str, ws: Workspace = Depends(workspace_for)):
        values = scope_of(ws, scope)
        if key not in values:
            raise _missing(f"Secret {key} does not exist in scope {scope}.")
        return {"key": key, "value": base64.b64encode(values[key]).decode()}

    @router.post("/api/2.0/secrets/delete")
    async def delete_secret(request: Request, ws: Workspace = Depends(workspace_for)):
        body = await request.json()
        with world.lock:
            if scope_of(ws, body["scope"]).pop(body["key"], None) is None:
                raise _missing(f"Secret {body['key']} does not exist in scope {body['scope']}.")
        return {}

    # Unity Catalog (schemas and volumes) -----------------------------------------------------------

    @router.get("/api/2.1/unity-catalog/catalogs/{name}")
    def get_catalog(name: str, ws: Workspace = Depends(workspace_for)):
        if name not in ws.catalogs:
            raise DatabricksError(404, "CATALOG_DOES_NOT_EXIST", f"Catalog '{name}' does not exist.")
        return {"name": name, "full_name": name}

    @router.post("/api/2.1/unity-catalog/schemas")
    async def create_schema(request: Request, ws: Workspace = Depends(workspace_for)):
        body = await request.json()
        catalog, name = body["catalog_name"], body["name"]
        if catalog not in ws.catalogs:
            raise DatabricksError(404, "CATALOG_DOES_NOT_EXIST", f"Catalog '{catalog}' does not exist.")
        full = f"{catalog}.{name}"
        with world.lock:
            if full in ws.schemas:
                raise DatabricksError(409, "SCHEMA_ALREADY_EXISTS", f"Schema '{full}' already exists.")
            ws.schemas[full] = {"comment": body.get("comment"), "owner": ws.user, "created_at": int(world.now() * 1000)}
        return {"full_name": full, "catalog_name": catalog, "name": name, "comment": body.get("comment"), "owner": ws.user}

    @router.get("/api/2.1/unity-catalog/schemas/{full_name}")
    def get_schema(full_name: str, ws: Workspace = Depends(workspace_for)):
        if full_name not in ws.schemas:
            raise DatabricksError(404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{full_name}' does not exist.")
        catalog, name = full_name.split(".")
        return {"full_name": full_name, "catalog_name": catalog, "name": name, **ws.schemas[full_name]}

    @router.delete("/api/2.1/unity-catalog/schemas/{full_name}")
    def delete_schema(full_name: str, force: bool = False, ws: Workspace = Depends(workspace_for)):
        with world.lock:
            if full_name not in ws.schemas:
                raise DatabricksError(404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{full_name}' does not exist.")
            inside = [v for v in ws.volumes if v.startswith(full_name + ".")]
            if inside and not force:
                raise DatabricksError(400, "SCHEMA_NOT_EMPTY", f"Schema '{full_name}' is not empty.")
            for volume in inside:
                drop_volume(ws, volume)
            del ws.schemas[full_name]
        return {}

    def volume_json(ws: Workspace, full: str) -> dict:
        catalog, schema, name = full.split(".")
        return {"full_name": full, "catalog_name": catalog, "schema_name": schema, "name": name,
                "volume_type": ws.volumes[full]["volume_type"], "owner": ws.user,
                "storage_location": f"abfss://sandbox@{ws.name}/volumes/{full.replace('.', '/')}"}

    def drop_volume(ws: Workspace, full: str) -> None:
        del ws.volumes[full]
        shutil.rmtree(ws.volumes_dir / full.replace(".", "/"), ignore_errors=True)

    @router.post("/api/2.1/unity-catalog/volumes")
    async def create_volume(request: Request, ws: Workspace = Depends(workspace_for)):
        body = await request.json()
        schema = f"{body['catalog_name']}.{body['schema_name']}"
        full = f"{schema}.{body['name']}"
        with world.lock:
            if schema not in ws.schemas:
                raise DatabricksError(404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{schema}' does not exist.")
            if full in ws.volumes:
                raise DatabricksError(409, "VOLUME_ALREADY_EXISTS", f"Volume '{full}' already exists.")
            ws.volumes[full] = {"volume_type": body.get("volume_type", "MANAGED")}
            (ws.volumes_dir / full.replace(".", "/")).mkdir(parents=True, exist_ok=True)
            return volume_json(ws, full)

    @router.get("/api/2.1/unity-catalog/volumes/{full_name}")
    def get_volume(full_name: str, ws: Workspace = Depends(workspace_for)):
        if full_name not in ws.volumes:
            raise DatabricksError(404, "VOLUME_DOES_NOT_EXIST", f"Volume '{full_name}' does not exist.")
        return volume_json(ws, full_name)

    @router.get("/api/2.1/unity-catalog/volumes")
    def list_volumes(catalog_name: str, schema_name: str, ws: Workspace = Depends(workspace_for)):
        prefix = f"{catalog_name}.{schema_name}."
        return {"volumes": [volume_json(ws, v) for v in sorted(ws.volumes) if v.startswith(prefix)]}

    @router.delete("/api/2.1/unity-catalog/volumes/{full_name}")
    def delete_volume(full_name: str, ws: Workspace = Depends(workspace_for)):
        with world.lock:
            if full_name not in ws.volumes:
                raise DatabricksError(404, "VOLUME_DOES_NOT_EXIST", f"Volume '{full_name}' does not exist.")
            drop_volume(ws, full_name)
        return {}

    # Clusters and libraries ------------------------------------------------------------------------

    @router.get("/api/2.1/clusters/spark-versions")
    def spark_versions(ws: Workspace = Depends(workspace_for)):
        return {"versions": [{"key": k, "name": v} for k, v in SPARK_VERSIONS.items()]}

    @router.post("/api/2.1/clusters/create")
    async def create_cluster(request: Request, ws: Workspace = Depends(workspace_for)):
        return {"cluster_id": clusters.create(ws, await request.json())}

    @router.post("/api/2.1/clusters/edit")
    async def edit_cluster(request: Request, ws: Workspace = Depends(workspace_for)):
        clusters.edit(ws, await request.json())
        return {}

    @router.get("/api/2.1/clusters/get")
    def get_cluster(cluster_id: str, ws: Workspace = Depends(workspace_for)):
        return clusters.describe(ws, clusters.find(ws, cluster_id))

    @router.get("/api/2.1/clusters/list")
    def list_clusters(ws: Workspace = Depends(workspace_for)):
        return {"clusters": [clusters.describe(ws, c) for c in ws.clusters.values()]}

    @router.post("/api/2.1/clusters/start")
    async def start_cluster(request: Request, ws: Workspace = Depends(workspace_for)):
        clusters.start(ws, (await request.json())["cluster_id"])
        return {}

    @router.post("/api/2.1/clusters/delete")
    async def terminate_cluster(request: Request, ws: Workspace = Depends(workspace_for)):
        clusters.terminate(ws, (await request.json())["cluster_id"], "USER_REQUEST")
        return {}

    @router.post("/api/2.1/clusters/permanent-delete")
    async def permanent_delete(request: Request, ws: Workspace = Depends(workspace_for)):
        clusters.permanent_delete(ws, (await request.json())["cluster_id"])
        return {}

    @router.post("/api/2.0/libraries/install")
    async def install_libraries(request: Request, ws: Workspace = Depends(workspace_for)):
        body = await request.json()
        clusters.install(ws, body["cluster_id"], body.get("libraries", []))
        return {}

    @router.post("/api/2.0/libraries/uninstall")
    async def uninstall_libraries(request: Request, ws: Workspace = Depends(workspace_for)):
        body = await request.json()
        clusters.uninstall(ws, body["cluster_id"], body.get("libraries", []))
        return {}

    @router.get("/api/2.0/libraries/cluster-status")
    def library_status(cluster_id: str, ws: Workspace = Depends(workspace_for)):
        return clusters.library_statuses(ws, cluster_id)

    # Jobs: one-time runs -------------------------------------------------------------------------

    @router.post("/api/2.2/jobs/runs/submit")
    async def submit(request: Request, ws: Workspace = Depends(workspace_for)):
        return {"run_id": jobs.submit(ws, await request.json())}

    @router.get("/api/2.2/jobs/runs/get")
    def get_run(run_id: int, ws: Workspace = Depends(workspace_for)):
        return jobs.describe(ws, jobs.find(ws, run_id))

    @router.get("/api/2.2/jobs/runs/get-output")
    def get_output(run_id: int, ws: Workspace = Depends(workspace_for)):
        return jobs.output(ws, run_id)

    @router.post("/api/2.2/jobs/runs/cancel")
    async def cancel(request: Request, ws: Workspace = Depends(workspace_for)):
        jobs.cancel(ws, int((await request.json())["run_id"]))
        return {}

    @router.get("/api/2.2/jobs/runs/list")
    def list_runs(active_only: bool = False, completed_only: bool = False, limit: int = 25, offset: int = 0,
                  ws: Workspace = Depends(workspace_for)):
        found = sorted(ws.runs.values(), key=lambda r: r.run_id, reverse=True)
        if active_only:
            found = [r for r in found if r.life_cycle_state() in ("PENDING", "RUNNING")]
        if completed_only:
            found = [r for r in found if r.life_cycle_state() == "TERMINATED"]
        page = found[offset:offset + limit]
        return {"runs": [jobs.describe(ws, r) for r in page], "has_more": offset + limit < len(found)}

    combined = APIRouter()
    combined.include_router(open_router)
    combined.include_router(router)
    return combined


def _ranged_file(local: Path, request: Request) -> Response:
    """The file, or the byte range the client asked for, streamed from disk."""
    size = local.stat().st_size
    headers = {"last-modified": _http_date(local.stat().st_mtime), "accept-ranges": "bytes"}
    byte_range = request.headers.get("range")
    if not byte_range:
        return FileResponse(local, media_type="application/octet-stream", headers=headers)
    start_text, _, end_text = byte_range.removeprefix("bytes=").partition("-")
    start = int(start_text or 0)
    end = int(end_text) if end_text else size - 1
    if start >= size:
        return Response(status_code=416, headers={"content-range": f"bytes */{size}"})
    end = min(end, size - 1)

    def chunks():
        with local.open("rb") as stream:
            stream.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = stream.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk

    return StreamingResponse(chunks(), status_code=206, media_type="application/octet-stream",
                             headers={**headers, "content-range": f"bytes {start}-{end}/{size}",
                                      "content-length": str(end - start + 1)})

