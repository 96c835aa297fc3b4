"""ARM operations on an existing Azure OpenAI account through azure-mgmt-cognitiveservices, as an instructor's own
script calls them: PATCH of tags and of a deployment's capacity, key regeneration, the account's usages and
models, and a fine-tuning job's result file. Expected answers come from the SDK's docstrings and Learn pages,
cited per test. Also: the twin's clock can start on a given day (SandboxConfig.start)."""

import csv
import datetime as dt
import io
import json
from pathlib import Path

import openai
import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.cognitiveservices.models import (
    Account, Deployment, DeploymentModel, DeploymentProperties, PatchResourceTagsAndSku, Sku,
)

from tests.sandbox.conftest import Lab, Sandbox, catalog_day, start_sandbox

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "mslearn"



@pytest.fixture
def lab(sandbox):
    # Some of these tests train gpt-4.1-mini, which only a subscription that fine-tuned it before may still train
    # (the twin is a new customer by default).
    sandbox.control("PATCH", "/settings", json={"customer": "existing"})
    return Lab(sandbox)


def test_account_tags_are_patched(lab):
    # accounts.begin_update (PATCH): tags in the body replace the account's tags; what the body omits stays.
    updated = lab.arm.accounts.begin_update("rg-lab", "lab-aoai", Account(tags={"course": "llmops"})).result()
    assert updated.tags == {"course": "llmops"}
    again = lab.arm.accounts.get("rg-lab", "lab-aoai")
    assert again.tags == {"course": "llmops"} and again.properties.endpoint == lab.endpoint


def test_deployment_capacity_is_patched_within_the_quota(lab):
    # deployments.begin_update with PatchResourceTagsAndSku; the new capacity counts against the region's quota
    # like a create, and Azure answers InsufficientQuota beyond it (Learn "Manage Azure OpenAI quota").
    updated = lab.arm.deployments.begin_update(
        "rg-lab", "lab-aoai", "chat", PatchResourceTagsAndSku(sku=Sku(name="GlobalStandard", capacity=20))).result()
    assert updated.sku.capacity == 20
    assert lab.arm.deployments.get("rg-lab", "lab-aoai", "chat").sku.capacity == 20
    tokens = next(r for r in updated.properties.rate_limits if r.key == "token")
    assert tokens.count == 20_000  # 1 unit = 1,000 TPM
    usage = next(u for u in lab.sandbox.cognitive().usages.list(lab.location)
                 if u.name.value == lab.arm.accounts.list_usages("rg-lab", "lab-aoai").value[0].name.value)
    with pytest.raises(HttpResponseError) as refused:
        lab.arm.deployments.begin_update(
            "rg-lab", "lab-aoai", "chat",
            PatchResourceTagsAndSku(sku=Sku(name="GlobalStandard", capacity=int(usage.limit) + 1))).result()
    assert refused.value.error.code == "InsufficientQuota"
    assert lab.arm.deployments.get("rg-lab", "lab-aoai", "chat").sku.capacity == 20


def test_a_new_capacity_applies_to_the_data_plane(lab):
    lab.arm.deployments.begin_create_or_update(
        "rg-lab", "lab-aoai", "chat", Deployment(
            sku=Sku(name="GlobalStandard", capacity=30),
            properties=DeploymentProperties(model=DeploymentModel(format="OpenAI", name="gpt-5-mini",
                                                                  version="2025-08-07")))).result()
    raw = lab.v1_client().chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "Hi"}])
    assert raw.headers["x-ratelimit-limit-tokens"] == "30000"


def test_regenerating_a_key_revokes_only_that_key(lab):
    # accounts.regenerate_key(key_name="Key1") sends RegenerateKeyParameters {"keyName": "Key1"}, answers ApiKeys; the other key keeps
    # working, which is what rotation relies on (Learn "Rotate keys in Azure AI services").
    before = lab.arm.accounts.list_keys("rg-lab", "lab-aoai")
    after = lab.arm.accounts.regenerate_key("rg-lab", "lab-aoai", "Key1")
    assert after.key1 != before.key1 and after.key2 == before.key2
    assert lab.arm.accounts.list_keys("rg-lab", "lab-aoai").key1 == after.key1
    hello = [{"role": "user", "content": "Hi"}]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{lab.endpoint}openai/v1/", api_key=before.key1, max_retries=0).chat.completions.create(
            model="chat", messages=hello)
    assert openai.OpenAI(base_url=f"{lab.endpoint}openai/v1/", api_key=before.key2).chat.completions.create(
        model="chat", messages=hello).choices


def test_account_usages_count_the_accounts_deployments(lab):
    # accounts.list_usages answers Usage items (name, current_value, limit, unit, status, quota_period).
    usages = lab.arm.accounts.list_usages("rg-lab", "lab-aoai").value
    mine = next(u for u in usages if "gpt-5-mini" in u.name.value)
    assert mine.current_value == 10 and mine.limit >= 10 and mine.unit == "Count"


def test_account_models_list_the_catalog_and_the_accounts_fine_tuned_models(lab):
    # accounts.list_models answers AccountModel items: the DeploymentModel fields, capabilities and lifecycle;
    # a fine-tuned model names its base in base_model (azure-mgmt-cognitiveservices AccountModel docstring).
    models = lab.arm.accounts.list_models("rg-lab", "lab-aoai")
    listed = {(m.name, m.version): m for m in models}
    assert listed[("gpt-5-mini", "2025-08-07")].capabilities["reasoning"] == "true"
    job = succeeded_job(lab)
    tuned = [m for m in lab.arm.accounts.list_models("rg-lab", "lab-aoai") if m.name == job.fine_tuned_model]
    assert tuned and tuned[0].base_model.name == "gpt-4.1-mini" and tuned[0].base_model.version == "2025-04-14"


def succeeded_job(lab):
    client = lab.azure_client()
    files = []
    for name in ("training_set.jsonl", "validation_set.jsonl"):
        with (DATA / name).open("rb") as stream:
            files.append(client.files.create(file=stream, purpose="fine-tune"))
    for file in files:
        client.files.wait_for_processing(file.id, poll_interval=0.1, max_wait_seconds=30)
    job = client.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=files[0].id,
                                         validation_file=files[1].id, seed=105,
                                         extra_body={"trainingType": "GlobalStandard"})
    lab.sandbox.advance(3600)
    return client.fine_tuning.jobs.retrieve(job.id)


def test_a_succeeded_job_has_a_results_csv(lab):
    # Learn "Customize a model with fine-tuning", Analyze your customized model: the result file is a CSV with a
    # header row and a row per training step: step, train_loss, train_mean_token_accuracy, valid_loss,
    # validation_mean_token_accuracy, full_valid_loss, full_valid_mean_token_accuracy.
    job = succeeded_job(lab)
    assert job.status == "succeeded" and len(job.result_files) == 1
    client = lab.azure_client()
    meta = client.files.retrieve(job.result_files[0])
    assert meta.filename == "results.csv" and meta.purpose == "fine-tune-results"
    rows = list(csv.DictReader(io.StringIO(client.files.content(job.result_files[0]).text)))
    assert list(rows[0]) == ["step", "train_loss", "train_mean_token_accuracy", "valid_loss",
                             "validation_mean_token_accuracy", "full_valid_loss", "full_valid_mean_token_accuracy"]
    assert [int(r["step"]) for r in rows] == list(range(1, len(rows) + 1))
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    assert rows[-1]["full_valid_loss"]  # full validation at the end of each epoch, the last row included
    # The checkpoint of the last step reports the same train_loss as the results row of that step.
    checkpoint = client.fine_tuning.jobs.checkpoints.list(job.id).data[0]
    row = rows[int(checkpoint.step_number) - 1]
    assert float(row["train_loss"]) == pytest.approx(checkpoint.metrics.train_loss)
    assert json.loads(job.model_dump_json())["result_files"] == job.result_files


# --- the twin's clock ----------------------------------------------------------------------------------------------

def test_the_twins_clock_starts_where_the_config_says(tmp_path_factory):
    # gpt-chat-latest 2026-08-06 retires 2026-12-02 (catalog.yaml, Azure's schedule): a twin started on the catalog's
    # day deploys it, one started in 2027 refuses it (ServiceModelDeprecated), whatever today's date is.
    for start, deployable in ((catalog_day(), True), (dt.datetime(2027, 1, 15, tzinfo=dt.timezone.utc), False)):
        server = start_sandbox(tmp_path_factory, start=start)
        try:
            sandbox = Sandbox(server)
            assert abs(sandbox.control("GET", "/clock")["time"] - start.timestamp()) < 600
            if deployable:
                Lab(sandbox, deployments=(("plain", "gpt-chat-latest", "2026-08-06", 10),))
            else:
                with pytest.raises(HttpResponseError) as refused:
                    Lab(sandbox, deployments=(("plain", "gpt-chat-latest", "2026-08-06", 10),))
                assert refused.value.error.code == "ServiceModelDeprecated"
        finally:
            server.stop()
