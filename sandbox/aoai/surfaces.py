"""The two URL surfaces of an account's data plane, which serve the same operations.

- dated:  <endpoint>/openai/...?api-version=...  (chat under /openai/deployments/{deployment}/...)
- v1:     <endpoint>/openai/v1/...               (chat takes the deployment name as `model`)
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

SURFACES = ("/openai", "/openai/v1")


def route_on_both(router: APIRouter, method: str, path: str, handler: Callable) -> None:
    for surface in SURFACES:
        router.add_api_route(surface + path, handler, methods=[method])
