"""Streaming validation of chat fine-tuning data, with the checks Azure OpenAI applies.

Used by `labctl validate`, by the fine-tuning lab before it uploads anything, and by `labctl stage`, so one
set of rules answers everywhere. The file is read line by line in binary with a cap on a line's size, so
memory stays bounded whatever the file holds.

Sources of the rules (cited again beside each check):
  [azure-ft]     Azure OpenAI, "Customize a model with fine-tuning", "Prepare your training and validation data"
                 (https://learn.microsoft.com/azure/ai-foundry/openai/how-to/fine-tuning): JSON Lines in the chat
                 completions format, UTF-8, < 512 MB, `weight` 0 or 1 on assistant messages, at least 10
                 training examples; per-example context 65,536 tokens (32,768 for gpt-4.1-nano).
  [azure-tools]  Azure OpenAI, "Fine-tuning and tool calling" (how-to/fine-tuning-functions): `tools` beside
                 `messages`, assistant `tool_calls`, `tool` messages with `tool_call_id`; the older `functions` /
                 `function_call` shape "has been deprecated" but is still taken.
  [azure-vision] Azure OpenAI, "Vision fine-tuning" (how-to/fine-tuning-vision): gpt-4o 2024-08-06 and gpt-4.1
                 2025-04-14 only; images by URL or base64 data URI; at most 64 images per example, 10 MB per image,
                 50,000 examples with images per file; JPEG, PNG or WEBP; no images in assistant messages.
  [azure-dpo]    Azure OpenAI, "Direct preference optimization" (how-to/fine-tuning-direct-preference-optimization):
                 each line is {input: {messages, tools?, parallel_tool_calls?}, preferred_output: [...],
                 non_preferred_output: [...]}, outputs of assistant (or tool) messages; DPO runs on gpt-4o 2024-08-06
                 and the gpt-4.1 family (supported-models table), not gpt-4o-mini.
  [order]        microsoft-foundry/fine-tuning#23 (two assistant messages after a tool call: the file fails with
                 "contains invalid schema"), and the chat completions API's refusals "An assistant message with
                 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'" / "messages
                 with role 'tool' must be a response to a preceding message with 'tool_calls'" (quoted in
                 gpustack/gpustack#6210).
  [prep]         OpenAI cookbook, "Data preparation and analysis for chat model fine-tuning"
                 (examples/Chat_finetuning_data_prep.ipynb): the format checks, 3 tokens per message + every
                 value + 1 per name + 3 to prime the reply, and the default-epochs estimate.
  [azure-rft]    Azure OpenAI, "Reinforcement fine-tuning (RFT) with Azure OpenAI o4-mini"
                 (how-to/reinforcement-fine-tuning): only o4-mini trains by RFT; "System messages aren't supported",
                 "The final message must be from the user", tools are supported, "Images / multimodal data aren't
                 supported"; fields beside `messages` (a reference answer) are the grader's; training files hold at
                 most 50,000 examples, validation ("test") files 1,000. RFT is billed per hour of training.
  [models]       Azure OpenAI fine-tuning models table (fine-tune-supported-models.md, 2026-03-05, and its 2024
                 revisions): the versions each family fine-tunes; gpt-35-turbo 0125/1106 train examples of up to
                 16,385 tokens.
  [json]         RFC 8259 section 6: NaN and Infinity are not JSON numbers (Python's json reads them; the service
                 does not have to).
  [function-name] OpenAI API reference, chat completions `tools[].function.name`: "Must be a-z, A-Z, 0-9, or
                 contain underscores and dashes, with a maximum length of 64".
  [count]        OpenAI cookbook, "How to count tokens with tiktoken", section 7 "Counting tokens for chat
                 completions with tool calls": the tokens of `tools` definitions.

Rules (the `rule` of each finding). Whole-file problems are one finding each, and stop the line checks:
  encoding                 the file is UTF-16/UTF-32, or a line is not valid UTF-8 (a UTF-8 byte-order mark is fine)
  json-array               the file is one pretty-printed JSON array (or object), not JSON Lines
  binary                   NUL bytes: binary data, not text
  empty-file               no examples at all
  line-endings             lines end with CR alone (classic Mac OS): JSON Lines ends them with LF or CRLF
  json                     a line is not valid JSON (also a truncated last line, NaN/Infinity, nesting or a number
                           too large to read)
  data-type                an example is not a JSON object
  missing-messages         an example has no `messages` list, or it is empty
  message-type             a message is not an object
  message-missing-key      a message has no `role`, or no `content` (an assistant may call a tool instead); a tool
                           message has no `tool_call_id`, a function message no `name`
  message-unrecognized-key a message has a key other than role, content, name, weight, tool_calls, tool_call_id,
                           function_call
  unrecognized-role        a role other than system, user, assistant, tool, function
  missing-content          content that is empty, or neither text nor a list of content parts
  content-part             a content part that is not {type: text, text} or {type: image_url, image_url: {url}}
  no-assistant-message     an example without an assistant message
  weight                   `weight` not 0 or 1, or on a message that is not the assistant's
  tool-call-format         tool_calls not a list of {id, type: function, function: {name, arguments}}, or a repeated id
  function-call-format     function_call not {name, arguments}, or on a message that is not the assistant's
  tools-format             `tools` not a list of {type: function, function: {name, ...}}, or a name that is not
                           1-64 of a-z, A-Z, 0-9, _ and - [function-name]
  functions-format         `functions` not a list of {name, ...} (names as in tools)
  name-format              a message's `name` that is not a non-empty string
  rft-format               o4-mini's RFT data [azure-rft]: a system message, an image, a last message that is not the
                           user's, or more examples than a training (50,000) or validation (1,000) file holds
  tool-call-order          a tool call not answered by tool messages before the next message, or a tool message
                           answering no earlier call
  function-call-order      a function message that does not answer the assistant's function_call just before it
  image-role               an image part outside a user message
  image-url                an image URL that is neither https nor a base64 data URI
  image-type               an image that is not JPEG, PNG or WEBP
  image-size               an image over 10 MB
  image-count              more than 64 images in one example
  image-examples           more than 50,000 examples with images in one file
  vision-unsupported       images for a base model that does not take them in fine-tuning
  preference-format        a DPO example without `input.messages`, `preferred_output` or `non_preferred_output`
  preference-unsupported   DPO examples for a base model that does not run DPO
  mixed-methods            supervised and DPO examples in one file (a job trains one method)
  min-examples             a training file with fewer than 10 examples
  file-size                a file over 512 MB
Warnings:
  missing-system           examples without a system message (one per file, with the count: the cookbook counts them)
  missing-user             examples without a user message (the same)
  line-unchecked           a line over the per-line cap (64 MiB): not read, so not checked; Azure may take it
                           (inline images of up to 10 MB each)
  example-tokens           an example over the base model's per-example limit: the service truncates it
  functions-deprecated     the deprecated function-calling shape (one per file)
  tool-call-arguments      a call whose `arguments` is not the text of a JSON object: the chat API returns, and the
                           docs' examples train on, arguments "in JSON format"; the model learns what it is shown
  tool-call-undefined      a call to a function the example's `tools`/`functions` do not define
Both call warnings are warnings, not errors: Azure documents no refusal for them, and a file it takes must pass.

Images are counted in the per-example image limit, not in tokens: their token cost depends on their pixel size
and detail, which the file does not state for URLs.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import statistics
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

MIN_TRAINING_EXAMPLES = 10
MAX_FILE_BYTES = 512 * 1024 * 1024
# Lines longer than this are not read (memory stays bounded). 64 MiB holds an example with several inline images at
# Azure's 10 MB each (13.4 MB as base64); 8 MiB refused one 7 MB JPEG that Azure takes.
MAX_LINE_BYTES = 64 * 1024 * 1024
DEFAULT_EXAMPLE_TOKEN_LIMIT = 65_536
ROLES = {"system", "user", "assistant", "tool", "function"}
RFT_ROLES = {"developer", "user", "assistant", "tool"}
RFT_MAX_EXAMPLES = {"training": 50_000, "validation": 1_000}  # [azure-rft]  # [azure-rft] no system messages; developer instructions
FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")  # [function-name]
MESSAGE_KEYS = {"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"}
BOM = b"\xef\xbb\xbf"
SNIFF_BYTES = 64 * 1024  # enough of the file's head to tell UTF-16, binary or a JSON array

# [azure-vision] image limits
MAX_IMAGES_PER_EXAMPLE = 64
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_EXAMPLES = 50_000
IMAGE_TYPES = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",), "image/webp": (b"RIFF",)}
IMAGE_DETAILS = ("auto", "low", "high")  # a tuple: `in` must take any JSON value


@dataclass(frozen=True)
class FineTuneBase:
    """What Azure OpenAI takes for fine-tuning one base-model family.

    encoding: tiktoken encoding; example_tokens: the training example context length [azure-ft];
    vision: image input in training data [azure-vision]; preference: DPO [azure-dpo]; versions: the versions Azure
    fine-tunes, () when not known [models]; reinforcement: the family trains by RFT only, on RFT data [azure-rft]."""
    encoding: str
    example_tokens: int = DEFAULT_EXAMPLE_TOKEN_LIMIT
    vision: bool = False
    preference: bool = False
    versions: tuple[str, ...] = ()
    reinforcement: bool = False


# The one table of base-model-dependent rules: every family preflight may choose (agent.preflight
# DEFAULT_FINE_TUNE_PREFERENCES) and every family `labctl validate --model` takes (infra.config FINE_TUNE_FAMILIES).
FINE_TUNE_BASES: dict[str, FineTuneBase] = {
    "gpt-35-turbo": FineTuneBase("cl100k_base", example_tokens=16_385, versions=("0613", "1106", "0125")),
    "gpt-4o": FineTuneBase("o200k_base", vision=True, preference=True, versions=("2024-08-06",)),
    "gpt-4o-mini": FineTuneBase("o200k_base", versions=("2024-07-18",)),
    "gpt-4.1": FineTuneBase("o200k_base", vision=True, preference=True, versions=("2025-04-14",)),
    "gpt-4.1-mini": FineTuneBase("o200k_base", preference=True, versions=("2025-04-14",)),
    "gpt-4.1-nano": FineTuneBase("o200k_base", example_tokens=32_768, preference=True, versions=("2025-04-14",)),
    "o4-mini": FineTuneBase("o200k_base", versions=("2025-04-16",), reinforcement=True),
    # Open-weight, Microsoft Foundry only (Learn fine-tune-supported-models, 2026-03-05: SFT, Global training).
    # Its tokenizer o200k_harmony extends o200k_base with chat-format tokens; counted with o200k_base here.
    "gpt-oss-20b": FineTuneBase("o200k_base"),
}

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
# Findings kept per rule; every one is counted. A 1 GB file with one mistake on each line would otherwise hold
# millions of findings (a 300 MB file of examples without an assistant message peaked at 375 MiB).
MAX_FINDINGS_PER_RULE = 1_000

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
    findings: list[Finding] = field(default_factory=list)  # the first MAX_FINDINGS_PER_RULE of each rule
    finding_counts: dict = field(default_factory=dict)  # (rule, severity) -> every finding, kept or not
    # Compact arrays: a 1 GB file holds millions of examples.
    messages_per_example: array = field(default_factory=lambda: array("I"))
    total_tokens: array = field(default_factory=lambda: array("I"))
    assistant_tokens: array = field(default_factory=lambda: array("I"))
    model: str | None = None
    # Whole-file facts, merged across the parallel parts: (examples, first line) of each shape.
    shapes: dict = field(default_factory=dict)
    _lengths: dict = field(default_factory=dict, repr=False, compare=False)
    reinforcement: bool = field(init=False, default=False)  # the base trains by RFT: RFT data is checked

    def __post_init__(self) -> None:
        base = fine_tune_base(self.model)
        self.reinforcement = bool(base and base.reinforcement)

    def add(self, finding: Finding) -> None:
        key = (finding.rule, finding.severity)
        count = self.finding_counts[key] = self.finding_counts.get(key, 0) + 1
        if count <= MAX_FINDINGS_PER_RULE:
            self.findings.append(finding)

    def add_all(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.add(finding)

    def merge(self, part: Report, line_offset: int) -> None:
        """The findings of the part of the file that starts after `line_offset` lines, and their counts."""
        kept: dict = {}
        for f in part.findings:
            self.add(Finding(self.file, f.line + line_offset if f.line else f.line, f.rule, f.message, f.severity))
            kept[f.rule, f.severity] = kept.get((f.rule, f.severity), 0) + 1
        for key, count in part.finding_counts.items():  # those the part counted but did not keep
            self.finding_counts[key] = self.finding_counts.get(key, 0) + count - kept.get(key, 0)

    def rule_counts(self) -> dict[str, int]:
        """Findings per rule, kept or not."""
        counts: dict[str, int] = {}
        for (rule, _), count in self.finding_counts.items():
            counts[rule] = counts.get(rule, 0) + count
        return counts

    def saw(self, shape: str, line: int) -> None:
        count, first = self.shapes.get(shape, (0, line))
        self.shapes[shape] = (count + 1, min(first, line))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def error_count(self) -> int:
        return sum(count for (_, severity), count in self.finding_counts.items() if severity == "error")

    @property
    def warning_count(self) -> int:
        return sum(count for (_, severity), count in self.finding_counts.items() if severity == "warning")

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def summary(self) -> dict:
        return {
            "file": self.file,
            "purpose": self.purpose,
            "encoding": self.encoding,
            "bytes": self.bytes,
            "examples": self.examples,
            "errors": self.error_count,
            "warnings": self.warning_count,
            "finding_counts": self.rule_counts(),
            "messages_per_example": _as_dict(Distribution.of(self.messages_per_example)),
            "total_tokens": _as_dict(Distribution.of(self.total_tokens)),
            "assistant_tokens": _as_dict(Distribution.of(self.assistant_tokens)),
            "tokens_in_file": sum(self.total_tokens),
        }


def fine_tune_base(model: str | None) -> FineTuneBase | None:
    """The table's entry for a base model id or family ('gpt-4.1-mini-2025-04-14', 'gpt-4.1-mini', or a fine-tuned
    model built on it); None for a model the table does not know."""
    if not model:
        return None
    family = max((f for f in FINE_TUNE_BASES if model == f or model.startswith((f + "-", f + "."))),
                 key=len, default=None)
    return FINE_TUNE_BASES.get(family) if family else None


def base_version_problem(model: str) -> str | None:
    """One sentence when `model` names a version of a known family that Azure does not fine-tune [models]
    ('gpt-4o-2024-05-13'); None otherwise. A fine-tuned model ('<base>.ft-<id>') is checked by its base."""
    base_id = model.split(".ft-", 1)[0]
    base = fine_tune_base(base_id)
    if base is None or not base.versions:
        return None
    family = max((f for f in FINE_TUNE_BASES if base_id == f or base_id.startswith(f + "-")), key=len)
    version = base_id[len(family) + 1:]
    if version and version not in base.versions:
        return (f"{family} version {version} is not one Azure OpenAI fine-tunes; it fine-tunes "
                f"{', '.join(f'{family}-{v}' for v in base.versions)}")
    return None


def encoding_for(model: str | None) -> str:
    """tiktoken encoding of a base model: o200k_base for gpt-4o, gpt-4.1, gpt-5 and o-series, cl100k_base before."""
    base = fine_tune_base(model)
    if base:
        return base.encoding
    if model and model.startswith(("gpt-35", "gpt-3.5", "gpt-4-")) and not model.startswith("gpt-4o"):
        return "cl100k_base"
    return "o200k_base"


def example_token_limit(model: str | None) -> int:
    """Tokens of one training example that count [azure-ft]; longer ones are truncated."""
    base = fine_tune_base(model)
    return base.example_tokens if base else DEFAULT_EXAMPLE_TOKEN_LIMIT


def validate_file(path: str | os.PathLike, purpose: Purpose = "training", model: str | None = None,
                  workers: int | None = None, name: str | None = None) -> Report:
    """Validate a file; a large one is split at line boundaries and validated by several processes. Findings
    name the file `name` (default: its file name)."""
    path = Path(path)
    name = name or path.name
    size = path.stat().st_size
    workers = workers or min(_usable_cpus(), MAX_WORKERS)
    if size < PARALLEL_MIN_BYTES or workers < 2:
        with path.open("rb") as stream:
            return validate_stream(stream, name, purpose=purpose, model=model, size=size)
    from concurrent.futures import ProcessPoolExecutor

    import tiktoken

    report = Report(file=name, purpose=purpose, encoding=encoding_for(model), model=model)
    _check_size(report, size)
    with path.open("rb") as stream:
        if _check_whole_file(stream.read(SNIFF_BYTES), report):
            return _finish(report)
    tiktoken.get_encoding(encoding_for(model))  # loaded once here, inherited by the forked workers
    ranges = _ranges(path, size)
    # Ctrl-C reaches the workers too (they share the terminal's process group): they ignore it, and the
    # validating process cancels what is left and stops, without a traceback from each worker.
    pool = ProcessPoolExecutor(workers, initializer=signal.signal, initargs=(signal.SIGINT, signal.SIG_IGN))
    try:
        parts = pool.map(_validate_range, [(str(path), start, end, model) for start, end in ranges])
        offset = 0
        for part, lines in parts:
            report.merge(part, offset)
            report.bytes += part.bytes
            report.examples += part.examples
            report.messages_per_example.extend(part.messages_per_example)
            report.total_tokens.extend(part.total_tokens)
            report.assistant_tokens.extend(part.assistant_tokens)
            for shape, (count, first) in part.shapes.items():
                had, seen = report.shapes.get(shape, (0, first + offset))
                report.shapes[shape] = (had + count, min(seen, first + offset))
            offset += lines
    finally:
        pool.shutdown(cancel_futures=True)
    return _finish(report)


def _usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, which containers and `taskset` narrow), not the machine's."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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
        report = Report(file=Path(path).name, purpose="validation", encoding=encoding_for(model), model=model)
        lines = _check_lines(stream, report, model, end=end, first=start == 0)
    report._lengths = {}  # a cache, not a result: do not ship it back to the parent
    return report, lines


def validate_stream(
    stream: BinaryIO, name: str, purpose: Purpose = "training", model: str | None = None, size: int | None = None
) -> Report:
    """Validate a seekable binary stream of JSON Lines; `model` picks the rules of FINE_TUNE_BASES."""
    report = Report(file=name, purpose=purpose, encoding=encoding_for(model), model=model)
    _check_size(report, size)
    start = stream.tell()
    head = stream.read(SNIFF_BYTES)
    stream.seek(start)
    if not _check_whole_file(head, report):
        _check_lines(stream, report, model)
    return _finish(report)


def _check_whole_file(head: bytes, report: Report) -> bool:
    """Add the one finding of a whole-file problem seen in the file's head; True if there is one (the lines are
    then not worth checking one by one: each would fail the same way)."""
    problem = _whole_file_problem(head)
    if problem:
        rule, message, line = problem
        report.add(Finding(report.file, line, rule, message))
    return problem is not None


def _whole_file_problem(head: bytes) -> tuple[str, str, int | None] | None:
    # [azure-ft] files are UTF-8; a UTF-16/32 file fails on every line, so it is named once, as the file's encoding.
    for marks, name in (((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"), "UTF-32"), ((b"\xff\xfe", b"\xfe\xff"), "UTF-16")):
        if head.startswith(marks):
            return "encoding", f"the file is {name} (it starts with a {name} byte-order mark); save it as UTF-8", None
    if b"\x00" in head:
        if _looks_like_utf16(head[:4096]):
            return "encoding", "the file looks like UTF-16 without a byte-order mark (NUL bytes between characters); " \
                               "save it as UTF-8", None
        line = head[:head.index(b"\x00")].count(b"\n") + 1
        return "binary", "the file holds NUL bytes: it is binary data, not JSON Lines text", line
    if b"\n" not in head and head.count(b"\r") >= 2:  # JSON strings cannot hold a raw CR: these end lines
        return "line-endings", "the lines end with CR alone (classic Mac OS line endings); JSON Lines ends each line " \
                               "with LF or CRLF", None
    text = head.removeprefix(BOM).lstrip()
    if text[:1] in (b"[", b"{"):
        first = text.split(b"\n", 1)[0].strip()
        # A pretty-printed array or object breaks on its first line; a one-line value is checked as a line.
        if first in (b"[", b"{") or (first[:1] == b"[" and not _is_json(first)):
            shape = "JSON array" if first[:1] == b"[" else "JSON object"
            return "json-array", f"the file is one {shape} written over several lines; fine-tuning data is JSON " \
                                 "Lines: one example object per line", None
    return None


def _looks_like_utf16(sample: bytes) -> bool:
    """UTF-16 text puts the NUL of each ASCII character (JSON's punctuation, at least) on the same side of every
    byte pair; binary data scatters them. The sample must also decode as UTF-16 of that byte order."""
    sample = sample[:len(sample) // 2 * 2]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if max(even, odd) < 8 or min(even, odd) * 10 > max(even, odd):
        return False
    try:
        sample.decode("utf-16-le" if odd > even else "utf-16-be")
    except UnicodeDecodeError:
        return False
    return True


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except (ValueError, RecursionError):
        return False
    return True


def _check_lines(stream: BinaryIO, report: Report, model: str | None, end: int | None = None, first: bool = True) -> int:
    """Check and count every example from the stream's position to `end`; returns the lines read."""
    import tiktoken

    encoding = tiktoken.get_encoding(encoding_for(model))
    limit = example_token_limit(model)
    pending: list[tuple[int, dict, bool]] = []
    pending_texts = 0
    counter = _LineCounter()
    for number, raw in _lines(stream, report, end=end, first=first, counter=counter):
        parsed = _parse(raw, number, report)
        if parsed is None:
            continue
        example, plain = parsed
        pending.append((number, example, plain))
        pending_texts += len(example["messages"]) if plain else 8
        if pending_texts >= BATCH_TEXTS:
            _count_batch(encoding, pending, limit, report)
            pending, pending_texts = [], 0
    _count_batch(encoding, pending, limit, report)
    return counter.lines


def _check_size(report: Report, size: int | None) -> None:
    # Azure refuses the file, but every other problem is still worth knowing: validation goes on.
    if size is not None and size > MAX_FILE_BYTES:
        report.add(Finding(report.file, None, "file-size", f"the file is {size:,} bytes; the limit is 512 MB"))


class _LineCounter:
    lines = 0


def _finish(report: Report) -> Report:
    """The file-level findings: emptiness, too few examples, and the rules that depend on the base model."""
    name = report.file
    _merge_encoding_findings(report)
    report.add_all(_shape_findings(report))
    if report.examples == 0 and report.ok:
        report.add(Finding(name, None, "empty-file", "the file holds no examples"))
    elif report.reinforcement and report.examples > RFT_MAX_EXAMPLES[report.purpose]:
        report.add(Finding(name, None, "rft-format", f"{report.examples:,} examples; an RFT {report.purpose} file holds "
                                                     f"at most {RFT_MAX_EXAMPLES[report.purpose]:,}"))
    elif report.purpose == "training" and report.ok and report.examples < MIN_TRAINING_EXAMPLES:
        # [azure-ft] "Fine-tuning jobs won't proceed without at least 10" examples.
        report.add(Finding(name, None, "min-examples",
                                       f"{report.examples} examples; a training file needs at least "
                                       f"{MIN_TRAINING_EXAMPLES}"))
    return report


def _merge_encoding_findings(report: Report) -> None:
    """A file saved in another encoding (Windows-1252, Latin-1) fails on every line with an accent: that is one
    problem of the file, so more than one line that is not UTF-8 becomes one finding, at the first such line."""
    lines = [f for f in report.findings if f.rule == "encoding" and f.line]
    whole_file = len([f for f in report.findings if f.rule == "encoding" and not f.line])
    count = report.finding_counts.get(("encoding", "error"), 0) - whole_file
    if count < 2:
        return
    first = lines[0]
    detail = first.message.removeprefix("not UTF-8 (").removesuffix(")")
    merged = Finding(report.file, first.line, "encoding",
                     f"{count:,} lines are not UTF-8 (the first is this one: {detail}); the file was saved in "
                     "another encoding, such as Windows-1252 or Latin-1 (or is not text): save it as UTF-8")
    at = report.findings.index(first)
    report.findings = [f for f in report.findings if not (f.rule == "encoding" and f.line)]
    report.findings.insert(at, merged)
    report.finding_counts["encoding", "error"] = whole_file + 1


def _shape_findings(report: Report) -> list[Finding]:
    """One finding per file for each shape the base model refuses (or that is deprecated), at its first line."""
    name, shapes, model = report.file, report.shapes, report.model
    base = fine_tune_base(model)
    found = []
    if "images" in shapes:
        count, line = shapes["images"]
        if base is None or not base.vision:
            takes = ", ".join(f for f, b in FINE_TUNE_BASES.items() if b.vision)
            found.append(Finding(name, line, "vision-unsupported",
                                 f"{count} example(s) hold images (the first on this line), but {model or 'the base model'}"
                                 f" does not take images in fine-tuning; vision fine-tuning takes {takes}"))
        elif count > MAX_IMAGE_EXAMPLES:
            found.append(Finding(name, line, "image-examples", f"{count:,} examples hold images; a file may hold "
                                                               f"{MAX_IMAGE_EXAMPLES:,}"))
    if "preference" in shapes:
        count, line = shapes["preference"]
        if "supervised" in shapes:
            other = shapes["supervised"][1]
            found.append(Finding(name, max(line, other), "mixed-methods",
                                 f"the file mixes DPO examples (first on line {line}) with supervised ones (first on line "
                                 f"{other}); a fine-tuning job trains one method, so a file holds one format"))
        elif base is None or not base.preference:
            takes = ", ".join(f for f, b in FINE_TUNE_BASES.items() if b.preference)
            found.append(Finding(name, line, "preference-unsupported",
                                 f"{count} DPO example(s) (the first on this line), but {model or 'the base model'} "
                                 f"does not run direct preference optimization; DPO runs on {takes}"))
    if "missing-system" in shapes:
        count, line = shapes["missing-system"]
        found.append(Finding(name, line, "missing-system",
                             f"{count:,} of {report.examples:,} examples have no system message (the first on this "
                             "line); the model then learns without the instructions it will be prompted with",
                             "warning"))
    if "missing-user" in shapes:
        count, line = shapes["missing-user"]
        found.append(Finding(name, line, "missing-user",
                             f"{count:,} of {report.examples:,} examples have no user message (the first on this "
                             "line): the model learns answers to no question", "warning"))
    if "functions" in shapes:
        count, line = shapes["functions"]
        found.append(Finding(name, line, "functions-deprecated",
                             f"{count} example(s) use the deprecated `functions`/`function_call` shape (the first on "
                             "this line); Azure still takes it, but `tools`/`tool_calls` is the current one", "warning"))
    return found


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
            report.add(Finding(report.file, number, "line-unchecked",
                               f"the line is over {MAX_LINE_BYTES // 2**20} MiB: labctl does not read lines this long, so "
                               "this example was not checked (Azure may take it: inline images of up to 10 MB each); "
                               "images linked by https URL keep lines short", "warning"))
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line without holding it
                raw = stream.readline(MAX_LINE_BYTES + 1)
                report.bytes += len(raw)
            continue
        if number == 1 and first and raw.startswith(BOM):
            raw = raw[len(BOM):]
        if raw.strip():
            yield number, raw


PLAIN_KEYS = frozenset({"role", "content"})
PLAIN_ROLES = frozenset({"system", "user", "assistant"})
EXAMPLE_SHAPE_KEYS = ("tools", "functions", "input", "preferred_output", "non_preferred_output")


def _plain_roles(messages: list) -> set[str] | None:
    """The roles of the common case, checked in one pass: every message {role, content} with a system, user or
    assistant role and non-blank text. None when any message is anything else (the full checks then run)."""
    roles = set()
    for message in messages:
        if type(message) is not dict or not message.keys() <= PLAIN_KEYS:
            return None
        role, content = message.get("role"), message.get("content")
        if (type(role) is not str or role not in PLAIN_ROLES or type(content) is not str or not content
                or content.isspace()):
            return None
        roles.add(role)
    return roles


Problem = tuple[str, str]  # (rule, message) of an error finding


def _parse(raw: bytes, number: int, report: Report) -> tuple[dict, bool] | None:
    """The line's example and whether it is plain text chat, or None with its errors added to the report (a
    missing system message only warns)."""
    example, problem = _envelope(raw)
    if problem:
        report.add(Finding(report.file, number, *problem))
        return None
    if report.reinforcement:
        problems = _reinforcement_problems(example)
        report.add_all(Finding(report.file, number, rule, message) for rule, message in problems)
        if problems:
            return None
        report.saw("reinforcement", number)
        return example, False
    messages = example.get("messages")
    plain_roles = (_plain_roles(messages) if type(messages) is list and messages
                   and not any(key in example for key in EXAMPLE_SHAPE_KEYS) else None)
    if plain_roles is not None:
        plain, roles, problems = True, plain_roles, []
    elif "messages" not in example and ("input" in example or "preferred_output" in example):
        plain, roles, problems = False, None, _preference_problems(example, number, report)
    elif not isinstance(messages, list) or not messages:
        problems = [("missing-messages", "the example has no non-empty `messages` list")]
        plain, roles = False, None
    else:
        plain = False
        problems, roles, images, functions = _conversation_problems(messages)
        problems += _definition_problems(example)
    if roles is not None and "assistant" not in roles:
        problems.append(("no-assistant-message", "the example has no assistant message"))
    if problems:
        report.add_all(Finding(report.file, number, rule, message) for rule, message in problems)
        return None
    if not plain and roles is not None:  # (a DPO example noted its own shapes)
        _note_shapes(report, number, images, functions or "functions" in example)
    report.saw("preference" if roles is None else "supervised", number)
    if roles is not None and not report.reinforcement:
        if "system" not in roles:
            report.saw("missing-system", number)  # one warning for the file, with the count (_shape_findings)
        if "user" not in roles:
            report.saw("missing-user", number)
    if not plain:
        report.add_all(Finding(report.file, number, rule, message, "warning")
                       for rule, message in _call_warnings(example))
    return example, plain


def _note_shapes(report: Report, number: int, images: int, functions: bool) -> None:
    if images:
        report.saw("images", number)
    if functions:
        report.saw("functions", number)


class _NotJSON(ValueError):
    pass


def _not_a_json_number(constant: str):
    raise _NotJSON(constant)  # [json] NaN, Infinity and -Infinity


def _envelope(raw: bytes) -> tuple[dict | None, Problem | None]:
    """The example a line holds, or the first reason it holds none: encoding, binary, JSON, type."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, ("encoding", f"not UTF-8 (byte {error.start + 1} of the line is 0x{raw[error.start]:02X})")
    if "\x00" in text:  # json's own message ("Expecting value") would not say what is wrong
        return None, ("binary", f"the line holds a NUL byte at column {text.index(chr(0)) + 1}: binary data, not text")
    try:
        example = json.loads(text, parse_constant=_not_a_json_number)
    except json.JSONDecodeError as error:
        return None, ("json", f"not valid JSON ({error.msg} at column {error.colno})")
    except _NotJSON as error:
        return None, ("json", f"not valid JSON: {error} (RFC 8259 has no such numbers)")
    except RecursionError:
        return None, ("json", "nested too deeply to read (over about 1,000 levels of arrays or objects)")
    except ValueError as error:  # Python's limit on digits in an integer (sys.set_int_max_str_digits)
        return None, ("json", f"not readable: {error}")
    if not isinstance(example, dict):
        return None, ("data-type", f"an example is a JSON object, not {type(example).__name__}")
    return example, None


def _conversation_problems(messages: list, where_prefix: str = "") -> tuple[list[Problem], set[str], int, bool]:
    """Every message's problems in order, then the tool-call order's; the (valid) roles seen, the images, and
    whether the deprecated function-calling shape is used."""
    problems: list[Problem] = []
    roles: set[str] = set()
    images, functions = 0, False
    for index, message in enumerate(messages, start=1):
        where = f"{where_prefix}message {index}"
        role = _role(where, message, problems)
        if role is not None:
            roles.add(role)
            found, count = _body_problems(where, message, role)
            problems += found
            images += count
            functions = functions or role == "function" or "function_call" in message
    if images > MAX_IMAGES_PER_EXAMPLE:  # [azure-vision]
        problems.append(("image-count", f"the example holds {images} images; the limit is {MAX_IMAGES_PER_EXAMPLE}"))
    if not problems:  # the order is only worth checking between well-formed messages
        problems += _order_problems(messages, where_prefix)
    return problems, roles, images, functions


def _reinforcement_problems(example: dict) -> list[Problem]:
    """[azure-rft] An RFT example: messages without a system message, ending on the user's; the other fields of the
    line (a reference answer, ...) are the grader's and may be anything."""
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return [("missing-messages", "the example has no non-empty `messages` list")]
    problems: list[Problem] = []
    for index, message in enumerate(messages, start=1):
        where = f"message {index}"
        if isinstance(message, dict) and message.get("role") == "system":
            problems.append(("rft-format", f"{where} is a system message; RFT data has none: give the instructions "
                                           "as a developer message"))
            continue
        role = _role(where, message, problems, RFT_ROLES)
        if role is not None:
            found, images = _body_problems(where, message, role)
            problems += found
            if images:
                problems.append(("rft-format", f"{where} holds images; RFT data is text only"))
    last = messages[-1].get("role") if isinstance(messages[-1], dict) else None
    if not problems and last != "user":
        problems.append(("rft-format", f"the last message is the {last}'s; an RFT example ends on the user's message "
                                       "(the model writes the answer, which the grader scores against the example's "
                                       "other fields)"))
    return problems + _definition_problems(example)


def _role(where: str, message, problems: list[Problem], roles: set[str] = ROLES) -> str | None:
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
    if not isinstance(role, str) or role not in roles:
        hint = "; developer messages are o4-mini's RFT data" if role == "developer" else ""
        problems.append(("unrecognized-role", f"{where} has role {role!r}; roles are {', '.join(sorted(roles))}{hint}"))
        return None
    return role


def _body_problems(where: str, message: dict, role: str) -> tuple[list[Problem], int]:
    """Problems of a message's content, weight and calls; and the number of images it holds."""
    problems: list[Problem] = []
    tool_calls, function_call = message.get("tool_calls"), message.get("function_call")
    # [azure-tools] an assistant that calls a tool or function may have no content (null or empty: the call is its answer).
    calls = role == "assistant" and bool(tool_calls or function_call)
    content = message.get("content")
    images = 0
    if "content" not in message and not calls:
        problems.append(("message-missing-key", f"{where} ({role}) has no `content`"))
    elif isinstance(content, list) and content:
        part_problems, images = _part_problems(where, role, content)
        problems += part_problems
    elif not (calls and content in (None, "")) and not (isinstance(content, str) and content.strip()):
        problems.append(("missing-content", f"{where} ({role}) has empty content, or content that is neither text "
                                            "nor a list of content parts"))
    if "weight" in message:  # [azure-ft] weight 0 or 1, on assistant messages
        if role != "assistant":
            problems.append(("weight", f"{where} ({role}) has a weight; only assistant messages take one"))
        elif message["weight"] not in (0, 1) or isinstance(message["weight"], bool):
            problems.append(("weight", f"{where} has weight {message['weight']!r}; it must be 0 or 1"))
    if tool_calls is not None and (role != "assistant" or not _valid_tool_calls(tool_calls)):
        problems.append(("tool-call-format", f"{where} ({role}) has tool_calls that are not an assistant's list of "
                                             "{id, type: function, function: {name, arguments}} with distinct ids"))
    if function_call is not None and (role != "assistant" or not _valid_call(function_call)):
        problems.append(("function-call-format", f"{where} ({role}) has a function_call that is not an assistant's "
                                                 "{name, arguments}"))
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        problems.append(("message-missing-key", f"{where} (tool) has no `tool_call_id` naming the call it answers"))
    if role == "function" and not isinstance(message.get("name"), str):
        problems.append(("message-missing-key", f"{where} (function) has no `name` naming the function it answers"))
    elif "name" in message and not (isinstance(message["name"], str) and message["name"]):
        problems.append(("name-format", f"{where} ({role}) has a `name` that is not a non-empty string"))
    return problems, images


def _part_problems(where: str, role: str, parts: list) -> tuple[list[Problem], int]:
    """Problems of a list of content parts (chat completions' text and image_url parts), and the images."""
    problems: list[Problem] = []
    images = 0
    text = ""
    for index, part in enumerate(parts, start=1):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            text += part["text"]
        elif kind == "image_url" and isinstance(part.get("image_url"), dict):
            images += 1
            if role != "user":  # [azure-vision] "You can't include images as output from messages with the assistant role"
                problems.append(("image-role", f"{where} ({role}) part {index} is an image; only user messages "
                                               "take images"))
            problems += [(rule, f"{where} part {index}: {message}") for rule, message in _image_problems(part["image_url"])]
        else:
            problems.append(("content-part", f"{where} part {index} is not {{type: text, text}} or "
                                             "{type: image_url, image_url: {url}}"))
    if not images and not text.strip() and not problems:
        problems.append(("missing-content", f"{where} ({role}) has content parts without text"))
    return problems, images


def _image_problems(image: dict) -> list[Problem]:
    """[azure-vision] an image is an https URL or a base64 data URI of a JPEG, PNG or WEBP of at most 10 MB."""
    url, detail = image.get("url"), image.get("detail", "auto")
    if detail not in IMAGE_DETAILS:
        return [("image-url", f"detail {detail!r} is not one of auto, low, high")]
    if not isinstance(url, str):
        return [("image-url", "the image has no `url`")]
    if url.startswith("https://"):
        return []  # type and size are the service's to check when it downloads it
    header, comma, data = url.partition(",")
    if not (url.startswith("data:") and comma and header.endswith(";base64")):
        return [("image-url", f"the image URL {url[:40]!r} is neither https:// nor a base64 data URI")]
    media = header[len("data:"):-len(";base64")].lower()  # RFC 2045 5.1: type and subtype are case-insensitive
    if media not in IMAGE_TYPES:
        return [("image-type", f"the image is {media or 'untyped'}; images are JPEG, PNG or WEBP")]
    size = len(data) * 3 // 4 - data[-2:].count("=")
    if size > MAX_IMAGE_BYTES:
        return [("image-size", f"the image is {size:,} bytes; the limit is 10 MB")]
    try:
        start = base64.b64decode(data[:16], validate=True)
    except ValueError:
        return [("image-url", "the data URI is not valid base64")]
    if not start.startswith(IMAGE_TYPES[media]) or (media == "image/webp" and start[8:12] != b"WEBP"):
        return [("image-type", f"the data is not a {media.split('/')[1].upper()} image (its first bytes do not say so)")]
    return []


def _order_problems(messages: list[dict], where_prefix: str = "") -> list[Problem]:
    """[order] Tool calls are answered, each by a tool message naming its id, before any other message; a tool
    message answers a call of the assistant message before it. The same for the deprecated function_call and
    function messages. An example may end on a call: that call is what the model learns to make."""
    problems: list[Problem] = []
    waiting: list[str] = []  # ids of the last assistant's tool_calls not answered yet
    calling: str | None = None  # the name of the function_call just made
    for index, message in enumerate(messages, start=1):
        where, role = f"{where_prefix}message {index}", message["role"]
        if role == "tool":
            answered = message["tool_call_id"]
            if answered not in waiting:
                problems.append(("tool-call-order", f"{where} (tool) answers tool call {answered!r}, which the "
                                                    "assistant message before it did not make (or was answered)"))
            else:
                waiting.remove(answered)
            continue
        if waiting:
            problems.append(("tool-call-order", f"{where} ({role}) comes before tool messages answered the "
                                                f"assistant's tool call(s) {', '.join(map(repr, waiting))}"))
            waiting = []
        if role == "function":
            if calling != message["name"]:
                problems.append(("function-call-order", f"{where} (function) answers {message['name']!r}, but the "
                                                        "message before it is not an assistant's function_call of it"))
        calling = None
        if role == "assistant":
            waiting = [call["id"] for call in message.get("tool_calls") or []]
            calling = (message.get("function_call") or {}).get("name")
    last = messages[-1]["role"]
    if waiting and last == "tool":
        problems.append(("tool-call-order", f"the example ends before tool messages answered the assistant's tool "
                                            f"call(s) {', '.join(map(repr, waiting))}"))
    return problems


def _definition_problems(example: dict) -> list[Problem]:
    """[azure-tools] `tools` is a list of {type: function, function: {name, description?, parameters?}};
    the deprecated `functions` a list of {name, description?, parameters?}."""
    problems: list[Problem] = []
    if "tools" in example:
        tools = example["tools"]
        if not (isinstance(tools, list) and all(isinstance(t, dict) and t.get("type") == "function"
                                                  and _valid_function(t.get("function")) for t in tools)):
            problems.append(("tools-format", "`tools` is not a list of {type: function, function: {name, "
                                             "description, parameters}} whose names are 1-64 of a-z, A-Z, 0-9, _, -"))
    if "functions" in example:
        functions = example["functions"]
        if not (isinstance(functions, list) and all(_valid_function(f) for f in functions)):
            problems.append(("functions-format", "`functions` is not a list of {name, description, parameters}"))
    return problems


def _valid_function(function) -> bool:
    return (isinstance(function, dict) and isinstance(function.get("name"), str)
            and FUNCTION_NAME.fullmatch(function["name"]) is not None
            and isinstance(function.get("description", ""), str) and isinstance(function.get("parameters", {}), dict))


def _preference_problems(example: dict, number: int, report: Report) -> list[Problem]:
    """[azure-dpo] {input: {messages, tools?, parallel_tool_calls?}, preferred_output, non_preferred_output}."""
    given = example.get("input")
    messages = given.get("messages") if isinstance(given, dict) else None
    if not isinstance(messages, list) or not messages:
        return [("preference-format", "a DPO example needs `input` with a non-empty `messages` list")]
    problems, _, images, functions = _conversation_problems(messages, "input ")
    problems += _definition_problems(given)
    for key in ("preferred_output", "non_preferred_output"):
        output = example.get(key)
        if not isinstance(output, list) or not output:
            problems.append(("preference-format", f"a DPO example needs a non-empty `{key}` list of messages"))
            continue
        found, roles, count, _ = _conversation_problems(output, f"{key} ")
        problems += found
        images += count
        if not roles <= {"assistant", "tool"} or "assistant" not in roles:
            problems.append(("preference-format", f"`{key}` holds {', '.join(sorted(roles)) or 'no'} messages; an "
                                                  "output is assistant (and tool) messages"))
    if not problems:
        _note_shapes(report, number, images, functions)
    return problems


def _call_warnings(example: dict) -> list[Problem]:
    """Calls the model would learn badly, in a well-formed example: `arguments` that are not the text of a JSON
    object ([azure-tools]: the docs' examples, like the chat API's answers, carry arguments as JSON text), and calls
    to a function the example does not define (only checked when it defines some)."""
    if "messages" in example:
        shape, messages = example, example["messages"]
    else:
        shape = example["input"]
        messages = shape["messages"] + example["preferred_output"] + example["non_preferred_output"]
    defined = {tool["function"]["name"] for tool in shape.get("tools") or []}
    defined |= {function["name"] for function in shape.get("functions") or []}
    warnings: list[Problem] = []
    for index, message in enumerate(messages, start=1):
        if message.get("role") != "assistant":
            continue
        calls = [call["function"] for call in message.get("tool_calls") or []]
        if message.get("function_call"):
            calls.append(message["function_call"])
        for call in calls:
            name = call["name"]
            if not _json_object_text(call["arguments"]):
                warnings.append(("tool-call-arguments", f"message {index} calls {name!r} with arguments "
                                                        f"{call['arguments'][:40]!r}, which are not a JSON object"))
            if defined and name not in defined:
                warnings.append(("tool-call-undefined", f"message {index} calls {name!r}, which the example's "
                                                        f"tools do not define ({', '.join(sorted(defined))})"))
    return warnings


def _json_object_text(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _valid_tool_calls(tool_calls) -> bool:
    if not isinstance(tool_calls, list) or not tool_calls:
        return False
    ids = set()
    for call in tool_calls:
        if not (isinstance(call, dict) and isinstance(call.get("id"), str) and call.get("type") == "function"
                and _valid_call(call.get("function"))) or call["id"] in ids:
            return False
        ids.add(call["id"])
    return True


def _valid_call(function) -> bool:
    return isinstance(function, dict) and isinstance(function.get("name"), str) and isinstance(function.get("arguments"), str)


def text_of(content) -> str:
    """The text of a message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content
                       if isinstance(part, dict) and isinstance(part.get("text"), str))
    return ""


def _count_batch(encoding, examples: list[tuple[int, dict, bool]], limit: int, report: Report) -> None:
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
    for number, example, plain in examples:
        if not plain:
            total, assistant, count = _example_tokens(encoding, example)
        else:
            # The cookbook's accounting for text-only messages, inlined for speed (see _messages_tokens).
            messages = example["messages"]
            count = len(messages)
            total = REPLY_PRIMING
            assistant = 0
            for message in messages:
                text = message["content"]
                if len(text) <= CACHE_TEXT_CHARS:
                    length = known.get(text)
                    if length is None:
                        length = known[text] = len(encode(text))
                else:
                    length = len(encode(text))
                role = message["role"]
                total += TOKENS_PER_MESSAGE + length + role_tokens[role]
                if role == "assistant":
                    assistant += length
        report.examples += 1
        add_messages(count)
        add_total(total)
        add_assistant(assistant)
        if total > limit:
            report.add(Finding(report.file, number, "example-tokens",
                                           f"{total} tokens; examples over {limit} tokens are truncated", "warning"))


def _example_tokens(encoding, example: dict) -> tuple[int, int, int]:
    """(total tokens, assistant tokens, messages) of a valid example of any shape. A DPO example counts its
    input and both outputs, all of which the service reads."""
    if "messages" in example:
        shape, messages = example, example["messages"]
    else:
        shape = example["input"]
        messages = shape["messages"] + example["preferred_output"] + example["non_preferred_output"]
    total, assistant = _messages_tokens(encoding, messages)
    total += tools_tokens(encoding, [tool["function"] for tool in shape.get("tools") or []])
    total += tools_tokens(encoding, shape.get("functions") or [])
    return total, assistant, len(messages)


def _messages_tokens(encoding, messages: list[dict]) -> tuple[int, int]:
    """[prep] 3 per message, the tokens of every text value (role, content's text, name, tool_call_id; and of
    each tool call or function call, its name and arguments: the text the model writes), 1 more for a name,
    3 to prime the reply. Assistant tokens are the assistant's text and calls."""
    encode = encoding.encode_ordinary
    total, assistant = REPLY_PRIMING, 0
    for message in messages:
        role = message.get("role", "")
        total += TOKENS_PER_MESSAGE + _role_tokens(encoding, role)
        written = len(encode(text_of(message.get("content"))))
        calls = [call["function"] for call in message.get("tool_calls") or []]
        if message.get("function_call"):
            calls.append(message["function_call"])
        for call in calls:
            written += len(encode(call["name"])) + len(encode(call["arguments"]))
        total += written
        for key in ("name", "tool_call_id"):
            if isinstance(message.get(key), str):
                total += len(encode(message[key])) + (TOKENS_PER_NAME if key == "name" else 0)
        if role == "assistant":
            assistant += written
    return total, assistant


# [count] section 7: a tool definition costs these tokens of framing besides its text; the cookbook measured
# them against the API for gpt-4o / gpt-4o-mini (o200k_base) and gpt-3.5-turbo / gpt-4 (cl100k_base).
FUNCTION_INIT = {"o200k_base": 7, "cl100k_base": 10}
PROPERTY_INIT, PROPERTY_KEY, ENUM_INIT, ENUM_ITEM, FUNCTIONS_END = 3, 3, -3, 3, 12


def tools_tokens(encoding, functions: list[dict]) -> int:
    """Prompt tokens of function definitions ({name, description?, parameters?}), by the cookbook's
    num_tokens_for_tools [count]: per function its framing and "name:description"; per property its framing,
    "name:type:description" and each enum item; 12 to close. 0 for no functions."""
    if not functions:
        return 0
    encode = encoding.encode_ordinary
    count = FUNCTIONS_END
    for function in functions:
        count += FUNCTION_INIT.get(encoding.name, FUNCTION_INIT["o200k_base"])
        count += len(encode(f"{function['name']}:{function.get('description', '').removesuffix('.')}"))
        properties = (function.get("parameters") or {}).get("properties") or {}
        if properties:
            count += PROPERTY_INIT
            for key, schema in properties.items():
                schema = schema if isinstance(schema, dict) else {}
                count += PROPERTY_KEY
                if "enum" in schema and isinstance(schema["enum"], list):
                    count += ENUM_INIT
                    for item in schema["enum"]:
                        count += ENUM_ITEM + len(encode(str(item)))
                description = str(schema.get("description", "")).removesuffix(".")
                count += len(encode(f"{key}:{schema.get('type', '')}:{description}"))
    return count


_ROLE_CACHE: dict[tuple[str, str], int] = {}


def _role_tokens(encoding, role: str) -> int:
    key = (encoding.name, role)
    if key not in _ROLE_CACHE:
        _ROLE_CACHE[key] = len(encoding.encode_ordinary(role))
    return _ROLE_CACHE[key]


def chat_tokens(encoding, messages: list[dict], tools: list[dict] | None = None) -> int:
    """Prompt tokens of a chat request (messages, and `tools` in the chat completions shape), counted the way
    fine-tuning data is (see _messages_tokens and tools_tokens)."""
    return (_messages_tokens(encoding, messages)[0]
            + tools_tokens(encoding, [tool["function"] for tool in tools or []]))


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
