"""The cleanup decision, pure: whatever the inventory and the options, the plan never deletes or purges what must
be kept (nor a group holding it), and the dry run announces exactly the plan's steps. And the policy file's schema:
every malformed file is one sentence naming the file, the line and the key."""

import datetime as dt
import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.cleanup import INSIDE_GROUP, Candidate, Policy, execute, plan
from agent.errors import UsageError

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
GROUPS = ["rg-a", "rg-b", "rg-lab-1", "rg-lab-2", "rg-sticky"]
NAMES = st.sampled_from(["rg-a", "rg-b", "rg-lab-1", "rg-lab-2", "rg-sticky", "aoai-x", "1121-abc"])
EXPIRY = st.one_of(st.none(), st.integers(-72, 72).map(lambda h: (NOW + dt.timedelta(hours=h)).isoformat()),
                   st.just("not-a-date"))
SUBSCRIPTIONS = st.sampled_from(["sub-ok", "sub-blocked"])


PAST, FUTURE = (NOW - dt.timedelta(hours=2)).isoformat(), (NOW + dt.timedelta(hours=2)).isoformat()


@st.composite
def tag_sets(draw, like=None):
    """Tags like labctl's own (mostly expired), or like `like` (a group's) with one thing changed."""
    tags = dict(like) if like is not None else {"created-by": "labctl", "expires-at": PAST, "owner": "alice"}
    change = draw(st.sampled_from(["none", "none", "foreign", "untagged", "keep", "KEEP", "keep-false", "future",
                                   "no-expiry", "unreadable", "older", "owner"]))
    if change == "foreign":
        tags["created-by"] = "someone-else"
    elif change == "untagged":
        tags = {}
    elif change in ("keep", "KEEP", "keep-false"):
        tags["keep"] = {"keep": "true", "KEEP": "TRUE", "keep-false": "false"}[change]
    elif change == "future":
        tags["expires-at"] = FUTURE
    elif change == "no-expiry":
        tags.pop("expires-at", None)
    elif change == "unreadable":
        tags["expires-at"] = "not-a-date"
    elif change == "older":
        tags["expires-at"] = draw(EXPIRY) or PAST
    elif change == "owner":
        tags["owner"] = "bob"
    return tuple(sorted(tags.items()))


@st.composite
def inventories(draw):
    """Groups with what is inside them (each thing with its own tags), soft-deleted accounts, and strays."""
    found = []
    created = st.one_of(st.none(), st.integers(0, 200).map(lambda h: NOW - dt.timedelta(hours=h)))
    for group in draw(st.lists(st.sampled_from(GROUPS), unique=True, max_size=4)):
        group_tags = draw(tag_sets())
        subscription = draw(SUBSCRIPTIONS)
        found.append(Candidate("resource_group", group, group, "eastus2", group_tags, draw(created),
                               subscription=subscription))
        for index in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["account", "workspace", "resource", "fine_tuned_deployment", "cluster"]))
            found.append(Candidate(kind, f"{kind}-{group}-{index}", group, "eastus2", draw(tag_sets(group_tags)),
                                   draw(created), container_tags=group_tags, subscription=subscription))
    for index in range(draw(st.integers(0, 3))):
        found.append(Candidate("deleted_account", f"gone-{index}", draw(st.sampled_from(GROUPS)), "eastus2",
                               draw(tag_sets()), subscription=draw(SUBSCRIPTIONS)))
    found += draw(st.lists(candidates(), max_size=3))
    return found


@st.composite
def candidates(draw):
    kind = draw(st.sampled_from(["account", "workspace", "resource", "fine_tuned_deployment", "cluster"]))
    created = draw(st.one_of(st.none(), st.integers(0, 200).map(lambda h: NOW - dt.timedelta(hours=h))))
    return Candidate(kind, draw(NAMES), draw(st.one_of(st.none(), st.sampled_from(GROUPS))), "eastus2",
                     draw(tag_sets()), created, container_tags=draw(tag_sets()), subscription=draw(SUBSCRIPTIONS))


@st.composite
def policies(draw):
    return Policy(
        now=NOW,
        older_than=draw(st.one_of(st.none(), st.integers(1, 100).map(lambda h: dt.timedelta(hours=h)))),
        fine_tuned_max_age=dt.timedelta(hours=draw(st.integers(0, 100))),
        owner=draw(st.sampled_from([None, None, "alice", "bob"])),
        include=draw(st.lists(st.sampled_from(["rg-lab-*", "rg-*", "account-*"]), max_size=2)),
        exclude=draw(st.lists(st.sampled_from(["*-sticky", "rg-a", "*lab-2", "workspace-*"]), max_size=2)),
        blocked_subscriptions=draw(st.lists(st.just("sub-blocked"), max_size=1)),
    )


def parse(value):
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def must_keep(candidate: Candidate, policy: Policy) -> bool:
    """Kept whatever its age: foreign, keep-tagged (itself or what holds it), excluded, not included, another
    owner's, or in a blocked subscription. Written apart from agent.cleanup on purpose."""
    tags = candidate.tag_map
    names = [candidate.resource_group or candidate.name, candidate.name]
    return bool(
        tags.get("created-by") != "labctl"
        or tags.get("keep", "").lower() == "true"
        or any(k == "keep" and v.lower() == "true" for k, v in candidate.container_tags)
        or candidate.subscription in policy.blocked_subscriptions
        or any(fnmatch.fnmatch(n, p) for n in names for p in policy.exclude)
        or (policy.include and not any(fnmatch.fnmatch(n, p) for n in names for p in policy.include))
        or (policy.owner is not None and tags.get("owner") != policy.owner)
    )


def holds_its_group(candidate: Candidate, policy: Policy) -> bool:
    if must_keep(candidate, policy):
        return True
    if candidate.kind in INSIDE_GROUP and "expires-at" in candidate.tag_map:
        expires = parse(candidate.tag_map["expires-at"])
        return expires is None or expires > policy.now
    return False


def is_due(candidate: Candidate, policy: Policy) -> bool:
    expires = parse(candidate.tag_map.get("expires-at"))
    if expires is not None and expires <= policy.now:
        return True
    if candidate.kind == "fine_tuned_deployment" and candidate.created and policy.now - candidate.created >= policy.fine_tuned_max_age:
        return True
    return (expires is None and policy.older_than is not None and candidate.created is not None
            and policy.now - candidate.created >= policy.older_than)


@settings(max_examples=300, deadline=None)
@given(inventories(), policies())
def test_nothing_that_must_be_kept_is_deleted_or_purged_and_the_dry_run_is_the_plan(inventory, policy):
    the_plan = plan(inventory, policy)
    assert sorted(map(repr, [s.candidate for s in the_plan.steps] + [d.candidate for d in the_plan.kept])) == \
        sorted(map(repr, inventory))  # everything is either a step or kept, once
    deleted_groups = {s.candidate.name for s in the_plan.steps if s.candidate.kind == "resource_group"}
    for step in the_plan.steps:
        candidate = step.candidate
        if step.action == "delete" or candidate.kind == "deleted_account":
            assert not must_keep(candidate, policy), step
            assert is_due(candidate, policy), step
        else:  # goes with its group (and is purged after it)
            assert step.group == candidate.resource_group in deleted_groups, step
            assert not holds_its_group(candidate, policy), step
        if candidate.kind == "resource_group":
            inside = [c for c in inventory if c.kind not in ("resource_group", "deleted_account")
                      and c.resource_group == candidate.name]
            assert not any(holds_its_group(c, policy) for c in inside), step
    for decision in the_plan.kept:
        if decision.candidate.kind == "resource_group" and is_due(decision.candidate, policy) \
                and not must_keep(decision.candidate, policy):
            assert "holds what must be kept" in decision.reason  # the report names why the group stays
    dry = execute(None, the_plan, delete=False, progress=lambda _: None)
    announced = [(o.candidate, o.action) for o in dry if o.status.startswith("would")]
    assert announced == [(s.candidate, s.action) for s in the_plan.steps]
    assert all(o.status == "kept" for o in dry if o.action is None)


def test_a_group_holding_a_kept_account_is_kept_and_says_why():
    expired = (("created-by", "labctl"), ("expires-at", (NOW - dt.timedelta(hours=1)).isoformat()))
    group = Candidate("resource_group", "rg-old", "rg-old", tags=expired)
    keep = Candidate("account", "precious", "rg-old", tags=(*expired, ("keep", "true")), container_tags=expired)
    plain = Candidate("account", "plain", "rg-old", tags=expired, container_tags=expired)
    the_plan = plan([group, keep, plain], Policy(now=NOW))
    assert the_plan.steps == []
    reasons = {d.candidate.name: d.reason for d in the_plan.kept}
    assert reasons["rg-old"].endswith("but it holds what must be kept: account precious (tagged keep=true)")
    assert reasons["plain"] == "its resource group rg-old is kept"

    the_plan = plan([group, plain], Policy(now=NOW))
    assert [(s.action, s.candidate.name) for s in the_plan.steps] == [("delete", "rg-old"), ("purge", "plain")]


# The policy file ----------------------------------------------------------------------------------------------

BAD_FILES = [
    # (what it stands for, file text, the message after "<file> ")
    ("a string where a list belongs", 'include: "rg-nomatch-*"\n',
     "line 1: include must be a list of strings like [\"rg-lab-*\"], not the string 'rg-nomatch-*'."),
    ("a string blocklist", "owner: me\nblocked_subscriptions: 0000-1111\n",
     "line 2: blocked_subscriptions must be a list of strings like [\"<subscription id>\"], not the string '0000-1111'."),
    ("a misspelt key", "include: [rg-*]\nexlcude: [rg-keep]\n",
     "line 2: unknown key 'exlcude' (the keys are keep_tag, exclude, include, owner, older_than, "
     "fine_tuned_older_than, blocked_subscriptions)."),
    ("a duration without a unit", "older_than: 7\n", "line 1: older_than 7 is not a duration like 30m, 12h or 7d."),
    ("a malformed duration", "fine_tuned_older_than: 2 days\n",
     "line 1: fine_tuned_older_than '2 days' is not a duration like 30m, 12h or 7d."),
    ("keep_tag not a mapping", "exclude: []\nkeep_tag: keep\n",
     "line 2: keep_tag must be a mapping of one tag name to its value, like {keep: \"true\"}, not the string 'keep'."),
    ("keep_tag of two tags", "keep_tag: {keep: 'true', pin: 'yes'}\n",
     "line 1: keep_tag must be a mapping of one tag name to its value, like {keep: \"true\"}, not a mapping."),
    ("keep_tag value not a scalar", "keep_tag:\n  keep: [a]\n",
     "line 1: keep_tag must map a tag name to a string value, like {keep: \"true\"}, not a list."),
    ("a number in a list", "exclude:\n  - rg-a\n  - 42\n", "line 3: exclude.1 must be a string, not the number 42."),
    ("owner not a string", "owner: [alice]\n", "line 1: owner must be a string, not a list."),
    ("a list at top level", "- include: [rg-*]\n",
     "line 1: the policy must be a mapping of settings (keep_tag, exclude, include, owner, older_than, "
     "fine_tuned_older_than, blocked_subscriptions), not a list."),
    ("a scalar at top level", "just words\n",
     "line 1: the policy must be a mapping of settings (keep_tag, exclude, include, owner, older_than, "
     "fine_tuned_older_than, blocked_subscriptions), not the string 'just words'."),
    ("broken YAML", "keep_tag:\n  keep: [unclosed\n", "line 3 is not valid YAML."),
]


@pytest.mark.parametrize(("text", "message"), [(t, m) for _, t, m in BAD_FILES], ids=[k for k, _, _ in BAD_FILES])
def test_a_bad_policy_file_is_one_sentence_naming_file_line_and_key(tmp_path, text, message):
    path = tmp_path / "cleanup.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as refused:
        Policy.from_file(path, NOW)
    assert refused.value.message == f"{path} {message}"
    assert refused.value.exit_code == 2


def test_a_good_policy_file_and_an_empty_one(tmp_path):
    path = tmp_path / "cleanup.yaml"
    path.write_text('keep_tag: {pin: yes}\nexclude: ["rg-*-shared"]\ninclude: []\nowner: null\nolder_than: 7d\n'
                    "fine_tuned_older_than: 12h\nblocked_subscriptions: ['0000']\n")
    policy = Policy.from_file(path, NOW)
    assert policy.keep_tag == ("pin", "true") and policy.exclude == ["rg-*-shared"] and policy.include == []
    assert policy.older_than == dt.timedelta(days=7) and policy.fine_tuned_max_age == dt.timedelta(hours=12)
    assert policy.blocked_subscriptions == ["0000"] and policy.owner is None
    path.write_text("# nothing yet\n")
    assert Policy.from_file(path, NOW) == Policy(now=NOW)
