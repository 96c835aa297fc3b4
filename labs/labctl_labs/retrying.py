"""Retries of transient faults, one layer per service family, on tenacity: exponential backoff with full
jitter, the service's Retry-After honoured, a total deadline, and only for operations that are safe to
send again (GET/HEAD/PUT/DELETE, submits that carry an idempotency token, POSTs known to be idempotent).

Shipped in the lab artifact: the labs on the cluster and labctl itself use the same layer.

- Databricks: `resilient(workspace_client)` wraps the client's request method. databricks-sdk retries
  429/503 and refused connections itself; this adds 500/502/504, truncated bodies
  (`ChunkedEncodingError`) and read timeouts of safe requests, and keeps the SDK from resending a
  non-idempotent POST whose connection was cut after it went out (only a connection never made is retried). Every error leaving a Databricks call
  carries the operation (`labctl_operation`, e.g. "GET /api/2.2/jobs/runs/get") for the error sentence.
- Azure Resource Manager: `resilient_arm(client)` retries the start of long-running PUTs and DELETEs
  (`begin_create*`, `begin_delete*`, `begin_purge`) and the read-only POSTs (`list_keys`) when their
  answer is cut: azure-mgmt reads those bodies outside azure-core's retry policy, which already retries
  their statuses (429, 5xx) and every GET.
- Anything else: `call(what, fn, ...)`.

Each retry says so on stderr (`retrying after ...`). LABCTL_RETRY_DEADLINE (seconds, default 300) and
LABCTL_RETRY_ATTEMPTS (default 6) bound one operation.
"""

from __future__ import annotations

import functools
import io
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import tenacity

T = TypeVar("T")

DEFAULT_DEADLINE = 300.0
DEFAULT_ATTEMPTS = 6  # waits of up to 0.5, 1, 2, 4 and 8 s: a fault that outlasts them is not passing
TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}

# Databricks POSTs that are safe to send twice: the second answers like the first or with "already
# done/gone", which the callers handle (runs/submit only with an idempotency token, see _safe).
IDEMPOTENT_POSTS = (
    "/jobs/runs/cancel", "/jobs/runs/get-output", "/clusters/edit", "/clusters/delete", "/clusters/permanent-delete",
    "/clusters/start", "/libraries/install", "/secrets/put", "/secrets/delete", "/secrets/scopes/delete",
    "/secrets/scopes/create", "/dbfs/put", "/dbfs/create", "/dbfs/add-block", "/dbfs/close", "/dbfs/delete",
    "/dbfs/mkdirs",
)


def _deadline() -> float:
    return float(os.environ.get("LABCTL_RETRY_DEADLINE") or DEFAULT_DEADLINE)


def attempts() -> int:
    """How many attempts one operation gets (LABCTL_RETRY_ATTEMPTS, default 6), for clients that count retries."""
    return _attempts()


def _attempts() -> int:
    return int(os.environ.get("LABCTL_RETRY_ATTEMPTS") or DEFAULT_ATTEMPTS)


def status_of(error: BaseException) -> int | None:
    """The HTTP status an error carries, when it carries one."""
    for holder in (error, getattr(error, "response", None)):
        for name in ("status_code", "status"):
            value = getattr(holder, name, None)
            if isinstance(value, int):
                return value
    return None


def cut(error: BaseException) -> bool:
    """A connection refused, cut or timed out before the whole answer arrived (no status to go by)."""
    import requests

    if isinstance(error, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                          requests.exceptions.ContentDecodingError, ConnectionError)):
        return True
    try:
        from urllib3.exceptions import ProtocolError, ReadTimeoutError

        if isinstance(error, (ProtocolError, ReadTimeoutError)):
            return True
    except ImportError:  # pragma: no cover
        pass
    try:
        from azure.core.exceptions import IncompleteReadError, ServiceRequestError, ServiceResponseError

        return isinstance(error, (ServiceRequestError, ServiceResponseError, IncompleteReadError))
    except ImportError:  # pragma: no cover
        return False


def transient(error: BaseException) -> bool:
    """A fault worth retrying: a throttle, a 5xx that may pass, a connection cut before or during the answer."""
    if cut(error):
        return True
    try:
        from databricks.sdk.errors import (
            DatabricksError, DeadlineExceeded, InternalError, TemporarilyUnavailable, TooManyRequests,
        )

        if isinstance(error, (InternalError, TemporarilyUnavailable, TooManyRequests, DeadlineExceeded)):
            return True
        if isinstance(error, DatabricksError):
            return False
    except ImportError:  # pragma: no cover
        pass
    try:
        from azure.core.exceptions import HttpResponseError

        if isinstance(error, HttpResponseError):
            return status_of(error) in TRANSIENT_STATUS
    except ImportError:  # pragma: no cover
        pass
    try:
        import openai

        if isinstance(error, (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)):
            return True
    except ImportError:  # pragma: no cover
        pass
    return False


def retry_after(error: BaseException) -> float | None:
    """The wait the service asked for (retry-after-ms, Retry-After in seconds), if any."""
    seconds = getattr(error, "retry_after_secs", None)
    if isinstance(seconds, (int, float)):
        return float(seconds)
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000
        if headers.get("retry-after"):
            return float(headers["retry-after"])
    except (TypeError, ValueError):
        return None
    return None


class _Wait(tenacity.wait.wait_base):
    """Exponential backoff with full jitter (0.5 s doubling, at most 30 s), never shorter than Retry-After."""

    def __init__(self) -> None:
        self.backoff = tenacity.wait_random_exponential(multiplier=0.5, max=30)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        wait = self.backoff(retry_state)
        error = retry_state.outcome.exception() if retry_state.outcome else None
        asked = retry_after(error) if error is not None else None
        return max(wait, min(asked, 120.0)) if asked is not None else wait


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _announce(what: str) -> Callable[[tenacity.RetryCallState], None]:
    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        reason = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:160] if str(error).strip() else ''}"
        say(f"retrying after {reason.rstrip(': ')} ({what}; attempt {state.attempt_number}, "
            f"next in {state.next_action.sleep:.1f} s)")

    return before_sleep


def retrying(what: str, *, deadline: float | None = None, attempts: int | None = None,
             retry_on: Callable[[BaseException], bool] = transient) -> tenacity.Retrying:
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(retry_on),
        wait=_Wait(),
        stop=tenacity.stop_after_delay(_deadline() if deadline is None else deadline)
        | tenacity.stop_after_attempt(_attempts() if attempts is None else attempts),
        before_sleep=_announce(what),
        reraise=True,
    )


def call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)`, retried on transient faults."""
    return retrying(what)(fn, *args, **kwargs)


# Databricks ------------------------------------------------------------------------------------------


def _safe(method: str, path: str, body: Any) -> bool:
    method = method.upper()
    if method in ("GET", "HEAD", "PUT", "DELETE"):
        return True
    if method == "POST":
        if path.endswith("/jobs/runs/submit"):
            return isinstance(body, dict) and bool(body.get("idempotency_token"))
        return path.endswith(IDEMPOTENT_POSTS)
    return False


def _never_sent(error: BaseException) -> bool:
    """A connection that failed before the request went out (refused, or the connect timed out): nothing was acted on."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, (NewConnectionError, ConnectTimeoutError)):
            return True
        error = getattr(error, "reason", None) or error.__cause__ or error.__context__ or (
            error.args[0] if error.args and isinstance(error.args[0], BaseException) else None)
    return False


def resilient(workspace):
    """The WorkspaceClient, its safe requests retried on transient faults (see the module's notes)."""
    base = getattr(getattr(workspace, "api_client", None), "_api_client", None)
    if base is None or getattr(base, "_labctl_resilient", False):
        return workspace
    original = base.do
    # databricks-sdk retries every requests.ConnectionError of every request (_BaseClient._is_retryable), also a
    # connection cut after a non-idempotent POST (clusters/create) went out: Databricks may have acted, and the
    # SDK's retry makes a second cluster. For such requests only a connection never made is left to the SDK; the
    # rest reaches the caller, which looks for what the first attempt made (found by the soak, seed 2).
    unsafe = threading.local()
    sdk_retryable = getattr(base, "_is_retryable", None)

    def is_retryable(error: BaseException):
        if getattr(unsafe, "active", False) and not _never_sent(error):
            import requests

            if isinstance(error, requests.ConnectionError):
                return None
        return sdk_retryable(error)

    if sdk_retryable is not None:
        base._is_retryable = is_retryable

    @functools.wraps(original)
    def do(method: str, url: str, *args: Any, **kwargs: Any):
        from urllib.parse import urlparse

        path = urlparse(url).path
        operation = f"{method.upper()} {path}"
        data = kwargs.get("data")
        if isinstance(data, (str, bytes)):
            data = kwargs["data"] = io.BytesIO(data.encode() if isinstance(data, str) else data)
        seekable = data is None or (isinstance(data, io.IOBase) and data.seekable())
        start = data.tell() if data is not None and seekable else None

        def once():
            if start is not None:
                data.seek(start)
            return original(method, url, *args, **kwargs)

        try:
            if not (seekable and _safe(method, path, kwargs.get("body"))):
                unsafe.active = not _safe(method, path, kwargs.get("body"))
                try:
                    return once()
                finally:
                    unsafe.active = False
            return retrying(f"Databricks {operation}")(once)
        except Exception as error:
            if not getattr(error, "labctl_operation", None):
                try:
                    error.labctl_operation = operation
                except AttributeError:  # pragma: no cover - exceptions with __slots__
                    pass
            raise

    base.do = do
    base._labctl_resilient = True
    return workspace


# Azure Resource Manager ------------------------------------------------------------------------------

ARM_RETRIED = ("begin_create", "begin_create_or_update", "begin_create_or_update_by_id", "begin_delete",
               "begin_delete_by_id", "begin_purge", "list_keys")


def _arm_transient(error: BaseException) -> bool:
    """What azure-core's retry policy leaves to us: statuses it already retried (429, 5xx) are final here."""
    return cut(error)


class _ResilientOperations:
    def __init__(self, inner: Any, group: str):
        self._inner, self._group = inner, group

    def __getattr__(self, name: str):
        value = getattr(self._inner, name)
        if name.startswith("_") or not callable(value):
            return value
        operation = f"{self._group}.{name}"

        @functools.wraps(value)
        def named(*args: Any, **kwargs: Any):
            try:
                if name in ARM_RETRIED:
                    return retrying(f"Azure {operation}", retry_on=_arm_transient)(value, *args, **kwargs)
                return value(*args, **kwargs)
            except Exception as error:
                if not getattr(error, "labctl_operation", None):
                    try:
                        error.labctl_operation = operation  # for the error sentence
                    except AttributeError:  # pragma: no cover
                        pass
                raise

        return named


class _ResilientClient:
    def __init__(self, inner: Any):
        self._inner = inner

    def __getattr__(self, name: str):
        value = getattr(self._inner, name)
        if type(value).__name__.endswith("Operations"):
            return _ResilientOperations(value, name)
        return value


def resilient_arm(client):
    """The azure-mgmt client, the starts of its long-running PUT/DELETEs and its listKeys retried."""
    return _ResilientClient(client)
