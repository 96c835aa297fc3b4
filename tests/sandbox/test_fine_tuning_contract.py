"""Files and fine-tuning jobs through the openai SDK, then the fine-tuned model deployed through ARM."""

import ast
import json
import re
import warnings
from pathlib import Path

import openai
import pytest
from azure.mgmt.cognitiveservices.models import Deployment, DeploymentModel, DeploymentProperties, Sku
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.fine_tuning_files import process_file
from tests.strategies import jsonl_lines
from tests.labs.test_fine_tuning_validator import CORPUS, as_bytes
from tests.sandbox.conftest import Lab

SANDBOX = Path(__file__).resolve().parents[2] / "sandbox"

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "mslearn"
BASE = "gpt-4.1-mini-2025-04-14"
GOOD = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                     {"role": "assistant", "content": "a"}]}


@pytest.fixture
def lab(sandbox):
    # These tests train gpt-4.1-mini, which only a subscription that fine-tuned it before may still train
    # (the twin is a new customer by default; tests/sandbox/test_foundry_contract.py covers that side).
    sandbox.control("PATCH", "/settings", json={"customer": "existing"})
    return Lab(sandbox)


def upload(client, path: Path):
    with path.open("rb") as stream:
        return client.files.create(file=stream, purpose="fine-tune")


def write_lines(folder: Path, name: str, lines: list[bytes]) -> Path:
    path = folder / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def good_lines(count=10):
    return [json.dumps(GOOD).encode()] * count


def test_files_upload_process_list_content_delete(lab):
    client = lab.azure_client()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        created = upload(client, DATA / "training_set.jsonl")
        assert created.status == "pending" and created.purpose == "fine-tune"
        processed = client.files.wait_for_processing(created.id, poll_interval=0.1, max_wait_seconds=30)
    assert processed.status == "processed"
    assert processed.bytes == (DATA / "training_set.jsonl").stat().st_size
    assert [f.id for f in client.files.list()] == [created.id]
    assert client.files.content(created.id).content == (DATA / "training_set.jsonl").read_bytes()
    assert client.files.delete(created.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)


BROKEN = {
    "json": (good_lines(3) + [b'{"messages": [', b""], 4),
    "encoding": (good_lines(2) + ['{"messages": "caf\u00e9"}'.encode("latin-1")], 3),
    "data-type": (good_lines(5) + [b"[1, 2, 3]"], 6),
    "missing-messages": ([b'{"prompt": "x", "completion": "y"}'], 1),
    "unrecognized-role": (good_lines(1) + [json.dumps({"messages": [{"role": "human", "content": "x"}]}).encode()], 2),
    "no-assistant-message": ([json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode()], 1),
    "missing-content": (good_lines(7) + [json.dumps({"messages": [{"role": "user", "content": ""},
                                                                 {"role": "assistant", "content": "a"}]}).encode()], 8),
    "message-unrecognized-key": ([json.dumps({"messages": [{"role": "user", "content": "q", "mood": "x"},
                                                           {"role": "assistant", "content": "a"}]}).encode()], 1),
    "weight": ([json.dumps({"messages": [{"role": "user", "content": "q"},
                                         {"role": "assistant", "content": "a", "weight": 2}]}).encode()], 1),
}


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_rule_breaking_files_end_in_error_naming_rule_and_line(lab, tmp_path, rule):
    lines, line = BROKEN[rule]
    client = lab.azure_client()
    created = upload(client, write_lines(tmp_path, f"{rule}.jsonl", lines))
    result = client.files.wait_for_processing(created.id, poll_interval=0.1, max_wait_seconds=30)
    assert result.status == "error"
    assert f"line {line}: [{rule}]" in result.status_details


def test_a_utf8_bom_is_accepted(lab, tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(good_lines()) + b"\n")
    client = lab.azure_client()
    assert client.files.wait_for_processing(upload(client, path).id, poll_interval=0.1).status == "processed"


def processed(client, path):
    return client.files.wait_for_processing(upload(client, path).id, poll_interval=0.1, max_wait_seconds=30)


def test_training_file_needs_ten_examples(lab, tmp_path):
    client = lab.azure_client()
    small = processed(client, write_lines(tmp_path, "nine.jsonl", good_lines(9)))
    with pytest.raises(openai.BadRequestError) as refused:
        client.fine_tuning.jobs.create(model=BASE, training_file=small.id, extra_body={"trainingType": "GlobalStandard"})
    assert "has 9 examples; at least 10 are required" in refused.value.message


def test_fine_tune_base_must_be_trainable_in_the_region(lab):
    client = lab.azure_client(max_retries=0)
    training = processed(client, DATA / "training_set.jsonl")
    with pytest.raises(openai.BadRequestError) as refused:
        client.fine_tuning.jobs.create(model=BASE, training_file=training.id, extra_body={"trainingType": "Standard"})
    assert "Standard training of gpt-4.1-mini-2025-04-14 is not available in region 'eastus2'" in refused.value.message
    with pytest.raises(openai.BadRequestError) as refused:
        client.fine_tuning.jobs.create(model="gpt-5-mini-2025-08-07", training_file=training.id)
    assert "does not support fine-tuning" in refused.value.message


def test_job_lifecycle_events_checkpoints_then_deploy_and_chat(lab):
    client = lab.azure_client()
    training = processed(client, DATA / "training_set.jsonl")
    validation = processed(client, DATA / "validation_set.jsonl")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        job = client.fine_tuning.jobs.create(model=BASE, training_file=training.id, validation_file=validation.id,
                                             seed=105, suffix="lab", extra_body={"trainingType": "GlobalStandard"})
        assert job.status == "pending" and job.seed == 105 and job.fine_tuned_model is None
        lab.sandbox.advance(2)
        assert client.fine_tuning.jobs.retrieve(job.id).status == "running"
        lab.sandbox.advance(10)
        done = client.fine_tuning.jobs.retrieve(job.id)
        events = list(client.fine_tuning.jobs.list_events(job.id, limit=30))  # pages through `after`
        checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert done.status == "succeeded"
    assert done.fine_tuned_model.startswith(f"{BASE}.ft-") and len(done.fine_tuned_model.split(".ft-")[1]) == 32
    assert done.hyperparameters.n_epochs == 10  # 10 examples: the cookbook's default is 100 // 10 epochs
    # Azure's fine-tuning tutorial counts this training set with o200k_base: mean 49.8 tokens over 10 examples
    # (https://learn.microsoft.com/azure/ai-services/openai/tutorials/fine-tune, "Validate token counts").
    assert done.trained_tokens == 10 * 498
    assert events[0].message.startswith("Fine-tuning job successfully completed") and events[-1].message.startswith("Job enqueued")
    assert len(events) == 3 + 100  # enqueued, started, one per step (10 examples x 10 epochs, batch 1), completed
    assert len(checkpoints) == 3 and checkpoints[0].fine_tuned_model_checkpoint.startswith(done.fine_tuned_model)
    assert [j.id for j in client.fine_tuning.jobs.list()] == [job.id]

    with pytest.raises(Exception) as refused:  # Standard hosting of fine-tuned models is not offered in eastus2 for 4.1-mini
        lab.arm.deployments.begin_create_or_update(
            "rg-lab", "lab-aoai", "clippy",
            Deployment(sku=Sku(name="Standard", capacity=1),
                       properties=DeploymentProperties(model=DeploymentModel(format="OpenAI", name=done.fine_tuned_model, version="1"))),
        ).result()
    assert "not available in 'eastus2'" in str(refused.value)
    lab.arm.deployments.begin_create_or_update(
        "rg-lab", "lab-aoai", "clippy",
        Deployment(sku=Sku(name="GlobalStandard", capacity=1),
                   properties=DeploymentProperties(model=DeploymentModel(format="OpenAI", name=done.fine_tuned_model, version="1"))),
    ).result()
    answer = client.chat.completions.create(
        model="clippy", max_tokens=60,  # a fine-tuned gpt-4.1-mini is a classic model: max_tokens is fine
        messages=[{"role": "system", "content": "You are a helpful assistant."},
                  {"role": "user", "content": "Does Azure OpenAI support customer managed keys?"},
                  {"role": "assistant", "content": "Yes, customer managed keys are supported by Azure OpenAI."},
                  {"role": "user", "content": "Do other Azure AI services support this too?"}],
    )
    assert answer.choices[0].message.content
    assert answer.model == done.fine_tuned_model


def test_cancel_a_running_job(lab):
    client = lab.azure_client()
    training = processed(client, DATA / "training_set.jsonl")
    job = client.fine_tuning.jobs.create(model=BASE, training_file=training.id, extra_body={"trainingType": "GlobalStandard"})
    lab.sandbox.advance(2)
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    lab.sandbox.advance(60)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
    assert client.fine_tuning.jobs.checkpoints.list(job.id).data == []


def test_a_failed_job_reports_the_services_error(lab):
    client = lab.azure_client()
    training = processed(client, DATA / "training_set.jsonl")
    lab.sandbox.control("POST", "/finetune/fail-next", json={"code": "invalidTrainingData", "message": "Bad data."})
    job = client.fine_tuning.jobs.create(model=BASE, training_file=training.id, extra_body={"trainingType": "GlobalStandard"})
    lab.sandbox.advance(30)
    failed = client.fine_tuning.jobs.retrieve(job.id)
    assert failed.status == "failed" and failed.error.code == "invalidTrainingData" and failed.fine_tuned_model is None


def test_v1_surface_serves_files_and_jobs_too(lab):
    client = lab.v1_client()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        training = processed(client, DATA / "training_set.jsonl")
        job = client.fine_tuning.jobs.create(model=BASE, training_file=training.id, seed=105,
                                             extra_body={"trainingType": "GlobalStandard"})
        lab.sandbox.advance(30)
        assert client.fine_tuning.jobs.retrieve(job.id).status == "succeeded"
    assert lab.azure_client().fine_tuning.jobs.retrieve(job.id).id == job.id  # one account, two surfaces


def test_the_twin_imports_nothing_of_the_product():
    """The twin checks files, counts tokens and picks epochs on its own, so the contract tests test the product."""
    found = []
    for path in SANDBOX.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("agent", "labctl_labs")]
    assert found == []


TWIN_CORPUS = {name: case for name, case in CORPUS.items() if case[1] != "min-examples"}  # checked at job creation


@pytest.mark.parametrize("name", sorted(TWIN_CORPUS))
def test_the_twins_file_processing_names_the_rule_and_line_of_each_broken_file(tmp_path, name):
    content, rule, line = TWIN_CORPUS[name]
    path = tmp_path / "broken.jsonl"
    path.write_bytes(as_bytes(content))
    error = process_file(path, "broken.jsonl").error
    where = f"line {line}" if line else "file"
    assert error and re.match(rf"broken\.jsonl {where}: \[{rule}\] ", error), error


@settings(max_examples=200, deadline=None)
@given(jsonl_lines(line_bytes=100, text=10, leaves=15, lines=12))
def test_no_upload_crashes_the_twins_file_processing(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.jsonl"
    path.write_bytes(b"\n".join(lines))
    processed = process_file(path, "fuzz.jsonl")
    assert processed.error or processed.examples == len(processed.tokens) > 0
