"""Packing learners into regions by their quota, and the shortfall per region when the class does not fit."""

from agent.classroom.capacity import region_capacity
from agent.classroom.plan import pack
from agent.classroom.roster import numbered
from agent.preflight import DeploymentRequest, RegionVerdict

CHAT = [DeploymentRequest("chat", ["gpt-5-mini"], capacity=10)]


def verdict(region: str, free: int, ok: bool = True, reasons=(), cluster=None) -> RegionVerdict:
    deployments = {"chat": {"model": "gpt-5-mini", "version": "2025-08-07", "sku": "GlobalStandard", "capacity": 10,
                            "free_quota": free}} if ok else {}
    found = RegionVerdict(region, ok, deployments, reasons=list(reasons))
    found.cluster = cluster  # what preflight's VM check adds (agent.preflight.assess_cluster_capacity)
    return found


def test_the_preferred_region_is_filled_to_its_quota_then_the_next():
    capacities = [region_capacity(verdict("eastus2", 35), CHAT), region_capacity(verdict("northcentralus", 1000), CHAT)]
    plan = pack(capacities, numbered("c", 5), concurrency=4, minutes_per_learner=2, minutes_source="assumed")
    assert plan.fits and [len(r.learners) for r in plan.regions] == [3, 2]
    assert plan.regions[0].quota_used() == ["30/35 K TPM GlobalStandard gpt-5-mini"]
    assert plan.region_of(numbered("c", 5)[3]) == "northcentralus"
    assert plan.minutes_to_ready == 4  # 5 learners, 4 at a time: two rounds of 2 minutes


def test_two_deployments_of_one_model_draw_on_the_same_quota():
    requests = [DeploymentRequest("chat", ["gpt-5-mini"], capacity=10), DeploymentRequest("eval", ["gpt-5-mini"], capacity=5)]
    found = verdict("eastus2", 45)
    found.deployments["eval"] = {**found.deployments["chat"], "capacity": 5}
    assert region_capacity(found, requests).seats == 3  # 15K per learner


def test_vcpus_limit_a_region_when_preflight_reports_them():
    cluster = {"node_type": "Standard_D4ds_v5", "vcpus": 4, "family": "standardDDSv5Family", "cores_free": 10,
               "standardDDSv5Family_free": 100}
    capacity = region_capacity(verdict("eastus2", 1000, cluster=cluster), CHAT)
    assert capacity.seats == 2  # 10 regional vCPUs, 4 per learner's single-node cluster


def test_a_class_that_does_not_fit_names_what_each_region_lacks():
    capacities = [region_capacity(verdict("eastus2", 20), CHAT), region_capacity(verdict("northcentralus", 25), CHAT),
                  region_capacity(verdict("swedencentral", 0, ok=False,
                                          reasons=["chat: gpt-5-mini 2025-08-07: 0K TPM of GlobalStandard quota free, "
                                                   "10K needed"]), CHAT)]
    plan = pack(capacities, numbered("c", 5), concurrency=4, minutes_per_learner=1, minutes_source="assumed")
    assert not plan.fits and plan.placed == 4 and plan.missing == 1
    # eastus2 hosts 2; for one more it needs 30K in all, 10K more than its 20K free
    assert plan.regions[0].shortfall(plan.missing) == \
        "10 K TPM more of GlobalStandard gpt-5-mini (20 free, 10 per learner)"
    assert plan.regions[1].shortfall(plan.missing) == \
        "5 K TPM more of GlobalStandard gpt-5-mini (25 free, 10 per learner)"
    assert "0K TPM of GlobalStandard quota free" in plan.regions[2].shortfall(plan.missing)
    assert plan.as_dict()["regions"][2]["shortfall"].startswith("chat: gpt-5-mini")
