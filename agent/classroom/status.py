"""`labctl class status`: one row per learner (region, state, cluster, cost so far, expiry), read from the class
record and each learner's stack (`labctl status`'s own report), the stacks asked a few at a time."""

from __future__ import annotations

import datetime as dt

from agent.classroom import fleet
from agent.classroom.state import ClassRecord
from agent.errors import LabctlError


def hourly_cost(config: dict) -> float:
    """USD per hour of a learner's running cluster (VM + DBUs), from preflight's price table (an ESTIMATE)."""
    from agent.lifecycle.preflight_step import validated
    from agent.preflight import load_prices

    parsed = validated(config, dt.datetime.now(dt.timezone.utc))
    prices = load_prices()
    vm = prices["vm_per_hour"].get(parsed.node_type, 0.0)
    dbu = prices["dbu_per_hour"].get(parsed.node_type, 0.0) * prices["dbu_price"].get(parsed.workspace_sku, 0.0)
    return vm + dbu


def class_status(record: ClassRecord, concurrency: int = 4) -> list[dict]:
    from agent.lifecycle.status import status as stack_status

    data = record.read()
    rate = hourly_cost(data.get("config") or {})
    now = dt.datetime.now(dt.timezone.utc)

    def one(stack: str) -> dict:
        entry = data["learners"][stack]
        row = {"learner": stack, "email": entry.get("email"), "region": entry["region"], "state": entry["state"],
               "error": entry.get("error"), "cluster": None, "expires": None, "cost_so_far_usd": None,
               "notebooks": entry.get("notebooks", [])}
        if entry["state"] in ("planned", "down"):
            return row
        try:
            report = stack_status(stack)
        except LabctlError as error:
            row["unreachable"] = error.message
            return row
        row["cluster"] = (report.get("cluster") or {}).get("state") or report.get("unreachable")
        row["expires"] = report["outputs"].get("tags", {}).get("expires-at")
        if entry.get("ready_at"):
            hours = (now - dt.datetime.fromisoformat(entry["ready_at"])).total_seconds() / 3600
            # An upper bound: as if the cluster ran from the moment the learner was ready (it stops after its
            # idle minutes); tokens are not counted.
            row["cost_so_far_usd"] = round(hours * rate, 2)
        return row

    return fleet.each(sorted(data["learners"]), one, concurrency)
