"""Fine-tuning jobs on the sandbox clock: a job's state, events and checkpoints follow from its times.

Azure's job states are pending -> running -> succeeded | failed | cancelled (the openai SDK's types
list other names; Azure sends these, and the SDK passes them through).
"""

from __future__ import annotations

import math

from sandbox.world import FineTuneJob, World, new_hex

TERMINAL = {"succeeded", "failed", "cancelled"}

# The cookbook's default-epochs estimate ("Data preparation and analysis for chat model fine-tuning", cell
# "Pricing and default n_epochs estimate": TARGET_EPOCHS, MIN/MAX_TARGET_EXAMPLES, MIN/MAX_DEFAULT_EPOCHS).
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


def default_epochs(examples: int) -> int:
    """Epochs of a job created with n_epochs "auto", as the OpenAI cookbook estimates them
    (https://github.com/openai/openai-cookbook/blob/main/examples/Chat_finetuning_data_prep.ipynb):
    3, unless 3 passes see fewer than 100 examples, then 100 // examples (floored) capped at 25; or more
    than 25,000, then 25,000 // examples, at least 1. Its toy data set of 5 examples trains for 20."""
    if examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // examples)
    if examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // examples)
    return TARGET_EPOCHS


def job_status(world: World, job: FineTuneJob) -> str:
    now = world.now()
    if job.cancelled_at is not None and job.cancelled_at <= now:
        return "cancelled"
    if now < job.running_at:
        return "pending"
    if now < job.finished_at:
        return "running"
    return "failed" if job.failure else "succeeded"


def steps(job: FineTuneJob) -> int:
    return max(1, math.ceil(job.training_examples / job.batch_size)) * job.n_epochs


def _loss(job: FineTuneJob, step: int) -> float:
    # A smooth decreasing curve, different per seed, so checkpoints carry plausible metrics.
    return round(1.9 * math.exp(-step / max(1, steps(job)) * 2.2) + 0.15 + (job.seed % 7) * 0.01, 4)


def events(world: World, job: FineTuneJob) -> list[dict]:
    """Events that have happened by now, newest first, as the API lists them."""
    now = world.now()
    timeline: list[tuple[float, str, str]] = [(job.created_at, "info", "Job enqueued. Waiting for jobs ahead to complete.")]
    if job.cancelled_at is not None and job.cancelled_at < job.running_at:
        timeline.append((job.cancelled_at, "info", "Job cancelled."))
    else:
        timeline.append((job.running_at, "info", "Job started."))
        total = steps(job)
        span = job.finished_at - job.running_at
        for step in range(1, total + 1):
            stamp = job.running_at + span * step / (total + 1)
            if job.cancelled_at is not None and stamp >= job.cancelled_at:
                break
            timeline.append((stamp, "info", f"Step {step}/{total}: training loss={_loss(job, step):.4f}"))
        if job.cancelled_at is not None:
            timeline.append((job.cancelled_at, "info", "Job cancelled."))
        elif job.failure:
            timeline.append((job.finished_at, "error", f"Job failed: {job.failure['message']}"))
        else:
            timeline.append((job.finished_at, "info", f"Fine-tuning job successfully completed. Model: {job.fine_tuned_model}"))
    visible = [entry for entry in timeline if entry[0] <= now]
    return [
        {"id": f"ftevent-{job.id[6:14]}{index:08x}", "object": "fine_tuning.job.event", "created_at": int(stamp),
         "level": level, "message": message, "type": "message"}
        for index, (stamp, level, message) in reversed(list(enumerate(visible)))
    ]


def checkpoints(world: World, job: FineTuneJob) -> list[dict]:
    """A checkpoint at the end of each of the last three epochs that have finished, newest first."""
    if job.failure or job.cancelled_at is not None:
        return []
    now = world.now()
    per_epoch = steps(job) // job.n_epochs
    span = job.finished_at - job.running_at
    found = []
    for epoch in range(max(1, job.n_epochs - 2), job.n_epochs + 1):
        step = per_epoch * epoch
        stamp = job.running_at + span * epoch / job.n_epochs
        if stamp > now:
            continue
        loss = _loss(job, step)
        found.append({
            "id": f"ftchkpt-{job.id[6:22]}{epoch:016x}",
            "object": "fine_tuning.job.checkpoint",
            "created_at": int(stamp),
            "fine_tuned_model_checkpoint": f"{job.fine_tuned_model}:ckpt-step-{step}",
            "fine_tuning_job_id": job.id,
            "step_number": step,
            "metrics": {"step": float(step), "train_loss": loss, "train_mean_token_accuracy": round(1 - loss / 3, 4),
                        "valid_loss": round(loss * 1.05, 4), "full_valid_loss": round(loss * 1.07, 4)},
        })
    return list(reversed(found))


def job_json(world: World, job: FineTuneJob) -> dict:
    status = job_status(world, job)
    done = status in TERMINAL
    finished = job.cancelled_at if status == "cancelled" else job.finished_at
    return {
        "id": job.id,
        "object": "fine_tuning.job",
        "created_at": int(job.created_at),
        "finished_at": int(finished) if done else None,
        "estimated_finish": None if done else int(job.finished_at),
        "model": job.model,
        "fine_tuned_model": job.fine_tuned_model if status == "succeeded" else None,
        "organization_id": "org-sandbox",
        "result_files": [],
        "status": status,
        "training_file": job.training_file,
        "validation_file": job.validation_file,
        "hyperparameters": {"n_epochs": job.n_epochs, "batch_size": job.batch_size,
                            "learning_rate_multiplier": job.learning_rate_multiplier},
        "method": {"type": "supervised", "supervised": {"hyperparameters": {
            "n_epochs": job.n_epochs, "batch_size": job.batch_size,
            "learning_rate_multiplier": job.learning_rate_multiplier}}},
        "trained_tokens": job.trained_tokens if status == "succeeded" else None,
        "seed": job.seed,
        "suffix": job.suffix,
        "trainingType": job.training_type,
        "error": job.failure if status == "failed" else None,
        "integrations": None,
        "metadata": None,
    }


def fine_tuned_model_name(base: str) -> str:
    return f"{base}.ft-{new_hex()}"
