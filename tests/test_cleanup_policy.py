"""Property: whatever the inventory and the options, cleanup never deletes what it must keep, and the dry
run announces exactly what the real run would delete."""

import datetime as dt
import fnmatch

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.cleanup import Candidate, Policy, execute, plan

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
NAMES = st.sampled_from(["rg-a", "rg-b", "rg-lab-1", "rg-lab-2", "rg-sticky", "aoai-x", "1121-abc"])
EXPIRY = st.one_of(st.none(), st.integers(-72, 72).map(lambda h: (NOW + dt.timedelta(hours=h)).isoformat()),
                   st.just("not-a-date"))


@st.composite
def candidates(draw):
    tags = {}
    if draw(st.booleans()):
        tags["created-by"] = draw(st.sampled_from(["labctl", "someone-else"]))
    expiry = draw(EXPIRY)
    if expiry is not None:
        tags["expires-at"] = expiry
    if draw(st.booleans()):
        tags["owner"] = draw(st.sampled_from(["alice", "bob"]))
    if draw(st.booleans()):
        tags["keep"] = draw(st.sampled_from(["true", "TRUE", "false"]))
    kind = draw(st.sampled_from(["resource_group", "deleted_account", "fine_tuned_deployment", "cluster"]))
    created = draw(st.one_of(st.none(), st.integers(0, 200).map(lambda h: NOW - dt.timedelta(hours=h))))
    return Candidate(kind, draw(NAMES), draw(st.one_of(st.none(), NAMES)), "eastus2", tuple(sorted(tags.items())), created)


@st.composite
def policies(draw):
    return Policy(
        now=NOW,
        older_than=draw(st.one_of(st.none(), st.integers(1, 100).map(lambda h: dt.timedelta(hours=h)))),
        fine_tuned_max_age=dt.timedelta(hours=draw(st.integers(0, 100))),
        owner=draw(st.one_of(st.none(), st.sampled_from(["alice", "bob"]))),
        include=draw(st.lists(st.sampled_from(["rg-lab-*", "rg-*", "aoai-*"]), max_size=2)),
        exclude=draw(st.lists(st.sampled_from(["*-sticky", "rg-a", "*lab-2"]), max_size=2)),
    )


def must_keep(candidate: Candidate, policy: Policy) -> bool:
    tags = candidate.tag_map
    names = [candidate.resource_group or candidate.name, candidate.name]
    return (
        tags.get("created-by") != "labctl"
        or tags.get("keep", "").lower() == "true"
        or any(fnmatch.fnmatch(n, p) for n in names for p in policy.exclude)
        or (policy.include and not any(fnmatch.fnmatch(n, p) for n in names for p in policy.include))
        or (policy.owner is not None and tags.get("owner") != policy.owner)
    )


def is_due(candidate: Candidate, policy: Policy) -> bool:
    tags = candidate.tag_map
    try:
        expires = dt.datetime.fromisoformat(tags.get("expires-at", ""))
    except ValueError:
        expires = None
    if expires is not None and expires <= policy.now:
        return True
    if candidate.kind == "fine_tuned_deployment" and candidate.created and policy.now - candidate.created >= policy.fine_tuned_max_age:
        return True
    return (expires is None and policy.older_than is not None and candidate.created is not None
            and policy.now - candidate.created >= policy.older_than)


@settings(max_examples=400, deadline=None)
@given(st.lists(candidates(), max_size=12), policies())
def test_nothing_excluded_or_unexpired_is_ever_deleted(inventory, policy):
    decisions = plan(inventory, policy)
    assert len(decisions) == len(inventory)
    for decision in decisions:
        if decision.delete:
            assert not must_keep(decision.candidate, policy), decision
            assert is_due(decision.candidate, policy), decision
    dry = execute(None, decisions, delete=False, progress=lambda _: None)
    announced = sorted(id(o.decision) for o in dry if o.status == "would delete")
    assert announced == sorted(id(d) for d in decisions if d.delete)
