"""Serverless job tasks in the twin: a task with an `environment_key` and no cluster runs in an environment built
from the run's `environments` entry, whose dependencies are installed first (a wheel from a volume or workspace
path is unpacked; a `name==version` line counts as installed when the twin's own Python has that version, as for
cluster libraries).

The rules, from Databricks' docs:
- runs/submit `environments[].spec`: "Either `environment_version` or `base_environment` needs to be provided";
  `client` is the older name of `environment_version` (databricks-sdk `compute.Environment`).
- "For Python script, Python wheel, and dbt tasks, environment_key is required for serverless compute"
  (docs.databricks.com/dev-tools/bundles/resource-examples.html): a wheel task with neither a cluster nor an
  environment is refused at submit, as is a key that no environment of the run defines.
- Task `libraries` are for clusters; serverless tasks take their dependencies from the environment
  ("Configure the serverless environment", docs.databricks.com/compute/serverless/dependencies).
- Serverless compute for notebooks and jobs is offered in a subset of Azure regions
  (learn.microsoft.com/azure/databricks/resources/feature-region-support, "Serverless availability");
  SERVERLESS_REGIONS is that table as transcribed for the twin, NOT yet checked row by row against the page.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

from sandbox.databricks import paths
from sandbox.databricks.state import Workspace
from sandbox.errors import DatabricksError

ENVIRONMENT_VERSIONS = ("1", "2", "3", "4")
PATH_PREFIXES = ("/Volumes/", "/Workspace/", "dbfs:/")
SERVERLESS_REGIONS = frozenset("""
    australiaeast brazilsouth canadacentral centralindia centralus eastus eastus2 francecentral germanywestcentral
    japaneast koreacentral northcentralus northeurope norwayeast southcentralus southeastasia swedencentral
    switzerlandnorth uaenorth uksouth westeurope westus westus3
""".split())


def _invalid(message: str) -> DatabricksError:
    return DatabricksError(400, "INVALID_PARAMETER_VALUE", message)


def task_environment(ws: Workspace, spec: dict, environments: list[dict]) -> dict:
    """The environment spec a cluster-less task runs in; a refusal (400) for a task that has no compute, names an
    environment the run does not define, or asks for what serverless compute does not do."""
    key = spec.get("task_key") or "task"
    kind = next((k for k in spec if k.endswith("_task")), "task")
    environment_key = spec.get("environment_key")
    if not environment_key:
        raise _invalid(f"Task {key}: a {kind} needs compute: existing_cluster_id, new_cluster or job_cluster_key "
                       f"for a cluster, or environment_key naming one of the run's environments for serverless "
                       f"compute.")
    if spec.get("libraries"):
        raise _invalid(f"Task {key}: libraries cannot be set on a task that runs on serverless compute; list them "
                       f"as dependencies of environment {environment_key!r}.")
    if ws.location is not None and ws.location.lower() not in SERVERLESS_REGIONS:
        raise _invalid(f"Serverless compute for jobs is not available in region {ws.location}; run task {key} on a "
                       f"cluster.")
    found = next((e for e in environments if e.get("environment_key") == environment_key), None)
    if found is None:
        defined = ", ".join(repr(e.get("environment_key")) for e in environments) or "none"
        raise _invalid(f"Task {key} references environment_key {environment_key!r}, which is not defined in the "
                       f"run's environments (defined: {defined}).")
    environment = found.get("spec") or {}
    version = environment.get("environment_version") or environment.get("client")
    if not version and not environment.get("base_environment"):
        raise _invalid(f"Environment {environment_key!r}: either environment_version or base_environment needs to "
                       f"be provided.")
    if version and str(version) not in ENVIRONMENT_VERSIONS:
        raise _invalid(f"Environment {environment_key!r}: environment_version {version!r} is not a serverless "
                       f"environment version ({', '.join(ENVIRONMENT_VERSIONS)}).")
    return environment


def install(ws: Workspace, environment: dict, pypi_failure) -> tuple[list[Path], str | None]:
    """Install the environment's dependencies: (folders to put on the task's path, why the install failed or
    None). `pypi_failure(spec)` judges a requirement line like a cluster's PyPI library."""
    folders = []
    for line in environment.get("dependencies") or []:
        line = str(line).strip()
        if line.startswith(PATH_PREFIXES):
            local = paths.any_local(ws, line.removeprefix("/Workspace") if line.startswith("/Workspace/") else line)
            if not local.is_file():
                return folders, f"Failed to install dependency {line}: the file does not exist."
            if local.suffix != ".whl":
                return folders, f"Failed to install dependency {line}: the twin installs wheels (.whl) from paths."
            folders.append(_unpack(ws, local))
            continue
        failure = pypi_failure({"pypi": {"package": line}})
        if failure:
            return folders, failure
    return folders, None


def _unpack(ws: Workspace, wheel: Path) -> Path:
    """A wheel installed into the workspace's serverless environments: unpacked once per content."""
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()[:16]
    target = ws.root / "serverless" / "libs" / f"{wheel.stem}-{digest}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + f".partial-{os.getpid()}-{digest}")
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(partial)
        try:
            os.replace(partial, target)
        except OSError:  # another run unpacked the same wheel meanwhile
            pass
    return target
