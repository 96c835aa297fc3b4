"""The Databricks workspace emulator through databricks-sdk's WorkspaceClient."""

import base64
import hashlib
import io
from pathlib import Path
import textwrap
import zipfile
from datetime import timedelta

import pytest
from databricks.sdk.errors import DatabricksError, InvalidParameterValue, NotFound, PermissionDenied
from databricks.sdk.service import compute, jobs
from databricks.sdk.service.workspace import ImportFormat, Language, ObjectType

from tests.sandbox.conftest import Workspace


def put_script(ws: Workspace, path: str, source: str) -> None:
    ws.client.workspace.upload(path, io.BytesIO(textwrap.dedent(source).encode()), format=ImportFormat.AUTO,
                               overwrite=True)


def run_script(ws: Workspace, cluster_id: str, source: str, *, parameters=(), timeout=None, wait=True):
    put_script(ws, "/Workspace/Users/lab.user@sandbox.local/task.py", source)
    waiter = ws.client.jobs.submit(
        run_name="t", timeout_seconds=timeout,
        tasks=[jobs.SubmitTask(task_key="main", existing_cluster_id=cluster_id,
                               spark_python_task=jobs.SparkPythonTask(
                                   python_file="/Workspace/Users/lab.user@sandbox.local/task.py",
                                   parameters=list(parameters)))])
    return waiter.result(timeout=timedelta(minutes=3)) if wait else waiter


def output_of(ws: Workspace, run: jobs.Run) -> jobs.RunOutput:
    return ws.client.jobs.get_run_output(run.tasks[0].run_id)


def test_wrong_token_is_refused(workspace):
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    bad = WorkspaceClient(config=Config(host=workspace.access["host"], token="dapi-wrong", auth_type="pat"))
    with pytest.raises(PermissionDenied):
        list(bad.clusters.list())


def test_workspace_import_export_list_and_notebooks(workspace):
    w = workspace.client
    w.workspace.mkdirs("/Users/lab.user@sandbox.local/lab")
    w.workspace.upload("/Users/lab.user@sandbox.local/lab/script.py", io.BytesIO(b"print(1)\n"), format=ImportFormat.AUTO)
    w.workspace.upload("/Users/lab.user@sandbox.local/lab/nb.py", io.BytesIO(b"print(2)\n"), language=Language.PYTHON)
    kinds = {o.path.rsplit("/", 1)[1]: o.object_type for o in w.workspace.list("/Users/lab.user@sandbox.local/lab")}
    assert kinds == {"script.py": ObjectType.FILE, "nb.py": ObjectType.NOTEBOOK}
    assert w.workspace.download("/Users/lab.user@sandbox.local/lab/script.py").read() == b"print(1)\n"
    with pytest.raises(DatabricksError):
        w.workspace.upload("/Users/lab.user@sandbox.local/lab/script.py", io.BytesIO(b"x"), format=ImportFormat.AUTO)
    w.workspace.delete("/Users/lab.user@sandbox.local/lab", recursive=True)
    with pytest.raises(NotFound):
        w.workspace.get_status("/Users/lab.user@sandbox.local/lab")


class NonSeekable(io.RawIOBase):
    """A deterministic byte stream of known size that cannot seek, like a pipe."""

    def __init__(self, size: int):
        self.remaining = size
        self.digest = hashlib.sha256()
        self.counter = 0

    def readable(self):
        return True

    def seekable(self):
        return False

    def readinto(self, buffer):
        if self.remaining <= 0:
            return 0
        block = b""
        while len(block) < min(len(buffer), self.remaining):
            block += hashlib.sha256(self.counter.to_bytes(8, "big")).digest() * 2048
            self.counter += 1
        block = block[: min(len(buffer), self.remaining)]
        buffer[: len(block)] = block
        self.digest.update(block)
        self.remaining -= len(block)
        return len(block)


def make_volume(w):
    catalog = w.settings.default_namespace.get().namespace.value  # the workspace catalog
    w.schemas.create(name="labctl", catalog_name=catalog)
    w.volumes.create(catalog_name=catalog, schema_name="labctl", name="labdata",
                     volume_type=__import__("databricks.sdk.service.catalog", fromlist=["VolumeType"]).VolumeType.MANAGED)
    return f"/Volumes/{catalog}/labctl/labdata"


def test_a_new_workspace_has_its_workspace_catalog_as_default_and_no_main(workspace):
    # "Automatic enablement of Unity Catalog" (Azure Databricks docs): a new workspace gets a workspace catalog,
    # its default catalog, bound to it; without defaultCatalog.initialName it is named after the workspace
    # (DefaultCatalogProperties, Microsoft.Databricks REST API 2026-01-01). `main` predates automatic enablement.
    w = workspace.client
    assert [c.name for c in w.catalogs.list()] == ["dbw-lab"]
    assert w.settings.default_namespace.get().namespace.value == "dbw-lab"
    assert w.metastores.current().default_catalog_name == "dbw-lab"
    with pytest.raises(NotFound):
        w.catalogs.get("main")
    with pytest.raises(NotFound):
        w.schemas.create(name="labctl", catalog_name="main")


def test_volume_needs_to_exist(workspace):
    with pytest.raises(NotFound):
        workspace.client.files.upload("/Volumes/dbw-lab/nope/none/x.txt", io.BytesIO(b"x"), overwrite=True)


def test_files_api_small_upload_download_listing_delete(workspace):
    w = workspace.client
    volume = make_volume(w)
    w.files.upload(f"{volume}/in/a.txt", io.BytesIO(b"hello"), overwrite=True)
    assert w.files.download(f"{volume}/in/a.txt").contents.read() == b"hello"
    assert w.files.get_metadata(f"{volume}/in/a.txt").content_length == 5
    assert [e.name for e in w.files.list_directory_contents(f"{volume}/in")] == ["a.txt"]
    w.files.delete(f"{volume}/in/a.txt")
    with pytest.raises(NotFound):
        w.files.get_metadata(f"{volume}/in/a.txt")


def test_files_upload_of_a_60_mib_non_seekable_stream_round_trips(workspace):
    w = workspace.client
    volume = make_volume(w)
    stream = NonSeekable(60 * 1024 * 1024)
    w.files.upload(f"{volume}/big.bin", io.BufferedReader(stream), overwrite=True)
    assert stream.remaining == 0
    downloaded = hashlib.sha256()
    body = w.files.download(f"{volume}/big.bin").contents
    for chunk in iter(lambda: body.read(1024 * 1024), b""):
        downloaded.update(chunk)
    assert downloaded.hexdigest() == stream.digest.hexdigest()
    assert w.files.get_metadata(f"{volume}/big.bin").content_length == 60 * 1024 * 1024


def test_dbfs_upload_of_3_mb_and_the_1_mb_block_limit(workspace):
    w = workspace.client
    data = bytes(range(256)) * (3 * 1024 * 1024 // 256)
    w.dbfs.upload("/FileStore/labctl/three.bin", io.BytesIO(data), overwrite=True)
    assert w.dbfs.get_status("/FileStore/labctl/three.bin").file_size == len(data)
    assert w.dbfs.download("/FileStore/labctl/three.bin").read() == data
    handle = w.dbfs.create("/FileStore/labctl/raw.bin", overwrite=True).handle
    with pytest.raises(DatabricksError) as refused:
        w.dbfs.add_block(handle, base64.b64encode(b"\0" * (2 * 1024 * 1024)).decode())
    assert refused.value.error_code == "MAX_BLOCK_SIZE_EXCEEDED"


def test_secrets_scopes_and_values(workspace):
    w = workspace.client
    w.secrets.create_scope("labctl")
    w.secrets.put_secret("labctl", "openai-key", string_value="s3cr3t-value")
    assert [s.key for s in w.secrets.list_secrets("labctl")] == ["openai-key"]
    assert w.dbutils.secrets.get("labctl", "openai-key") == "s3cr3t-value"
    w.secrets.delete_scope("labctl")
    assert list(w.secrets.list_scopes()) == []


def test_cluster_lifecycle_and_auto_termination(workspace):
    w = workspace.client
    cluster_id = workspace.cluster()
    assert w.clusters.get(cluster_id).state == compute.State.PENDING
    w.clusters.wait_get_cluster_running(cluster_id, timeout=timedelta(seconds=30))
    workspace.sandbox.advance(19 * 60)
    assert w.clusters.get(cluster_id).state == compute.State.RUNNING
    workspace.sandbox.advance(2 * 60)
    details = w.clusters.get(cluster_id)
    assert details.state == compute.State.TERMINATED and details.termination_reason.code.value == "INACTIVITY"
    w.clusters.ensure_cluster_is_running(cluster_id)
    assert w.clusters.get(cluster_id).state == compute.State.RUNNING
    w.clusters.delete(cluster_id).result(timeout=timedelta(seconds=30))
    assert w.clusters.get(cluster_id).state == compute.State.TERMINATED
    w.clusters.permanent_delete(cluster_id)
    assert [c.cluster_id for c in w.clusters.list()] == []


def test_cluster_settings_are_validated(workspace):
    with pytest.raises(InvalidParameterValue, match="single-node profile"):
        workspace.cluster(spark_conf={}, custom_tags={})
    with pytest.raises(InvalidParameterValue, match="between 10 and 10000"):
        workspace.cluster(autotermination_minutes=5)
    with pytest.raises(InvalidParameterValue, match="single_user_name is required"):
        workspace.cluster(single_user_name=None)


SPARK_TASK = """
    import sys
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.getOrCreate()
    frame = spark.createDataFrame([(p, len(p)) for p in sys.argv[1:]], ["word", "size"])
    print("total size", frame.groupBy().sum("size").collect()[0][0], "master", spark.sparkContext.master)
    spark.stop()
"""


def test_spark_python_task_runs_with_spark_and_returns_its_logs(workspace):
    cluster_id = workspace.cluster()
    run = run_script(workspace, cluster_id, SPARK_TASK, parameters=["nurse", "engineer"])
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    assert run.run_page_url and str(run.run_id) in run.run_page_url
    assert "total size 13 master local[*]" in output_of(workspace, run).logs
    with pytest.raises(InvalidParameterValue, match="multiple tasks"):
        workspace.client.jobs.get_run_output(run.run_id)


TABLE_TASK = """
    import sys
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.getOrCreate()
    frame = spark.createDataFrame([(1,), (2,)], ["n"])
    frame.write.mode("overwrite").saveAsTable(sys.argv[1])
    print("rows", spark.table(sys.argv[1]).count())
"""


def test_three_level_table_names_live_in_their_schema_and_go_with_it(workspace):
    # Unity Catalog resolves `catalog.schema.table`; a schema that does not exist is SCHEMA_NOT_FOUND, and
    # dropping a schema with force (CASCADE) drops its managed tables ("DROP SCHEMA", Databricks SQL reference).
    w = workspace.client
    w.schemas.create(name="lab", catalog_name="dbw-lab")
    cluster_id = workspace.cluster()
    run = run_script(workspace, cluster_id, TABLE_TASK, parameters=["`dbw-lab`.lab.probe"])
    assert run.state.result_state == jobs.RunResultState.SUCCESS, output_of(workspace, run).error
    assert "rows 2" in output_of(workspace, run).logs
    assert [t.full_name for t in w.tables.list("dbw-lab", "lab")] == ["dbw-lab.lab.probe"]
    missing = run_script(workspace, cluster_id, TABLE_TASK, parameters=["`dbw-lab`.nope.probe"])
    assert missing.state.result_state == jobs.RunResultState.FAILED
    assert "SCHEMA_NOT_FOUND" in output_of(workspace, missing).error
    with pytest.raises(DatabricksError, match="not empty"):
        w.schemas.delete("dbw-lab.lab")
    w.schemas.delete("dbw-lab.lab", force=True)
    w.schemas.create(name="lab", catalog_name="dbw-lab")
    assert list(w.tables.list("dbw-lab", "lab")) == []


def test_a_task_that_raises_is_failed_with_its_trace(workspace):
    cluster_id = workspace.cluster()
    run = run_script(workspace, cluster_id, """
        def probe():
            raise ValueError("the deployment answered 404")
        probe()
    """)
    assert run.state.result_state == jobs.RunResultState.FAILED
    output = output_of(workspace, run)
    assert output.error == "ValueError: the deployment answered 404"
    assert 'line 3, in probe' in output.error_trace and "Traceback" in output.error_trace


def test_timeout_and_cancel(workspace):
    cluster_id = workspace.cluster()
    run = run_script(workspace, cluster_id, "import time\ntime.sleep(60)\n", timeout=2)
    assert run.state.result_state == jobs.RunResultState.TIMEDOUT
    waiter = run_script(workspace, cluster_id, "import time\nprint('started', flush=True)\ntime.sleep(60)\n", wait=False)
    import time

    deadline = time.monotonic() + 30
    while workspace.client.jobs.get_run(waiter.run_id).state.life_cycle_state != jobs.RunLifeCycleState.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    workspace.client.jobs.cancel_run(waiter.run_id).result(timeout=timedelta(seconds=30))
    assert workspace.client.jobs.get_run(waiter.run_id).state.result_state == jobs.RunResultState.CANCELED


def build_wheel(path):
    """A tiny pure-Python wheel with a console-script entry point."""
    files = {
        "tinylab/__init__.py": "import sys\n\ndef main():\n    print('tinylab args', sys.argv[1:])\n",
        "tinylab-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinylab\nVersion: 0.1\n",
        "tinylab-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        "tinylab-0.1.dist-info/entry_points.txt": "[console_scripts]\nrun-lab = tinylab:main\n",
    }
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
        wheel.writestr("tinylab-0.1.dist-info/RECORD", "".join(f"{n},,\n" for n in files) + "tinylab-0.1.dist-info/RECORD,,\n")


def test_python_wheel_task_runs_the_entry_point_with_parameters(workspace, tmp_path):
    w = workspace.client
    volume = make_volume(w)
    build_wheel(tmp_path / "tinylab-0.1-py3-none-any.whl")
    with (tmp_path / "tinylab-0.1-py3-none-any.whl").open("rb") as wheel:
        w.files.upload(f"{volume}/wheels/tinylab-0.1-py3-none-any.whl", wheel, overwrite=True)
    cluster_id = workspace.cluster()
    run = w.jobs.submit(run_name="wheel", tasks=[jobs.SubmitTask(
        task_key="lab", existing_cluster_id=cluster_id,
        python_wheel_task=jobs.PythonWheelTask(package_name="tinylab", entry_point="run-lab", parameters=["--k", "10"],
                                               named_parameters={"seed": "105"}),
        libraries=[compute.Library(whl=f"{volume}/wheels/tinylab-0.1-py3-none-any.whl")])]).result()
    assert run.state.result_state == jobs.RunResultState.SUCCESS, output_of(workspace, run).error
    assert "tinylab args ['--k', '10', '--seed=105']" in output_of(workspace, run).logs
    statuses = list(w.libraries.cluster_status(cluster_id))
    assert statuses[0].status == compute.LibraryInstallStatus.INSTALLED


def test_secret_is_readable_inside_a_task_and_redacted_in_logs(workspace):
    w = workspace.client
    w.secrets.create_scope("labctl")
    w.secrets.put_secret("labctl", "openai-key", string_value="sk-sandbox-0123456789")
    cluster_id = workspace.cluster()
    run = run_script(workspace, cluster_id, """
        from databricks.sdk import WorkspaceClient
        key = WorkspaceClient().dbutils.secrets.get(scope="labctl", key="openai-key")
        assert key.startswith("sk-sandbox")
        print("the key is", key)
        raise RuntimeError("failed with " + key)
    """)
    output = output_of(workspace, run)
    assert "the key is [REDACTED]" in output.logs
    assert "sk-sandbox-0123456789" not in output.logs + output.error + output.error_trace
    assert output.error == "RuntimeError: failed with [REDACTED]"


def test_injected_503s_on_runs_get_are_survived(workspace):
    cluster_id = workspace.cluster()
    workspace.sandbox.control("PUT", "/faults", json={"rules": [
        {"path": "/api/2.2/jobs/runs/get$", "status": 503, "probability": 0.5}], "seed": 3})
    run = run_script(workspace, cluster_id, "print('survived')\n")
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    assert workspace.sandbox.control("GET", "/faults")["injected"][0] >= 1


def test_a_run_on_a_terminated_cluster_starts_it(workspace):
    w = workspace.client
    cluster_id = workspace.cluster()
    w.clusters.wait_get_cluster_running(cluster_id)
    w.clusters.delete(cluster_id).result()
    run = run_script(workspace, cluster_id, "print('ran')\n")
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    assert w.clusters.get(cluster_id).state == compute.State.RUNNING


UPLOAD_60_MIB = """
import io, sys
from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from tests.sandbox.test_databricks_contract import NonSeekable
w = WorkspaceClient(config=Config(host=sys.argv[1], token=sys.argv[2], auth_type="pat"))
w.files.upload(sys.argv[3], io.BufferedReader(NonSeekable(60 * 1024 * 1024)), overwrite=True)
"""


def test_a_60_mib_upload_is_streamed_not_held_in_memory(workspace):
    """The sandbox streams uploads to disk: the Python memory it allocates while a 60 MiB file comes in through
    the Files API's multipart flow peaks far below the file's size. The client is a process of its own (the SDK
    holds a part in memory); tracemalloc then counts the sandbox's allocations, which do not depend on the
    machine's speed or load, unlike a process's resident size."""
    import subprocess
    import sys
    import tracemalloc

    w = workspace.client
    volume = make_volume(w)
    tracemalloc.start()
    try:
        subprocess.run([sys.executable, "-c", UPLOAD_60_MIB, workspace.access["host"], workspace.access["token"],
                        f"{volume}/big.bin"], check=True, cwd=Path(__file__).resolve().parents[2])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert w.files.get_metadata(f"{volume}/big.bin").content_length == 60 * 1024 * 1024
    assert peak < 24 * 1024 * 1024, f"the sandbox allocated {peak / 2**20:.1f} MiB at the peak of a 60 MiB upload"


def test_a_library_from_the_dbfs_root_is_refused_on_current_runtimes(workspace):
    # "Libraries stored in the DBFS root are deprecated and disabled by default in Databricks Runtime 15.1 and
    # above" (Databricks docs); a volume path installs.
    w = workspace.client
    w.dbfs.upload("dbfs:/FileStore/lab-0.1-py3-none-any.whl", io.BytesIO(b"PK"), overwrite=True)
    cluster_id = workspace.cluster()
    w.libraries.install(cluster_id, [compute.Library(whl="dbfs:/FileStore/lab-0.1-py3-none-any.whl")])
    w.clusters.wait_get_cluster_running(cluster_id)
    status = next(s for s in w.libraries.cluster_status(cluster_id) if s.library.whl)
    assert status.status == compute.LibraryInstallStatus.FAILED
    assert "DBFS root is disabled on Databricks Runtime 15.1 and above" in status.messages[0]
