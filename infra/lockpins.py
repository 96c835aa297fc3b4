"""PyPI pins for the cluster: the lab artifact's dependencies (labs/pyproject.toml) at the versions uv.lock
resolved, so the cluster runs what the tests ran, adjusted to what the cluster's runtime already has."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from infra.runtimes import preinstalled_mlflow

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def cluster_pins(root: Path = PROJECT_ROOT, spark_version: str | None = None) -> list[str]:
    """`name==version` for every dependency of the lab artifact, with the version uv.lock resolved.

    MLflow is the exception, on an ML runtime (`spark_version`): the runtime ships the full `mlflow`
    distribution, and `mlflow-skinny` installed over it overwrites part of the same `mlflow` package (a mixed
    install, e.g. 3.x files over 2.21.3 on 16.4 LTS ML). So the runtime's MLflow is kept when it meets the labs'
    floor, and otherwise replaced whole: `mlflow==<the locked mlflow-skinny version>` (the two are released
    together under one version)."""
    project = tomllib.loads((root / "labs" / "pyproject.toml").read_text())["project"]
    lock = tomllib.loads((root / "uv.lock").read_text())
    locked = {_normalise(p["name"]): p["version"] for p in lock["package"] if "version" in p}
    runtime_mlflow = preinstalled_mlflow(spark_version or "")
    pins = []
    for text in project["dependencies"]:
        requirement = Requirement(text)
        name = _normalise(requirement.name)
        if name not in locked:
            raise LookupError(f"uv.lock has no entry for {name}; run `uv lock`")
        if name == "mlflow-skinny" and runtime_mlflow is not None:
            if requirement.specifier.contains(Version(runtime_mlflow)):
                continue  # the runtime's own MLflow will do
            pins.append(f"mlflow=={locked[name]}")
            continue
        pins.append(f"{name}=={locked[name]}")
    return pins
