"""The lab artifact is what a cluster installs: the labs alone, floors not pins, a version per content."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from agent import lab_artifact

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return lab_artifact.build(tmp_path_factory.mktemp("artifact"))


def test_the_artifact_holds_the_labs_and_nothing_else(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    packages = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert packages == {"labctl_labs"}
    assert "labctl_labs/responsible_ai.py" in names and "labctl_labs/fine_tuning_data.py" in names
    # Nothing of the CLI, the twin, the Pulumi program or its mocks rides along.
    for forbidden in ("agent/", "sandbox/", "infra/", "pulumi_mocks", "cli.py", "tests/"):
        assert not [n for n in names if forbidden in n], forbidden


def test_its_dependencies_are_floors_and_its_scripts_are_the_labs(wheel):
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requires and all(">=" in r and "==" not in r for r in requires), requires
    assert not [r for r in requires if r.split(">=")[0] in ("typer", "rich", "pulumi", "fastapi", "pyspark")]
    assert lab_artifact.entry_points(wheel) == ["labctl-lab-fine-tuning", "labctl-lab-llmops",
                                                "labctl-lab-responsible-ai", "labctl-lab-smoke"]


def _build(out: Path, labs: Path) -> Path:
    out.mkdir()
    return lab_artifact.build(out, labs)


def test_the_version_changes_with_the_content_and_only_then(tmp_path):
    copy = tmp_path / "labs"
    shutil.copytree(ROOT / "labs", copy, ignore=shutil.ignore_patterns("__pycache__"))
    first, again = _build(tmp_path / "a", copy), _build(tmp_path / "b", copy)
    assert first.name == again.name and first.read_bytes() == again.read_bytes()  # reproducible
    assert "+g" in first.name.split("-")[1]
    smoke = copy / "labctl_labs" / "smoke.py"
    smoke.write_text(smoke.read_text() + "\n# changed\n")
    changed = _build(tmp_path / "c", copy)
    assert changed.name.split("-")[1] != first.name.split("-")[1]
    (copy / "labctl_labs" / "notes.txt").write_text("not code")  # a stray file neither ships nor changes it
    stray = _build(tmp_path / "d", copy)
    assert stray.name == changed.name and "labctl_labs/notes.txt" not in zipfile.ZipFile(stray).namelist()


def _locked_versions() -> list[str]:
    """`name==version` for each package uv.lock resolved to a single version (forks by marker are left free)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    versions: dict[str, set[str]] = {}
    for package in lock["package"]:
        if "version" in package and package["name"] != "labctl":
            versions.setdefault(package["name"], set()).add(package["version"])
    return [f"{name}=={next(iter(found))}" for name, found in sorted(versions.items()) if len(found) == 1]


def test_every_lab_entry_point_imports_with_only_the_declared_dependencies(wheel, tmp_path):
    uv = shlex.split(os.environ.get("LABCTL_UV") or "uv")
    if shutil.which(uv[0]) is None:
        pytest.fail("uv is needed (scripts/test sets LABCTL_UV)")
    venv = tmp_path / "venv"
    subprocess.run([*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("\n".join(_locked_versions()) + "\n")  # the versions the tests ran, not newer ones
    subprocess.run([*uv, "pip", "install", "--quiet", "--python", str(python), "-c", str(constraints), str(wheel)],
                   check=True)
    probe = (
        "import importlib.metadata as m, importlib.util as u\n"
        "points = [e for e in m.entry_points(group='console_scripts') if e.name.startswith('labctl-lab-')]\n"
        "assert len(points) == 4, points\n"
        "for e in points: assert callable(e.load()), e\n"
        "print(sorted(n for n in ('agent', 'sandbox', 'infra', 'typer', 'pulumi', 'pyspark') if u.find_spec(n)))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([str(python), "-I", "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # none of the tool's own packages or tools is there


def test_the_cloud_path_never_loads_the_sandbox():
    """labctl's commands for Azure import nothing of the twin: it is loaded only when a command targets it."""
    modules = ["agent.cli", "agent.lifecycle.updown", "agent.lifecycle.stage", "agent.lifecycle.run",
               "agent.lifecycle.status", "agent.lifecycle.preflight_step", "agent.cleanup", "agent.provision.cloud",
               "agent.target", "agent.journal"]
    probe = (f"import importlib, sys\nfor name in {modules!r}: importlib.import_module(name)\n"
             "print(sorted(m for m in sys.modules if m == 'sandbox' or m.startswith('sandbox.')))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
