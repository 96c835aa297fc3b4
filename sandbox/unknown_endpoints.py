"""What each service answers for a path or method the twin does not serve, and for a request its routing cannot
parse: the service's own error shape, never FastAPI's `{"detail": ...}` (which the SDKs report as "None Not Found").

- Databricks: 404 `{"error_code": "ENDPOINT_NOT_FOUND", "message": "No API found for 'GET /repos'"}` (the body a
  workspace sent in databricks/databricks-cli#383; the method is part of the route, so a wrong method is the same
  404); a query or body the route cannot parse is 400 `INVALID_PARAMETER_VALUE`.
- ARM: `{"error": {"code", "message"}}` (ARM's error contract, azure-resource-manager-rpc
  common-api-details.md#error-response-content): an unknown resource type under a provider is `InvalidResourceType`,
  any other path `NotFound`, a method the type lacks 405 `MethodNotAllowed`, in the same shape.
- Azure OpenAI: 404 `{"error": {"code": "404", "message": "Resource not found"}}`, as the service answers a path or
  deployment route it does not have.
"""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from sandbox.errors import service_of

PROVIDER_TYPE = re.compile(r"/providers/([^/]+)/([^/]+)")


def _databricks(request: Request, status: int, detail) -> JSONResponse:
    if status in (404, 405):
        route = request.url.path.removeprefix("/api").split("/", 2)[-1]  # "No API found for 'GET /repos'"
        return JSONResponse({"error_code": "ENDPOINT_NOT_FOUND",
                             "message": f"No API found for '{request.method} /{route}'"}, 404)
    return JSONResponse({"error_code": "INVALID_PARAMETER_VALUE", "message": str(detail)}, 400)


def _arm(request: Request, status: int, detail) -> JSONResponse:
    path = request.url.path
    if status == 404:
        provider = PROVIDER_TYPE.findall(path)
        if provider:
            namespace, kind = provider[-1]
            version = request.query_params.get("api-version", "")
            return JSONResponse({"error": {"code": "InvalidResourceType", "message": (
                f"The resource type '{kind}' could not be found in the namespace '{namespace}' for api version "
                f"'{version}'.")}}, 404)
        return JSONResponse({"error": {"code": "NotFound", "message": f"The path '{path}' was not found."}}, 404)
    if status == 405:
        return JSONResponse({"error": {"code": "MethodNotAllowed", "message": (
            f"The requested method '{request.method}' is not supported for the path '{path}'.")}}, 405)
    return JSONResponse({"error": {"code": "InvalidRequestContent", "message": str(detail)}}, 400)


def _aoai(request: Request, status: int, detail) -> JSONResponse:
    if status in (404, 405):
        return JSONResponse({"error": {"code": "404", "message": "Resource not found"}}, 404)
    return JSONResponse({"error": {"code": "BadRequest", "message": str(detail)}}, 400)


SURFACES = {"databricks": _databricks, "arm": _arm, "aoai": _aoai}


def _default(error: Exception) -> JSONResponse:
    if isinstance(error, RequestValidationError):
        return JSONResponse({"detail": error.errors()}, 422)
    return JSONResponse({"detail": error.detail}, error.status_code, getattr(error, "headers", None))


async def http_error_handler(request: Request, error: HTTPException) -> JSONResponse:
    """Routing's own 404/405 (and any HTTPException), in the shape of the service the path belongs to."""
    answer = SURFACES.get(service_of(request.url.path))
    return answer(request, error.status_code, error.detail) if answer else _default(error)


async def validation_error_handler(request: Request, error: RequestValidationError) -> JSONResponse:
    """A query or path parameter of the wrong type: the service's 400, naming the parameter."""
    answer = SURFACES.get(service_of(request.url.path))
    if answer is None:
        return _default(error)
    first = error.errors()[0] if error.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ())[1:]) or "request"
    return answer(request, 400, f"Invalid value for '{where}': {first.get('msg', 'not valid')}.")
