"""Stack configuration: validation messages a user can act on, and the schema kept in step with the code."""

from pathlib import Path

import pytest
import yaml

from infra.config import ConfigError, LabConfig, parse_config
from tests.infra.conftest import deploy

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"deployments": [{"name": "chat", "model": "gpt-5-mini", "capacity": 0}]},
         "labctl:deployments.0.capacity: Input should be greater than or equal to 1"),
        ({"deployments": [{"name": "chat", "model": "gpt-5-mini", "sku": "Premium"}]},
         "labctl:deployments.0.sku: Input should be 'Standard', 'GlobalStandard' or 'DataZoneStandard'"),
        ({"deployments": [{"name": "bad name!", "model": "gpt-5-mini"}]},
         "labctl:deployments.0.name: a deployment name is 1-64 letters"),
        ({"deployments": [{"name": "a", "model": "m"}, {"name": "a", "model": "n"}]},
         "deployment names must be unique; repeated: a"),
        ({"deployments": []}, "labctl:deployments: List should have at least 1 item"),
        ({"ttl": "8 hours"}, "labctl:ttl: the TTL is a positive whole number followed by m, h or d"),
        ({"ttl": "0h"}, "labctl:ttl: the TTL is a positive whole number"),
        ({"expiresAt": "2026-12-01T18:00:00"}, "labctl:expiresAt: expiresAt needs a time zone"),
        ({"openaiAccountName": "Bad_Name"}, "labctl:openaiAccountName: the account name becomes the custom subdomain"),
        ({"resourceGroupName": "ends-with-dot."}, "labctl:resourceGroupName: a resource group name is 1-90"),
        ({"autoterminationMinutes": 5}, "labctl:autoterminationMinutes: Databricks accepts 10 to 10000 minutes"),
        ({"workspaceSku": "standard"}, "labctl:workspaceSku: Input should be 'premium' or 'trial'"),
        ({"secretScope": "no spaces"}, "labctl:secretScope: a secret scope name is 1-128"),
        ({"storage": "s3"}, "labctl:storage: Input should be 'volume'"),
        ({"storage": "dbfs"}, "labctl:storage: dbfs is no longer supported (Databricks Runtime 15.1+ cannot install"),
        ({"namePrefix": "Labs"}, "labctl:namePrefix: the name prefix is 1-20 lower-case letters"),
        ({"resourceGroupName": "a", "existingResourceGroup": "b"}, "set either resourceGroupName"),
        ({"bogusKey": "1"}, "labctl:bogusKey is not a setting of the lab"),
        ({"locaton": "eastus2"}, "labctl:locaton is not a setting of the lab (did you mean labctl:location?)"),
        ({"location": "mars"}, "labctl:location: 'mars' is not an Azure region"),
        ({"owner": "o" * 257}, "labctl:owner is 257 characters; it becomes a tag, and Azure caps tag values at 256"),
        ({"fineTuneBaseModel": "gpt-9-2030-01-01"}, "labctl:fineTuneBaseModel: 'gpt-9-2030-01-01' is not a base model"),
        ({"fineTuneBaseModel": "o4-mini-2025-04-16"}, "o4-mini-2025-04-16 is trained by reinforcement fine-tuning only"),
    ],
)
def test_invalid_settings_are_refused_with_the_key_named(settings, message):
    with pytest.raises(ConfigError) as refused:
        parse_config({"owner": "me", **settings})
    assert message in str(refused.value)
    assert str(refused.value).startswith("Invalid stack configuration: ")


def test_owner_is_required_with_the_command_to_set_it():
    with pytest.raises(ConfigError, match=r"labctl:owner is required \(pulumi config set labctl:owner"):
        parse_config({})


def test_a_bad_value_stops_the_program_before_any_resource():
    with pytest.raises(Exception, match="labctl:ttl"):
        deploy(ttl="forever")


def test_project_schema_defaults_match_the_code():
    schema = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    fields = {info.alias: info for info in LabConfig.model_fields.values()}
    assert set(schema) <= set(fields), "Pulumi.yaml declares a key the program does not read"
    for key, declared in schema.items():
        default = fields[key].get_default(call_default_factory=True)
        if "default" in declared:
            assert declared["default"] == default, key
        else:
            assert default is None or key == "owner", f"{key} has a default in code but not in Pulumi.yaml"
        assert declared["description"]
    undeclared = set(fields) - set(schema)
    assert undeclared == {"deployments", "expiresAt"}  # structured: documented in README and the example


def test_example_stack_config_is_valid_and_sets_the_lab_choices():
    example = yaml.safe_load((ROOT / "Pulumi.example.yaml").read_text())["config"]
    raw = {key.removeprefix("labctl:"): value for key, value in example.items()}
    config = parse_config(raw)
    assert config.deployments[0].capacity == 100
    assert config.node_type == "Standard_D4ds_v5"
    assert config.autotermination_minutes == 20


def test_an_expiry_in_the_past_is_refused_not_born_expired():
    import datetime as dt

    config = parse_config({"owner": "me", "expiresAt": "2026-11-20T18:00:00Z"})
    with pytest.raises(ConfigError, match=r"labctl:expiresAt 2026-11-20T18:00:00\+00:00 is in the past"):
        config.tags(dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc))
    assert config.tags(dt.datetime(2026, 11, 19, tzinfo=dt.timezone.utc))["expires-at"] == "2026-11-20T18:00:00Z"
