"""Files: upload, list, retrieve, content and delete under /openai/files on both surfaces.

An upload is processed on the sandbox clock: `pending`, then `processed`, or `error` with status details that
name the first broken line and rule (sandbox.fine_tuning_files).
"""

from __future__ import annotations

import asyncio
import shutil

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile

from sandbox.aoai.auth import account_for
from sandbox.aoai.surfaces import route_on_both
from sandbox.errors import OpenAiError
from sandbox.fine_tuning_files import process_file
from sandbox.world import Account, AoaiFile, World, new_hex

FILE_PURPOSES = {"fine-tune"}


def build_router(world: World) -> APIRouter:
    router = APIRouter()

    async def upload_file(request: Request, account_name: str):
        account = account_for(world, request, account_name)
        async with request.form(max_part_size=world.config.max_file_bytes) as form:
            return await store_upload(world, account, form.get("purpose"), form.get("file"))

    def list_files(request: Request, account_name: str):
        account = account_for(world, request, account_name)
        return {"object": "list", "data": [file_json(world, f) for f in account.files.values()], "has_more": False}

    def get_file(request: Request, account_name: str, file_id: str):
        return file_json(world, find_file(account_for(world, request, account_name), file_id))

    def file_content(request: Request, account_name: str, file_id: str):
        file = find_file(account_for(world, request, account_name), file_id)
        return FileResponse(file.path, media_type="application/octet-stream")

    def delete_file(request: Request, account_name: str, file_id: str):
        account = account_for(world, request, account_name)
        with world.lock:
            file = find_file(account, file_id)
            del account.files[file_id]
        file.path.unlink(missing_ok=True)
        return {"id": file_id, "object": "file", "deleted": True}

    route_on_both(router, "POST", "/files", upload_file)
    route_on_both(router, "GET", "/files", list_files)
    route_on_both(router, "GET", "/files/{file_id}", get_file)
    route_on_both(router, "GET", "/files/{file_id}/content", file_content)
    route_on_both(router, "DELETE", "/files/{file_id}", delete_file)
    return router


def file_status(world: World, file: AoaiFile) -> str:
    if world.now() < file.ready_at:
        return "pending"
    return "error" if file.error else "processed"


def file_json(world: World, file: AoaiFile) -> dict:
    status = file_status(world, file)
    return {
        "id": file.id, "object": "file", "bytes": file.bytes, "created_at": int(file.created_at),
        "filename": file.filename, "purpose": file.purpose, "status": status,
        "status_details": file.error if status == "error" else None,
    }


def find_file(account: Account, file_id: str) -> AoaiFile:
    file = account.files.get(file_id)
    if file is None:
        raise OpenAiError(404, "fileNotFound", f"File with id '{file_id}' not found.", param="file_id")
    return file


async def store_upload(world: World, account: Account, purpose, upload) -> dict:
    """Keep the uploaded file on disk, process it, and record it; its status turns on the sandbox clock."""
    if purpose not in FILE_PURPOSES:
        raise OpenAiError(400, "invalidPayload", f"Purpose '{purpose}' is not supported; the sandbox takes 'fine-tune'.",
                          param="purpose")
    if not isinstance(upload, UploadFile):
        raise OpenAiError(400, "invalidPayload", "A file is required.", param="file")
    file_id = f"file-{new_hex()}"
    folder = world.state_dir / "aoai" / account.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_id
    with path.open("wb") as out:
        await asyncio.to_thread(shutil.copyfileobj, upload.file, out, 1024 * 1024)
    size = path.stat().st_size
    if size > world.config.max_file_bytes:
        path.unlink()
        raise OpenAiError(400, "invalidPayload", f"The file is {size} bytes; the limit is 512 MB.", param="file")
    name = upload.filename or file_id
    processed = await asyncio.to_thread(process_file, path, name)
    now = world.now()
    file = AoaiFile(file_id, name, purpose, size, now, now + world.config.timings.file_processing, path,
                    processed.error, processed.examples, sum(processed.tokens), processed.tokens,
                    image_examples=processed.image_examples)
    with world.lock:
        account.files[file_id] = file
    return file_json(world, file)
