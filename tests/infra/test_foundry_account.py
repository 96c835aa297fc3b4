"""`labctl:aiResourceKind AIServices` in the Pulumi program: the model account as a Microsoft Foundry resource
(kind AIServices, allowProjectManagement, custom subdomain, system-assigned identity) with a project under it,
checked against the Microsoft.CognitiveServices contract at api-version 2025-06-01 (pulumi-azure-native 3.x:
`cognitiveservices.Account` and `cognitiveservices.Project`; accounts/projects since 2025-04-01-preview)."""

import pytest

from tests.infra.conftest import deploy


@pytest.fixture(scope="module")
def foundry_lab():
    return deploy(aiResourceKind="AIServices", fineTuneBaseModel="gpt-oss-20b-2025-08-05")


def test_the_account_is_a_foundry_resource_that_allows_projects(foundry_lab):
    account = foundry_lab.one("azure-native:cognitiveservices:Account")
    assert account.inputs["kind"] == "AIServices" and account.inputs["sku"] == {"name": "S0"}
    assert account.inputs["properties"]["allowProjectManagement"] is True
    assert account.inputs["properties"]["customSubDomainName"] == account.inputs["accountName"]
    assert account.inputs["identity"] == {"type": "SystemAssigned"}


def test_a_project_is_created_in_the_account_and_region(foundry_lab):
    project = foundry_lab.one("azure-native:cognitiveservices:Project")
    account = foundry_lab.one("azure-native:cognitiveservices:Account")
    assert project.inputs["accountName"] == account.inputs["accountName"]
    assert project.inputs["location"] == account.inputs["location"] == "eastus2"
    assert project.inputs["projectName"] == "lab" and project.inputs["identity"] == {"type": "SystemAssigned"}
    assert account.urn in project.dependencies  # the project waits for its account


def test_outputs_use_the_openai_endpoint_of_the_foundry_resource(foundry_lab, default_lab):
    outputs = foundry_lab.outputs
    assert outputs["aiResourceKind"] == "AIServices"
    # not properties.endpoint (the cognitiveservices.azure.com one): the labs speak the Azure OpenAI API
    assert outputs["openaiEndpoint"].endswith(".openai.azure.com/")
    assert outputs["foundryProjectEndpoint"].endswith(".services.ai.azure.com/api/projects/lab")
    assert default_lab.outputs["aiResourceKind"] == "OpenAI" and default_lab.outputs["foundryProjectEndpoint"] is None
    assert default_lab.of_type("azure-native:cognitiveservices:Project") == []
    classic = default_lab.one("azure-native:cognitiveservices:Account").inputs
    assert classic["kind"] == "OpenAI" and "allowProjectManagement" not in classic["properties"]


def test_an_open_weight_base_needs_a_foundry_resource():
    with pytest.raises(Exception, match="labctl:aiResourceKind AIServices"):
        deploy(fineTuneBaseModel="gpt-oss-20b-2025-08-05")
