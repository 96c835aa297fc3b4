"""Long-running operations, answered the way azure-core's ARM poller expects: a PUT returns the resource with a
non-terminal provisioningState and the poller reads it back until it settles; a DELETE returns 202 with a
Location (an operation result) that answers 202 until the operation is over, then 204."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.arm.common import CurrentWorld
from sandbox.errors import ArmError

POLL_HEADERS = {"Retry-After-Ms": "100"}  # azure-core polls after this delay instead of its 30 s default

router = APIRouter()


def accepted(request: Request, sub: str, operation_id: str) -> Response:
    base = str(request.base_url).rstrip("/")
    location = f"{base}/subscriptions/{sub}/operationresults/{operation_id}?api-version=2025-04-01"
    return Response(status_code=202, headers={"Location": location, **POLL_HEADERS})


def polled(resource: dict) -> JSONResponse:
    """A resource read back by a poller: while it is not settled, tell the poller to come back soon."""
    settled = resource["properties"]["provisioningState"] in ("Succeeded", "Failed", "Canceled")
    return JSONResponse(resource, 200, None if settled else POLL_HEADERS)


@router.get("/subscriptions/{sub}/operationresults/{operation_id}")
def get_operation_result(sub: str, operation_id: str, request: Request, world: CurrentWorld):
    operation = world.operations.get(operation_id)
    if operation is None:
        raise ArmError(404, "OperationNotFound", f"Operation '{operation_id}' was not found.")
    if world.now() < operation.done_at:
        return accepted(request, sub, operation_id)
    return Response(status_code=204)
