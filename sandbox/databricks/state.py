"""Records of the sandbox's Databricks workspaces and what lives in them.

A workspace is addressed by its personal access token (the sandbox serves every workspace on the same
host, as the Databricks SDK keeps only scheme and host of a URL). Its files live on disk under
<state>/databricks/<workspace id>/ and are streamed, never held in memory.
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.databricks.runtimes import RUNTIMES

SPARK_VERSIONS = {key: runtime.name for key, runtime in RUNTIMES.items()}
NODE_TYPES = {"Standard_D4ds_v5": (4, 16384), "Standard_D4ads_v5": (4, 16384), "Standard_D4ds_v4": (4, 16384),
              "Standard_DS3_v2": (4, 14336), "Standard_D8ds_v5": (8, 32768)}


@dataclass
class WorkspaceObject:
    kind: str  # DIRECTORY, FILE, NOTEBOOK
    language: str | None = None
    object_id: int = field(default_factory=lambda: secrets.randbelow(2**48))
    created_at: float = 0.0
    modified_at: float = 0.0


@dataclass
class Library:
    spec: dict[str, Any]
    failure: str | None = None
    uninstall_on_restart: bool = False  # uninstalled, which takes effect when the cluster restarts


@dataclass
class Cluster:
    cluster_id: str
    spec: dict[str, Any]
    creator: str
    started_at: float
    terminated_at: float | None = None
    termination_reason: str | None = None
    last_activity: float = 0.0
    libraries: list[Library] = field(default_factory=list)
    active_runs: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # {"timestamp" (ms), "type", "details"}, oldest first


@dataclass
class TaskRun:
    run_id: int
    task_key: str
    spec: dict[str, Any]
    cluster_id: str | None  # None: a serverless task (sandbox.databricks.serverless)
    start_time: int = 0
    end_time: int = 0
    life_cycle_state: str = "PENDING"
    result_state: str | None = None
    state_message: str = ""
    error: str | None = None
    error_trace: str | None = None
    logs_path: Path | None = None
    process: subprocess.Popen | None = None
    cancelled: bool = False
    timed_out: bool = False
    environment: dict[str, Any] | None = None  # a serverless task's environment spec


@dataclass
class JobRun:
    run_id: int
    run_name: str
    tasks: list[TaskRun]
    timeout_seconds: int
    creator: str
    start_time: int
    idempotency_token: str | None = None
    end_time: int = 0
    single_task: bool = False  # submitted in the Jobs 2.0 single-task form: its output is asked of the run itself
    run_as: str | None = None  # the identity the run's code runs as (run_as, else the creator)

    def life_cycle_state(self) -> str:
        states = [t.life_cycle_state for t in self.tasks]
        if all(s in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR") for s in states):
            return "INTERNAL_ERROR" if "INTERNAL_ERROR" in states else "TERMINATED"
        if any(s in ("RUNNING", "TERMINATING") for s in states):
            return "RUNNING"
        return "PENDING"

    def result_state(self) -> str | None:
        results = [t.result_state for t in self.tasks]
        if self.life_cycle_state() != "TERMINATED":
            return None
        for worst in ("CANCELED", "TIMEDOUT", "FAILED"):
            if worst in results:
                return worst
        return "SUCCESS"


@dataclass
class UploadSession:
    token: str
    path: str
    overwrite: bool
    folder: Path
    parts: dict[int, str] = field(default_factory=dict)  # part number -> etag


@dataclass
class DbfsHandle:
    path: str
    target: Path
    partial: Path


@dataclass
class Workspace:
    workspace_id: int
    name: str
    token: str
    root: Path
    user: str
    resource_group: str | None = None
    location: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    sku: str = "premium"
    managed_resource_group: str | None = None
    compute_mode: str = "Hybrid"
    created_at: float = 0.0
    ready_at: float = 0.0
    objects: dict[str, WorkspaceObject] = field(default_factory=dict)
    clusters: dict[str, Cluster] = field(default_factory=dict)
    scopes: dict[str, dict[str, bytes]] = field(default_factory=dict)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)  # "catalog.schema"
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)  # "catalog.schema.volume"
    # Unity Catalog: a new workspace holds only its workspace catalog (see WorkspaceRegistry.create), no `main`.
    catalogs: set[str] = field(default_factory=set)
    default_catalog: str = "hive_metastore"  # the workspace's default namespace (settings default_namespace_ws)
    default_catalog_request: dict[str, Any] | None = None  # ARM properties.defaultCatalog as given, echoed by ARM
    # Identities (sandbox.databricks.permissions): every token names its user; the creator is a workspace admin.
    tokens: dict[str, str] = field(default_factory=dict)  # token -> user name
    admins: set[str] = field(default_factory=set)
    owners: dict[str, str] = field(default_factory=dict)  # "<securable type>/<full name>" -> owner
    grants: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # securable -> principal -> privileges
    secret_acls: dict[str, dict[str, str]] = field(default_factory=dict)  # scope -> principal -> READ|WRITE|MANAGE
    runs: dict[int, JobRun] = field(default_factory=dict)
    task_runs: dict[int, TaskRun] = field(default_factory=dict)
    uploads: dict[str, UploadSession] = field(default_factory=dict)
    dbfs_handles: dict[int, DbfsHandle] = field(default_factory=dict)
    secret_updated: dict[tuple[str, str], int] = field(default_factory=dict)  # (scope, key) -> ms of its last put

    def secret_values(self) -> list[str]:
        values = []
        for scope in self.scopes.values():
            for value in scope.values():
                try:
                    text = value.decode()
                except UnicodeDecodeError:
                    continue
                if text:
                    values.append(text)
        return values

    @property
    def workspace_dir(self) -> Path:
        return self.root / "workspace"

    @property
    def volumes_dir(self) -> Path:
        return self.root / "volumes"

    @property
    def dbfs_dir(self) -> Path:
        return self.root / "dbfs"

    @property
    def uploads_dir(self) -> Path:
        return self.root / "uploads"

    @property
    def clusters_dir(self) -> Path:
        return self.root / "clusters"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"
