"""The sandbox's own control surface (/_sandbox/...): health, inventory, faults, clock, model, quota.

It is for tests and for `labctl` in sandbox mode; nothing in the Azure or Databricks surfaces calls it.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from sandbox.faults import FaultPlan, Faults
from sandbox.fine_tuning import job_status
from sandbox.synthetic_model import SyntheticModelConfig
from sandbox.world import World


class Advance(BaseModel):
    seconds: float


class FineTuneFailure(BaseModel):
    code: str = "internalError"
    message: str = "The training run failed on the service."


class Settings(BaseModel):
    customer: str | None = None
    default_max_tokens_estimate: int | None = None
    timings: dict[str, float] | None = None


def inventory(world: World) -> dict:
    with world.lock:
        found = {
            "resource_groups": [{"name": g.name, "location": g.location, "tags": g.tags} for g in world.groups.values()],
            "accounts": [
                {"name": a.name, "resource_group": a.resource_group, "location": a.location, "tags": a.tags,
                 "kind": a.kind, "projects": sorted(p["name"] for p in a.projects.values()),
                 "deployments": [{"name": d.name, "model": d.model_name, "version": d.model_version,
                                  "sku": d.sku_name, "capacity": d.capacity, "fine_tuned": d.fine_tuned}
                                 for d in a.deployments.values()]}
                for a in world.accounts.values()
            ],
            "deleted_accounts": [{"name": a.name, "resource_group": a.resource_group, "location": a.location,
                                  "tags": a.tags} for a in world.deleted_accounts.values()],
            "files": [{"account": a.name, "id": f.id, "filename": f.filename, "purpose": f.purpose}
                      for a in [*world.accounts.values(), *world.deleted_accounts.values()] for f in a.files.values()],
            "fine_tuning_jobs": [{"account": a.name, "id": j.id, "model": j.model, "status": job_status(world, j),
                                  "fine_tuned_model": j.fine_tuned_model}
                                 for a in [*world.accounts.values(), *world.deleted_accounts.values()]
                                 for j in a.jobs.values()],
        }
        for name, lister in world.extensions.get("inventories", {}).items():
            found[name] = lister()
        return found


def build_router(world: World, faults: Faults) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")

    @router.get("/health")
    def health():
        return {"status": "ok", "subscription_id": world.config.subscription_id}

    @router.get("/inventory")
    def get_inventory():
        return inventory(world)

    _add_fault_routes(router, faults)
    _add_world_routes(router, world)
    return router


def _add_fault_routes(router: APIRouter, faults: Faults) -> None:
    """Fault plans, unkeyed (the "default" key) or under a key of the caller's (a test's own name)."""

    @router.get("/faults")
    def get_faults():
        return faults.report()

    @router.put("/faults")
    def put_faults(plan: FaultPlan):
        faults.set(plan)
        return faults.report()

    @router.delete("/faults")
    def clear_faults():
        faults.clear()  # every key: a clean slate
        return faults.report()

    @router.get("/faults/{key}")
    def get_keyed_faults(key: str):
        return faults.report(key)

    @router.put("/faults/{key}")
    def put_keyed_faults(key: str, plan: FaultPlan):
        faults.set(plan, key)
        return faults.report(key)

    @router.delete("/faults/{key}")
    def clear_keyed_faults(key: str):
        faults.clear(key)
        return faults.report(key)


def _add_world_routes(router: APIRouter, world: World) -> None:
    """The clock, the synthetic model, quota, fine-tuning failures and settings."""

    @router.get("/clock")
    def get_clock():
        return {"time": world.now(), "iso": world.clock.now().isoformat()}

    @router.post("/clock/advance")
    def advance(step: Advance):
        world.clock.advance(step.seconds)
        return get_clock()

    @router.get("/model")
    def get_model():
        return world.config.model.model_dump()

    @router.put("/model")
    def put_model(config: SyntheticModelConfig):
        world.set_model_config(config)
        return config.model_dump()

    @router.put("/quota/{region}")
    def put_quota(region: str, limits: dict[str, int]):
        with world.lock:
            world.catalog.quota.regions[region.lower()] = limits
        return world.catalog.quota.regions

    @router.post("/finetune/fail-next")
    def fail_next(failure: FineTuneFailure):
        world.extensions["next_finetune_failure"] = {**failure.model_dump(), "param": None}
        return failure

    @router.patch("/settings")
    def patch_settings(settings: Settings):
        update = {k: v for k, v in settings.model_dump().items() if v is not None}
        if "timings" in update:
            update["timings"] = world.config.timings.model_copy(update=update["timings"])
        with world.lock:
            world.config = world.config.model_copy(update=update)
        return world.config.model_dump(include=set(Settings.model_fields))
