"""Clusters and their libraries on the sandbox clock: PENDING -> RUNNING -> TERMINATED, with
auto-termination after the configured idle minutes, derived when the cluster is read."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import re
import secrets
from typing import Any

from sandbox.databricks import paths
from sandbox.databricks.state import NODE_TYPES, SPARK_VERSIONS, Cluster, Library, Workspace
from sandbox.errors import DatabricksError

SINGLE_USER_MODES = {"SINGLE_USER", "DATA_SECURITY_MODE_DEDICATED"}


def _invalid(message: str) -> DatabricksError:
    return DatabricksError(400, "INVALID_PARAMETER_VALUE", message)


def _library_key(spec: dict) -> str:
    if "whl" in spec:
        return f"whl:{spec['whl']}"
    if "pypi" in spec:
        return f"pypi:{spec['pypi'].get('package')}"
    return repr(sorted(spec.items()))


def record_event(cluster: Cluster, timestamp: float, kind: str, details: dict) -> None:
    """One entry of the cluster's event log (Clusters API `events`); RUNNING is derived when the log is read."""
    cluster.events.append({"timestamp": int(timestamp * 1000), "type": kind, "details": details})


class ClusterService:
    def __init__(self, registry):
        self.registry = registry
        self.world = registry.world

    def find(self, ws: Workspace, cluster_id: str) -> Cluster:
        cluster = ws.clusters.get(cluster_id)
        if cluster is None:
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Cluster {cluster_id} does not exist")
        return cluster

    def validate(self, spec: dict) -> None:
        if spec.get("spark_version") not in SPARK_VERSIONS:
            raise _invalid(f"Invalid spark version {spec.get('spark_version')}.")
        if spec.get("node_type_id") not in NODE_TYPES:
            raise _invalid(f"Node type {spec.get('node_type_id')} is not supported. Supported node types: "
                           f"{', '.join(NODE_TYPES)}.")
        minutes = int(spec.get("autotermination_minutes", 120))
        if minutes != 0 and not 10 <= minutes <= 10_000:
            raise _invalid("Auto-termination minutes must be between 10 and 10000, or 0 to disable it.")
        if spec.get("data_security_mode") in SINGLE_USER_MODES and not spec.get("single_user_name"):
            raise _invalid("single_user_name is required when data_security_mode is SINGLE_USER.")
        if int(spec.get("num_workers", 0)) == 0 and not spec.get("autoscale"):
            conf = spec.get("spark_conf") or {}
            single = conf.get("spark.databricks.cluster.profile") == "singleNode" or spec.get("is_single_node")
            if not single:
                raise _invalid("A cluster with 0 workers needs the single-node profile "
                               "(spark.databricks.cluster.profile=singleNode, spark.master=local[*], "
                               "custom_tags ResourceClass=SingleNode) or is_single_node.")

    def create(self, ws: Workspace, spec: dict) -> str:
        self.validate(spec)
        now = self.world.now()
        stamp = dt.datetime.fromtimestamp(now, dt.timezone.utc)
        cluster_id = f"{stamp:%m%d-%H%M%S}-{secrets.token_hex(4)}"
        spec = {"autotermination_minutes": 120, "num_workers": 0, **spec}
        cluster = Cluster(cluster_id, spec, ws.user, started_at=now, last_activity=now)
        record_event(cluster, now, "CREATING", {"user": ws.user})
        with self.world.lock:
            ws.clusters[cluster_id] = cluster
        if spec.get("libraries"):
            self.install(ws, cluster_id, spec["libraries"])
        return cluster_id

    def edit(self, ws: Workspace, spec: dict) -> None:
        cluster = self.find(ws, spec["cluster_id"])
        self.validate(spec)
        with self.world.lock:
            cluster.spec = {k: v for k, v in spec.items() if k != "cluster_id"}
            record_event(cluster, self.world.now(), "EDITED", {"user": ws.user})

    def state(self, cluster: Cluster) -> str:
        now = self.world.now()
        if cluster.terminated_at is not None:
            return "TERMINATED"
        if now < cluster.started_at + self.world.config.timings.cluster_starting:
            return "PENDING"
        minutes = int(cluster.spec.get("autotermination_minutes") or 0)
        if minutes and cluster.active_runs == 0:
            idle_end = max(cluster.last_activity, cluster.started_at + self.world.config.timings.cluster_starting) + minutes * 60
            if now >= idle_end:
                cluster.terminated_at, cluster.termination_reason = idle_end, "INACTIVITY"
                record_event(cluster, idle_end, "TERMINATING", {"reason": {"code": "INACTIVITY"}})
                return "TERMINATED"
        return "RUNNING"

    def touch(self, cluster: Cluster) -> None:
        cluster.last_activity = self.world.now()

    def describe(self, ws: Workspace, cluster: Cluster) -> dict[str, Any]:
        state = self.state(cluster)
        spec = cluster.spec
        cores, memory = NODE_TYPES.get(spec.get("node_type_id"), (4, 16384))
        details: dict[str, Any] = {
            **{k: v for k, v in spec.items() if k != "libraries"},
            "cluster_id": cluster.cluster_id,
            "driver_node_type_id": spec.get("driver_node_type_id", spec.get("node_type_id")),
            "state": state,
            "state_message": {"PENDING": "Starting Spark", "RUNNING": "", "TERMINATED": "Terminated"}[state],
            "start_time": int(cluster.started_at * 1000),
            "creator_user_name": cluster.creator,
            "cluster_source": "API",
            "cluster_cores": float(cores),
            "cluster_memory_mb": memory,
            "spark_context_id": abs(hash(cluster.cluster_id)) % 10**18,
            "default_tags": {"Vendor": "Databricks", "Creator": cluster.creator,
                             "ClusterName": spec.get("cluster_name", ""), "ClusterId": cluster.cluster_id},
        }
        if state == "TERMINATED":
            details["terminated_time"] = int(cluster.terminated_at * 1000)
            details["termination_reason"] = {"code": cluster.termination_reason or "USER_REQUEST",
                                             "type": "SUCCESS" if cluster.termination_reason in ("INACTIVITY", "USER_REQUEST") else "CLIENT_ERROR"}
        return details

    def start(self, ws: Workspace, cluster_id: str) -> None:
        cluster = self.find(ws, cluster_id)
        with self.world.lock:
            state = self.state(cluster)
            if state != "TERMINATED":
                raise DatabricksError(400, "INVALID_STATE", f"Cluster {cluster_id} is in unexpected state {state.title()}.")
            now = self.world.now()
            cluster.started_at, cluster.last_activity = now, now
            cluster.terminated_at = cluster.termination_reason = None
            record_event(cluster, now, "STARTING", {"user": ws.user})
            self.reinstall(ws, cluster)

    def terminate(self, ws: Workspace, cluster_id: str, reason: str) -> None:
        cluster = self.find(ws, cluster_id)
        with self.world.lock:
            if self.state(cluster) == "TERMINATED":
                return
            cluster.terminated_at, cluster.termination_reason = self.world.now(), reason
            record_event(cluster, cluster.terminated_at, "TERMINATING", {"reason": {"code": reason}})
        if self.registry.jobs is not None:
            self.registry.jobs.fail_cluster_runs(ws, cluster_id, "The cluster was terminated.")

    def permanent_delete(self, ws: Workspace, cluster_id: str) -> None:
        self.terminate(ws, cluster_id, "USER_REQUEST")
        with self.world.lock:
            ws.clusters.pop(cluster_id, None)

    # Libraries -----------------------------------------------------------------------------------

    def install(self, ws: Workspace, cluster_id: str, libraries: list[dict]) -> None:
        cluster = self.find(ws, cluster_id)
        with self.world.lock:
            known = {_library_key(lib.spec) for lib in cluster.libraries}
            for spec in libraries:
                if _library_key(spec) not in known:
                    cluster.libraries.append(Library(spec, self._failure(ws, spec, cluster.spec)))

    def uninstall(self, ws: Workspace, cluster_id: str, libraries: list[dict]) -> None:
        """"The libraries aren't uninstalled until the cluster is restarted. A request to uninstall a library that
        is not currently installed is ignored" (Libraries API uninstall; `databricks libraries uninstall`,
        learn.microsoft.com/azure/databricks/dev-tools/cli/reference/libraries-commands): marked until then."""
        cluster = self.find(ws, cluster_id)
        drop = {_library_key(spec) for spec in libraries}
        with self.world.lock:
            for lib in cluster.libraries:
                if _library_key(lib.spec) in drop:
                    lib.uninstall_on_restart = True

    def reinstall(self, ws: Workspace, cluster: Cluster) -> None:
        """At a start or restart: uninstalled libraries go, the others are installed again (a library that failed
        because its file was missing installs once the file is there). Called under the world lock."""
        cluster.libraries = [Library(lib.spec, self._failure(ws, lib.spec, cluster.spec))
                             for lib in cluster.libraries if not lib.uninstall_on_restart]

    def _failure(self, ws: Workspace, spec: dict, cluster_spec: dict) -> str | None:
        """Why the library cannot be installed on a sandbox cluster, or None."""
        if "whl" in spec:
            if spec["whl"].startswith("dbfs:/") and _runtime_major(cluster_spec) >= 15:
                # "Libraries stored in the DBFS root are deprecated and disabled by default in Databricks Runtime
                # 15.1 and above" (Databricks docs, "Install libraries from workspace files / volumes").
                return (f"Library installation failed: installing {spec['whl']} from the DBFS root is disabled on "
                        "Databricks Runtime 15.1 and above; use a Unity Catalog volume or workspace files.")
            if not paths.any_local(ws, spec["whl"]).is_file():
                return f"Library file {spec['whl']} does not exist."
            return None
        if "pypi" in spec:
            # The sandbox has no package index: a pinned package counts as installed when the sandbox's
            # own environment has exactly that version, which is what the cluster pins are made from.
            requirement = spec["pypi"].get("package", "")
            match = re.match(r"^([A-Za-z0-9_.\-]+)\s*(?:==\s*([^\s;]+))?$", requirement)
            if not match:
                return f"Cannot resolve {requirement}: the sandbox installs pinned packages only."
            name, version = match.groups()
            installed = _available_version(name)
            if installed is None:
                return f"Library installation failed: {name} is not available without network access."
            if version and installed != version:
                return f"Library installation failed: {name}=={version} requested, {installed} available."
            return None
        return "The sandbox installs whl and pypi libraries only."

    def library_statuses(self, ws: Workspace, cluster_id: str) -> dict:
        cluster = self.find(ws, cluster_id)
        running = self.state(cluster) == "RUNNING"
        statuses = []
        for lib in cluster.libraries:
            if lib.uninstall_on_restart:
                status = "UNINSTALL_ON_RESTART"
            else:
                status = ("FAILED" if lib.failure else "INSTALLED") if running else "PENDING"
            entry = {"library": lib.spec, "status": status, "is_library_for_all_clusters": False}
            if lib.failure and status in ("FAILED", "UNINSTALL_ON_RESTART"):
                entry["messages"] = [lib.failure]
            statuses.append(entry)
        return {"cluster_id": cluster_id, "library_statuses": statuses}


def _available_version(name: str) -> str | None:
    """The version of `name` the sandbox's environment (its stand-in for PyPI) holds: the distribution itself,
    or the one that provides the same import package (the environment's mlflow-skinny stands in for mlflow)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        providers = importlib.metadata.packages_distributions().get(re.sub(r"[-.]", "_", name).lower(), [])
        return importlib.metadata.version(providers[0]) if providers else None


def _runtime_major(cluster_spec: dict) -> int:
    """The Databricks Runtime major version of a cluster ("16.4.x-cpu-ml-scala2.12" -> 16)."""
    match = re.match(r"^(\d+)\.", cluster_spec.get("spark_version") or "")
    return int(match.group(1)) if match else 0
