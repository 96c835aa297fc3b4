"""Cleanup against a mixed sandbox inventory: dry run, real run, second run, and a failing deletion."""

import datetime as dt
from pathlib import Path

import pytest
from azure.mgmt.cognitiveservices.models import (
    Account, AccountProperties, Deployment, DeploymentModel, DeploymentProperties, Sku,
)

from agent.cleanup import Policy, discover, execute, plan
from agent.target import sandbox_target

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "mslearn"
NOW = dt.datetime.now(dt.timezone.utc)


def tags(expires: dt.datetime | None, **extra) -> dict:
    found = {"created-by": "labctl", "owner": "alice", "lab": "ai"}
    if expires is not None:
        found["expires-at"] = expires.isoformat().replace("+00:00", "Z")
    return {**found, **extra}


def group(sandbox, name, group_tags, account=None):
    sandbox.resources().resource_groups.create_or_update(name, {"location": "eastus2", "tags": group_tags})
    if account:
        client = sandbox.cognitive()
        client.accounts.begin_create(name, account, Account(
            kind="OpenAI", sku=Sku(name="S0"), location="eastus2", tags=group_tags,
            properties=AccountProperties(custom_sub_domain_name=account))).result()
        client.deployments.begin_create_or_update(name, account, "chat", Deployment(
            sku=Sku(name="GlobalStandard", capacity=1),
            properties=DeploymentProperties(model=DeploymentModel(format="OpenAI", name="gpt-5-mini", version="2025-08-07")),
        )).result()


def fine_tuned_deployment(sandbox, rg, account):
    sandbox.control("PATCH", "/settings", json={"customer": "existing"})  # one who may still train gpt-4.1-mini
    client = sandbox.cognitive()
    endpoint = client.accounts.get(rg, account).properties.endpoint
    from openai import AzureOpenAI

    aoai = AzureOpenAI(azure_endpoint=endpoint, api_key=client.accounts.list_keys(rg, account).key1,
                       api_version="2025-04-01-preview")
    with (DATA / "training_set.jsonl").open("rb") as stream:
        training = aoai.files.create(file=stream, purpose="fine-tune")
    aoai.files.wait_for_processing(training.id, poll_interval=0.1)
    job = aoai.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=training.id,
                                       extra_body={"trainingType": "GlobalStandard"})
    sandbox.advance(30)
    model = aoai.fine_tuning.jobs.retrieve(job.id).fine_tuned_model
    client.deployments.begin_create_or_update(rg, account, "clippy", Deployment(
        sku=Sku(name="GlobalStandard", capacity=1),
        properties=DeploymentProperties(model=DeploymentModel(format="OpenAI", name=model, version="1")))).result()


@pytest.fixture
def mixed(sandbox):
    past, future = NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=8)
    group(sandbox, "rg-old", tags(past), account="old-aoai")
    group(sandbox, "rg-fresh", tags(future), account="fresh-aoai")
    fine_tuned_deployment(sandbox, "rg-fresh", "fresh-aoai")
    group(sandbox, "rg-keep", tags(past, keep="true"))
    group(sandbox, "rg-sticky", tags(past))
    group(sandbox, "rg-other", {"owner": "someone", "expires-at": past.isoformat()})
    group(sandbox, "rg-bob", tags(past, owner="bob"))
    group(sandbox, "rg-gone", tags(future), account="gone-aoai")
    sandbox.cognitive().accounts.begin_delete("rg-gone", "gone-aoai").result()
    # The soft-deleted account keeps its tags; make its own expiry past by deleting it from an expired group.
    return sandbox


def policy(**changes) -> Policy:
    # The sandbox clock ran 30 s ahead for the fine-tuning job: judge from a few minutes later.
    base = Policy(now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5), exclude=["*-sticky"], owner="alice",
                  fine_tuned_max_age=dt.timedelta(0))
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def due(the_plan):
    return sorted((s.candidate.kind, s.candidate.name) for s in the_plan.steps)


def test_dry_run_lists_exactly_the_right_set_and_the_real_run_deletes_it(mixed):
    target = sandbox_target(mixed.endpoints)
    decisions = plan(discover(target, print), policy())
    # old-aoai goes with its group and is purged after it.
    expected = [("fine_tuned_deployment", "clippy"), ("resource_group", "rg-old"), ("account", "old-aoai")]
    assert due(decisions) == sorted(expected)
    reasons = {d.candidate.name: d.reason for d in decisions.decisions}
    assert reasons["rg-keep"] == "tagged keep=true" and reasons["rg-sticky"] == "excluded by name"
    assert reasons["rg-other"] == "not created by labctl" and reasons["rg-bob"] == "owner is bob, not alice"
    assert reasons["rg-fresh"].startswith("expires at")

    before = mixed.inventory()
    assert {g["name"] for g in before["resource_groups"]} >= {"rg-old", "rg-fresh"}
    assert {(a["name"], d["name"]) for a in before["accounts"] for d in a["deployments"]} >= {("fresh-aoai", "clippy")}
    dry = execute(target, decisions, delete=False, progress=print)
    # The dry run lists what is due in deletion order (deployments before their groups) and deletes nothing.
    assert [(o.candidate.kind, o.candidate.name) for o in dry if o.status.startswith("would")] == expected
    assert [o.status for o in dry if o.candidate.name == "old-aoai"] == ["would purge"]
    assert mixed.inventory() == before

    real = execute(target, plan(discover(target, print), policy()), delete=True, progress=print)
    assert [(o.candidate.kind, o.candidate.name) for o in real if o.status in ("deleted", "purged")] == expected
    inventory = mixed.inventory()
    assert sorted(g["name"] for g in inventory["resource_groups"]) == [
        "rg-bob", "rg-fresh", "rg-gone", "rg-keep", "rg-other", "rg-sticky"]
    assert sorted(a["name"] for a in inventory["accounts"]) == ["fresh-aoai"]
    assert "old-aoai" not in [a["name"] for a in inventory["deleted_accounts"]]  # purged with its group
    fresh = next(a for a in inventory["accounts"] if a["name"] == "fresh-aoai")
    assert [d["name"] for d in fresh["deployments"]] == ["chat"]

    again = plan(discover(target, print), policy())
    assert due(again) == []


def test_an_expired_soft_deleted_account_is_purged(sandbox):
    group(sandbox, "rg-late", tags(NOW - dt.timedelta(hours=2)), account="late-aoai")
    sandbox.cognitive().accounts.begin_delete("rg-late", "late-aoai").result()
    sandbox.resources().resource_groups.begin_delete("rg-late").result()
    target = sandbox_target(sandbox.endpoints)
    decisions = plan(discover(target, print), policy(owner=None))
    assert due(decisions) == [("deleted_account", "late-aoai")]
    execute(target, decisions, delete=True, progress=print)
    assert sandbox.inventory()["deleted_accounts"] == []


def test_one_failed_deletion_does_not_stop_the_others(sandbox):
    past = NOW - dt.timedelta(hours=1)
    group(sandbox, "rg-x1", tags(past))
    group(sandbox, "rg-x2", tags(past))
    sandbox.control("PUT", "/faults", json={"rules": [{"path": "/resourcegroups/rg-x1$", "method": "DELETE",
                                                       "status": 500}]})
    target = sandbox_target(sandbox.endpoints)
    outcomes = execute(target, plan(discover(target, print), policy(owner=None)), delete=True, progress=print)
    status = {o.candidate.name: o.status for o in outcomes if o.action}
    assert status == {"rg-x1": "failed", "rg-x2": "deleted"}
    assert [g["name"] for g in sandbox.inventory()["resource_groups"]] == ["rg-x1"]


def test_keep_tagged_accounts_are_never_purged_and_their_group_stays(sandbox):
    """The incident of issue 16: a keep=true account inside an expired labctl group, and a keep=true soft-deleted
    account, were purged by `cleanup --yes` while both reports said "kept"."""
    past = NOW - dt.timedelta(hours=2)
    group(sandbox, "rg-held", tags(past))
    client = sandbox.cognitive()
    for name, extra in (("precious-aoai", {"keep": "true"}), ("spare-aoai", {})):
        client.accounts.begin_create("rg-held", name, Account(
            kind="OpenAI", sku=Sku(name="S0"), location="eastus2", tags=tags(past, **extra),
            properties=AccountProperties(custom_sub_domain_name=name))).result()
    # Soft-deleted accounts of a group deleted earlier: an expired one (purged) and a keep=true one (kept).
    group(sandbox, "rg-was", tags(past), account="old-deleted-aoai")
    client.accounts.begin_delete("rg-was", "old-deleted-aoai").result()
    sandbox.resources().resource_groups.begin_delete("rg-was").result()
    group(sandbox, "rg-was2", tags(past))
    client.accounts.begin_create("rg-was2", "kept2-aoai", Account(
        kind="OpenAI", sku=Sku(name="S0"), location="eastus2", tags=tags(past, keep="true"),
        properties=AccountProperties(custom_sub_domain_name="kept2-aoai"))).result()
    client.accounts.begin_delete("rg-was2", "kept2-aoai").result()

    target = sandbox_target(sandbox.endpoints)
    dry_plan = plan(discover(target, print), policy(owner=None))
    reasons = {d.candidate.name: d.reason for d in dry_plan.kept}
    assert reasons["rg-held"].endswith("but it holds what must be kept: account precious-aoai (tagged keep=true)")
    assert reasons["precious-aoai"] == "tagged keep=true" and reasons["kept2-aoai"] == "tagged keep=true"
    assert reasons["spare-aoai"] == "its resource group rg-held is kept"
    dry = [(o.candidate.name, o.status) for o in execute(target, dry_plan, delete=False, progress=print)
           if o.status != "kept"]

    real = execute(target, plan(discover(target, print), policy(owner=None)), delete=True, progress=print)
    assert [(o.candidate.name, o.status.replace("purged", "would purge").replace("deleted", "would delete"))
            for o in real if o.status != "kept"] == dry
    inventory = sandbox.inventory()
    assert "rg-held" in [g["name"] for g in inventory["resource_groups"]]
    assert {"precious-aoai", "spare-aoai"} <= {a["name"] for a in inventory["accounts"]}
    assert "kept2-aoai" in [a["name"] for a in inventory["deleted_accounts"]]
    assert "old-deleted-aoai" not in [a["name"] for a in inventory["deleted_accounts"]]  # expired, not kept: purged
