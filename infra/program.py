"""Composes the lab environment from the stack configuration and returns the stack outputs."""

from __future__ import annotations

import datetime as dt

import pulumi
from pulumi_azure_native import resources

from infra.config import LabConfig, LabNames
from infra.databricks_compute import ComputeArgs
from infra.databricks_lab import DatabricksLab, DatabricksLabArgs
from infra.databricks_serverless import ServerlessArgs, environment_output
from infra.databricks_secrets import SECRET_KEY_API_KEY, SECRET_KEY_ENDPOINT, SecretsArgs
from infra.databricks_storage import StorageArgs
from infra.databricks_workspace import WorkspaceArgs
from infra.foundry_project import FoundryProject, FoundryProjectArgs
from infra.lockpins import cluster_pins
from infra.openai_account import OpenAiAccount, OpenAiAccountArgs


def build_lab(config: LabConfig, stack: str, now: dt.datetime | None = None) -> dict[str, pulumi.Input]:
    """Register every resource of the lab and return the outputs the agent consumes (see README)."""
    tags = config.tags(now or dt.datetime.now(dt.timezone.utc))
    names = config.names(stack)
    resource_group_name = _resource_group(config, names, tags)
    openai = OpenAiAccount(
        "openai",
        OpenAiAccountArgs(
            resource_group_name=resource_group_name,
            location=config.location,
            account_stem=names.account_stem,
            account_name_fixed=names.account_fixed,
            public_network_access=config.openai_public_network_access,
            disable_local_auth=config.openai_disable_local_auth,
            deployments=config.deployments,
            tags=tags,
            kind=config.ai_resource_kind,
        ),
    )
    project = FoundryProject("foundry", FoundryProjectArgs(
        resource_group_name=resource_group_name, account_name=openai.account_name, location=config.location,
        project_name=config.foundry_project, tags=tags)) if config.ai_resource_kind == "AIServices" else None
    lab = DatabricksLab("databricks", _databricks_args(config, names, tags, resource_group_name, openai))
    return {
        "resourceGroupName": resource_group_name,
        "location": config.location,
        "openaiAccountName": openai.account_name,
        "openaiEndpoint": openai.endpoint,
        "aiResourceKind": config.ai_resource_kind,
        "foundryProjectEndpoint": project.endpoint if project is not None else None,
        "openaiApiKey": openai.api_key,
        "deployments": [
            {"name": d.name, "model": d.model, "version": d.version, "sku": d.sku, "capacity": d.capacity}
            for d in config.deployments
        ],
        "fineTuneBaseModel": config.fine_tune_base_model,
        "workspaceUrl": lab.workspace_url,
        "workspaceResourceId": lab.workspace_resource_id,
        "compute": config.compute,
        "clusterId": lab.cluster_id,
        # What a serverless task installs; None with a cluster (it has its libraries).
        "serverlessEnvironment": environment_output(ServerlessArgs(cluster_pins()))
        if config.compute == "serverless" else None,
        "secretScope": lab.secret_scope,
        "secretKeys": {"endpoint": SECRET_KEY_ENDPOINT, "apiKey": SECRET_KEY_API_KEY},
        "storage": config.storage,
        "dataPath": lab.data_path,
        "tags": tags,
    }


def _resource_group(config: LabConfig, names: LabNames, tags: dict[str, str]) -> pulumi.Input[str]:
    """The name of the lab's resource group: an existing one, looked up, or a new one created here."""
    if config.existing_resource_group:
        return resources.get_resource_group_output(resource_group_name=config.existing_resource_group).name
    group = resources.ResourceGroup(
        "lab-rg", resource_group_name=names.resource_group, location=config.location, tags=tags
    )
    return group.name


def _databricks_args(
    config: LabConfig, names: LabNames, tags: dict[str, str], resource_group_name: pulumi.Input[str],
    openai: OpenAiAccount,
) -> DatabricksLabArgs:
    return DatabricksLabArgs(
        workspace=WorkspaceArgs(
            resource_group_name=resource_group_name,
            location=config.location,
            workspace_name=names.workspace,
            managed_resource_group_name=names.managed_resource_group(),
            sku=config.workspace_sku,
            compute_mode=config.workspace_compute_mode,
            catalog=names.workspace_catalog(),
            tags=tags,
        ),
        compute=None if config.compute == "serverless" else ComputeArgs(
            cluster_name=f"{names.workspace}-lab",
            spark_version=config.spark_version,
            node_type=config.node_type,
            autotermination_minutes=config.autotermination_minutes,
            single_user=config.cluster_user,
            # What the runtime lacks of the labs' dependencies (or ships below their floors), at uv.lock's versions.
            libraries=cluster_pins(spark_version=config.spark_version),
            tags=tags,
        ),
        secrets=SecretsArgs(
            scope=config.secret_scope, openai_endpoint=openai.endpoint, openai_api_key=openai.api_key,
            reader=config.cluster_user,
        ),
        storage=StorageArgs(
            catalog=config.catalog,
            schema_name=names.schema_name,
            volume=config.volume,
            user=config.cluster_user,
        ),
    )
