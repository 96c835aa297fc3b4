"""The product's fine-tuning figures pinned to numbers published by OpenAI and Microsoft, not to its own code.

Sources of the golden values:

- [count]  OpenAI cookbook, "How to count tokens with tiktoken", section 6 "Counting tokens for chat completions
  API calls" (https://github.com/openai/openai-cookbook/blob/main/examples/How_to_count_tokens_with_tiktoken.ipynb):
  its example conversation is 129 prompt tokens for gpt-3.5-turbo / gpt-4 (cl100k_base) and 124 for gpt-4o /
  gpt-4o-mini (o200k_base), both as counted by its function and as reported by the API.
- [prep]   OpenAI cookbook, "Data preparation and analysis for chat model fine-tuning"
  (https://github.com/openai/openai-cookbook/blob/main/examples/Chat_finetuning_data_prep.ipynb), run on its toy
  data set examples/data/toy_chat_fine_tuning.jsonl (5 examples, cl100k_base): total tokens per example
  min / max 26, 8032, mean / median 1648.4, 45.0; assistant tokens min / max 4, 8000, mean / median 1610.2, 10.0;
  messages per example min / max 2, 9, mean / median 3.8, 3.0; "Dataset has ~4306 tokens that will be charged
  for during training" (each example capped at 4096), "you'll train for 20 epochs", "charged for ~86120 tokens".
  Its default-epochs cell: n_epochs = 3; if n * 3 < 100: min(25, 100 // n); elif n * 3 > 25000:
  max(1, 25000 // n).
- [azure]  Azure OpenAI fine-tuning tutorial, "Validate token counts"
  (https://learn.microsoft.com/azure/ai-services/openai/tutorials/fine-tune; MicrosoftDocs/azure-ai-docs
  articles/ai-services/openai/tutorials/fine-tune.md), o200k_base on the lab's Clippy data sets: training
  total tokens min / max 46, 59, mean / median 49.8, 48.5, assistant tokens 13, 28, mean / median 16.5, 14.0;
  validation total tokens 41, 64, mean / median 48.9, 47.0, assistant tokens 8, 29, mean / median 15.0, 12.5.
"""

import json
from pathlib import Path

import pytest
import tiktoken

from tests.cookbook import COOKBOOK_CONVERSATION
from labctl_labs.fine_tuning_data import (
    billed_training_tokens, chat_tokens, default_epochs, encoding_for, validate_file,
)

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "mslearn"

# [count] the cookbook's example conversation, as published.
JARGON = COOKBOOK_CONVERSATION  # the cookbook names it after its subject

# [prep] the cookbook's toy data set: these five conversations, the last answer being "Eat a banana!" 2000 times
# (the published file is 27,385 characters; these lines rebuild it).
HAPPY = "You are a happy assistant that puts a positive spin on everything."
TOY = [
    [("system", HAPPY), ("user", "I fell off my bike today."),
     ("assistant", "It's great that you're getting exercise outdoors!")],
    [("system", HAPPY), ("user", "I lost my tennis match today."), ("assistant", "It's ok, it happens to everyone."),
     ("user", "But I trained so hard!"), ("assistant", "It will pay off next time."),
     ("user", "I'm going to switch to golf."), ("assistant", "Golf is fun too!"),
     ("user", "I don't even know how to play golf."), ("assistant", "It's easy to learn!")],
    [("user", "I lost my book today."), ("assistant", "You can read everything on ebooks these days!")],
    [("system", HAPPY), ("assistant", "You're great!")],
    [("system", HAPPY), ("user", "I'm hungry."), ("assistant", "Eat a banana!" * 2000)],
]


@pytest.fixture
def toy_file(tmp_path) -> Path:
    path = tmp_path / "toy_chat_fine_tuning.jsonl"
    path.write_text("".join(json.dumps({"messages": [{"role": r, "content": c} for r, c in example]}) + "\n"
                            for example in TOY), encoding="utf-8")
    return path


@pytest.mark.parametrize(("model", "expected"), [
    ("gpt-35-turbo-0125", 129), ("gpt-4-0613", 129), ("gpt-4o-2024-08-06", 124), ("gpt-4o-mini-2024-07-18", 124),
])
def test_chat_prompt_tokens_match_the_cookbooks_api_checked_count(model, expected):
    encoding = tiktoken.get_encoding(encoding_for(model))
    assert chat_tokens(encoding, JARGON) == expected


def test_the_cookbooks_toy_data_set_counts_as_the_cookbook_printed(toy_file):
    report = validate_file(toy_file, purpose="validation", model="gpt-35-turbo-0125")
    assert report.errors == [] and report.examples == 5
    summary = report.summary()
    assert (summary["total_tokens"]["min"], summary["total_tokens"]["max"]) == (26, 8032)
    assert summary["total_tokens"]["mean"] == pytest.approx(1648.4)
    assert summary["total_tokens"]["median"] == 45.0
    assert (summary["assistant_tokens"]["min"], summary["assistant_tokens"]["max"]) == (4, 8000)
    assert summary["assistant_tokens"]["mean"] == pytest.approx(1610.2)
    assert summary["assistant_tokens"]["median"] == 10.0
    assert (summary["messages_per_example"]["min"], summary["messages_per_example"]["max"]) == (2, 9)
    assert summary["messages_per_example"]["mean"] == pytest.approx(3.8)


def test_the_cookbooks_toy_data_set_bills_as_the_cookbook_printed(toy_file):
    report = validate_file(toy_file, purpose="validation", model="gpt-35-turbo-0125")
    assert default_epochs(report.examples) == 20
    assert billed_training_tokens(report, 1, limit=4096) == 4306
    assert billed_training_tokens(report, default_epochs(report.examples), limit=4096) == 86120


@pytest.mark.parametrize(("name", "total", "assistant"), [
    ("training_set.jsonl", {"min": 46, "max": 59, "mean": 49.8, "median": 48.5},
     {"min": 13, "max": 28, "mean": 16.5, "median": 14.0}),
    ("validation_set.jsonl", {"min": 41, "max": 64, "mean": 48.9, "median": 47.0},
     {"min": 8, "max": 29, "mean": 15.0, "median": 12.5}),
])
def test_the_labs_data_sets_count_as_azures_tutorial_printed(name, total, assistant):
    report = validate_file(DATA / name, purpose="validation", model="gpt-4o-mini-2024-07-18")
    assert report.errors == [] and report.examples == 10
    summary = report.summary()
    for key, value in total.items():
        assert summary["total_tokens"][key] == pytest.approx(value), key
    for key, value in assistant.items():
        assert summary["assistant_tokens"][key] == pytest.approx(value), key


def test_the_labs_training_set_bills_ten_epochs_of_its_tokens():
    # [azure] 10 examples of mean 49.8 tokens = 498; [prep] 10 examples: 10 * 3 < 100, so 100 // 10 = 10 epochs.
    report = validate_file(DATA / "training_set.jsonl", model="gpt-4o-mini-2024-07-18")
    assert default_epochs(report.examples) == 10
    assert billed_training_tokens(report, default_epochs(report.examples)) == 4980


@pytest.mark.parametrize(("examples", "epochs"), [
    # [prep]'s rule worked by hand; 5 -> 20 is also the notebook's printed output.
    (1, 25),       # 3 < 100: min(25, 100 // 1 = 100)
    (4, 25),       # 12 < 100: min(25, 25)
    (5, 20),       # 15 < 100: 100 // 5
    (10, 10),      # 30 < 100: 100 // 10
    (15, 6),       # 45 < 100: 100 // 15 = 6 (6.67 rounded down, not up)
    (30, 3),       # 90 < 100: 100 // 30 = 3
    (33, 3),       # 99 < 100: 100 // 33 = 3
    (34, 3),       # 102: the target
    (8333, 3),     # 24999 <= 25000: the target
    (8334, 2),     # 25002 > 25000: 25000 // 8334 = 2
    (25_001, 1),   # 75003 > 25000: max(1, 25000 // 25001 = 0)
])
def test_default_epochs_follow_the_cookbooks_rule(examples, epochs):
    assert default_epochs(examples) == epochs


# --- Tools, tool calls, vision and DPO (issue 19) ---------------------------------------------------------------------
# [tools]  OpenAI cookbook, "How to count tokens with tiktoken", section 7 "Counting tokens for chat completions with
#          tool calls": its get_current_weather tool with the two example messages is 105 prompt tokens for
#          gpt-3.5-turbo / gpt-4 and 101 for gpt-4o / gpt-4o-mini, as counted by num_tokens_for_tools and by the API.
# [azure-vision] Azure OpenAI "Vision fine-tuning": vision fine-tuning takes gpt-4o 2024-08-06 and gpt-4.1 2025-04-14.
# [azure-dpo]    Azure OpenAI supported fine-tuning models table: DPO on gpt-4o 2024-08-06 and the gpt-4.1 family.
GOLDEN = Path(__file__).resolve().parent / "data"
WEATHER_TOOLS = [{"type": "function", "function": {
    "name": "get_current_weather", "description": "Get the current weather in a given location",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
        "unit": {"type": "string", "description": "The unit of temperature to return", "enum": ["celsius", "fahrenheit"]}},
        "required": ["location"]}}}]
WEATHER_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
    {"role": "user", "content": "What's the weather like in San Francisco?"},
]


@pytest.mark.parametrize(("model", "expected"), [
    ("gpt-35-turbo-0125", 105), ("gpt-4-0613", 105), ("gpt-4o-2024-08-06", 101), ("gpt-4o-mini-2024-07-18", 101),
])
def test_tool_definitions_count_as_the_cookbooks_api_checked_count(model, expected):
    encoding = tiktoken.get_encoding(encoding_for(model))
    assert chat_tokens(encoding, WEATHER_MESSAGES, WEATHER_TOOLS) == expected


def test_a_training_example_counts_its_tools_and_its_tool_call(tmp_path):
    # [tools] 101 for the prompt and its tools (o200k_base); [prep] the assistant's message adds 3 + its role + what
    # it writes: here a tool call, whose function name and arguments are the text the model is trained to write.
    encoding = tiktoken.get_encoding("o200k_base")
    name, arguments = "get_current_weather", '{"location": "San Francisco, CA"}'
    reply = {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                                  "function": {"name": name, "arguments": arguments}}]}
    path = tmp_path / "weather.jsonl"
    path.write_text(json.dumps({"messages": WEATHER_MESSAGES + [reply], "tools": WEATHER_TOOLS}) + "\n")
    report = validate_file(path, purpose="validation", model="gpt-4.1-mini-2025-04-14")
    written = len(encoding.encode(name)) + len(encoding.encode(arguments))
    assert report.errors == []
    assert list(report.total_tokens) == [101 + 3 + len(encoding.encode("assistant")) + written]
    assert list(report.assistant_tokens) == [written]


def findings(report):
    return [(f.rule, f.line, f.severity) for f in report.findings]


@pytest.mark.parametrize("model", ["gpt-4.1-mini-2025-04-14", "gpt-4o-2024-08-06", "gpt-35-turbo-0125"])
def test_the_tool_calling_file_is_valid_for_every_base(model):
    report = validate_file(GOLDEN / "tool_calls.jsonl", model=model)
    assert report.ok and report.examples == 10 and not report.warnings


def test_the_function_calling_file_is_valid_with_one_deprecation_warning():
    report = validate_file(GOLDEN / "function_calling.jsonl", model="gpt-4.1-mini-2025-04-14")
    assert report.examples == 10
    assert [(f.rule, f.line, f.severity) for f in report.findings if f.rule != "missing-system"] == [
        ("functions-deprecated", 1, "warning")]


@pytest.mark.parametrize(("model", "vision"), [
    ("gpt-4o-2024-08-06", True), ("gpt-4.1-2025-04-14", True),  # [azure-vision]'s two bases
    ("gpt-4.1-mini-2025-04-14", False), ("gpt-4o-mini-2024-07-18", False), ("gpt-4.1-nano-2025-04-14", False),
])
def test_the_vision_file_is_valid_for_vision_bases_only(model, vision):
    report = validate_file(GOLDEN / "vision.jsonl", model=model)
    assert findings(report) == ([] if vision else [("vision-unsupported", 1, "error")])


@pytest.mark.parametrize(("model", "dpo"), [
    ("gpt-4.1-mini-2025-04-14", True), ("gpt-4.1-nano-2025-04-14", True), ("gpt-4o-2024-08-06", True),
    ("gpt-4o-mini-2024-07-18", False),
])
def test_the_preference_file_is_valid_for_dpo_bases_only(model, dpo):
    report = validate_file(GOLDEN / "preference.jsonl", model=model)
    assert report.examples == 10
    assert findings(report) == ([] if dpo else [("preference-unsupported", 1, "error")])


def test_the_base_rules_cover_every_base_preflight_or_validate_may_pick():
    from agent.preflight import DEFAULT_FINE_TUNE_PREFERENCES
    from infra.config import FINE_TUNE_FAMILIES
    from labctl_labs.fine_tuning_data import FINE_TUNE_BASES

    assert set(DEFAULT_FINE_TUNE_PREFERENCES) | set(FINE_TUNE_FAMILIES) <= set(FINE_TUNE_BASES)


def test_a_split_file_names_the_first_image_line_of_the_whole_file(tmp_path, monkeypatch):
    # Large files are validated in parts by several processes: line numbers must survive the merge.
    from labctl_labs import fine_tuning_data

    monkeypatch.setattr(fine_tuning_data, "PARALLEL_MIN_BYTES", 1024)
    monkeypatch.setattr(fine_tuning_data, "RANGE_BYTES", 2048)
    plain = json.dumps({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                                     {"role": "assistant", "content": "a"}]})
    pictured = (GOLDEN / "vision.jsonl").read_text().splitlines()[0]
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join([plain] * 300 + [pictured] * 3 + [plain] * 50) + "\n")
    report = fine_tuning_data.validate_file(path, model="gpt-4.1-mini-2025-04-14", workers=2)
    assert report.examples == 353
    assert findings(report) == [("vision-unsupported", 301, "error")]


def test_a_split_file_in_latin_1_without_system_messages_is_one_finding_of_each(tmp_path, monkeypatch):
    # The per-file findings are made once, after the parts are merged: a Latin-1 file split across workers is still
    # one encoding finding, and the examples without a system message one warning with the whole file's count.
    from labctl_labs import fine_tuning_data

    monkeypatch.setattr(fine_tuning_data, "PARALLEL_MIN_BYTES", 1024)
    monkeypatch.setattr(fine_tuning_data, "RANGE_BYTES", 2048)
    bare = json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})
    accented = json.dumps({"messages": [{"role": "user", "content": "café?"}, {"role": "assistant", "content": "oui"}]},
                          ensure_ascii=False)
    path = tmp_path / "big.jsonl"
    path.write_bytes(("\n".join([bare] * 200 + [accented] * 100) + "\n").encode("latin-1"))
    report = fine_tuning_data.validate_file(path, model="gpt-4.1-mini-2025-04-14", workers=2)
    assert findings(report) == [("encoding", 201, "error"), ("missing-system", 1, "warning")]
    assert "100 lines are not UTF-8" in report.findings[0].message
    assert "200 of 200 examples" in report.findings[1].message


def test_a_split_file_counts_every_finding_and_keeps_the_first_of_each_rule(tmp_path, monkeypatch):
    from labctl_labs import fine_tuning_data

    monkeypatch.setattr(fine_tuning_data, "PARALLEL_MIN_BYTES", 1024)
    monkeypatch.setattr(fine_tuning_data, "RANGE_BYTES", 2048)
    monkeypatch.setattr(fine_tuning_data, "MAX_FINDINGS_PER_RULE", 50)
    plain = json.dumps({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                                     {"role": "assistant", "content": "a"}]})
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join([plain] * 20 + ["not json"] * 400 + [plain] * 20) + "\n")
    report = fine_tuning_data.validate_file(path, model="gpt-4.1-mini-2025-04-14", workers=2)
    assert report.examples == 40 and report.error_count == 400
    assert [f.line for f in report.errors] == list(range(21, 71))
