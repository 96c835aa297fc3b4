"""The Azure OpenAI data plane of each sandbox account, on both surfaces the openai SDK speaks:

- dated:  <endpoint>/openai/deployments/{deployment}/chat/completions?api-version=..., <endpoint>/openai/files ...
- v1:     <endpoint>/openai/v1/chat/completions (model = deployment name), <endpoint>/openai/v1/files ...

An account's endpoint is <sandbox>/aoai/<account>/ (Azure: https://<account>.openai.azure.com/).
"""

from __future__ import annotations

import asyncio
import math
import random
import shutil
import time
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.datastructures import UploadFile

from sandbox.credentials import OPENAI_AUDIENCES, token_audience
from sandbox.errors import OpenAiError
from sandbox.fine_tuning import (
    TERMINAL, checkpoints, default_epochs, events, fine_tuned_model_name, job_json, job_status,
)
from sandbox.fine_tuning_files import MIN_TRAINING_EXAMPLES, example_token_limit, process_file
from sandbox.ratelimit import DeploymentLimiter
from sandbox.tokens import encoding as _encoding, prompt_tokens
from sandbox.world import Account, AoaiFile, Deployment, FineTuneJob, World, new_hex

SURFACES = ("/openai", "/openai/v1")
FILE_PURPOSES = {"fine-tune"}
MAX_ACTIVE_JOBS = 3


def build_router(world: World) -> APIRouter:
    router = APIRouter(prefix="/aoai/{account_name}")

    def account_for(request: Request, account_name: str) -> Account:
        account = world.find_account(account_name)
        if account is None or world.now() < account.ready_at:
            raise OpenAiError(404, "404", "Resource not found")
        key = request.headers.get("api-key")
        authorization = request.headers.get("authorization") or ""
        audience = token_audience(authorization)
        if key is None and audience is None and authorization.lower().startswith("bearer "):
            key = authorization[7:].strip()  # the v1 API also takes the account key as a bearer token
        if key is not None:
            if account.disable_local_auth:
                raise OpenAiError(403, "AuthenticationTypeDisabled", "Key based authentication is disabled for this resource.")
            if key not in account.keys():
                raise OpenAiError(401, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make "
                                  "sure to provide a valid key for an active subscription and use a correct regional API "
                                  "endpoint for your resource.")
        elif audience not in OPENAI_AUDIENCES:
            raise OpenAiError(401, "PermissionDenied", "Access token is missing, invalid, audience is incorrect, or have expired.")
        dated = "/openai/v1/" not in request.url.path
        if dated and "api-version" not in request.query_params:
            raise OpenAiError(404, "404", "Resource not found")
        return account

    def route(method: str, path: str, handler: Callable) -> None:
        for surface in SURFACES:
            router.add_api_route(surface + path, handler, methods=[method])

    # Chat completions ----------------------------------------------------------------------------

    def deployment_for(account: Account, name: str | None) -> Deployment:
        deployment = account.deployments.get((name or "").lower())
        if deployment is None or world.now() < deployment.ready_at:
            raise OpenAiError(404, "DeploymentNotFound", "The API deployment for this resource does not exist. If you "
                              "created the deployment within the last 5 minutes, please wait a moment and try again.")
        return deployment

    async def chat(request: Request, account_name: str, deployment_name: str | None = None):
        account = account_for(request, account_name)
        body = await request.json()
        deployment = deployment_for(account, deployment_name or body.get("model"))
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise OpenAiError(400, "invalid_request_error", "'messages' is a required property", param="messages")
        if body.get("stream"):
            raise OpenAiError(400, "unsupported_parameter", "The sandbox does not stream; call without stream=true.",
                              param="stream")
        max_tokens, max_completion = body.get("max_tokens"), body.get("max_completion_tokens")
        temperature = body.get("temperature")
        effort = body.get("reasoning_effort")
        if deployment.reasoning:
            if max_tokens is not None:
                raise OpenAiError(400, "unsupported_parameter", "Unsupported parameter: 'max_tokens' is not supported "
                                  "with this model. Use 'max_completion_tokens' instead.", param="max_tokens",
                                  type_="invalid_request_error")
            if temperature not in (None, 1, 1.0):
                raise OpenAiError(400, "unsupported_value", f"Unsupported value: 'temperature' does not support "
                                  f"{temperature} with this model. Only the default (1) value is supported.",
                                  param="temperature", type_="invalid_request_error")
        elif effort is not None:
            raise OpenAiError(400, "invalid_request_error", "Unrecognized request argument supplied: reasoning_effort",
                              param="reasoning_effort")
        effort = effort or "medium"
        if effort not in world.config.model.reasoning_tokens:
            raise OpenAiError(400, "invalid_request_error", f"Invalid value for 'reasoning_effort': {effort!r}.",
                              param="reasoning_effort")
        n = int(body.get("n") or 1)
        budget = max_completion if max_completion is not None else max_tokens
        encoding = _encoding(deployment.encoding)
        prompt = prompt_tokens(encoding, messages)
        estimate = prompt + (budget if budget is not None else world.config.default_max_tokens_estimate) * n

        with world.lock:
            limiter = account.limiters.get(deployment.name.lower())
            if limiter is None:
                limiter = account.limiters[deployment.name.lower()] = DeploymentLimiter(deployment.capacity)
        decision = limiter.try_acquire(world.now(), estimate)
        rate_headers = {
            "x-ratelimit-limit-requests": str(decision.limit_requests),
            "x-ratelimit-limit-tokens": str(decision.limit_tokens),
            "x-ratelimit-remaining-requests": str(decision.remaining_requests),
            "x-ratelimit-remaining-tokens": str(decision.remaining_tokens),
        }
        if not decision.allowed:
            if math.isinf(decision.retry_after):
                raise OpenAiError(400, "invalid_request_error", f"This request needs {estimate} tokens, more than the "
                                  f"deployment's limit of {decision.limit_tokens} tokens per minute.")
            # The client waits in real time; the sandbox clock may run faster than that.
            wait_ms = max(1, math.ceil(decision.retry_after / world.config.clock_speed * 1000))
            api = request.query_params.get("api-version", "v1")
            raise OpenAiError(429, "429", f"Requests to the ChatCompletions_Create Operation under Azure OpenAI API "
                              f"version {api} have exceeded {'token' if decision.reason == 'tokens' else 'call'} rate "
                              f"limit of your current OpenAI S0 pricing tier. Please retry after "
                              f"{math.ceil(wait_ms / 1000)} seconds.",
                              headers={**rate_headers, "retry-after-ms": str(wait_ms),
                                       "retry-after": str(math.ceil(wait_ms / 1000))})

        choices, completion_total, reasoning_total = [], 0, 0
        for index in range(n):
            answer = world.model.answer(deployment.name, messages, temperature)
            tokens = encoding.encode_ordinary(answer.text)
            reasoning = world.config.model.reasoning_tokens[effort] if deployment.reasoning else 0
            visible_budget = None if budget is None else max(0, budget - reasoning)
            finish = "stop"
            if visible_budget is not None and len(tokens) > visible_budget:
                tokens, finish = tokens[:visible_budget], "length"
            if budget is not None:
                reasoning = min(reasoning, budget)
            completion_total += len(tokens) + reasoning
            reasoning_total += reasoning
            choices.append({
                "index": index,
                "message": {"role": "assistant", "content": encoding.decode(tokens), "refusal": None,
                            "annotations": []},
                "finish_reason": finish,
                "logprobs": None,
                "content_filter_results": {c: {"filtered": False, "severity": "safe"}
                                           for c in ("hate", "self_harm", "sexual", "violence")},
            })
        latency = world.config.model.latency_per_token_ms * completion_total / 1000
        if latency:
            await asyncio.sleep(latency)
        model_id = f"{deployment.model_name}-{deployment.model_version}" if not deployment.fine_tuned else deployment.model_name
        response = {
            "id": f"chatcmpl-{new_hex()[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model_id,
            "system_fingerprint": f"fp_{deployment.encoding[:6]}",
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion_total,
                "total_tokens": prompt + completion_total,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": reasoning_total, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
            },
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
        }
        return JSONResponse(response, headers={**rate_headers, "x-ms-region": account.location,
                                               "apim-request-id": new_hex()})

    async def chat_dated(request: Request, account_name: str, deployment_name: str):
        return await chat(request, account_name, deployment_name)

    router.add_api_route("/openai/deployments/{deployment_name}/chat/completions", chat_dated, methods=["POST"])
    router.add_api_route("/openai/v1/chat/completions", chat, methods=["POST"])

    # Files ---------------------------------------------------------------------------------------

    def file_status(file: AoaiFile) -> str:
        if world.now() < file.ready_at:
            return "pending"
        return "error" if file.error else "processed"

    def file_json(file: AoaiFile) -> dict:
        status = file_status(file)
        return {
            "id": file.id, "object": "file", "bytes": file.bytes, "created_at": int(file.created_at),
            "filename": file.filename, "purpose": file.purpose, "status": status,
            "status_details": file.error if status == "error" else None,
        }

    def find_file(account: Account, file_id: str) -> AoaiFile:
        file = account.files.get(file_id)
        if file is None:
            raise OpenAiError(404, "fileNotFound", f"File with id '{file_id}' not found.", param="file_id")
        return file

    async def upload_file(request: Request, account_name: str):
        account = account_for(request, account_name)
        async with request.form(max_part_size=world.config.max_file_bytes) as form:
            return await store_upload(account, form.get("purpose"), form.get("file"))

    async def store_upload(account: Account, purpose, upload):
        if purpose not in FILE_PURPOSES:
            raise OpenAiError(400, "invalidPayload", f"Purpose '{purpose}' is not supported; the sandbox takes 'fine-tune'.",
                              param="purpose")
        if not isinstance(upload, UploadFile):
            raise OpenAiError(400, "invalidPayload", "A file is required.", param="file")
        file_id = f"file-{new_hex()}"
        folder = world.state_dir / "aoai" / account.name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / file_id
        with path.open("wb") as out:
            await asyncio.to_thread(shutil.copyfileobj, upload.file, out, 1024 * 1024)
        size = path.stat().st_size
        if size > world.config.max_file_bytes:
            path.unlink()
            raise OpenAiError(400, "invalidPayload", f"The file is {size} bytes; the limit is 512 MB.", param="file")
        error, examples, counts = await asyncio.to_thread(_check_fine_tune_file, path, upload.filename or file_id)
        now = world.now()
        file = AoaiFile(file_id, upload.filename or file_id, purpose, size, now,
                        now + world.config.timings.file_processing, path, error, examples, sum(counts), counts)
        with world.lock:
            account.files[file_id] = file
        return file_json(file)

    def list_files(request: Request, account_name: str):
        account = account_for(request, account_name)
        return {"object": "list", "data": [file_json(f) for f in account.files.values()], "has_more": False}

    def get_file(request: Request, account_name: str, file_id: str):
        return file_json(find_file(account_for(request, account_name), file_id))

    def file_content(request: Request, account_name: str, file_id: str):
        file = find_file(account_for(request, account_name), file_id)
        return FileResponse(file.path, media_type="application/octet-stream")

    def delete_file(request: Request, account_name: str, file_id: str):
        account = account_for(request, account_name)
        with world.lock:
            file = find_file(account, file_id)
            del account.files[file_id]
        file.path.unlink(missing_ok=True)
        return {"id": file_id, "object": "file", "deleted": True}

    route("POST", "/files", upload_file)
    route("GET", "/files", list_files)
    route("GET", "/files/{file_id}", get_file)
    route("GET", "/files/{file_id}/content", file_content)
    route("DELETE", "/files/{file_id}", delete_file)

    # Fine-tuning jobs ----------------------------------------------------------------------------

    def find_job(account: Account, job_id: str) -> FineTuneJob:
        job = account.jobs.get(job_id)
        if job is None:
            raise OpenAiError(404, "jobNotFound", f"Fine-tuning job '{job_id}' not found.", param="fine_tuning_job_id")
        return job

    def ready_file(account: Account, file_id: str | None, role: str) -> AoaiFile:
        if not file_id or file_id not in account.files:
            raise OpenAiError(400, "invalidPayload", f"The {role} file '{file_id}' does not exist.", param=f"{role}_file")
        file = account.files[file_id]
        status = file_status(file)
        if status == "error":
            raise OpenAiError(400, "invalidPayload", f"The {role} file '{file_id}' failed validation: {file.error}",
                              param=f"{role}_file")
        if status != "processed":
            raise OpenAiError(400, "invalidPayload", f"The {role} file '{file_id}' is not ready; its status is {status}.",
                              param=f"{role}_file")
        return file

    async def create_job(request: Request, account_name: str):
        account = account_for(request, account_name)
        body = await request.json()
        model = body.get("model") or ""
        training_type = body.get("trainingType") or body.get("training_type") or "Standard"
        with world.lock:
            base = model
            previous = next((j for j in account.jobs.values() if j.fine_tuned_model == model), None)
            if previous is not None:
                if job_status(world, previous) != "succeeded":
                    raise OpenAiError(400, "invalidPayload", f"The model '{model}' is not ready.", param="model")
                base = previous.model
            refusal = world.catalog.fine_tune_refusal(base, account.location, training_type, world.config.customer,
                                                      world.today())
            if refusal:
                raise OpenAiError(400, "invalidPayload", refusal, param="model")
            training = ready_file(account, body.get("training_file"), "training")
            if training.examples < MIN_TRAINING_EXAMPLES:
                raise OpenAiError(400, "invalidPayload", f"The training file '{training.id}' has {training.examples} "
                                  f"examples; at least {MIN_TRAINING_EXAMPLES} are required.", param="training_file")
            validation = ready_file(account, body["validation_file"], "validation") if body.get("validation_file") else None
            active = [j for j in account.jobs.values() if job_status(world, j) not in TERMINAL]
            if len(active) >= MAX_ACTIVE_JOBS:
                raise OpenAiError(429, "quotaExceeded", f"This resource already runs {len(active)} fine-tuning jobs; "
                                  f"at most {MAX_ACTIVE_JOBS} may run at once.")
            hyper = dict(body.get("hyperparameters") or {})
            method = body.get("method") or {}
            hyper.update(((method.get("supervised") or {}).get("hyperparameters")) or {})
            epochs = hyper.get("n_epochs", "auto")
            epochs = default_epochs(training.examples) if epochs in (None, "auto") else int(epochs)
            if not 1 <= epochs <= 50:
                raise OpenAiError(400, "invalidPayload", "n_epochs must be between 1 and 50.", param="hyperparameters")
            batch = hyper.get("batch_size", "auto")
            batch = max(1, min(32, training.examples // 10 or 1)) if batch in (None, "auto") else int(batch)
            rate = hyper.get("learning_rate_multiplier", "auto")
            rate = 1.0 if rate in (None, "auto") else float(rate)
            limit = example_token_limit(base)
            seed = body.get("seed")
            seed = int(seed) if seed is not None else random.randrange(2**31)
            now = world.now()
            running = now + world.config.timings.finetune_queued
            failure = world.extensions.pop("next_finetune_failure", None)
            job = FineTuneJob(
                id=f"ftjob-{new_hex()}", model=model, training_file=training.id,
                validation_file=validation.id if validation else None, seed=seed, suffix=body.get("suffix"),
                training_type=training_type, n_epochs=epochs, batch_size=batch, learning_rate_multiplier=rate,
                created_at=now, running_at=running, finished_at=running + world.config.timings.finetune_running,
                trained_tokens=epochs * sum(min(t, limit) for t in training.token_counts),
                fine_tuned_model=fine_tuned_model_name(base), training_examples=training.examples, failure=failure,
            )
            account.jobs[job.id] = job
            return job_json(world, job)

    def list_jobs(request: Request, account_name: str, limit: int = 20, after: str | None = None):
        account = account_for(request, account_name)
        jobs = sorted(account.jobs.values(), key=lambda j: j.created_at, reverse=True)
        if after:
            ids = [j.id for j in jobs]
            jobs = jobs[ids.index(after) + 1:] if after in ids else []
        page = jobs[:limit]
        return {"object": "list", "data": [job_json(world, j) for j in page], "has_more": len(jobs) > len(page)}

    def get_job(request: Request, account_name: str, job_id: str):
        return job_json(world, find_job(account_for(request, account_name), job_id))

    def cancel_job(request: Request, account_name: str, job_id: str):
        account = account_for(request, account_name)
        with world.lock:
            job = find_job(account, job_id)
            if job_status(world, job) in TERMINAL:
                raise OpenAiError(400, "invalidPayload", f"Job '{job_id}' has already finished and cannot be cancelled.")
            job.cancelled_at = world.now()
            return job_json(world, job)

    def list_events(request: Request, account_name: str, job_id: str, limit: int = 20, after: str | None = None):
        found = events(world, find_job(account_for(request, account_name), job_id))
        if after:
            ids = [e["id"] for e in found]
            found = found[ids.index(after) + 1:] if after in ids else []
        return {"object": "list", "data": found[:limit], "has_more": len(found) > limit}

    def list_checkpoints(request: Request, account_name: str, job_id: str, limit: int = 10):
        found = checkpoints(world, find_job(account_for(request, account_name), job_id))[:limit]
        return {"object": "list", "data": found, "has_more": False,
                "first_id": found[0]["id"] if found else None, "last_id": found[-1]["id"] if found else None}

    route("POST", "/fine_tuning/jobs", create_job)
    route("GET", "/fine_tuning/jobs", list_jobs)
    route("GET", "/fine_tuning/jobs/{job_id}", get_job)
    route("POST", "/fine_tuning/jobs/{job_id}/cancel", cancel_job)
    route("GET", "/fine_tuning/jobs/{job_id}/events", list_events)
    route("GET", "/fine_tuning/jobs/{job_id}/checkpoints", list_checkpoints)
    return router


def _check_fine_tune_file(path, name: str) -> tuple[str | None, int, list[int]]:
    """Azure's processing of an uploaded fine-tune file: (first error naming its line, examples, tokens per example)."""
    processed = process_file(path, name)
    return processed.error, processed.examples, processed.tokens
