"""The Jobs API 2.2, one-time runs: runs/submit, runs/get, runs/get-output, runs/cancel, runs/list; and jobs/list
(the twin has no jobs, only one-time runs). The runs'
life cycle is `sandbox.databricks.jobs.JobService`'s."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request

from sandbox.databricks.api.common import CurrentRegistry, CurrentUser, CurrentWorkspace
from sandbox.errors import DatabricksError

RUN_TYPES = ("JOB_RUN", "WORKFLOW_RUN", "SUBMIT_RUN")
DEFAULT_LIMIT, MAX_LIMIT = 20, 25

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


def page_token_of(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def offset_of(token: str) -> int:
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "offset" and int(value) >= 0:
            return int(value)
    except (ValueError, UnicodeDecodeError):
        pass
    raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Invalid page_token '{token}'.")


@router.get("/api/2.2/jobs/runs/list")
def list_runs(ws: CurrentWorkspace, registry: CurrentRegistry, active_only: bool = False, completed_only: bool = False,
              job_id: int | None = None, run_type: str | None = None, start_time_from: int | None = None,
              start_time_to: int | None = None, limit: int = DEFAULT_LIMIT, offset: int = 0,
              page_token: str | None = None, expand_tasks: bool = False):
    """Runs from the most recently started, a page at a time, with `next_page_token`/`prev_page_token` while there
    are more (databricks-sdk's `list_runs` follows `next_page_token` and ignores `has_more`). Filters and limits
    as in the reference (docs.databricks.com/api/azure/workspace/jobs/listruns): `active_only` and
    `completed_only` exclusive, `limit` 1-25 (0 = the maximum; default 20), times in ms, inclusive."""
    if active_only and completed_only:
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "active_only and completed_only cannot both be true.")
    if run_type is not None and run_type not in RUN_TYPES:
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE",
                              f"Invalid run_type '{run_type}': one of {', '.join(RUN_TYPES)}.")
    if limit < 0 or offset < 0:
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "limit and offset must not be negative.")
    limit = min(limit or MAX_LIMIT, MAX_LIMIT)
    start = offset_of(page_token) if page_token else offset
    found = sorted(ws.runs.values(), key=lambda r: (r.start_time, r.run_id), reverse=True)
    if active_only:
        found = [r for r in found if r.life_cycle_state() in ("QUEUED", "PENDING", "RUNNING", "TERMINATING")]
    if completed_only:
        found = [r for r in found if r.life_cycle_state() not in ("QUEUED", "PENDING", "RUNNING", "TERMINATING")]
    if run_type is not None:
        found = [r for r in found if run_type == "SUBMIT_RUN"]  # the twin's runs are all one-time submits
    if start_time_from is not None:
        found = [r for r in found if r.start_time >= start_time_from]
    if start_time_to is not None:
        found = [r for r in found if r.start_time <= start_time_to]
    described = [registry.jobs.describe(ws, r) for r in found]
    if not expand_tasks:  # "Whether to include task and cluster details in the response" (default false)
        described = [{k: v for k, v in r.items() if k not in ("tasks", "job_clusters")} for r in described]
    if job_id is not None:
        described = [r for r in described if r["job_id"] == job_id]
    page = described[start:start + limit]
    answer: dict = {"has_more": start + limit < len(described)}
    if page:
        answer["runs"] = page  # "Only included in the response if there are runs to list"
    if answer["has_more"]:
        answer["next_page_token"] = page_token_of(start + limit)
    if start > 0:
        answer["prev_page_token"] = page_token_of(max(0, start - limit))
    return answer


@router.get("/api/2.2/jobs/list")
def list_jobs(ws: CurrentWorkspace, limit: int = DEFAULT_LIMIT, offset: int = 0, name: str | None = None,
              page_token: str | None = None, expand_tasks: bool = False):
    """The twin creates no jobs (one-time runs have none), so the list is empty; the reference's limit is 1-100."""
    if not 0 <= limit <= 100:
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "limit must be between 1 and 100.")
    return {"has_more": False}
