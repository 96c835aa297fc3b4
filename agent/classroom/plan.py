"""The class plan: learners packed into regions in the order of preference, each region filled up to what its
quota allows before the next is used; or, when the class does not fit, the shortfall per region."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from agent.classroom.capacity import RegionCapacity
from agent.classroom.roster import Learner


@dataclass
class RegionPlan:
    capacity: RegionCapacity
    learners: list[Learner] = field(default_factory=list)
    cost_per_learner: float | None = None  # USD, ESTIMATE (preflight's cost model for this region's choices)

    @property
    def region(self) -> str:
        return self.capacity.region

    def quota_used(self) -> list[str]:
        """'30/30 K TPM GlobalStandard gpt-5-mini' for each limit: what the placed learners take of what is free."""
        return [f"{len(self.learners) * lim.per_learner}/{lim.free} {lim.unit} {lim.quota}" for lim in self.capacity.limits]

    def shortfall(self, missing: int) -> str:
        """What this region lacks to also host the `missing` learners no region has room for."""
        if not self.capacity.verdict.ok:
            return "; ".join(self.capacity.verdict.reasons)
        lacking = []
        for lim in self.capacity.limits:
            needed = (self.capacity.seats + missing) * lim.per_learner - lim.free
            if needed > 0:
                lacking.append(f"{needed} {lim.unit} more of {lim.quota} ({lim.free} free, {lim.per_learner} per learner)")
        return "; ".join(lacking)


@dataclass
class ClassPlan:
    regions: list[RegionPlan]
    wanted: int
    concurrency: int
    minutes_per_learner: float
    minutes_source: str  # "measured ..." or "assumed ..."

    @property
    def placed(self) -> int:
        return sum(len(r.learners) for r in self.regions)

    @property
    def missing(self) -> int:
        return self.wanted - self.placed

    @property
    def fits(self) -> bool:
        return self.missing == 0

    @property
    def total_cost(self) -> float | None:
        if any(r.cost_per_learner is None for r in self.regions if r.learners):
            return None
        return round(sum(r.cost_per_learner * len(r.learners) for r in self.regions if r.learners), 2)

    @property
    def minutes_to_ready(self) -> float:
        """Learners come up `concurrency` at a time: ceil(N / concurrency) rounds of one environment's time."""
        return math.ceil(self.wanted / self.concurrency) * self.minutes_per_learner

    def region_of(self, learner: Learner) -> str:
        return next(r.region for r in self.regions if learner in r.learners)

    def as_dict(self) -> dict:
        return {
            "fits": self.fits, "learners": self.wanted, "placed": self.placed, "missing": self.missing,
            "concurrency": self.concurrency, "minutes_to_ready": round(self.minutes_to_ready, 1),
            "minutes_per_learner": round(self.minutes_per_learner, 2), "minutes_source": self.minutes_source,
            "total_cost_usd": self.total_cost, "cost_label": "ESTIMATE (list prices; not a quote)",
            "regions": [{"region": r.region, "learners": [learner.name for learner in r.learners],
                         "seats": r.capacity.seats, "quota_used": r.quota_used(),
                         "cost_per_learner_usd": r.cost_per_learner,
                         "shortfall": r.shortfall(self.missing) if not self.fits else "",
                         "capacity": r.capacity.as_dict()} for r in self.regions],
        }


def pack(capacities: list[RegionCapacity], learners: list[Learner], concurrency: int, minutes_per_learner: float,
         minutes_source: str) -> ClassPlan:
    """First fit in the order of the regions: the preferred region takes as many learners as its tightest quota
    allows, then the next. A class that does not fit is packed as far as it goes (`fits` is False)."""
    plans = [RegionPlan(capacity) for capacity in capacities]
    waiting = list(learners)
    for region in plans:
        take = min(region.capacity.seats, len(waiting))
        region.learners, waiting = waiting[:take], waiting[take:]
    return ClassPlan(plans, len(learners), max(1, min(concurrency, len(learners))), minutes_per_learner,
                     minutes_source)
