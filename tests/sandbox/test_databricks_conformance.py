"""Conformance of the Databricks twin with what Databricks documents, driven through databricks-sdk and its
helpers (WorkspaceExt.upload/download/list, JobsAPI.list_runs, ClustersAPI.events/restart_and_wait), as a lab
user's or an instructor's own script would call them. Each test cites the rule it checks."""

import io
import itertools
import json
import zipfile
from datetime import timedelta

import pytest
from databricks.sdk.errors import InvalidParameterValue, NotFound, NotImplemented as DatabricksNotImplemented
from databricks.sdk.service import compute, jobs
from databricks.sdk.service.workspace import ExportFormat, ImportFormat, Language, ObjectType

HOME = "/Users/lab.user@sandbox.local"
NOTEBOOK = b"# Databricks notebook source\nprint('cell one')\n\n# COMMAND ----------\n\n# MAGIC %md\n# MAGIC # Notes\n\n# COMMAND ----------\n\nx = 2\n"
TASK = f"{HOME}/task.py"


def hold(workspace, on: bool) -> None:
    workspace.sandbox.control("PUT", f"/databricks/workspaces/{workspace.access['name']}/hold", json={"hold": on})


# Workspace ---------------------------------------------------------------------------------------------------------


def test_recursive_listing_of_the_root_terminates_and_never_lists_a_folder_in_itself(workspace):
    # databricks-sdk WorkspaceExt.list(recursive=True) queues every DIRECTORY child: a folder listed among its own
    # children makes it loop for ever (issue 23). The cap turns a loop into a failure instead of a hang.
    # The helper yields the files and notebooks below the folder (it queues the folders).
    w = workspace.client
    w.workspace.mkdirs(f"{HOME}/lab/deeper")
    for path in (f"{HOME}/top.txt", f"{HOME}/lab/deeper/data.txt"):
        w.workspace.upload(path, io.BytesIO(b"x\n"), format=ImportFormat.AUTO)
    found = [o.path for o in itertools.islice(w.workspace.list("/", recursive=True), 1000)]
    assert sorted(found) == [f"{HOME}/lab/deeper/data.txt", f"{HOME}/top.txt"]
    assert sorted(o.path for o in w.workspace.list("/")) == ["/Shared", "/Users"]


def test_import_refuses_a_missing_parent_folder(workspace):
    # Azure Databricks: 404 RESOURCE_DOES_NOT_EXIST "The parent folder (...) does not exist." (databricks/cli's
    # test server, libs/testserver, is strict for that reason); nothing is created.
    w = workspace.client
    with pytest.raises(NotFound, match=r"The parent folder \(/Users/lab.user@sandbox.local/absent\) does not exist") as refused:
        w.workspace.upload(f"{HOME}/absent/x.py", io.BytesIO(b"print(1)\n"), format=ImportFormat.AUTO)
    assert refused.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(NotFound):
        w.workspace.get_status(f"{HOME}/absent")


def test_bad_base64_content_is_a_400_not_a_500(workspace):
    # The import's `content` is "the base64-encoded content" (Workspace API import reference): undecodable is the
    # caller's error, INVALID_PARAMETER_VALUE.
    with pytest.raises(InvalidParameterValue, match="base64"):
        workspace.client.api_client.do("POST", "/api/2.0/workspace/import", body={
            "path": f"{HOME}/x", "format": "SOURCE", "language": "PYTHON", "content": "not base64!"})


def test_an_auto_imported_notebook_drops_its_extension_and_exports_with_its_header(workspace):
    # databricks-sdk WorkspaceExt.upload: with AUTO, "if the path is imported as a notebook, then the item's
    # extension is automatically removed"; SOURCE export is the notebook source with its header line.
    w = workspace.client
    w.workspace.upload(f"{HOME}/nb.py", io.BytesIO(NOTEBOOK), format=ImportFormat.AUTO)
    status = w.workspace.get_status(f"{HOME}/nb")
    assert status.object_type == ObjectType.NOTEBOOK and status.language == Language.PYTHON
    with pytest.raises(NotFound):
        w.workspace.get_status(f"{HOME}/nb.py")
    source = w.workspace.download(f"{HOME}/nb").read()
    assert source.startswith(b"# Databricks notebook source\n") and source.count(b"Databricks notebook source") == 1
    assert b"print('cell one')" in source
    assert w.workspace.export(f"{HOME}/nb").file_type == "py"
    # A SOURCE import without the header gets it on export too.
    w.workspace.upload(f"{HOME}/plain", io.BytesIO(b"y = 1\n"), language=Language.PYTHON)
    assert w.workspace.download(f"{HOME}/plain").read() == b"# Databricks notebook source\ny = 1\n"


def test_jupyter_export_is_a_notebook_and_imports_back(workspace):
    # ExportFormat.JUPYTER: "The notebook is exported as a Jupyter/IPython Notebook file" (nbformat 4); markdown
    # cells are the `%md` cells.
    w = workspace.client
    w.workspace.upload(f"{HOME}/nb.py", io.BytesIO(NOTEBOOK), format=ImportFormat.AUTO)
    exported = json.loads(w.workspace.download(f"{HOME}/nb", format=ExportFormat.JUPYTER).read())
    assert exported["nbformat"] == 4
    assert [c["cell_type"] for c in exported["cells"]] == ["code", "markdown", "code"]
    assert exported["cells"][0]["source"] == "print('cell one')" and exported["cells"][1]["source"] == "# Notes"
    w.workspace.upload(f"{HOME}/copy", io.BytesIO(json.dumps(exported).encode()), format=ImportFormat.JUPYTER)
    assert w.workspace.get_status(f"{HOME}/copy").object_type == ObjectType.NOTEBOOK
    again = json.loads(w.workspace.download(f"{HOME}/copy", format=ExportFormat.JUPYTER).read())
    assert [c["source"] for c in again["cells"]] == [c["source"] for c in exported["cells"]]


def test_formats_the_twin_lacks_or_databricks_refuses(workspace):
    w = workspace.client
    w.workspace.upload(f"{HOME}/nb.py", io.BytesIO(NOTEBOOK), format=ImportFormat.AUTO)
    w.workspace.upload(f"{HOME}/data.txt", io.BytesIO(b"a,b\n"), format=ImportFormat.AUTO)
    # HTML and DBC are real formats the twin does not produce: the service's "not implemented", never raw source.
    for fmt in (ExportFormat.HTML, ExportFormat.DBC):
        with pytest.raises(DatabricksNotImplemented):
            w.workspace.export(f"{HOME}/nb", format=fmt)
    # "The value is case sensitive" (export reference): an unknown or lower-case format is refused.
    for fmt in ("XML", "source"):
        with pytest.raises(InvalidParameterValue, match="format"):
            w.api_client.do("GET", "/api/2.0/workspace/export", query={"path": f"{HOME}/nb", "format": fmt})
    # Only notebooks export as Jupyter.
    with pytest.raises(InvalidParameterValue, match="not a notebook"):
        w.workspace.export(f"{HOME}/data.txt", format=ExportFormat.JUPYTER)
    # "Exporting a directory is only supported for the DBC, SOURCE, and AUTO format": SOURCE is a zip of notebooks.
    with pytest.raises(InvalidParameterValue, match="directory"):
        w.workspace.export(HOME, format=ExportFormat.JUPYTER)
    archive = zipfile.ZipFile(io.BytesIO(w.workspace.download(HOME).read()))
    assert archive.namelist() == ["nb.py"]  # "Directory exports will not include non-notebook entries"
    assert archive.read("nb.py").startswith(b"# Databricks notebook source")


# DBFS --------------------------------------------------------------------------------------------------------------


def test_dbfs_put_uses_a_posted_file_when_contents_is_absent(workspace):
    # DBFS put reference: "contents ... If contents is absent, a posted file is used" (the legacy CLI's `fs cp`
    # posts a part named `file`); a 0-byte file reported as success would be silent data loss.
    w = workspace.client
    payload = bytes(range(256)) * 40
    w.api_client.do("POST", "/api/2.0/dbfs/put", data={"path": "/FileStore/posted.bin", "overwrite": "true"},
                    files={"file": ("posted.bin", io.BytesIO(payload))})
    assert w.dbfs.get_status("/FileStore/posted.bin").file_size == len(payload)
    assert w.dbfs.download("/FileStore/posted.bin").read() == payload
    with pytest.raises(InvalidParameterValue, match="path"):  # a missing required field is the caller's 400
        w.api_client.do("POST", "/api/2.0/dbfs/put", data={"overwrite": "true"}, files={"file": ("x", io.BytesIO(b"x"))})


# Jobs runs/list ----------------------------------------------------------------------------------------------------


@pytest.fixture
def held_runs(workspace):
    """Runs that stay RUNNING before their code starts (no subprocess), cancelled afterwards."""
    cluster_id = workspace.cluster()
    workspace.client.workspace.upload(TASK, io.BytesIO(b"print('ran')\n"), format=ImportFormat.AUTO, overwrite=True)
    hold(workspace, True)
    submitted = []

    def submit(name: str = "r") -> int:
        run_id = workspace.client.jobs.submit(run_name=name, tasks=[jobs.SubmitTask(
            task_key="main", existing_cluster_id=cluster_id,
            spark_python_task=jobs.SparkPythonTask(python_file=TASK))]).run_id
        submitted.append(run_id)
        return run_id

    yield submit
    for run_id in submitted:
        workspace.client.jobs.cancel_run(run_id)
    hold(workspace, False)


def test_list_runs_pages_through_every_run(workspace, held_runs):
    # databricks-sdk JobsAPI.list_runs follows `next_page_token` (and ignores has_more); the page is at most 25.
    submitted = {held_runs() for _ in range(27)}
    listed = [r.run_id for r in workspace.client.jobs.list_runs()]
    assert sorted(listed) == sorted(submitted)
    first = workspace.client.api_client.do("GET", "/api/2.2/jobs/runs/list", query={"limit": 25})
    assert len(first["runs"]) == 25 and first["has_more"] and first["next_page_token"]
    second = workspace.client.api_client.do("GET", "/api/2.2/jobs/runs/list",
                                             query={"limit": 25, "page_token": first["next_page_token"]})
    assert len(second["runs"]) == 2 and not second["has_more"] and "next_page_token" not in second
    assert second["prev_page_token"]


def test_list_runs_filters(workspace, held_runs):
    # List runs reference: start_time_from/to "at or after"/"at or before" (ms); run_type; job_id;
    # active_only/completed_only, which "cannot be true" together.
    w = workspace.client
    first = held_runs("first")
    workspace.sandbox.advance(600)
    second = held_runs("second")
    started = {r.run_id: r.start_time for r in w.jobs.list_runs()}
    assert [r.run_id for r in w.jobs.list_runs(start_time_from=started[second])] == [second]
    assert [r.run_id for r in w.jobs.list_runs(start_time_to=started[first])] == [first]
    assert {r.run_id for r in w.jobs.list_runs(run_type=jobs.RunType.SUBMIT_RUN)} == {first, second}
    assert list(w.jobs.list_runs(run_type=jobs.RunType.JOB_RUN)) == []
    job_id = w.jobs.get_run(first).job_id
    assert [r.run_id for r in w.jobs.list_runs(job_id=job_id)] == [first]
    w.jobs.cancel_run(first).result(timeout=timedelta(seconds=30))
    assert [r.run_id for r in w.jobs.list_runs(completed_only=True)] == [first]
    assert [r.run_id for r in w.jobs.list_runs(active_only=True)] == [second]
    with pytest.raises(InvalidParameterValue, match="active_only and completed_only"):
        list(w.jobs.list_runs(active_only=True, completed_only=True))


def test_jobs_list_is_empty_as_the_twin_creates_no_jobs(workspace, held_runs):
    held_runs()  # a one-time run belongs to no job (runs/submit reference)
    assert list(workspace.client.jobs.list()) == []


# Older API versions ------------------------------------------------------------------------------------------------


def test_clusters_2_0_and_jobs_2_0_and_2_1_paths_are_served(workspace):
    # Databricks still serves Clusters 2.0 and Jobs 2.0/2.1; the legacy databricks-cli calls them.
    w = workspace.client
    cluster_id = workspace.cluster()
    assert [c["cluster_id"] for c in w.api_client.do("GET", "/api/2.0/clusters/list")["clusters"]] == [cluster_id]
    assert w.api_client.do("GET", "/api/2.0/clusters/get", query={"cluster_id": cluster_id})["cluster_name"] == "lab"
    w.workspace.upload(TASK, io.BytesIO(b"print('ran')\n"), format=ImportFormat.AUTO, overwrite=True)
    hold(workspace, True)
    try:
        run_id = w.api_client.do("POST", "/api/2.1/jobs/runs/submit", body={"run_name": "legacy", "tasks": [{
            "task_key": "main", "existing_cluster_id": cluster_id, "spark_python_task": {"python_file": TASK}}]})["run_id"]
        assert w.api_client.do("GET", "/api/2.0/jobs/runs/get", query={"run_id": run_id})["run_name"] == "legacy"
        assert [r["run_id"] for r in w.api_client.do("GET", "/api/2.0/jobs/runs/list")["runs"]] == [run_id]
        w.api_client.do("POST", "/api/2.1/jobs/runs/cancel", body={"run_id": run_id})
    finally:
        hold(workspace, False)
    run = w.jobs.wait_get_run_job_terminated_or_skipped(run_id, timeout=timedelta(seconds=30))
    assert run.state.result_state == jobs.RunResultState.CANCELED
    assert w.api_client.do("GET", "/api/2.1/jobs/list") == {"has_more": False}
    # Jobs 2.0 runs/submit takes the one task's fields at the top level (Jobs API 2.0 reference, RunSubmit).
    single = w.api_client.do("POST", "/api/2.0/jobs/runs/submit", body={
        "run_name": "single", "existing_cluster_id": cluster_id, "spark_python_task": {"python_file": TASK}})["run_id"]
    run = w.jobs.wait_get_run_job_terminated_or_skipped(single, timeout=timedelta(minutes=2))
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    assert w.jobs.get_run_output(run.tasks[0].run_id).logs.strip() == "ran"
    assert w.api_client.do("GET", "/api/2.0/jobs/runs/get-output", query={"run_id": single})["logs"].strip() == "ran"


# Clusters restart and events ---------------------------------------------------------------------------------------


def test_restart_and_the_event_log(workspace):
    w = workspace.client
    cluster_id = workspace.cluster()
    w.clusters.wait_get_cluster_running(cluster_id, timeout=timedelta(seconds=30))
    details = w.clusters.restart_and_wait(cluster_id, timeout=timedelta(seconds=30))
    assert details.state == compute.State.RUNNING
    w.clusters.delete_and_wait(cluster_id, timeout=timedelta(seconds=30))
    # ClustersAPI.events: newest first by default, paged through `next_page` (here 2 a page).
    kinds = [e.type.value for e in w.clusters.events(cluster_id, limit=2)]
    assert kinds == ["TERMINATING", "RUNNING", "RESTARTING", "RUNNING", "CREATING"]
    ascending = [e.type.value for e in w.clusters.events(cluster_id, order=compute.GetEventsOrder.ASC,
                                                          event_types=[compute.EventType.RUNNING])]
    assert ascending == ["RUNNING", "RUNNING"]
    # "If the cluster is not currently in a RUNNING state, nothing will happen" (ClustersAPI.restart).
    w.clusters.restart(cluster_id)
    assert w.clusters.get(cluster_id).state == compute.State.TERMINATED


# Notebook tasks ----------------------------------------------------------------------------------------------------


def test_a_notebook_task_runs_on_the_existing_cluster_with_widgets_and_exit_value(workspace):
    # Notebook task: base_parameters reach the notebook as widgets; dbutils.notebook.exit(value) ends it with
    # notebook_output.result (runs/get-output reference; logs are "not supported for the notebook_task").
    w = workspace.client
    cluster_id = workspace.cluster()
    source = (b"# Databricks notebook source\ndbutils.widgets.text('who', 'nobody')\n\n# COMMAND ----------\n\n"
              b"# MAGIC %md\n# MAGIC A note\n\n# COMMAND ----------\n\n"
              b"dbutils.notebook.exit('hello ' + dbutils.widgets.get('who'))\nraise SystemExit(3)\n")
    w.workspace.upload(f"{HOME}/greet.py", io.BytesIO(source), format=ImportFormat.AUTO)
    run = w.jobs.submit(run_name="nb", tasks=[jobs.SubmitTask(
        task_key="main", existing_cluster_id=cluster_id,
        notebook_task=jobs.NotebookTask(notebook_path=f"{HOME}/greet", base_parameters={"who": "learner"}))]
    ).result(timeout=timedelta(minutes=2))
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    output = w.jobs.get_run_output(run.tasks[0].run_id)
    assert output.notebook_output.result == "hello learner" and output.logs is None
    with pytest.raises(InvalidParameterValue, match="Unable to access the notebook"):
        w.jobs.submit(run_name="nb", tasks=[jobs.SubmitTask(
            task_key="main", existing_cluster_id=cluster_id,
            notebook_task=jobs.NotebookTask(notebook_path=f"{HOME}/absent"))])


def test_a_failing_notebook_fails_the_run_with_its_error(workspace):
    w = workspace.client
    cluster_id = workspace.cluster()
    w.workspace.upload(f"{HOME}/broken", io.BytesIO(b"dbutils.widgets.get('missing')\n"), language=Language.PYTHON)
    run = w.jobs.submit(run_name="nb", tasks=[jobs.SubmitTask(
        task_key="main", existing_cluster_id=cluster_id,
        notebook_task=jobs.NotebookTask(notebook_path=f"{HOME}/broken"))]).result(timeout=timedelta(minutes=2))
    assert run.state.result_state == jobs.RunResultState.FAILED
    assert "InputWidgetNotDefined" in w.jobs.get_run_output(run.tasks[0].run_id).error


# Secrets and Unity Catalog -----------------------------------------------------------------------------------------


def test_secret_timestamps_are_when_the_secret_was_put(workspace):
    # SecretMetadata.last_updated_timestamp: "The last updated timestamp (in milliseconds) for the secret."
    w = workspace.client
    w.secrets.create_scope("lab")
    w.secrets.put_secret("lab", "early", string_value="1")
    workspace.sandbox.advance(3600)
    w.secrets.put_secret("lab", "late", string_value="2")
    first = {s.key: s.last_updated_timestamp for s in w.secrets.list_secrets("lab")}
    assert 3_600_000 <= first["late"] - first["early"] < 3_660_000
    workspace.sandbox.advance(3600)
    assert {s.key: s.last_updated_timestamp for s in w.secrets.list_secrets("lab")} == first


def test_listing_volumes_of_a_missing_schema_is_not_found(workspace):
    # Unity Catalog answers 404 for a schema that does not exist rather than an empty list.
    with pytest.raises(NotFound):
        list(workspace.client.volumes.list("main", "absent"))


# Unknown endpoints -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [("GET", "/api/2.0/repos"), ("GET", "/api/2.0/workspace/import"),
                                          ("POST", "/api/2.1/clusters/no-such-operation")])
def test_an_unknown_endpoint_is_endpoint_not_found(workspace, method, path):
    # Databricks: 404 {"error_code": "ENDPOINT_NOT_FOUND", "message": "No API found for 'GET /repos'"}
    # (databricks/databricks-cli#383); the SDK then raises its typed NotFound with that code.
    with pytest.raises(NotFound, match="No API found for") as refused:
        workspace.client.api_client.do(method, path)
    assert refused.value.error_code == "ENDPOINT_NOT_FOUND"


def test_a_query_parameter_of_the_wrong_type_is_invalid_parameter_value(workspace):
    with pytest.raises(InvalidParameterValue, match="limit"):
        workspace.client.api_client.do("GET", "/api/2.2/jobs/runs/list", query={"limit": "many"})
