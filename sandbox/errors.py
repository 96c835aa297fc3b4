"""Error bodies in the shapes the SDKs parse: ARM's, Azure OpenAI's, and Databricks'."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class OpenAiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, param: str | None = None,
                 type_: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.param, self.type, self.headers = param, type_, headers or {}


class DatabricksError(Exception):
    def __init__(self, status: int, error_code: str, message: str):
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message


async def arm_error_handler(_: Request, error: ArmError) -> JSONResponse:
    return JSONResponse({"error": {"code": error.code, "message": error.message}}, error.status, error.headers)


async def openai_error_handler(_: Request, error: OpenAiError) -> JSONResponse:
    body = {"error": {"code": error.code, "message": error.message, "param": error.param, "type": error.type}}
    return JSONResponse(body, error.status, error.headers)


async def databricks_error_handler(_: Request, error: DatabricksError) -> JSONResponse:
    return JSONResponse({"error_code": error.error_code, "message": error.message}, error.status)


def not_found(kind: str, name: str) -> ArmError:
    return ArmError(404, "ResourceNotFound", f"The Resource '{kind}/{name}' was not found.")
