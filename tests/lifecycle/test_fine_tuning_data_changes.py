"""The fine-tuning lab resumes the job recorded in its journal only for the same data: the same training and
validation files by content (and base, seed, training type) resume that job, never a second one; different data
(a new `-o training_file=...`, a dataset staged again) starts a new job and says so in one line, naming the job it
does not resume, which is left as it is; `down` removes both jobs and all their files.

Azure OpenAI trains a fine-tuning job on the files it was created with (`training_file`, `validation_file` of
POST /openai/fine_tuning/jobs, https://learn.microsoft.com/azure/ai-foundry/openai/reference-preview#create-fine-tuning-job):
a job cannot take new data, so new data can only mean a new job."""

import json
from pathlib import Path

from tests.lifecycle.conftest import DATA

STACK = "ftdata"


def jobs(labctl) -> list[dict]:
    return [j for j in labctl.control("GET", "/inventory")["fine_tuning_jobs"] if f"labctl-{STACK}-" in j["account"]]


def result_of(run: dict) -> dict:
    return json.loads((Path(run["results_dir"]) / "fine_tuning.json").read_text())


def changed(source: Path, folder: Path, old: str, new: str) -> Path:
    """A copy of `source` with one answer reworded: the same examples, different bytes."""
    text = source.read_text(encoding="utf-8")
    assert old in text
    path = folder / f"changed-{source.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def run_fine_tuning(labctl, *options: str) -> dict:
    done = labctl.json("run", "fine-tuning", "--stack", STACK, "-o", "poll_seconds=1", *options)["runs"][0]
    assert done["result_state"] == "SUCCESS", done
    return done


def test_same_data_resumes_the_job_and_changed_data_starts_a_new_one_that_says_so(labctl, tmp_path):
    labctl("up", "--sandbox", "--stack", STACK)
    labctl("stage", "--stack", STACK, "--training-file", str(DATA / "training_set.jsonl"),
           "--validation-file", str(DATA / "validation_set.jsonl"))
    first = result_of(run_fine_tuning(labctl))
    job_a = first["job_id"]

    # The same data again: the recorded job is resumed (it has succeeded: nothing is trained twice).
    again = result_of(run_fine_tuning(labctl))
    assert again["job_id"] == job_a and again.get("resumed")
    assert len(jobs(labctl)) == 1

    # A new training file given as an option: a new job, and the summary the user reads says why, in one line.
    training = changed(DATA / "training_set.jsonl", tmp_path, "The Pacific Ocean.", "The Pacific Ocean, obviously.")
    run = run_fine_tuning(labctl, "-o", f"training_file={training}")
    new = result_of(run)
    job_b = new["job_id"]
    assert job_b != job_a and not new.get("resumed")
    assert new["data_changed"] == {"since_job": job_a, "changed": ["training"]}
    assert len(run["summary"].splitlines()) == 1
    assert f"the training data changed since fine-tuning job {job_a}" in run["summary"]
    assert f"started job {job_b}" in run["summary"]
    assert {j["id"]: j["status"] for j in jobs(labctl)} == {job_a: "succeeded", job_b: "succeeded"}  # A left as is

    # The staged validation set replaced by a reworded one (the staged training set is not job B's): a third job,
    # and the sentence names what differs from the job started last.
    validation = changed(DATA / "validation_set.jsonl", tmp_path, "?", "??")
    labctl("stage", "--stack", STACK, "--training-file", str(DATA / "training_set.jsonl"),
           "--validation-file", str(validation))
    run = run_fine_tuning(labctl)
    third = result_of(run)
    assert third["job_id"] not in (job_a, job_b)
    assert third["data_changed"] == {"since_job": job_b, "changed": ["training", "validation"]}
    assert f"the training data and the validation data changed since fine-tuning job {job_b}" in run["summary"]

    # Back to the data of job A (staged again, same bytes): job A is resumed, no fourth job.
    labctl("stage", "--stack", STACK, "--training-file", str(DATA / "training_set.jsonl"),
           "--validation-file", str(DATA / "validation_set.jsonl"))
    back = result_of(run_fine_tuning(labctl))
    assert back["job_id"] == job_a and back.get("resumed") and "data_changed" not in back
    assert len(jobs(labctl)) == 3

    # The same data with -o new_job=true: a fourth job, job A left as it is and still recorded.
    run = run_fine_tuning(labctl, "-o", "new_job=true")
    fourth = result_of(run)["job_id"]
    assert fourth not in (job_a, job_b, third["job_id"])
    assert f"-o new_job=true: started job {fourth}; fine-tuning job {job_a} of the same data is left as it is" \
        in run["summary"]
    assert len(jobs(labctl)) == 4

    # Every job is in labctl's journal, for `down` to remove (a finished job is removed with its account).
    assert {e["data"]["id"] for e in labctl.journal_entries(STACK, "finetune-job")} == {job_a, job_b, third["job_id"],
                                                                                   fourth}
    report = labctl.json("down", "--stack", STACK, "--yes")
    assert report["clean"]
    assert sum(d.startswith("finetune-file") for d in report["deleted"]) == 8  # two files per job
    assert jobs(labctl) == []


def test_an_interrupted_run_is_resumed_only_for_the_same_data(labctl, tmp_path):
    """Ctrl-C leaves the lab's run going on on the cluster; the next `labctl run` follows it only when it would submit
    the same run: with a new training file it starts its own run (the other goes on as it was) and says so."""
    import signal

    stack = "ftresume"
    labctl("up", "--sandbox", "--stack", stack)
    labctl("stage", "--stack", stack, "--training-file", str(DATA / "training_set.jsonl"),
           "--validation-file", str(DATA / "validation_set.jsonl"))
    labctl.hold_runs(stack, True)  # the run stays RUNNING before its code starts until released
    try:
        first = labctl.spawn("run", "fine-tuning", "--stack", stack, "-o", "poll_seconds=1")
        labctl.wait_for("the run is submitted", lambda: [
            e for e in labctl.journal_entries(stack, "run") if e["status"] == "submitted"], process=first)
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=120) == 130
        old_run = labctl.journal_entries(stack, "run")[0]["data"]["run_id"]
    finally:
        labctl.hold_runs(stack, False)

    training = changed(DATA / "training_set.jsonl", tmp_path, "The Pacific Ocean.", "The Pacific Ocean, obviously.")
    done = labctl("--json", "run", "fine-tuning", "--stack", stack, "-o", "poll_seconds=1",
                  "-o", f"training_file={training}")
    run = json.loads(done.stdout)["runs"][0]
    assert run["result_state"] == "SUCCESS" and run["run_id"] != old_run, run
    assert f"fine-tuning: run {old_run} recorded in the journal was started with other inputs" in \
        " ".join(done.stderr.split())
    assert "resuming the run recorded in the journal" not in done.stderr
    # The new run trained on the new file (uploaded by content to inputs/<sha256 prefix>/).
    assert result_of(run)["validation"]["training"]["remote"].startswith("inputs/")

    report = labctl.json("down", "--stack", stack, "--yes")
    assert report["clean"]
