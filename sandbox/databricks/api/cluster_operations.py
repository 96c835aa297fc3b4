"""Clusters API operations beyond the life cycle the product drives: restart and the cluster's event log.

- restart: "If the cluster is not currently in a RUNNING state, nothing will happen" (Clusters API reference,
  databricks-sdk ClustersAPI.restart); a running cluster goes back through start-up (its running tasks fail, as
  a restart kills their driver) and is RUNNING again after the start-up time, its libraries installed again but
  those uninstalled meanwhile ("The libraries aren't uninstalled until the cluster is restarted", Libraries API).
- events: newest first unless `order` is ASC, filtered by `start_time`/`end_time` (ms, inclusive) and
  `event_types`, `limit` 1-500 (default 50); "if there are more events to read, the response includes all the
  parameters necessary to request the next page" (`next_page`, which databricks-sdk posts back as is)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from sandbox.databricks.api.common import CurrentRegistry, CurrentWorkspace
from sandbox.databricks.clusters import record_event
from sandbox.databricks.state import Cluster
from sandbox.errors import DatabricksError

DEFAULT_LIMIT, MAX_LIMIT = 50, 500
STARTS = ("CREATING", "STARTING", "RESTARTING")

router = APIRouter()


@router.post("/api/2.1/clusters/restart")
async def restart(request: Request, ws: CurrentWorkspace, registry: CurrentRegistry):
    cluster_id = (await request.json()).get("cluster_id")
    cluster = registry.clusters.find(ws, cluster_id)
    with registry.world.lock:
        if registry.clusters.state(cluster) != "RUNNING":
            return {}
        now = registry.world.now()
        cluster.started_at = cluster.last_activity = now
        record_event(cluster, now, "RESTARTING", {"user": ws.user})
        registry.clusters.reinstall(ws, cluster)  # libraries marked by an uninstall go now
    registry.jobs.fail_cluster_runs(ws, cluster.cluster_id, "The cluster was restarted.")
    return {}


def event_log(cluster: Cluster, starting_seconds: float, now: float) -> list[dict]:
    """The recorded events plus the RUNNING each start reached on the sandbox clock, oldest first."""
    recorded = sorted(cluster.events, key=lambda e: e["timestamp"])
    log = []
    for index, event in enumerate(recorded):
        log.append({"cluster_id": cluster.cluster_id, **event})
        if event["type"] not in STARTS:
            continue
        running_at = event["timestamp"] + int(starting_seconds * 1000)
        interrupted = any(later["type"] in (*STARTS, "TERMINATING") and later["timestamp"] <= running_at
                          for later in recorded[index + 1:])
        if not interrupted and running_at <= now * 1000:
            log.append({"cluster_id": cluster.cluster_id, "timestamp": running_at, "type": "RUNNING",
                        "details": {"current_num_workers": int(cluster.spec.get("num_workers") or 0)}})
    return sorted(log, key=lambda e: e["timestamp"])


@router.post("/api/2.1/clusters/events")
async def events(request: Request, ws: CurrentWorkspace, registry: CurrentRegistry):
    body = await request.json()
    cluster = registry.clusters.find(ws, body.get("cluster_id"))
    limit = int(body.get("limit") or body.get("page_size") or DEFAULT_LIMIT)
    offset = int(body.get("offset") or 0)
    order = body.get("order") or "DESC"
    if order not in ("ASC", "DESC"):
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Invalid order '{order}': ASC or DESC.")
    if not 0 < limit <= MAX_LIMIT or offset < 0:
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"limit must be between 1 and {MAX_LIMIT}.")
    with registry.world.lock:
        registry.clusters.state(cluster)  # an idle cluster's auto-termination is recorded when it is read
        log = event_log(cluster, registry.world.config.timings.cluster_starting, registry.world.now())
    kinds = set(body.get("event_types") or ())
    log = [e for e in log if (not kinds or e["type"] in kinds)
           and e["timestamp"] >= int(body.get("start_time") or 0)
           and (body.get("end_time") is None or e["timestamp"] <= int(body["end_time"]))]
    if order == "DESC":
        log.reverse()
    page = log[offset:offset + limit]
    answer: dict = {"events": page, "total_count": len(log)}
    if offset + limit < len(log):
        answer["next_page"] = {**{k: v for k, v in body.items() if k not in ("page_token", "page_size")},
                               "offset": offset + limit, "limit": limit}
    return answer
