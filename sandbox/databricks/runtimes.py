"""The Databricks Runtime versions the twin offers (clusters/spark-versions) and what each preinstalls.

Sources, Databricks Runtime release notes ("Databricks Runtime release notes versions and compatibility",
https://docs.azure.cn/databricks/release-notes/runtime/ and learn.microsoft.com/azure/databricks/release-notes/
runtime/, read 2026-11-30):
- supported LTS releases: 16.4 LTS (Apache Spark 3.5.2, 2025-05-09), 17.3 LTS (Spark 4.0.0, 2025-10-22),
  18 LTS (Spark 4.1.0, 2026-06-10); 16.4 ships Scala 2.12 and 2.13 images, 17.3 and later Scala 2.13 only;
- "MLflow-Databricks Runtime compatibility matrix": the MLflow each ML runtime preinstalls, 16.4 LTS 2.21.3,
  17.3 LTS 3.0.1, 18 LTS 3.8.1.
Only what those pages state is listed: a library missing here is unknown to the twin, not absent from the runtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Runtime:
    key: str  # the spark_version a cluster names
    name: str  # as clusters/spark-versions shows it
    ml: bool
    preinstalled: dict[str, str] = field(default_factory=dict)  # distribution -> version (ML runtimes)


def _runtime(version: str, spark: str, scala: str, ml: bool, mlflow: str | None = None) -> Runtime:
    kind = "-cpu-ml" if ml else ""
    key = f"{version}.x{kind}-scala{scala}"
    name = f"{version} LTS{' ML' if ml else ''} (includes Apache Spark {spark}, Scala {scala})"
    return Runtime(key, name, ml, {"mlflow": mlflow} if mlflow else {})


RUNTIMES = {r.key: r for r in (
    _runtime("16.4", "3.5.2", "2.12", True, "2.21.3"),
    _runtime("16.4", "3.5.2", "2.13", True, "2.21.3"),
    _runtime("16.4", "3.5.2", "2.12", False),
    _runtime("17.3", "4.0.0", "2.13", True, "3.0.1"),
    _runtime("17.3", "4.0.0", "2.13", False),
    _runtime("18.0", "4.1.0", "2.13", True, "3.8.1"),
    _runtime("18.0", "4.1.0", "2.13", False),
)}
NEWEST_LTS_ML = "18.0.x-cpu-ml-scala2.13"
