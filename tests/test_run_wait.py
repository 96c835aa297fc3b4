"""`labctl run` follows a submitted run with databricks-sdk's own waiter: state changes reported once each,
INTERNAL_ERROR read as a failed outcome, a timeout turned into a sentence that says how to resume."""

from __future__ import annotations

import datetime as dt
import functools

import pytest
from databricks.sdk.service import jobs

from agent.errors import LabctlError
from agent.lifecycle import run as run_module

URL = "https://adb.example/#job/1/run/7"


def _run(state: str, result: str | None = None, message: str = "") -> jobs.Run:
    status = {"life_cycle_state": state, "state_message": message, **({"result_state": result} if result else {})}
    return jobs.Run.from_dict({"run_id": 7, "run_page_url": URL, "state": status})


class ScriptedJobs(jobs.JobsAPI):
    """The SDK's jobs API whose `runs/get` answers from a script (the last answer repeats)."""

    def __init__(self, *answers: jobs.Run):
        super().__init__(api_client=None)
        self.answers = list(answers)
        self.calls = 0

    def get_run(self, run_id: int, **_) -> jobs.Run:
        assert run_id == 7
        self.calls += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class Workspace:
    def __init__(self, api: ScriptedJobs):
        self.jobs = api


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr("databricks.sdk.service.jobs.time.sleep", lambda _: None)


def _wait(api: ScriptedJobs, timeout=dt.timedelta(minutes=1)):
    lines: list[str] = []
    waiter = functools.partial(api.wait_get_run_job_terminated_or_skipped, run_id=7)
    run = run_module._wait(Workspace(api), waiter, "lab", "smoke", 7, timeout, lines.append)
    return run, lines


def test_each_state_change_is_reported_once_including_the_final_one():
    api = ScriptedJobs(_run("PENDING", message="Waiting for cluster"), _run("PENDING", message="Waiting for cluster"),
                       _run("RUNNING"), _run("RUNNING"), _run("TERMINATED", "SUCCESS"))
    run, lines = _wait(api)
    assert run.state.result_state == jobs.RunResultState.SUCCESS and api.calls == 5
    assert lines == ["smoke: PENDING (Waiting for cluster)", "smoke: RUNNING", "smoke: TERMINATED"]


def test_an_internal_error_is_an_ended_run_not_an_exception():
    api = ScriptedJobs(_run("RUNNING"), _run("INTERNAL_ERROR", "FAILED", message="Cluster lost"))
    run, lines = _wait(api)
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.INTERNAL_ERROR
    assert lines == ["smoke: RUNNING", "smoke: INTERNAL_ERROR (Cluster lost)"]


def test_a_run_still_going_at_the_timeout_is_left_running_with_a_way_to_resume():
    api = ScriptedJobs(_run("RUNNING"))
    with pytest.raises(LabctlError) as raised:
        _wait(api, timeout=dt.timedelta(0))
    assert "run 7 is still RUNNING" in raised.value.message and URL in raised.value.message
    assert "`labctl run smoke --stack lab` resumes" in raised.value.message


class FlakyJobs(ScriptedJobs):
    """`runs/get` fails with the given errors first (after the client's own retries), then answers."""

    def __init__(self, errors: list[BaseException], *answers: jobs.Run):
        super().__init__(*answers)
        self.errors = errors

    def get_run(self, run_id: int, **kwargs) -> jobs.Run:
        if self.errors:
            raise self.errors.pop(0)
        return super().get_run(run_id, **kwargs)


def test_the_wait_goes_on_through_transient_faults_and_says_so(monkeypatch, capsys):
    import requests
    from databricks.sdk.errors import InternalError

    monkeypatch.setattr(run_module, "WAIT_RETRY_SECONDS", 0)
    cut = TimeoutError("Timed out after 0:05:00")
    cut.__cause__ = requests.exceptions.ConnectionError("refused")
    api = FlakyJobs([InternalError("boom"), cut, requests.exceptions.ChunkedEncodingError("truncated")],
                    _run("RUNNING"), _run("TERMINATED", "SUCCESS"))
    run, lines = _wait(api)
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    assert capsys.readouterr().err.count("retrying after") == 3


def test_a_databricks_that_stops_answering_ends_the_wait_with_one_sentence(monkeypatch):
    from databricks.sdk.errors import TemporarilyUnavailable

    from agent.errors import UNAVAILABLE

    monkeypatch.setattr(run_module, "WAIT_RETRY_SECONDS", 0)
    monkeypatch.setattr(run_module, "WAIT_OUTAGE", dt.timedelta(0))
    api = FlakyJobs([TemporarilyUnavailable("down")] * 5, _run("RUNNING"))
    with pytest.raises(LabctlError) as raised:
        _wait(api)
    assert raised.value.exit_code == UNAVAILABLE
    assert "Databricks did not answer" in raised.value.message and "it resumes" in raised.value.message


def test_a_sandbox_that_stopped_ends_the_wait_at_once_with_one_sentence(monkeypatch):
    import requests

    from agent.errors import UNAVAILABLE

    gave_up = TimeoutError("Timed out after 0:00:20")
    gave_up.__cause__ = requests.exceptions.ConnectionError("Connection refused")
    api = FlakyJobs([gave_up], _run("RUNNING"))
    waiter = functools.partial(api.wait_get_run_job_terminated_or_skipped, run_id=7)
    with pytest.raises(LabctlError) as raised:
        run_module._wait(Workspace(api), waiter, "lab", "smoke", 7, dt.timedelta(minutes=1), print, alive=lambda: False)
    assert raised.value.exit_code == UNAVAILABLE and raised.value.message.startswith("The sandbox stopped while")
