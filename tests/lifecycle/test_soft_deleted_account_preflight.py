"""`labctl up` with a configured account name that a soft-deleted account holds: preflight refuses before anything
is created, naming the account and the purge and recover commands (Learn "Recover or purge deleted Azure AI
services resources": the name stays blocked for 48 hours, creating it again gets 409 FlagMustBeSetForRestore)."""

from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import Account, AccountProperties, Sku
from azure.mgmt.resource.resources import ResourceManagementClient

from sandbox.credentials import SandboxCredential

HELD = "held-aoai-old"


def arm_clients(labctl):
    endpoints = labctl.endpoints
    kwargs = {"base_url": endpoints["arm_url"], "connection_verify": endpoints["ca_file"],
              "credential_scopes": ["https://management.azure.com/.default"]}
    sub = endpoints["subscription_id"]
    return (CognitiveServicesManagementClient(SandboxCredential(), sub, **kwargs),
            ResourceManagementClient(SandboxCredential(), sub, **kwargs))


def test_up_refuses_a_name_held_by_a_soft_deleted_account_before_creating_anything(labctl):
    cognitive, resources = arm_clients(labctl)
    resources.resource_groups.create_or_update("rg-old-held", {"location": "eastus2"})
    cognitive.accounts.begin_create("rg-old-held", HELD, Account(
        kind="OpenAI", sku=Sku(name="S0"), location="eastus2",
        properties=AccountProperties(custom_sub_domain_name=HELD))).result()
    cognitive.accounts.begin_delete("rg-old-held", HELD).result()
    try:
        stack = "softdel"
        refused = labctl("up", "--sandbox", "--stack", stack, "-c", f"openaiAccountName={HELD}", expect=3)
        message = refused.stderr
        assert HELD in message and "rg-old-held" in message
        assert f"az cognitiveservices account purge --name {HELD} --resource-group rg-old-held" in message
        assert "az cognitiveservices account recover" in message
        assert "Traceback" not in message
        inventory = labctl.inventory_of(stack)
        assert inventory["resource_groups"] == [] and inventory["workspaces"] == []
    finally:
        cognitive.deleted_accounts.begin_purge("eastus2", "rg-old-held", HELD).result()
        resources.resource_groups.begin_delete("rg-old-held").result()
