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
