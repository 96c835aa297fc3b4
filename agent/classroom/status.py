"""`labctl class status`: one row per learner (region, state, cluster, cost so far, expiry), read from the class
record and each learner's stack (`labctl status`'s own report), the stacks asked a few at a time."""

from __future__ import annotations

import datetime as dt

from agent.classroom import fleet
from agent.classroom.state import ClassRecord


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
    """One row per learner: {learner, email, region, state, recorded, found, missing[], cluster (its state),
    cost_so_far_usd, expires, error, notebooks[], unreachable?}. For a learner the record calls ready (or a `class
    up` found gone), `state` is what was found when it is not all there ("gone", "partly down"; `error` says what is
    missing); otherwise the record's. `cost_so_far_usd` only while its cluster exists. Never starts a sandbox (a
    stopped one holds nothing: its learners are "gone")."""
    from agent.classroom.presence import look_up, stopped_sandbox

    data = record.read()
    rate = hourly_cost(data.get("config") or {})
    now = dt.datetime.now(dt.timezone.utc)
    sandbox_stopped = stopped_sandbox(data.get("target"))

    def one(stack: str) -> dict:
        entry = data["learners"][stack]
        row = {"learner": stack, "email": entry.get("email"), "region": entry["region"], "state": entry["state"],
               "recorded": entry["state"], "found": None, "missing": [], "error": entry.get("error"), "cluster": None,
               "expires": None, "cost_so_far_usd": None, "notebooks": entry.get("notebooks", [])}
        if entry["state"] in ("planned", "down"):
            return row
        found = look_up(stack, sandbox_stopped)
        row.update(found=found.state, missing=found.missing, expires=found.expires)
        if found.unreachable:
            row["unreachable"] = found.unreachable
        if entry["state"] in ("ready", "gone") and found.state in ("gone", "partly down"):
            row["state"], row["error"] = found.state, found.reason
        if found.cluster is not None:
            row["cluster"] = found.cluster["state"]
            if entry.get("ready_at"):
                hours = (now - dt.datetime.fromisoformat(entry["ready_at"])).total_seconds() / 3600
                # An upper bound: as if the cluster ran from the moment the learner was ready (it stops after its
                # idle minutes); tokens are not counted. Nothing for a cluster that is not there.
                row["cost_so_far_usd"] = round(hours * rate, 2)
        return row

    return fleet.each(sorted(data["learners"]), one, concurrency)
