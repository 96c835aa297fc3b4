"""The Responses API for the account's deployments: POST /openai/v1/responses and the dated
/openai/responses?api-version=... (Learn "Azure OpenAI Responses API": both take the deployment name as `model`),
GET and DELETE /responses/{response_id}.

Input is a string or a list of messages (content a string or input_text parts); `instructions` goes before it as
a system message. `max_output_tokens` caps visible plus reasoning tokens (OpenAI Responses reference); an answer cut
by it has status "incomplete" with incomplete_details.reason "max_output_tokens". Reasoning models report a
reasoning output item and usage.output_tokens_details.reasoning_tokens; `reasoning.effort` is refused on other
models and `temperature` / `top_p` on reasoning models ("Unsupported parameter: '<key>' is not supported with this
model.", as for chat completions). `text.format` json_object / json_schema answers JSON as chat completions do.
Requests share the deployment's rate limits with chat completions; `stream: true` answers server-sent events
(sandbox.aoai.responses_streaming). Not emulated: tools, `previous_response_id` chaining, background mode.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.aoai.api_versions import check_model_api_version
from sandbox.aoai.auth import account_for
from sandbox.aoai.chat import admit, deployment_for, limiter_for
from sandbox.aoai.responses_streaming import stream_response
from sandbox.aoai.surfaces import route_on_both
from sandbox.errors import OpenAiError
from sandbox.tokens import encoding, prompt_tokens, text_of
from sandbox.world import Deployment, World, new_hex

MIN_OUTPUT_TOKENS = 16  # OpenAI Responses reference: max_output_tokens "integer below minimum value ... >= 16"
KEYS = {"model", "input", "instructions", "max_output_tokens", "reasoning", "temperature", "top_p", "store",
        "metadata", "text", "user", "truncation", "include", "parallel_tool_calls", "stream", "tools",
        "tool_choice", "previous_response_id", "service_tier", "background", "safety_identifier",
        "prompt_cache_key"}
REASONING_REFUSES = ("temperature", "top_p")


def build_router(world: World) -> APIRouter:
    router = APIRouter()
    stored: dict[tuple[str, str], dict] = world.extensions.setdefault("responses", {})

    async def create(request: Request, account_name: str):
        account = account_for(world, request, account_name)
        body = await request.json()
        deployment = deployment_for(world, account, body.get("model"))
        check_model_api_version(world, request, deployment)
        answer = respond(world, deployment, body, request, account)
        if body.get("store", True):
            stored[(account.name.lower(), answer["id"])] = answer
        headers = {"x-ms-region": account.location, "apim-request-id": new_hex()}
        if body.get("stream"):
            return stream_response(answer, encoding(deployment.encoding), headers)
        return JSONResponse(answer, headers=headers)

    def retrieve(request: Request, account_name: str, response_id: str):
        account = account_for(world, request, account_name)
        return _stored(stored, account.name, response_id)

    def delete(request: Request, account_name: str, response_id: str):
        account = account_for(world, request, account_name)
        _stored(stored, account.name, response_id)
        del stored[(account.name.lower(), response_id)]
        return {"id": response_id, "object": "response.deleted", "deleted": True}

    route_on_both(router, "POST", "/responses", create)
    route_on_both(router, "GET", "/responses/{response_id}", retrieve)
    route_on_both(router, "DELETE", "/responses/{response_id}", delete)
    return router


def _stored(stored: dict, account: str, response_id: str) -> dict:
    found = stored.get((account.lower(), response_id))
    if found is None:
        raise OpenAiError(404, None, f"Response with id '{response_id}' not found.", type_="invalid_request_error")
    return found


def messages_of(body: dict) -> list[dict]:
    """The conversation the input stands for: instructions as a system message, then the input messages."""
    given = body.get("input")
    if isinstance(given, str):
        messages = [{"role": "user", "content": given}]
    elif isinstance(given, list) and given:
        messages = [{"role": m.get("role", "user"), "content": text_of(_parts_as_text(m.get("content")))}
                    for m in given if isinstance(m, dict)]
    else:
        raise OpenAiError(400, "missing_required_parameter", "Missing required parameter: 'input'.", param="input",
                          type_="invalid_request_error")
    if body.get("instructions"):
        messages.insert(0, {"role": "system", "content": body["instructions"]})
    return messages


def _parts_as_text(content):
    if isinstance(content, list):  # input_text / output_text parts carry `text` as chat content parts do
        return [{"text": part.get("text")} for part in content if isinstance(part, dict)]
    return content


def check(world: World, deployment: Deployment, body: dict) -> tuple[str | None, int | None]:
    """Refuse what Azure refuses; the reasoning effort (reasoning models) and the output budget."""
    for key in body:
        if key not in KEYS:
            raise OpenAiError(400, "unknown_parameter", f"Unknown parameter: '{key}'.", param=key,
                              type_="invalid_request_error")
    effort = (body.get("reasoning") or {}).get("effort")
    if deployment.reasoning:
        for key in REASONING_REFUSES:
            if body.get(key) is not None:
                raise OpenAiError(400, "unsupported_parameter", f"Unsupported parameter: '{key}' is not supported "
                                  f"with this model.", param=key, type_="invalid_request_error")
        effort = effort or "medium"
        efforts = list(world.config.model.reasoning_tokens)
        if effort not in efforts:
            raise OpenAiError(400, "invalid_value", f"Invalid value: '{effort}'. Supported values are: "
                              f"{', '.join(repr(e) for e in efforts[:-1])}, and {efforts[-1]!r}.",
                              param="reasoning.effort", type_="invalid_request_error")
    elif effort is not None:
        raise OpenAiError(400, "unsupported_parameter", "Unsupported parameter: 'reasoning.effort' is not supported "
                          "with this model.", param="reasoning.effort", type_="invalid_request_error")
    budget = body.get("max_output_tokens")
    if budget is not None and budget < MIN_OUTPUT_TOKENS:
        raise OpenAiError(400, "integer_below_min_value", f"Invalid 'max_output_tokens': integer below minimum "
                          f"value. Expected a value >= {MIN_OUTPUT_TOKENS}, but got {budget} instead.",
                          param="max_output_tokens", type_="invalid_request_error")
    return effort, budget


def respond(world: World, deployment: Deployment, body: dict, request: Request, account) -> dict:
    effort, budget = check(world, deployment, body)
    messages = messages_of(body)
    text_format = (body.get("text") or {}).get("format") or {"type": "text"}
    if text_format.get("type") == "json_object" and not any("json" in m["content"].lower() for m in messages
                                                            if m["role"] != "system"):
        # The live answer (reports quoting it, e.g. an Azure E2E log): the word must be in the input messages;
        # instructions alone do not count.
        raise OpenAiError(400, None, "Response input messages must contain the word 'json' in some form to use "
                          "'text.format' of type 'json_object'.", param="text.format", type_="invalid_request_error")
    enc = encoding(deployment.encoding)
    prompt = prompt_tokens(enc, messages)
    limiter = limiter_for(world, account, deployment)
    reserve = budget if budget is not None else min(world.config.default_max_tokens_estimate,
                                                    max(0, limiter.limits.tokens_per_minute - prompt))
    admit(world, account, deployment, request, prompt + reserve)
    temperature = body.get("temperature")
    if text_format.get("type") == "json_schema":
        text = world.model.json_answer(deployment.name, messages, temperature, text_format.get("schema"))
    elif text_format.get("type") == "json_object":
        text = world.model.json_answer(deployment.name, messages, temperature, None)
    else:
        text = world.model.answer(deployment.name, messages, temperature).text
    reasoning = world.config.model.reasoning_tokens[effort] if deployment.reasoning else 0
    if budget is not None:
        reasoning = min(reasoning, budget)
    tokens = enc.encode_ordinary(text)
    visible = None if budget is None else budget - reasoning
    cut = visible is not None and len(tokens) > visible
    if cut:
        tokens = tokens[:visible]
    output = []
    if deployment.reasoning:
        output.append({"id": f"rs_{new_hex()}", "type": "reasoning", "summary": []})
    output.append({"id": f"msg_{new_hex()}", "type": "message", "status": "incomplete" if cut else "completed",
                   "role": "assistant",
                   "content": [{"type": "output_text", "text": enc.decode(tokens), "annotations": [], "logprobs": []}]})
    completion = len(tokens) + reasoning
    model_id = deployment.model_name if deployment.fine_tuned else f"{deployment.model_name}-{deployment.model_version}"
    return {
        "id": f"resp_{new_hex()}", "object": "response", "created_at": int(time.time()),
        "status": "incomplete" if cut else "completed", "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
        "instructions": body.get("instructions"), "max_output_tokens": budget, "model": model_id,
        "output": output, "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": effort, "summary": None}, "store": body.get("store", True),
        "temperature": 1.0 if temperature is None else temperature, "text": {"format": text_format},
        "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools", []),
        "top_p": body.get("top_p", 1.0), "truncation": body.get("truncation", "disabled"),
        "usage": {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": reasoning},
                  "total_tokens": prompt + completion},
        "user": body.get("user"), "metadata": body.get("metadata") or {},
    }
