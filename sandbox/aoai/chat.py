"""Chat completions: POST /openai/deployments/{deployment}/chat/completions (dated) and /openai/v1/chat/completions.

Answers come from the sandbox's synthetic model; usage counts prompt tokens with the cookbook's accounting
(sandbox.tokens), and each deployment's tokens-per-minute and requests-per-minute limits answer with Azure's
429 and retry-after headers. `stream: true` answers as server-sent events (sandbox.aoai.streaming). What a
request may contain, and Azure's refusals, are in sandbox.aoai.chat_requests; JSON mode and Structured Outputs
answer JSON, a forced tool_choice answers a tool call.

Token reservation, as Azure estimates it before running a request (Learn "Azure OpenAI quota", quota-2.md): the
prompt plus max_tokens (or max_completion_tokens) per choice. A request with neither reserves the sandbox's
default estimate, but never more than the deployment's whole TPM leaves after the prompt: Azure serves such
requests on small deployments. A request whose own estimate exceeds the whole TPM can never fit, and Azure
answers it with 429 "Please retry after 86400 seconds" (vanderschaarlab/climb#1, alex-wolf-ps/dbchatprov2#2).
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.aoai import chat_requests
from sandbox.aoai.api_versions import check_model_api_version
from sandbox.aoai.auth import account_for
from sandbox.aoai.streaming import stream_response
from sandbox.errors import OpenAiError
from sandbox.ratelimit import DeploymentLimiter, deployment_limits
from sandbox.tokens import encoding, prompt_tokens
from sandbox.world import Account, Deployment, World, new_hex

CONTENT_FILTER_CATEGORIES = ("hate", "self_harm", "sexual", "violence")


@dataclass
class ChatParameters:
    messages: list[dict]
    n: int
    budget: int | None  # max_completion_tokens, else max_tokens
    temperature: float | None
    effort: str
    stream: bool = False
    include_usage: bool = False  # stream_options.include_usage: a last chunk carries the usage
    json_format: dict | None = None  # response_format json_object / json_schema
    tool: dict | None = None  # the tool the model must call (tool_choice "required" or a named function)


@dataclass
class Completion:
    choices: list[dict]
    completion_tokens: int
    reasoning_tokens: int


def build_router(world: World) -> APIRouter:
    router = APIRouter()

    async def chat(request: Request, account_name: str, deployment_name: str | None = None):
        return await complete(world, request, account_name, deployment_name)

    async def chat_dated(request: Request, account_name: str, deployment_name: str):
        return await complete(world, request, account_name, deployment_name)

    router.add_api_route("/openai/deployments/{deployment_name}/chat/completions", chat_dated, methods=["POST"])
    router.add_api_route("/openai/v1/chat/completions", chat, methods=["POST"])
    return router


async def complete(world: World, request: Request, account_name: str, deployment_name: str | None) -> JSONResponse:
    account = account_for(world, request, account_name)
    body = await request.json()
    deployment = deployment_for(world, account, deployment_name or body.get("model"))
    check_model_api_version(world, request, deployment)
    parameters = chat_parameters(world, deployment, body)
    enc = encoding(deployment.encoding)
    prompt = prompt_tokens(enc, parameters.messages)
    limiter = limiter_for(world, account, deployment)
    if parameters.budget is not None:
        reserve = parameters.budget
    else:
        room = max(0, limiter.limits.tokens_per_minute - prompt) // parameters.n
        reserve = min(world.config.default_max_tokens_estimate, room)
    rate_headers = admit(world, account, deployment, request, prompt + reserve * parameters.n)
    completion = answer(world, deployment, parameters, enc)
    headers = {**rate_headers, "x-ms-region": account.location, "apim-request-id": new_hex()}
    body_json = completion_json(deployment, prompt, completion)
    per_token = world.config.model.latency_per_token_ms / 1000
    if parameters.stream:
        return stream_response(body_json, enc, parameters.include_usage, per_token, headers)
    if per_token:
        await asyncio.sleep(per_token * completion.completion_tokens)
    return JSONResponse(body_json, headers=headers)


def deployment_for(world: World, account: Account, name: str | None) -> Deployment:
    deployment = account.deployments.get((name or "").lower())
    if deployment is None or world.now() < deployment.ready_at:
        raise OpenAiError(404, "DeploymentNotFound", "The API deployment for this resource does not exist. If you "
                          "created the deployment within the last 5 minutes, please wait a moment and try again.")
    return deployment


def chat_parameters(world: World, deployment: Deployment, body: dict) -> ChatParameters:
    """The request's parameters, refused the way Azure refuses them for this deployment's model family."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise OpenAiError(400, "invalid_request_error", "'messages' is a required property", param="messages")
    stream, stream_options = bool(body.get("stream")), body.get("stream_options")
    if stream_options is not None and not stream:
        # OpenAI's own refusal, which Azure passes through.
        raise OpenAiError(400, "invalid_request_error", "The 'stream_options' parameter is only allowed when "
                          "'stream' is enabled.", param="stream_options")
    max_tokens, max_completion = body.get("max_tokens"), body.get("max_completion_tokens")
    temperature, effort = body.get("temperature"), body.get("reasoning_effort")
    if deployment.reasoning:
        _check_reasoning_parameters(max_tokens, temperature)
    elif effort is not None:
        raise OpenAiError(400, "invalid_request_error", "Unrecognized request argument supplied: reasoning_effort",
                          param="reasoning_effort")
    kinds = world.catalog.chat_parameters
    accepted = kinds.reasoning if deployment.reasoning else kinds.chat
    chat_requests.check_keys(body, accepted, {*kinds.reasoning, *kinds.chat})
    n = chat_requests.check_n(body)
    chat_requests.check_messages(messages)
    json_format, tool = chat_requests.response_format(body), chat_requests.forced_tool(body)
    effort = effort or "medium"
    if effort not in world.config.model.reasoning_tokens:
        raise OpenAiError(400, "invalid_request_error", f"Invalid value for 'reasoning_effort': {effort!r}.",
                          param="reasoning_effort")
    budget = max_completion if max_completion is not None else max_tokens
    include_usage = bool((stream_options or {}).get("include_usage"))
    return ChatParameters(messages, n, budget, temperature, effort, stream, include_usage, json_format, tool)


def _check_reasoning_parameters(max_tokens, temperature) -> None:
    if max_tokens is not None:
        raise OpenAiError(400, "unsupported_parameter", "Unsupported parameter: 'max_tokens' is not supported "
                          "with this model. Use 'max_completion_tokens' instead.", param="max_tokens",
                          type_="invalid_request_error")
    if temperature not in (None, 1, 1.0):
        raise OpenAiError(400, "unsupported_value", f"Unsupported value: 'temperature' does not support "
                          f"{temperature} with this model. Only the default (1) value is supported.",
                          param="temperature", type_="invalid_request_error")


def limiter_for(world: World, account: Account, deployment: Deployment) -> DeploymentLimiter:
    with world.lock:
        limiter = account.limiters.get(deployment.name.lower())
        if limiter is None:
            limits = deployment_limits(world.catalog, deployment.model_name, deployment.capacity)
            limiter = account.limiters[deployment.name.lower()] = DeploymentLimiter(limits)
    return limiter


# Azure's answer to a request that can never fit the deployment's TPM: a 429 asking for a day's wait, which
# clients (the openai SDK waits at most 120 s) do not retry. Reports: vanderschaarlab/climb#1 (2024-08-01-preview,
# 30K TPM), alex-wolf-ps/dbchatprov2#2 (2024-05-01-preview).
NEVER_FITS_SECONDS = 86400


def admit(world: World, account: Account, deployment: Deployment, request: Request, estimate: int) -> dict:
    """Take `estimate` tokens from the deployment's rate limits; the x-ratelimit headers, or Azure's 429."""
    limiter = limiter_for(world, account, deployment)
    decision = limiter.try_acquire(world.now(), estimate)
    speed = world.config.clock_speed  # the client waits in real time; the sandbox clock may run faster
    rate_headers = {**decision.headers(), "x-ratelimit-reset-requests": str(math.ceil(decision.reset_requests / speed)),
                    "x-ratelimit-reset-tokens": str(math.ceil(decision.reset_tokens / speed))}
    if decision.allowed:
        return rate_headers
    api = request.query_params.get("api-version", "v1")
    if math.isinf(decision.retry_after):
        raise OpenAiError(429, "429", f"Requests to the ChatCompletions_Create Operation under Azure OpenAI API "
                          f"version {api} have exceeded token rate limit of your current OpenAI S0 pricing tier. "
                          f"Please retry after {NEVER_FITS_SECONDS} seconds. Please go here: "
                          f"https://aka.ms/oai/quotaincrease if you would like to further increase the default rate "
                          f"limit.", headers={**rate_headers, "retry-after": str(NEVER_FITS_SECONDS),
                                              "retry-after-ms": str(NEVER_FITS_SECONDS * 1000)})
    wait_ms = max(1, math.ceil(decision.retry_after / speed * 1000))
    raise OpenAiError(429, "429", f"Requests to the ChatCompletions_Create Operation under Azure OpenAI API "
                      f"version {api} have exceeded {'token' if decision.reason == 'tokens' else 'call'} rate "
                      f"limit of your current OpenAI S0 pricing tier. Please retry after "
                      f"{math.ceil(wait_ms / 1000)} seconds.",
                      headers={**rate_headers, "retry-after-ms": str(wait_ms),
                               "retry-after": str(math.ceil(wait_ms / 1000))})


def answer(world: World, deployment: Deployment, parameters: ChatParameters, enc) -> Completion:
    """n choices from the synthetic model, cut at the budget left after the reasoning tokens."""
    completion = Completion([], 0, 0)
    budget = parameters.budget
    for index in range(parameters.n):
        if parameters.tool is not None:
            completion.choices.append(_tool_call_choice(world, deployment, parameters, enc, index, completion))
            continue
        text = _text(world, deployment, parameters)
        tokens = enc.encode_ordinary(text)
        reasoning = world.config.model.reasoning_tokens[parameters.effort] if deployment.reasoning else 0
        visible_budget = None if budget is None else max(0, budget - reasoning)
        finish = "stop"
        if visible_budget is not None and len(tokens) > visible_budget:
            tokens, finish = tokens[:visible_budget], "length"
        if budget is not None:
            reasoning = min(reasoning, budget)
        completion.completion_tokens += len(tokens) + reasoning
        completion.reasoning_tokens += reasoning
        completion.choices.append(_choice_json(index, enc.decode(tokens), finish))
    return completion


def _text(world: World, deployment: Deployment, parameters: ChatParameters) -> str:
    if parameters.json_format is None:
        return world.model.answer(deployment.name, parameters.messages, parameters.temperature).text
    schema = (parameters.json_format.get("json_schema") or {}).get("schema")
    return world.model.json_answer(deployment.name, parameters.messages, parameters.temperature, schema)


def _tool_call_choice(world: World, deployment: Deployment, parameters: ChatParameters, enc, index: int,
                      completion: Completion) -> dict:
    """A forced tool call: arguments that validate against the function's parameters, finish_reason
    "tool_calls" (OpenAI chat completions reference: "tool_calls if the model called a tool"). The budget does
    not cut the arguments (a cut would leave invalid JSON; a real model then answers finish_reason "length")."""
    function = parameters.tool.get("function", {})
    arguments = world.model.tool_arguments(deployment.name, parameters.messages, parameters.temperature,
                                           function.get("parameters"))
    reasoning = world.config.model.reasoning_tokens[parameters.effort] if deployment.reasoning else 0
    completion.completion_tokens += len(enc.encode_ordinary(arguments)) + reasoning
    completion.reasoning_tokens += reasoning
    choice = _choice_json(index, None, "tool_calls")
    choice["message"]["tool_calls"] = [{"id": f"call_{new_hex()[:24]}", "type": "function",
                                        "function": {"name": function.get("name"), "arguments": arguments}}]
    return choice


def _choice_json(index: int, content: str | None, finish: str) -> dict:
    return {
        "index": index,
        "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
        "finish_reason": finish,
        "logprobs": None,
        "content_filter_results": {c: {"filtered": False, "severity": "safe"} for c in CONTENT_FILTER_CATEGORIES},
    }


def completion_json(deployment: Deployment, prompt: int, completion: Completion) -> dict:
    model_id = (deployment.model_name if deployment.fine_tuned
                else f"{deployment.model_name}-{deployment.model_version}")
    return {
        "id": f"chatcmpl-{new_hex()[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_id,
        "system_fingerprint": f"fp_{deployment.encoding[:6]}",
        "choices": completion.choices,
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion.completion_tokens,
            "total_tokens": prompt + completion.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": completion.reasoning_tokens, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        },
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
    }
