"""Conformance of the ARM twin's resource groups and of every surface's unknown-endpoint answer, through
azure-mgmt-resource and the openai SDK."""

import openai
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.resource.resources.models import ResourceGroupPatchable

from tests.sandbox.conftest import Lab


def test_resource_group_patch_replaces_tags_and_keeps_what_is_unspecified(sandbox):
    # Resource Groups - Update (learn.microsoft.com/rest/api/resources/resource-groups/update): "If a field is
    # unspecified, the current value will be retained"; the tags given are the group's new tag set.
    groups = sandbox.resources().resource_groups
    groups.create_or_update("rg-tags", {"location": "eastus2", "tags": {"owner": "a", "lab": "bias"}})
    updated = groups.update("rg-tags", ResourceGroupPatchable(tags={"owner": "b", "expires-at": "2026-12-01"}))
    assert updated.tags == {"owner": "b", "expires-at": "2026-12-01"} and updated.location == "eastus2"
    assert groups.get("rg-tags").tags == {"owner": "b", "expires-at": "2026-12-01"}
    groups.update("rg-tags", ResourceGroupPatchable())
    assert groups.get("rg-tags").tags == {"owner": "b", "expires-at": "2026-12-01"}
    groups.update("rg-tags", ResourceGroupPatchable(tags={}))
    assert groups.get("rg-tags").tags == {}


def test_resource_group_patch_refusals(sandbox):
    groups = sandbox.resources().resource_groups
    with pytest.raises(ResourceNotFoundError) as absent:
        groups.update("rg-absent", ResourceGroupPatchable(tags={"a": "b"}))
    assert absent.value.error.code == "ResourceGroupNotFound"
    groups.create_or_update("rg-many", {"location": "eastus2"})
    # "Each resource, resource group, and subscription can have a maximum of 50 tag name-value pairs"
    # (Azure Resource Manager, "Use tags to organize your Azure resources", limitations).
    with pytest.raises(HttpResponseError) as too_many:
        groups.update("rg-many", ResourceGroupPatchable(tags={f"t{i}": "v" for i in range(51)}))
    assert too_many.value.status_code == 400
    assert groups.get("rg-many").tags in (None, {})


def test_an_unknown_arm_resource_type_is_invalid_resource_type(sandbox):
    # ARM's error contract (azure-resource-manager-rpc, common-api-details.md "Error Response Content"):
    # {"error": {"code", "message"}}; a type the provider does not have is InvalidResourceType.
    sandbox.resources().resource_groups.create_or_update("rg-x", {"location": "eastus2"})
    resource_id = f"/subscriptions/{sandbox.sub}/resourceGroups/rg-x/providers/Microsoft.CognitiveServices/widgets/w1"
    with pytest.raises(ResourceNotFoundError) as unknown:
        sandbox.resources().resources.get_by_id(resource_id, api_version="2024-10-01")
    assert unknown.value.error.code == "InvalidResourceType"
    assert "widgets" in unknown.value.error.message


def test_an_unknown_azure_openai_path_is_the_services_404(sandbox):
    # Azure OpenAI answers a path it does not serve with 404 {"error": {"code": "404", "message": "Resource not
    # found"}}; the openai SDK reads `code` and `message` from it.
    lab = Lab(sandbox)
    client = lab.azure_client(max_retries=0)
    with pytest.raises(openai.NotFoundError) as unknown:
        client.get("/no-such-operation", cast_to=object)
    assert unknown.value.code == "404" and unknown.value.message.endswith("Resource not found")
