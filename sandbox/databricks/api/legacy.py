"""The older API versions Databricks still serves, answered by the current handlers: Clusters 2.0 (every
Clusters 2.1 path the twin has) and Jobs 2.0/2.1 (one-time runs: runs/submit, get, list, get-output, cancel, and
jobs/list). The legacy `databricks-cli` (PyPI) calls `/api/2.0/clusters/...` and `/api/2.0/jobs/...` by default,
`--version=2.1` for jobs (docs.databricks.com/en/archive/dev-tools/cli/jobs-cli.html).

Where the versions differ the twin answers the newer shape, which the older clients read: runs/list pages
with `offset`/`limit` and `has_more` as in 2.0/2.1 and adds `next_page_token`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from sandbox.databricks.api import cluster_operations, clusters, jobs

router = APIRouter()

ALIASES = ((clusters.router, "/api/2.1/clusters/", ("/api/2.0/clusters/",)),
           (cluster_operations.router, "/api/2.1/clusters/", ("/api/2.0/clusters/",)),
           (jobs.router, "/api/2.2/jobs/", ("/api/2.0/jobs/", "/api/2.1/jobs/")))

for source, current, older in ALIASES:
    for route in source.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith(current):
            continue
        for prefix in older:
            router.add_api_route(prefix + route.path.removeprefix(current), route.endpoint, methods=list(route.methods))
