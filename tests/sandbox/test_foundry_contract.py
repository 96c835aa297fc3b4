"""Microsoft Foundry in the twin, through azure-mgmt-cognitiveservices and openai: an account of kind AIServices
with `allowProjectManagement`, a project under it (accounts/projects, api-version 2025-04-01-preview and later;
the SDK speaks 2025-09-01), and the fine-tuning rules of a subscription new to fine-tuning.

Expected values: Azure's fine-tuning tables (shared/reference/azure-facts.md section 3, from
fine-tune-supported-models.md and the retirement schedule): gpt-4.1-mini training ends for new customers at base
retirement (2026-10-14); gpt-oss-20b trains with Global training on Foundry resources only."""

import openai
import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import (
    Account, AccountProperties, Deployment, DeploymentModel, DeploymentProperties, Identity, Project,
    ProjectProperties, Sku,
)

from sandbox.credentials import SandboxCredential
from tests.sandbox.test_fine_tuning_contract import DATA, processed

OSS_BASE = "gpt-oss-20b-2025-08-05"


def make_account(sandbox, name: str, kind: str, **properties) -> Account:
    arm = sandbox.cognitive()
    sandbox.resources().resource_groups.create_or_update("rg-lab", {"location": "eastus2"})
    return arm.accounts.begin_create("rg-lab", name, Account(
        kind=kind, sku=Sku(name="S0"), location="eastus2", identity=Identity(type="SystemAssigned"),
        properties=AccountProperties(custom_sub_domain_name=name, **properties))).result()


def openai_client(sandbox, account: Account):
    from openai import AzureOpenAI

    key = sandbox.cognitive().accounts.list_keys("rg-lab", account.name).key1
    endpoint = account.properties.endpoints["OpenAI Language Model Instance API"]
    return AzureOpenAI(azure_endpoint=endpoint, api_key=key, api_version="2024-10-21", max_retries=0)


def test_a_foundry_account_holds_a_project(sandbox):
    account = make_account(sandbox, "lab-foundry", "AIServices", allow_project_management=True)
    assert account.kind == "AIServices" and account.properties.allow_project_management is True
    assert account.identity.principal_id
    # the OpenAI surface is one of the Foundry resource's endpoints
    assert "OpenAI Language Model Instance API" in account.properties.endpoints
    arm = sandbox.cognitive()
    project = arm.projects.begin_create("rg-lab", "lab-foundry", "lab", Project(
        location="eastus2", identity=Identity(type="SystemAssigned"),
        properties=ProjectProperties(display_name="labctl lab"))).result()
    assert project.name == "lab-foundry/lab" and project.properties.display_name == "labctl lab"
    assert project.properties.endpoints["AI Foundry API"].endswith("api/projects/lab")
    assert [p.name for p in arm.projects.list("rg-lab", "lab-foundry")] == ["lab-foundry/lab"]
    arm.projects.begin_delete("rg-lab", "lab-foundry", "lab").result()
    assert list(arm.projects.list("rg-lab", "lab-foundry")) == []


def test_projects_need_an_account_that_allows_project_management(sandbox):
    make_account(sandbox, "lab-aoai", "OpenAI")
    with pytest.raises(HttpResponseError, match="allowProjectManagement"):
        sandbox.cognitive().projects.begin_create("rg-lab", "lab-aoai", "lab", Project(location="eastus2")).result()


def test_an_api_version_before_projects_does_not_know_them(sandbox):
    make_account(sandbox, "lab-foundry", "AIServices", allow_project_management=True)
    old = CognitiveServicesManagementClient(SandboxCredential(), sandbox.sub, api_version="2024-10-01",
                                            **sandbox.arm_kwargs())
    with pytest.raises(HttpResponseError, match="accounts/projects' could not be found"):
        old.projects.begin_create("rg-lab", "lab-foundry", "lab", Project(location="eastus2")).result()


def test_the_twin_is_a_new_customer_unless_told(sandbox):
    openai_account = make_account(sandbox, "lab-aoai", "OpenAI")
    client = openai_client(sandbox, openai_account)
    training = processed(client, DATA / "training_set.jsonl")
    with pytest.raises(openai.BadRequestError, match="ended on 2026-10-14"):
        client.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=training.id,
                                       extra_body={"trainingType": "GlobalStandard"})
    with pytest.raises(openai.BadRequestError, match="Microsoft Foundry"):  # an open-weight base needs Foundry
        client.fine_tuning.jobs.create(model=OSS_BASE, training_file=training.id,
                                       extra_body={"trainingType": "GlobalStandard"})
    sandbox.control("PATCH", "/settings", json={"customer": "existing"})
    job = client.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=training.id,
                                         extra_body={"trainingType": "GlobalStandard"})
    assert job.status == "pending"


def test_a_new_customer_trains_an_open_weight_base_on_foundry_and_deploys_it(sandbox):
    account = make_account(sandbox, "lab-foundry", "AIServices", allow_project_management=True)
    client = openai_client(sandbox, account)
    training = processed(client, DATA / "training_set.jsonl")
    with pytest.raises(openai.BadRequestError, match="Standard training of gpt-oss-20b"):  # Global only
        client.fine_tuning.jobs.create(model=OSS_BASE, training_file=training.id, extra_body={"trainingType": "Standard"})
    job = client.fine_tuning.jobs.create(model=OSS_BASE, training_file=training.id, seed=105,
                                         extra_body={"trainingType": "GlobalStandard"})
    sandbox.advance(15)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded" and done.fine_tuned_model.startswith(f"{OSS_BASE}.ft-")
    sandbox.cognitive().deployments.begin_create_or_update("rg-lab", "lab-foundry", "ft", Deployment(
        sku=Sku(name="GlobalStandard", capacity=1),
        properties=DeploymentProperties(model=DeploymentModel(format="OpenAI", name=done.fine_tuned_model,
                                                              version="1")))).result()
    answer = client.chat.completions.create(model="ft", max_tokens=40,
                                            messages=[{"role": "user", "content": "Hello?"}])
    assert answer.choices[0].message.content and answer.model == done.fine_tuned_model
