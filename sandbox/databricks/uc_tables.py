"""Unity Catalog's three-level table names (`catalog.schema.table`) on the sandbox cluster's local Spark.

A Databricks cluster in dedicated or standard access mode resolves `catalog.schema.table` against Unity
Catalog; a table in a schema that does not exist is refused (SCHEMA_NOT_FOUND), and a managed table lives
until it is dropped or its schema is dropped with CASCADE ("Drop a schema", Databricks SQL reference), which is
what `DELETE /api/2.1/unity-catalog/schemas/{name}?force=true` does. The sandbox's local Spark has only its
Hive session catalog, so each Unity Catalog schema maps onto one Hive database of the cluster's metastore
(`hive_database`), and the writer and reader a lab uses accept the three-level names of the workspace's schemas.

`install` runs inside the task's process (sandbox.databricks.task_entry); `tables_of` and `drop_schema_tables`
are the workspace's view of the same folders, for the Unity Catalog API.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path


def hive_database(full_schema: str) -> str:
    """The Hive database standing in for the Unity Catalog schema `catalog.schema`."""
    return "uc__" + re.sub(r"[^a-z0-9]+", "_", full_schema.lower().replace(".", "__"))


def _parts(name: str) -> list[str]:
    return [part.strip("`") for part in re.findall(r"`[^`]*`|[^.]+", name)]


def install(schemas: dict[str, str | None]) -> None:
    """Make `DataFrameWriter.saveAsTable` and `SparkSession.table` take `catalog.schema.table` for `schemas`
    (each schema with the privilege the run's identity lacks there, as Databricks words it, or None)."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import DataFrameWriter, SparkSession

    known = {s.lower(): lacking for s, lacking in schemas.items()}

    def resolve(spark, name: str) -> str:
        parts = _parts(name)
        if len(parts) != 3 or parts[0].lower() in ("spark_catalog", "hive_metastore"):
            return name
        schema = f"{parts[0]}.{parts[1]}"
        if schema.lower() not in known:
            raise AnalysisException(message=f"[SCHEMA_NOT_FOUND] The schema `{parts[0]}`.`{parts[1]}` cannot be found.")
        if known[schema.lower()]:
            raise AnalysisException(message=f"[INSUFFICIENT_PERMISSIONS] Insufficient privileges: {known[schema.lower()]}")
        database = hive_database(schema)
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {database}")
        return f"{database}.{parts[2]}"

    save_as_table, table = DataFrameWriter.saveAsTable, SparkSession.table

    def save_as_uc_table(self, name, *args, **kwargs):
        return save_as_table(self, resolve(self._spark, name), *args, **kwargs)

    def uc_table(self, name):
        return table(self, resolve(self, name))

    DataFrameWriter.saveAsTable = save_as_uc_table
    SparkSession.table = uc_table


def tables_of(warehouse: Path, full_schema: str) -> list[str]:
    """Names of the tables written into `catalog.schema` on this workspace's clusters."""
    folder = warehouse / f"{hive_database(full_schema)}.db"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def drop_schema_tables(warehouse: Path, full_schema: str) -> None:
    shutil.rmtree(warehouse / f"{hive_database(full_schema)}.db", ignore_errors=True)
