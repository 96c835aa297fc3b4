"""What every Databricks REST surface shares: the request's registry and world, the workspace a token
belongs to, Databricks' not-found error, and streaming request bodies to disk."""

from __future__ import annotations

import os
import tempfile
from email.utils import formatdate
from pathlib import Path
from typing import Annotated, Callable

from fastapi import Depends, Request

from sandbox.databricks.registry import WorkspaceRegistry
from sandbox.databricks.state import Workspace
from sandbox.errors import DatabricksError
from sandbox.world import World

CHUNK = 1024 * 1024


def bind_registry(registry: WorkspaceRegistry) -> Callable[[Request], None]:
    """The router-wide dependency that hands the sandbox's workspaces to the handlers (through `CurrentRegistry`)."""
    def bind(request: Request) -> None:
        request.state.databricks = registry
    return bind


def current_registry(request: Request) -> WorkspaceRegistry:
    return request.state.databricks


CurrentRegistry = Annotated[WorkspaceRegistry, Depends(current_registry)]


def current_world(registry: CurrentRegistry) -> World:
    return registry.world


CurrentWorld = Annotated[World, Depends(current_world)]


def current_workspace(request: Request, registry: CurrentRegistry) -> Workspace:
    """The workspace whose personal access token the request carries."""
    header = request.headers.get("authorization") or ""
    if not header.lower().startswith("bearer "):
        raise DatabricksError(401, "UNAUTHENTICATED", "Credential was not sent or was of an unsupported type for this API.")
    workspace = registry.by_token(header[7:].strip())
    if workspace is None:
        raise DatabricksError(403, "PERMISSION_DENIED", "Invalid access token.")
    return workspace


CurrentWorkspace = Annotated[Workspace, Depends(current_workspace)]


def current_user(request: Request, ws: CurrentWorkspace) -> str:
    """The identity whose token the request carries."""
    return ws.tokens[(request.headers.get("authorization") or "")[7:].strip()]


CurrentUser = Annotated[str, Depends(current_user)]


def missing(what: str) -> DatabricksError:
    return DatabricksError(404, "RESOURCE_DOES_NOT_EXIST", what)


async def stream_body_to(request: Request, target: Path) -> None:
    """Write the request body to `target` chunk by chunk (atomic rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, prefix=".upload-") as out:
        async for chunk in request.stream():
            out.write(chunk)
    os.replace(out.name, target)


def http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)
