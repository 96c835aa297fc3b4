"""Where the labs keep their data and results: a Unity Catalog managed volume in the lab's own schema."""

from __future__ import annotations

from dataclasses import dataclass
import pulumi
import pulumi_databricks as databricks

from infra.lab_part import LabPart


@dataclass(frozen=True)
class StorageArgs:
    catalog: pulumi.Input[str]  # an existing catalog, by default the workspace catalog
    schema_name: str  # the schema created in it, one per stack ("labctl_<stack>")
    volume: str  # the managed volume created in the schema
    user: str | None = None  # the cluster's user when it is not the deployer, granted what the labs need


class LabStorage(LabPart):
    """`data_path`: "/Volumes/<catalog>/<schema>/<volume>".

    Needs a Databricks provider from its parent (`ResourceOptions(providers=[...])`).
    """

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("labctl:databricks:Storage", name, opts)
        self.data_path: pulumi.Output[str] = self._volume(name, args)
        self.register_outputs({"dataPath": self.data_path})

    def _volume(self, name: str, args: StorageArgs) -> pulumi.Output[str]:
        schema = databricks.Schema(
            f"{name}-schema",
            catalog_name=args.catalog,
            name=args.schema_name,
            comment="labctl lab data and results",
            # `down` removes what the labs put in it too (the responsible-AI lab's table).
            force_destroy=True,
            opts=self.child_opts(),
        )
        volume = databricks.Volume(
            f"{name}-volume",
            catalog_name=args.catalog,
            schema_name=schema.name,
            name=args.volume,
            volume_type="MANAGED",
            opts=self.child_opts(),
        )
        if args.user:
            self._grants(name, args, schema, volume)
        return pulumi.Output.concat("/Volumes/", volume.catalog_name, "/", volume.schema_name, "/", volume.name)

    def _grants(self, name: str, args: StorageArgs, schema: databricks.Schema, volume: databricks.Volume) -> None:
        """What the labs, running as `args.user`, need: files in the volume read and written, a table created in
        the schema ("Unity Catalog privileges and securable objects": USE CATALOG and USE SCHEMA to reach anything
        inside, READ/WRITE VOLUME for files, CREATE TABLE for a table). `Grant`, not `Grants`: one principal's
        privileges, leaving the other grants on the workspace catalog (every user's USE CATALOG) in place."""
        for suffix, securable, privileges in (
            ("catalog", {"catalog": args.catalog}, ["USE_CATALOG"]),
            ("schema", {"schema": schema.id}, ["USE_SCHEMA", "CREATE_TABLE"]),
            ("volume", {"volume": volume.id}, ["READ_VOLUME", "WRITE_VOLUME"]),
        ):
            databricks.Grant(f"{name}-{suffix}-user", principal=args.user, privileges=privileges, **securable,
                             opts=self.child_opts())
