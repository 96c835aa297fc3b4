"""Injected faults look like the cloud's, through the real SDKs: a cut connection has no status line, a fault
after the twin acted leaves the effect in place, each service's error codes, 429s with and without retry
headers, and seeded rates that stay put per plan. Every test counts its faults (`times`), none relies on a rate."""

import io

import httpx2 as httpx
import pytest
import requests
from azure.core.exceptions import HttpResponseError
from databricks.sdk.errors import InternalError

from sandbox.faults import FaultPlan, FaultRule, Faults
from tests.sandbox.conftest import Lab
from tests.sandbox.test_databricks_contract import make_volume, put_script

TASK = "/Workspace/Users/lab.user@sandbox.local/task.py"


def faults(sandbox, *rules, seed=0):
    sandbox.control("PUT", "/faults", json={"seed": seed, "rules": list(rules)})


def injected(sandbox) -> list[int]:
    return sandbox.control("GET", "/faults")["injected"]


def submit_body(cluster_id: str, **extra) -> dict:
    return {"run_name": "lab", **extra, "tasks": [{"task_key": "main", "existing_cluster_id": cluster_id,
                                                  "spark_python_task": {"python_file": TASK}}]}


# A cut connection ------------------------------------------------------------------------------------------------


def test_a_dropped_connection_has_no_status_line_for_requests_or_httpx(sandbox):
    url = f"{sandbox.endpoints.data_url}/aoai/lab-aoai/openai/files?api-version=2024-10-21"
    faults(sandbox, {"path": "/openai/files$", "kind": "drop", "times": 3})
    with pytest.raises(requests.ConnectionError):
        requests.head(url, timeout=5)  # was: a 200 announcing 4096 bytes
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)
    with pytest.raises(httpx.TransportError) as cut:
        httpx.get(url, timeout=5)
    assert not isinstance(cut.value, httpx.TimeoutException)
    assert injected(sandbox) == [3]
    assert requests.get(url, timeout=5).status_code == 404  # the rule is used up: the twin answers again


def test_a_dropped_connection_on_the_https_listener_is_a_connection_error(sandbox):
    url = f"{sandbox.endpoints.arm_url}/subscriptions/{sandbox.sub}/resourcegroups?api-version=2022-09-01"
    faults(sandbox, {"path": "/resourcegroups$", "kind": "drop", "times": 1})
    with pytest.raises(requests.ConnectionError):
        requests.get(url, verify=sandbox.endpoints.ca_file, timeout=5)
    assert injected(sandbox) == [1]


def test_a_truncated_body_follows_the_twins_own_status_line(workspace):
    path = f"{make_volume(workspace.client)}/notes.txt"
    workspace.client.files.upload(path, io.BytesIO(b"x" * 10_000), overwrite=True)
    faults(workspace.sandbox, {"path": "/api/2.0/fs/files/", "method": "GET", "kind": "truncate", "times": 1})
    answer = requests.get(f"{workspace.access['host']}/api/2.0/fs/files{path}", stream=True, timeout=5,
                          headers={"Authorization": f"Bearer {workspace.access['token']}"})
    assert answer.status_code == 200 and answer.headers["content-length"] == "10000"
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        answer.content  # noqa: B018
    assert workspace.client.files.download(path).contents.read() == b"x" * 10_000


# Done, answer lost -------------------------------------------------------------------------------------------------


def test_a_500_after_a_resource_group_put_leaves_the_group_created(sandbox):
    from azure.mgmt.resource.resources import ResourceManagementClient

    from sandbox.credentials import SandboxCredential

    client = ResourceManagementClient(SandboxCredential(), sandbox.sub, retry_total=0, **sandbox.arm_kwargs())
    faults(sandbox, {"path": "/resourcegroups/rg-lost$", "method": "PUT", "status": 500, "when": "after", "times": 1})
    with pytest.raises(HttpResponseError) as failed:
        client.resource_groups.create_or_update("rg-lost", {"location": "eastus2"})
    assert failed.value.status_code == 500 and failed.value.error.code == "InternalServerError"
    assert client.resource_groups.check_existence("rg-lost")
    assert [g["name"] for g in sandbox.inventory()["resource_groups"]] == ["rg-lost"]


def test_a_cut_connection_after_a_resource_group_delete_leaves_it_deleted(sandbox):
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError
    from azure.mgmt.resource.resources import ResourceManagementClient

    from sandbox.credentials import SandboxCredential

    client = ResourceManagementClient(SandboxCredential(), sandbox.sub, retry_total=0, **sandbox.arm_kwargs())
    client.resource_groups.create_or_update("rg-gone", {"location": "eastus2"})
    faults(sandbox, {"path": "/resourcegroups/rg-gone$", "method": "DELETE", "kind": "drop", "when": "after",
                     "times": 1})
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        client.resource_groups.begin_delete("rg-gone")
    assert injected(sandbox) == [1]
    assert sandbox.inventory()["resource_groups"] == []


def test_a_500_after_a_cluster_create_leaves_the_cluster(workspace):
    faults(workspace.sandbox, {"path": "/api/2.1/clusters/create$", "status": 500, "when": "after", "times": 1})
    with pytest.raises(InternalError) as failed:
        workspace.cluster()
    assert failed.value.error_code == "INTERNAL_ERROR"
    clusters = list(workspace.client.clusters.list())
    assert [c.cluster_name for c in clusters] == ["lab"]  # created, though its creator never learnt its id


def test_a_500_after_a_run_submit_leaves_the_run(workspace):
    cluster_id = workspace.cluster()
    put_script(workspace, TASK, "print('ran')\n")
    faults(workspace.sandbox, {"path": "/api/2.2/jobs/runs/submit$", "status": 500, "when": "after", "times": 1})
    with pytest.raises(InternalError):
        workspace.client.api_client.do("POST", "/api/2.2/jobs/runs/submit", body=submit_body(cluster_id))
    runs = list(workspace.client.jobs.list_runs())
    assert [r.run_name for r in runs] == ["lab"]
    assert [len(w["runs"]) for w in workspace.sandbox.inventory()["databricks_workspaces"]] == [1]


def test_a_submit_whose_answer_is_lost_is_resubmitted_by_the_sdk_unless_it_has_an_idempotency_token(workspace):
    """databricks-sdk retries a cut connection: without a token the retry is a second run, with one it is not."""
    cluster_id = workspace.cluster()
    put_script(workspace, TASK, "print('ran')\n")
    lost_once = {"path": "/api/2.2/jobs/runs/submit$", "kind": "drop", "when": "after", "times": 1}
    faults(workspace.sandbox, lost_once)
    workspace.client.api_client.do("POST", "/api/2.2/jobs/runs/submit", body=submit_body(cluster_id))
    assert len(list(workspace.client.jobs.list_runs())) == 2 and injected(workspace.sandbox) == [1]
    faults(workspace.sandbox, lost_once)
    workspace.client.api_client.do("POST", "/api/2.2/jobs/runs/submit",
                                   body=submit_body(cluster_id, idempotency_token="once"))
    assert len(list(workspace.client.jobs.list_runs())) == 3 and injected(workspace.sandbox) == [1]


# Each service's error codes ----------------------------------------------------------------------------------------


def test_databricks_500_is_internal_error_and_503_temporarily_unavailable(workspace):
    faults(workspace.sandbox,
           {"path": "/api/2.1/clusters/list$", "status": 500, "times": 1},
           {"path": "/api/2.1/clusters/spark-versions$", "status": 503, "times": 1})
    url = f"{workspace.access['host']}/api/2.1/clusters/list"
    answer = requests.get(url, headers={"Authorization": f"Bearer {workspace.access['token']}"}, timeout=5)
    assert answer.status_code == 500 and answer.json()["error_code"] == "INTERNAL_ERROR"
    assert answer.json()["details"][0]["@type"] == "type.googleapis.com/google.rpc.RequestInfo"
    answer = requests.get(f"{workspace.access['host']}/api/2.1/clusters/spark-versions", timeout=5,
                          headers={"Authorization": f"Bearer {workspace.access['token']}"})
    assert answer.status_code == 503 and answer.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
    faults(workspace.sandbox, {"path": "/api/2.1/clusters/list$", "status": 500, "times": 1})
    with pytest.raises(InternalError) as failed:  # databricks-sdk does not retry a 500
        workspace.client.api_client.do("GET", "/api/2.1/clusters/list")
    assert failed.value.error_code == "INTERNAL_ERROR"


def test_databricks_429_is_request_limit_exceeded_with_retry_after(workspace):
    faults(workspace.sandbox, {"path": "/api/2.1/clusters/list$", "status": 429, "times": 1, "retry_after_ms": 2000})
    answer = requests.get(f"{workspace.access['host']}/api/2.1/clusters/list", timeout=5,
                          headers={"Authorization": f"Bearer {workspace.access['token']}"})
    assert answer.status_code == 429 and answer.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert answer.headers["retry-after"] == "2" and "retry-after-ms" not in answer.headers


@pytest.mark.parametrize(("status", "code"), [(429, "TooManyRequests"), (500, "InternalServerError"),
                                              (503, "ServiceUnavailable")])
def test_arm_error_codes_per_status(sandbox, status, code):
    from azure.mgmt.resource.resources import ResourceManagementClient

    from sandbox.credentials import SandboxCredential

    client = ResourceManagementClient(SandboxCredential(), sandbox.sub, retry_total=0, **sandbox.arm_kwargs())
    faults(sandbox, {"path": "/resourcegroups$", "method": "GET", "status": status, "times": 1})
    with pytest.raises(HttpResponseError) as failed:
        list(client.resource_groups.list())
    assert failed.value.status_code == status and failed.value.error.code == code
    headers = failed.value.response.headers
    assert ("Retry-After" in headers) == (status == 429) and "retry-after-ms" not in headers


# 429s with and without retry headers -------------------------------------------------------------------------------


def test_azure_openai_429_as_azure_sends_it(lab):
    import openai

    faults(lab.sandbox, {"path": "/chat/completions$", "status": 429, "times": 1, "retry_after_ms": 1500})
    with pytest.raises(openai.RateLimitError) as limited:
        lab.azure_client(max_retries=0).chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "Describe a nurse."}])
    body, headers = limited.value.body, limited.value.response.headers
    assert body["code"] == "429" and set(body) == {"code", "message"}
    assert "exceeded call rate limit" in body["message"] and "Please retry after 2 seconds" in body["message"]
    assert headers["retry-after-ms"] == "1500" and headers["retry-after"] == "2"


def test_azure_openai_429_with_only_the_ratelimit_reset_headers(lab):
    import openai

    faults(lab.sandbox, {"path": "/chat/completions$", "status": 429, "times": 1, "retry_headers": "ratelimit-reset",
                         "retry_after_ms": 3000})
    with pytest.raises(openai.RateLimitError) as limited:
        lab.azure_client(max_retries=0).chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "Describe a baker."}])
    headers = limited.value.response.headers
    assert headers["x-ratelimit-reset-requests"] == "3" and headers["x-ratelimit-reset-tokens"] == "3"
    assert "retry-after" not in headers and "retry-after-ms" not in headers


@pytest.mark.parametrize(("choice", "present"), [("none", set()), ("retry-after", {"retry-after"}),
                                                 ("retry-after-ms", {"retry-after-ms"})])
def test_429_retry_headers_can_be_chosen(lab, choice, present):
    faults(lab.sandbox, {"path": "/openai/files$", "status": 429, "times": 1, "retry_headers": choice})
    answer = requests.get(f"{lab.endpoint}openai/files?api-version=2024-10-21", headers={"api-key": lab.key},
                          timeout=5)
    assert answer.status_code == 429 and answer.json()["error"]["code"] == "429"
    names = {"retry-after", "retry-after-ms", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"}
    assert {n for n in names if n in answer.headers} == present


@pytest.fixture
def lab(sandbox):
    return Lab(sandbox)


# Rates: seeded, per path, per plan ---------------------------------------------------------------------------------


def test_error_rules_on_one_path_share_a_draw_so_their_rates_are_exact():
    plan = FaultPlan(seed=11, rules=[FaultRule(path="^/api/", status=429, probability=0.10),
                                     FaultRule(path="^/api/", status=500, probability=0.025),
                                     FaultRule(path="^/api/", kind="drop", probability=0.02),
                                     FaultRule(path="^/api/", kind="latency", latency_ms=250, probability=0.2)])
    registry = Faults()
    registry.set(plan)
    decisions = [registry.decide("GET", "/api/2.1/clusters/list") for _ in range(20_000)]
    rates = [sum(1 for d in decisions if d.rule is plan.rules[i]) / 20_000 for i in range(3)]
    assert rates == pytest.approx([0.10, 0.025, 0.02], abs=0.006)
    slow = sum(1 for d in decisions if d.latencies) / 20_000
    assert slow == pytest.approx(0.2, abs=0.015)
    assert any(d.rule is not None and d.latencies for d in decisions)  # latency composes with an error
    assert registry.decide("GET", "/subscriptions/x") == registry.decide("GET", "/aoai/x")  # other paths: nothing


def test_a_keyed_plans_sequence_does_not_depend_on_other_plans():
    mine = FaultPlan(seed=5, rules=[FaultRule(path="^/aoai/", status=500, probability=0.3)])
    other = FaultPlan(seed=9, rules=[FaultRule(path="^/api/", status=503, probability=0.5),
                                     FaultRule(path=".", kind="latency", latency_ms=1, probability=0.5)])

    def outcomes(with_other: bool) -> list[bool]:
        registry = Faults()
        registry.set(mine, "mine")
        if with_other:
            registry.set(other, "other")
        seen = []
        for _ in range(200):
            seen.append(registry.decide("POST", "/aoai/a/openai/files").rule is not None)
            registry.decide("GET", "/api/2.1/clusters/list")
        return seen

    alone = outcomes(False)
    assert outcomes(True) == alone and 30 <= sum(alone) <= 90


def test_keyed_plans_with_rates_over_http(sandbox):
    """Probability rules under keys through the control routes: each key's own counts and seed."""
    sandbox.control("PUT", "/faults/a", json={"seed": 1, "rules": [{"path": "/openai/files$", "status": 500,
                                                                   "probability": 0.5}]})
    sandbox.control("PUT", "/faults/b", json={"seed": 2, "rules": [{"path": "/openai/models$", "status": 503,
                                                                   "probability": 1.0, "times": 2}]})
    base = f"{sandbox.endpoints.data_url}/aoai/none/openai"
    files = [requests.get(f"{base}/files", timeout=5).status_code for _ in range(30)]
    models = [requests.get(f"{base}/models", timeout=5).status_code for _ in range(3)]
    a, b = sandbox.control("GET", "/faults/a"), sandbox.control("GET", "/faults/b")
    assert a["injected"] == [files.count(500)] and 5 <= files.count(500) <= 25 and 503 not in files
    assert b["injected"] == [2] and models[:2] == [503, 503] and models[2] != 503


def test_latency_after_the_twin_acted_delays_its_answer_intact(sandbox):
    import time

    sandbox.resources().resource_groups.create_or_update("rg-slow", {"location": "eastus2"})
    faults(sandbox, {"path": "/resourcegroups/rg-slow$", "method": "GET", "kind": "latency", "latency_ms": 300,
                     "when": "after", "times": 1})
    started = time.monotonic()
    assert sandbox.resources().resource_groups.get("rg-slow").location == "eastus2"
    assert time.monotonic() - started >= 0.3 and injected(sandbox) == [1]


def test_a_truncated_answer_without_a_body_is_a_cut_connection(sandbox):
    url = f"{sandbox.endpoints.arm_url}/subscriptions/{sandbox.sub}/resourcegroups/rg-none?api-version=2022-09-01"
    faults(sandbox, {"path": "/resourcegroups/rg-none$", "method": "HEAD", "kind": "truncate", "times": 1})
    with pytest.raises(requests.ConnectionError):
        requests.head(url, verify=sandbox.endpoints.ca_file, timeout=5)
    assert injected(sandbox) == [1]
