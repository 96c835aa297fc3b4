"""Where the lab lives: Azure or the sandbox. The two differ only in endpoints and credentials; every
operation gets its SDK clients from here and is otherwise the same code."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import requests

from agent.errors import UNAVAILABLE, LabctlError, UsageError
from agent.outputs import StackOutputs
from agent.workdir import read_target, sandbox_dir, stack_dir, write_json

ARM_SCOPE = "https://management.azure.com/.default"


@dataclass
class Target:
    kind: str  # "cloud" or "sandbox"
    subscription_id: str
    credential: Any
    arm_url: str | None = None
    ca_file: str | None = None
    control_url: str | None = None
    stack: str | None = None  # the stack this target was loaded for: every advice names it (`--stack`)

    # Azure Resource Manager ----------------------------------------------------------------------

    def _arm_kwargs(self, retry_conflicts: bool = False) -> dict:
        from labctl_labs.retrying import attempts

        # azure-core retries 429 and 5xx itself, but a status only 3 times (RetryPolicy retry_status=3): four
        # throttled polls in a row ended a fine-tuned deployment (soak, seed 6). As many attempts as labctl's own
        # layer makes (LABCTL_RETRY_ATTEMPTS, 6).
        extra: dict = {"retry_status": max(attempts() - 1, 0), "retry_total": max(10, attempts() - 1)}
        # 409 (another operation on the parent) is worth retrying too when an operation must happen regardless.
        if retry_conflicts:
            extra.update({"retry_on_status_codes": [409], "retry_backoff_factor": 2})
        if self.arm_url is None:  # Azure's public cloud: the SDKs' defaults
            return extra
        return {"base_url": self.arm_url, "connection_verify": self.ca_file, "credential_scopes": [ARM_SCOPE], **extra}

    def cognitive(self, retry_conflicts: bool = False):
        from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

        from labctl_labs.retrying import resilient_arm

        return resilient_arm(CognitiveServicesManagementClient(self.credential, self.subscription_id,
                                                               **self._arm_kwargs(retry_conflicts)))

    def compute(self):
        from azure.mgmt.compute import ComputeManagementClient

        from labctl_labs.retrying import resilient_arm

        return resilient_arm(ComputeManagementClient(self.credential, self.subscription_id, **self._arm_kwargs()))

    def databricks(self):
        """Microsoft.Databricks through azure-mgmt-databricks (api-version 2026-01-01): workspaces deleted with
        `force_deletion`, which the generic resources client cannot send."""
        from azure.mgmt.databricks import AzureDatabricksManagementClient

        from labctl_labs.retrying import resilient_arm

        return resilient_arm(AzureDatabricksManagementClient(self.credential, self.subscription_id,
                                                             **self._arm_kwargs()))

    def resources(self, retry_conflicts: bool = False):
        from azure.mgmt.resource.resources import ResourceManagementClient

        from labctl_labs.retrying import resilient_arm

        return resilient_arm(ResourceManagementClient(self.credential, self.subscription_id,
                                                      **self._arm_kwargs(retry_conflicts)))

    # Databricks ----------------------------------------------------------------------------------

    def workspace_client(self, outputs: StackOutputs):
        return self.workspace_client_for(outputs.workspace_url, outputs.workspace_resource_id)

    def workspace_client_for(self, host: str, resource_id: str):
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.config import Config

        from labctl_labs.retrying import resilient

        if self.kind == "cloud":
            # The deploying identity (az login, a service principal or a managed identity) is a workspace admin.
            return resilient(WorkspaceClient(config=Config(host=host, azure_workspace_resource_id=resource_id)))
        access = self.sandbox_workspace(resource_id.rstrip("/").split("/")[-1])
        os.environ["REQUESTS_CA_BUNDLE"] = access["ca_bundle"]  # trust the sandbox's CA besides the public ones
        # A local sandbox that refuses connections for 20 s has stopped: no need for the SDK's 5 minutes of retries.
        return resilient(WorkspaceClient(config=Config(host=host, token=access["token"], auth_type="pat",
                                                       retry_timeout_seconds=20)))

    def sandbox_workspace(self, name: str) -> dict:
        answer = requests.get(f"{self.control_url}/databricks/workspaces/{name}", timeout=10)
        if answer.status_code == 404:
            # A sandbox that stopped or restarted lost its resources; the stack's own `up` makes them again.
            again = f"; run `{up_command(self.stack, 'sandbox')}` again" if self.stack else ""
            raise LabctlError(f"The sandbox has no workspace {name!r} (a sandbox that stops or restarts loses its "
                              f"resources){again}.", UNAVAILABLE)
        answer.raise_for_status()
        return answer.json()

    def openai_key(self, outputs: StackOutputs) -> str:
        """The account key, read from ARM when an operation needs it (never stored by labctl)."""
        keys = self.cognitive().accounts.list_keys(outputs.resource_group_name, outputs.openai_account_name)
        return keys.key1

    def openai_client(self, resource_group: str, account: str, endpoint: str, **kwargs):
        """An AzureOpenAI client for the account: with its key, or, when the account has local auth disabled
        (Azure then refuses listKeys with 400), with Entra ID tokens of labctl's own credential."""
        from openai import AzureOpenAI

        from labctl_labs.common import API_VERSION, OPENAI_SCOPE

        arm = self.cognitive()
        properties = arm.accounts.get(resource_group, account).properties
        if properties is not None and properties.disable_local_auth:
            from azure.identity import get_bearer_token_provider

            return AzureOpenAI(azure_endpoint=endpoint, api_version=API_VERSION,
                               azure_ad_token_provider=get_bearer_token_provider(self.credential, OPENAI_SCOPE),
                               **kwargs)
        key = arm.accounts.list_keys(resource_group, account).key1
        return AzureOpenAI(azure_endpoint=endpoint, api_key=key, api_version=API_VERSION, **kwargs)

    # Persistence ---------------------------------------------------------------------------------

    def save(self, stack: str) -> None:
        write_json(stack_dir(stack) / "target.json", {"kind": self.kind, "subscription_id": self.subscription_id})


def up_command(stack: str, kind: str) -> str:
    """The `labctl up` that brings `stack` up again on its target (`kind` "sandbox" or "cloud"): the stack is always
    named, `--sandbox` only for a sandbox stack."""
    return f"labctl up{' --sandbox' if kind == 'sandbox' else ''} --stack {stack}"


def sandbox_target(endpoints, stack: str | None = None) -> Target:
    from sandbox.credentials import SandboxCredential

    return Target("sandbox", endpoints.subscription_id, SandboxCredential(), endpoints.arm_url, endpoints.ca_file,
                  endpoints.control_url(), stack)


def cloud_target(subscription_id: str | None) -> Target:
    from azure.identity import DefaultAzureCredential

    subscription_id = subscription_id or os.environ.get("ARM_SUBSCRIPTION_ID") or os.environ.get("AZURE_SUBSCRIPTION_ID")
    if not subscription_id:
        raise UsageError("No Azure subscription: set ARM_SUBSCRIPTION_ID (or -c azure-native:subscriptionId=<id>).")
    return Target("cloud", subscription_id, DefaultAzureCredential())


def load_target(stack: str, *, start_sandbox: bool = False) -> Target:
    """The target a stack was brought up on (sandbox: the running sandbox, started again if asked)."""
    saved = read_target(stack_dir(stack))
    if saved is None:
        raise UsageError(f"Stack {stack!r} was never brought up; run `labctl up --stack {stack}` first.")
    return target_from(saved, stack, start_sandbox=start_sandbox)


def target_from(saved: dict, stack: str, *, start_sandbox: bool = False) -> Target:
    """The target `saved` (a stack's target.json) describes, for `stack` (named in every advice)."""
    if saved["kind"] == "cloud":
        return cloud_target(saved["subscription_id"])
    from agent import sandbox_process as process

    endpoints = process.ensure_running(sandbox_dir()) if start_sandbox else process.running(sandbox_dir())
    if endpoints is None:
        raise LabctlError(f"The sandbox is not running (its resources are gone with it); run "
                          f"`{up_command(stack, 'sandbox')}`.", UNAVAILABLE)
    return sandbox_target(endpoints, stack)
