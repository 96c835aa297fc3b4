"""PyPI pins for the cluster: the lab artifact's dependencies (labs/pyproject.toml) at the versions uv.lock
resolved, so the cluster runs what the tests ran."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def cluster_pins(root: Path = PROJECT_ROOT) -> list[str]:
    """`name==version` for every dependency of the lab artifact, with the version uv.lock resolved."""
    project = tomllib.loads((root / "labs" / "pyproject.toml").read_text())["project"]
    lock = tomllib.loads((root / "uv.lock").read_text())
    locked = {_normalise(p["name"]): p["version"] for p in lock["package"] if "version" in p}
    pins = []
    for requirement in project["dependencies"]:
        name = _normalise(re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0])
        if name not in locked:
            raise LookupError(f"uv.lock has no entry for {name}; run `uv lock`")
        pins.append(f"{name}=={locked[name]}")
    return pins
