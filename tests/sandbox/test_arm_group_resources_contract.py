"""ARM "Resources - List By Resource Group" (GET /subscriptions/{sub}/resourceGroups/{rg}/resources,
https://learn.microsoft.com/en-us/rest/api/resources/resources/list-by-resource-group): every resource in the
group, each with its id, name, type, location and its own tags (GenericResourceExpanded). Cleanup judges each
resource inside a labctl group by these tags, so the twin must serve them for accounts and workspaces alike."""

from azure.mgmt.cognitiveservices.models import Account, AccountProperties, Sku
from azure.mgmt.resource.resources.models import GenericResource
from azure.mgmt.resource.resources.models import Sku as ResourceSku


def test_list_by_resource_group_gives_each_resource_its_own_tags(sandbox):
    resources = sandbox.resources()
    resources.resource_groups.create_or_update("rg-mixed", {"location": "eastus2", "tags": {"created-by": "labctl"}})
    sandbox.cognitive().accounts.begin_create("rg-mixed", "mixed-aoai", Account(
        kind="OpenAI", sku=Sku(name="S0"), location="eastus2", tags={"keep": "true"},
        properties=AccountProperties(custom_sub_domain_name="mixed-aoai"))).result()
    workspace_id = (f"/subscriptions/{sandbox.sub}/resourceGroups/rg-mixed/providers/Microsoft.Databricks/"
                    "workspaces/mixed-ws")
    resources.resources.begin_create_or_update_by_id(
        workspace_id, GenericResource(location="eastus2", tags={"owner": "bob"}, sku=ResourceSku(name="premium"),
                                      properties={"computeMode": "Serverless"}), api_version="2026-01-01").result()
    listed = {r.name: r for r in resources.resources.list_by_resource_group("rg-mixed")}
    assert set(listed) == {"mixed-aoai", "mixed-ws"}
    assert listed["mixed-aoai"].type == "Microsoft.CognitiveServices/accounts"
    assert listed["mixed-aoai"].tags == {"keep": "true"}
    assert listed["mixed-ws"].type == "Microsoft.Databricks/workspaces" and listed["mixed-ws"].tags == {"owner": "bob"}
    assert listed["mixed-ws"].id == workspace_id and listed["mixed-ws"].location == "eastus2"
    assert listed["mixed-aoai"].id.endswith("/resourceGroups/rg-mixed/providers/Microsoft.CognitiveServices/accounts/mixed-aoai")
