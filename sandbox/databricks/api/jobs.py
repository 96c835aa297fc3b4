"""The Jobs API 2.2, one-time runs: runs/submit, runs/get, runs/get-output, runs/cancel, runs/list. The runs'
life cycle is `sandbox.databricks.jobs.JobService`'s."""

from __future__ import annotations

from fastapi import APIRouter, Request

from sandbox.databricks.api.common import CurrentRegistry, CurrentUser, CurrentWorkspace

router = APIRouter()


@router.post("/api/2.2/jobs/runs/submit")
async def submit(request: Request, ws: CurrentWorkspace, registry: CurrentRegistry, user: CurrentUser):
    return {"run_id": registry.jobs.submit(ws, await request.json(), user)}


@router.get("/api/2.2/jobs/runs/get")
def get_run(run_id: int, ws: CurrentWorkspace, registry: CurrentRegistry):
    return registry.jobs.describe(ws, registry.jobs.find(ws, run_id))


@router.get("/api/2.2/jobs/runs/get-output")
def get_run_output(run_id: int, ws: CurrentWorkspace, registry: CurrentRegistry):
    return registry.jobs.output(ws, run_id)


@router.post("/api/2.2/jobs/runs/cancel")
async def cancel_run(request: Request, ws: CurrentWorkspace, registry: CurrentRegistry):
    registry.jobs.cancel(ws, int((await request.json())["run_id"]))
    return {}


@router.get("/api/2.2/jobs/runs/list")
def list_runs(ws: CurrentWorkspace, registry: CurrentRegistry, active_only: bool = False, completed_only: bool = False,
              limit: int = 25, offset: int = 0):
    found = sorted(ws.runs.values(), key=lambda r: r.run_id, reverse=True)
    if active_only:
        found = [r for r in found if r.life_cycle_state() in ("PENDING", "RUNNING")]
    if completed_only:
        found = [r for r in found if r.life_cycle_state() == "TERMINATED"]
    page = found[offset:offset + limit]
    return {"runs": [registry.jobs.describe(ws, r) for r in page], "has_more": offset + limit < len(found)}
