"""A succeeded fine-tuning job's result file: `result_files` names it and /files/{id}/content serves it.

Learn "Customize a model with fine-tuning" (Azure OpenAI, "Analyze your customized model"): a job that finishes
attaches a result file, results.csv, with a header row and a row per training step, in the columns step,
train_loss, train_mean_token_accuracy, valid_loss, validation_mean_token_accuracy, full_valid_loss and
full_valid_mean_token_accuracy; the full validation metrics are computed at the end of each epoch (blank on the
other rows), the validation ones only when the job has a validation file. The losses follow the same curve as the
job's checkpoints (sandbox.fine_tuning), so a checkpoint's metrics match its row.
"""

from __future__ import annotations

import csv
import io

from sandbox.fine_tuning import _loss, job_status, steps
from sandbox.world import Account, AoaiFile, FineTuneJob, World

COLUMNS = ("step", "train_loss", "train_mean_token_accuracy", "valid_loss", "validation_mean_token_accuracy",
           "full_valid_loss", "full_valid_mean_token_accuracy")
PURPOSE = "fine-tune-results"  # the purpose Azure gives result files (openai FileObject purpose values)


def results_csv(job: FineTuneJob) -> str:
    total = steps(job)
    per_epoch = max(1, total // job.n_epochs)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for step in range(1, total + 1):
        loss = _loss(job, step)
        row = [step, loss, round(1 - loss / 3, 4), "", "", "", ""]
        if job.validation_file:
            row[3:5] = [round(loss * 1.05, 4), round(1 - loss * 1.05 / 3, 4)]
            if step % per_epoch == 0:
                row[5:7] = [round(loss * 1.07, 4), round(1 - loss * 1.07 / 3, 4)]
        writer.writerow(row)
    return out.getvalue()


def with_result_files(world: World, account: Account, job: FineTuneJob, body: dict) -> dict:
    """`body` (the job's JSON) with its result file listed, the file written and recorded on first sight of the
    job's success."""
    if job_status(world, job) != "succeeded":
        return body
    file_id = f"file-{job.id.removeprefix('ftjob-')[:24]}results"
    with world.lock:
        if file_id not in account.files:
            folder = world.state_dir / "aoai" / account.name
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / file_id
            path.write_text(results_csv(job))
            account.files[file_id] = AoaiFile(file_id, "results.csv", PURPOSE, path.stat().st_size,
                                              job.finished_at, job.finished_at, path)
    return {**body, "result_files": [file_id]}
