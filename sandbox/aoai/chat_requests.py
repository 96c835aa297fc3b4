"""What a chat-completions request may contain, refused as Azure OpenAI refuses it (400, OpenAI's error shape).

Sources of each refusal (messages as the service sends them, seen in public reports):
- a key no model takes: "Unrecognized request argument supplied: <key>" (Azure; browser-use/browser-use#2990,
  stanfordnlp/dspy#9032 for reasoning_effort on gpt-5-chat);
- a key this kind of model does not take (the catalog's `chatParameters`, Learn "Reasoning models": no top_p,
  penalties, logprobs, stop...): "Unsupported parameter: '<key>' is not supported with this model.", code
  unsupported_parameter (the live text quoted in many client fixes, e.g. "top_p ... gpt-5");
- an unknown role: "Invalid value: '<role>'. Supported values are: 'system', 'assistant', 'user', 'function',
  'tool', and 'developer'.", param messages[i].role, code invalid_value;
- n outside 1..128 (Azure OpenAI REST reference, chat completions `n`: minimum 1, maximum 128): "Invalid 'n':
  integer below minimum value. Expected a value >= 1, but got 0 instead." (code integer_below_min_value) and the
  "above maximum" twin (integer_above_max_value);
- json_object without the word "json" in the messages: "'messages' must contain the word 'json' in some form, to
  use 'response_format' of type 'json_object'." (OpenAI "JSON mode" guide states the requirement);
- a tool message answering no call: "Invalid parameter: messages with role 'tool' must be a response to a
  preceeding message with 'tool_calls'." (the typo is the service's), param messages.[i].role;
- an assistant tool call left unanswered: "An assistant message with 'tool_calls' must be followed by tool
  messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: <ids>";
- tool_choice without tools: "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are
  specified." (karthink/gptel-quick#13); naming a function not in tools: "Tool choice '<name>' not found in
  'tools' parameter." [U: that text is reported from the Responses API; chat completions' own wording unseen].
"""

from __future__ import annotations

from sandbox.errors import OpenAiError
from sandbox.tokens import text_of

ROLES = ("system", "assistant", "user", "function", "tool", "developer")
MAX_CHOICES = 128
# Keys every chat model takes whatever its kind (OpenAI / Azure chat completions reference); the kind-specific
# ones come from the catalog's chatParameters.
COMMON_KEYS = {"messages", "model", "n", "stream", "stream_options", "user", "metadata", "store", "logit_bias",
               "parallel_tool_calls", "service_tier", "prediction", "modalities", "audio", "data_sources",
               "functions", "function_call", "safety_identifier", "prompt_cache_key", "verbosity",
               "user_security_context"}


def check_keys(body: dict, accepted: list[str], every_kind: set[str]) -> None:
    """Refuse a key this model does not take: `accepted` (its kind's chatParameters), `every_kind` (all kinds')."""
    for key in body:
        if key in COMMON_KEYS or key in accepted:
            continue
        if key in every_kind:
            raise OpenAiError(400, "unsupported_parameter", f"Unsupported parameter: '{key}' is not supported "
                              f"with this model.", param=key, type_="invalid_request_error")
        raise OpenAiError(400, "invalid_request_error", f"Unrecognized request argument supplied: {key}", param=key)


def check_n(body: dict) -> int:
    n = body.get("n")
    if n is None:
        return 1
    if isinstance(n, bool) or not isinstance(n, int):
        raise OpenAiError(400, "invalid_type", f"Invalid type for 'n': expected an integer, but got "
                          f"{type(n).__name__} instead.", param="n", type_="invalid_request_error")
    if n < 1:
        raise OpenAiError(400, "integer_below_min_value", f"Invalid 'n': integer below minimum value. Expected a "
                          f"value >= 1, but got {n} instead.", param="n", type_="invalid_request_error")
    if n > MAX_CHOICES:
        raise OpenAiError(400, "integer_above_max_value", f"Invalid 'n': integer above maximum value. Expected a "
                          f"value <= {MAX_CHOICES}, but got {n} instead.", param="n", type_="invalid_request_error")
    return n


def check_messages(messages: list) -> None:
    """Roles, and tool messages paired with the assistant tool calls they answer."""
    pending: dict[str, int] = {}  # tool_call_id -> index of the assistant message that made the call
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ROLES:
            raise OpenAiError(400, "invalid_value", f"Invalid value: '{role}'. Supported values are: 'system', "
                              f"'assistant', 'user', 'function', 'tool', and 'developer'.",
                              param=f"messages[{index}].role", type_="invalid_request_error")
        if role == "tool":
            if message.get("tool_call_id") not in pending:
                raise OpenAiError(400, None, "Invalid parameter: messages with role 'tool' must be a response to a "
                                  "preceeding message with 'tool_calls'.", param=f"messages.[{index}].role",
                                  type_="invalid_request_error")
            del pending[message["tool_call_id"]]
            continue
        if pending:
            _unanswered(pending)
        if role == "assistant":
            pending = {call.get("id"): index for call in message.get("tool_calls") or []}
    if pending:
        _unanswered(pending)


def _unanswered(pending: dict[str, int]) -> None:
    raise OpenAiError(400, None, "An assistant message with 'tool_calls' must be followed by tool messages "
                      "responding to each 'tool_call_id'. The following tool_call_ids did not have response "
                      f"messages: {', '.join(pending)}", param=f"messages.[{min(pending.values())}].role",
                      type_="invalid_request_error")


def forced_tool(body: dict) -> dict | None:
    """The tool a request makes the model call (tool_choice "required": the first; a named function: that one);
    None when the model may answer in text. Refuses a tool_choice the tools cannot satisfy."""
    tools, choice = body.get("tools") or [], body.get("tool_choice")
    if choice in (None, "none"):
        return None
    if not tools:
        raise OpenAiError(400, "invalid_request_error", "Invalid value for 'tool_choice': 'tool_choice' is only "
                          "allowed when 'tools' are specified.", param="tool_choice")
    functions = {t.get("function", {}).get("name"): t for t in tools if t.get("type") == "function"}
    if choice == "auto":
        return None
    if choice == "required":
        return next(iter(functions.values()), tools[0])
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        if name not in functions:
            raise OpenAiError(400, "invalid_request_error", f"Tool choice '{name}' not found in 'tools' parameter.",
                              param="tool_choice")
        return functions[name]
    raise OpenAiError(400, "invalid_value", f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and "
                      f"'required'.", param="tool_choice", type_="invalid_request_error")


def response_format(body: dict) -> dict | None:
    """The requested response_format when it asks for JSON ({"type": "json_object"} or json_schema); else None."""
    requested = body.get("response_format")
    if not isinstance(requested, dict) or requested.get("type") in (None, "text"):
        return None
    kind = requested.get("type")
    if kind == "json_object":
        if not any("json" in _text(m).lower() for m in body.get("messages", [])):
            raise OpenAiError(400, "invalid_request_error", "'messages' must contain the word 'json' in some form, "
                              "to use 'response_format' of type 'json_object'.", param="messages")
        return requested
    if kind == "json_schema":
        schema = (requested.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise OpenAiError(400, "missing_required_parameter", "Missing required parameter: "
                              "'response_format.json_schema.schema'.", param="response_format.json_schema.schema",
                              type_="invalid_request_error")
        return requested
    raise OpenAiError(400, "invalid_value", f"Invalid value: '{kind}'. Supported values are: 'json_object', "
                      "'json_schema', and 'text'.", param="response_format.type", type_="invalid_request_error")


def _text(message) -> str:
    return text_of(message.get("content")) if isinstance(message, dict) else ""
