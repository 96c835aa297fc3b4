"""The cluster libraries labctl installs pin only what the chosen runtime lacks or ships below the labs' floor, and
replace nothing the runtime preinstalls except what the product lists with a reason. What each runtime preinstalls
comes from the twin's runtime table (sandbox/databricks/runtimes.py, from Databricks' release notes), not from the
product's own table (infra/runtime_libraries.py)."""

from __future__ import annotations

import importlib.metadata
import shutil
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from infra.lockpins import PROJECT_ROOT, cluster_pins, replacements
from infra.runtime_libraries import REPLACED_WITH_REASON
from infra.runtimes import DEFAULT_SPARK_VERSION
from sandbox.databricks.runtimes import NEWEST_LTS_ML, RUNTIMES

# mlflow and mlflow-skinny both install the import package `mlflow`: one over the other mixes two versions.
IMPORT_PACKAGE = {"mlflow-skinny": "mlflow", "mlflow": "mlflow"}

# Every ML runtime the twin knows, which includes the default one and 16.4 LTS ML.
ML_RUNTIMES = [key for key, runtime in RUNTIMES.items() if runtime.ml]
assert DEFAULT_SPARK_VERSION in ML_RUNTIMES and "16.4.x-cpu-ml-scala2.12" in ML_RUNTIMES


def _pinned(pins: list[str]) -> dict[str, str]:
    return {canonicalize_name(Requirement(p).name): str(next(iter(Requirement(p).specifier)).version) for p in pins}


def _floors() -> dict[str, Requirement]:
    project = tomllib.loads((PROJECT_ROOT / "labs" / "pyproject.toml").read_text())["project"]
    return {canonicalize_name(Requirement(d).name): Requirement(d) for d in project["dependencies"]}


def _replaced(pins: list[str], preinstalled: dict[str, str]) -> set[str]:
    """The preinstalled distributions a pin would overwrite at another version, by distribution or import package."""
    have = {canonicalize_name(n): v for n, v in preinstalled.items()}
    replaced = set()
    for name, version in _pinned(pins).items():
        for installed, installed_version in have.items():
            same = installed == name or IMPORT_PACKAGE.get(installed, installed) == IMPORT_PACKAGE.get(name, name)
            if same and (installed != name or Version(installed_version) != Version(version)):
                replaced.add(installed)
    return replaced


@pytest.mark.parametrize("spark_version", ML_RUNTIMES)
def test_cluster_libraries_replace_only_what_is_listed_with_a_reason(spark_version):
    replaced = _replaced(cluster_pins(spark_version=spark_version), RUNTIMES[spark_version].preinstalled)
    assert replaced <= set(REPLACED_WITH_REASON), (spark_version, replaced - set(REPLACED_WITH_REASON))
    assert all(REPLACED_WITH_REASON[name].strip() for name in replaced)


@pytest.mark.parametrize("spark_version", ML_RUNTIMES)
def test_a_library_is_pinned_only_when_the_runtime_lacks_it_or_ships_it_below_the_floor(spark_version):
    # The product decides from its own table; the twin's table (from the same release notes) must agree.
    preinstalled = {canonicalize_name(n): v for n, v in RUNTIMES[spark_version].preinstalled.items()}
    pinned = _pinned(cluster_pins(spark_version=spark_version))
    for name, requirement in _floors().items():
        have = preinstalled.get(name)
        needed = have is None or not requirement.specifier.contains(Version(have), prereleases=True)
        assert (name in pinned) == needed, (spark_version, name, have, str(requirement.specifier))


@pytest.mark.parametrize("spark_version", ML_RUNTIMES)
def test_each_replacement_says_what_it_replaces_and_why(spark_version):
    preinstalled = {canonicalize_name(n): v for n, v in RUNTIMES[spark_version].preinstalled.items()}
    for replacement in replacements(spark_version=spark_version):
        assert replacement.preinstalled == preinstalled[replacement.name]
        assert Version(replacement.pinned) > Version(replacement.preinstalled)
        assert replacement.reason, replacement


@pytest.mark.parametrize("spark_version", ML_RUNTIMES)
def test_what_the_pins_require_the_runtime_already_has(spark_version):
    # pip installs a pin's own requirements too: none may replace a preinstalled library the twin knows (pydantic
    # under openai, say). The pins are this environment's versions (test_databricks_lab.py), so its metadata says.
    preinstalled = {canonicalize_name(n): Version(v) for n, v in RUNTIMES[spark_version].preinstalled.items()}
    for name in _pinned(cluster_pins(spark_version=spark_version)):
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            have = preinstalled.get(canonicalize_name(requirement.name))
            assert have is None or requirement.specifier.contains(have, prereleases=True), (spark_version, name, text)


def test_a_runtime_the_product_does_not_know_gets_every_dependency_pinned():
    # A GPU or future runtime: nothing is assumed preinstalled, so the labs still get all they declare.
    assert set(_pinned(cluster_pins(spark_version="19.x-gpu-ml-scala2.13"))) == set(_floors())


def test_a_floor_the_runtime_meets_leaves_its_library_alone(tmp_path: Path):
    # Lower the scipy floor below what 16.4 LTS ML ships (1.13.1): scipy is no longer pinned there.
    root = tmp_path / "root"
    (root / "labs").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "uv.lock", root / "uv.lock")
    text = (PROJECT_ROOT / "labs" / "pyproject.toml").read_text()
    scipy = str(_floors()["scipy"])
    (root / "labs" / "pyproject.toml").write_text(text.replace(f'"{scipy}"', '"scipy>=1.10"'))
    assert "scipy" not in _pinned(cluster_pins(root, spark_version="16.4.x-cpu-ml-scala2.12"))
    assert "scipy" in _pinned(cluster_pins(root, spark_version="19.x-gpu-ml-scala2.13"))


def test_the_default_runtime_is_the_newest_lts_ml_and_needs_no_mixed_mlflow():
    assert DEFAULT_SPARK_VERSION == NEWEST_LTS_ML
    assert RUNTIMES[DEFAULT_SPARK_VERSION].preinstalled["mlflow-skinny"].startswith("3.")
    # The runtime's MLflow distribution is mlflow-skinny: the full mlflow over it would mix two in one package.
    assert "mlflow" not in _pinned(cluster_pins(spark_version=DEFAULT_SPARK_VERSION))
