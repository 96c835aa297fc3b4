"""`labctl run`: one one-time run per lab on the lab cluster, followed to the end, results fetched.

Each submission is written to the journal before it is sent, with an idempotency token: a labctl that
is killed and started again finds the entry, re-sends the same token (Databricks answers with the run
it already has) or simply resumes waiting, so nothing is ever submitted twice.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent import lab_artifact
from agent.errors import USAGE, LabctlError, UsageError
from agent.journal import Journal
from labctl_labs.registry import LABS, MAIN_LABS
from labctl_labs.storage import RemoteStore
from agent.outputs import StackOutputs
from agent.target import load_target
from agent.workdir import read_json, stack_dir

TERMINAL = {"TERMINATED", "SKIPPED", "INTERNAL_ERROR"}
POLL_SECONDS = 1.0


@dataclass
class LabRun:
    lab: str
    run_id: int | None
    run_page_url: str | None
    result_state: str | None
    results_dir: str | None = None
    files: list[str] = field(default_factory=list)
    error: str | None = None
    error_trace: str | None = None
    summary: str | None = None
    unavailable: bool = False  # the fine-tuning lab could not fine-tune here (its own exit code)

    @property
    def succeeded(self) -> bool:
        return self.result_state == "SUCCESS"

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def choose_labs(requested: str, available: list[str]) -> list[str]:
    names = {lab for lab, entry in LABS.items() if entry in available}
    if requested == "all":
        chosen = [lab for lab in MAIN_LABS if lab in names]
        return chosen or ["smoke"]
    if requested not in LABS:
        raise UsageError(f"Unknown lab {requested!r}; choose one of {', '.join([*LABS, 'all'])}.")
    if requested not in names:
        raise LabctlError(f"The {requested} lab is not available in this build of labctl (no entry point "
                          f"{LABS[requested]} in the staged wheel).", USAGE)
    return [requested]


def lab_parameters(outputs: StackOutputs, lab: str, results: str, options: dict) -> dict[str, str]:
    deployment = outputs.deployment(options.pop("deployment", None))
    preflight = read_json(stack_dir(outputs.stack) / "preflight.json") or {}
    chosen = next((r for r in preflight.get("regions", []) if r["region"] == preflight.get("chosen")), {})
    if lab == "fine-tuning" and (chosen.get("fine_tune") or {}).get("training_type"):
        options.setdefault("training_type", chosen["fine_tune"]["training_type"])
    return {
        "results": results, "data": outputs.data_path, "scope": outputs.secret_scope,
        "endpoint-secret": outputs.secret_keys.endpoint, "key-secret": outputs.secret_keys.api_key,
        "deployment": deployment.name, "model": deployment.model, "capacity": str(deployment.capacity),
        "options": json.dumps({**options, "fine_tune_base_model": outputs.fine_tune_base_model,
                               "model_version": deployment.version, "stack": outputs.stack}),
    }


def run_labs(stack: str, requested: str, results_root: Path, options: dict | None = None,
             progress: Callable[[str], None] = print) -> list[LabRun]:
    from databricks.sdk.service import compute, jobs

    outputs = StackOutputs.load(stack)
    journal = Journal(stack)
    staged = journal.get("stage")
    if staged is None or staged["status"] != "done":
        raise UsageError(f"Nothing is staged for stack {stack!r}; run `labctl stage --stack {stack}` first.")
    labs = choose_labs(requested, staged["data"]["entry_points"])
    target = load_target(stack)
    w = target.workspace_client(outputs)
    store = RemoteStore(w, outputs.data_path)

    progress(f"cluster {outputs.cluster_id}: making sure it is running")
    w.clusters.ensure_cluster_is_running(outputs.cluster_id)

    finished = []
    for lab in labs:
        entry = next((e for e in journal.entries("run") if e["data"]["lab"] == lab
                      and e["status"] in ("started", "submitted")), None)
        if entry is None:
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            results = f"results/{stamp}/{lab}"
            entry = journal.begin("run", {"lab": lab, "stamp": stamp, "results": results,
                                          "parameters": lab_parameters(outputs, lab, results, dict(options or {}))})
        else:
            progress(f"{lab}: resuming the run recorded in the journal")
        data = entry["data"]
        run_id = data.get("run_id")
        if run_id is None:
            run_id = w.jobs.submit(
                run_name=f"labctl {lab} {data['stamp']}", idempotency_token=entry["id"],
                tasks=[jobs.SubmitTask(
                    task_key=lab.replace("-", "_"), existing_cluster_id=outputs.cluster_id,
                    python_wheel_task=jobs.PythonWheelTask(package_name=lab_artifact.PACKAGE, entry_point=LABS[lab],
                                                           named_parameters=data["parameters"]),
                    libraries=[compute.Library(whl=staged["data"]["wheel"])])],
            ).run_id
            run = w.jobs.get_run(run_id)
            journal.update(entry["id"], status="submitted", run_id=run_id, run_page_url=run.run_page_url)
            progress(f"{lab}: submitted run {run_id}  {run.run_page_url}")
        outcome = _follow(w, store, journal, entry["id"], lab, run_id, results_root, progress)
        if lab == "fine-tuning":
            _fine_tuning_followup(target, outputs, store, journal, outcome, data, options or {}, progress)
        finished.append(outcome)
    return finished


def _fine_tuning_followup(target, outputs, store, journal, outcome: LabRun, data: dict, options: dict,
                          progress: Callable[[str], None]) -> None:
    from agent.lifecycle import fine_tuning_followup

    fine_tuning_followup.record_created(outputs, store, journal)
    if outcome.succeeded:
        result = fine_tuning_followup.complete(target, outputs, journal, Path(outcome.results_dir), options, progress)
        store.upload_bytes(f"{data['results']}/fine_tuning.json", json.dumps(result, indent=2).encode())
        outcome.summary = result["summary"]
        return
    reason = fine_tuning_followup.unavailable(Path(outcome.results_dir) if outcome.results_dir else None)
    if reason:
        outcome.error, outcome.error_trace, outcome.unavailable = reason, None, True


def _follow(w, store: RemoteStore, journal: Journal, entry_id: str, lab: str, run_id: int, results_root: Path,
            progress: Callable[[str], None]) -> LabRun:
    last = None
    while True:
        run = w.jobs.get_run(run_id)
        state = run.state.life_cycle_state.value if run.state and run.state.life_cycle_state else "PENDING"
        if state != last:
            message = run.state.state_message if run.state else ""
            progress(f"{lab}: {state}" + (f" ({message})" if message else ""))
            last = state
        if state in TERMINAL:
            break
        time.sleep(POLL_SECONDS)
    result = run.state.result_state.value if run.state.result_state else "FAILED"
    data = journal.get(entry_id)["data"]
    outcome = LabRun(lab, run_id, run.run_page_url, result)
    local = results_root / data["stamp"] / lab
    if result != "SUCCESS":
        output = w.jobs.get_run_output(run.tasks[0].run_id)
        outcome.error = output.error or run.state.state_message
        outcome.error_trace = output.error_trace
        # A lab may explain its failure in its results (fine-tuning unavailable, invalid data): fetch them.
        outcome.files = [str(p) for p in store.download_tree(data["results"], local)]
        outcome.results_dir = str(local) if outcome.files else None
        journal.update(entry_id, status="failed", result_state=result)
        return outcome
    outcome.files = [str(p) for p in store.download_tree(data["results"], local)]
    outcome.results_dir = str(local)
    summary = next((p for p in outcome.files if p.endswith(".json")), None)
    if summary:
        outcome.summary = json.loads(Path(summary).read_text()).get("summary")
    journal.update(entry_id, status="succeeded", result_state=result, results_dir=str(local))
    return outcome
