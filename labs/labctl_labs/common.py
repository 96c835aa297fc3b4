"""What every lab workload shares: its parameters, the workspace, the OpenAI client built from the
secret scope, and where its results go. Runs on a Databricks cluster (and in the sandbox's), so it
imports only what the wheel brings: never pulumi, never the CLI.

A lab is started as a python_wheel_task with named parameters (`--key=value` in sys.argv):
  --results   folder for results, relative to --data (results/<stamp>/<lab>)
  --data      the lab's remote folder (/Volumes/<catalog>/<schema>/<volume>)
  --scope     secret scope; --endpoint-secret / --key-secret name the endpoint and key inside it
  --deployment, --model, --capacity   the chat deployment, its model, and its capacity (thousands of TPM)
  --options   a JSON object of lab-specific settings
The key is read from the scope on the cluster; it is never a parameter, never printed, never written.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labctl_labs.retrying import call, resilient
from labctl_labs.storage import RemoteStore

# The newest dated data-plane version; the gpt-5 family and o3/o4-mini are enabled only from it (Learn "Reasoning
# models", API & feature support).
API_VERSION = "2025-04-01-preview"


# Where the cluster's Entra identity comes from when the account takes no keys: a service principal's credentials,
# which its operator puts in the lab's secret scope (Databricks "Secret management"; azure-identity
# ClientSecretCredential). The principal needs the "Cognitive Services OpenAI User" role on the account (Learn
# "Role-based access control for Azure OpenAI"). `azure-authority-host` is optional: a sovereign cloud's or the
# sandbox's login host (default login.microsoftonline.com).
ENTRA_SECRETS = ("azure-tenant-id", "azure-client-id", "azure-client-secret")
AUTHORITY_SECRET = "azure-authority-host"
# The Entra scope for Azure OpenAI data-plane calls (Learn, "How to configure Azure OpenAI with Microsoft Entra ID").
OPENAI_SCOPE = "https://cognitiveservices.azure.com/.default"


def entra_token_provider(context: LabContext):
    """A token provider for openai's `azure_ad_token_provider`, from the service principal in the scope; raises
    RuntimeError naming the missing secrets when the scope holds neither a key nor a principal."""
    from azure.identity import ClientSecretCredential, get_bearer_token_provider

    values = {name: context.secret_or_none(name) for name in ENTRA_SECRETS}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise RuntimeError(f"The secret scope {context.args.scope!r} holds no Azure OpenAI key and no service "
                           f"principal for Entra ID ({', '.join(missing)} missing); put them there with `databricks "
                           f"secrets put-secret {context.args.scope} <name>`.")
    authority = context.secret_or_none(AUTHORITY_SECRET)
    credential = ClientSecretCredential(
        values["azure-tenant-id"], values["azure-client-id"], values["azure-client-secret"],
        **({"authority": authority, "disable_instance_discovery": True} if authority else {}))
    return get_bearer_token_provider(credential, OPENAI_SCOPE)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="labctl-lab")
    parser.add_argument("--results", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--scope", required=True)
    parser.add_argument("--endpoint-secret", default="openai-endpoint")
    parser.add_argument("--key-secret", default="openai-key")
    parser.add_argument("--deployment", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--capacity", type=int, default=10)
    parser.add_argument("--options", default="{}")
    return parser.parse_args(argv)


@dataclass
class LabContext:
    args: argparse.Namespace
    workspace: Any
    store: RemoteStore
    options: dict

    @property
    def reasoning(self) -> bool | None:
        """Whether the deployment's model is a reasoning model, as labctl read it from the ARM model catalog
        (option `model_reasoning`); never guessed from the name (gpt-5-chat is not one). None: the catalog
        does not say, and the labs send only what both kinds of model take (`completion_parameters`)."""
        value = self.options.get("model_reasoning")
        return None if value is None else bool(value)

    def secret(self, key: str) -> str:
        # dbutils has a Databricks client of its own, outside `resilient`, and databricks-sdk does not retry a 500.
        return call("Databricks dbutils.secrets.get", self.workspace.dbutils.secrets.get, scope=self.args.scope, key=key)

    def openai(self, **kwargs):
        """An AzureOpenAI client: with the account key from the scope, or, when the scope holds none (the
        account has local auth disabled), with Microsoft Entra ID tokens (see entra_token_provider)."""
        from openai import AzureOpenAI

        return AzureOpenAI(**self._openai_auth(), api_version=API_VERSION, **kwargs)

    def async_openai(self, **kwargs):
        """The same as `openai`, as an AsyncAzureOpenAI client."""
        from openai import AsyncAzureOpenAI

        return AsyncAzureOpenAI(**self._openai_auth(), api_version=API_VERSION, **kwargs)

    def _openai_auth(self) -> dict:
        endpoint = self.secret(self.args.endpoint_secret)
        key = self.secret_or_none(self.args.key_secret)
        if key is not None:
            return {"azure_endpoint": endpoint, "api_key": key}
        return {"azure_endpoint": endpoint, "azure_ad_token_provider": entra_token_provider(self)}

    def secret_or_none(self, key: str) -> str | None:
        """The secret, or None when the scope has no such key (listed first: a cluster's native dbutils and the
        SDK's raise different errors for a missing key)."""
        if key not in {s.key for s in self.workspace.secrets.list_secrets(self.args.scope)}:
            return None
        return self.secret(key)

    def save_json(self, name: str, data: Any) -> str:
        return self.store.upload_bytes(f"{self.args.results}/{name}", json.dumps(data, indent=2, default=str).encode())

    def save_bytes(self, name: str, data: bytes) -> str:
        return self.store.upload_bytes(f"{self.args.results}/{name}", data)


def run_lab(body: Callable[[LabContext], int | None], argv: list[str] | None = None) -> int:
    """Parse the parameters, connect to the workspace, run the lab; a lab returns its exit code."""
    from databricks.sdk import WorkspaceClient

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry full request URLs
    args = parse_args(sys.argv[1:] if argv is None else argv)
    workspace = resilient(WorkspaceClient())  # its safe calls retried on transient faults
    context = LabContext(args, workspace, RemoteStore(workspace, args.data), json.loads(args.options))
    return body(context) or 0


def completion_parameters(reasoning: bool | None, max_tokens: int, *, temperature: float | None = None,
                          reasoning_effort: str | None = None) -> dict:
    """The chat-completions parameters for a model of this kind: a reasoning model takes `max_completion_tokens`
    and `reasoning_effort` and refuses `max_tokens` and a temperature other than 1; a chat model takes
    `max_tokens` and `temperature` and refuses `reasoning_effort` (Azure OpenAI "Reasoning models",
    learn.microsoft.com/azure/ai-foundry/openai/how-to/reasoning). When the kind is unknown (None), only
    `max_completion_tokens`, which both kinds take from api-version 2024-09-01-preview on."""
    if reasoning is None:
        return {"max_completion_tokens": max_tokens}
    if reasoning:
        return {"max_completion_tokens": max_tokens, **({"reasoning_effort": reasoning_effort} if reasoning_effort else {})}
    return {"max_tokens": max_tokens, **({"temperature": temperature} if temperature is not None else {})}
