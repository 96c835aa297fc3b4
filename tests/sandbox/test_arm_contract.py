"""ARM through azure-mgmt-resource and azure-mgmt-cognitiveservices: pollers, 409s, soft delete, retirements."""

import threading

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.cognitiveservices.models import (
    Account, AccountProperties, Deployment, DeploymentModel, DeploymentProperties, Sku,
)

LOCATION = "eastus2"


def make_account(sandbox, rg="rg-lab", name="lab-aoai"):
    sandbox.resources().resource_groups.create_or_update(rg, {"location": LOCATION, "tags": {"owner": "t"}})
    client = sandbox.cognitive()
    account = client.accounts.begin_create(
        rg, name, Account(kind="OpenAI", sku=Sku(name="S0"), location=LOCATION, tags={"owner": "t"},
                          properties=AccountProperties(custom_sub_domain_name=name)),
    ).result()
    return client, account


def chat_deployment(model="gpt-5-mini", version="2025-08-07", sku="GlobalStandard", capacity=10):
    return Deployment(sku=Sku(name=sku, capacity=capacity),
                      properties=DeploymentProperties(model=DeploymentModel(format="OpenAI", name=model, version=version)))


def test_account_create_poller_completes_and_keys_are_listed(sandbox):
    client, account = make_account(sandbox)
    assert account.properties.provisioning_state == "Succeeded"
    assert account.properties.endpoint == f"{sandbox.endpoints.data_url}/aoai/lab-aoai/"
    assert account.kind == "OpenAI" and account.sku.name == "S0"
    keys = client.accounts.list_keys("rg-lab", "lab-aoai")
    assert keys.key1 and keys.key2 and keys.key1 != keys.key2
    assert [a.name for a in client.accounts.list_by_resource_group("rg-lab")] == ["lab-aoai"]


def test_deployment_poller_completes_and_consumes_quota(sandbox):
    client, _ = make_account(sandbox)
    deployment = client.deployments.begin_create_or_update("rg-lab", "lab-aoai", "chat", chat_deployment()).result()
    assert deployment.properties.provisioning_state == "Succeeded"
    assert deployment.sku.capacity == 10
    usage = {u.name.value: u for u in client.usages.list(LOCATION)}["OpenAI.GlobalStandard.gpt-5-mini"]
    assert usage.current_value == 10 and usage.limit == 1000


def test_concurrent_deployments_on_one_account_get_409_request_conflict(sandbox):
    client, _ = make_account(sandbox)
    outcomes = {}

    def create(name):
        try:
            client.deployments.begin_create_or_update("rg-lab", "lab-aoai", name, chat_deployment(capacity=1)).result()
            outcomes[name] = "ok"
        except HttpResponseError as error:
            outcomes[name] = error

    threads = [threading.Thread(target=create, args=(n,)) for n in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [o for o in outcomes.values() if o != "ok"]
    assert len(errors) == 1
    assert errors[0].status_code == 409 and errors[0].error.code == "RequestConflict"
    assert "Another operation is being performed on the parent resource" in errors[0].message


def test_one_after_another_deployments_succeed(sandbox):
    client, _ = make_account(sandbox)
    for name in ("one", "two"):
        client.deployments.begin_create_or_update("rg-lab", "lab-aoai", name, chat_deployment(capacity=1)).result()
    assert sorted(d.name for d in client.deployments.list("rg-lab", "lab-aoai")) == ["one", "two"]


@pytest.mark.parametrize(("model", "version"), [("gpt-35-turbo", "0125"), ("gpt-4o", "2024-11-20"), ("gpt-4.1-mini", "2025-04-14")])
def test_retired_model_versions_are_refused(sandbox, model, version):
    client, _ = make_account(sandbox)
    with pytest.raises(HttpResponseError) as refused:
        client.deployments.begin_create_or_update(
            "rg-lab", "lab-aoai", "old", chat_deployment(model, version, sku="Standard" if "35" in model else "GlobalStandard")
        ).result()
    assert refused.value.error.code == "ServiceModelDeprecated"
    assert f"Name:{model},Version:{version}" in refused.value.message


def test_deployment_beyond_quota_is_refused(sandbox):
    client, _ = make_account(sandbox)
    sandbox.control("PUT", f"/quota/{LOCATION}", json={"OpenAI.GlobalStandard.gpt-5-mini": 15})
    client.deployments.begin_create_or_update("rg-lab", "lab-aoai", "a", chat_deployment(capacity=10)).result()
    with pytest.raises(HttpResponseError) as refused:
        client.deployments.begin_create_or_update("rg-lab", "lab-aoai", "b", chat_deployment(capacity=10)).result()
    assert refused.value.error.code == "InsufficientQuota"
    assert "available capacity 5" in refused.value.message


def test_deleted_account_name_is_blocked_until_purged(sandbox):
    client, _ = make_account(sandbox)
    client.accounts.begin_delete("rg-lab", "lab-aoai").result()
    with pytest.raises(ResourceNotFoundError):
        client.accounts.get("rg-lab", "lab-aoai")
    deleted = client.deleted_accounts.get(LOCATION, "rg-lab", "lab-aoai")
    assert deleted.properties.deletion_date and deleted.properties.scheduled_purge_date
    assert [a.name for a in client.deleted_accounts.list()] == ["lab-aoai"]
    with pytest.raises(ResourceExistsError) as blocked:
        make_account(sandbox)
    assert blocked.value.error.code == "FlagMustBeSetForRestore"
    client.deleted_accounts.begin_purge(LOCATION, "rg-lab", "lab-aoai").result()
    assert list(client.deleted_accounts.list()) == []
    _, again = make_account(sandbox)
    assert again.properties.provisioning_state == "Succeeded"


def test_deleting_the_resource_group_soft_deletes_its_account(sandbox):
    client, _ = make_account(sandbox)
    resources = sandbox.resources()
    assert [r.name for r in resources.resources.list_by_resource_group("rg-lab")] == ["lab-aoai"]
    resources.resource_groups.begin_delete("rg-lab").result()
    assert not resources.resource_groups.check_existence("rg-lab")
    inventory = sandbox.inventory()
    assert inventory["resource_groups"] == [] and inventory["accounts"] == []
    assert [a["name"] for a in inventory["deleted_accounts"]] == ["lab-aoai"]


def test_model_catalog_lists_retirement_and_fine_tune_facts(sandbox):
    models = list(sandbox.cognitive().models.list(LOCATION))
    by_key = {(m.model.name, m.model.version): m.model for m in models}
    old = by_key[("gpt-35-turbo", "0125")]
    assert old.lifecycle_status == "Deprecated"
    current = by_key[("gpt-5-mini", "2025-08-07")]
    assert current.lifecycle_status == "GenerallyAvailable" and current.capabilities["chatCompletion"] == "true"
    assert {s.name for s in current.skus} == {"GlobalStandard", "DataZoneStandard"}
    tunable = by_key[("gpt-4.1-mini", "2025-04-14")]
    # The twin is a subscription new to fine-tuning: training ends at base retirement (azure-facts.md section 3)
    assert tunable.capabilities["fineTune"] == "true" and tunable.deprecation.fine_tune.startswith("2026-10-14")
    sandbox.control("PATCH", "/settings", json={"customer": "existing"})
    tunable = next(m.model for m in sandbox.cognitive().models.list(LOCATION)
                   if (m.model.name, m.model.version) == ("gpt-4.1-mini", "2025-04-14"))
    assert tunable.deprecation.fine_tune.startswith("2027-04-14")  # "For existing customers only"
    # open-weight bases are offered by Foundry (AIServices) resources only
    oss = next(m for m in models if m.model.name == "gpt-oss-20b")
    assert oss.kind == "AIServices" and oss.model.finetune_capabilities["trainingTypes"] == "GlobalStandard"


def test_wrong_audience_and_missing_token_are_refused(sandbox):
    from azure.core.exceptions import ClientAuthenticationError
    from azure.mgmt.resource.resources import ResourceManagementClient

    from sandbox.credentials import SandboxCredential

    wrong = ResourceManagementClient(SandboxCredential(), sandbox.sub, base_url=sandbox.endpoints.arm_url,
                                     connection_verify=sandbox.endpoints.ca_file,
                                     credential_scopes=["https://cognitiveservices.azure.com/.default"])
    with pytest.raises(ClientAuthenticationError) as refused:
        list(wrong.resource_groups.list())
    assert refused.value.error.code == "InvalidAuthenticationTokenAudience"
