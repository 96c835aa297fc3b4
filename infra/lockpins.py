"""PyPI pins for the cluster: the lab artifact's dependencies (labs/pyproject.toml) that the cluster's runtime
lacks or ships below the labs' floor, at the versions uv.lock resolved (what the tests ran). A library the runtime
already has at or above the floor is left as the runtime ships it: pinning it would replace a preinstalled library
the runtime's other libraries were built and tested with."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from infra.runtime_libraries import REPLACED_WITH_REASON, normalise, preinstalled

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Replacement:
    """A preinstalled library the cluster libraries replace: its name, the runtime's version, the pinned version
    and the reason (None when REPLACED_WITH_REASON gives none)."""
    name: str
    preinstalled: str
    pinned: str
    reason: str | None


def _decisions(root: Path, spark_version: str | None) -> list[tuple[str, str, str | None]]:
    """(name, locked version, runtime version or None) for every dependency the cluster must install."""
    project = tomllib.loads((root / "labs" / "pyproject.toml").read_text())["project"]
    lock = tomllib.loads((root / "uv.lock").read_text())
    locked = {normalise(p["name"]): p["version"] for p in lock["package"] if "version" in p}
    runtime = preinstalled(spark_version or "") or {}
    needed = []
    for text in project["dependencies"]:
        requirement = Requirement(text)
        name = normalise(requirement.name)
        if name not in locked:
            raise LookupError(f"uv.lock has no entry for {name}; run `uv lock`")
        have = runtime.get(name)
        if have is not None and requirement.specifier.contains(Version(have), prereleases=True):
            continue  # the runtime's own version meets the labs' floor
        needed.append((name, locked[name], have))
    return needed


def cluster_pins(root: Path = PROJECT_ROOT, spark_version: str | None = None) -> list[str]:
    """`name==version` (uv.lock's version) for each labs/pyproject.toml dependency that the runtime
    `spark_version` does not preinstall at or above the labs' floor (infra/runtime_libraries.py says what each
    ML runtime preinstalls). On a runtime that table does not know, every dependency is pinned.
    Raises LookupError when uv.lock lacks a dependency."""
    return [f"{name}=={version}" for name, version, _ in _decisions(root, spark_version)]


def replacements(root: Path = PROJECT_ROOT, spark_version: str | None = None) -> list[Replacement]:
    """The preinstalled libraries `cluster_pins` replaces on `spark_version`, each with its listed reason."""
    return [Replacement(name, have, version, REPLACED_WITH_REASON.get(name))
            for name, version, have in _decisions(root, spark_version) if have is not None]
