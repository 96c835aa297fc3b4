"""The fine-tuning data validator: every broken file gives its rule and line; no input crashes it; the lab's
datasets validate clean with the token figures of the lab's cookbook code."""

import base64
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labctl_labs.fine_tuning_data import validate_stream
from tests.strategies import jsonl_lines

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "mslearn"
OK = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                   {"role": "assistant", "content": "a"}]}


def line(obj) -> bytes:
    return json.dumps(obj).encode()


def ten(*extra: bytes) -> list[bytes]:
    return [line(OK)] * 10 + list(extra)


def msgs(*messages) -> bytes:
    return line({"messages": list(messages)})


U, A = {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}


def call(*ids: str) -> dict:
    return {"role": "assistant", "tool_calls": [{"id": i, "type": "function",
                                                 "function": {"name": "f", "arguments": "{}"}} for i in ids]}


def tool(answers: str) -> dict:
    return {"role": "tool", "tool_call_id": answers, "content": "42"}


def image(url: str, role: str = "user") -> dict:
    return {"role": role, "content": [{"type": "text", "text": "what is it?"},
                                      {"type": "image_url", "image_url": {"url": url}}]}


# The smallest valid PNG header (8-byte signature + IHDR start), base64: enough for the type check.
PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PRETTY = json.dumps([OK, OK], indent=2).encode()
DPO_OK = {"input": {"messages": [U]}, "preferred_output": [A], "non_preferred_output": [{**A, "content": "b"}]}

# name -> (lines of the file, or raw bytes, rule expected, line expected)
CORPUS = {
    "truncated last line": (ten(b'{"messages": [{"role": "user", "content": "q"'), "json", 11),
    "not json at all": ([b"hello world"], "json", 1),
    "trailing comma": ([b'{"messages": [],}'], "json", 1),
    "latin-1 text": (ten('{"messages": "caf\u00e9"}'.encode("latin-1")), "encoding", 11),
    "utf-16 file": ('{"messages": []}\n'.encode("utf-16"), "encoding", None),
    "bom in the middle": (ten(b"\xef\xbb\xbf" + line(OK)), "json", 11),
    "empty file": (b"", "empty-file", None),
    "only blank lines": (b"\n\n  \n", "empty-file", None),
    "nan": (ten(b'{"messages": [{"role": "user", "content": "q"}], "score": NaN}'), "json", 11),
    "a number of 5,000 digits": (ten(b'{"messages": [], "n": ' + b"9" * 5000 + b"}"), "json", 11),
    "nested 100,000 deep": (ten(b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"), "json", 11),
    "cr line endings": (b"\r".join([line(OK)] * 10) + b"\r", "line-endings", None),
    "utf-16 without bom, japanese": ("\n".join([json.dumps({"messages": [
        {"role": "user", "content": "日本の首都はどこですか。" * 5}, {"role": "assistant", "content": "東京です。" * 5}]},
        ensure_ascii=False)] * 10).encode("utf-16-le"), "encoding", None),
    "name not a string": ([msgs({**U, "name": 7}, A)], "name-format", 1),
    "function name with a space": ([line({"messages": [U, A], "tools": [
        {"type": "function", "function": {"name": "get weather"}}]})], "tools-format", 1),
    "top-level array": ([b"[1, 2]"], "data-type", 1),
    "top-level string": ([b'"just text"'], "data-type", 1),
    "no messages key": ([line({"prompt": "p", "completion": "c"})], "missing-messages", 1),
    "messages not a list": ([line({"messages": "hi"})], "missing-messages", 1),
    "messages empty": ([line({"messages": []})], "missing-messages", 1),
    "message is a string": ([msgs("hello", A)], "message-type", 1),
    "message without role": ([msgs({"content": "q"}, A)], "message-missing-key", 1),
    "message without content": ([msgs({"role": "user"}, A)], "message-missing-key", 1),
    "unknown key": ([msgs({**U, "mood": "happy"}, A)], "message-unrecognized-key", 1),
    "unknown role": ([msgs({"role": "human", "content": "q"}, A)], "unrecognized-role", 1),
    "empty content": ([msgs({"role": "user", "content": "  "}, A)], "missing-content", 1),
    "null content": ([msgs({"role": "user", "content": None}, A)], "missing-content", 1),
    "numeric content": ([msgs({"role": "user", "content": 42}, A)], "missing-content", 1),
    "no assistant": ([msgs({"role": "system", "content": "s"}, U)], "no-assistant-message", 1),
    "weight two": ([msgs(U, {**A, "weight": 2})], "weight", 1),
    "weight true": ([msgs(U, {**A, "weight": True})], "weight", 1),
    "weight on user": ([msgs({**U, "weight": 1}, A)], "weight", 1),
    "tool call without function": ([msgs(U, {"role": "assistant", "tool_calls": [{"id": "1", "type": "function"}]})],
                                   "tool-call-format", 1),
    "tool call arguments not text": ([msgs(U, {"role": "assistant", "tool_calls": [
        {"id": "1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]})], "tool-call-format", 1),
    "nine examples": ([line(OK)] * 9, "min-examples", None),
    # Whole-file problems: one finding for the file, not one per line.
    "utf-16 without bom": ("\n".join([json.dumps(OK)] * 10).encode("utf-16-le"), "encoding", None),
    "utf-32 file": ("\n".join([json.dumps(OK)] * 10).encode("utf-32"), "encoding", None),
    "pretty-printed json array": (PRETTY, "json-array", None),
    "pretty-printed json object": (json.dumps(OK, indent=2).encode(), "json-array", None),
    "binary file": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "binary", 3),  # NUL on line 3
    "nul byte in a line": (ten(b'{"messages": [{"role": "user", "content": "q\x00"}]}'), "binary", 11),
    # [order] tool-call order: microsoft-foundry/fine-tuning#23; the chat API's own refusals (gpustack/gpustack#6210).
    "assistant right after a tool call": ([msgs(U, call("c1"), A)], "tool-call-order", 1),
    "tool message answering no call": ([msgs(U, tool("c9"), A)], "tool-call-order", 1),
    "tool message answering another id": ([msgs(U, call("c1"), tool("c2"), A)], "tool-call-order", 1),
    "second call left unanswered": ([msgs(U, call("c1", "c2"), tool("c1"), A)], "tool-call-order", 1),
    "tool message without its call id": ([msgs(U, call("c1"), {"role": "tool", "content": "42"}, A)],
                                         "message-missing-key", 1),
    "two tool calls with one id": ([msgs(U, call("c1", "c1"))], "tool-call-format", 1),
    "tool calls on a user message": ([msgs({**U, **call("c1"), "role": "user"}, A)], "tool-call-format", 1),
    "tools not a list": ([line({"messages": [U, A], "tools": {"name": "f"}})], "tools-format", 1),
    "tool without a function": ([line({"messages": [U, A], "tools": [{"type": "function"}]})], "tools-format", 1),
    # [azure-tools] the deprecated function-calling shape
    "function message without a call": ([msgs(U, {"role": "function", "name": "f", "content": "42"}, A)],
                                        "function-call-order", 1),
    "function_call without arguments": ([msgs(U, {"role": "assistant", "function_call": {"name": "f"}})],
                                        "function-call-format", 1),
    "functions not a list of functions": ([line({"messages": [U, A], "functions": [{"description": "d"}]})],
                                          "functions-format", 1),
    # [azure-vision] rules that hold for every base model
    "image in an assistant message": ([msgs(U, image(PNG, "assistant"))], "image-role", 1),
    "image by http url": ([msgs(image("http://example.com/cat.png"), A)], "image-url", 1),
    "image detail not a word": ([msgs({"role": "user", "content": [{"type": "image_url", "image_url": {
        "url": "https://example.com/cat.png", "detail": ["high"]}}]}, A)], "image-url", 1),
    "gif image": ([msgs(image("data:image/gif;base64,R0lGODlhAQABAAAAACw="), A)], "image-type", 1),
    "png label on jpeg bytes": ([msgs(image("data:image/png;base64,/9j/4AAQSkZJRgABAQAAAQABAAD"), A)], "image-type", 1),
    "65 images": ([msgs({"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG}}] * 65}, A)],
                  "image-count", 1),
    "audio content part": ([msgs({"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}, A)],
                           "content-part", 1),
    # [azure-dpo] the preference format, and one method per file
    "dpo without non-preferred output": ([line({"input": {"messages": [U]}, "preferred_output": [A]})],
                                         "preference-format", 1),
    "dpo output from the user": ([line({**DPO_OK, "preferred_output": [U]})], "preference-format", 1),
    "dpo and supervised mixed": ([line(OK)] * 3 + [line(DPO_OK)], "mixed-methods", 4),
    "error on line 7 of 12": ([line(OK)] * 6 + [msgs(U)] + [line(OK)] * 5, "no-assistant-message", 7),
}


def as_bytes(content) -> bytes:
    return content if isinstance(content, bytes) else b"\n".join(content) + b"\n"


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_broken_file_names_its_rule_and_line(name):
    content, rule, line_number = CORPUS[name]
    report = validate_stream(io.BytesIO(as_bytes(content)), f"{name}.jsonl", purpose="training")
    errors = report.errors
    assert errors, f"{name}: no error found"
    assert (errors[0].rule, errors[0].line) == (rule, line_number), [str(e) for e in errors]
    assert str(errors[0]).startswith(f"{name}.jsonl")


def test_the_corpus_covers_at_least_25_broken_files_and_every_rule():
    assert len(CORPUS) >= 25
    assert {rule for _, rule, _ in CORPUS.values()} >= {
        "json", "encoding", "empty-file", "data-type", "missing-messages", "message-type",
        "message-missing-key", "message-unrecognized-key", "unrecognized-role", "missing-content",
        "no-assistant-message", "weight", "tool-call-format", "min-examples", "json-array", "binary",
        "tool-call-order", "function-call-order", "tools-format", "functions-format", "function-call-format",
        "image-role", "image-url", "image-type", "image-count", "content-part", "preference-format", "mixed-methods",
        "line-endings", "name-format"}


WHOLE_FILE = ["utf-16 file", "utf-16 without bom", "utf-32 file", "pretty-printed json array",
              "pretty-printed json object", "binary file", "cr line endings", "utf-16 without bom, japanese"]


@pytest.mark.parametrize("name", WHOLE_FILE)
def test_a_whole_file_problem_is_one_finding(name):
    content, rule, _ = CORPUS[name]
    report = validate_stream(io.BytesIO(as_bytes(content)), f"{name}.jsonl")
    assert [f.rule for f in report.findings] == [rule]


def test_warnings_are_separate_from_errors():
    report = validate_stream(io.BytesIO(b"\n".join([msgs(U, A)] * 10)), "w.jsonl")
    assert report.ok and {w.rule for w in report.warnings} == {"missing-system"}
    long = msgs({"role": "system", "content": "word " * 40_000}, U, A)
    report = validate_stream(io.BytesIO(b"\n".join([long] + [line(OK)] * 10)), "l.jsonl", model="gpt-4.1-nano-2025-04-14")
    assert report.ok and [w.rule for w in report.warnings] == ["example-tokens"]


def test_a_valid_tool_call_and_weights_pass():
    report = validate_stream(io.BytesIO(b"\n".join([msgs(U, call("c1"), tool("c1"), {**A, "weight": 0},
                                                          {**A, "weight": 1})] * 10)), "t")
    assert report.errors == []


@pytest.mark.parametrize("content", [None, "", "Let me look that up."])
def test_an_assistant_calling_a_tool_may_leave_its_content_null_or_empty(content):
    # [azure-tools] Azure's example sets no content; microsoft-foundry/fine-tuning#23's sets it to null.
    caller = {**call("c1"), "content": content}
    report = validate_stream(io.BytesIO(b"\n".join([msgs(U, caller, tool("c1"), A)] * 10)), "t")
    assert report.errors == []


def test_a_broken_image_line_is_not_also_blamed_on_the_base():
    # The line's own error is what to fix; vision-unsupported speaks of valid examples with images only.
    report = validate_stream(io.BytesIO(b"\n".join(ten(msgs(U, image(PNG, "assistant"))))), "v.jsonl",
                             model="gpt-4.1-mini-2025-04-14")
    assert [(f.rule, f.line) for f in report.errors] == [("image-role", 11)]


def cookbook_figures(path: Path) -> dict:
    """The lab's cookbook counting, written out plainly: cl100k_base, 3 per message, every value, +3."""
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base")
    totals, assistants, counts = [], [], []
    for raw in path.read_text(encoding="utf-8-sig").splitlines():
        messages = json.loads(raw)["messages"]
        total = 3
        for message in messages:
            total += 3
            for key, value in message.items():
                total += len(encoding.encode(value))
                if key == "name":
                    total += 1
        totals.append(total)
        assistants.append(sum(len(encoding.encode(m["content"])) for m in messages if m["role"] == "assistant"))
        counts.append(len(messages))
    return {"totals": totals, "assistants": assistants, "counts": counts}


@pytest.mark.parametrize(("name", "purpose"), [("training_set.jsonl", "training"), ("validation_set.jsonl", "validation")])
def test_the_labs_datasets_validate_clean_with_the_cookbooks_figures(name, purpose):
    with (DATA / name).open("rb") as stream:
        report = validate_stream(stream, name, purpose=purpose, model="gpt-35-turbo")
    expected = cookbook_figures(DATA / name)
    assert report.errors == [] and report.examples == 10
    assert list(report.total_tokens) == expected["totals"]
    assert list(report.assistant_tokens) == expected["assistants"]
    assert list(report.messages_per_example) == expected["counts"]
    summary = report.summary()
    assert summary["total_tokens"]["min"] == min(expected["totals"]) and summary["total_tokens"]["max"] == max(expected["totals"])


@settings(max_examples=300, deadline=None)
@given(jsonl_lines(line_bytes=200, text=20, leaves=20, lines=15))
def test_no_input_crashes_the_validator(lines):
    report = validate_stream(io.BytesIO(b"\n".join(lines)), "fuzz.jsonl")
    for finding in report.findings:
        assert finding.rule and finding.message and finding.severity in ("error", "warning")


# --- `labctl validate` as a user runs it --------------------------------------------------------------------------
GOLDEN = Path(__file__).resolve().parent / "data"


def labctl_validate(capsys, *args: str) -> tuple[int, str]:
    from agent.cli import main

    try:
        main(["validate", *args])
        code = 0
    except SystemExit as done:
        code = done.code
    captured = capsys.readouterr()
    return code, " ".join((captured.out + captured.err).split())  # rich wraps long lines


@pytest.mark.parametrize(("name", "model"), [
    ("tool_calls.jsonl", "gpt-4.1-mini-2025-04-14"), ("function_calling.jsonl", "gpt-4.1-mini-2025-04-14"),
    ("vision.jsonl", "gpt-4o-2024-08-06"), ("preference.jsonl", "gpt-4.1-2025-04-14"),
])
def test_labctl_validate_passes_each_documented_format(capsys, name, model):
    code, output = labctl_validate(capsys, str(GOLDEN / name), "--model", model)
    assert code == 0, output
    assert "10 valid examples, 0 errors" in output


BROKEN_FOR_THE_CLI = {
    "assistant right after a tool call": ("gpt-4.1-mini-2025-04-14", "tool-call-order"),
    "tool message answering no call": ("gpt-4.1-mini-2025-04-14", "tool-call-order"),
    "function message without a call": ("gpt-4.1-mini-2025-04-14", "function-call-order"),
    "image in an assistant message": ("gpt-4o-2024-08-06", "image-role"),
    "image by http url": ("gpt-4o-2024-08-06", "image-url"),
    "gif image": ("gpt-4o-2024-08-06", "image-type"),
    "65 images": ("gpt-4o-2024-08-06", "image-count"),
    "vision on a text-only base": ("gpt-4.1-mini-2025-04-14", "vision-unsupported"),
}


@pytest.mark.parametrize("name", sorted(BROKEN_FOR_THE_CLI))
def test_labctl_validate_names_line_and_rule_of_each_order_and_vision_violation(capsys, tmp_path, name):
    model, rule = BROKEN_FOR_THE_CLI[name]
    broken = msgs(image(PNG), A) if name == "vision on a text-only base" else CORPUS[name][0][0]
    path = tmp_path / "data.jsonl"
    path.write_bytes(as_bytes(ten(broken)))  # the broken example is line 11
    code, output = labctl_validate(capsys, str(path), "--model", model)
    assert code == 2
    assert f"data.jsonl:11: error [{rule}]" in output


def test_labctl_validate_of_an_empty_file_says_so_without_none_figures(capsys, tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    code, output = labctl_validate(capsys, str(path))
    assert code == 2
    assert "[empty-file]" in output and "no examples to count" in output and "None" not in output


# Values built of the whole format's keys (tools, calls, content parts, DPO), to reach the checks beyond plain chat.
FORMAT_KEYS = ["messages", "role", "content", "weight", "name", "tool_calls", "tool_call_id", "function_call", "id",
               "type", "function", "arguments", "tools", "functions", "parameters", "properties", "enum", "text",
               "image_url", "url", "detail", "input", "preferred_output", "non_preferred_output"]
FORMAT_TEXTS = st.sampled_from(["user", "assistant", "tool", "function", "system", "function", "text", "image_url",
                                "c1", "f", "{}", "https://example.com/a.png", PNG, ""]) | st.text(max_size=8)
FORMAT_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-1, 2) | FORMAT_TEXTS,
                             lambda inner: st.lists(inner, max_size=4)
                             | st.dictionaries(st.sampled_from(FORMAT_KEYS), inner, max_size=5), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(st.lists(FORMAT_VALUES.map(lambda v: json.dumps(v).encode()), max_size=12),
       st.sampled_from(["gpt-4o-2024-08-06", "gpt-4.1-mini-2025-04-14", None]))
def test_no_value_of_the_whole_format_crashes_the_validator(lines, model):
    report = validate_stream(io.BytesIO(b"\n".join(lines)), "fuzz.jsonl", model=model)
    assert report.examples == len(report.total_tokens)
    for finding in report.findings:
        assert finding.rule and finding.message and finding.severity in ("error", "warning")


# --- One finding for one mistake made on every line ----------------------------------------------------------------
def test_a_file_saved_as_latin_1_is_one_encoding_finding_at_its_first_line():
    # [azure-ft] files are UTF-8. Windows-1252/Latin-1 writes "é" as the single byte 0xE9, which UTF-8 never starts
    # a character with: every line with an accent fails, and that is one mistake of the file.
    accented = {"messages": [{"role": "system", "content": "Réponds en français."}, U, A]}
    lines = [line(OK)] + [json.dumps(accented, ensure_ascii=False).encode("latin-1")] * 12
    report = validate_stream(io.BytesIO(as_bytes(lines)), "latin.jsonl")
    assert [(f.rule, f.line) for f in report.findings] == [("encoding", 2)]
    assert "12 lines are not UTF-8" in report.findings[0].message and "0xe9" in report.findings[0].message.lower()


def test_examples_without_a_system_message_are_one_warning_with_their_count():
    # The cookbook reports one figure for them ("Num examples missing system message"), not one line each.
    report = validate_stream(io.BytesIO(as_bytes([line(OK)] * 3 + [msgs(U, A)] * 9)), "w.jsonl")
    assert [(f.rule, f.line, f.severity) for f in report.findings] == [("missing-system", 4, "warning")]
    assert "9 of 12 examples" in report.findings[0].message


def with_tools(*messages, tools=("f",)) -> bytes:
    return line({"messages": list(messages),
                 "tools": [{"type": "function", "function": {"name": name, "parameters": {}}} for name in tools]})


def calling(name: str, arguments: str) -> dict:
    return {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                                 "function": {"name": name, "arguments": arguments}}]}


@pytest.mark.parametrize(("example", "rule"), [
    # [azure-tools]: arguments are the JSON text of an object ("{\"location\": ...}"), as the chat API returns them.
    (with_tools(U, calling("f", "location=Paris"), tool("c1"), A), "tool-call-arguments"),
    (with_tools(U, calling("f", "[1, 2]"), tool("c1"), A), "tool-call-arguments"),
    (with_tools(U, calling("g", "{}"), tool("c1"), A), "tool-call-undefined"),
    (line({"messages": [U, {"role": "assistant", "function_call": {"name": "g", "arguments": "{}"}}],
           "functions": [{"name": "f"}]}), "tool-call-undefined"),
])
def test_a_call_the_model_would_learn_badly_is_a_warning_on_its_line(example, rule):
    report = validate_stream(io.BytesIO(as_bytes([line(OK)] * 10 + [example])), "calls.jsonl")
    assert report.ok  # Azure documents no refusal of these: a file it takes must pass
    assert [(f.rule, f.line) for f in report.warnings if f.rule.startswith("tool-call")] == [(rule, 11)]


def test_a_call_without_defined_tools_is_not_blamed_for_naming_an_undefined_function():
    # Azure's docs train tool calls "even when the full function definition isn't present" (fine-tuning-functions).
    report = validate_stream(io.BytesIO(as_bytes([msgs(U, calling("f", "{}"), tool("c1"), A)] * 10)), "t.jsonl")
    assert report.ok and not [f for f in report.warnings if f.rule.startswith("tool-call")]


def test_labctl_validate_prints_ten_findings_of_a_rule_and_counts_the_rest(capsys, tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_bytes(as_bytes([b"not json"] * 25 + [line(OK)] * 10))
    code, output = labctl_validate(capsys, str(path))
    assert code == 2
    assert output.count("error [json]") == 10 and "and 15 more [json] findings" in output
    assert "25 errors" in output


def test_a_mistake_on_every_line_is_counted_in_full_but_kept_a_thousand_times(capsys, tmp_path):
    # Memory stays bounded on a large broken file: every finding is counted, the first 1,000 of a rule are kept.
    path = tmp_path / "no-answers.jsonl"
    path.write_bytes(as_bytes([line(OK)] * 10 + [msgs({"role": "system", "content": "s"}, U)] * 2500))
    report = validate_stream(path.open("rb"), path.name)
    assert report.error_count == 2500 and not report.ok
    kept = [f.line for f in report.errors]
    assert kept == list(range(11, 1011))  # the first thousand, in line order
    assert report.summary()["finding_counts"] == {"no-assistant-message": 2500}
    code, output = labctl_validate(capsys, str(path))
    assert code == 2 and "2,500 errors" in output and "and 2,490 more [no-assistant-message] findings" in output


def test_a_line_over_the_cap_is_not_read_and_says_so_without_failing_the_file(monkeypatch):
    from labctl_labs import fine_tuning_data

    monkeypatch.setattr(fine_tuning_data, "MAX_LINE_BYTES", 4096)
    report = validate_stream(io.BytesIO(as_bytes(ten(msgs(U, {**A, "content": "x" * 10_000})))), "long.jsonl")
    assert report.ok and report.examples == 10
    assert [(f.rule, f.line, f.severity) for f in report.findings] == [("line-unchecked", 11, "warning")]


def test_a_7_mb_inline_jpeg_is_taken_for_a_vision_base():
    # [azure-vision] images of up to 10 MB; base64 makes 7 MB about 9.3 MB of line, over the 8 MiB cap labctl had.
    jpeg = "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * (7 * 1024 * 1024)).decode()
    report = validate_stream(io.BytesIO(as_bytes(ten(msgs(image(jpeg), A)))), "v.jsonl", model="gpt-4o-2024-08-06")
    assert report.ok and report.examples == 11


def test_media_types_match_without_case():
    # RFC 2045 section 5.1: type and subtype names are case-insensitive.
    report = validate_stream(io.BytesIO(as_bytes(ten(msgs(image(PNG.replace("image/png", "image/PNG")), A)))), "v.jsonl",
                             model="gpt-4o-2024-08-06")
    assert report.ok


def test_examples_without_a_user_message_are_one_warning_with_their_count():
    # The cookbook counts them too ("Num examples missing user message").
    report = validate_stream(io.BytesIO(as_bytes([line(OK)] * 10 + [msgs({"role": "system", "content": "s"}, A)] * 2)),
                             "w.jsonl")
    assert [(f.rule, f.line) for f in report.warnings] == [("missing-user", 11)]
    assert "2 of 12 examples" in report.warnings[0].message


# [azure-rft] o4-mini trains by reinforcement fine-tuning, on its own format: Azure's example, as one line.
RFT_EXAMPLE = {"messages": [{"role": "user", "content": "You are a helpful assistant. Your task is to solve the "
                             "following logic and puzzle quiz:\n\n2. In the expression 1 * 2 * 3 * 4 * 5 * 6 * 7 * 8 * 9 "
                             "= 100, replace the asterisks with arithmetic operation signs to obtain a correct equation."}],
               "solution": "Solution. 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 \\cdot 9 = 100.\n\nEvaluation. 12 points for the "
                           "correct solution.",
               "final_answer": "1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 \\cdot 9 = 100"}
O4_MINI = "o4-mini-2025-04-16"


def test_azures_rft_example_is_valid_for_o4_mini_and_not_for_a_supervised_base():
    data = as_bytes([line(RFT_EXAMPLE)] * 10)
    report = validate_stream(io.BytesIO(data), "rft.jsonl", model=O4_MINI)
    assert report.ok and report.examples == 10 and not report.warnings
    supervised = validate_stream(io.BytesIO(data), "rft.jsonl", model="gpt-4.1-mini-2025-04-14")
    assert supervised.errors[0].rule == "no-assistant-message"


@pytest.mark.parametrize(("example", "why"), [
    ({"messages": [{"role": "system", "content": "s"}, U]}, "system message"),
    ({"messages": [U, A]}, "last message is the assistant's"),
    ({"messages": [image(PNG)]}, "holds images"),
])
def test_rft_data_breaking_azures_rules_is_refused_for_o4_mini(example, why):
    report = validate_stream(io.BytesIO(as_bytes([line(RFT_EXAMPLE)] * 10 + [line(example)])), "rft.jsonl", model=O4_MINI)
    assert [(f.rule, f.line) for f in report.errors] == [("rft-format", 11)] and why in report.errors[0].message


def test_a_developer_message_is_rft_data_and_says_so_for_a_supervised_base():
    report = validate_stream(io.BytesIO(as_bytes(ten(msgs({"role": "developer", "content": "d"}, U, A)))), "d.jsonl")
    assert report.errors[0].rule == "unrecognized-role" and "o4-mini's RFT data" in report.errors[0].message
    rft = validate_stream(io.BytesIO(as_bytes([msgs({"role": "developer", "content": "d"}, U)] * 10)), "d.jsonl",
                          model=O4_MINI)
    assert rft.ok


def test_an_rft_validation_file_holds_at_most_1000_examples():
    report = validate_stream(io.BytesIO(as_bytes([line(RFT_EXAMPLE)] * 1001)), "rft.jsonl", purpose="validation",
                             model=O4_MINI)
    assert [(f.rule, f.line) for f in report.errors] == [("rft-format", None)]


def test_labctl_validate_gives_o4_mini_no_token_bill(capsys, tmp_path):
    path = tmp_path / "rft.jsonl"
    path.write_bytes(as_bytes([line(RFT_EXAMPLE)] * 10))
    code, output = labctl_validate(capsys, str(path), "--model", O4_MINI)
    assert code == 0 and "billed per hour of training" in output and "epochs ->" not in output


@pytest.mark.parametrize(("model", "accepted"), [
    ("gpt-4o-2024-05-13", False), ("gpt-4o-1999", False), ("gpt-4o-2024-08-06", True), ("gpt-4o", True),
    ("gpt-4.1-mini-2025-04-14.ft-0123456789abcdef", True),  # continuous fine-tuning of a fine-tuned model
])
def test_labctl_validate_takes_only_versions_azure_fine_tunes(capsys, model, accepted):
    code, output = labctl_validate(capsys, str(GOLDEN / "tool_calls.jsonl"), "--model", model)
    assert code == (0 if accepted else 2), output
    if not accepted:
        assert output.startswith("error: --model") and "gpt-4o-2024-08-06" in output


def test_labctl_validate_checks_every_path_before_reading_any(capsys, tmp_path):
    code, output = labctl_validate(capsys, str(GOLDEN / "tool_calls.jsonl"), str(tmp_path / "missing.jsonl"))
    assert code == 2 and output == f"error: {tmp_path / 'missing.jsonl'} does not exist or is not a file."


def test_labctl_validate_names_files_as_given_and_prints_any_path(capsys, tmp_path):
    for folder in ("a", "b", "x[/y]"):
        (tmp_path / folder).mkdir(parents=True)  # "x[/y]": rich markup's closing tag, were the path not escaped
        (tmp_path / folder / "data.jsonl").write_bytes(as_bytes([line(OK)] * 9 + [msgs(U)]))
    paths = [str(tmp_path / folder / "data.jsonl") for folder in ("a", "b", "x[/y]")]
    code, output = labctl_validate(capsys, *paths)
    assert code == 2
    for path in paths:
        assert f"{path}:10: error [no-assistant-message]" in output and f"{path}: 9 valid examples" in output


def test_labctl_validate_of_a_validation_file_bills_nothing(capsys):
    code, output = labctl_validate(capsys, str(GOLDEN / "tool_calls.jsonl"), "--purpose", "validation")
    assert code == 0 and "not trained on" in output and "epochs ->" not in output


def ignores_sigint(pid: str) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    ignored = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:")), 16)
    return bool(ignored & (1 << (2 - 1)))  # SIGINT is signal 2: bit 1 of the mask (proc(5))


def test_ctrl_c_stops_labctl_validate_of_a_large_file_without_a_traceback(tmp_path):
    # A terminal's Ctrl-C signals the whole process group: the validating process and its worker processes. The
    # workers ignore it (else each prints its own KeyboardInterrupt traceback); the validating process stops them.
    import os
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "large.jsonl"
    chunk = as_bytes([line(OK)] * 20_000)
    with path.open("wb") as out:
        for _ in range(200 * 2**20 // len(chunk)):
            out.write(chunk)
    process = subprocess.Popen([sys.executable, "-c", "from agent.cli import main; main()", "validate", str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:  # the pool's workers are forks of labctl: children whose command line is labctl's own
            workers = subprocess.run(["pgrep", "-P", str(process.pid), "-f", "validate"], capture_output=True,
                                     text=True).stdout.split()
            if len(workers) >= 2 and all(ignores_sigint(pid) for pid in workers):
                break
            assert process.poll() is None and time.monotonic() < deadline, "no worker process that ignores SIGINT"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
