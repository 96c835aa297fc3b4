"""Streaming validation of chat fine-tuning data, with the checks Azure OpenAI applies.

Used by `labctl validate`, by the fine-tuning lab before it uploads anything, and by the sandbox's
file processing, so one set of rules answers everywhere. The file is read line by line in binary
with a cap on a line's size, so memory stays bounded whatever the file holds.

Rules (the `rule` of each finding):
  encoding                 a line is not valid UTF-8 (a UTF-8 byte-order mark is accepted)
  empty-file               no examples at all
  line-too-long            a line larger than the per-line cap (no example can be that big)
  json                     a line is not valid JSON (also a truncated last line)
  data-type                an example is not a JSON object
  missing-messages         an example has no `messages` list, or it is empty
  message-type             a message is not an object
  message-missing-key      a message has no `role`, or no `content` (an assistant may have tool_calls instead)
  message-unrecognized-key a message has a key other than role, content, name, weight, tool_calls, tool_call_id
  unrecognized-role        a role other than system, user, assistant, tool
  missing-content          content that is empty or not text
  no-assistant-message     an example without an assistant message
  weight                   `weight` not 0 or 1, or on a message that is not the assistant's
  tool-call-format         tool_calls not a list of {id, type: function, function: {name, arguments}}
  min-examples             a training file with fewer than 10 examples
  file-size                a file over 512 MB
Warnings: missing-system (no system message), example-tokens (over the base model's per-example limit:
the service truncates it).
"""

from __future__ import annotations

import json
import os
import statistics
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

MIN_TRAINING_EXAMPLES = 10
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_LINE_BYTES = 8 * 1024 * 1024
DEFAULT_EXAMPLE_TOKEN_LIMIT = 65_536
EXAMPLE_TOKEN_LIMITS = {"gpt-4.1-nano": 32_768}
ROLES = {"system", "user", "assistant", "tool"}
MESSAGE_KEYS = {"role", "content", "name", "weight", "tool_calls", "tool_call_id"}
BOM = b"\xef\xbb\xbf"

# The cookbook's chat token accounting: each message costs 3 tokens of framing (+1 for a name),
# and every reply is primed with 3 more.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
BATCH_TEXTS = 4096  # texts counted per batch: bounded memory
PARALLEL_MIN_BYTES = 8 * 1024 * 1024  # below this one process is quicker than starting others
RANGE_BYTES = 4 * 1024 * 1024  # small enough to keep every worker busy to the end
CACHE_TEXT_CHARS = 400
CACHE_ENTRIES = 20_000
MAX_WORKERS = 4

Severity = Literal["error", "warning"]
Purpose = Literal["training", "validation"]


@dataclass(frozen=True)
class Finding:
    file: str
    line: int | None
    rule: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity} [{self.rule}] {self.message}"


@dataclass
class Distribution:
    count: int
    min: float
    max: float
    mean: float
    median: float
    p5: float
    p95: float

    @classmethod
    def of(cls, values) -> Distribution | None:
        if not values:
            return None
        ordered = sorted(values)
        return cls(
            count=len(ordered), min=ordered[0], max=ordered[-1], mean=statistics.fmean(ordered),
            median=statistics.median(ordered), p5=_quantile(ordered, 0.05), p95=_quantile(ordered, 0.95),
        )


@dataclass
class Report:
    file: str
    purpose: Purpose
    encoding: str
    bytes: int = 0
    examples: int = 0
    findings: list[Finding] = field(default_factory=list)
    # Compact arrays: a 1 GB file holds millions of examples.
    messages_per_example: array = field(default_factory=lambda: array("I"))
    total_tokens: array = field(default_factory=lambda: array("I"))
    assistant_tokens: array = field(default_factory=lambda: array("I"))
    _lengths: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict:
        return {
            "file": self.file,
            "purpose": self.purpose,
            "encoding": self.encoding,
            "bytes": self.bytes,
            "examples": self.examples,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "messages_per_example": _as_dict(Distribution.of(self.messages_per_example)),
            "total_tokens": _as_dict(Distribution.of(self.total_tokens)),
            "assistant_tokens": _as_dict(Distribution.of(self.assistant_tokens)),
            "tokens_in_file": sum(self.total_tokens),
        }


def encoding_for(model: str | None) -> str:
    """tiktoken encoding of a base model: o200k_base for gpt-4o, gpt-4.1, gpt-5 and o-series."""
    if model and model.startswith(("gpt-35", "gpt-3.5", "gpt-4-")) and not model.startswith("gpt-4o"):
        return "cl100k_base"
    return "o200k_base"


def example_token_limit(model: str | None) -> int:
    for prefix, limit in EXAMPLE_TOKEN_LIMITS.items():
        if model and model.startswith(prefix):
            return limit
    return DEFAULT_EXAMPLE_TOKEN_LIMIT


def validate_file(path: str | os.PathLike, purpose: Purpose = "training", model: str | None = None,
                  workers: int | None = None) -> Report:
    """Validate a file; a large one is split at line boundaries and validated by several processes."""
    path = Path(path)
    size = path.stat().st_size
    workers = workers or min(os.cpu_count() or 1, MAX_WORKERS)
    if size < PARALLEL_MIN_BYTES or workers < 2:
        with path.open("rb") as stream:
            return validate_stream(stream, path.name, purpose=purpose, model=model, size=size)
    from concurrent.futures import ProcessPoolExecutor

    import tiktoken

    tiktoken.get_encoding(encoding_for(model))  # loaded once here, inherited by the forked workers
    ranges = _ranges(path, size)
    report = Report(file=path.name, purpose=purpose, encoding=encoding_for(model))
    _check_size(report, size)
    with ProcessPoolExecutor(workers) as pool:
        parts = pool.map(_validate_range, [(str(path), start, end, model) for start, end in ranges])
        offset = 0
        for part, lines in parts:
            report.findings += [Finding(f.file, f.line + offset if f.line else f.line, f.rule, f.message, f.severity)
                                for f in part.findings]
            report.bytes += part.bytes
            report.examples += part.examples
            report.messages_per_example.extend(part.messages_per_example)
            report.total_tokens.extend(part.total_tokens)
            report.assistant_tokens.extend(part.assistant_tokens)
            offset += lines
    return _finish(report)


def _ranges(path: Path, size: int) -> list[tuple[int, int]]:
    """Byte ranges of about RANGE_BYTES, each ending at the end of a line."""
    bounds = [0]
    with path.open("rb") as stream:
        while bounds[-1] < size:
            stream.seek(min(bounds[-1] + RANGE_BYTES, size))
            stream.readline(MAX_LINE_BYTES + 1)
            while stream.tell() < size and not _ends_line(stream):
                stream.readline(MAX_LINE_BYTES + 1)
            bounds.append(min(stream.tell(), size))
    return list(zip(bounds, bounds[1:]))


def _ends_line(stream) -> bool:
    position = stream.tell()
    stream.seek(position - 1)
    ended = stream.read(1) == b"\n"
    return ended


def _validate_range(job: tuple[str, int, int, str | None]) -> tuple[Report, int]:
    path, start, end, model = job
    with open(path, "rb") as stream:
        stream.seek(start)
        report = Report(file=Path(path).name, purpose="validation", encoding=encoding_for(model))
        lines = _check_lines(stream, report, model, end=end, first=start == 0)
    report._lengths = {}  # a cache, not a result: do not ship it back to the parent
    return report, lines


def validate_stream(
    stream: BinaryIO, name: str, purpose: Purpose = "training", model: str | None = None, size: int | None = None
) -> Report:
    report = Report(file=name, purpose=purpose, encoding=encoding_for(model))
    _check_size(report, size)
    _check_lines(stream, report, model)
    return _finish(report)


def _check_lines(stream: BinaryIO, report: Report, model: str | None, end: int | None = None, first: bool = True) -> int:
    """Check and count every example from the stream's position to `end`; returns the lines read."""
    import tiktoken

    encoding = tiktoken.get_encoding(encoding_for(model))
    limit = example_token_limit(model)
    pending: list[tuple[int, list[dict]]] = []
    pending_texts = 0
    counter = _LineCounter()
    for number, raw in _lines(stream, report, end=end, first=first, counter=counter):
        example = _parse(raw, number, report)
        if example is None:
            continue
        pending.append((number, example["messages"]))
        pending_texts += len(example["messages"])
        if pending_texts >= BATCH_TEXTS:
            _count_batch(encoding, pending, limit, report)
            pending, pending_texts = [], 0
    _count_batch(encoding, pending, limit, report)
    return counter.lines


def _check_size(report: Report, size: int | None) -> None:
    # Azure refuses the file, but every other problem is still worth knowing: validation goes on.
    if size is not None and size > MAX_FILE_BYTES:
        report.findings.append(Finding(report.file, None, "file-size", f"the file is {size:,} bytes; the limit is 512 MB"))


class _LineCounter:
    lines = 0


def _finish(report: Report) -> Report:
    name = report.file
    if report.examples == 0 and not report.errors:
        report.findings.append(Finding(name, None, "empty-file", "the file holds no examples"))
    elif report.purpose == "training" and report.ok and report.examples < MIN_TRAINING_EXAMPLES:
        report.findings.append(Finding(name, None, "min-examples",
                                       f"{report.examples} examples; a training file needs at least "
                                       f"{MIN_TRAINING_EXAMPLES}"))
    return report


def _lines(stream: BinaryIO, report: Report, end: int | None = None, first: bool = True,
           counter: _LineCounter | None = None) -> Iterator[tuple[int, bytes]]:
    number = 0
    while end is None or stream.tell() < end:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if counter is not None:
            counter.lines = number
        report.bytes += len(raw)
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            report.findings.append(Finding(report.file, number, "line-too-long",
                                           f"the line is longer than {MAX_LINE_BYTES} bytes"))
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line without holding it
                raw = stream.readline(MAX_LINE_BYTES + 1)
                report.bytes += len(raw)
            continue
        if number == 1 and first and raw.startswith(BOM):
            raw = raw[len(BOM):]
        if raw.strip():
            yield number, raw


PLAIN_KEYS = frozenset({"role", "content"})


def _plain(message) -> bool:
    """The common case, checked in one go: {role, content} with a known role and non-empty text."""
    return (type(message) is dict and message.keys() <= PLAIN_KEYS and type(message.get("role")) is str
            and message["role"] in ROLES
            and type(message.get("content")) is str and not message["content"].isspace() and message["content"] != "")


def _parse(raw: bytes, number: int, report: Report) -> dict | None:
    """The line's example, or None with its errors added to the report (a missing system message only warns)."""
    example, problem = _envelope(raw)
    if problem:
        report.findings.append(Finding(report.file, number, *problem))
        return None
    messages = example["messages"]
    if all(_plain(m) for m in messages):
        problems, roles = [], {m["role"] for m in messages}
    else:
        problems, roles = _message_problems(messages)
    if "assistant" not in roles:
        problems.append(("no-assistant-message", "the example has no assistant message"))
    if problems:
        report.findings += [Finding(report.file, number, rule, message) for rule, message in problems]
        return None
    if "system" not in roles:
        report.findings.append(Finding(report.file, number, "missing-system", "the example has no system message",
                                       "warning"))
    return example


Problem = tuple[str, str]  # (rule, message) of an error finding


def _envelope(raw: bytes) -> tuple[dict | None, Problem | None]:
    """The example a line holds, or the first reason it holds none: encoding, JSON, type, `messages` list."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, ("encoding", f"not UTF-8 (byte {error.start}: {raw[error.start:error.start + 1]!r})")
    try:
        example = json.loads(text)
    except json.JSONDecodeError as error:
        return None, ("json", f"not valid JSON ({error.msg} at column {error.colno})")
    if not isinstance(example, dict):
        return None, ("data-type", f"an example is a JSON object, not {type(example).__name__}")
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return None, ("missing-messages", "the example has no non-empty `messages` list")
    return example, None


def _message_problems(messages: list) -> tuple[list[Problem], set[str]]:
    """Every message's problems, in order, and the (valid) roles seen."""
    problems: list[Problem] = []
    roles: set[str] = set()
    for index, message in enumerate(messages, start=1):
        where = f"message {index}"
        role = _role(where, message, problems)
        if role is not None:
            roles.add(role)
            problems += _body_problems(where, message, role)
    return problems, roles


def _role(where: str, message, problems: list[Problem]) -> str | None:
    """The message's role; None (with the reason in `problems`) if it is not an object with a known role."""
    if not isinstance(message, dict):
        problems.append(("message-type", f"{where} is not an object"))
        return None
    unknown = sorted(set(message) - MESSAGE_KEYS)
    if unknown:
        problems.append(("message-unrecognized-key", f"{where} has unrecognised key(s): {', '.join(unknown)}"))
    role = message.get("role")
    if role is None:
        problems.append(("message-missing-key", f"{where} has no `role`"))
        return None
    if not isinstance(role, str) or role not in ROLES:
        problems.append(("unrecognized-role", f"{where} has role {role!r}; roles are {', '.join(sorted(ROLES))}"))
        return None
    return role


def _body_problems(where: str, message: dict, role: str) -> list[Problem]:
    """Problems of a message's content, weight and tool calls."""
    problems: list[Problem] = []
    tool_calls = message.get("tool_calls")
    calls_tools = role == "assistant" and bool(tool_calls)  # an assistant's tool call may stand in for content
    if "content" not in message and not calls_tools:
        problems.append(("message-missing-key", f"{where} ({role}) has no `content`"))
    elif "content" in message and not _is_text(message["content"]) and not calls_tools:
        problems.append(("missing-content", f"{where} ({role}) has empty or non-text content"))
    if "weight" in message:
        if role != "assistant":
            problems.append(("weight", f"{where} ({role}) has a weight; only assistant messages take one"))
        elif message["weight"] not in (0, 1) or isinstance(message["weight"], bool):
            problems.append(("weight", f"{where} has weight {message['weight']!r}; it must be 0 or 1"))
    if tool_calls is not None and not _valid_tool_calls(tool_calls):
        problems.append(("tool-call-format", f"{where} has tool_calls that are not a list of "
                                             "{id, type: function, function: {name, arguments}}"))
    return problems


def _is_text(content) -> bool:
    if isinstance(content, str):
        return bool(content.strip())
    if isinstance(content, list):
        return bool(content) and all(
            isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
            for part in content
        )
    return False


def _valid_tool_calls(tool_calls) -> bool:
    if not isinstance(tool_calls, list) or not tool_calls:
        return False
    for call in tool_calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not (isinstance(call, dict) and isinstance(call.get("id"), str) and call.get("type") == "function"
                and isinstance(function, dict) and isinstance(function.get("name"), str)
                and isinstance(function.get("arguments"), str)):
            return False
    return True


def text_of(content) -> str:
    """The text of a message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _count_batch(encoding, examples: list[tuple[int, list[dict]]], limit: int, report: Report) -> None:
    """Token counts of many examples at once. A plain loop over encode_ordinary: for chat-sized texts it is
    2-3x faster than tiktoken's thread-pool batch call, whose per-item overhead dominates (measured in
    benchmarks/validate_speed.py)."""
    if not examples:
        return
    encode = encoding.encode_ordinary
    known = report._lengths  # system prompts and other short texts repeat across a dataset: count them once
    if len(known) > CACHE_ENTRIES:
        known.clear()
    role_tokens = {role: _role_tokens(encoding, role) for role in ROLES}
    add_messages, add_total, add_assistant = (report.messages_per_example.append, report.total_tokens.append,
                                              report.assistant_tokens.append)
    for number, messages in examples:
        # The cookbook's accounting, inlined for speed (see _tally, which chat_tokens uses).
        total = REPLY_PRIMING
        assistant = 0
        for message in messages:
            content = message.get("content")
            text = content if type(content) is str else text_of(content)
            if len(text) <= CACHE_TEXT_CHARS:
                length = known.get(text)
                if length is None:
                    length = known[text] = len(encode(text))
            else:
                length = len(encode(text))
            role = message.get("role")
            total += TOKENS_PER_MESSAGE + length + (role_tokens.get(role) if role in role_tokens else 0)
            if "name" in message and isinstance(message["name"], str):
                total += TOKENS_PER_NAME + len(encode(message["name"]))
            if role == "assistant":
                assistant += length
        report.examples += 1
        add_messages(len(messages))
        add_total(total)
        add_assistant(assistant)
        if total > limit:
            report.findings.append(Finding(report.file, number, "example-tokens",
                                           f"{total} tokens; examples over {limit} tokens are truncated", "warning"))


def _tally(encoding, messages: list[dict], content_lengths: list[int]) -> tuple[int, int]:
    """The cookbook's accounting: 3 per message, every string value (role, content, name) encoded, +1 for a
    name, +3 to prime the reply; assistant tokens are the assistant messages' content."""
    total = REPLY_PRIMING
    assistant = 0
    for message, length in zip(messages, content_lengths):
        role = message.get("role", "")
        total += TOKENS_PER_MESSAGE + length + _role_tokens(encoding, role)
        if "name" in message and isinstance(message["name"], str):
            total += TOKENS_PER_NAME + len(encoding.encode_ordinary(message["name"]))
        if role == "assistant":
            assistant += length
    return total, assistant


_ROLE_CACHE: dict[tuple[str, str], int] = {}


def _role_tokens(encoding, role: str) -> int:
    key = (encoding.name, role)
    if key not in _ROLE_CACHE:
        _ROLE_CACHE[key] = len(encoding.encode_ordinary(role))
    return _ROLE_CACHE[key]


def chat_tokens(encoding, messages: list[dict]) -> int:
    """Prompt tokens of a chat request, counted the way fine-tuning data is (see _tally)."""
    lengths = [len(encoding.encode_ordinary(text_of(m.get("content")))) for m in messages]
    return _tally(encoding, messages, lengths)[0]


def default_epochs(examples: int) -> int:
    """Epochs the service picks when n_epochs is 'auto', by the OpenAI cookbook's estimate
    (examples/Chat_finetuning_data_prep.ipynb, "Pricing and default n_epochs estimate"): 3; if 3 passes
    see fewer than 100 examples, 100 // examples (rounded down, as the cookbook's floor division does)
    capped at 25; if more than 25,000, 25,000 // examples, at least 1. 15 examples train for 6 epochs."""
    target, low, high = 3, 100, 25_000
    if examples == 0:
        return 0
    if examples * target < low:
        return min(25, low // examples)
    if examples * target > high:
        return max(1, high // examples)
    return target


def billed_training_tokens(report: Report, epochs: int, limit: int | None = None) -> int:
    cap = limit or DEFAULT_EXAMPLE_TOKEN_LIMIT
    return epochs * sum(min(tokens, cap) for tokens in report.total_tokens)


def _quantile(ordered: list[int], q: float) -> float:
    if len(ordered) == 1:
        return float(ordered[0])
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _as_dict(distribution: Distribution | None) -> dict | None:
    return None if distribution is None else dict(distribution.__dict__)


def first_errors(findings: Iterable[Finding], limit: int = 5) -> str:
    errors = [str(f) for f in findings if f.severity == "error"][:limit]
    return "; ".join(errors)
