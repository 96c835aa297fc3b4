"""The cluster libraries labctl installs replace nothing the runtime preinstalls, except what is listed here with
its reason. What each runtime preinstalls comes from the twin's runtime table (sandbox/databricks/runtimes.py,
itself from Databricks' release notes), not from the product."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra.lockpins import cluster_pins
from infra.runtimes import DEFAULT_SPARK_VERSION
from sandbox.databricks.runtimes import NEWEST_LTS_ML, RUNTIMES

# Distributions that install the import package of another: mlflow-skinny writes into `mlflow`.
SAME_PACKAGE = {"mlflow-skinny": "mlflow"}

REPLACED_WITH_REASON = {
    # The labs need MLflow >= 3.17.2 (labs/pyproject.toml: the OpenAI autolog and trace search they were tested
    # with); every LTS ML runtime ships an older one (2.21.3, 3.0.1, 3.8.1). It is replaced whole, at the version
    # the tests ran, so `mlflow` is one coherent install.
    "mlflow": "the labs' MLflow floor is above every runtime's MLflow",
}

ML_RUNTIMES = [key for key, runtime in RUNTIMES.items() if runtime.ml]


def replaced(pins: list[str], preinstalled: dict[str, str]) -> set[str]:
    """The preinstalled distributions the pins would overwrite, as distributions or as import packages."""
    names = {canonicalize_name(Requirement(p).name) for p in pins}
    return {SAME_PACKAGE.get(n, n) for n in names} & {canonicalize_name(n) for n in preinstalled}


@pytest.mark.parametrize("spark_version", ML_RUNTIMES)
def test_cluster_libraries_replace_only_what_is_listed_with_a_reason(spark_version):
    pins = cluster_pins(spark_version=spark_version)
    assert replaced(pins, RUNTIMES[spark_version].preinstalled) <= set(REPLACED_WITH_REASON)


@pytest.mark.parametrize("spark_version", ML_RUNTIMES)
def test_mlflow_skinny_is_never_installed_over_a_runtimes_mlflow(spark_version):
    # 16.4 LTS ML ships MLflow 2.21.3; mlflow-skinny 3.x over it leaves a package mixing 2.x and 3.x files.
    assert not any(Requirement(p).name == "mlflow-skinny" for p in cluster_pins(spark_version=spark_version))


def test_the_default_runtime_is_the_newest_lts_ml_with_mlflow_3():
    assert DEFAULT_SPARK_VERSION == NEWEST_LTS_ML
    assert RUNTIMES[DEFAULT_SPARK_VERSION].preinstalled["mlflow"].startswith("3.")
