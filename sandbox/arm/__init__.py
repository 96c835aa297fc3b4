"""The subset of Azure Resource Manager the product calls, one module per API surface: resource groups,
Cognitive Services accounts (with soft delete and purge), deployments (one operation at a time per account),
model catalog and usages, and the results of long-running operations."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from sandbox.arm import accounts, deployments, models, operations, projects, resource_groups
from sandbox.arm.common import authorise, bind_world, normalise_arm_path
from sandbox.arm.operations import POLL_HEADERS
from sandbox.world import World

__all__ = ["POLL_HEADERS", "build_router", "normalise_arm_path"]


def build_router(world: World) -> APIRouter:
    router = APIRouter(dependencies=[Depends(bind_world(world)), Depends(authorise)])
    for surface in (resource_groups, operations, accounts, projects, deployments, models):
        router.include_router(surface.router)
    return router
