"""Assembles the sandbox's ASGI application from its surfaces."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from sandbox import aoai, arm, control, entra
from sandbox.errors import (
    ArmError, DatabricksError, OpenAiError, arm_error_handler, databricks_error_handler, openai_error_handler,
)
from sandbox.faults import FaultMiddleware, Faults
from sandbox.unknown_endpoints import http_error_handler, validation_error_handler
from sandbox.world import World


def build_app(world: World, faults: Faults) -> FaultMiddleware:
    app = FastAPI(title="labctl sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(ArmError, arm_error_handler)
    app.add_exception_handler(OpenAiError, openai_error_handler)
    app.add_exception_handler(DatabricksError, databricks_error_handler)
    app.add_exception_handler(HTTPException, http_error_handler)  # unknown paths, in each service's own shape
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.include_router(control.build_router(world, faults))
    app.include_router(arm.build_router(world))
    app.include_router(aoai.build_router(world))
    app.include_router(entra.build_router(world))
    for extend in world.extensions.get("routers", []):
        app.include_router(extend(world))
    return FaultMiddleware(app, faults, arm.normalise_arm_path)
