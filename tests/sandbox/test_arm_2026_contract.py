"""ARM as it answers in 2026, through azure-mgmt-cognitiveservices: enum casing, filled defaults, restore of a
soft-deleted account, disableLocalAuth and listKeys, the model catalog's capabilities, numeric training types."""

from pathlib import Path

import openai
import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.cognitiveservices.models import (
    Account, AccountProperties, Deployment, DeploymentModel, DeploymentProperties, Sku,
)

from tests.sandbox.conftest import Lab

LOCATION = "eastus2"
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "mslearn"


def account(sku="S0", kind="OpenAI", **properties):
    return Account(kind=kind, sku=Sku(name=sku), location=LOCATION,
                   properties=AccountProperties(custom_sub_domain_name="lab-aoai", **properties))


def make_account(sandbox, body=None):
    sandbox.resources().resource_groups.create_or_update("rg-lab", {"location": LOCATION})
    client = sandbox.cognitive()
    return client, client.accounts.begin_create("rg-lab", "lab-aoai", body or account()).result()


def deployment(model="gpt-5-mini", version="2025-08-07", sku="GlobalStandard", **properties):
    return Deployment(sku=Sku(name=sku, capacity=10), properties=DeploymentProperties(
        model=DeploymentModel(format="OpenAI", name=model, version=version), **properties))


def test_skus_match_without_regard_to_case_and_come_back_canonical(sandbox):
    # ARM enums are case-insensitive on input (Learn, "Deploy a fine-tuned model" REST sample sends "standard";
    # the CLI sends "Standard"); GET answers the canonical casing.
    client, created = make_account(sandbox, account(sku="s0", kind="openai"))
    assert created.sku.name == "S0" and created.kind == "OpenAI"
    made = client.deployments.begin_create_or_update("rg-lab", "lab-aoai", "chat",
                                                     deployment(sku="globalstandard")).result()
    assert made.sku.name == "GlobalStandard"
    assert client.deployments.get("rg-lab", "lab-aoai", "chat").sku.name == "GlobalStandard"
    usage = next(u for u in client.usages.list(LOCATION) if u.name.value == "OpenAI.GlobalStandard.gpt-5-mini")
    assert usage.current_value == 10  # counted against the canonical usage name


def test_deployments_answer_azures_defaults_not_nulls(sandbox):
    # Azure fills versionUpgradeOption and raiPolicyName when a request leaves them out (Learn "Working with
    # Azure OpenAI models": OnceNewDefaultVersionAvailable is the default; "Content filtering": Microsoft.DefaultV2).
    client, _ = make_account(sandbox)
    client.deployments.begin_create_or_update("rg-lab", "lab-aoai", "chat", deployment()).result()
    raw = requests.get(f"{sandbox.endpoints.arm_url}/subscriptions/{sandbox.sub}/resourceGroups/rg-lab/providers/"
                       f"Microsoft.CognitiveServices/accounts/lab-aoai/deployments/chat?api-version=2024-10-01",
                       headers={"authorization": "Bearer " + sandbox_token()}, verify=sandbox.endpoints.ca_file)
    properties = raw.json()["properties"]
    assert properties["versionUpgradeOption"] == "OnceNewDefaultVersionAvailable"
    assert properties["raiPolicyName"] == "Microsoft.DefaultV2"
    client.deployments.begin_create_or_update(
        "rg-lab", "lab-aoai", "chat", deployment(version_upgrade_option="noautoupgrade")).result()
    assert client.deployments.get("rg-lab", "lab-aoai", "chat").properties.version_upgrade_option == "NoAutoUpgrade"


def sandbox_token() -> str:
    from sandbox.credentials import SandboxCredential

    return SandboxCredential().get_token("https://management.azure.com/.default").token


def test_models_list_omits_finetune_capabilities_where_azure_does_and_carries_capabilities(sandbox):
    # `az cognitiveservices model list` shows finetuneCapabilities only for models that can be fine-tuned.
    raw = requests.get(f"{sandbox.endpoints.arm_url}/subscriptions/{sandbox.sub}/providers/"
                       f"Microsoft.CognitiveServices/locations/{LOCATION}/models?api-version=2024-10-01",
                       headers={"authorization": "Bearer " + sandbox_token()}, verify=sandbox.endpoints.ca_file)
    models = {(m["model"]["name"], m["model"]["version"]): m["model"] for m in raw.json()["value"]}
    assert "finetuneCapabilities" not in models[("gpt-5-mini", "2025-08-07")]
    assert models[("gpt-4.1-mini", "2025-04-14")]["finetuneCapabilities"]["trainingTypes"]
    assert models[("gpt-5-mini", "2025-08-07")]["capabilities"]["reasoning"] == "true"
    assert models[("gpt-chat-latest", "2026-08-06")]["capabilities"]["reasoning"] == "false"
    assert models[("gpt-chat-latest", "2026-08-06")]["lifecycleStatus"] == "Preview"
    assert "max_tokens" in models[("gpt-chat-latest", "2026-08-06")]["capabilities"]["chatParameters"].split(",")
    assert "max_tokens" not in models[("gpt-5-mini", "2025-08-07")]["capabilities"]["chatParameters"].split(",")


def test_restore_true_recovers_a_soft_deleted_account(sandbox):
    # Azure's 409 FlagMustBeSetForRestore says "To restore the resource, you must specify 'restore' property as
    # 'true'"; doing so recovers the account with its keys (Learn "Recover or purge deleted Azure AI services
    # resources").
    client, _ = make_account(sandbox)
    keys = client.accounts.list_keys("rg-lab", "lab-aoai")
    client.accounts.begin_delete("rg-lab", "lab-aoai").result()
    with pytest.raises(HttpResponseError) as blocked:
        client.accounts.begin_create("rg-lab", "lab-aoai", account()).result()
    assert blocked.value.error.code == "FlagMustBeSetForRestore"
    restored = client.accounts.begin_create("rg-lab", "lab-aoai", account(restore=True)).result()
    assert restored.properties.provisioning_state == "Succeeded"
    assert list(client.deleted_accounts.list()) == []
    assert client.accounts.list_keys("rg-lab", "lab-aoai").key1 == keys.key1


def test_list_keys_is_refused_when_local_auth_is_disabled(sandbox):
    # "Failed to list key. disableLocalAuth is set to be true" (400), as `az cognitiveservices account keys list`
    # reports for such an account (Learn "Disable local authentication in Azure AI services").
    client, _ = make_account(sandbox, account(disable_local_auth=True))
    with pytest.raises(HttpResponseError) as refused:
        client.accounts.list_keys("rg-lab", "lab-aoai")
    assert refused.value.status_code == 400
    assert "disableLocalAuth is set to be true" in str(refused.value)


def test_a_numeric_training_type_is_a_400_naming_the_field(sandbox):
    # The authoring spec types trainingType as a string enum; a number is refused, naming the field (not a 500).
    lab = Lab(sandbox)
    client = lab.azure_client(max_retries=0)
    with (DATA / "training_set.jsonl").open("rb") as stream:
        training = client.files.create(file=stream, purpose="fine-tune")
    training = client.files.wait_for_processing(training.id, poll_interval=0.1, max_wait_seconds=30)
    with pytest.raises(openai.BadRequestError) as refused:
        client.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=training.id,
                                       extra_body={"trainingType": 1})
    assert refused.value.status_code == 400 and "trainingType" in refused.value.message


def test_a_fine_tuned_model_deploys_with_the_docs_lowercase_standard(sandbox):
    # Learn "Deploy a fine-tuned model" (REST): {"sku": {"name": "standard", "capacity": 1}}; Standard hosting of
    # fine-tuned gpt-4.1-mini is offered in North Central US (fine-tune-standard-deployment-regions).
    sandbox.control("PATCH", "/settings", json={"customer": "existing"})  # trains gpt-4.1-mini: a subscription that fine-tuned it before
    lab = Lab(sandbox, location="northcentralus")
    client = lab.azure_client()
    with (DATA / "training_set.jsonl").open("rb") as stream:
        training = client.files.create(file=stream, purpose="fine-tune")
    client.files.wait_for_processing(training.id, poll_interval=0.1, max_wait_seconds=30)
    job = client.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=training.id,
                                         extra_body={"trainingType": "Standard"})
    sandbox.advance(20)
    tuned = client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model
    made = lab.arm.deployments.begin_create_or_update(
        "rg-lab", "lab-aoai", "clippy", Deployment(sku=Sku(name="standard", capacity=1), properties=DeploymentProperties(
            model=DeploymentModel(format="OpenAI", name=tuned, version="1")))).result()
    assert made.sku.name == "Standard"
    assert made.properties.version_upgrade_option == "NoAutoUpgrade"
