"""The fine-tuning lab, on the cluster: validate the data like Azure does, upload it, start the job and
follow it to the end, without ever losing or duplicating a job.

The job's identity is written to <data>/journal/fine-tuning.json as soon as it exists (files first, then
the job), keyed by what defines the job (data by content, base, seed, training type): a rerun of the lab with the
same inputs resumes that job instead of creating a second one. Different inputs (a new training or validation
file, a dataset staged again with other content) start a new job, and the lab says so in one line naming the
job it does not resume, which is left as it is (a job cannot take new data: Azure trains a job on the files it was
created with); `labctl down` removes every job and file in the journal. labctl then deploys the fine-tuned model
through ARM and chats with it (the cluster has no ARM credentials), see agent/lifecycle/fine_tuning_followup.py.

Exit codes: 0 succeeded, 1 the job or a file failed, 2 the data is invalid, 4 fine-tuning is unavailable
for this base model, subscription or region (the data is still validated and reported).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

from labctl_labs.common import LabContext, run_lab
from labctl_labs.retrying import retrying, transient
from labctl_labs.fine_tuning_data import billed_training_tokens, default_epochs, example_token_limit, validate_file

JOURNAL = "journal/fine-tuning.json"
TERMINAL = {"succeeded", "failed", "cancelled"}
UNAVAILABLE_EXIT = 4
INVALID_EXIT = 2
FOLLOW_OUTAGE = 900  # seconds without an answer before following the job gives up (the job goes on; rerun resumes)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class VolumeJournal:
    def __init__(self, store):
        self.store = store

    def read(self) -> dict:
        if self.store.size(JOURNAL) is None:
            return {}
        return json.loads(self.store.read(JOURNAL))

    def write(self, key: str, **data) -> dict:
        journal = self.read()
        journal[key] = {**journal.get(key, {}), **data, "updated_at": _now()}
        self.store.upload_bytes(JOURNAL, json.dumps(journal, indent=2).encode())
        return journal[key]

    def promote(self, uploads: str, key: str, **data) -> dict:
        """Make the entry `uploads` (the files of a job being created) the entry of `key`, with `data` (the job).
        An earlier entry of `key` (a job replaced by `-o new_job=true`, or one that failed) is kept under a key of
        its own: every file and job stays recorded, for `labctl down` to remove."""
        journal = self.read()
        earlier = journal.pop(key, None)
        if earlier:
            journal[f"{key}-{earlier.get('job_id') or earlier.get('updated_at')}"] = earlier
        journal[key] = {**journal.pop(uploads, {}), **data, "updated_at": _now()}
        self.store.upload_bytes(JOURNAL, json.dumps(journal, indent=2).encode())
        return journal[key]

    def latest_job(self) -> tuple[str, dict] | None:
        """(key, entry) of the job started last, or None when no job is recorded."""
        started = [(key, entry) for key, entry in self.read().items() if entry.get("job_id")]
        if not started:
            return None
        return max(started, key=lambda item: item[1].get("started_at") or item[1].get("updated_at") or "")


# What defines a job besides its data, as recorded in its journal entry (and how the sentence names it).
INPUTS = {"training_sha256": "the training data", "validation_sha256": "the validation data",
          "base_model": "the base model", "seed": "the seed", "training_type": "the training type"}


def changed_inputs(recorded: dict, inputs: dict) -> list[str]:
    """The keys of INPUTS that differ between a recorded job's journal entry and this run's `inputs`; an input the
    entry does not record (written by an earlier version of the lab) is not compared. Empty when none can be told
    apart (the entry's key differs all the same: something that defines the job changed)."""
    return [name for name in INPUTS if name in recorded and recorded[name] != inputs[name]]


def data_changed_sentence(previous_job: str, changed: list[str], new_job: str) -> str:
    """One line: what changed since the job that is not resumed (left as it is), and the job started instead."""
    named = [INPUTS[name] for name in changed] or ["the data or settings"]
    what = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    return f"{what} changed since fine-tuning job {previous_job}, which is left as it is: started job {new_job}"


def validate(context: LabContext, base: str, folder: Path) -> tuple[dict, dict[str, bytes]]:
    figures, contents = {}, {}
    for role, default in (("training", "data/training_set.jsonl"), ("validation", "data/validation_set.jsonl")):
        remote = context.options.get(f"{role}_file", default)
        data = context.store.read(remote)
        local = folder / Path(remote).name
        local.write_bytes(data)
        report = validate_file(local, role, base)
        epochs = default_epochs(report.examples)
        figures[role] = {**report.summary(), "remote": remote,
                         "findings": [str(f) for f in report.findings][:50]}
        if role == "training":
            figures[role]["epochs"] = epochs
            figures[role]["billed_training_tokens"] = billed_training_tokens(report, epochs, example_token_limit(base))
        contents[role] = data
    return figures, contents


def fine_tuning(context: LabContext) -> int:
    options = context.options
    base = options.get("base_model") or options.get("fine_tune_base_model")
    training_type = options.get("training_type", "GlobalStandard")
    seed = int(options.get("seed", 105))
    poll = float(options.get("poll_seconds", 15))
    result: dict = {"lab": "fine-tuning", "base_model": base, "training_type": training_type, "seed": seed,
                    "timeline": [], "events": []}

    def finish(status: str, code: int, summary: str) -> int:
        # The summary is the line labctl shows: a job started instead of resuming one says first why (result's notice).
        result["status"], result["summary"] = status, "; ".join(filter(None, [result.get("notice"), summary]))
        context.save_json("fine_tuning.json", result)
        print(summary)
        return code

    with tempfile.TemporaryDirectory() as folder:
        result["validation"], contents = validate(context, base, Path(folder))
    if any(result["validation"][role]["errors"] for role in ("training", "validation")):
        return finish("invalid", INVALID_EXIT, "the data is not valid for fine-tuning: " + "; ".join(
            result["validation"]["training"]["findings"][:3] + result["validation"]["validation"]["findings"][:3]))

    key = hashlib.sha256(contents["training"] + b"\0" + contents["validation"] +
                         f"\0{base}\0{seed}\0{training_type}".encode()).hexdigest()[:16]
    inputs = {"training_sha256": hashlib.sha256(contents["training"]).hexdigest(),
              "validation_sha256": hashlib.sha256(contents["validation"]).hexdigest(),
              "base_model": base, "seed": seed, "training_type": training_type}
    journal = VolumeJournal(context.store)
    state = journal.read().get(key, {})
    client = context.openai(max_retries=6)
    if state.get("job_id") and state.get("status") not in ("failed", "cancelled") and not options.get("new_job"):
        print(f"resuming fine-tuning job {state['job_id']} recorded in {JOURNAL} (same data and settings)")
        job_id = state["job_id"]
        result["resumed"] = True
    else:
        latest = journal.latest_job()
        job_id = _start(context, client, journal, key, contents, base, training_type, seed, options, result, inputs)
        if job_id is None:
            return finish("unavailable", UNAVAILABLE_EXIT, f"fine-tuning unavailable: {result['unavailable_reason']}")
        if options.get("new_job") and state.get("job_id"):
            result["notice"] = (f"-o new_job=true: started job {job_id}; fine-tuning job {state['job_id']} of the same "
                                f"data is left as it is")
            print(result["notice"])
        elif latest is not None and latest[0] != key:
            changed = changed_inputs(latest[1], inputs)
            result["data_changed"] = {"since_job": latest[1]["job_id"],
                                      "changed": [name.removesuffix("_sha256") for name in changed]}
            result["notice"] = data_changed_sentence(latest[1]["job_id"], changed, job_id)
            print(result["notice"])
    result["job_id"] = job_id
    result["files"] = journal.read()[key].get("files", {})

    job = _follow(client, job_id, poll, result)
    journal.write(key, status=job.status)
    result.update({"status_final": job.status, "trained_tokens": job.trained_tokens,
                   "fine_tuned_model": job.fine_tuned_model,
                   "hyperparameters": job.hyperparameters.model_dump() if job.hyperparameters else None})
    if job.status != "succeeded":
        error = job.error.model_dump() if job.error else {}
        result["error"] = error
        return finish(job.status, 1, f"fine-tuning job {job_id} {job.status}: "
                                     f"{error.get('code', 'unknown')}: {error.get('message', 'no message')}")
    return finish("succeeded", 0, f"job {job_id} succeeded: {job.fine_tuned_model} "
                                  f"({job.trained_tokens:,} trained tokens)")


def _start(context, client, journal: VolumeJournal, key: str, contents: dict, base: str, training_type: str,
           seed: int, options: dict, result: dict, inputs: dict) -> str | None:
    import openai

    files, uploads = {}, f"{key}-uploads-{_now()}"
    for role in ("training", "validation"):
        uploaded = _upload(client, f"{role}_set.jsonl", contents[role])
        files[role] = uploaded.id
        # Under a key of their own until the job exists: a job of the same inputs stays resumable if none is made.
        journal.write(uploads, files=files)
        print(f"uploaded {role} file {uploaded.id}")
    for role, file_id in files.items():
        processed = client.files.wait_for_processing(file_id, poll_interval=2.0, max_wait_seconds=1800)
        result["timeline"].append({"at": _now(), "file": file_id, "status": processed.status})
        if processed.status != "processed":
            raise RuntimeError(f"the {role} file {file_id} ended {processed.status}: {processed.status_details}")
    hyper = {"n_epochs": options["n_epochs"]} if options.get("n_epochs") else {}
    tried = False

    def create():
        # Not idempotent: the client's own retries are off, and a retry first looks for the job that an attempt
        # whose answer was lost may have created (same training file), so there is never a second one.
        nonlocal tried
        if tried:
            found = _job_of(client, files["training"])
            if found is not None:
                print(f"found fine-tuning job {found.id}, created by an attempt whose answer was lost")
                return found
        tried = True
        return client.with_options(max_retries=0).fine_tuning.jobs.create(
            model=base, training_file=files["training"], validation_file=files["validation"], seed=seed,
            suffix=options.get("suffix", "lab"), hyperparameters=hyper or openai.NOT_GIVEN,
            extra_body={"trainingType": training_type})

    try:
        job = retrying("Azure OpenAI fine_tuning.jobs.create")(create)
    except openai.BadRequestError as error:
        message = _service_message(error)
        if "fine-tun" in message.lower() or "not available in region" in message:
            result["unavailable_reason"] = message
            result["unavailable_code"] = (error.body or {}).get("code") if isinstance(error.body, dict) else None
            return None
        raise
    journal.promote(uploads, key, job_id=job.id, status=job.status, started_at=_now(), **inputs)  # before anything else
    print(f"created fine-tuning job {job.id} ({base}, {training_type}, seed {seed})")
    return job.id


def _upload(client, name: str, data: bytes):
    """files.create with purpose fine-tune, retried through transient faults without ever leaving a second copy.

    The upload is a POST that Azure OpenAI does not deduplicate: when its answer is lost (the file was made, then a
    500 or a cut connection), a plain retry uploads again and the first copy is recorded nowhere. So the client's own
    retries are off, and each retry first looks for a file that was not there before the first attempt, with the
    same name and size (GET /openai/files, https://learn.microsoft.com/azure/ai-foundry/openai/reference-preview#list-files)."""
    before = {f.id for f in client.files.list(purpose="fine-tune")}
    tried = False

    def attempt():
        nonlocal tried
        if tried:
            found = next((f for f in client.files.list(purpose="fine-tune") if f.id not in before
                          and f.filename == name and f.bytes == len(data)), None)
            if found is not None:
                print(f"found file {found.id}, uploaded by an attempt whose answer was lost")
                return found
        tried = True
        return client.with_options(max_retries=0).files.create(file=(name, data), purpose="fine-tune")

    return retrying("Azure OpenAI files.create")(attempt)


def _job_of(client, training_file: str):
    """The fine-tuning job trained on `training_file`, if one exists."""
    return next((job for job in client.fine_tuning.jobs.list(limit=50) if job.training_file == training_file), None)


def _service_message(error) -> str:
    """The service's own sentence (the SDK prefixes 'Error code: 400 - ' to its str)."""
    body = getattr(error, "body", None)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return str(error)


def _follow(client, job_id: str, poll: float, result: dict):
    """Poll the job to its end; transient faults (each call is retried by the client first) do not end the wait
    until the service has not answered for FOLLOW_OUTAGE seconds in a row."""
    seen_events: set[str] = set()
    last_status = None
    failing_since = None
    while True:
        try:
            job = client.fine_tuning.jobs.retrieve(job_id)
            events = client.fine_tuning.jobs.list_events(job_id, limit=100).data
            failing_since = None
        except Exception as error:
            if not transient(error):
                raise
            failing_since = failing_since or time.monotonic()
            if time.monotonic() - failing_since > FOLLOW_OUTAGE:
                raise
            print(f"retrying after {type(error).__name__} while following fine-tuning job {job_id}", file=sys.stderr)
            time.sleep(poll)
            continue
        if job.status != last_status:
            result["timeline"].append({"at": _now(), "status": job.status})
            print(f"job {job_id}: {job.status}")
            last_status = job.status
        for event in reversed(events):
            if event.id not in seen_events:
                seen_events.add(event.id)
                result["events"].append({"created_at": event.created_at, "level": event.level, "message": event.message})
                print(f"  {event.message}")
        if job.status in TERMINAL:
            return job
        time.sleep(poll)


def main() -> None:
    sys.exit(run_lab(fine_tuning))
