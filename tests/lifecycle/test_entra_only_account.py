"""`openaiDisableLocalAuth: true`: the account takes no keys, nothing calls listKeys (the sandbox, like Azure,
refuses it with 400), and the labs on the cluster authenticate with Entra ID as a service principal whose
credentials sit in the lab's secret scope."""

import json

from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config


def test_an_entra_only_account_runs_the_labs_with_a_service_principal(labctl):
    stack = "entraonly"
    deployments = json.dumps([{"name": "chat", "model": "gpt-5-mini", "version": "2025-08-07",
                               "sku": "GlobalStandard", "capacity": 50}])
    labctl("up", "--sandbox", "--stack", stack, "-c", "openaiDisableLocalAuth=true", "-c", f"deployments={deployments}")
    try:
        outputs = json.loads(labctl.state_file(stack, "outputs.json").read_text())
        workspace_name = outputs["workspaceResourceId"].rstrip("/").split("/")[-1]
        access = labctl.control("GET", f"/databricks/workspaces/{workspace_name}")
        w = WorkspaceClient(config=Config(host=access["host"], token=access["token"], auth_type="pat"))
        scope = outputs["secretScope"]
        assert "openai-key" not in {s.key for s in w.secrets.list_secrets(scope)}  # no key exists to store

        # The operator's step (README): a service principal with the OpenAI User role, its credentials in the scope.
        principal = labctl.control("POST", "/entra/service-principals")
        for key, value in (("azure-tenant-id", principal["tenant_id"]), ("azure-client-id", principal["client_id"]),
                           ("azure-client-secret", principal["client_secret"]),
                           ("azure-authority-host", principal["authority_host"])):
            w.secrets.put_secret(scope, key, string_value=value)
        labctl("stage", "--stack", stack)
        runs = labctl.json("run", "llmops", "--stack", stack, "-o", "samples=2")["runs"]
        # The account answers api-keys with 401 AuthenticationTypeDisabled: a success is an Entra-authenticated run.
        assert runs[0]["result_state"] == "SUCCESS", runs[0]
    finally:
        labctl("down", "--stack", stack, "--yes")
