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

- Azure OpenAI, "Fine-tuning and tool calling" (how-to/fine-tuning-functions.md): `tools` beside `messages`, an
  assistant's `tool_calls` (it needs no content), `tool` messages with `tool_call_id`; the deprecated `functions`
  / `function_call` / `function` role shape is still taken.
- The order of tool calls: an assistant's tool calls are answered by tool messages, one per call id, before any
  other message, and a tool message answers a call of the message before it. Azure refuses files that break it
  (microsoft-foundry/fine-tuning#23: two assistant messages after a tool call, "contains invalid schema"), as the
  chat API does ("An assistant message with 'tool_calls' must be followed by tool messages responding to each
  'tool_call_id'", "messages with role 'tool' must be a response to a preceding message with 'tool_calls'",
  quoted in gpustack/gpustack#6210). An example may end on the call: that is what it teaches.
- Azure OpenAI, "Vision fine-tuning" (how-to/fine-tuning-vision.md): user content may hold `image_url` parts, an
  https URL or a base64 data URI of a JPEG, PNG or WEBP image of at most 10 MB, at most 64 per example, 50,000
  examples with images per file; assistant messages hold no images. Whether the base takes images at all is
  decided at job creation, from the file's `image_examples` and the catalog's `visionFineTune`
  (sandbox.aoai.fine_tuning_jobs).
- Azure OpenAI, "Direct preference optimization" (how-to/fine-tuning-direct-preference-optimization.md): a line
  is {input: {messages, tools?}, preferred_output: [...], non_preferred_output: [...]}, outputs being assistant
  (and tool) messages; a job trains one method, so a file holds one format.

Files that are not JSON Lines text at all (UTF-16 or UTF-32, NUL bytes, one pretty-printed JSON array or object,
lines ended by CR alone) are refused as a whole: `<file> file: [encoding|binary|json-array|line-endings]`.
- JSON is RFC 8259's: NaN and Infinity are no JSON numbers (section 6), so a line holding them is not JSON; nor is
  one nested or numbered beyond what a parser reads.
- Function names, in `tools` and `functions`, are what the chat completions API takes: "a-z, A-Z, 0-9, or contain
  underscores and dashes, with a maximum length of 64" (OpenAI API reference, `tools[].function.name`); a message's
  `name` is a string (the same reference: "An optional name for the participant").

The twin reports the first problem it finds, as `<file> line <n>: [<rule>] <message>`, the way Azure's file
status details name the line; rule names follow the cookbook's error types (`data-type`, `missing-messages`,
`message-missing-key`, `message-unrecognized-key`, `unrecognized-role`, `missing-content`,
`no-assistant-message`), plus `encoding`, `binary`, `json-array`, `json`, `message-type`, `content-part`,
`weight`, `tool-call-format`, `function-call-format`, `tools-format`, `functions-format`, `tool-call-order`,
`function-call-order`, `image-role`, `image-url`, `image-type`, `image-size`, `image-count`, `image-examples`,
`preference-format`, `mixed-methods`, `empty-file`, `line-endings`, `name-format` and the twin's own memory guard
`line-too-long`.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sandbox.tokens import encoding, prompt_tokens

MIN_TRAINING_EXAMPLES = 10
MAX_FILE_BYTES = 512 * 1024 * 1024
EXAMPLE_CONTEXT_TOKENS = 65_536
EXAMPLE_CONTEXT_TOKENS_BY_BASE = {"gpt-4.1-nano": 32_768}
# Reading stays bounded; 64 MiB still holds an example with several images inline at their 10 MB limit (13.4 MB
# as base64 each), which Azure takes.
LINE_CAP = 64 * 1024 * 1024
HEAD_BYTES = 64 * 1024  # what the twin looks at to tell a file that is not JSON Lines text at all
UTF8_BOM = b"\xef\xbb\xbf"
ROLES = ("system", "user", "assistant", "tool", "function")
MESSAGE_KEYS = frozenset({"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"})
IMAGES_PER_EXAMPLE = 64
IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_EXAMPLES_PER_FILE = 50_000
FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
IMAGE_SIGNATURES = {"jpeg": b"\xff\xd8\xff", "png": b"\x89PNG\r\n\x1a\n", "webp": b"RIFF"}

# Tool definitions in the prompt, per the OpenAI cookbook "How to count tokens with tiktoken", section 7 (its
# num_tokens_for_tools, checked there against the API: 105 tokens with cl100k_base models, 101 with o200k_base).
TOOL_FRAMING = {"cl100k_base": 10, "o200k_base": 7}
PROPERTIES_FRAMING, PROPERTY_FRAMING, ENUM_FRAMING, ENUM_ITEM_FRAMING, TOOLS_END = 3, 3, -3, 3, 12


class FileProblem(Exception):
    def __init__(self, line: int | None, rule: str, message: str):
        super().__init__(message)
        self.line, self.rule, self.message = line, rule, message


@dataclass
class ProcessedFile:
    error: str | None = None
    examples: int = 0
    tokens: list[int] = field(default_factory=list)  # per example, in the cookbook's accounting
    image_examples: int = 0  # examples holding images: the base must take vision fine-tuning
    preference_examples: int = 0  # DPO examples: the job's method must be dpo, on a base that runs it


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
    first_of: dict[str, int] = {}  # format -> its first line
    try:
        with path.open("rb") as stream:
            check_head(stream.read(HEAD_BYTES))
            stream.seek(0)
            for number, raw in _lines(stream):
                example = check_example(raw, number)
                kind = "dpo" if "messages" not in example else "supervised"
                first_of.setdefault(kind, number)
                if len(first_of) > 1:
                    raise FileProblem(number, "mixed-methods", "the file mixes supervised and DPO examples; a job "
                                                               "trains one method")
                result.examples += 1
                result.tokens.append(example_tokens(enc, example))
                result.preference_examples += kind == "dpo"
                if _images(example):
                    result.image_examples += 1
                    if result.image_examples > IMAGE_EXAMPLES_PER_FILE:
                        raise FileProblem(number, "image-examples", f"more than {IMAGE_EXAMPLES_PER_FILE:,} examples "
                                                                    "hold images")
        if result.examples == 0:
            raise FileProblem(None, "empty-file", "the file holds no examples")
    except FileProblem as problem:
        where = f"line {problem.line}" if problem.line else "file"
        result.error = f"{name} {where}: [{problem.rule}] {problem.message}"
    return result


def check_head(head: bytes) -> None:
    """Refuse, as a whole, a file that is not JSON Lines text: UTF-16/32, NUL bytes, a pretty-printed JSON value."""
    if head[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        raise FileProblem(None, "encoding", "the file is UTF-32; fine-tuning files are UTF-8")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise FileProblem(None, "encoding", "the file is UTF-16; fine-tuning files are UTF-8")
    if b"\x00" in head:
        if _utf16_without_mark(head[:4096]):
            raise FileProblem(None, "encoding", "the file is UTF-16 (no byte-order mark); fine-tuning files are UTF-8")
        raise FileProblem(head.split(b"\x00", 1)[0].count(b"\n") + 1, "binary", "the file holds NUL bytes")
    if b"\n" not in head and head.count(b"\r") >= 2:  # JSON strings hold no raw CR: these end lines
        raise FileProblem(None, "line-endings", "the lines end with CR alone; JSON Lines ends them with LF or CRLF")
    opening = head.removeprefix(UTF8_BOM).lstrip().split(b"\n", 1)[0].strip()
    if opening in (b"[", b"{") or opening.startswith(b"[") and not _parses(opening):
        raise FileProblem(None, "json-array", "the file is a JSON value spread over many lines, not JSON Lines")


def _utf16_without_mark(sample: bytes) -> bool:
    """UTF-16 without its byte-order mark: every ASCII character (JSON's punctuation at least) has its NUL byte on
    the same side of its byte pair, whatever script the text is in; binary data scatters NULs."""
    pairs = sample[:len(sample) - len(sample) % 2]
    low, high = pairs[0::2].count(0), pairs[1::2].count(0)
    if max(low, high) < 8 or 10 * min(low, high) > max(low, high):
        return False
    try:
        pairs.decode("utf-16-be" if low > high else "utf-16-le")
    except UnicodeDecodeError:
        return False
    return True


def _parses(raw: bytes) -> bool:
    try:
        json.loads(raw)
        return True
    except (ValueError, RecursionError):
        return False


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


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


def check_example(raw: bytes, line: int) -> dict:
    """The example of one JSONL line (supervised or DPO), or the FileProblem that the line breaks."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        raise FileProblem(line, "encoding", f"the line is not UTF-8 (byte {bad.start})") from None
    if "\x00" in text:
        raise FileProblem(line, "binary", "the line holds a NUL byte")
    try:
        example = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as bad:
        raise FileProblem(line, "json", f"the line is not JSON ({bad.msg}, column {bad.colno})") from None
    except RecursionError:
        raise FileProblem(line, "json", "the line is not JSON the service reads (nested too deeply)") from None
    except ValueError as bad:  # NaN/Infinity, or a number of more digits than a parser reads
        raise FileProblem(line, "json", f"the line is not JSON ({bad})") from None
    if not isinstance(example, dict):
        raise FileProblem(line, "data-type", f"an example must be a JSON object, not {type(example).__name__}")
    if "messages" not in example and ("input" in example or "preferred_output" in example):
        _check_preference(example, line)
        return example
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        raise FileProblem(line, "missing-messages", "the example needs a non-empty `messages` list")
    _check_conversation(messages, line, "")
    _check_definitions(example, line)
    if not any(m["role"] == "assistant" for m in messages):
        raise FileProblem(line, "no-assistant-message", "the example has no assistant message")
    return example


def _check_conversation(messages: list, line: int, prefix: str) -> None:
    for index, message in enumerate(messages, start=1):
        check_message(message, f"{prefix}message {index}", line)
    pictures = sum(_message_images(m) for m in messages)
    if pictures > IMAGES_PER_EXAMPLE:
        raise FileProblem(line, "image-count", f"{pictures} images in one example; at most {IMAGES_PER_EXAMPLE}")
    _check_call_order(messages, line)


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
    calls, function_call = message.get("tool_calls"), message.get("function_call")
    calls_instead = role == "assistant" and bool(calls or function_call)  # a call may stand in for an answer
    content = message.get("content")
    if "content" not in message and not calls_instead:
        raise FileProblem(line, "message-missing-key", f"{where} ({role}) has no `content`")
    if isinstance(content, list) and content:
        _check_parts(content, role, where, line)
    elif not (calls_instead and content in (None, "")) and not (isinstance(content, str) and content.strip()):
        raise FileProblem(line, "missing-content", f"{where} ({role}) has no text content")
    if "weight" in message:
        _check_weight(message["weight"], role, where, line)
    if calls is not None and (role != "assistant" or not _tool_calls_well_formed(calls)):
        raise FileProblem(line, "tool-call-format", f"{where} has `tool_calls` that are not an assistant's list of "
                                                    "{id, type: function, function: {name, arguments}}, ids distinct")
    if function_call is not None and (role != "assistant" or not _call_well_formed(function_call)):
        raise FileProblem(line, "function-call-format", f"{where} has a `function_call` that is not an assistant's "
                                                        "{name, arguments}")
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        raise FileProblem(line, "message-missing-key", f"{where} (tool) has no `tool_call_id`")
    if role == "function" and not isinstance(message.get("name"), str):
        raise FileProblem(line, "message-missing-key", f"{where} (function) has no `name`")
    if "name" in message and not (isinstance(message["name"], str) and message["name"]):
        raise FileProblem(line, "name-format", f"{where} has a `name` that is not a non-empty string")


def _check_parts(parts: list, role: str, where: str, line: int) -> None:
    texts = []
    for number, part in enumerate(parts, start=1):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url" and isinstance(part.get("image_url"), dict):
            if role != "user":
                raise FileProblem(line, "image-role", f"{where} ({role}) holds an image; images go in user messages")
            _check_image(part["image_url"], f"{where} part {number}", line)
        else:
            raise FileProblem(line, "content-part", f"{where} part {number} is neither a text nor an image_url part")
    if not _message_images({"content": parts}) and not "".join(texts).strip():
        raise FileProblem(line, "missing-content", f"{where} ({role}) has no text content")


def _check_image(image: dict, where: str, line: int) -> None:
    url = image.get("url")
    if image.get("detail", "auto") not in ("auto", "low", "high") or not isinstance(url, str):
        raise FileProblem(line, "image-url", f"{where} needs a `url` (and a detail of auto, low or high)")
    if url.startswith("https://"):
        return
    if not url.startswith("data:") or ";base64," not in url:
        raise FileProblem(line, "image-url", f"{where} is neither an https URL nor a base64 data URI")
    media, payload = url[len("data:"):].split(";base64,", 1)
    kind = media.removeprefix("image/")
    if not media.startswith("image/") or kind not in IMAGE_SIGNATURES:
        raise FileProblem(line, "image-type", f"{where} is {media}; images are JPEG, PNG or WEBP")
    if len(payload) // 4 * 3 > IMAGE_BYTES + 2:
        raise FileProblem(line, "image-size", f"{where} is larger than 10 MB")
    try:
        head = base64.b64decode(payload[:16])
    except ValueError:
        raise FileProblem(line, "image-url", f"{where} is not valid base64") from None
    if not head.startswith(IMAGE_SIGNATURES[kind]) or (kind == "webp" and head[8:12] != b"WEBP"):
        raise FileProblem(line, "image-type", f"{where} does not hold {kind.upper()} data")


def _check_call_order(messages: list[dict], line: int) -> None:
    open_calls: list[str] = []
    function_called = None
    for message in messages:
        role = message["role"]
        if role == "tool":
            if message["tool_call_id"] not in open_calls:
                raise FileProblem(line, "tool-call-order", f"a tool message answers {message['tool_call_id']!r}, "
                                                           "which no open tool call of the assistant made")
            open_calls.remove(message["tool_call_id"])
            continue
        if open_calls:
            raise FileProblem(line, "tool-call-order", f"a {role} message comes before tool messages answered "
                                                       f"the tool call(s) {', '.join(open_calls)}")
        if role == "function" and message["name"] != function_called:
            raise FileProblem(line, "function-call-order", f"a function message answers {message['name']!r}, "
                                                           "which the message before it did not call")
        open_calls = [c["id"] for c in message.get("tool_calls") or []] if role == "assistant" else []
        function_called = (message.get("function_call") or {}).get("name") if role == "assistant" else None
    if open_calls and messages[-1]["role"] == "tool":
        raise FileProblem(line, "tool-call-order", f"the example ends with the tool call(s) {', '.join(open_calls)} "
                                                   "unanswered")


def _check_definitions(shape: dict, line: int) -> None:
    def function_ok(function) -> bool:
        return (isinstance(function, dict) and isinstance(function.get("name"), str)
                and FUNCTION_NAME.fullmatch(function["name"]) is not None
                and isinstance(function.get("description", ""), str)
                and isinstance(function.get("parameters", {}), dict))

    tools = shape.get("tools", [])
    if not isinstance(tools, list) or not all(isinstance(t, dict) and t.get("type") == "function"
                                              and function_ok(t.get("function")) for t in tools):
        raise FileProblem(line, "tools-format", "`tools` must be a list of {type: function, function: {name, ...}}")
    functions = shape.get("functions", [])
    if not isinstance(functions, list) or not all(function_ok(f) for f in functions):
        raise FileProblem(line, "functions-format", "`functions` must be a list of {name, description, parameters}")


def _check_preference(example: dict, line: int) -> None:
    given = example.get("input")
    if not isinstance(given, dict) or not isinstance(given.get("messages"), list) or not given["messages"]:
        raise FileProblem(line, "preference-format", "a DPO example needs `input.messages`")
    _check_conversation(given["messages"], line, "input ")
    _check_definitions(given, line)
    for key in ("preferred_output", "non_preferred_output"):
        output = example.get(key)
        if not isinstance(output, list) or not output:
            raise FileProblem(line, "preference-format", f"a DPO example needs a non-empty `{key}`")
        _check_conversation(output, line, f"{key} ")
        roles = {m["role"] for m in output}
        if not roles <= {"assistant", "tool"} or "assistant" not in roles:
            raise FileProblem(line, "preference-format", f"`{key}` must hold assistant messages")


def _check_weight(weight, role: str, where: str, line: int) -> None:
    if role != "assistant":
        raise FileProblem(line, "weight", f"{where} ({role}) has a `weight`; only assistant messages take one")
    if isinstance(weight, bool) or weight not in (0, 1):
        raise FileProblem(line, "weight", f"{where} has weight {weight!r}; Azure takes 0 or 1")


def _call_well_formed(function) -> bool:
    return isinstance(function, dict) and isinstance(function.get("name"), str) and isinstance(function.get("arguments"), str)


def _tool_calls_well_formed(calls) -> bool:
    def well_formed(call) -> bool:
        return isinstance(call, dict) and isinstance(call.get("id"), str) and call.get("type") == "function" \
            and _call_well_formed(call.get("function"))

    return (isinstance(calls, list) and len(calls) > 0 and all(well_formed(c) for c in calls)
            and len({c["id"] for c in calls}) == len(calls))


def _message_images(message: dict) -> int:
    content = message.get("content")
    return sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url") \
        if isinstance(content, list) else 0


def _images(example: dict) -> int:
    if "messages" in example:
        return sum(_message_images(m) for m in example["messages"])
    return sum(_message_images(m) for m in example["input"]["messages"])


def example_tokens(enc, example: dict) -> int:
    """Tokens of one checked example: its messages in the cookbook's accounting (sandbox.tokens), what the calls
    write (function names and arguments), and the tool or function definitions (the cookbook's section 7).
    A DPO example counts its input and both outputs."""
    if "messages" in example:
        shape, messages = example, example["messages"]
    else:
        shape = example["input"]
        messages = shape["messages"] + example["preferred_output"] + example["non_preferred_output"]
    count = prompt_tokens(enc, messages)
    for message in messages:
        calls = [c["function"] for c in message.get("tool_calls") or []] + [message.get("function_call") or {}]
        count += sum(len(enc.encode_ordinary(c[key])) for c in calls if c for key in ("name", "arguments"))
    definitions = [t["function"] for t in shape.get("tools") or []] + list(shape.get("functions") or [])
    return count + definition_tokens(enc, definitions)


def definition_tokens(enc, functions: list[dict]) -> int:
    if not functions:
        return 0
    count = TOOLS_END
    for function in functions:
        description = function.get("description", "")
        count += TOOL_FRAMING.get(enc.name, 7) + len(enc.encode_ordinary(
            function["name"] + ":" + (description[:-1] if description.endswith(".") else description)))
        properties = (function.get("parameters") or {}).get("properties") or {}
        count += PROPERTIES_FRAMING if properties else 0
        for key, spec in properties.items():
            spec = spec if isinstance(spec, dict) else {}
            count += PROPERTY_FRAMING
            if isinstance(spec.get("enum"), list):
                count += ENUM_FRAMING + sum(ENUM_ITEM_FRAMING + len(enc.encode_ordinary(str(v))) for v in spec["enum"])
            text = str(spec.get("description", ""))
            count += len(enc.encode_ordinary(f"{key}:{spec.get('type', '')}:{text[:-1] if text.endswith('.') else text}"))
    return count
