"""Every service failure is one sentence: which service, which operation, what happened, what to do (exit 3)."""

from __future__ import annotations

import requests
from azure.core.exceptions import HttpResponseError, IncompleteReadError, ServiceRequestError
from databricks.sdk.errors import InternalError, PermissionDenied

from agent.errors import describe_service_error

RUNS_GET = "https://adb-1.azuredatabricks.net/api/2.2/jobs/runs/get"


def _one_sentence(text: str) -> None:
    assert text.endswith(".") and text.count("; ") == 1 and "\n" not in text and "None" not in text


def test_a_cut_connection_names_the_service_and_says_a_rerun_resumes():
    # Was "Azure refused the request (None): ('Connection broken: IncompleteRead(...)')".
    cut = IncompleteReadError("('Connection broken: IncompleteRead(11 bytes read, 4085 more expected)')")
    cut.labctl_operation = "accounts.list_keys"
    sentence = describe_service_error(cut)
    assert sentence.startswith("Azure Resource Manager accounts.list_keys failed: the connection was cut")
    assert "it resumes" in sentence
    _one_sentence(sentence)
    assert describe_service_error(ServiceRequestError("Connection refused")).startswith("Azure Resource Manager failed")


def test_databricks_failures_name_the_operation():
    error = InternalError("Injected fault 500.", error_code="INTERNAL_ERROR")
    error.labctl_operation = "GET /api/2.2/jobs/runs/get"
    sentence = describe_service_error(error)
    assert sentence.startswith("Databricks GET /api/2.2/jobs/runs/get failed: INTERNAL_ERROR: Injected fault 500")
    assert "still failing after retries" in sentence and "it resumes" in sentence
    _one_sentence(sentence)
    refused = PermissionDenied("not an admin", error_code="PERMISSION_DENIED")
    refused.labctl_operation = "POST /api/2.0/secrets/put"
    assert "check that your identity may do this" in describe_service_error(refused)


def test_a_connection_the_sdk_gave_up_on_is_a_sentence_not_a_traceback():
    request = requests.Request("GET", RUNS_GET).prepare()
    gave_up = TimeoutError("Timed out after 0:05:00")
    gave_up.__cause__ = requests.exceptions.ConnectionError("Connection refused", request=request)
    sentence = describe_service_error(gave_up)
    assert sentence.startswith("Databricks GET /api/2.2/jobs/runs/get failed: the connection was cut or refused for")
    _one_sentence(sentence)
    assert describe_service_error(TimeoutError("the run is still going")) is None


def test_azure_refusals_carry_their_code_and_advice():
    quota = HttpResponseError(message="InsufficientQuota: not enough")
    quota.error = type("E", (), {"code": "InsufficientQuota", "message": "This operation require 10 new capacity"})()
    quota.labctl_operation = "deployments.begin_create_or_update"
    sentence = describe_service_error(quota)
    assert sentence.startswith("Azure Resource Manager deployments.begin_create_or_update failed: InsufficientQuota")
    assert "request quota" in sentence
    assert describe_service_error(ValueError("a bug")) is None
