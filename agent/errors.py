"""User-facing failures: one sentence, what to do next, and a documented exit code."""

from __future__ import annotations

# Exit codes of every labctl command (documented in README.md).
OK = 0
FAILED = 1  # the operation ran and failed (a lab run FAILED, resources left behind, ...)
USAGE = 2  # bad option, file or configuration
UNAVAILABLE = 3  # a service could not be reached or refused (auth, quota, region)
FINE_TUNING_UNAVAILABLE = 4  # the fine-tuning lab validated the data but cannot fine-tune here
INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it


class LabctlError(Exception):
    def __init__(self, message: str, exit_code: int = FAILED):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(LabctlError):
    def __init__(self, message: str):
        super().__init__(message, USAGE)


class Interrupted(LabctlError):
    """Ctrl-C (SIGINT): what goes on without labctl and how to pick it up again; exit 130 (128 + SIGINT)."""

    def __init__(self, message: str):
        super().__init__(message, INTERRUPTED)


RESUMES = "rerun the command: it resumes where it stopped"


def describe_service_error(error: BaseException) -> str | None:
    """One sentence for a failure of Azure Resource Manager, Azure OpenAI or Databricks: which service, which
    operation, what happened and what to do; None for anything else (a bug)."""
    cause = error.__cause__ if isinstance(error, TimeoutError) and error.__cause__ is not None else None
    if cause is not None:  # databricks-sdk gave up retrying a connection after its deadline
        inner = describe_service_error(cause)
        return inner.replace(" (", " for minutes (", 1) if inner else None
    service, operation = _service_and_operation(error)
    if service is None:
        return None
    where = f"{service} {operation}" if operation else service
    detail, advice = _detail(error)
    return f"{where} failed: {detail}; {advice}."


def _service_and_operation(error: BaseException) -> tuple[str | None, str | None]:
    from urllib.parse import urlparse

    import requests
    from azure.core.exceptions import AzureError

    try:
        from databricks.sdk.errors import DatabricksError
    except ImportError:  # pragma: no cover - databricks-sdk is a core dependency
        DatabricksError = ()  # noqa: N806
    try:
        import openai

        openai_error = openai.APIError
    except ImportError:  # pragma: no cover
        openai_error = ()

    operation = getattr(error, "labctl_operation", None)
    if isinstance(error, DatabricksError):
        return "Databricks", operation
    if isinstance(error, openai_error):
        request = getattr(error, "request", None)
        if request is not None and not operation:
            operation = f"{request.method} {_short(urlparse(str(request.url)).path)}"
        return "Azure OpenAI", operation
    if isinstance(error, AzureError):
        response = getattr(error, "response", None)
        request = getattr(response, "request", None)
        if request is not None and not operation:
            operation = f"{request.method} {_short(urlparse(request.url).path)}"
        return "Azure Resource Manager", operation
    if isinstance(error, requests.RequestException):
        request = getattr(error, "request", None)
        path = urlparse(request.url).path if request is not None and request.url else ""
        if request is not None and not operation:
            operation = f"{request.method} {_short(path)}"
        service = "Databricks" if path.startswith("/api/") or operation and " /api/" in operation else (
            "Azure OpenAI" if "/openai/" in path else "A service")
        return service, operation
    return None, None


def _short(path: str) -> str:
    """An ARM path from its provider on (the subscription and group add nothing to the sentence)."""
    marker = path.lower().find("/providers/")
    return path[marker + 1:] if marker >= 0 else path


def _detail(error: BaseException) -> tuple[str, str]:
    """What happened, and what to do about it."""
    try:
        from labctl_labs.retrying import cut, status_of, transient
    except ImportError:  # pragma: no cover
        return str(error), RESUMES
    status = status_of(error)
    code = getattr(error, "error_code", None)
    azure = getattr(error, "error", None)
    if azure is not None and getattr(azure, "code", None):
        code = azure.code
    message = (getattr(azure, "message", None) if azure is not None else None) or getattr(error, "message", None) \
        or str(error)
    message = " ".join(str(message).split())[:300].rstrip(".")
    if cut(error):
        return f"the connection was cut or refused ({type(error).__name__}), also on every retry", RESUMES
    what = f"{code or status or type(error).__name__}: {message}" if message else f"{code or status}"
    if transient(error):
        return f"{what} (still failing after retries)", RESUMES
    if status in (401, 403) or code in ("PERMISSION_DENIED", "UNAUTHENTICATED", "AuthorizationFailed") or type(
            error).__name__ in ("PermissionDenied", "Unauthenticated", "ClientAuthenticationError"):
        return what, "check that your identity may do this (az login, the workspace's admins), then " + RESUMES
    if code and "quota" in str(code).lower():
        return what, "free or request quota (or choose another region with -c location=...), then " + RESUMES
    return what, "fix the cause, then " + RESUMES
