"""Error bodies in the shapes the SDKs parse: ARM's, Azure OpenAI's, and Databricks'."""

from __future__ import annotations

import uuid

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


# Injected faults: what each service answers for a status that is not the twin's own decision -----------------------

SERVICES = ("arm", "aoai", "databricks")

ARM_CODES = {400: "BadRequest", 404: "NotFound", 409: "Conflict", 429: "TooManyRequests",
             500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
ARM_MESSAGES = {
    429: "The request is being throttled as the limit has been reached for operation type - Write. Please retry "
         "after the time given in the Retry-After header.",
    500: "The server encountered an internal error. Please retry the request.",
    503: "The service is currently unavailable. Please retry the request.",
}
# The REST error codes of Databricks (databricks-sdk maps both the status and the code to its typed errors).
DATABRICKS_CODES = {400: "INVALID_PARAMETER_VALUE", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                    404: "NOT_FOUND", 409: "RESOURCE_CONFLICT", 429: "REQUEST_LIMIT_EXCEEDED",
                    500: "INTERNAL_ERROR", 501: "NOT_IMPLEMENTED", 503: "TEMPORARILY_UNAVAILABLE",
                    504: "DEADLINE_EXCEEDED"}
# Neutral wording: databricks-sdk retries errors whose message has some phrases ("Unexpected error", ...), which
# would hide what the status alone does to a client.
DATABRICKS_MESSAGES = {
    429: "The request was rejected because the workspace's request rate limit was exceeded.",
    500: "The server encountered an internal error while processing the request.",
    503: "The service is temporarily unavailable.",
}


def service_of(path: str) -> str | None:
    """Which service a sandbox path belongs to: ARM (/subscriptions, including Databricks workspaces as ARM
    resources), an Azure OpenAI account's data plane (/aoai/<account>/), or a Databricks workspace (/api/)."""
    if path.startswith(("/subscriptions", "/providers")):
        return "arm"
    if path.startswith("/aoai/"):
        return "aoai"
    if path.startswith("/api/"):
        return "databricks"
    return None


def _aoai_operation(path: str) -> str:
    for fragment, operation in (("/chat/completions", "ChatCompletions_Create"), ("/embeddings", "Embeddings_Create"),
                                ("/fine_tuning/jobs", "FineTuning_Jobs"), ("/files", "Files")):
        if fragment in path:
            return operation
    return "Inference"


def injected_error_body(path: str, status: int, retry_after_s: int = 1, api_version: str | None = None) -> dict:
    """The error body that `path`'s service sends with `status` when the failure is on its side (a fault)."""
    service = service_of(path)
    request_id = str(uuid.uuid4())
    if service == "arm":
        code = ARM_CODES.get(status, "InternalServerError" if status >= 500 else "BadRequest")
        return {"error": {"code": code, "message": ARM_MESSAGES.get(status, f"The request failed ({status}).")}}
    if service == "databricks":
        code = DATABRICKS_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST")
        return {"error_code": code, "message": DATABRICKS_MESSAGES.get(status, f"The request failed ({status})."),
                "details": [{"@type": "type.googleapis.com/google.rpc.RequestInfo", "request_id": request_id,
                             "serving_data": ""}]}
    if service == "aoai":
        # As Azure OpenAI sends them: the 429 as {"error": {"code": "429", "message": ...}} (no type, no param),
        # the 500 in OpenAI's own shape (type server_error, code null), the 503 as an Azure service error.
        if status == 429:
            operation = _aoai_operation(path)
            if operation == "ChatCompletions_Create":
                message = (f"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
                           f"{api_version or 'v1'} have exceeded call rate limit of your current OpenAI S0 pricing "
                           f"tier. Please retry after {retry_after_s} second{'s' if retry_after_s != 1 else ''}. "
                           f"Please go here: https://aka.ms/oai/quotaincrease if you would like to further "
                           f"increase the default rate limit.")
            else:
                message = f"Rate limit is exceeded. Try again in {retry_after_s} seconds."
            return {"error": {"code": "429", "message": message}}
        if status == 500:
            return {"error": {"message": "The server had an error while processing your request. Sorry about that! "
                                         "You can retry your request, or contact us through an Azure support request "
                                         "at: https://go.microsoft.com/fwlink/?linkid=2213926 if the error persists. "
                                         f"(Please include the request ID {request_id} in your message.)",
                              "type": "server_error", "param": None, "code": None}}
        if status == 503:
            return {"error": {"code": "ServiceUnavailable",
                              "message": "The service is temporarily unable to process your request. Please try "
                                         "again later."}}
    return {"error": {"code": str(status), "message": f"The request failed ({status}).", "param": None, "type": None}}
