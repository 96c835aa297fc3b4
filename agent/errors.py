"""User-facing failures: one sentence, what to do next, and a documented exit code."""

from __future__ import annotations

# Exit codes of every labctl command (documented in README.md).
OK = 0
FAILED = 1  # the operation ran and failed (a lab run FAILED, resources left behind, ...)
USAGE = 2  # bad option, file or configuration
UNAVAILABLE = 3  # a service could not be reached or refused (auth, quota, region)
FINE_TUNING_UNAVAILABLE = 4  # the fine-tuning lab validated the data but cannot fine-tune here


class LabctlError(Exception):
    def __init__(self, message: str, exit_code: int = FAILED):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(LabctlError):
    def __init__(self, message: str):
        super().__init__(message, USAGE)


def describe_service_error(error: BaseException) -> str | None:
    """One sentence for a refusal by Azure, Databricks or Azure OpenAI; None for anything else (a bug)."""
    try:
        from databricks.sdk.errors import DatabricksError
    except ImportError:  # pragma: no cover - databricks-sdk is a core dependency
        DatabricksError = ()  # noqa: N806
    from azure.core.exceptions import AzureError, HttpResponseError

    if isinstance(error, DatabricksError):
        code = getattr(error, "error_code", None) or type(error).__name__
        return f"Databricks answered {code}: {str(error).strip()}"
    if isinstance(error, HttpResponseError):
        code = error.error.code if error.error else error.status_code
        message = error.error.message if error.error else str(error)
        return f"Azure answered {code}: {message}"
    if isinstance(error, AzureError):
        return f"Azure could not be reached: {error}"
    try:
        import openai

        if isinstance(error, openai.APIError):
            return f"Azure OpenAI answered: {error.message}"
    except ImportError:  # pragma: no cover
        pass
    import requests

    if isinstance(error, requests.RequestException):
        return f"A service could not be reached: {error}"
    return None
