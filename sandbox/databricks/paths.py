"""Where a Databricks path of a sandbox workspace lives on the local disk."""

from __future__ import annotations

import posixpath
from pathlib import Path

from sandbox.databricks.state import Workspace
from sandbox.errors import DatabricksError


def clean(path: str) -> str:
    if not path or not path.startswith("/"):
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Path ({path}) must be absolute.")
    normal = posixpath.normpath(path)
    if ".." in normal.split("/"):
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Path ({path}) is not valid.")
    return normal


def workspace_path(path: str) -> str:
    """/Workspace/Users/x and /Users/x name the same object."""
    path = clean(path)
    return path.removeprefix("/Workspace") or "/"


def workspace_local(ws: Workspace, path: str) -> Path:
    return ws.workspace_dir / workspace_path(path).lstrip("/")


def volume_parts(path: str) -> tuple[str, str]:
    """('catalog.schema.volume', relative path) of a /Volumes/... path."""
    parts = clean(path).split("/")
    if len(parts) < 5 or parts[1] != "Volumes":
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE",
                              f"Path ({path}) is not a Unity Catalog volume path (/Volumes/<catalog>/<schema>/<volume>/...).")
    return ".".join(parts[2:5]), "/".join(parts[5:])


def volume_local(ws: Workspace, path: str) -> Path:
    full_name, relative = volume_parts(path)
    if full_name not in ws.volumes:
        raise DatabricksError(404, "NOT_FOUND", f"Volume '{full_name}' does not exist.")
    return ws.volumes_dir / full_name.replace(".", "/") / relative


def dbfs_local(ws: Workspace, path: str) -> Path:
    path = path.removeprefix("dbfs:")
    return ws.dbfs_dir / clean(path).lstrip("/")


def any_local(ws: Workspace, path: str) -> Path:
    """A library or task file given as a volume, DBFS or workspace path."""
    if path.startswith("/Volumes/"):
        return volume_local(ws, path)
    if path.startswith("dbfs:/"):
        return dbfs_local(ws, path)
    return workspace_local(ws, path)
