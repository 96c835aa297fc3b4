"""The Databricks Runtime versions the twin offers (clusters/spark-versions) and what each preinstalls.

Sources (read 2026-11-30):
- "Databricks Runtime release notes versions and compatibility" (https://docs.azure.cn/databricks/release-notes/
  runtime/, learn.microsoft.com/azure/databricks/release-notes/runtime/): supported LTS releases 16.4 LTS
  (Apache Spark 3.5.2, 2025-05-09), 17.3 LTS (Spark 4.0.0, 2025-10-22), 18 LTS (Spark 4.1.0, 2026-06-10); 18.0 was
  a Beta whose support ended 2026-06-09. 16.4 ships Scala 2.12 and 2.13 images, 17.3 and later Scala 2.13 only.
  Its "MLflow-Databricks Runtime compatibility matrix": 16.4 LTS 2.21.3, 17.3 LTS 3.0.1, 18 LTS 3.8.1.
- The "Python libraries" table of each ML release note ("Databricks Runtime 16.4 LTS for Machine Learning",
  "... 17.3 LTS for Machine Learning", "... 18 LTS for Machine Learning", CPU clusters), as Databricks publishes
  it mechanically in github.com/databricks/environments (python/dbr/<spark_version>/constraints.txt, "a
  mechanical transform of the official package list published in the Databricks release notes"). That repository
  also names the spark_version of 18 LTS: from 18 on, clusters request the major line as `18.x-...` (the newest
  18 point release), next to the point releases `18.1.x-...`, `18.2.x-...`.
  The ML tables list `mlflow-skinny` (the MLflow the compatibility matrix names), not the full `mlflow`.
  `pyspark` is the runtime's Apache Spark version. databricks-sdk is published there as MAJOR.MINOR only (its
  envgen.py widens it on purpose); 18's 0.67.0 is quoted in full in envgen.py, 16.4's and 17.3's patch .0 is assumed.
Only the libraries below are known to the twin (those the labs declare, plus the big ones): a library missing
from a `preinstalled` table is unknown, not absent, except `vadersentiment`, which no ML table lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Runtime:
    key: str  # the spark_version a cluster names
    name: str  # as clusters/spark-versions shows it
    ml: bool
    preinstalled: dict[str, str] = field(default_factory=dict)  # PyPI distribution -> version (ML runtimes)


# 16.4 LTS ML, Python libraries on CPU clusters (16.4.x-cpu-ml-scala2.12).
DBR_16_4_ML = {
    "pyspark": "3.5.2", "numpy": "1.26.4", "pandas": "1.5.3", "pyarrow": "15.0.2", "pydantic": "2.8.2",
    "scipy": "1.13.1", "matplotlib": "3.8.4", "openai": "1.69.0", "tiktoken": "0.7.0",
    "databricks-sdk": "0.30.0", "mlflow-skinny": "2.21.3", "tenacity": "8.2.2", "azure-identity": "1.21.0",
}
# The Scala 2.13 image lists the same versions but no pandas line.
DBR_16_4_ML_SCALA_2_13 = {k: v for k, v in DBR_16_4_ML.items() if k != "pandas"}
# 17.3 LTS ML (17.3.x-cpu-ml-scala2.13).
DBR_17_3_ML = {
    "pyspark": "4.0.0", "numpy": "2.1.3", "pandas": "2.2.3", "pyarrow": "19.0.1", "pydantic": "2.10.6",
    "scipy": "1.15.1", "matplotlib": "3.10.0", "openai": "1.69.0", "tiktoken": "0.9.0",
    "databricks-sdk": "0.49.0", "mlflow-skinny": "3.0.1", "tenacity": "9.0.0", "azure-identity": "1.20.0",
}
# 18 LTS ML (18.x-cpu-ml-scala2.13).
DBR_18_ML = {
    "pyspark": "4.1.0", "numpy": "2.1.3", "pandas": "2.2.3", "pyarrow": "21.0.0", "pydantic": "2.10.6",
    "scipy": "1.15.3", "matplotlib": "3.10.0", "openai": "2.7.0", "tiktoken": "0.9.0",
    "databricks-sdk": "0.67.0", "mlflow-skinny": "3.8.1", "tenacity": "9.0.0", "azure-identity": "1.20.0",
}


def _runtime(version: str, spark: str, scala: str, preinstalled: dict[str, str] | None = None) -> Runtime:
    ml = preinstalled is not None
    key = f"{version}.x{'-cpu-ml' if ml else ''}-scala{scala}"
    name = f"{version} LTS{' ML' if ml else ''} (includes Apache Spark {spark}, Scala {scala})"
    return Runtime(key, name, ml, dict(preinstalled or {}))


RUNTIMES = {r.key: r for r in (
    _runtime("16.4", "3.5.2", "2.12", DBR_16_4_ML),
    _runtime("16.4", "3.5.2", "2.13", DBR_16_4_ML_SCALA_2_13),
    _runtime("16.4", "3.5.2", "2.12"),
    _runtime("17.3", "4.0.0", "2.13", DBR_17_3_ML),
    _runtime("17.3", "4.0.0", "2.13"),
    _runtime("18", "4.1.0", "2.13", DBR_18_ML),
    _runtime("18", "4.1.0", "2.13"),
)}
NEWEST_LTS_ML = "18.x-cpu-ml-scala2.13"
