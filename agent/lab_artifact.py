"""The lab artifact: the wheel a cluster installs to run the labs, built from `labs/` alone.

Its version is `<labs/pyproject.toml version>+g<12 hex of a content hash>` (a PEP 440 local version), so every
change of the labs' code or metadata gives a new version: Databricks does not replace an installed library of the
same version until the cluster restarts, and a new version is what makes a re-stage take effect.
The build is hatchling's PEP 517 hook, reproducible (same content, same bytes).
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import io
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

LABS_ROOT = Path(__file__).resolve().parents[1] / "labs"
PACKAGE = "labctl_labs"
ENTRY_POINT_PREFIX = "labctl-lab-"


def source_files(root: Path = LABS_ROOT) -> list[Path]:
    """The files the artifact is built from, relative to `root`: `pyproject.toml` and the package's Python
    sources (a stray note or editor file in the folder neither ships nor changes the version)."""
    files = [Path("pyproject.toml")]
    files += sorted(p.relative_to(root) for p in (root / PACKAGE).rglob("*.py")
                    if p.is_file() and "__pycache__" not in p.parts)
    return files


def content_hash(root: Path = LABS_ROOT) -> str:
    """SHA-256 (hex) over every source file's relative path and bytes, in path order."""
    digest = hashlib.sha256()
    for relative in source_files(root):
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update((root / relative).read_bytes() + b"\0")
    return digest.hexdigest()


def stamped_version(root: Path = LABS_ROOT) -> str:
    base = re.search(r'^version = "([^"]+)"', (root / "pyproject.toml").read_text(), re.M).group(1)
    return f"{base}+g{content_hash(root)[:12]}"


def build(out_dir: Path, root: Path = LABS_ROOT) -> Path:
    """Build the artifact into `out_dir` and return the wheel's path."""
    from hatchling.build import build_wheel

    version = stamped_version(root)
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch)
        for relative in source_files(root):
            (tree / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / relative, tree / relative)
        project = tree / "pyproject.toml"
        project.write_text(re.sub(r'^version = "[^"]+"', f'version = "{version}"', project.read_text(), count=1,
                                  flags=re.M))
        previous = Path.cwd()
        os.chdir(tree)  # PEP 517 hooks run in the project's folder
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                name = build_wheel(str(out_dir.resolve()))
        finally:
            os.chdir(previous)
    return out_dir / name


def entry_points(wheel: Path) -> list[str]:
    """The lab entry points (`labctl-lab-*` console scripts) declared in a built artifact."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        parser = configparser.ConfigParser(delimiters=("=",))
        parser.optionxform = str
        parser.read_string(archive.read(name).decode())
    return sorted(k for k in parser["console_scripts"] if k.startswith(ENTRY_POINT_PREFIX))
