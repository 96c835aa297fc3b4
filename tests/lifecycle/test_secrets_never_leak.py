"""The OpenAI key never appears in anything labctl prints (plain, -v, --json), in its local files, in
job parameters, in run logs, or in downloaded results."""

import requests


def _key_of(labctl, stack: str) -> str:
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    from sandbox.credentials import SandboxCredential

    endpoints = labctl.endpoints
    client = CognitiveServicesManagementClient(SandboxCredential(), endpoints["subscription_id"],
                                               base_url=endpoints["arm_url"], connection_verify=endpoints["ca_file"],
                                               credential_scopes=["https://management.azure.com/.default"])
    account = next(a for a in client.accounts.list() if a.name.startswith(f"labctl-{stack}-"))
    return client.accounts.list_keys(f"rg-labctl-{stack}", account.name).key1


def test_the_key_is_never_printed_stored_passed_or_logged(labctl):
    stack = "keys"
    labctl("-v", "up", "--sandbox", "--stack", stack)
    labctl("--json", "-v", "stage", "--stack", stack)
    labctl("-v", "run", "smoke", "--stack", stack)
    labctl("--json", "run", "smoke", "--stack", stack)
    labctl("-v", "status", "--stack", stack)
    labctl("--json", "status", "--stack", stack)
    key = _key_of(labctl, stack)
    assert len(key) >= 32

    access = labctl.control("GET", f"/databricks/workspaces/dbw-labctl-{stack}")
    def get(path: str, **params):
        return requests.get(f"{access['host']}{path}", params=params, verify=access["ca_bundle"], timeout=10,
                            headers={"Authorization": f"Bearer {access['token']}"})

    runs = get("/api/2.2/jobs/runs/list").json()["runs"]
    assert len(runs) == 2
    places = {}
    for run in runs:
        answer = get("/api/2.2/jobs/runs/get", run_id=run["run_id"])
        detail = answer.text
        places[f"run {run['run_id']} parameters"] = detail
        task = get("/api/2.2/jobs/runs/get-output", run_id=answer.json()["tasks"][0]["run_id"]).json()
        places[f"run {run['run_id']} logs"] = task.get("logs", "") + task.get("error_trace", "")
        assert '"key-secret":"openai-key"' in detail  # the parameters name the secret, never its value

    labctl("--json", "-v", "down", "--stack", stack, "--yes")
    places["everything labctl printed"] = "\n".join(labctl.transcript)
    for path in list((labctl.home / ".labctl" / "stacks").rglob("*")) + list((labctl.home / "lab-results").rglob("*")):
        if path.is_file():
            places[str(path)] = path.read_text(errors="replace")
    leaks = [where for where, text in places.items() if key in text]
    assert leaks == []
    assert any("results" in where and "smoke.json" in where for where in places)  # the scan did see results
    assert any(where.endswith("sandbox-state.json") or where.endswith("config.json") for where in places)
