"""The retry layer shared by labctl and the labs (labctl_labs/retrying.py): what is retried, how long it waits."""

from __future__ import annotations

import pytest
import requests
from types import SimpleNamespace

from databricks.sdk.errors import BadRequest, InternalError, TooManyRequests

from labctl_labs import retrying


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr("tenacity.nap.time.sleep", slept.append)
    return slept


def _client(*failures: BaseException):
    """A client shaped like WorkspaceClient (its `api_client._api_client.do`) whose requests fail with `failures`
    first, then answer {}; made resilient."""
    w = SimpleNamespace(api_client=SimpleNamespace(_api_client=SimpleNamespace()))
    calls: list[tuple[str, str]] = []
    pending = list(failures)

    def do(method, url, *args, **kwargs):
        calls.append((method, url))
        if pending:
            raise pending.pop(0)
        return {}

    w.api_client._api_client.do = do
    retrying.resilient(w)
    return SimpleNamespace(api_client=w.api_client._api_client), calls


def test_safe_requests_are_retried_through_500s_and_truncated_bodies(sleeps, capsys):
    w, calls = _client(InternalError("boom"), requests.exceptions.ChunkedEncodingError("truncated"))
    assert w.api_client.do("GET", "https://adb-1.example/api/2.2/jobs/runs/get", query={"run_id": 1}) == {}
    assert len(calls) == 3 and len(sleeps) == 2
    assert capsys.readouterr().err.count("retrying after") == 2


def test_a_submit_is_retried_only_with_its_idempotency_token(sleeps):
    w, calls = _client(InternalError("boom"))
    assert w.api_client.do("POST", "https://adb-1.example/api/2.2/jobs/runs/submit", body={"idempotency_token": "t"}) == {}
    assert len(calls) == 2
    w, calls = _client(InternalError("boom"))
    with pytest.raises(InternalError) as raised:
        w.api_client.do("POST", "https://adb-1.example/api/2.2/jobs/runs/submit", body={"run_name": "x"})
    assert len(calls) == 1 and raised.value.labctl_operation == "POST /api/2.2/jobs/runs/submit"
    w, calls = _client(InternalError("boom"))
    with pytest.raises(InternalError):
        w.api_client.do("POST", "https://adb-1.example/api/2.1/clusters/create", body={})
    assert len(calls) == 1


def test_refusals_are_not_retried_and_retry_after_is_honoured(sleeps):
    w, calls = _client(BadRequest("no"))
    with pytest.raises(BadRequest):
        w.api_client.do("GET", "https://adb-1.example/api/2.0/clusters/get")
    assert len(calls) == 1 and sleeps == []
    w, calls = _client(TooManyRequests("slow down", retry_after_secs=7))
    w.api_client.do("GET", "https://adb-1.example/api/2.0/clusters/get")
    assert sleeps[0] >= 7


def test_backoff_is_exponential_with_jitter_and_bounded_by_attempts(sleeps, monkeypatch):
    monkeypatch.setenv("LABCTL_RETRY_ATTEMPTS", "5")
    w, calls = _client(*[InternalError("boom")] * 10)
    with pytest.raises(InternalError):
        w.api_client.do("GET", "https://adb-1.example/api/2.0/clusters/get")
    assert len(calls) == 5 and len(sleeps) == 4
    assert all(0 <= s <= 0.5 * 2 ** i for i, s in enumerate(sleeps, start=1))
