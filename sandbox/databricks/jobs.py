"""One-time runs (Jobs API 2.2 runs/submit) executed for real: each task (a Python file, a wheel's entry point or
a workspace Python notebook) runs in a subprocess with a local SparkSession available, the environment pointing back at the sandbox workspace and a local MLflow
store, its output captured as the run's logs (secret values redacted, capped like Databricks)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

from sandbox.databricks import paths, permissions, serverless
from sandbox.databricks.state import JobRun, TaskRun, Workspace
from sandbox.errors import DatabricksError

LOG_LIMIT = 5 * 1024 * 1024
REDACTED = "[REDACTED]"
TASK_TYPES = ("spark_python_task", "python_wheel_task", "notebook_task")
NOTEBOOK_RESULT_LIMIT = 5 * 1024 * 1024  # "Databricks restricts this API to return the first 5 MB of the value"
DEDICATED_MODES = ("SINGLE_USER", "DATA_SECURITY_MODE_DEDICATED")


def _ms(timestamp: float) -> int:
    return int(timestamp * 1000)


class JobService:
    def __init__(self, registry, clusters):
        self.registry = registry
        self.world = registry.world
        self.clusters = clusters
        self._next_id = 500_000_000 + int.from_bytes(os.urandom(2), "big") * 1000
        self._lock = threading.Lock()

    def _new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    # API -----------------------------------------------------------------------------------------

    def submit(self, ws: Workspace, body: dict, user: str | None = None, *, single_task: bool = False) -> int:
        """A one-time run, run as `run_as` (a user or service principal) or else as the caller (`user`);
        `single_task` for a Jobs 2.0 single-task body (made a one-task run by the caller).

        Only a workspace admin may run as someone else ("run_as", Jobs API 2.2 runs/submit: "Only workspace
        admins can set run_as to a user other than themselves")."""
        user = user or ws.user
        run_as = body.get("run_as") or {}
        identity = run_as.get("user_name") or run_as.get("service_principal_name") or user
        if identity != user and not permissions.is_admin(ws, user):
            raise permissions.denied(f"User {user} cannot set run_as to {identity}: only workspace admins can.")
        token = body.get("idempotency_token")
        if token:
            existing = next((r for r in ws.runs.values() if r.idempotency_token == token), None)
            if existing is not None:
                return existing.run_id
        tasks_spec = body.get("tasks") or []
        if not tasks_spec:
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "A run needs at least one task.")
        tasks = []
        for spec in tasks_spec:
            kinds = [k for k in spec if k.endswith("_task")]
            if len(kinds) != 1 or kinds[0] not in TASK_TYPES:
                raise DatabricksError(400, "INVALID_PARAMETER_VALUE",
                                      f"Task {spec.get('task_key')}: the sandbox runs spark_python_task, "
                                      f"python_wheel_task and notebook_task (got {', '.join(kinds) or 'none'}).")
            cluster_id = spec.get("existing_cluster_id")
            if cluster_id:
                self.clusters.find(ws, cluster_id)
                environment = None
            elif spec.get("new_cluster") or spec.get("job_cluster_key"):
                raise DatabricksError(400, "INVALID_PARAMETER_VALUE",
                                      f"Task {spec.get('task_key')}: the sandbox runs tasks on an existing cluster "
                                      "or on serverless compute.")
            else:  # serverless: the task's environment_key names one of the run's environments
                environment = serverless.task_environment(ws, spec, body.get("environments") or [])
            if "spark_python_task" in spec:
                self._task_file(ws, spec["spark_python_task"]["python_file"])
            elif "notebook_task" in spec:
                self._notebook_file(ws, spec["notebook_task"])
            else:
                wheel = spec["python_wheel_task"]
                if not wheel.get("package_name") or not wheel.get("entry_point"):
                    raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "python_wheel_task needs package_name and entry_point.")
            tasks.append(TaskRun(self._new_id(), spec.get("task_key") or "task", spec, cluster_id or None,
                                 environment=environment))
        now = self.world.now()
        run = JobRun(self._new_id(), body.get("run_name") or "Untitled", tasks, int(body.get("timeout_seconds") or 0),
                     user, _ms(now), token, run_as=identity, single_task=single_task and len(tasks) == 1)
        with self.world.lock:
            ws.runs[run.run_id] = run
            for task in tasks:
                ws.task_runs[task.run_id] = task
        threading.Thread(target=self._execute, args=(ws, run), daemon=True, name=f"run-{run.run_id}").start()
        return run.run_id

    def find(self, ws: Workspace, run_id: int) -> JobRun:
        run = ws.runs.get(run_id)
        if run is None:
            task = ws.task_runs.get(run_id)
            run = next((r for r in ws.runs.values() if task in r.tasks), None) if task else None
        if run is None:
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Run {run_id} does not exist.")
        return run

    def run_page_url(self, ws: Workspace, run: JobRun) -> str:
        return f"{self.world.arm_url}/?o={ws.workspace_id}#job/{run.run_id + 1}/run/{run.run_id}"

    def _task_json(self, ws: Workspace, run: JobRun, task: TaskRun) -> dict:
        end = task.end_time or 0
        data = {
            "run_id": task.run_id, "task_key": task.task_key, "attempt_number": 0,
            "state": self._state(task.life_cycle_state, task.result_state, task.state_message,
                                 task.cancelled or task.timed_out),
            "start_time": task.start_time, "end_time": end, "setup_duration": 0, "cleanup_duration": 0,
            "execution_duration": max(0, end - task.start_time) if end and task.start_time else 0,
            "run_page_url": self.run_page_url(ws, run),
        }
        if task.cluster_id is not None:
            data["existing_cluster_id"] = task.cluster_id
            data["cluster_instance"] = {"cluster_id": task.cluster_id, "spark_context_id": "0"}
        for key in (*TASK_TYPES, "libraries", "timeout_seconds", "environment_key"):
            if key in task.spec:
                data[key] = task.spec[key]
        return data

    @staticmethod
    def _state(life_cycle: str, result: str | None, message: str, user_stopped: bool) -> dict:
        state: dict[str, Any] = {"life_cycle_state": life_cycle, "state_message": message,
                                 "user_cancelled_or_timedout": user_stopped}
        if result:
            state["result_state"] = result
        return state

    def describe(self, ws: Workspace, run: JobRun) -> dict:
        life_cycle = run.life_cycle_state()
        result = run.result_state()
        message = next((t.state_message for t in run.tasks if t.state_message), "")
        return {
            "job_id": run.run_id + 1, "run_id": run.run_id, "number_in_job": run.run_id,
            "original_attempt_run_id": run.run_id, "attempt_number": 0, "creator_user_name": run.creator,
            "run_name": run.run_name, "run_type": "SUBMIT_RUN",
            "state": self._state(life_cycle, result, message, any(t.cancelled or t.timed_out for t in run.tasks)),
            "tasks": [self._task_json(ws, run, t) for t in run.tasks],
            "start_time": run.start_time, "end_time": run.end_time, "setup_duration": 0, "cleanup_duration": 0,
            "execution_duration": max(0, run.end_time - run.start_time) if run.end_time else 0,
            "run_page_url": self.run_page_url(ws, run),
            **({"cluster_instance": {"cluster_id": run.tasks[0].cluster_id}} if run.tasks[0].cluster_id else {}),
        }

    def output(self, ws: Workspace, run_id: int) -> dict:
        task = ws.task_runs.get(run_id)
        if task is None and run_id in ws.runs and ws.runs[run_id].single_task:
            task = ws.runs[run_id].tasks[0]  # Jobs 2.0: a single-task run's output is the run's own
        if task is None:
            if run_id in ws.runs:
                raise DatabricksError(400, "INVALID_PARAMETER_VALUE",
                                      "Retrieving the output of runs with multiple tasks is not supported. Please "
                                      "retrieve the output of each individual task run instead.")
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Run {run_id} does not exist.")
        run = self.find(ws, run_id)
        # A Run (jobs.Run in databricks-sdk): the task's own fields (task_key, the task spec) are not part of it.
        task_fields = ("task_key", "existing_cluster_id", "libraries", "timeout_seconds", *TASK_TYPES)
        metadata = {**{k: v for k, v in self._task_json(ws, run, task).items() if k not in task_fields},
                    "run_name": run.run_name, "run_type": "SUBMIT_RUN", "job_id": run.run_id + 1,
                    "creator_user_name": run.creator}
        output: dict[str, Any] = {"metadata": metadata}
        if "notebook_task" in task.spec:
            output["notebook_output"] = self._notebook_output(ws, task)
        elif task.logs_path is not None and task.logs_path.exists():
            logs, truncated = self._read_logs(ws, task.logs_path)
            output["logs"], output["logs_truncated"] = logs, truncated
        if task.error:
            output["error"] = self._redact(ws, task.error)
        if task.error_trace:
            output["error_trace"] = self._redact(ws, task.error_trace)
        return output

    def _notebook_output(self, ws: Workspace, task: TaskRun) -> dict:
        """What the notebook passed to dbutils.notebook.exit, if it did (runs/get-output `notebook_output`)."""
        result = task.logs_path.parent / "notebook_result.txt" if task.logs_path is not None else None
        if result is None or not result.exists():
            return {}
        text = result.read_text(encoding="utf-8", errors="replace")
        return {"result": self._redact(ws, text[:NOTEBOOK_RESULT_LIMIT]), "truncated": len(text) > NOTEBOOK_RESULT_LIMIT}

    def cancel(self, ws: Workspace, run_id: int) -> None:
        run = self.find(ws, run_id)
        for task in run.tasks:
            if task.life_cycle_state in ("PENDING", "RUNNING"):
                task.cancelled = True
                self._kill(task)

    def fail_cluster_runs(self, ws: Workspace, cluster_id: str, message: str) -> None:
        for task in list(ws.task_runs.values()):
            if task.cluster_id == cluster_id and task.life_cycle_state in ("PENDING", "RUNNING"):
                task.error = message
                self._kill(task)

    def kill_all(self, ws: Workspace) -> None:
        for task in list(ws.task_runs.values()):
            if task.life_cycle_state in ("PENDING", "RUNNING"):
                task.cancelled = True
                self._kill(task)

    # Execution -----------------------------------------------------------------------------------

    def _task_file(self, ws: Workspace, path: str) -> Path:
        if path.startswith(("/Volumes/", "dbfs:/")):
            local = paths.any_local(ws, path)
        else:
            found = ws.objects.get(paths.workspace_path(path))
            if found is not None and found.kind == "NOTEBOOK":
                raise DatabricksError(400, "INVALID_PARAMETER_VALUE",
                                      f"{path} is a notebook; spark_python_task needs a Python file "
                                      "(import it with format AUTO or RAW).")
            local = paths.workspace_local(ws, path)
        if not local.is_file():
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"The Python file {path} does not exist.")
        return local

    def _notebook_file(self, ws: Workspace, task: dict) -> Path:
        """The SOURCE body of a workspace Python notebook that a notebook_task runs."""
        path = task.get("notebook_path") or ""
        if (task.get("source") or "WORKSPACE") != "WORKSPACE":
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE",
                                  "The sandbox runs notebooks from the workspace (source WORKSPACE), not from Git.")
        found = ws.objects.get(paths.workspace_path(path)) if path.startswith("/") else None
        if found is None or found.kind != "NOTEBOOK":
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE",
                                  f"Unable to access the notebook \"{path}\": it does not exist or is not a notebook.")
        if found.language != "PYTHON":
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE",
                                  f"The sandbox runs Python notebooks; {path} is {found.language}.")
        return paths.workspace_local(ws, path)

    def _execute(self, ws: Workspace, run: JobRun) -> None:
        for task in run.tasks:
            try:
                self._execute_task(ws, run, task)
            except Exception as error:  # a sandbox fault must still end the run, as Databricks would
                task.life_cycle_state, task.result_state = "INTERNAL_ERROR", "FAILED"
                task.state_message = f"Sandbox error: {error}"
                task.end_time = _ms(self.world.now())
        run.end_time = max(t.end_time for t in run.tasks)

    def _wait_for_cluster(self, ws: Workspace, task: TaskRun) -> bool:
        cluster = self.clusters.find(ws, task.cluster_id)
        with self.world.lock:
            if self.clusters.state(cluster) == "TERMINATED":
                self.clusters.start(ws, cluster.cluster_id)  # a run on a terminated cluster starts it
            cluster.active_runs += 1
        task.state_message = "Waiting for cluster"
        while self.clusters.state(cluster) == "PENDING":
            if task.cancelled:
                return False
            time.sleep(0.05)
        return self.clusters.state(cluster) == "RUNNING"

    def _execute_serverless(self, ws: Workspace, run: JobRun, task: TaskRun) -> None:
        """A serverless task: its environment's dependencies installed, then the same process a cluster runs."""
        task.state_message = "Waiting for serverless compute"
        lib_dirs, failure = serverless.install(ws, task.environment or {},
                                               lambda spec: self.clusters._failure(ws, spec, {}))
        if failure:
            task.error = failure
            self._finish(task, "INTERNAL_ERROR", "FAILED", failure)
            return
        self._run_started(ws, run, task, None, [str(d) for d in lib_dirs])

    def _run_started(self, ws: Workspace, run: JobRun, task: TaskRun, cluster, lib_dirs: list[str] | None = None) -> None:
        """The task RUNNING on its compute (`cluster`, or None for serverless with `lib_dirs`), to its end."""
        task.start_time = _ms(self.world.now())
        task.life_cycle_state, task.state_message = "RUNNING", "In run"
        if not self._wait_while_held(ws, task):
            self._finish(task, "TERMINATED", "CANCELED", "Run cancelled.")
            return
        folder = ws.runs_dir / str(task.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        code, timeout = self._run_process(ws, run, task, cluster, folder, lib_dirs)
        self._conclude(task, code, timeout, folder)

    def _execute_task(self, ws: Workspace, run: JobRun, task: TaskRun) -> None:
        if task.cluster_id is None:
            self._execute_serverless(ws, run, task)
            return
        cluster = None
        try:
            if not self._wait_for_cluster(ws, task):
                self._finish(task, "TERMINATED", "CANCELED", "Run cancelled.")
                return
            cluster = self.clusters.find(ws, task.cluster_id)
            libraries = task.spec.get("libraries") or []
            if libraries:
                self.clusters.install(ws, cluster.cluster_id, libraries)
            failed = [lib.failure for lib in cluster.libraries if lib.failure]
            if failed:
                task.error = f"Library installation failed: {failed[0]}"
                self._finish(task, "INTERNAL_ERROR", "FAILED", task.error)
                return
            refusal = self._single_user_refusal(cluster, run.run_as or run.creator)
            if refusal is not None:
                task.error = refusal
                self._finish(task, "INTERNAL_ERROR", "FAILED", refusal)
                return
            self._run_started(ws, run, task, cluster)
        finally:
            cluster = ws.clusters.get(task.cluster_id)
            if cluster is not None:
                cluster.active_runs = max(0, cluster.active_runs - 1)
                self.clusters.touch(cluster)

    @staticmethod
    def _single_user_refusal(cluster, identity: str) -> str | None:
        """A dedicated (single-user) cluster runs the commands of its one user only; the wording is Databricks'
        (e.g. databricks/databricks-sdk-py and community reports of "Single-user check failed")."""
        spec = cluster.spec
        if spec.get("data_security_mode") in DEDICATED_MODES and spec.get("single_user_name") not in (None, identity):
            return (f"Single-user check failed: user '{identity}' attempted to run a command on single-user cluster "
                    f"{cluster.cluster_id}, but the single user of this cluster is '{spec['single_user_name']}'")
        return None

    def _wait_while_held(self, ws: Workspace, task: TaskRun) -> bool:
        """A control of the sandbox's (`PUT /_sandbox/databricks/workspaces/{name}/hold`): tests keep a run
        RUNNING, before its code starts, for as long as they need; False when the run was cancelled meanwhile."""
        while ws.name in self.registry.held_workspaces:
            if task.cancelled:
                return False
            task.state_message = "In run (held by the sandbox)"
            time.sleep(0.05)
        task.state_message = "In run"
        return not task.cancelled

    def _run_process(self, ws: Workspace, run: JobRun, task: TaskRun, cluster, folder: Path,
                     lib_dirs: list[str] | None = None) -> tuple[int, int]:
        """`cluster` None: a serverless task, its environment's `lib_dirs` installed."""
        if cluster is not None:
            lib_dirs = [str(self._unpack(ws, cluster, lib.spec["whl"])) for lib in cluster.libraries if "whl" in lib.spec]
        spec = self._entry_spec(ws, lib_dirs or [], task, folder, run.run_as or run.creator)
        (folder / "task.json").write_text(json.dumps(spec))
        task.logs_path = folder / "output.log"
        driver = ws.root / "driver"  # like /databricks/driver: the working directory every run shares
        driver.mkdir(exist_ok=True)
        with task.logs_path.open("wb") as log:
            task.process = subprocess.Popen(
                [sys.executable, "-m", "sandbox.databricks.task_entry", str(folder / "task.json")],
                cwd=driver, stdout=log, stderr=subprocess.STDOUT,
                env=self._environment(ws, cluster, spec, run.run_as or run.creator),
                start_new_session=True,
            )
            timeout = int(task.spec.get("timeout_seconds") or run.timeout_seconds or 0)
            try:
                return task.process.wait(timeout=timeout or None), timeout
            except subprocess.TimeoutExpired:
                task.timed_out = True
                self._kill(task)
                return task.process.wait(), timeout

    def _conclude(self, task: TaskRun, code: int, timeout: int, folder: Path) -> None:
        if task.timed_out:
            self._finish(task, "TERMINATED", "TIMEDOUT", f"Run timed out after {timeout} seconds.")
        elif task.cancelled:
            self._finish(task, "TERMINATED", "CANCELED", "Run cancelled.")
        elif code == 0:
            self._finish(task, "TERMINATED", "SUCCESS", "")
        else:
            failure = folder / "error.json"
            if failure.exists():
                details = json.loads(failure.read_text())
                task.error, task.error_trace = details["error"], details["error_trace"]
            else:
                task.error = task.error or f"The Python process exited with code {code}."
            self._finish(task, "TERMINATED", "FAILED", task.error)

    def _finish(self, task: TaskRun, life_cycle: str, result: str, message: str) -> None:
        task.end_time = _ms(self.world.now())
        if not task.start_time:
            task.start_time = task.end_time
        task.life_cycle_state, task.result_state, task.state_message = life_cycle, result, message

    def _kill(self, task: TaskRun) -> None:
        if task.process is not None and task.process.poll() is None:
            try:
                os.killpg(task.process.pid, signal.SIGKILL)  # the task and its Spark JVM
            except ProcessLookupError:
                pass

    def _entry_spec(self, ws: Workspace, lib_dirs: list[str], task: TaskRun, folder: Path, identity: str) -> dict:
        # What `catalog.schema.table` may name: each schema with what the run's identity lacks to write a table there.
        uc_schemas = {schema: permissions.missing_privilege(ws, identity, permissions.table_needs(schema))
                      for schema in sorted(ws.schemas)}
        spec: dict[str, Any] = {"lib_dirs": lib_dirs, "error_file": str(folder / "error.json"), "uc_schemas": uc_schemas}
        if "spark_python_task" in task.spec:
            python = task.spec["spark_python_task"]
            spec.update(kind="python_file", python_file=str(self._task_file(ws, python["python_file"])),
                        parameters=list(python.get("parameters") or []))
        elif "notebook_task" in task.spec:
            notebook = task.spec["notebook_task"]
            spec.update(kind="notebook", notebook_path=notebook["notebook_path"],
                        notebook_file=str(self._notebook_file(ws, notebook)),
                        base_parameters={k: str(v) for k, v in (notebook.get("base_parameters") or {}).items()},
                        result_file=str(folder / "notebook_result.txt"))
        else:
            wheel = task.spec["python_wheel_task"]
            spec.update(kind="wheel", package_name=wheel["package_name"], entry_point=wheel["entry_point"],
                        parameters=list(wheel.get("parameters") or []),
                        named_parameters=dict(wheel.get("named_parameters") or {}))
        return spec

    def _unpack(self, ws: Workspace, cluster, path: str) -> Path:
        """Install a wheel on the cluster: unpacked once per content into the cluster's library folder."""
        local = paths.any_local(ws, path)
        digest = hashlib.sha256(local.read_bytes()).hexdigest()[:16]
        target = ws.clusters_dir / cluster.cluster_id / "libs" / f"{local.stem}-{digest}"
        if not target.exists():
            partial = target.with_name(target.name + ".partial")
            with zipfile.ZipFile(local) as wheel:
                wheel.extractall(partial)
            os.replace(partial, target)
        return target

    def _environment(self, ws: Workspace, cluster, spec: dict, identity: str) -> dict[str, str]:
        # Per workspace, like a workspace's metastore: tables written by one run are there for the next.
        conf_dir = ws.root / "spark-conf"
        conf_dir.mkdir(exist_ok=True)
        (conf_dir / "spark-defaults.conf").write_text("\n".join([
            "spark.master local[*]",
            "spark.ui.enabled false",
            "spark.driver.host 127.0.0.1",
            "spark.driver.bindAddress 127.0.0.1",
            "spark.driver.memory 1g",
            "spark.sql.shuffle.partitions 4",
            f"spark.sql.warehouse.dir {ws.root / 'warehouse'}",
            "spark.sql.catalogImplementation hive",
            f"spark.hadoop.javax.jdo.option.ConnectionURL jdbc:derby:;databaseName={ws.root / 'metastore_db'};create=true",
            f"spark.driver.extraJavaOptions -Dderby.system.home={ws.root}",
        ]) + "\n")
        # The workspace's own tracking store: MLflow experiments are workspace objects ("Organize training runs
        # with MLflow experiments", Azure Databricks docs), so they go when the workspace is deleted.
        mlflow_dir = ws.root / "mlflow"
        mlflow_dir.mkdir(exist_ok=True)
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "ARM_", "AZURE_"))}
        environment.update({
            "DATABRICKS_HOST": self.world.arm_url,
            "DATABRICKS_TOKEN": self.registry.issue_token(ws, identity),  # the run's identity, as on a cluster
            "REQUESTS_CA_BUNDLE": str(self.registry.ca_bundle),
            "MLFLOW_TRACKING_URI": f"sqlite:///{mlflow_dir / 'mlflow.db'}",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "SPARK_CONF_DIR": str(conf_dir),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "PYTHONPATH": os.pathsep.join([*spec["lib_dirs"], environment.get("PYTHONPATH", "")]).strip(os.pathsep),
            "PYTHONUNBUFFERED": "1",
        })
        if cluster is not None:  # serverless compute has no cluster id
            environment["DATABRICKS_CLUSTER_ID"] = cluster.cluster_id
        for key, value in ((cluster.spec if cluster is not None else {}).get("spark_env_vars") or {}).items():
            environment[key] = str(value)
        return environment

    def _redact(self, ws: Workspace, text: str) -> str:
        for secret in sorted(ws.secret_values(), key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def _read_logs(self, ws: Workspace, path: Path) -> tuple[str, bool]:
        size = path.stat().st_size
        with path.open("rb") as stream:
            if size > LOG_LIMIT:
                stream.seek(size - LOG_LIMIT)
            data = stream.read()
        return self._redact(ws, data.decode("utf-8", errors="replace")), size > LOG_LIMIT
