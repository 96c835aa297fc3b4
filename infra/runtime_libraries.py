"""What each Databricks ML runtime preinstalls of the libraries the labs declare, and why the cluster libraries
replace some of them.

Source: the "Python libraries" table (CPU clusters) of Databricks' release notes "Databricks Runtime 16.4 LTS for
Machine Learning", "... 17.3 LTS for Machine Learning" and "... 18 LTS for Machine Learning"
(https://learn.microsoft.com/azure/databricks/release-notes/runtime/, read 2026-11-30), as Databricks publishes
them mechanically per spark_version in github.com/databricks/environments (python/dbr/<spark_version>/
constraints.txt). The ML tables list `mlflow-skinny` at the version of the "MLflow-Databricks Runtime
compatibility matrix" (16.4 LTS 2.21.3, 17.3 LTS 3.0.1, 18 LTS 3.8.1); none lists `vadersentiment`. That repository
gives databricks-sdk as MAJOR.MINOR only: 16.4's 0.30 and 17.3's 0.49 are taken as .0 (only the floor matters here).

This table is the product's own: the twin (sandbox/databricks/runtimes.py) keeps a separate one from the same
pages, and tests/infra/test_cluster_libraries.py checks the cluster libraries against the twin's.
"""

from __future__ import annotations

import re

_DBR_16_4_ML = {
    "openai": "1.69.0", "tiktoken": "0.7.0", "mlflow-skinny": "2.21.3", "databricks-sdk": "0.30.0",
    "matplotlib": "3.8.4", "scipy": "1.13.1", "tenacity": "8.2.2", "azure-identity": "1.21.0",
}
_DBR_17_3_ML = {
    "openai": "1.69.0", "tiktoken": "0.9.0", "mlflow-skinny": "3.0.1", "databricks-sdk": "0.49.0",
    "matplotlib": "3.10.0", "scipy": "1.15.1", "tenacity": "9.0.0", "azure-identity": "1.20.0",
}
_DBR_18_ML = {
    "openai": "2.7.0", "tiktoken": "0.9.0", "mlflow-skinny": "3.8.1", "databricks-sdk": "0.67.0",
    "matplotlib": "3.10.0", "scipy": "1.15.3", "tenacity": "9.0.0", "azure-identity": "1.20.0",
}

PREINSTALLED = {  # spark_version -> PyPI distribution -> version
    "16.4.x-cpu-ml-scala2.12": _DBR_16_4_ML,
    "16.4.x-cpu-ml-scala2.13": _DBR_16_4_ML,
    "17.3.x-cpu-ml-scala2.13": _DBR_17_3_ML,
    "18.x-cpu-ml-scala2.13": _DBR_18_ML,
}

# Why the labs' floor (labs/pyproject.toml) is above what an ML runtime ships: every preinstalled library the
# cluster libraries replace must be listed here (tests/infra/test_cluster_libraries.py).
REPLACED_WITH_REASON = {
    "mlflow-skinny": "the labs use MLflow 3's OpenAI autolog and trace search at the version their tests ran "
                     "(3.17.2); 16.4 LTS ML ships 2.21.3, 17.3 LTS 3.0.1, 18 LTS 3.8.1. The runtime's own "
                     "distribution is `mlflow-skinny`, so pip replaces it whole, never two MLflows in one package",
    "tenacity": "the labs stop their retries with `tenacity.stop_before_delay`, which tenacity 8.2.2 (16.4 LTS ML) "
                "lacks (AttributeError in the labs' tests at 8.2.2); 17.3 and 18 LTS ML ship 9.0.0, the floor",
}


def normalise(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503): lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def preinstalled(spark_version: str) -> dict[str, str] | None:
    """The versions the runtime `spark_version` preinstalls of the labs' libraries; None for a runtime this
    table does not know (a non-ML or GPU runtime, or one newer than the table), for which nothing is assumed."""
    return PREINSTALLED.get(spark_version)
