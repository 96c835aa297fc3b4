"""Serverless job tasks in the twin, through databricks-sdk: an environment instead of a cluster.

Rules checked (Databricks docs): runs/submit `environments[].spec` with `environment_version` and pip
`dependencies`, a volume path among them (docs.databricks.com/compute/serverless/dependencies); "For Python
script, Python wheel, and dbt tasks, environment_key is required for serverless compute"
(docs.databricks.com/dev-tools/bundles/resource-examples.html)."""

from datetime import timedelta

import pytest
from databricks.sdk.errors import InvalidParameterValue, OperationFailed
from databricks.sdk.service import compute, jobs

from tests.sandbox.test_databricks_contract import build_wheel, make_volume, output_of

WHEEL = "tinylab-0.1-py3-none-any.whl"


def staged_wheel(w, tmp_path) -> str:
    volume = make_volume(w)
    build_wheel(tmp_path / WHEEL)
    with (tmp_path / WHEEL).open("rb") as wheel:
        w.files.upload(f"{volume}/wheels/{WHEEL}", wheel, overwrite=True)
    return f"{volume}/wheels/{WHEEL}"


def wheel_task(**compute_fields) -> jobs.SubmitTask:
    return jobs.SubmitTask(task_key="lab", python_wheel_task=jobs.PythonWheelTask(
        package_name="tinylab", entry_point="run-lab", named_parameters={"seed": "105"}), **compute_fields)


def environment(*dependencies: str, version: str = "2") -> jobs.JobEnvironment:
    return jobs.JobEnvironment(environment_key="labctl", spec=compute.Environment(
        environment_version=version, dependencies=list(dependencies)))


def test_a_wheel_task_runs_on_serverless_compute_with_the_wheel_from_the_volume(workspace, tmp_path):
    w = workspace.client
    wheel = staged_wheel(w, tmp_path)
    run = w.jobs.submit(run_name="serverless", tasks=[wheel_task(environment_key="labctl")],
                        environments=[environment(wheel)]).result(timeout=timedelta(minutes=3))
    assert run.state.result_state == jobs.RunResultState.SUCCESS, output_of(workspace, run).error
    assert "tinylab args ['--seed=105']" in output_of(workspace, run).logs
    assert run.tasks[0].existing_cluster_id is None and run.tasks[0].environment_key == "labctl"
    assert list(w.clusters.list()) == []  # no cluster was needed, none was made


def test_a_task_with_neither_cluster_nor_environment_is_refused(workspace, tmp_path):
    w = workspace.client
    with pytest.raises(InvalidParameterValue, match="environment_key"):
        w.jobs.submit(run_name="nowhere", tasks=[wheel_task()])
    assert list(w.jobs.list_runs()) == []


def test_an_environment_key_the_run_does_not_define_is_refused(workspace, tmp_path):
    w = workspace.client
    wheel = staged_wheel(w, tmp_path)
    with pytest.raises(InvalidParameterValue, match="not defined"):
        w.jobs.submit(run_name="typo", tasks=[wheel_task(environment_key="lab")], environments=[environment(wheel)])


def test_libraries_on_a_serverless_task_are_refused(workspace, tmp_path):
    w = workspace.client
    wheel = staged_wheel(w, tmp_path)
    with pytest.raises(InvalidParameterValue, match="dependencies"):
        w.jobs.submit(run_name="libs", tasks=[wheel_task(environment_key="labctl",
                                                         libraries=[compute.Library(whl=wheel)])],
                      environments=[environment(wheel)])


def test_a_missing_wheel_in_the_environment_fails_the_run_saying_which(workspace, tmp_path):
    w = workspace.client
    missing = f"{make_volume(w)}/wheels/gone.whl"
    waiter = w.jobs.submit(run_name="missing", tasks=[wheel_task(environment_key="labctl")],
                           environments=[environment(missing)])
    with pytest.raises(OperationFailed, match="gone.whl"):  # like a cluster library that fails: INTERNAL_ERROR
        waiter.result(timeout=timedelta(minutes=1))
    run = w.jobs.get_run(waiter.run_id)
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.INTERNAL_ERROR
    assert missing in output_of(workspace, run).error


def test_an_unknown_environment_version_is_refused(workspace, tmp_path):
    w = workspace.client
    wheel = staged_wheel(w, tmp_path)
    with pytest.raises(InvalidParameterValue, match="environment_version"):
        w.jobs.submit(run_name="v", tasks=[wheel_task(environment_key="labctl")],
                      environments=[environment(wheel, version="99")])
