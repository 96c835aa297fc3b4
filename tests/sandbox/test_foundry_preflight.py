"""Preflight for a subscription new to fine-tuning (the twin's default): the lab's gpt bases ended training for it
at base retirement, so preflight picks the open-weight base that trains "Global only, new Foundry resources only"
(azure-facts.md section 3) and gives the lab a Foundry resource, unless the config pins a classic account."""

import pytest

from agent.lifecycle.preflight_step import PreflightOptions, preflight
from agent.preflight import PreflightError
from agent.target import sandbox_target


@pytest.fixture
def target(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("LABCTL_HOME", str(tmp_path / ".labctl"))
    return sandbox_target(sandbox.endpoints)


def test_a_new_customer_gets_an_open_weight_base_on_a_foundry_resource(target):
    result, config = preflight(target, "s", {}, PreflightOptions(regions=["eastus2"]), print)
    assert config["labctl:fineTuneBaseModel"] == "gpt-oss-20b-2025-08-05"
    assert config["labctl:aiResourceKind"] == "AIServices"
    assert result.chosen.fine_tune["training_type"] == "GlobalStandard"  # Global only
    # the price table has no figure for the open-weight base: the estimate says so instead of pricing it at nothing
    training = next(i for i in result.cost["items"] if i["item"] == "fine-tune training")
    assert "no price for gpt-oss-20b" in training["basis"]


def test_a_pinned_classic_account_is_kept_and_preflight_says_why_nothing_trains(target):
    with pytest.raises(PreflightError) as refused:
        preflight(target, "s", {"labctl:aiResourceKind": "OpenAI"}, PreflightOptions(regions=["eastus2"]), print)
    assert "training ends 2026-10-14" in str(refused.value)
    assert "labctl:aiResourceKind is OpenAI" in str(refused.value)


def test_an_existing_customer_keeps_the_labs_base_and_a_classic_account(sandbox, target):
    sandbox.control("PATCH", "/settings", json={"customer": "existing"})
    _, config = preflight(target, "s", {}, PreflightOptions(regions=["eastus2"]), print)
    assert config["labctl:fineTuneBaseModel"] == "gpt-4.1-mini-2025-04-14"
    assert "labctl:aiResourceKind" not in config  # the default, OpenAI
