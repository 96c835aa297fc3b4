"""The lab's single-node cluster and the PyPI libraries installed on it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_databricks as databricks

from infra.lab_part import LabPart

# The legacy single-node form: what the Terraform provider itself builds for single-node clusters
# and what every workspace honours. `kind="CLASSIC_PREVIEW"` + `is_single_node` only works where
# that preview is enabled, and num_workers=0 alone gives a driver-only "standard" cluster that
# Spark treats as having no executors.
SINGLE_NODE_SPARK_CONF = {"spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*]"}
SINGLE_NODE_TAGS = {"ResourceClass": "SingleNode"}


@dataclass(frozen=True)
class ComputeArgs:
    cluster_name: str
    spark_version: str  # Databricks runtime key, e.g. "18.x-cpu-ml-scala2.13"
    node_type: str  # Azure VM size, e.g. "Standard_D4ds_v5"
    autotermination_minutes: int  # idle minutes before Databricks stops the cluster (10-10000)
    single_user: str | None  # the cluster's only user; None: whoever the provider authenticates as
    libraries: list[str]  # PyPI "name==version", only what the runtime lacks (infra.lockpins.cluster_pins)
    tags: dict[str, str] = field(default_factory=dict)


class LabCompute(LabPart):
    """`cluster`: single node, single user, Photon off, with `libraries` installed from PyPI.

    Needs a Databricks provider from its parent (`ResourceOptions(providers=[...])`).
    """

    def __init__(self, name: str, args: ComputeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("labctl:databricks:Compute", name, opts)
        single_user = args.single_user or databricks.get_current_user_output(
            opts=pulumi.InvokeOptions(parent=self)
        ).user_name
        self.cluster = databricks.Cluster(
            f"{name}-cluster",
            cluster_name=args.cluster_name,
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
            opts=self.child_opts(),
        )
        self.register_outputs({"clusterId": self.cluster.id})
