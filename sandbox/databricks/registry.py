"""The sandbox's Databricks workspaces, found by token, plus the short-lived upload and download grants
that stand in for cloud-storage presigned URLs."""

from __future__ import annotations

import secrets
import shutil
import threading
from pathlib import Path

from sandbox.databricks import permissions
from sandbox.databricks.state import UploadSession, Workspace
from sandbox.world import World

DEFAULT_USER = "lab.user@sandbox.local"


class WorkspaceRegistry:
    def __init__(self, world: World):
        self.world = world
        self.workspaces: dict[int, Workspace] = {}
        self._by_token: dict[str, Workspace] = {}
        self._uploads: dict[str, UploadSession] = {}
        self._downloads: dict[tuple[int, str], Path] = {}
        self._lock = threading.Lock()
        self.clusters = None  # set by the API module
        self.jobs = None
        self.held_workspaces: set[str] = set()  # runs in these workspaces wait before their code starts

    def create(self, name: str, *, user: str = DEFAULT_USER, resource_group: str | None = None,
               location: str | None = None, tags: dict | None = None, sku: str = "premium",
               managed_resource_group: str | None = None, compute_mode: str = "Hybrid",
               default_catalog: dict | None = None) -> Workspace:
        """A live workspace, enabled for Unity Catalog as Azure enables new ones.

        `default_catalog` is ARM's `properties.defaultCatalog` ({initialName, initialType}). Azure creates
        a workspace catalog, bound to the workspace and set as its default catalog, named `initialName` or
        else the workspace's name ("If not specified, the name of the workspace will be used":
        DefaultCatalogProperties, Microsoft.Databricks REST API 2026-01-01; "Automatic enablement of Unity
        Catalog", Azure Databricks docs). There is no `main`: that catalog exists only in metastores created
        before automatic enablement. `initialType: HiveMetastore` leaves hive_metastore as the default and
        creates no catalog.
        """
        with self._lock:
            workspace_id = 1_000_000_000_000_000 + len(self.workspaces) * 7919 + secrets.randbelow(7000)
            root = self.world.state_dir / "databricks" / str(workspace_id)
            now = self.world.now()
            workspace = Workspace(
                workspace_id=workspace_id, name=name, token=f"dapi{secrets.token_hex(16)}", root=root, user=user,
                resource_group=resource_group, location=location, tags=tags or {}, sku=sku,
                managed_resource_group=managed_resource_group, compute_mode=compute_mode, created_at=now,
                ready_at=now + self.world.config.timings.workspace_provisioning,
            )
            workspace.tokens[workspace.token] = user
            workspace.admins.add(user)
            requested = default_catalog or {}
            if str(requested.get("initialType") or "UnityCatalog").lower() != "hivemetastore":
                workspace.default_catalog = requested.get("initialName") or name
                workspace.catalogs.add(workspace.default_catalog)
                # Owned by the workspace admins; every workspace user may USE it ("Workspace catalog privileges").
                workspace.owners[permissions.key("catalog", workspace.default_catalog)] = permissions.ADMINS
                workspace.grants[permissions.key("catalog", workspace.default_catalog)] = {
                    permissions.USERS: {"USE_CATALOG"}}
            workspace.default_catalog_request = default_catalog
            for folder in (workspace.workspace_dir, workspace.volumes_dir, workspace.dbfs_dir, workspace.uploads_dir):
                folder.mkdir(parents=True, exist_ok=True)
            from sandbox.databricks.state import WorkspaceObject

            for path in ("/", "/Users", f"/Users/{user}", "/Shared"):
                workspace.objects[path] = WorkspaceObject("DIRECTORY", created_at=now, modified_at=now)
                (workspace.workspace_dir / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
            self.workspaces[workspace_id] = workspace
            self._by_token[workspace.token] = workspace
            return workspace

    def by_token(self, token: str) -> Workspace | None:
        return self._by_token.get(token)

    def issue_token(self, workspace: Workspace, user: str) -> str:
        """A personal access token of `user` in `workspace` (a workspace user, not an admin, unless already one)."""
        with self._lock:
            existing = next((t for t, u in workspace.tokens.items() if u == user), None)
            if existing is not None:
                return existing
            token = f"dapi{secrets.token_hex(16)}"
            workspace.tokens[token] = user
            self._by_token[token] = workspace
            return token

    def by_name(self, name: str) -> Workspace | None:
        return next((w for w in self.workspaces.values() if w.name.lower() == name.lower()), None)

    def delete(self, workspace: Workspace) -> None:
        """Remove a workspace with everything in it; running tasks are killed first."""
        if self.jobs is not None:
            self.jobs.kill_all(workspace)
        with self._lock:
            self.workspaces.pop(workspace.workspace_id, None)
            for token in workspace.tokens:
                self._by_token.pop(token, None)
        shutil.rmtree(workspace.root, ignore_errors=True)

    # Presigned-URL stand-ins ---------------------------------------------------------------------

    def new_upload(self, workspace: Workspace, path: str, overwrite: bool) -> UploadSession:
        token = secrets.token_urlsafe(16)
        folder = workspace.uploads_dir / token
        folder.mkdir(parents=True)
        session = UploadSession(token, path, overwrite, folder)
        with self._lock:
            self._uploads[token] = session
        return session

    def upload_session(self, token: str) -> UploadSession | None:
        return self._uploads.get(token)

    def drop_upload(self, token: str) -> None:
        with self._lock:
            session = self._uploads.pop(token, None)
        if session is not None:
            shutil.rmtree(session.folder, ignore_errors=True)

    def grant_download(self, workspace: Workspace, local: Path) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._downloads[(workspace.workspace_id, token)] = local
        return token

    def download_grant(self, workspace_id: int, token: str) -> Path | None:
        return self._downloads.get((workspace_id, token))
