"""Preflight against the sandbox's catalog and quota."""

import json

import pytest

from agent.errors import UsageError
from agent.lifecycle.preflight_step import PreflightOptions, preflight
from agent.preflight import PreflightError
from agent.target import sandbox_target


@pytest.fixture
def target(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("LABCTL_HOME", str(tmp_path / ".labctl"))
    # An existing fine-tuning customer, who may still train gpt-4.1-mini (the twin's default is a new one;
    # tests/sandbox/test_foundry_preflight.py covers that side).
    sandbox.control("PATCH", "/settings", json={"customer": "existing"})
    return sandbox_target(sandbox.endpoints)


def test_retired_versions_are_never_chosen_and_a_configured_model_is_never_replaced(target):
    config = {"labctl:deployments": json.dumps([{"name": "chat", "model": "gpt-4o", "capacity": 10}])}
    with pytest.raises(PreflightError, match=r"no candidate region can host .* for gpt-4o .*gpt-4o 2024-11-20 retires"):
        preflight(target, "s", config, PreflightOptions(regions=["eastus2"]), print)
    # --chat-model is the explicit opt-in to other families
    options = PreflightOptions(regions=["eastus2"], chat_models=["gpt-4o", "gpt-5-mini"])
    result, chosen = preflight(target, "s", config, options, print)
    deployment = json.loads(chosen["labctl:deployments"])[0]
    assert deployment["model"] == "gpt-5-mini"
    assert result.chosen.fine_tune["base_model"] == "gpt-4.1-mini-2025-04-14"


def test_a_pinned_version_and_a_configured_location_are_kept_or_refused(target):
    pinned = {"labctl:deployments": json.dumps([{"name": "chat", "model": "gpt-5-mini", "version": "2025-08-07"}]),
              "labctl:location": "swedencentral", "labctl:fineTuneBaseModel": "gpt-4o-mini-2024-07-18"}
    result, chosen = preflight(target, "s", pinned, PreflightOptions(), print)
    assert [v.region for v in result.regions] == ["swedencentral"] and chosen["labctl:location"] == "swedencentral"
    assert json.loads(chosen["labctl:deployments"])[0]["version"] == "2025-08-07"
    assert chosen["labctl:fineTuneBaseModel"] == "gpt-4o-mini-2024-07-18"
    retired = {**pinned, "labctl:deployments": json.dumps([{"name": "chat", "model": "gpt-4o", "version": "2024-08-06"}])}
    with pytest.raises(PreflightError, match=r"^the configured location \(labctl:location\) swedencentral cannot host .*"
                                             r"gpt-4o 2024-08-06 retires 2026-10-01"):
        preflight(target, "s", retired, PreflightOptions(), print)
    unknown = {**pinned, "labctl:deployments": json.dumps([{"name": "chat", "model": "gpt-5-mini", "version": "2024-01-01"}])}
    with pytest.raises(UsageError, match=r"^labctl:deployments: gpt-5-mini version 2024-01-01 is not offered in swedencentral"):
        preflight(target, "s", unknown, PreflightOptions(), print)


def test_a_region_without_quota_is_skipped_with_the_reason(sandbox, target):
    families = ("gpt-5-mini", "gpt-5.4-mini", "gpt-5-nano", "gpt-5.1")
    sandbox.control("PUT", "/quota/eastus2", json={f"OpenAI.GlobalStandard.{f}": 0 for f in families})
    result, config = preflight(target, "s", {}, PreflightOptions(), print)
    assert result.chosen.region == "northcentralus" and config["labctl:location"] == "northcentralus"
    eastus2 = next(v for v in result.regions if v.region == "eastus2")
    assert not eastus2.ok and "0K TPM of GlobalStandard quota free, 100K needed" in eastus2.reasons[0]


def test_a_region_without_the_training_type_is_skipped(target):
    options = PreflightOptions(fine_tune_bases=["gpt-4o-mini"], training_types=("Standard",))
    result, config = preflight(target, "s", {}, options, print)
    eastus2 = next(v for v in result.regions if v.region == "eastus2")
    assert "gpt-4o-mini 2024-07-18 has no Standard training here" in eastus2.reasons[0]
    assert result.chosen.region == "northcentralus"
    assert config["labctl:fineTuneBaseModel"] == "gpt-4o-mini-2024-07-18"


def test_forcing_a_region_that_cannot_satisfy_fails_clearly(target):
    options = PreflightOptions(force_region="eastus2", fine_tune_bases=["gpt-4o-mini"], training_types=("Standard",))
    with pytest.raises(PreflightError) as refused:
        preflight(target, "s", {}, options, print)
    assert str(refused.value).startswith("the forced region eastus2 cannot host 100K TPM of GlobalStandard for gpt-5-mini")
    assert "no Standard training here" in str(refused.value) and refused.value.exit_code == 3


def test_new_subscriptions_cannot_fine_tune_retired_bases(sandbox, target):
    sandbox.control("PATCH", "/settings", json={"customer": "new"})
    classic = {"labctl:aiResourceKind": "OpenAI"}  # a Foundry resource is the way out: test_foundry_preflight.py
    with pytest.raises(PreflightError, match="gpt-4.1-mini 2025-04-14 training ends 2026-10-14"):
        preflight(target, "s", classic, PreflightOptions(regions=["eastus2"]), print)
    result, _ = preflight(target, "s", {}, PreflightOptions(regions=["eastus2"], fine_tune=False), print)
    assert result.chosen.fine_tune is None


def test_choices_land_in_the_stack_config_and_the_cost_has_dated_line_items(target, tmp_path):
    result, _ = preflight(target, "s", {"labctl:owner": "me"}, PreflightOptions(), print)
    saved = json.loads((tmp_path / ".labctl" / "stacks" / "s" / "config.json").read_text())
    assert saved["labctl:location"] == "eastus2" and saved["labctl:owner"] == "me"
    assert json.loads(saved["labctl:deployments"])[0]["version"] == "2025-08-07"
    cost = result.cost
    assert cost["label"].startswith("ESTIMATE") and cost["prices_as_of"] == "2026-11-21"
    items = {i["item"] for i in cost["items"]}
    assert items == {"cluster VM", "Databricks DBUs", "chat tokens", "fine-tune training", "fine-tuned deployment hosting"}
    assert cost["total"] == round(sum(i["cost"] for i in cost["items"]), 2)


def test_a_region_short_of_ddsv5_vcpus_is_skipped_with_the_reason_and_forcing_it_fails(sandbox, target):
    # The cluster's Standard_D4ds_v5 needs 4 vCPUs free in the regional quota (`cores`) and in its family's
    # (`standardDDSv5Family`): "vCPU quotas", Azure Virtual Machines docs; the seeds warn that a CPU core limit
    # prevents cluster creation.
    sandbox.control("PUT", "/compute/eastus2", json={"limits": {"standardDDSv5Family": 10},
                                                     "used": {"standardDDSv5Family": 8}})
    result, config = preflight(target, "s", {}, PreflightOptions(), print)
    assert result.chosen.region == "northcentralus" and config["labctl:location"] == "northcentralus"
    eastus2 = next(v for v in result.regions if v.region == "eastus2")
    assert not eastus2.ok
    assert eastus2.reasons == ["cluster: 2 vCPUs of Standard DDSv5 Family vCPUs quota free, 4 needed for "
                               "Standard_D4ds_v5"]
    assert result.chosen.cluster == {"node_type": "Standard_D4ds_v5", "vcpus": 4, "family": "standardDDSv5Family",
                                     "cores_free": 100, "standardDDSv5Family_free": 100}
    with pytest.raises(PreflightError) as refused:
        preflight(target, "s", {}, PreflightOptions(force_region="eastus2"), print)
    message = str(refused.value.message)
    assert message.startswith("the forced region eastus2 cannot host") and message.count(". ") == 0
    assert "2 vCPUs of Standard DDSv5 Family vCPUs quota free, 4 needed" in message


def test_a_vm_size_not_offered_to_the_subscription_and_the_regional_vcpu_quota_are_reasons(sandbox, target):
    # "SKU not available": restrictions with reasonCode NotAvailableForSubscription (Azure Resource Manager
    # troubleshooting, error-sku-not-available).
    sandbox.control("PUT", "/compute/eastus2", json={"restricted": ["Standard_D4ds_v5"]})
    sandbox.control("PUT", "/compute/northcentralus", json={"limits": {"cores": 3}})
    result, _ = preflight(target, "s", {}, PreflightOptions(regions=["eastus2", "northcentralus", "swedencentral"]),
                          print)
    reasons = {v.region: v.reasons for v in result.regions}
    assert reasons["eastus2"] == ["cluster: Standard_D4ds_v5 is not available to this subscription in eastus2 "
                                  "(NotAvailableForSubscription)"]
    assert reasons["northcentralus"] == ["cluster: 3 vCPUs of Total Regional vCPUs quota free, 4 needed for "
                                         "Standard_D4ds_v5"]
    assert result.chosen.region == "swedencentral"


def test_the_cost_estimate_counts_the_calls_run_all_makes():
    # The README's defaults: the probe's 885 requests and 295 for mitigation, one LLMOps run of 40 calls, one chat
    # with the fine-tuned model (a trial found the estimate counting the lab's 10 seed prompts: 51 calls).
    from agent.preflight import planned_usage

    calls, prompt, completion = planned_usage()
    assert calls == 885 + 295 + 40 + 1
    assert prompt > 40 * calls and completion >= 100 * calls
