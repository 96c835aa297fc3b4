"""The older API versions Databricks still serves, answered by the current handlers: Clusters 2.0 (every
Clusters 2.1 path the twin has) and Jobs 2.0/2.1 (one-time runs: runs/submit, get, list, get-output, cancel, and
jobs/list). The legacy `databricks-cli` (PyPI) calls `/api/2.0/clusters/...` and `/api/2.0/jobs/...` by default,
`--version=2.1` for jobs (docs.databricks.com/en/archive/dev-tools/cli/jobs-cli.html).

Where the versions differ the twin answers the newer shape, which the older clients read: runs/list pages
with `offset`/`limit` and `has_more` as in 2.0/2.1 and adds `next_page_token`; a run submitted in the 2.0
single-task form (the task's fields at the top level) becomes a run with one task `main`, whose output is
answered for the run's own id as in 2.0 (and for the task's run id as in 2.1+)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute

from sandbox.databricks.api import cluster_operations, clusters, jobs
from sandbox.databricks.api.common import CurrentRegistry, CurrentUser, CurrentWorkspace

# The fields of a Jobs 2.0 single-task submit that belong to its one task (Jobs API 2.0 runs/submit reference).
TASK_FIELDS = ("existing_cluster_id", "new_cluster", "libraries", "spark_python_task", "python_wheel_task",
               "notebook_task", "spark_jar_task", "spark_submit_task", "timeout_seconds")

router = APIRouter()


def as_multi_task(body: dict) -> dict:
    """A 2.0-style submit (the task's fields at the top level) as the one-task body the current API takes."""
    if body.get("tasks") or not any(key.endswith("_task") for key in body):
        return body
    task = {key: body[key] for key in TASK_FIELDS if key in body}
    rest = {key: value for key, value in body.items() if key not in TASK_FIELDS or key == "timeout_seconds"}
    return {**rest, "tasks": [{"task_key": "main", **task}]}


async def submit(request: Request, ws: CurrentWorkspace, registry: CurrentRegistry, user: CurrentUser):
    body = await request.json()
    converted = as_multi_task(body)
    return {"run_id": registry.jobs.submit(ws, converted, user, single_task=converted is not body)}


for version in ("2.0", "2.1"):
    router.add_api_route(f"/api/{version}/jobs/runs/submit", submit, methods=["POST"])

ALIASES = ((clusters.router, "/api/2.1/clusters/", ("/api/2.0/clusters/",)),
           (cluster_operations.router, "/api/2.1/clusters/", ("/api/2.0/clusters/",)),
           (jobs.router, "/api/2.2/jobs/", ("/api/2.0/jobs/", "/api/2.1/jobs/")))

for source, current, older in ALIASES:
    for route in source.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith(current):
            continue
        for prefix in older:
            if route.path.endswith("/runs/submit"):
                continue  # above, with the 2.0 single-task body
            router.add_api_route(prefix + route.path.removeprefix(current), route.endpoint, methods=list(route.methods))
