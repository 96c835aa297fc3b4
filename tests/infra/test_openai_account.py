"""The Azure OpenAI account and deployments, as the labs set them up in the portal."""

from tests.infra.conftest import deploy
from tests.infra.fake_azure import API_KEY

ACCOUNT = "azure-native:cognitiveservices:Account"
DEPLOYMENT = "azure-native:cognitiveservices:Deployment"

THREE = [
    {"name": "chat", "model": "gpt-5-mini", "version": "2025-08-07", "sku": "GlobalStandard", "capacity": 10},
    {"name": "judge", "model": "gpt-5.1", "version": "2025-11-13", "sku": "Standard", "capacity": 5,
     "versionUpgradeOption": "OnceCurrentVersionExpired", "raiPolicy": "Microsoft.DefaultV2"},
    {"name": "small", "model": "gpt-5-nano", "sku": "DataZoneStandard", "capacity": 1},
]


def test_account_is_openai_kind_s0_with_custom_subdomain(default_lab):
    account = default_lab.one(ACCOUNT).inputs
    assert account["kind"] == "OpenAI"
    assert account["sku"] == {"name": "S0"}
    assert account["properties"]["customSubDomainName"] == account["accountName"]
    assert account["accountName"] == "labctl-dev-x7k2q9"
    assert account["location"] == "eastus2"
    assert account["resourceGroupName"] == "rg-labctl-dev"


def test_network_access_and_local_auth_follow_config(default_lab):
    assert default_lab.one(ACCOUNT).inputs["properties"]["publicNetworkAccess"] == "Enabled"
    assert default_lab.one(ACCOUNT).inputs["properties"]["disableLocalAuth"] is False
    locked = deploy(openaiPublicNetworkAccess=False, openaiDisableLocalAuth=True).one(ACCOUNT).inputs["properties"]
    assert locked["publicNetworkAccess"] == "Disabled"
    assert locked["disableLocalAuth"] is True


def test_fixed_account_name_skips_the_random_suffix():
    run = deploy(openaiAccountName="my-lab-aoai")
    assert run.one(ACCOUNT).inputs["accountName"] == "my-lab-aoai"
    assert run.of_type("random:index/randomString:RandomString") == []


def test_default_deployment_is_a_current_chat_model_with_tpm_capacity(default_lab):
    deployment = default_lab.one(DEPLOYMENT).inputs
    assert deployment["deploymentName"] == "chat"
    assert deployment["properties"]["model"] == {"format": "OpenAI", "name": "gpt-5-mini", "version": "2025-08-07"}
    assert deployment["sku"] == {"name": "GlobalStandard", "capacity": 100}
    assert deployment["properties"]["versionUpgradeOption"] == "NoAutoUpgrade"
    # Retired models (azure-facts section 3) are never a default.
    assert deployment["properties"]["model"]["name"] not in {"gpt-35-turbo", "gpt-4o", "gpt-4o-mini"}


def test_every_deployment_setting_is_passed_through():
    run = deploy(deployments=THREE)
    by_name = {d.inputs["deploymentName"]: d.inputs for d in run.of_type(DEPLOYMENT)}
    judge = by_name["judge"]
    assert judge["sku"] == {"name": "Standard", "capacity": 5}
    assert judge["properties"]["model"] == {"format": "OpenAI", "name": "gpt-5.1", "version": "2025-11-13"}
    assert judge["properties"]["versionUpgradeOption"] == "OnceCurrentVersionExpired"
    assert judge["properties"]["raiPolicyName"] == "Microsoft.DefaultV2"
    small = by_name["small"]
    assert "version" not in small["properties"]["model"]  # Azure then picks the model's default version
    assert small["sku"] == {"name": "DataZoneStandard", "capacity": 1}


def test_deployments_are_chained_one_after_another():
    run = deploy(deployments=THREE)
    deployments = run.of_type(DEPLOYMENT)
    assert [d.inputs["deploymentName"] for d in deployments] == ["chat", "judge", "small"]
    order = [run.registrations.index(d) for d in deployments]
    assert order == sorted(order)
    for previous, current in zip(deployments, deployments[1:]):
        assert previous.urn in current.dependencies, f"{current.name} does not wait for {previous.name}"
    assert not any(d.urn in deployments[0].dependencies for d in deployments[1:])


def test_api_key_comes_from_the_account_keys_and_stays_secret(default_lab):
    assert default_lab.outputs["openaiApiKey"] == API_KEY
    assert "openaiApiKey" in default_lab.secret_outputs
    assert default_lab.secret_outputs == {"openaiApiKey"}
    listed = [i for i in default_lab.invocations if i.token == "azure-native:cognitiveservices:listAccountKeys"]
    assert listed and listed[0].args["accountName"] == "labctl-dev-x7k2q9"
    assert default_lab.outputs["openaiEndpoint"] == "https://labctl-dev-x7k2q9.openai.azure.com/"


def test_with_local_auth_disabled_there_is_no_key_to_list_or_store():
    # Azure refuses listKeys on such an account (400 "Failed to list key. disableLocalAuth is set to be true"):
    # the program neither reads a key nor stores one in the secret scope; the labs use Entra ID.
    run = deploy(openaiDisableLocalAuth=True)
    assert run.outputs["openaiApiKey"] is None
    secrets = [r.inputs["key"] for r in run.of_type("databricks:index/secret:Secret")]
    assert secrets == ["openai-endpoint"]
