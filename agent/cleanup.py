"""`labctl cleanup`: find lab resources that outlived their expiry across a subscription, and remove them
safely: dry run by default, and one decision function for both dry and real runs, so an exclusion that
holds in the dry run holds when deleting.

Candidates: resource groups tagged created-by=labctl; soft-deleted Cognitive Services accounts tagged so;
fine-tuned deployments (model name `<base>.ft-<id>`) in labctl accounts older than a limit; running
clusters in the workspaces of labctl resource groups. Anything without created-by=labctl is never touched.
Order of deletion: fine-tuned deployments and clusters, then resource groups, then purges.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from agent.errors import UsageError

PROJECT_TAG = ("created-by", "labctl")
DURATION = re.compile(r"^(\d+)([mhd])$")


def parse_duration(text: str, option: str) -> dt.timedelta:
    match = DURATION.match(text or "")
    if not match:
        raise UsageError(f"{option} {text!r} is not a duration like 30m, 12h or 7d.")
    amount, unit = int(match.group(1)), match.group(2)
    return dt.timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Candidate:
    kind: str  # resource_group, deleted_account, fine_tuned_deployment, cluster
    name: str
    resource_group: str | None = None
    location: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    created: dt.datetime | None = None
    parent: str | None = None  # account of a deployment, workspace of a cluster

    @property
    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)


@dataclass
class Policy:
    now: dt.datetime
    older_than: dt.timedelta | None = None  # also delete labctl resources without expiry older than this
    fine_tuned_max_age: dt.timedelta = dt.timedelta(hours=24)
    owner: str | None = None
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    keep_tag: tuple[str, str] = ("keep", "true")
    blocked_subscriptions: list[str] = field(default_factory=list)

    @classmethod
    def from_file(cls, path: Path | None, now: dt.datetime) -> Policy:
        """The policy of a cleanup config file (YAML; see README), or the defaults without one."""
        data = {}
        if path is not None:
            if not path.is_file():
                raise UsageError(f"--config {path} does not exist or is not a file.")
            try:
                data = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as error:
                mark = getattr(error, "problem_mark", None)
                where = f" line {mark.line + 1}" if mark is not None else ""
                raise UsageError(f"{path}{where} is not valid YAML.") from None
        keep_key, keep_value = next(iter((data.get("keep_tag") or {"keep": "true"}).items()))
        return cls(
            now=now,
            older_than=parse_duration(data["older_than"], f"{path}: older_than") if data.get("older_than") else None,
            fine_tuned_max_age=parse_duration(data.get("fine_tuned_older_than", "24h"), f"{path}: fine_tuned_older_than"),
            owner=data.get("owner"), include=list(data.get("include", [])), exclude=list(data.get("exclude", [])),
            keep_tag=(str(keep_key), str(keep_value).lower()), blocked_subscriptions=list(data.get("blocked_subscriptions", [])),
        )


@dataclass(frozen=True)
class Decision:
    candidate: Candidate
    delete: bool
    reason: str


def decide(candidate: Candidate, policy: Policy) -> Decision:
    """The one rule for dry and real runs. Everything not positively due is kept, with the reason."""
    tags = candidate.tag_map
    if tags.get(PROJECT_TAG[0]) != PROJECT_TAG[1]:
        return Decision(candidate, False, "not created by labctl")
    key, value = policy.keep_tag
    if tags.get(key, "").lower() == value.lower():
        return Decision(candidate, False, f"tagged {key}={value}")
    # Deployments and clusters carry their group's tags and answer to their group's name patterns too.
    group_name = candidate.resource_group or candidate.name
    if any(fnmatch.fnmatch(group_name, p) or fnmatch.fnmatch(candidate.name, p) for p in policy.exclude):
        return Decision(candidate, False, "excluded by name")
    if policy.include and not any(fnmatch.fnmatch(group_name, p) or fnmatch.fnmatch(candidate.name, p)
                                  for p in policy.include):
        return Decision(candidate, False, "not matched by --include")
    if policy.owner and tags.get("owner") != policy.owner:
        return Decision(candidate, False, f"owner is {tags.get('owner') or 'unset'}, not {policy.owner}")
    if candidate.kind == "fine_tuned_deployment":
        if candidate.created is None:
            return Decision(candidate, False, "creation time unknown")
        age = policy.now - candidate.created
        if age >= policy.fine_tuned_max_age:
            return Decision(candidate, True, f"fine-tuned deployment {_hours(age)} old (limit {_hours(policy.fine_tuned_max_age)})")
    expires = parse_time(tags.get("expires-at"))
    if expires is not None:
        if expires <= policy.now:
            return Decision(candidate, True, f"expired at {expires.isoformat()}")
        if candidate.kind != "fine_tuned_deployment":
            return Decision(candidate, False, f"expires at {expires.isoformat()}")
    elif policy.older_than is not None and candidate.created is not None and policy.now - candidate.created >= policy.older_than:
        return Decision(candidate, True, f"no expiry tag and older than {_hours(policy.older_than)}")
    if candidate.kind == "fine_tuned_deployment":
        return Decision(candidate, False, "fine-tuned deployment younger than the limit")
    return Decision(candidate, False, "no expires-at tag")


def _hours(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"


def plan(candidates: list[Candidate], policy: Policy) -> list[Decision]:
    groups = [decide(c, policy) for c in candidates if c.kind == "resource_group"]
    doomed = {d.candidate.name for d in groups if d.delete}
    rest = []
    for candidate in candidates:
        if candidate.kind == "resource_group":
            continue
        decision = decide(candidate, policy)
        if candidate.kind == "fine_tuned_deployment" and candidate.resource_group in doomed and not decision.delete:
            decision = Decision(candidate, False, "goes with its resource group")
        rest.append(decision)
    return groups + rest


# Discovery and execution -----------------------------------------------------------------------------


def discover(target, progress: Callable[[str], None]) -> list[Candidate]:
    resources = target.resources()
    cognitive = target.cognitive()
    found: list[Candidate] = []
    for group in resources.resource_groups.list():
        tags = dict(group.tags or {})
        found.append(Candidate("resource_group", group.name, group.name, group.location, tuple(sorted(tags.items()))))
        if tags.get(PROJECT_TAG[0]) != PROJECT_TAG[1]:
            continue
        for resource in resources.resources.list_by_resource_group(group.name):
            if resource.type == "Microsoft.CognitiveServices/accounts":
                for deployment in cognitive.deployments.list(group.name, resource.name):
                    if ".ft-" in (deployment.properties.model.name or ""):
                        created = deployment.system_data.created_at if deployment.system_data else None
                        found.append(Candidate("fine_tuned_deployment", deployment.name, group.name, resource.location,
                                               tuple(sorted(tags.items())), created, resource.name))
            elif resource.type == "Microsoft.Databricks/workspaces":
                found += _clusters(target, resources, group.name, resource, tags, progress)
    for account in cognitive.deleted_accounts.list():
        rg = account.id.split("/resourceGroups/")[1].split("/")[0] if "/resourceGroups/" in account.id else None
        found.append(Candidate("deleted_account", account.name, rg, account.location,
                               tuple(sorted((account.tags or {}).items()))))
    return found


def _clusters(target, resources, group: str, resource, tags: dict, progress) -> list[Candidate]:
    workspace = resources.resources.get_by_id(resource.id, api_version="2026-01-01")
    host = f"https://{workspace.properties['workspaceUrl']}"
    try:
        client = target.workspace_client_for(host, resource.id)
        clusters = list(client.clusters.list())
    except Exception as error:  # a workspace we cannot read still goes with its group
        progress(f"workspace {resource.name}: cannot list clusters ({error})")
        return []
    found = []
    for cluster in clusters:
        if cluster.state and cluster.state.value in ("RUNNING", "PENDING", "RESTARTING", "RESIZING"):
            merged = {**tags, **(cluster.custom_tags or {})}
            found.append(Candidate("cluster", cluster.cluster_id, group, resource.location, tuple(sorted(merged.items())),
                                   parent=f"{host}|{resource.id}"))
    return found


@dataclass
class Outcome:
    decision: Decision
    status: str  # deleted, kept, failed, would delete
    error: str | None = None

    def as_dict(self) -> dict:
        c = self.decision.candidate
        return {"kind": c.kind, "name": c.name, "resource_group": c.resource_group, "status": self.status,
                "reason": self.decision.reason, "error": self.error}


ORDER = {"fine_tuned_deployment": 0, "cluster": 0, "resource_group": 1, "deleted_account": 2}


def execute(target, decisions: list[Decision], delete: bool, progress: Callable[[str], None]) -> list[Outcome]:
    outcomes = [Outcome(d, "kept") for d in decisions if not d.delete]
    due = sorted((d for d in decisions if d.delete), key=lambda d: ORDER[d.candidate.kind])
    if not delete:
        return outcomes + [Outcome(d, "would delete") for d in due]
    for decision in due:
        candidate = decision.candidate
        try:
            _delete(target, candidate)
            if candidate.kind == "resource_group":
                _purge_accounts_of(target, candidate, progress)
            outcomes.append(Outcome(decision, "deleted"))
            progress(f"deleted {candidate.kind} {candidate.name}")
        except Exception as error:  # carry on with the others; the failure is reported
            outcomes.append(Outcome(decision, "failed", str(error).splitlines()[0][:300]))
            progress(f"failed to delete {candidate.kind} {candidate.name}: {error}")
    return outcomes


def _delete(target, candidate: Candidate) -> None:
    if candidate.kind == "fine_tuned_deployment":
        target.cognitive(retry_conflicts=True).deployments.begin_delete(
            candidate.resource_group, candidate.parent, candidate.name).result()
    elif candidate.kind == "cluster":
        host, resource_id = candidate.parent.split("|", 1)
        target.workspace_client_for(host, resource_id).clusters.delete(candidate.name)
    elif candidate.kind == "resource_group":
        target.resources(retry_conflicts=True).resource_groups.begin_delete(candidate.name).result()
    elif candidate.kind == "deleted_account":
        target.cognitive(retry_conflicts=True).deleted_accounts.begin_purge(
            candidate.location, candidate.resource_group, candidate.name).result()


def _purge_accounts_of(target, group: Candidate, progress) -> None:
    """Deleting a group soft-deletes its accounts: purge those now so their names are free again."""
    client = target.cognitive(retry_conflicts=True)
    for account in client.deleted_accounts.list():
        if f"/resourceGroups/{group.name}/" in account.id and dict(account.tags or {}).get(PROJECT_TAG[0]) == PROJECT_TAG[1]:
            client.deleted_accounts.begin_purge(account.location, group.name, account.name).result()
            progress(f"purged {account.name}")
