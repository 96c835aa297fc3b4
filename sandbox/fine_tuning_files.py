"""How the twin processes an uploaded fine-tuning file: Azure's published checks, implemented here.

Sources (the twin never imports the product's validator, which is what it is there to test):

- Azure OpenAI, "Customize a model with fine-tuning", Python tab, "Prepare your training and validation
  data" (https://learn.microsoft.com/azure/ai-services/openai/how-to/fine-tuning; source
  MicrosoftDocs/azure-ai-docs articles/ai-services/openai/includes/fine-tuning-python.md): files are JSON
  Lines in the chat completions conversational format, encoded in UTF-8 (the docs ask for a byte-order
  mark, so one is accepted; files without one are accepted too), less than 512 MB; an assistant message
  may carry `weight` 0 or 1; a job does not proceed with fewer than 10 training examples.
- Azure OpenAI, "Fine-tuning model guidance" (includes/fine-tune-models.md): the training example context
  length is 65,536 tokens (32,768 for gpt-4.1-nano).
- OpenAI cookbook, "Data preparation and analysis for chat model fine-tuning"
  (https://github.com/openai/openai-cookbook/blob/main/examples/Chat_finetuning_data_prep.ipynb), "Format
  validation": each example is a dict with a non-empty `messages` list; each message has `role` and
  `content` and no unrecognised key; the role is a known one; content is text; each example has an
  assistant message. Its "Data Warnings and Token Counts" counts each example as a conversation (see
  sandbox.tokens) and says examples over the limit are truncated, not refused.

Tool calling takes the chat completions message shapes: an assistant's `tool_calls` (an assistant that calls
tools needs no content), the `tool` role and `tool_call_id`. (Azure's "Fine-tuning and function calling" guide,
how-to/fine-tuning-functions.md, shows the older `function_call` / `function` form, which the twin does not
take.)

The twin reports the first problem it finds, as `<file> line <n>: [<rule>] <message>`, the way Azure's file
status details name the line; rule names follow the cookbook's error types (`data-type`, `missing-messages`,
`message-missing-key`, `message-unrecognized-key`, `unrecognized-role`, `missing-content`,
`no-assistant-message`), plus `encoding`, `json`, `message-type`, `weight`, `tool-call-format`, `empty-file`
and the twin's own memory guard `line-too-long`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sandbox.tokens import encoding, prompt_tokens

MIN_TRAINING_EXAMPLES = 10
MAX_FILE_BYTES = 512 * 1024 * 1024
EXAMPLE_CONTEXT_TOKENS = 65_536
EXAMPLE_CONTEXT_TOKENS_BY_BASE = {"gpt-4.1-nano": 32_768}
LINE_CAP = 8 * 1024 * 1024  # no example that fits the context can be this long; reading stays bounded
UTF8_BOM = b"\xef\xbb\xbf"
ROLES = ("system", "user", "assistant", "tool")
MESSAGE_KEYS = frozenset({"role", "content", "name", "weight", "tool_calls", "tool_call_id"})


class FileProblem(Exception):
    def __init__(self, line: int | None, rule: str, message: str):
        super().__init__(message)
        self.line, self.rule, self.message = line, rule, message


@dataclass
class ProcessedFile:
    error: str | None = None
    examples: int = 0
    tokens: list[int] = field(default_factory=list)  # per example, in the cookbook's accounting


def example_token_limit(base_model: str | None) -> int:
    """Tokens of one training example that count; the service truncates longer ones."""
    for prefix, limit in EXAMPLE_CONTEXT_TOKENS_BY_BASE.items():
        if base_model and base_model.startswith(prefix):
            return limit
    return EXAMPLE_CONTEXT_TOKENS


def process_file(path: Path, name: str, encoding_name: str = "o200k_base") -> ProcessedFile:
    """Check an uploaded file and count its examples' tokens; the first problem ends the processing."""
    result = ProcessedFile()
    enc = encoding(encoding_name)
    try:
        with path.open("rb") as stream:
            for number, raw in _lines(stream):
                messages = check_example(raw, number)
                result.examples += 1
                result.tokens.append(prompt_tokens(enc, messages))
        if result.examples == 0:
            raise FileProblem(None, "empty-file", "the file holds no examples")
    except FileProblem as problem:
        where = f"line {problem.line}" if problem.line else "file"
        result.error = f"{name} {where}: [{problem.rule}] {problem.message}"
    return result


def _lines(stream: BinaryIO):
    """(line number, bytes) of every non-blank line; a UTF-8 byte-order mark before the first is dropped."""
    number = 0
    while raw := stream.readline(LINE_CAP + 1):
        number += 1
        if len(raw) > LINE_CAP and not raw.endswith(b"\n"):
            raise FileProblem(number, "line-too-long", f"the line is longer than {LINE_CAP} bytes")
        if number == 1:
            raw = raw.removeprefix(UTF8_BOM)
        if raw.strip():
            yield number, raw


def check_example(raw: bytes, line: int) -> list[dict]:
    """The messages of one JSONL line, or the FileProblem that the line breaks."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        raise FileProblem(line, "encoding", f"the line is not UTF-8 (byte {bad.start})") from None
    try:
        example = json.loads(text)
    except json.JSONDecodeError as bad:
        raise FileProblem(line, "json", f"the line is not JSON ({bad.msg}, column {bad.colno})") from None
    if not isinstance(example, dict):
        raise FileProblem(line, "data-type", f"an example must be a JSON object, not {type(example).__name__}")
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        raise FileProblem(line, "missing-messages", "the example needs a non-empty `messages` list")
    for index, message in enumerate(messages, start=1):
        check_message(message, f"message {index}", line)
    if not any(m["role"] == "assistant" for m in messages):
        raise FileProblem(line, "no-assistant-message", "the example has no assistant message")
    return messages


def check_message(message, where: str, line: int) -> None:
    if not isinstance(message, dict):
        raise FileProblem(line, "message-type", f"{where} must be a JSON object")
    unknown = sorted(set(message) - MESSAGE_KEYS)
    if unknown:
        raise FileProblem(line, "message-unrecognized-key", f"{where} has unrecognized key(s) {', '.join(unknown)}")
    role = message.get("role")
    if role is None:
        raise FileProblem(line, "message-missing-key", f"{where} has no `role`")
    if role not in ROLES:
        raise FileProblem(line, "unrecognized-role", f"{where} has role {role!r}; the roles are {', '.join(ROLES)}")
    calls = message.get("tool_calls")
    calls_instead = role == "assistant" and bool(calls)  # an assistant may call tools instead of answering
    if "content" not in message and not calls_instead:
        raise FileProblem(line, "message-missing-key", f"{where} ({role}) has no `content`")
    if "content" in message and not _has_text(message["content"]) and not calls_instead:
        raise FileProblem(line, "missing-content", f"{where} ({role}) has no text content")
    if "weight" in message:
        _check_weight(message["weight"], role, where, line)
    if calls is not None and not _tool_calls_well_formed(calls):
        raise FileProblem(line, "tool-call-format", f"{where} has `tool_calls` that are not a list of "
                                                    "{id, type: function, function: {name, arguments}}")


def _has_text(content) -> bool:
    if isinstance(content, str):
        return content.strip() != ""
    return (isinstance(content, list) and len(content) > 0
            and all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                    for p in content))


def _check_weight(weight, role: str, where: str, line: int) -> None:
    if role != "assistant":
        raise FileProblem(line, "weight", f"{where} ({role}) has a `weight`; only assistant messages take one")
    if isinstance(weight, bool) or weight not in (0, 1):
        raise FileProblem(line, "weight", f"{where} has weight {weight!r}; Azure takes 0 or 1")


def _tool_calls_well_formed(calls) -> bool:
    def well_formed(call) -> bool:
        function = call.get("function") if isinstance(call, dict) else None
        return (isinstance(function, dict) and isinstance(call.get("id"), str) and call.get("type") == "function"
                and isinstance(function.get("name"), str) and isinstance(function.get("arguments"), str))

    return isinstance(calls, list) and len(calls) > 0 and all(well_formed(c) for c in calls)
