"""The Databricks workspace and what the labs need inside it, composed of four parts:
workspace + provider, compute (cluster), secrets (scope), storage (volume or DBFS folder)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pulumi

from infra.databricks_compute import ComputeArgs, LabCompute
from infra.databricks_secrets import LabSecrets, SecretsArgs
from infra.databricks_storage import LabStorage, StorageArgs
from infra.databricks_workspace import DatabricksWorkspace, WorkspaceArgs


@dataclass(frozen=True)
class DatabricksLabArgs:
    workspace: WorkspaceArgs
    compute: ComputeArgs | None  # None: `labctl:compute serverless`, no cluster
    secrets: SecretsArgs
    storage: StorageArgs


class DatabricksLab(pulumi.ComponentResource):
    """The workspace first; the other parts are created inside it through its provider.

    Every part and resource keeps the lab's `name` as its prefix ("databricks-workspace",
    "databricks-cluster", ...), the names they had before the lab was split into parts.
    """

    def __init__(self, name: str, args: DatabricksLabArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("labctl:azure:DatabricksLab", name, None, opts)
        self.workspace = DatabricksWorkspace(name, args.workspace, pulumi.ResourceOptions(parent=self))
        # Children of the parts inherit this provider, resources and invokes alike.
        inside = pulumi.ResourceOptions(parent=self, providers=[self.workspace.provider])
        self.compute = LabCompute(name, args.compute, inside) if args.compute is not None else None
        self.secrets = LabSecrets(name, args.secrets, inside)
        storage = args.storage
        if storage.catalog is None:  # no catalog configured: the workspace's own
            storage = dataclasses.replace(storage, catalog=self.workspace.catalog)
        self.storage = LabStorage(name, storage, inside)

        self.workspace_url: pulumi.Output[str] = self.workspace.url
        self.workspace_resource_id: pulumi.Output[str] = self.workspace.workspace.id
        self.cluster_id: pulumi.Output[str] | None = self.compute.cluster.id if self.compute is not None else None
        self.secret_scope: pulumi.Output[str] = self.secrets.scope.name
        self.data_path: pulumi.Output[str] = self.storage.data_path
        self.register_outputs(
            {
                "workspaceUrl": self.workspace_url,
                "workspaceResourceId": self.workspace_resource_id,
                "clusterId": self.cluster_id,
                "secretScope": self.secret_scope,
                "dataPath": self.data_path,
            }
        )
