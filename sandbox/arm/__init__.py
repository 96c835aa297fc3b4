"""The subset of Azure Resource Manager the product calls, one module per API surface: resource groups,
Cognitive Services accounts (with soft delete and purge), deployments (one operation at a time per account),
model catalog and usages (per region and per account), PATCH updates and key regeneration (updates.py),
Microsoft.Compute vCPU usages and VM sizes, and the results of long-running operations."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from sandbox.arm import accounts, compute, deployments, models, operations, projects, resource_groups, updates
from sandbox.arm.common import authorise, bind_world, normalise_arm_path
from sandbox.arm.operations import POLL_HEADERS
from sandbox.world import World

__all__ = ["POLL_HEADERS", "build_router", "normalise_arm_path"]


def build_router(world: World) -> APIRouter:
    router = APIRouter(dependencies=[Depends(bind_world(world)), Depends(authorise)])
    for surface in (resource_groups, operations, accounts, projects, deployments, models, updates, compute):
        router.include_router(surface.router)
    # The compute quota a test sets, beside the other controls (/_sandbox/...), without ARM's token check.
    routers = world.extensions.setdefault("routers", [])
    if compute.control_router not in routers:
        routers.append(compute.control_router)
    return router
