"""`labctl cleanup`: find lab resources that outlived their expiry across a subscription, and remove them
safely: dry run by default, and one plan, built by one decision function, that the dry run prints and the real
run executes step by step, so what the dry run says is what the real run does.

Candidates: resource groups tagged created-by=labctl and every resource inside them (each judged by its own
tags); soft-deleted Cognitive Services accounts; fine-tuned deployments (model name `<base>.ft-<id>`) in labctl
accounts older than a limit; running clusters in the workspaces of labctl resource groups; and the managed resource
groups of Databricks workspaces (`managedBy` a workspace), which carry Databricks' tags, not labctl's (see
`managed_group_owner`). Anything without created-by=labctl is never touched, and a group holding anything that must
be kept is not deleted.
Order: fine-tuned deployments and clusters, then the workspaces of the groups to delete, each with forceDeletion
(so that its managed resource group goes with it: without it Azure keeps that group, with the DBFS storage account
and the access connector, learn.microsoft.com/azure/databricks/admin/workspace/delete-workspace), then resource
groups and managed groups left behind, then purges of their accounts, then purges of soft-deleted accounts.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

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
    kind: str  # one of KINDS
    name: str
    resource_group: str | None = None
    location: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    created: dt.datetime | None = None
    parent: str | None = None  # account of a deployment, workspace of a cluster
    # Tags of what holds it (its group, its account or workspace): their keep tag protects it too.
    container_tags: tuple[tuple[str, str], ...] = ()
    subscription: str | None = None
    type: str | None = None  # the ARM type of a resource inside a group
    # A managed resource group: the workspace that manages it (its resource group, its name), whether that workspace
    # and its resource group still exist, and what the group holds, in words.
    managed_by: tuple[str, str] | None = None
    manager_exists: bool = False
    manager_group_exists: bool = False
    holds: str = ""

    @property
    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)

    @property
    def label(self) -> str:
        return f"{self.kind.replace('_', ' ')} {self.name}"


KINDS = ("resource_group", "account", "workspace", "resource", "deleted_account", "fine_tuned_deployment", "cluster",
         "managed_group")
# Not deleted on their own: deleting their resource group deletes them (accounts are then purged).
INSIDE_GROUP = ("account", "workspace", "resource")


class PolicyFile(BaseModel):
    """The schema of a cleanup policy file (README, "Cleaning up forgotten labs on a schedule")."""

    model_config = ConfigDict(extra="forbid", strict=True)

    keep_tag: tuple[str, str] = ("keep", "true")
    exclude: list[str] = []
    include: list[str] = []
    owner: str | None = None
    older_than: str | None = None
    fine_tuned_older_than: str = "24h"
    blocked_subscriptions: list[str] = []

    @field_validator("keep_tag", mode="before")
    @classmethod
    def _one_tag(cls, value):
        if not isinstance(value, dict) or len(value) != 1:
            raise ValueError(f"must be a mapping of one tag name to its value, like {{keep: \"true\"}}, not {_what(value)}")
        (key, tag_value), = value.items()
        if not isinstance(key, str) or not isinstance(tag_value, str | bool):
            raise ValueError(f"must map a tag name to a string value, like {{keep: \"true\"}}, not {_what(tag_value)}")
        return key, str(tag_value).lower()

    @field_validator("older_than", "fine_tuned_older_than", mode="before")
    @classmethod
    def _duration(cls, value):
        if value is None:
            return value
        if not isinstance(value, str) or not DURATION.match(value):
            raise ValueError(f"{value!r} is not a duration like 30m, 12h or 7d")
        return value


def _what(value) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "empty" if value is None else type(value).__name__


def _line_of(node, loc: tuple) -> int:
    """The 1-based line of the setting at `loc`: the key's line, or a list item's own line."""
    line = node.start_mark.line + 1
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(step)), None)
            if pair is None:
                break
            line = pair[0].start_mark.line + 1
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _policy_error(path: Path, text: str, error: ValidationError) -> UsageError:
    first = error.errors()[0]
    loc = tuple(first["loc"])
    key = ".".join(str(part) for part in loc) or "(top level)"
    line = _line_of(yaml.compose(text), loc)
    kind, given = first["type"], first.get("input")
    if kind == "extra_forbidden":
        known = ", ".join(PolicyFile.model_fields)
        return UsageError(f"{path} line {line}: unknown key {key!r} (the keys are {known}).")
    if kind == "list_type":
        like = {"blocked_subscriptions": '["<subscription id>"]'}.get(loc[0], '["rg-lab-*"]')
        problem = f"must be a list of strings like {like}, not {_what(given)}"
    elif kind == "string_type":
        problem = f"must be a string, not {_what(given)}"
    else:
        problem = first["msg"].removeprefix("Value error, ")
    return UsageError(f"{path} line {line}: {key} {problem}.")


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
        """The policy of a cleanup config file (YAML; see README), or the defaults without one. A file that does
        not fit the schema is a UsageError naming the file, the line and the key."""
        text, data = "", {}
        if path is not None:
            if not path.is_file():
                raise UsageError(f"--config {path} does not exist or is not a file.")
            try:
                text = path.read_text()
                data = yaml.safe_load(text)
            except UnicodeDecodeError:
                raise UsageError(f"{path} is not a text file.") from None
            except yaml.YAMLError as error:
                mark = getattr(error, "problem_mark", None)
                where = f" line {mark.line + 1}" if mark is not None else ""
                raise UsageError(f"{path}{where} is not valid YAML.") from None
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise UsageError(f"{path} line 1: the policy must be a mapping of settings "
                                 f"({', '.join(PolicyFile.model_fields)}), not {_what(data)}.")
        try:
            parsed = PolicyFile.model_validate(data)
        except ValidationError as error:
            raise _policy_error(path, text, error) from None
        return cls(
            now=now,
            older_than=parse_duration(parsed.older_than, "older_than") if parsed.older_than else None,
            fine_tuned_max_age=parse_duration(parsed.fine_tuned_older_than, "fine_tuned_older_than"),
            owner=parsed.owner, include=list(parsed.include), exclude=list(parsed.exclude),
            keep_tag=parsed.keep_tag, blocked_subscriptions=list(parsed.blocked_subscriptions),
        )


@dataclass(frozen=True)
class Decision:
    candidate: Candidate
    delete: bool
    reason: str


def protection(candidate: Candidate, policy: Policy) -> str | None:
    """Why the candidate must be kept whatever its age (None when nothing protects it)."""
    tags = candidate.tag_map
    if tags.get(PROJECT_TAG[0]) != PROJECT_TAG[1]:
        return "not created by labctl"
    if candidate.subscription is not None and candidate.subscription in policy.blocked_subscriptions:
        return f"subscription {candidate.subscription} is blocked"
    key, value = policy.keep_tag
    if tags.get(key, "").lower() == value.lower():
        return f"tagged {key}={value}"
    if any(k == key and v.lower() == value.lower() for k, v in candidate.container_tags):
        return f"what holds it is tagged {key}={value}"
    # Everything inside a group answers to its group's name patterns too.
    names = [candidate.resource_group or candidate.name, candidate.name]
    if any(fnmatch.fnmatch(n, p) for n in names for p in policy.exclude):
        return "excluded by name"
    if policy.include and not any(fnmatch.fnmatch(n, p) for n in names for p in policy.include):
        return "not matched by --include"
    if policy.owner and tags.get("owner") != policy.owner:
        return f"owner is {tags.get('owner') or 'unset'}, not {policy.owner}"
    return None


def decide(candidate: Candidate, policy: Policy) -> Decision:
    """The one rule for dry and real runs. Everything not positively due is kept, with the reason."""
    protected = protection(candidate, policy)
    if protected is not None:
        return Decision(candidate, False, protected)
    tags = candidate.tag_map
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
    return Decision(candidate, False, "no expires-at tag" if "expires-at" not in tags else "expires-at unreadable")


def holds_back(candidate: Candidate, policy: Policy) -> str | None:
    """Why a resource inside an expired group stops the group's deletion (None when it may go with the group).
    Protected resources and resources whose own expires-at is later (or unreadable) hold their group back;
    one without an expires-at of its own goes when its group expires."""
    protected = protection(candidate, policy)
    if protected is not None:
        return protected
    raw = candidate.tag_map.get("expires-at")
    if raw is None:
        return None
    expires = parse_time(raw)
    if expires is None:
        return f"its expires-at {raw!r} is unreadable"
    if expires > policy.now:
        return f"expires at {expires.isoformat()}"
    return None


def _hours(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"


@dataclass(frozen=True)
class Step:
    # delete (an API call), force delete (a workspace, with forceDeletion, before its group), with group (its group's
    # deletion removes it), with workspace (a managed group: its workspace's forced deletion removes it), purge
    action: str
    candidate: Candidate
    reason: str
    group: str | None = None  # the group whose deletion this step needs (a force delete: the group it goes before)
    workspace: str | None = None  # "<group>/<workspace>" whose forced deletion this step needs


@dataclass
class Plan:
    """What a cleanup does: the real run executes `steps` in order, the dry run prints them; `kept` says why the
    rest stays."""

    steps: list[Step]
    kept: list[Decision]

    @property
    def decisions(self) -> list[Decision]:
        return [Decision(s.candidate, True, s.reason) for s in self.steps] + self.kept


def managed_group_owner(candidate: Candidate) -> str | None:
    """Why a managed resource group is not recognisably labctl's (None when it is). Azure Databricks tags it with its
    own tags, so labctl knows its managed groups by how it names them: the group is `<workspace's group>-databricks`
    (infra.config.LabNames.managed_resource_group), its `managedBy` workspace is `dbw-...` (LabNames.workspace), and
    the workspace's group, if it still exists, is tagged created-by=labctl."""
    from infra.config import LabNames

    group, workspace = candidate.managed_by or ("", "")
    expected = LabNames.model_construct(resource_group=group).managed_resource_group()
    if candidate.name.lower() != expected.lower():
        return f"not labctl's: managed by Databricks workspace {workspace}, but not named {expected}"
    if not workspace.lower().startswith("dbw-"):
        return f"not labctl's: its Databricks workspace {workspace} is not named dbw-..."
    if candidate.manager_group_exists and dict(candidate.container_tags).get(PROJECT_TAG[0]) != PROJECT_TAG[1]:
        return f"not labctl's: its workspace's resource group {group} is not tagged created-by=labctl"
    if not candidate.manager_group_exists and group.lower().removeprefix("rg-") != workspace.lower().removeprefix("dbw-"):
        # Nothing tagged is left to ask: only labctl's own pair of names (rg-<base>, dbw-<base>: LabNames) will do.
        return (f"not recognisably labctl's: its workspace's resource group {group} is gone, and the pair is not "
                f"labctl's rg-<name> / dbw-<name>")
    return None


def managed_group_protection(candidate: Candidate, policy: Policy) -> str | None:
    """What protects a managed group whatever its owner: the blocklist, the keep tag (on it or on its workspace's
    group), --exclude and --include (matching its name or its workspace's group's)."""
    group = (candidate.managed_by or ("", ""))[0]
    if candidate.subscription is not None and candidate.subscription in policy.blocked_subscriptions:
        return f"subscription {candidate.subscription} is blocked"
    key, value = policy.keep_tag
    if any(k == key and v.lower() == value.lower() for k, v in candidate.tags + candidate.container_tags):
        return f"tagged {key}={value}"
    names = [candidate.name, group]
    if any(fnmatch.fnmatch(n, p) for n in names for p in policy.exclude):
        return "excluded by name"
    if policy.include and not any(fnmatch.fnmatch(n, p) for n in names for p in policy.include):
        return "not matched by --include"
    return None


def _managed_group_plan(candidate: Candidate, policy: Policy, doomed: dict[str, Step], forced: set[str]) -> Step | Decision:
    """The step for a workspace's managed resource group, or why it is kept. Never one whose workspace exists (its
    deny assignment protects it; it goes with the workspace), never one that is not labctl's."""
    group, workspace = candidate.managed_by or ("", "")
    key = f"{group}/{workspace}".lower()
    holding = f" (holds {candidate.holds})" if candidate.holds else ""
    if candidate.manager_exists:
        protected = managed_group_protection(candidate, policy)
        if key in forced and protected is None:
            return Step("with workspace", candidate, f"goes with Databricks workspace {workspace}, deleted with "
                        f"forceDeletion{holding}", workspace=key)
        if protected is not None:
            return Decision(candidate, False, f"{protected}; its Databricks workspace {workspace} is not deleted with "
                                              "forceDeletion, so this group stays")
        return Decision(candidate, False, f"its Databricks workspace {workspace} still exists (it goes with the workspace)")
    why = managed_group_owner(candidate) or managed_group_protection(candidate, policy)
    owner = dict(candidate.container_tags).get("owner")
    if why is None and policy.owner and owner != policy.owner:
        why = f"owner is {owner or 'unknown (its workspace and resource group are gone)'}, not {policy.owner}"
    if why is not None:
        return Decision(candidate, False, why)
    left = f"left behind by Databricks workspace {workspace}, deleted without forceDeletion{holding}"
    if not candidate.manager_group_exists:
        return Step("delete", candidate, f"{left}; the workspace and its resource group {group} are gone")
    if group.lower() in doomed:
        return Step("delete", candidate, f"{left}; its workspace's resource group {group} is deleted ({doomed[group.lower()].reason})")
    return Decision(candidate, False, f"its workspace is gone, but its workspace's resource group {group} is kept")


def plan(candidates: list[Candidate], policy: Policy) -> Plan:
    groups = [c for c in candidates if c.kind == "resource_group"]
    inside: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        if candidate.kind not in ("resource_group", "deleted_account", "managed_group") and candidate.resource_group:
            inside.setdefault(candidate.resource_group.lower(), []).append(candidate)

    kept: list[Decision] = []
    doomed: dict[str, Step] = {}
    for group in groups:
        decision = decide(group, policy)
        if decision.delete:
            held = []
            for item in inside.get(group.name.lower(), []):
                # Deployments and clusters only hold their group back when protected: their age is their own
                # clock, not the group's.
                why = protection(item, policy) if item.kind not in INSIDE_GROUP else holds_back(item, policy)
                if why is not None:
                    held.append(f"{item.label} ({why})")
            if held:
                decision = Decision(group, False, f"{decision.reason}, but it holds what must be kept: {'; '.join(held)}")
        if decision.delete:
            doomed[group.name.lower()] = Step("delete", group, decision.reason)
        else:
            kept.append(decision)

    # Workspaces whose managed group must be kept: they go with their group without forceDeletion.
    keeps_managed_group = {"/".join(c.managed_by).lower() for c in candidates if c.kind == "managed_group"
                           and c.managed_by and c.manager_exists and managed_group_protection(c, policy) is not None}
    first, forced, orphans, later, purges = [], [], [], [], []
    for candidate in candidates:
        if candidate.kind in ("resource_group", "managed_group"):
            continue
        group_key = (candidate.resource_group or "").lower()
        if candidate.kind == "deleted_account":
            decision = decide(candidate, policy)
            if decision.delete:
                purges.append(Step("purge", candidate, decision.reason))
            else:
                kept.append(decision)
        elif candidate.kind == "workspace" and group_key in doomed and \
                f"{candidate.resource_group}/{candidate.name}".lower() not in keeps_managed_group:
            forced.append(Step("force delete", candidate, f"goes with resource group {candidate.resource_group}; "
                               "deleted first, with forceDeletion, so that its managed resource group goes too",
                               candidate.resource_group))
        elif candidate.kind in INSIDE_GROUP:
            if group_key in doomed:
                goes = f"goes with resource group {candidate.resource_group}"
                action = "purge" if candidate.kind == "account" else "with group"
                later.append(Step(action, candidate, goes + (", then purged" if action == "purge" else ""),
                                  candidate.resource_group))
            else:
                why = protection(candidate, policy) or f"its resource group {candidate.resource_group} is kept"
                kept.append(Decision(candidate, False, why))
        else:  # fine-tuned deployments and clusters: on their own clock, or with their group
            decision = decide(candidate, policy)
            if decision.delete:
                first.append(Step("delete", candidate, decision.reason))
            elif group_key in doomed:
                later.append(Step("with group", candidate, f"goes with resource group {candidate.resource_group}",
                                  candidate.resource_group))
            else:
                kept.append(decision)
    forced_keys = {f"{s.candidate.resource_group}/{s.candidate.name}".lower() for s in forced}
    for candidate in candidates:
        if candidate.kind == "managed_group":
            outcome = _managed_group_plan(candidate, policy, doomed, forced_keys)
            if isinstance(outcome, Decision):
                kept.append(outcome)
            else:
                (later if outcome.action == "with workspace" else orphans).append(outcome)
    later.sort(key=lambda s: s.action == "purge")  # what goes with a group, then the purges of its accounts
    return Plan(first + forced + list(doomed.values()) + orphans + later + purges, kept)


# Discovery and execution -----------------------------------------------------------------------------


def _tags(mapping) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in (mapping or {}).items()))


def discover(target, progress: Callable[[str], None]) -> list[Candidate]:
    """Every resource group; inside each labctl group, every resource (accounts, workspaces, anything else) with
    its own tags, the fine-tuned deployments of its accounts and the running clusters of its workspaces; and every
    soft-deleted account."""
    resources = target.resources()
    cognitive = target.cognitive()
    sub = target.subscription_id
    found: list[Candidate] = []
    every = list(resources.resource_groups.list())
    by_name = {g.name.lower(): g for g in every}
    for group in every:
        tags = dict(group.tags or {})
        manager = _managing_workspace(group)
        if manager is not None:
            found.append(_managed_group(target, resources, group, manager, by_name, sub))
            continue
        found.append(Candidate("resource_group", group.name, group.name, group.location, _tags(tags), subscription=sub))
        if tags.get(PROJECT_TAG[0]) != PROJECT_TAG[1]:
            continue
        for resource in resources.resources.list_by_resource_group(group.name):
            own = dict(resource.tags or {})
            kind = {"microsoft.cognitiveservices/accounts": "account",
                    "microsoft.databricks/workspaces": "workspace"}.get((resource.type or "").lower(), "resource")
            found.append(Candidate(kind, resource.name, group.name, resource.location, _tags(own),
                                   container_tags=_tags(tags), subscription=sub, type=resource.type))
            held_by = _tags(tags) + _tags(own)  # a keep tag on the group or on this resource protects what is in it
            if kind == "account":
                for deployment in cognitive.deployments.list(group.name, resource.name):
                    if ".ft-" in (deployment.properties.model.name or ""):
                        created = deployment.system_data.created_at if deployment.system_data else None
                        found.append(Candidate("fine_tuned_deployment", deployment.name, group.name, resource.location,
                                               _tags(own), created, resource.name, held_by, sub))
            elif kind == "workspace":
                found += _clusters(target, resources, group.name, resource, own, held_by, sub, progress)
    for account in cognitive.deleted_accounts.list():
        rg = account.id.split("/resourceGroups/")[1].split("/")[0] if "/resourceGroups/" in account.id else None
        found.append(Candidate("deleted_account", account.name, rg, account.location, _tags(account.tags),
                               subscription=sub))
    return found


def _managing_workspace(group) -> tuple[str, str] | None:
    """(resource group, name) of the Databricks workspace whose managed resource group this is (ARM `managedBy`)."""
    from agent.provision.workspace_deletion import parse_workspace_id

    try:
        return parse_workspace_id(getattr(group, "managed_by", None) or "")
    except ValueError:
        return None


def _managed_group(target, resources, group, manager: tuple[str, str], by_name: dict, sub) -> Candidate:
    """A managed resource group, with whether its workspace and the workspace's group exist (a look that cannot tell
    counts as existing: then it is kept) and what it holds."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        target.databricks().workspaces.get(*manager)
        exists = True
    except ResourceNotFoundError:
        exists = False
    except Exception:  # noqa: BLE001 - cannot tell: keep it
        exists = True
    parent = by_name.get(manager[0].lower())
    try:
        holds = ", ".join(f"{_RESOURCE_WORDS.get((r.type or '').lower(), r.type)} {r.name}"
                          for r in resources.resources.list_by_resource_group(group.name))
    except Exception:  # noqa: BLE001 - what it holds is only said
        holds = ""
    return Candidate("managed_group", group.name, group.name, group.location, _tags(group.tags),
                     container_tags=_tags(parent.tags) if parent is not None else (), subscription=sub,
                     managed_by=manager, manager_exists=exists, manager_group_exists=parent is not None, holds=holds)


_RESOURCE_WORDS = {"microsoft.storage/storageaccounts": "storage account",
                   "microsoft.databricks/accessconnectors": "access connector"}


def _clusters(target, resources, group: str, resource, tags: dict, held_by, sub, progress) -> list[Candidate]:
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
            found.append(Candidate("cluster", cluster.cluster_id, group, resource.location, _tags(merged),
                                   parent=f"{host}|{resource.id}", container_tags=held_by, subscription=sub))
    return found


@dataclass
class Outcome:
    candidate: Candidate
    action: str | None  # the step's action; None for what is kept
    status: str  # kept, would delete, would purge, deleted, purged, failed, skipped
    reason: str
    error: str | None = None

    def as_dict(self) -> dict:
        c = self.candidate
        return {"kind": c.kind, "name": c.name, "resource_group": c.resource_group, "action": self.action,
                "status": self.status, "reason": self.reason, "error": self.error}


STATUSES = ("would delete", "would purge", "deleted", "purged", "kept", "failed", "skipped")


def execute(target, the_plan: Plan, delete: bool, progress: Callable[[str], None]) -> list[Outcome]:
    """The dry run reports the plan's steps; the real run performs exactly those steps, in order, and nothing else.
    A step whose group was not deleted is skipped."""
    done: list[Outcome] = []
    deleted_groups: set[str] = set()
    forced: set[str] = set()  # "<group>/<workspace>" deleted with forceDeletion
    for step in the_plan.steps:
        candidate = step.candidate
        if not delete:
            done.append(Outcome(candidate, step.action, "would purge" if step.action == "purge" else "would delete",
                                step.reason))
            continue
        # A force delete comes before its group's deletion: it needs nothing.
        if step.group is not None and step.action != "force delete" and step.group.lower() not in deleted_groups:
            done.append(Outcome(candidate, step.action, "skipped", step.reason,
                                f"resource group {step.group} was not deleted"))
            continue
        if step.workspace is not None and step.workspace not in forced:
            done.append(Outcome(candidate, step.action, "skipped", step.reason,
                                f"Databricks workspace {step.workspace.split('/')[-1]} was not deleted"))
            continue
        try:
            if step.action == "delete":
                _delete(target, candidate)
                if candidate.kind == "resource_group":
                    deleted_groups.add(candidate.name.lower())
                status = "deleted"
            elif step.action == "force delete":
                from agent.provision.workspace_deletion import force_delete_named

                force_delete_named(target, candidate.resource_group, candidate.name, lambda _: None)
                forced.add(f"{candidate.resource_group}/{candidate.name}".lower())
                status = "deleted"
            elif step.action == "purge":
                target.cognitive(retry_conflicts=True).deleted_accounts.begin_purge(
                    candidate.location, candidate.resource_group, candidate.name).result()
                status = "purged"
            else:  # with group / with workspace: that deletion removed it
                status = "deleted"
            done.append(Outcome(candidate, step.action, status, step.reason))
            if step.action not in ("with group", "with workspace"):
                progress(f"{status} {candidate.label}")
        except Exception as error:  # carry on with the others; the failure is reported
            done.append(Outcome(candidate, step.action, "failed", step.reason, str(error).splitlines()[0][:300]))
            progress(f"failed to {step.action} {candidate.label}: {error}")
    return done + [Outcome(d.candidate, None, "kept", d.reason) for d in the_plan.kept]


def _delete(target, candidate: Candidate) -> None:
    if candidate.kind == "fine_tuned_deployment":
        target.cognitive(retry_conflicts=True).deployments.begin_delete(
            candidate.resource_group, candidate.parent, candidate.name).result()
    elif candidate.kind == "cluster":
        host, resource_id = candidate.parent.split("|", 1)
        target.workspace_client_for(host, resource_id).clusters.delete(candidate.name)
    elif candidate.kind in ("resource_group", "managed_group"):
        target.resources(retry_conflicts=True).resource_groups.begin_delete(candidate.name).result()
    else:
        raise ValueError(f"cleanup does not delete a {candidate.kind} on its own")
