"""The twin's file processing takes every format Azure documents, and counts tools as the cookbook does.

Sources: the golden files' SOURCE.md (Azure's tool-calling, vision and DPO guides); the OpenAI cookbook "How to count
tokens with tiktoken", section 7: its weather tool with its two messages is 101 prompt tokens for gpt-4o (o200k_base)
and 105 for gpt-3.5-turbo / gpt-4 (cl100k_base), as the API reported.
"""

import json
from pathlib import Path

import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.fine_tuning_files import process_file
from tests.labs.test_fine_tuning_golden import WEATHER_MESSAGES, WEATHER_TOOLS
from tests.labs.test_fine_tuning_validator import FORMAT_VALUES
from tests.sandbox.conftest import Lab

GOLDEN = Path(__file__).resolve().parents[1] / "labs" / "data"


@pytest.mark.parametrize(("name", "images", "preference"), [
    ("tool_calls.jsonl", 0, 0), ("function_calling.jsonl", 0, 0), ("vision.jsonl", 10, 0), ("preference.jsonl", 0, 10),
])
def test_the_twin_processes_each_documented_format(name, images, preference):
    processed = process_file(GOLDEN / name, name)
    assert processed.error is None and processed.examples == 10
    assert (processed.image_examples, processed.preference_examples) == (images, preference)


@pytest.mark.parametrize(("encoding", "expected"), [("o200k_base", 101), ("cl100k_base", 105)])
def test_the_twin_counts_tool_definitions_as_the_cookbook(tmp_path, encoding, expected):
    # The example has no assistant message, so the twin would refuse it: count the prompt the way a file's line is.
    from sandbox.fine_tuning_files import example_tokens
    from sandbox.tokens import encoding as load

    assert example_tokens(load(encoding), {"messages": WEATHER_MESSAGES, "tools": WEATHER_TOOLS}) == expected


def test_a_dpo_file_on_lines_after_supervised_ones_is_refused_at_the_first_dpo_line(tmp_path):
    # Azure's DPO guide: DPO files "have a different format than supervised fine-tuning"; a job trains one method.
    supervised = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    dpo = json.loads((GOLDEN / "preference.jsonl").read_text().splitlines()[0])
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in [supervised] * 5 + [dpo]) + "\n")
    assert process_file(path, "mixed.jsonl").error.startswith("mixed.jsonl line 6: [mixed-methods]")


@settings(max_examples=200, deadline=None)
@given(st.lists(FORMAT_VALUES.map(lambda v: json.dumps(v).encode()), max_size=12))
def test_no_value_of_the_whole_format_crashes_the_twin(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.jsonl"
    path.write_bytes(b"\n".join(lines))
    processed = process_file(path, "fuzz.jsonl")
    assert processed.error or processed.examples == len(processed.tokens) > 0


def test_a_job_on_images_needs_a_vision_base(sandbox):
    # Azure's "Vision fine-tuning": "Vision fine-tuning is supported for the following models only": gpt-4o
    # 2024-08-06 and gpt-4.1 2025-04-14. The file itself is fine; the job on a text-only base is refused.
    sandbox.control("PATCH", "/settings", json={"customer": "existing"})  # trains gpt-4.1-mini: a subscription that fine-tuned it before
    client = Lab(sandbox).azure_client(max_retries=0)
    with (GOLDEN / "vision.jsonl").open("rb") as stream:
        uploaded = client.files.create(file=stream, purpose="fine-tune")
    assert client.files.wait_for_processing(uploaded.id, poll_interval=0.1, max_wait_seconds=30).status == "processed"
    with pytest.raises(openai.BadRequestError) as refused:
        client.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=uploaded.id,
                                       extra_body={"trainingType": "GlobalStandard"})
    assert "does not support vision fine-tuning" in refused.value.message
    job = client.fine_tuning.jobs.create(model="gpt-4.1-2025-04-14", training_file=uploaded.id,
                                         extra_body={"trainingType": "GlobalStandard"})
    assert job.model == "gpt-4.1-2025-04-14"
