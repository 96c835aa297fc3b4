"""How many learners a region can host: preflight's own verdict for the region (`agent.preflight.assess_region`:
model, version, SKU, free Azure OpenAI quota; and, where preflight has it, `assess_cluster_capacity`: the cluster's VM
size and its free vCPUs), divided by what one learner's environment takes.

Azure OpenAI quota is per subscription, per region, per model and deployment type, in units of 1,000 tokens per
minute ("Manage Azure OpenAI quota", learn.microsoft.com/azure/ai-foundry/openai/how-to/quota); VM cores are per
region and per VM family ("vCPU quotas", learn.microsoft.com/azure/virtual-machines/quotas). Every learner has their
own deployment(s) and their own single-node cluster, so each takes the full request from each limit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from agent import preflight
from agent.preflight import DeploymentRequest, RegionVerdict

UNLIMITED = 10**6


@dataclass
class Limit:
    quota: str  # e.g. "GlobalStandard gpt-5-mini" or "vCPUs cores"
    unit: str  # "K TPM" or "vCPUs"
    free: int
    per_learner: int

    @property
    def seats(self) -> int:
        return self.free // self.per_learner if self.per_learner > 0 else UNLIMITED

    def as_dict(self) -> dict:
        return {**self.__dict__, "seats": self.seats}


@dataclass
class RegionCapacity:
    region: str
    verdict: RegionVerdict
    limits: list[Limit] = field(default_factory=list)

    @property
    def seats(self) -> int:
        """Learners the region can host: none if preflight found it unfit, else the tightest limit's share."""
        if not self.verdict.ok:
            return 0
        return min((limit.seats for limit in self.limits), default=UNLIMITED)

    def as_dict(self) -> dict:
        return {"region": self.region, "seats": self.seats, "limits": [lim.as_dict() for lim in self.limits],
                "reasons": list(self.verdict.reasons)}


def region_capacity(verdict: RegionVerdict, requests: list[DeploymentRequest]) -> RegionCapacity:
    """The limits one learner draws on in the region, from a verdict of `assess_region` (and of
    `assess_cluster_capacity` when preflight has it: `verdict.cluster`)."""
    capacity = RegionCapacity(verdict.region, verdict)
    per_usage: dict[tuple[str, str], Limit] = {}
    for request in requests:
        chosen = verdict.deployments.get(request.name)
        if chosen is None:
            continue
        key = (chosen["sku"], chosen["model"])
        if key in per_usage:  # two deployments of the same model and SKU draw on the same quota
            per_usage[key].per_learner += chosen["capacity"]
        else:
            per_usage[key] = Limit(f"{chosen['sku']} {chosen['model']}", "K TPM", int(chosen["free_quota"]),
                                   int(chosen["capacity"]))
    capacity.limits = list(per_usage.values())
    cluster = getattr(verdict, "cluster", None)  # preflight's VM check, where it has one
    if cluster:
        for name, free in cluster.items():
            if name.endswith("_free"):
                capacity.limits.append(Limit(f"{name.removesuffix('_free')} ({cluster['node_type']})", "vCPUs",
                                             int(free), int(cluster["vcpus"])))
    return capacity


def assess_regions(target, regions: list[str], requests: list[DeploymentRequest], fine_tune: list[str] | None,
                   lab_end: dt.date, node_type: str, progress: Callable[[str], None]) -> list[RegionCapacity]:
    """Preflight's verdict for every candidate region (in the order given), as learner capacity."""
    cognitive = target.cognitive()
    assess_cluster = getattr(preflight, "assess_cluster_capacity", None)
    compute = getattr(target, "compute", None)
    capacities = []
    for region in regions:
        progress(f"quota in {region}")
        verdict = preflight.assess_region(cognitive, region, requests, fine_tune, lab_end)
        if assess_cluster is not None and compute is not None:
            assess_cluster(compute(), region, node_type, verdict)
        capacities.append(region_capacity(verdict, requests))
    # A model no readable catalog knows is a typo (exit 2), not a region without quota: preflight's own rule.
    preflight._refuse_unknown_models(requests, fine_tune, "labctl:fineTuneBaseModel",
                                     [capacity.verdict for capacity in capacities])
    return capacities
