"""The Databricks workspace and what the labs need inside it: cluster, secret scope, storage."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_databricks as databricks
from pulumi_azure_native import authorization
from pulumi_azure_native import databricks as azure_databricks

SECRET_KEY_ENDPOINT = "openai-endpoint"
SECRET_KEY_API_KEY = "openai-key"

# The legacy single-node form: what the Terraform provider itself builds for single-node clusters
# and what every workspace honours. `kind="CLASSIC_PREVIEW"` + `is_single_node` only works where
# that preview is enabled, and num_workers=0 alone gives a driver-only "standard" cluster that
# Spark treats as having no executors.
SINGLE_NODE_SPARK_CONF = {"spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*]"}
SINGLE_NODE_TAGS = {"ResourceClass": "SingleNode"}


@dataclass(frozen=True)
class DatabricksLabArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    workspace_name: str
    managed_resource_group_name: str
    sku: str
    compute_mode: str
    spark_version: str
    node_type: str
    autotermination_minutes: int
    cluster_user: str | None
    libraries: list[str]
    secret_scope: str
    openai_endpoint: pulumi.Input[str]
    openai_api_key: pulumi.Input[str]
    storage: str
    catalog: str
    schema_name: str
    volume: str
    dbfs_root: str
    tags: dict[str, str] = field(default_factory=dict)


class DatabricksLab(pulumi.ComponentResource):
    def __init__(self, name: str, args: DatabricksLabArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("labctl:azure:DatabricksLab", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

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
            tags=args.tags,
            opts=child,
        )
        self.workspace_url: pulumi.Output[str] = self.workspace.workspace_url.apply(lambda host: f"https://{host}")

        # An explicit provider fed from this workspace: the default provider would try to authenticate
        # before the workspace exists ("cannot configure default credentials").
        self.provider = databricks.Provider(
            f"{name}-provider",
            host=self.workspace_url,
            azure_workspace_resource_id=self.workspace.id,
            opts=child,
        )
        inside = pulumi.ResourceOptions(parent=self, provider=self.provider)

        single_user = args.cluster_user or databricks.get_current_user_output(
            opts=pulumi.InvokeOptions(parent=self, provider=self.provider)
        ).user_name

        self.cluster = databricks.Cluster(
            f"{name}-cluster",
            cluster_name=f"{args.workspace_name}-lab",
            spark_version=args.spark_version,
            node_type_id=args.node_type,
            num_workers=0,
            spark_conf=SINGLE_NODE_SPARK_CONF,
            custom_tags={**SINGLE_NODE_TAGS, **args.tags},
            runtime_engine="STANDARD",
            data_security_mode="SINGLE_USER",
            single_user_name=single_user,
            autotermination_minutes=args.autotermination_minutes,
            libraries=[
                databricks.ClusterLibraryArgs(pypi=databricks.ClusterLibraryPypiArgs(package=pin))
                for pin in args.libraries
            ],
            opts=inside,
        )

        self.scope = databricks.SecretScope(f"{name}-scope", name=args.secret_scope, opts=inside)
        databricks.Secret(
            f"{name}-secret-endpoint",
            scope=self.scope.name,
            key=SECRET_KEY_ENDPOINT,
            string_value=args.openai_endpoint,
            opts=inside,
        )
        databricks.Secret(
            f"{name}-secret-key",
            scope=self.scope.name,
            key=SECRET_KEY_API_KEY,
            string_value=pulumi.Output.secret(args.openai_api_key),
            opts=inside,
        )

        if args.storage == "volume":
            schema = databricks.Schema(
                f"{name}-schema",
                catalog_name=args.catalog,
                name=args.schema_name,
                comment="labctl lab data and results",
                force_destroy=True,
                opts=inside,
            )
            volume = databricks.Volume(
                f"{name}-volume",
                catalog_name=args.catalog,
                schema_name=schema.name,
                name=args.volume,
                volume_type="MANAGED",
                opts=inside,
            )
            self.data_path: pulumi.Output[str] = pulumi.Output.concat(
                "/Volumes/", volume.catalog_name, "/", volume.schema_name, "/", volume.name
            )
        else:
            self.data_path = pulumi.Output.from_input(args.dbfs_root)

        self.register_outputs(
            {
                "workspaceUrl": self.workspace_url,
                "workspaceResourceId": self.workspace.id,
                "clusterId": self.cluster.id,
                "secretScope": self.scope.name,
                "dataPath": self.data_path,
            }
        )
