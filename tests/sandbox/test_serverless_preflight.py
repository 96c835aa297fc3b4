"""Preflight with `labctl:compute serverless`: the region must offer serverless compute for jobs (Azure
Databricks' feature region support page lists the regions; switzerlandwest is not among them, eastus2 is), and
the estimate has serverless DBUs instead of a cluster's VM and DBUs."""

import pytest

from agent.lifecycle.preflight_step import PreflightOptions, preflight
from agent.preflight import PreflightError
from agent.target import sandbox_target


@pytest.fixture
def target(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("LABCTL_HOME", str(tmp_path / ".labctl"))
    return sandbox_target(sandbox.endpoints)


def test_a_region_without_serverless_is_passed_over_saying_why(target):
    config = {"labctl:compute": "serverless"}
    result, chosen = preflight(target, "s", config, PreflightOptions(regions=["switzerlandwest", "eastus2"]), print)
    assert chosen["labctl:location"] == "eastus2"
    west = next(v for v in result.regions if v.region == "switzerlandwest")
    assert not west.ok and any("serverless" in reason for reason in west.reasons)


def test_a_configured_region_without_serverless_fails_and_a_cluster_there_is_fine(target):
    with pytest.raises(PreflightError, match="serverless compute for jobs is not offered in switzerlandwest"):
        preflight(target, "s", {"labctl:compute": "serverless", "labctl:location": "switzerlandwest"},
                  PreflightOptions(), print)
    result, _ = preflight(target, "s", {"labctl:location": "switzerlandwest"}, PreflightOptions(), print)
    assert result.chosen.region == "switzerlandwest"


def test_the_serverless_estimate_has_no_cluster_and_no_idle_time(target):
    result, _ = preflight(target, "s", {"labctl:compute": "serverless"}, PreflightOptions(hours=2), print)
    items = {i["item"]: i for i in result.cost["items"]}
    assert "cluster VM" not in items and "Databricks DBUs" not in items
    assert items["serverless DBUs"]["basis"].startswith("2.00 h") and items["serverless DBUs"]["cost"] > 0
    clustered, _ = preflight(target, "c", {}, PreflightOptions(hours=2), print)
    cluster_items = {i["item"]: i for i in clustered.cost["items"]}
    # the cluster bills its auto-termination tail too; serverless bills while the labs run
    assert cluster_items["Databricks DBUs"]["basis"].startswith("2.33 h")
