"""Plugs the Databricks surface into a sandbox: REST API, ARM workspaces, inventory, teardown hooks."""

from __future__ import annotations

import os
from pathlib import Path

import certifi
from fastapi import APIRouter
from pydantic import BaseModel

from sandbox.databricks import api, arm_workspaces
from sandbox.databricks.registry import WorkspaceRegistry
from sandbox.world import World


class Hold(BaseModel):
    hold: bool = True


class NewToken(BaseModel):
    user: str


class NewWorkspace(BaseModel):
    name: str
    user: str = "lab.user@sandbox.local"


def install(world: World, ca_file) -> WorkspaceRegistry:
    registry = WorkspaceRegistry(world)
    # Clients of the sandbox's HTTPS workspace URL trust its CA as well as the public ones.
    registry.ca_bundle = world.state_dir / "tls" / "bundle.pem"
    trusted = os.environ.get("REQUESTS_CA_BUNDLE")
    base = Path(trusted) if trusted and Path(trusted).is_file() else Path(certifi.where())
    registry.ca_bundle.write_bytes(base.read_bytes() + b"\n" + ca_file.read_bytes())
    world.extensions["databricks"] = registry
    world.extensions.setdefault("routers", []).extend([
        lambda _: api.build_router(registry),
        lambda _: arm_workspaces.build_router(registry),
        lambda _: control_router(registry),
    ])

    def delete_group_workspaces(group_name: str) -> None:
        for ws in [w for w in registry.workspaces.values() if (w.resource_group or "").lower() == group_name.lower()]:
            arm_workspaces.delete_workspace(registry, ws)

    def list_group_workspaces(sub: str, rg: str) -> list[dict]:
        return [arm_workspaces.workspace_json(registry, sub, w) for w in registry.workspaces.values()
                if (w.resource_group or "").lower() == rg.lower()]

    world.extensions.setdefault("group_delete_hooks", []).append(delete_group_workspaces)
    world.extensions.setdefault("group_delete_guards", []).append(
        lambda sub, group: arm_workspaces.deny_managed_group_deletion(registry, sub, group))
    world.extensions.setdefault("group_resource_listers", []).append(list_group_workspaces)
    world.extensions.setdefault("inventories", {})["databricks_workspaces"] = lambda: inventory(registry)
    return registry


def inventory(registry: WorkspaceRegistry) -> list[dict]:
    clusters = registry.clusters
    found = []
    for ws in registry.workspaces.values():
        found.append({
            "name": ws.name, "workspace_id": ws.workspace_id, "resource_group": ws.resource_group,
            "managed_resource_group": ws.managed_resource_group,
            "clusters": [{"cluster_id": c.cluster_id, "name": c.spec.get("cluster_name"), "state": clusters.state(c)}
                         for c in ws.clusters.values()],
            "active_runs": [r.run_id for r in ws.runs.values() if r.life_cycle_state() in ("PENDING", "RUNNING")],
            "runs": [{"run_id": r.run_id, "run_name": r.run_name, "state": r.life_cycle_state(),
                      "result_state": r.result_state()} for r in ws.runs.values()],
            "secret_scopes": sorted(ws.scopes),
            "volumes": sorted(ws.volumes),
        })
    return found


def workspace_access(registry: WorkspaceRegistry, ws) -> dict:
    return {"name": ws.name, "workspace_id": ws.workspace_id, "host": registry.world.arm_url, "token": ws.token,
            "ca_bundle": str(registry.ca_bundle),
            # Where the workspace's runs track MLflow (sandbox.databricks.jobs), for `labctl llmops ui` and tests.
            "mlflow_tracking_uri": f"sqlite:///{ws.root / 'mlflow' / 'mlflow.db'}"}


def control_router(registry: WorkspaceRegistry) -> APIRouter:
    router = APIRouter(prefix="/_sandbox/databricks")

    @router.post("/workspaces")
    def create_workspace(request: NewWorkspace):
        ws = registry.by_name(request.name) or registry.create(request.name, user=request.user)
        return workspace_access(registry, ws)

    @router.get("/workspaces/{name}")
    def get_workspace(name: str):
        from sandbox.errors import DatabricksError

        ws = registry.by_name(name)
        if ws is None:
            raise DatabricksError(404, "RESOURCE_DOES_NOT_EXIST", f"Workspace {name} does not exist.")
        return workspace_access(registry, ws)

    @router.post("/workspaces/{name}/tokens")
    def issue_token(name: str, request: NewToken):
        """A personal access token of another workspace user (not an admin): what that user would generate."""
        from sandbox.errors import DatabricksError

        ws = registry.by_name(name)
        if ws is None:
            raise DatabricksError(404, "RESOURCE_DOES_NOT_EXIST", f"Workspace {name} does not exist.")
        return {"user": request.user, "token": registry.issue_token(ws, request.user)}

    @router.put("/workspaces/{name}/hold")
    def hold_runs(name: str, request: Hold):
        """While held, a workspace's runs reach RUNNING and wait there, before their code starts, until released."""
        (registry.held_workspaces.add if request.hold else registry.held_workspaces.discard)(name)
        return {"name": name, "hold": name in registry.held_workspaces}

    return router
