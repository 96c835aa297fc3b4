"""What the Databricks ML runtimes preinstall that matters to the lab's cluster libraries: MLflow.

From Databricks' "MLflow-Databricks Runtime compatibility matrix" (Databricks Runtime release notes versions
and compatibility, https://learn.microsoft.com/azure/databricks/release-notes/runtime/ and
https://docs.azure.cn/databricks/release-notes/runtime/, read 2026-11-30): the `mlflow` distribution each ML
runtime ships. Keys are spark_version prefixes ("16.4.x-cpu-ml-scala2.12" starts with "16.4.x-").
"""

from __future__ import annotations

DEFAULT_SPARK_VERSION = "18.0.x-cpu-ml-scala2.13"  # 18 LTS ML: Spark 4.1.0, MLflow 3 preinstalled

MLFLOW_BY_RUNTIME = {"16.4.x-": "2.21.3", "17.3.x-": "3.0.1", "18.0.x-": "3.8.1"}


def preinstalled_mlflow(spark_version: str) -> str | None:
    """The MLflow version an ML runtime preinstalls; None for a non-ML runtime or one this table does not know."""
    if "-ml-" not in spark_version:
        return None
    return next((v for prefix, v in MLFLOW_BY_RUNTIME.items() if spark_version.startswith(prefix)), None)
