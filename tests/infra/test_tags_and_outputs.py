"""Tags on everything taggable, the resource group choice, and the documented stack outputs."""

import pulumi_azure_native

from tests.infra.conftest import deploy

EXPECTED_TAGS = {
    "owner": "lab.owner@example.com",
    "lab": "mslearn-databricks-ai",
    "created-by": "labctl",
    "expires-at": "2026-11-21T16:00:00Z",
}

OUTPUT_KEYS = {
    "resourceGroupName", "location", "openaiAccountName", "openaiEndpoint", "aiResourceKind", "foundryProjectEndpoint", "openaiApiKey", "deployments",
    "fineTuneBaseModel", "workspaceUrl", "workspaceResourceId", "compute", "clusterId", "serverlessEnvironment", "secretScope", "secretKeys",
    "storage", "dataPath", "tags",
}


def _taggable(resource_type: str) -> bool:
    _, module, name = resource_type.split(":")
    cls = getattr(getattr(pulumi_azure_native, module), name)
    return hasattr(cls, "tags")


def test_every_taggable_azure_resource_carries_the_lab_tags(default_lab):
    azure = [r for r in default_lab.registrations if r.type.startswith("azure-native:")]
    assert len(azure) == 4
    for resource in azure:
        assert _taggable(resource.type)
        assert resource.inputs.get("tags") == EXPECTED_TAGS, resource.type


def test_cluster_custom_tags_include_the_lab_tags(default_lab):
    tags = default_lab.one("databricks:index/cluster:Cluster").inputs["customTags"]
    assert EXPECTED_TAGS.items() <= tags.items()


def test_expiry_follows_ttl_or_an_explicit_timestamp():
    assert deploy(ttl="2d").outputs["tags"]["expires-at"] == "2026-11-23T08:00:00Z"
    assert deploy(ttl="90m").outputs["tags"]["expires-at"] == "2026-11-21T09:30:00Z"
    fixed = deploy(expiresAt="2026-12-24T18:00:00+01:00")
    assert fixed.one("azure-native:resources:ResourceGroup").inputs["tags"]["expires-at"] == "2026-12-24T17:00:00Z"


def test_existing_resource_group_is_used_not_created():
    run = deploy(existingResourceGroup="shared-lab-rg")
    assert run.of_type("azure-native:resources:ResourceGroup") == []
    assert run.one("azure-native:cognitiveservices:Account").inputs["resourceGroupName"] == "shared-lab-rg"
    assert run.one("azure-native:databricks:Workspace").inputs["resourceGroupName"] == "shared-lab-rg"
    assert run.outputs["resourceGroupName"] == "shared-lab-rg"


def test_stack_name_shapes_every_derived_name():
    run = deploy(stack="Team_A.dev")
    assert run.one("azure-native:resources:ResourceGroup").inputs["resourceGroupName"] == "rg-labctl-team-a-dev"
    assert run.one("azure-native:cognitiveservices:Account").inputs["accountName"] == "labctl-team-a-dev-x7k2q9"
    assert run.one("azure-native:databricks:Workspace").inputs["workspaceName"] == "dbw-labctl-team-a-dev"


def test_outputs_are_the_documented_set(default_lab):
    assert set(default_lab.outputs) == OUTPUT_KEYS
    assert default_lab.outputs["secretKeys"] == {"endpoint": "openai-endpoint", "apiKey": "openai-key"}
    assert default_lab.outputs["deployments"] == [
        {"name": "chat", "model": "gpt-5-mini", "version": "2025-08-07", "sku": "GlobalStandard", "capacity": 100}
    ]
    assert default_lab.outputs["clusterId"] == "1121-075200-abcdef12"
    assert default_lab.outputs["workspaceUrl"].startswith("https://adb-")


def test_readme_documents_every_output():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [key for key in OUTPUT_KEYS if f"`{key}`" not in readme]
    assert missing == []
