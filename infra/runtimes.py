"""The Databricks runtime the lab cluster runs unless `labctl:sparkVersion` says otherwise.

18 LTS ML (Apache Spark 4.1.0, MLflow 3.8.1 preinstalled), the newest LTS ML runtime: "Databricks Runtime release
notes versions and compatibility" (https://learn.microsoft.com/azure/databricks/release-notes/runtime/, read
2026-11-30) lists 18 LTS (2026-06-10), 17.3 LTS and 16.4 LTS as supported LTS releases, and 18.0 as a Beta whose
support ended 2026-06-09. From 18 on a cluster names the LTS line as `18.x-...` (the newest 18 point release), as
Databricks' own per-runtime environments do (github.com/databricks/environments, python/dbr/18.x-cpu-ml-scala2.13).
What each ML runtime preinstalls is in infra/runtime_libraries.py.
"""

from __future__ import annotations

DEFAULT_SPARK_VERSION = "18.x-cpu-ml-scala2.13"
