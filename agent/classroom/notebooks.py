"""The lab notebooks (labs/notebooks/*.py, Databricks SOURCE format, written by this project) in each learner's
workspace folder, their widgets' defaults set to the learner's secret scope, deployment and volume; and a run of
every notebook as a one-time `notebook_task` on the learner's cluster, to prove them top to bottom.

No secret is written into a notebook: the notebooks read the endpoint and key with `dbutils.secrets.get` from the
scope; only the scope's and the secrets' names are filled in."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

from agent.errors import UsageError

SOURCE_HEADER = "# Databricks notebook source\n"
FOLDER_NAME = "labctl-labs"


def notebook_sources() -> dict[str, str]:
    """name -> SOURCE text of every lab notebook, in the order a learner follows them."""
    folder = Path(__file__).resolve().parents[2] / "labs" / "notebooks"
    found = {path.stem: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.py"))}
    if not found:
        raise UsageError(f"{folder} holds no lab notebook (labctl runs from its source tree for `class`).")
    return found


def render(source: str, outputs, results_folder: str) -> str:
    from infra.databricks_secrets import SECRET_KEY_API_KEY, SECRET_KEY_ENDPOINT

    values = {"__SECRET_SCOPE__": outputs.secret_scope, "__ENDPOINT_SECRET__": SECRET_KEY_ENDPOINT,
              "__KEY_SECRET__": SECRET_KEY_API_KEY, "__DEPLOYMENT__": outputs.deployment().name,
              "__RESULTS_FOLDER__": results_folder}
    for token, value in values.items():
        source = source.replace(token, value)
    return source


def learner_folder(w, email: str | None) -> str:
    """The learner's own workspace folder: /Users/<their user name>/labctl-labs (the deploying identity's home
    when the class has no roster)."""
    return f"/Users/{email or w.current_user.me().user_name}/{FOLDER_NAME}"


def _workspace(stack: str):
    from agent.outputs import StackOutputs
    from agent.target import load_target

    outputs = StackOutputs.load(stack)
    return outputs, load_target(stack).workspace_client(outputs)


def publish(stack: str, email: str | None) -> list[str]:
    """Import every lab notebook into the learner's folder (overwriting an earlier copy); returns their paths."""
    from databricks.sdk.service.workspace import ImportFormat, Language

    outputs, w = _workspace(stack)
    folder = learner_folder(w, email)
    results = f"{outputs.data_path.rstrip('/')}/notebooks"
    w.workspace.mkdirs(folder)
    paths = []
    for name, source in notebook_sources().items():
        path = f"{folder}/{name}"
        w.workspace.upload(path, io.BytesIO(render(source, outputs, results).encode("utf-8")),
                           format=ImportFormat.SOURCE, language=Language.PYTHON, overwrite=True)
        paths.append(path)
    return paths


def run_all(stack: str, paths: list[str], timeout_minutes: int = 20) -> list[dict]:
    """Each notebook as a one-time run (notebook_task) on the learner's cluster, one after the other as a learner
    would; per notebook: result_state, its exit value (notebook_output.result) or its error."""
    from databricks.sdk.service import jobs

    outputs, w = _workspace(stack)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    run_as = _run_as(w, outputs.cluster_id)
    results = []
    for path in paths:
        run = w.jobs.submit(run_name=f"labctl notebook {path.rsplit('/', 1)[-1]} {stamp}", run_as=run_as, tasks=[jobs.SubmitTask(
            task_key="notebook", existing_cluster_id=outputs.cluster_id,
            notebook_task=jobs.NotebookTask(notebook_path=path))]).result(
            timeout=dt.timedelta(minutes=timeout_minutes))
        output = w.jobs.get_run_output(run.tasks[0].run_id)
        state = run.state.result_state.value if run.state and run.state.result_state else "UNKNOWN"
        exit_value = output.notebook_output.result if output.notebook_output else None
        try:
            exit_value = json.loads(exit_value) if exit_value else None
        except json.JSONDecodeError:
            pass
        results.append({"notebook": path, "result_state": state, "result": exit_value, "error": output.error,
                        "run_page_url": run.run_page_url})
    return results


def _run_as(w, cluster_id: str):
    """The learner's own identity when their cluster is theirs (labctl:clusterUser): a dedicated (single-user)
    cluster runs its user's commands only ("Access modes", Databricks docs), so the notebooks run as that user;
    setting `run_as` takes a workspace admin, which the deploying identity is. None when the cluster is the
    caller's own."""
    from databricks.sdk.service import jobs

    single_user = w.clusters.get(cluster_id).single_user_name
    if not single_user or single_user == w.current_user.me().user_name:
        return None
    return jobs.JobRunAs(user_name=single_user)
