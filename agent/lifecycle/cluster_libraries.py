"""A lab cluster whose library failed to install is put right before `labctl run` submits to it.

A wheel attached to a run is installed on the cluster; when its file was missing (a volume that forgot the staged
artifact), the library stays FAILED on the cluster and every later task that needs it fails too, the artifact staged
again or not. Databricks' remedy: uninstall the library ("The libraries aren't uninstalled until the cluster is
restarted", Libraries API / `databricks libraries uninstall`, learn.microsoft.com/azure/databricks/dev-tools/cli/
reference/libraries-commands), then restart the cluster; the next run attaches the staged wheel afresh.
"""

from __future__ import annotations

from collections.abc import Callable


def failed(w, cluster_id: str) -> list:
    """The cluster's libraries in state FAILED (databricks-sdk LibraryFullStatus)."""
    from databricks.sdk.service.compute import LibraryInstallStatus

    return [s for s in w.libraries.cluster_status(cluster_id) if s.status == LibraryInstallStatus.FAILED]


def _busy(w, cluster_id: str) -> bool:
    """Whether an active run uses the cluster (a restart would kill it)."""
    for run in w.jobs.list_runs(active_only=True, expand_tasks=True):
        for task in run.tasks or []:
            used = task.existing_cluster_id or (task.cluster_instance.cluster_id if task.cluster_instance else None)
            if used == cluster_id:
                return True
    return False


def repair(w, cluster_id: str, progress: Callable[[str], None]) -> bool:
    """Uninstall the cluster's failed libraries and restart it (waiting until it runs again). Returns whether it
    did; a cluster that an active run uses is left alone (said on `progress`): restarting it would kill the run."""
    broken = failed(w, cluster_id)
    if not broken:
        return False
    reasons = "; ".join(f"{_name(s.library)}: {(s.messages or ['failed'])[0]}" for s in broken)
    if _busy(w, cluster_id):
        progress(f"cluster {cluster_id}: a library failed to install ({reasons}), but a run is using the cluster; "
                 f"not restarting it")
        return False
    progress(f"cluster {cluster_id}: a library failed to install ({reasons}); uninstalling it and restarting the "
             f"cluster, as Databricks requires")
    w.libraries.uninstall(cluster_id, [s.library for s in broken])
    w.clusters.restart(cluster_id)  # a cluster that is not running needs no restart: its next start applies it
    w.clusters.ensure_cluster_is_running(cluster_id)
    return True


def _name(library) -> str:
    if library is None:
        return "library"
    if library.whl:
        return library.whl
    if library.pypi:
        return library.pypi.package
    return "library"
