"""Fine-tuning jobs: create, list, retrieve, cancel, events and checkpoints under /openai/fine_tuning/jobs.

A job's state, events and checkpoints follow from its times on the sandbox clock (sandbox.fine_tuning); a
succeeded job lists its results.csv in `result_files` (sandbox.fine_tuning_results).
"""

from __future__ import annotations

import random

from fastapi import APIRouter, Request

from sandbox.aoai.auth import account_for
from sandbox.aoai.files import file_status
from sandbox.aoai.surfaces import route_on_both
from sandbox.errors import OpenAiError
from sandbox.fine_tuning import (
    TERMINAL, checkpoints, default_epochs, events, fine_tuned_model_name, job_json, job_status,
)
from sandbox.fine_tuning_files import MIN_TRAINING_EXAMPLES, example_token_limit
from sandbox.fine_tuning_results import with_result_files
from sandbox.world import Account, AoaiFile, FineTuneJob, World, new_hex

MAX_ACTIVE_JOBS = 3


def build_router(world: World) -> APIRouter:
    router = APIRouter()

    async def create(request: Request, account_name: str):
        account = account_for(world, request, account_name)
        return create_job(world, account, await request.json())

    def list_jobs(request: Request, account_name: str, limit: int = 20, after: str | None = None):
        account = account_for(world, request, account_name)
        jobs = sorted(account.jobs.values(), key=lambda j: j.created_at, reverse=True)
        if after:
            ids = [j.id for j in jobs]
            jobs = jobs[ids.index(after) + 1:] if after in ids else []
        page = jobs[:limit]
        return {"object": "list", "data": [_job_json(world, account, j) for j in page],
                "has_more": len(jobs) > len(page)}

    def get_job(request: Request, account_name: str, job_id: str):
        account = account_for(world, request, account_name)
        return _job_json(world, account, find_job(account, job_id))

    def cancel_job(request: Request, account_name: str, job_id: str):
        account = account_for(world, request, account_name)
        with world.lock:
            job = find_job(account, job_id)
            if job_status(world, job) in TERMINAL:
                raise OpenAiError(400, "invalidPayload", f"Job '{job_id}' has already finished and cannot be cancelled.")
            job.cancelled_at = world.now()
            return job_json(world, job)

    def list_events(request: Request, account_name: str, job_id: str, limit: int = 20, after: str | None = None):
        found = events(world, find_job(account_for(world, request, account_name), job_id))
        if after:
            ids = [e["id"] for e in found]
            found = found[ids.index(after) + 1:] if after in ids else []
        return {"object": "list", "data": found[:limit], "has_more": len(found) > limit}

    def list_checkpoints(request: Request, account_name: str, job_id: str, limit: int = 10):
        found = checkpoints(world, find_job(account_for(world, request, account_name), job_id))[:limit]
        return {"object": "list", "data": found, "has_more": False,
                "first_id": found[0]["id"] if found else None, "last_id": found[-1]["id"] if found else None}

    route_on_both(router, "POST", "/fine_tuning/jobs", create)
    route_on_both(router, "GET", "/fine_tuning/jobs", list_jobs)
    route_on_both(router, "GET", "/fine_tuning/jobs/{job_id}", get_job)
    route_on_both(router, "POST", "/fine_tuning/jobs/{job_id}/cancel", cancel_job)
    route_on_both(router, "GET", "/fine_tuning/jobs/{job_id}/events", list_events)
    route_on_both(router, "GET", "/fine_tuning/jobs/{job_id}/checkpoints", list_checkpoints)
    return router


def _job_json(world: World, account: Account, job: FineTuneJob) -> dict:
    return with_result_files(world, account, job, job_json(world, job))


def find_job(account: Account, job_id: str) -> FineTuneJob:
    job = account.jobs.get(job_id)
    if job is None:
        raise OpenAiError(404, "jobNotFound", f"Fine-tuning job '{job_id}' not found.", param="fine_tuning_job_id")
    return job


def create_job(world: World, account: Account, body: dict) -> dict:
    model = body.get("model") or ""
    training_type = body.get("trainingType") or body.get("training_type") or "Standard"
    if not isinstance(training_type, str):
        # The authoring spec types trainingType as a string enum (Standard, GlobalStandard, DeveloperTier); a number
        # is a malformed request, refused with 400 naming the field. [U: Azure's exact wording is not known.]
        raise OpenAiError(400, "invalidPayload", f"Invalid value for 'trainingType': {training_type!r}; use "
                          f"Standard, GlobalStandard or Developer.", param="trainingType")
    with world.lock:
        base = base_model(world, account, model, training_type)
        training = ready_file(world, account, body.get("training_file"), "training")
        if training.examples < MIN_TRAINING_EXAMPLES:
            raise OpenAiError(400, "invalidPayload", f"The training file '{training.id}' has {training.examples} "
                              f"examples; at least {MIN_TRAINING_EXAMPLES} are required.", param="training_file")
        validation = body.get("validation_file") and ready_file(world, account, body["validation_file"], "validation")
        for role, file in (("training", training), ("validation", validation)):
            refuse_images(world, base, file, role)
        active = [j for j in account.jobs.values() if job_status(world, j) not in TERMINAL]
        if len(active) >= MAX_ACTIVE_JOBS:
            raise OpenAiError(429, "quotaExceeded", f"This resource already runs {len(active)} fine-tuning jobs; "
                              f"at most {MAX_ACTIVE_JOBS} may run at once.")
        epochs, batch, rate = hyperparameters(body, training.examples)
        limit = example_token_limit(base)
        seed = body.get("seed")
        now = world.now()
        running = now + world.config.timings.finetune_queued
        job = FineTuneJob(
            id=f"ftjob-{new_hex()}", model=model, training_file=training.id,
            validation_file=validation.id if validation else None,
            seed=int(seed) if seed is not None else random.randrange(2**31), suffix=body.get("suffix"),
            training_type=training_type, n_epochs=epochs, batch_size=batch, learning_rate_multiplier=rate,
            created_at=now, running_at=running, finished_at=running + world.config.timings.finetune_running,
            trained_tokens=epochs * sum(min(t, limit) for t in training.token_counts),
            fine_tuned_model=fine_tuned_model_name(base), training_examples=training.examples,
            failure=world.extensions.pop("next_finetune_failure", None),
        )
        account.jobs[job.id] = job
        return job_json(world, job)


def base_model(world: World, account: Account, model: str, training_type: str) -> str:
    """The base model a job trains: the model itself, or the base of a fine-tuned model trained further."""
    base = model
    previous = next((j for j in account.jobs.values() if j.fine_tuned_model == model), None)
    if previous is not None:
        if job_status(world, previous) != "succeeded":
            raise OpenAiError(400, "invalidPayload", f"The model '{model}' is not ready.", param="model")
        base = previous.model
    refusal = world.catalog.fine_tune_refusal(base, account.location, training_type, world.config.customer,
                                              world.today(), account.kind)
    if refusal:
        raise OpenAiError(400, "invalidPayload", refusal, param="model")
    return base


def refuse_images(world: World, base: str, file: AoaiFile | None, role: str) -> None:
    """Images train only on a vision base (Microsoft Learn, "Vision fine-tuning": gpt-4o 2024-08-06, gpt-4.1
    2025-04-14); the catalog's visionFineTune says which."""
    model = world.catalog.find_base(base)
    if file and file.image_examples and not (model and model.vision_fine_tune):
        raise OpenAiError(400, "invalidPayload", f"The {role} file '{file.id}' has {file.image_examples} examples with "
                          f"images; {base} does not support vision fine-tuning.", param=f"{role}_file")


def ready_file(world: World, account: Account, file_id: str | None, role: str) -> AoaiFile:
    if not file_id or file_id not in account.files:
        raise OpenAiError(400, "invalidPayload", f"The {role} file '{file_id}' does not exist.", param=f"{role}_file")
    file = account.files[file_id]
    status = file_status(world, file)
    if status == "error":
        raise OpenAiError(400, "invalidPayload", f"The {role} file '{file_id}' failed validation: {file.error}",
                          param=f"{role}_file")
    if status != "processed":
        raise OpenAiError(400, "invalidPayload", f"The {role} file '{file_id}' is not ready; its status is {status}.",
                          param=f"{role}_file")
    return file


def hyperparameters(body: dict, examples: int) -> tuple[int, int, float]:
    """(n_epochs, batch_size, learning_rate_multiplier), "auto" ones chosen as the service does."""
    hyper = dict(body.get("hyperparameters") or {})
    method = body.get("method") or {}
    hyper.update(((method.get("supervised") or {}).get("hyperparameters")) or {})
    epochs = hyper.get("n_epochs", "auto")
    epochs = default_epochs(examples) if epochs in (None, "auto") else int(epochs)
    if not 1 <= epochs <= 50:
        raise OpenAiError(400, "invalidPayload", "n_epochs must be between 1 and 50.", param="hyperparameters")
    batch = hyper.get("batch_size", "auto")
    batch = max(1, min(32, examples // 10 or 1)) if batch in (None, "auto") else int(batch)
    rate = hyper.get("learning_rate_multiplier", "auto")
    rate = 1.0 if rate in (None, "auto") else float(rate)
    return epochs, batch, rate
