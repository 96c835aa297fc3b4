"""The Azure Databricks workspace and the Databricks provider that talks to it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_databricks as databricks
from pulumi_azure_native import authorization
from pulumi_azure_native import databricks as azure_databricks

from infra.lab_part import LabPart


@dataclass(frozen=True)
class WorkspaceArgs:
    resource_group_name: pulumi.Input[str]
    location: str  # Azure region, e.g. "eastus2"
    workspace_name: str
    managed_resource_group_name: str  # the group Databricks creates and owns (VNet, storage, cluster VMs)
    sku: str  # "premium" or "trial": Unity Catalog and single-user clusters need premium
    compute_mode: str  # "Hybrid": the classic layout with clusters in the managed group
    catalog: str  # name of the workspace catalog Azure creates with the workspace (LabNames.workspace_catalog)
    tags: dict[str, str] = field(default_factory=dict)


class DatabricksWorkspace(LabPart):
    """`workspace` (azure-native), `url` ("https://adb-<id>.<n>.azuredatabricks.net"), `catalog` (the workspace
    catalog, the workspace's default catalog) and `provider`, the explicit Databricks provider every other part of
    the lab is created through."""

    def __init__(self, name: str, args: WorkspaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("labctl:databricks:Workspace", name, opts)
        client = authorization.get_client_config_output(opts=pulumi.InvokeOptions(parent=self))
        managed_rg_id = client.subscription_id.apply(
            lambda sub: f"/subscriptions/{sub}/resourceGroups/{args.managed_resource_group_name}"
        )
        # pulumi-azure-native >= 3.23 speaks API 2026-01-01, where the classic (VNet + clusters) layout
        # is compute mode Hybrid with a managed resource group; Serverless forbids the group.
        self.workspace = azure_databricks.Workspace(
            f"{name}-workspace",
            workspace_name=args.workspace_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=azure_databricks.SkuArgs(name=args.sku),
            compute_mode=args.compute_mode,
            managed_resource_group_id=managed_rg_id,
            # Workspaces are enabled for Unity Catalog automatically and get a workspace catalog, their default
            # catalog; a metastore-wide `main` exists only in older accounts ("Automatic enablement of Unity
            # Catalog", Azure Databricks docs). Naming it here makes it known before the workspace answers.
            default_catalog=azure_databricks.DefaultCatalogPropertiesArgs(
                initial_name=args.catalog, initial_type=azure_databricks.InitialType.UNITY_CATALOG
            ),
            tags=args.tags,
            opts=self.child_opts(),
        )
        # ARM reports the bare host name.
        self.url: pulumi.Output[str] = self.workspace.workspace_url.apply(lambda host: f"https://{host}")
        # Read back from the workspace, so whatever uses the catalog waits for the workspace that creates it.
        self.catalog: pulumi.Output[str] = self.workspace.default_catalog.apply(
            lambda answered: _initial_name(answered) or args.catalog
        )

        # An explicit provider fed from this workspace: the default provider would try to authenticate
        # before the workspace exists ("cannot configure default credentials").
        self.provider = databricks.Provider(
            f"{name}-provider",
            host=self.url,
            azure_workspace_resource_id=self.workspace.id,
            opts=self.child_opts(),
        )
        self.register_outputs({"url": self.url, "resourceId": self.workspace.id})


def _initial_name(default_catalog) -> str | None:
    """`initialName` of the workspace's `defaultCatalog` as ARM answered it (a typed result or a plain dict)."""
    if default_catalog is None:
        return None
    # Pulumi's output types are dicts that warn when read by their wire key: the property getter first.
    named = getattr(default_catalog, "initial_name", None)
    if named is None and isinstance(default_catalog, dict):
        named = default_catalog.get("initialName") or default_catalog.get("initial_name")
    return named
