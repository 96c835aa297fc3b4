"""Hook for the Databricks surface of the sandbox (sandbox part 2); nothing is installed yet."""

from __future__ import annotations

from agent.sandbox.world import World


def install(world: World) -> None:
    world.extensions.setdefault("routers", [])
