"""`labctl run`: one one-time run per lab on the lab cluster, followed to the end, results fetched.

Each submission is written to the journal before it is sent, with an idempotency token: a labctl that
is killed and started again finds the entry, re-sends the same token (Databricks answers with the run
it already has) or simply resumes waiting, so nothing is ever submitted twice.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent import lab_artifact
from agent.errors import UNAVAILABLE, USAGE, Interrupted, LabctlError, UsageError
from agent.journal import Journal
from agent.lifecycle import cluster_libraries, compute, stack_workspace, staged_files
from labctl_labs.registry import LABS, MAIN_LABS
from labctl_labs.storage import RemoteStore
from agent.outputs import StackOutputs
from agent.workdir import read_preflight, stack_dir

# How long `labctl run` follows one lab run (the fine-tuning lab waits for Azure's fine-tuning job on the
# cluster); a run still going then is left running and picked up again by the next `labctl run`.
RUN_TIMEOUT = dt.timedelta(hours=6)
# How long labctl keeps following a run through a Databricks that does not answer at all (each poll is retried on
# its own first); the run itself goes on, and the next `labctl run` picks it up.
WAIT_OUTAGE = dt.timedelta(minutes=10)
WAIT_RETRY_SECONDS = 5.0


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


def check_lab_options(outputs: StackOutputs, labs: list[str], options: dict) -> None:
    """Every -o against the chosen labs' schemas (labctl_labs/options.py) and the deployment's model."""
    from labctl_labs.options import OptionError, check_options

    from agent.model_capabilities import deployment_capabilities

    deployment = options.get("deployment")
    if deployment is not None and not isinstance(deployment, str):
        raise UsageError(f"-o deployment={deployment!r} is not a deployment name.")
    try:
        model = outputs.deployment(deployment).model
    except UsageError as error:
        raise UsageError(f"-o deployment={deployment}: {error.message[0].lower()}{error.message[1:]}") from None
    reasoning = deployment_capabilities(outputs, deployment).reasoning  # from the ARM catalog, not the name
    try:
        check_options(labs, options, model, reasoning)
    except OptionError as error:
        raise UsageError(str(error)) from None
    if "base_model" in options and "fine-tuning" in labs:
        from infra.config import FINE_TUNE_BASE, FINE_TUNE_FAMILIES, FOUNDRY_ONLY_FAMILIES

        match = FINE_TUNE_BASE.match(options["base_model"])
        if not match or match.group("family") not in FINE_TUNE_FAMILIES:
            raise UsageError(f"-o base_model={options['base_model']} is not a base model Azure OpenAI fine-tunes; give "
                             f"<family>-<version> with a family of {', '.join(FINE_TUNE_FAMILIES)}.")
        if match.group("family") in FOUNDRY_ONLY_FAMILIES and outputs.ai_resource_kind != "AIServices":
            raise UsageError(f"-o base_model={options['base_model']} is fine-tuned on Microsoft Foundry resources only; "
                             f"this stack's account is kind {outputs.ai_resource_kind} (labctl:aiResourceKind AIServices "
                             f"gives a Foundry resource).")


def check_file_options(store: RemoteStore, labs: list[str], options: dict, outputs: StackOutputs) -> dict[str, bytes]:
    """The files that options name, as the user means them (`labctl_labs.options.FILE_OPTIONS`): one in the lab volume
    must be there; a local one (an absolute path outside the volume) must be a file the lab can take. Returns the
    local files' contents by option, to upload once every check has passed (a run would fail on the cluster
    otherwise)."""
    from labctl_labs.options import FILE_OPTIONS, in_volume, local_file

    local = {}
    for key, lab in FILE_OPTIONS.items():
        if key not in options or lab not in labs:
            continue
        path = local_file(options[key], store.root)
        if path is None:
            if store.size(in_volume(options[key], store.root)) is None:
                raise UsageError(f"-o {key}={options[key]}: there is no such file in the lab volume "
                                 f"({store.path(in_volume(options[key], store.root))}); upload it first, give a path "
                                 f"relative to {store.root}, or an absolute path to a local file.")
            continue
        try:
            content = path.read_bytes()
        except OSError as error:
            raise UsageError(f"-o {key}={path}: the local file cannot be read ({error.strerror or error}); a path "
                             f"relative to the lab volume names a file there.") from None
        _check_local_file(key, path, content, options, outputs)
        local[key] = content
    return local


def _check_local_file(key: str, path: Path, content: bytes, options: dict, outputs: StackOutputs) -> None:
    """What the lab would refuse on the cluster, refused here: a prompt file that is not UTF-8 text with a prompt, a
    dataset Azure OpenAI would reject (checked as `labctl stage` checks it)."""
    if key == "prompt_file":
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"-o {key}={path}: the file is not UTF-8 text (a JSON list of prompts, or one prompt a "
                             f"line).") from None
        if not text.strip():
            raise UsageError(f"-o {key}={path}: the file holds no prompt (a JSON list of prompts, or one a line).")
        return
    from agent.lifecycle.stage import check_dataset

    base = options.get("base_model") or outputs.fine_tune_base_model
    check_dataset(content, str(path), f"-o {key}", key.split("_")[0], base)


def upload_local_files(store: RemoteStore, options: dict, local: dict[str, bytes], progress) -> dict:
    """Each local file to `inputs/<sha256 prefix>/<name>` in the lab volume (the same content is uploaded once), and
    the options naming it there, as the lab reads them."""
    import hashlib

    from labctl_labs.options import FILE_OPTIONS, in_volume

    options = {key: in_volume(value, store.root) if key in FILE_OPTIONS and key not in local else value
               for key, value in options.items()}
    for key, content in local.items():
        remote = f"inputs/{hashlib.sha256(content).hexdigest()[:16]}/{Path(options[key]).name}"
        if store.size(remote) != len(content):
            progress(f"uploading {options[key]} to {store.path(remote)} for -o {key}")
            store.upload_bytes(remote, content)
        options[key] = remote
    return options


def check_results_folder(results_root: Path) -> None:
    """--results must be a folder labctl can write, known before a run is paid for."""
    import os
    import tempfile

    try:
        results_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=results_root):
            pass
    except OSError as error:
        raise UsageError(f"--results {results_root} is not a folder labctl can write ({error.strerror or error}); "
                         f"choose another with --results.") from None
    if not os.access(results_root, os.W_OK):  # pragma: no cover - TemporaryFile already failed
        raise UsageError(f"--results {results_root} is not writable; choose another with --results.")


def lab_parameters(outputs: StackOutputs, lab: str, results: str, options: dict) -> dict[str, str]:
    from agent.model_capabilities import deployment_capabilities

    deployment = outputs.deployment(options.pop("deployment", None))
    preflight = read_preflight(stack_dir(outputs.stack))
    chosen = next((r for r in preflight.get("regions", []) if r["region"] == preflight.get("chosen")), {})
    if lab == "fine-tuning" and (chosen.get("fine_tune") or {}).get("training_type"):
        options.setdefault("training_type", chosen["fine_tune"]["training_type"])
    return {
        "results": results, "data": outputs.data_path, "scope": outputs.secret_scope,
        "endpoint-secret": outputs.secret_keys.endpoint, "key-secret": outputs.secret_keys.api_key,
        "deployment": deployment.name, "model": deployment.model, "capacity": str(deployment.capacity),
        "options": json.dumps({**options, "fine_tune_base_model": outputs.fine_tune_base_model,
                               "model_version": deployment.version, "stack": outputs.stack,
                               "model_reasoning": deployment_capabilities(outputs, deployment.name).reasoning}),
    }


def deployment_rate_limits(target, outputs: StackOutputs, name: str) -> list[dict] | None:
    """ARM's `properties.rateLimits` of deployment `name` ([{"key": "request"|"token", "renewalPeriod": seconds,
    "count": n}]), or None when ARM cannot say: the probe then reads the limits from its first reply's headers."""
    try:
        deployment = target.cognitive().deployments.get(outputs.resource_group_name, outputs.openai_account_name, name)
    except Exception:  # noqa: BLE001 - pacing has a second source; nothing to stop the run for
        return None
    rules = (deployment.properties.rate_limits if deployment.properties else None) or []
    return [{"key": r.key, "renewalPeriod": r.renewal_period, "count": r.count} for r in rules] or None


def run_labs(stack: str, requested: str, results_root: Path, options: dict | None = None,
             progress: Callable[[str], None] = print, timeout: dt.timedelta = RUN_TIMEOUT) -> list[LabRun]:
    outputs = StackOutputs.load(stack)
    journal = Journal(stack)
    staged = journal.get("stage")
    if staged is None or staged["status"] != "done":
        raise UsageError(f"Nothing is staged for stack {stack!r}; run `labctl stage --stack {stack}` first.")
    labs = choose_labs(requested, staged["data"]["entry_points"])
    check_lab_options(outputs, labs, options or {})  # before anything is submitted (and billed)
    check_results_folder(results_root)
    read_preflight(stack_dir(stack))  # a damaged preflight.json is refused before the cluster starts
    target, w = stack_workspace.connect(stack, outputs,
                                        f"`labctl run {requested} --stack {stack}` again (it stages what is missing)")
    store = RemoteStore(w, outputs.data_path)
    local_files = check_file_options(store, labs, options or {}, outputs)
    # The volume may have forgotten what the journal says is staged (a restarted sandbox, a deletion by hand).
    staged = staged_files.ensure(stack, store, journal, labs, options or {}, progress)
    if "responsible-ai" in labs:  # the probe paces by the deployment's own limits (labctl_labs.probe)
        chat = outputs.deployment((options or {}).get("deployment")).name
        options = {**(options or {}), "rate_limits": deployment_rate_limits(target, outputs, chat)}
    options = upload_local_files(store, options or {}, local_files, progress)  # every check has passed

    compute.make_ready(w, outputs, progress)
    if outputs.compute != "serverless":
        cluster_libraries.repair(w, outputs.cluster_id, progress)  # a library that failed stays failed until then

    batch = _batch(journal, requested, labs, progress)
    try:
        return _run_batch(w, target, outputs, store, journal, staged, batch, labs, options, results_root, stack,
                          timeout, progress)
    except KeyboardInterrupt:
        raise Interrupted(_interrupted(journal, journal.get(batch["id"]), requested, stack)) from None


def _interrupted(journal: Journal, batch: dict, requested: str, stack: str) -> str:
    """One sentence for Ctrl-C: the run that goes on on the cluster (if one was submitted) and how to resume."""
    resume = f"`labctl run {requested} --stack {stack}` resumes"
    entries = [journal.get(entry_id) for entry_id in batch["data"]["runs"].values()]
    current = next((e for e in reversed(entries) if e is not None
                    and e["status"] in ("started", "submitted", "followup")), None)
    if current is None:
        return f"Interrupted before the next lab was submitted; {resume} the batch (labs that succeeded are not run again)."
    data = current["data"]
    if current["status"] == "followup":
        return (f"Interrupted during the fine-tuning follow-up (deploy and chat) of run {data['run_id']}, which has "
                f"ended; {resume} the follow-up without running the lab again.")
    if data.get("run_id") is None:
        return (f"Interrupted while submitting {data['lab']}; {resume} it (a run that was made is found by its "
                f"idempotency token, never submitted twice).")
    # Cancelling one run needs no teardown: the Databricks CLI's `jobs cancel-run RUN_ID` (Jobs API runs/cancel,
    # https://learn.microsoft.com/azure/databricks/dev-tools/cli/reference/jobs-commands); `down` cancels it as well.
    return (f"Interrupted: run {data['run_id']} ({data['lab']}) goes on on the cluster; {resume} following it and "
            f"fetches its results, `databricks jobs cancel-run {data['run_id']}` cancels it (or `labctl down --stack "
            f"{stack}`, with everything else).")


def _run_batch(w, target, outputs: StackOutputs, store: RemoteStore, journal: Journal, staged: dict, batch: dict,
               labs: list[str], options: dict | None, results_root: Path, stack: str, timeout: dt.timedelta,
               progress: Callable[[str], None]) -> list[LabRun]:
    finished = []
    for lab in labs:
        done = journal.get(batch["data"]["runs"].get(lab) or "")
        if done is not None and done["status"] == "succeeded" and done["data"].get("outcome"):
            progress(f"{lab}: succeeded earlier in this batch (run {done['data']['run_id']}); not run again")
            finished.append(LabRun(**done["data"]["outcome"]))
            continue
        entry = _journal_entry(journal, outputs, lab, options, progress, staged, stack)
        if _lost(w, journal, entry, lab, progress):
            entry = _journal_entry(journal, outputs, lab, options, progress, staged, stack)
        batch = journal.update(batch["id"], runs={**batch["data"]["runs"], lab: entry["id"]})
        run_id, wait = _submitted(w, outputs, staged["data"]["wheel"], journal, entry, lab, progress)
        run = _wait(w, wait, stack, lab, run_id, timeout, progress, alive=_sandbox_alive if target.kind == "sandbox" else None)
        try:
            outcome = _collect(w, store, journal, entry["id"], lab, run, results_root)
        except OSError as error:  # the results folder went away or became unwritable while the run went on
            raise UsageError(f"{lab}: run {run_id} ended, but its results could not be written to {results_root} "
                             f"({error.strerror or error}); they stay in the lab volume: make the folder writable and "
                             f"rerun `labctl run {lab} --stack {stack}` to fetch them (the run is not repeated).") from None
        if lab == "fine-tuning":
            # Its own step in the journal (status "followup" until done): a labctl killed here deploys and chats
            # again on the next `labctl run`, without submitting the Databricks run again.
            _fine_tuning_followup(target, outputs, store, journal, outcome, entry["data"], options or {}, progress)
            if outcome.succeeded:
                journal.update(entry["id"], status="succeeded", outcome=outcome.as_dict())
        finished.append(outcome)
    journal.update(batch["id"], status="done")
    return finished


def _batch(journal: Journal, requested: str, labs: list[str], progress: Callable[[str], None]) -> dict:
    """The batch of an interrupted `labctl run <requested>` (resumed: its succeeded labs are not run again), or a
    new one. A batch ends when its invocation gets through all its labs; the next `labctl run` starts a new one."""
    unfinished = [e for e in journal.entries("batch", status="started") if e["data"]["requested"] == requested]
    if unfinished:
        batch = max(unfinished, key=lambda e: e["created_at"])
        progress(f"resuming the interrupted `labctl run {requested}` of {batch['created_at']}")
        return batch
    return journal.begin("batch", {"requested": requested, "labs": labs, "runs": {}})


def _journal_entry(journal: Journal, outputs: StackOutputs, lab: str, options: dict | None,
                   progress: Callable[[str], None], staged: dict, stack: str) -> dict:
    """The lab's unfinished run entry from an earlier, interrupted labctl, or a new one (written before submitting).
    An unfinished run is resumed only for the same inputs (`_inputs_digest`): a run of other data or options goes on
    (or ended) on the cluster as it was, and this invocation starts its own, saying so in one line."""
    digest = _inputs_digest(outputs, lab, options, staged["data"].get("files") or {})
    unfinished = [e for e in journal.entries("run") if e["data"]["lab"] == lab
                  and e["status"] in ("started", "submitted", "followup")]
    # An entry written before inputs were recorded is taken as the same; a follow-up (deploy and chat of a run that
    # has ended) is always finished first.
    entry = next((e for e in unfinished if e["status"] == "followup" or e["data"].get("inputs", digest) == digest),
                 None)
    if entry is not None:
        progress(f"{lab}: resuming the run recorded in the journal")
        return entry
    for other in unfinished:
        run = f"run {other['data']['run_id']}" if other["data"].get("run_id") is not None else "a run"
        progress(f"{lab}: {run} recorded in the journal was started with other inputs (options or staged files) and "
                 f"is not resumed for these; it goes on as it was (`labctl down --stack {stack} --yes` cancels it "
                 f"with everything else); starting a new run")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    results = f"results/{stamp}/{lab}"
    return journal.begin("run", {"lab": lab, "stamp": stamp, "results": results, "inputs": digest,
                                 "parameters": lab_parameters(outputs, lab, results, dict(options or {}))})


def _inputs_digest(outputs: StackOutputs, lab: str, options: dict | None, staged_files: dict) -> str:
    """SHA-256 of what decides what a lab run computes: its parameters as submitted but for its results folder and
    the deployment's pacing (a file given as an option is in them by content, see `upload_local_files`), and the
    content of every staged file (`stage` entry: path -> SHA-256; the wheel and the datasets the lab reads)."""
    import hashlib

    parameters = lab_parameters(outputs, lab, "", dict(options or {}))
    parameters.pop("results")
    lab_options = json.loads(parameters.pop("options"))
    lab_options.pop("rate_limits", None)  # read from ARM on every run: pacing, not an input
    return hashlib.sha256(json.dumps({"parameters": parameters, "options": lab_options, "staged": staged_files},
                                     sort_keys=True).encode()).hexdigest()


def _lost(w, journal: Journal, entry: dict, lab: str, progress: Callable[[str], None]) -> bool:
    """True (and the entry closed as `lost`) when the journal's run no longer exists in the workspace: a sandbox
    that restarted, or a run older than Databricks keeps (Jobs API runs/get answers INVALID_PARAMETER_VALUE "Run
    <id> does not exist"). Waiting for it could never end; the lab is submitted again."""
    from databricks.sdk.errors import InvalidParameterValue, NotFound

    run_id = entry["data"].get("run_id")
    if run_id is None:
        return False
    try:
        w.jobs.get_run(run_id)
        return False
    except (NotFound, InvalidParameterValue) as error:
        if isinstance(error, InvalidParameterValue) and "does not exist" not in str(error):
            raise
    journal.update(entry["id"], status="lost")
    progress(f"{lab}: run {run_id} recorded in the journal no longer exists in the workspace (a restarted sandbox, "
             "or Databricks no longer keeps it); submitting the lab again")
    return True


def _submitted(w, outputs: StackOutputs, wheel: str, journal: Journal, entry: dict, lab: str,
               progress: Callable[[str], None]) -> tuple[int, Callable[..., object]]:
    """Submit the entry's run unless the journal already holds its id; the journal records the run id before anyone
    waits. Returns the run id and the SDK's waiter for it (called with `timeout` and `callback`)."""
    from databricks.sdk.service import jobs

    data = entry["data"]
    if data.get("run_id") is not None:
        return data["run_id"], functools.partial(w.jobs.wait_get_run_job_terminated_or_skipped, run_id=data["run_id"])
    on_task, on_run = compute.submission(outputs, wheel)  # a cluster, or a serverless environment
    submission = w.jobs.submit(
        run_name=f"labctl {lab} {data['stamp']}", idempotency_token=entry["id"], run_as=_run_as(w, outputs.cluster_id),
        tasks=[jobs.SubmitTask(
            task_key=lab.replace("-", "_"),
            python_wheel_task=jobs.PythonWheelTask(package_name=lab_artifact.PACKAGE, entry_point=LABS[lab],
                                                   named_parameters=data["parameters"]),
            **on_task)],
        **on_run,
    )
    run_id = submission.run_id
    run = w.jobs.get_run(run_id)
    journal.update(entry["id"], status="submitted", run_id=run_id, run_page_url=run.run_page_url)
    progress(f"{lab}: submitted run {run_id}  {run.run_page_url}")
    return run_id, submission.result


def _run_as(w, cluster_id: str | None):
    """The cluster's single user when it is not the caller: a dedicated cluster runs its user's commands only
    ("Access modes", Databricks docs), so the labs run as that user (`run_as`, which workspace admins may set).
    Serverless compute (no cluster) runs as the caller."""
    from databricks.sdk.service import jobs

    if not cluster_id:
        return None
    single_user = w.clusters.get(cluster_id).single_user_name
    if not single_user or single_user == w.current_user.me().user_name:
        return None
    return jobs.JobRunAs(user_name=single_user)


class _StateReporter:
    """The waiter's progress callback: one line per change of the run's life-cycle state."""

    def __init__(self, lab: str, progress: Callable[[str], None]):
        self.lab, self.progress, self.last = lab, progress, None

    def __call__(self, run) -> None:
        state = _life_cycle_state(run)
        if state != self.last:
            message = run.state.state_message if run.state else ""
            self.progress(f"{self.lab}: {state}" + (f" ({message})" if message else ""))
            self.last = state


def _life_cycle_state(run) -> str:
    return run.state.life_cycle_state.value if run.state and run.state.life_cycle_state else "PENDING"


def _unreachable(error: BaseException) -> bool:
    """A transient fault that outlasted one call's retries, or the SDK giving up on a connection (its TimeoutError
    carries the cause); the waiter's own TimeoutError (the run is still going) has none."""
    from labctl_labs.retrying import transient

    if isinstance(error, TimeoutError):
        return error.__cause__ is not None and transient(error.__cause__)
    return transient(error)


def _sandbox_alive() -> bool:
    from agent import sandbox_process
    from agent.workdir import sandbox_dir

    return sandbox_process.running(sandbox_dir()) is not None


def _wait(w, wait: Callable[..., object], stack: str, lab: str, run_id: int, timeout: dt.timedelta,
          progress: Callable[[str], None], alive: Callable[[], bool] | None = None):
    """Wait with the SDK's waiter until the run ends (TERMINATED, SKIPPED or INTERNAL_ERROR) and return it.
    Transient faults do not end the wait: it goes on (saying so) until Databricks has not answered for
    WAIT_OUTAGE in a row."""
    from databricks.sdk.errors import OperationFailed

    from labctl_labs.retrying import say

    report = _StateReporter(lab, progress)
    deadline = dt.datetime.now(dt.timezone.utc) + timeout
    failing_since = None

    def polled(run) -> None:
        nonlocal failing_since
        failing_since = None  # Databricks answered
        report(run)

    while True:
        try:
            run = wait(timeout=max(deadline - dt.datetime.now(dt.timezone.utc), dt.timedelta(0)),
                       callback=polled)
            break
        except OperationFailed:  # INTERNAL_ERROR: the run has ended; its outcome is read like any failure's
            run = w.jobs.get_run(run_id)
            break
        except Exception as error:
            if not _unreachable(error):
                if isinstance(error, TimeoutError):
                    run = w.jobs.get_run(run_id)
                    raise LabctlError(
                        f"{lab}: run {run_id} is still {_life_cycle_state(run)} after {timeout}; it goes on on the "
                        f"cluster ({run.run_page_url}). `labctl run {lab} --stack {stack}` resumes waiting for it; "
                        f"`labctl down --stack {stack}` cancels it.") from None
                raise
            if alive is not None and not alive():
                raise LabctlError(f"The sandbox stopped while labctl followed run {run_id} ({lab}), and the run went with "
                                  f"it; `labctl down --stack {stack}`, then `labctl up --sandbox --stack {stack}` and "
                                  f"run the lab again.", UNAVAILABLE) from None
            now = dt.datetime.now(dt.timezone.utc)
            failing_since = failing_since or now
            cause = error.__cause__ if isinstance(error, TimeoutError) and error.__cause__ else error
            if now - failing_since > WAIT_OUTAGE or now > deadline:
                raise LabctlError(
                    f"Databricks did not answer labctl's polls of run {run_id} ({lab}) for "
                    f"{int((now - failing_since).total_seconds())} s ({type(cause).__name__}); the run goes on on the "
                    f"cluster: rerun `labctl run {lab} --stack {stack}`: it resumes waiting for it.", UNAVAILABLE) from None
            say(f"retrying after {type(cause).__name__} while following run {run_id} ({lab}): "
                f"Databricks has not answered for {int((now - failing_since).total_seconds())} s")
            time.sleep(WAIT_RETRY_SECONDS)
            wait = functools.partial(w.jobs.wait_get_run_job_terminated_or_skipped, run_id=run_id)
    report(run)  # the waiter returns the final state without calling back
    return run


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


def _collect(w, store: RemoteStore, journal: Journal, entry_id: str, lab: str, run, results_root: Path) -> LabRun:
    """The ended run's outcome: its results downloaded, its error if it failed, the journal entry closed."""
    result = run.state.result_state.value if run.state.result_state else "FAILED"
    data = journal.get(entry_id)["data"]
    outcome = LabRun(lab, data["run_id"], run.run_page_url, result)
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
    if lab == "fine-tuning":  # the follow-up (deploy + chat) is still to come
        journal.update(entry_id, status="followup", result_state=result, results_dir=str(local))
    else:
        journal.update(entry_id, status="succeeded", result_state=result, results_dir=str(local),
                       outcome=outcome.as_dict())
    return outcome
