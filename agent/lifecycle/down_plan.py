"""What `labctl down` will delete, looked up before it deletes anything: each recorded resource either exists (it
will be deleted) or is already gone (a sandbox that restarted, a deletion by hand in the portal). The plan is shown
by `down` and is all that `down --dry-run` does.

Existence is asked of the service that owns each object (ARM for groups, accounts, deployments and workspaces;
the workspace's Databricks APIs for clusters, secrets, schemas, volumes, grants), the same second look `down`
makes after a failed delete; a look that cannot tell counts as "exists" (it will be tried, and reported if it fails).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.journal import Journal
from agent.target import Target

# What each recorded Pulumi type is called in the plan; providers and random suffixes are not resources.
LABELS = {
    "azure-native:resources:ResourceGroup": ("resource group", "resource_group"),
    "azure-native:cognitiveservices:Account": ("Azure OpenAI account", "account"),
    "azure-native:cognitiveservices:Deployment": ("deployment", "deployment"),
    "azure-native:cognitiveservices:Project": ("Foundry project", "project"),
    "azure-native:databricks:Workspace": ("Databricks workspace", None),
    "databricks:index/cluster:Cluster": ("cluster", "cluster_id"),
    "databricks:index/secretScope:SecretScope": ("secret scope", "scope"),
    "databricks:index/secret:Secret": ("secret", "key"),
    "databricks:index/secretAcl:SecretAcl": ("secret ACL of", "principal"),
    "databricks:index/schema:Schema": ("schema", "schema"),
    "databricks:index/volume:Volume": ("volume", "volume"),
    "databricks:index/grant:Grant": ("grant to", "principal"),
}


@dataclass
class DownPlan:
    delete: list[str] = field(default_factory=list)  # exists now: down deletes it
    gone: list[str] = field(default_factory=list)  # recorded, but no longer exists: nothing to do
    gone_keys: set[str] = field(default_factory=set)  # sandbox-state keys of what is gone (down forgets them)

    def as_dict(self) -> dict:
        return {"delete": self.delete, "gone": self.gone}


def label(entry: dict) -> str:
    kind, field_name = LABELS[entry["type"]]
    if field_name is None:
        return f"{kind} {entry['outputs'].get('workspaceName') or entry['name']}"
    return f"{kind} {entry['teardown'].get(field_name) or entry['name']}"


def plan(target: Target, stack: str, journal: Journal, outputs=None, groups: set[str] = frozenset()) -> DownPlan:
    """The plan for the stack's recorded resources (sandbox state, or Pulumi's state on Azure), for what the
    labs created outside Pulumi (the journal's fine-tuned deployments) and for its workspace's managed resource group
    (agent.lifecycle.managed_groups: it goes with the workspace, deleted with forceDeletion, or, left behind by an
    earlier deletion without it, on its own)."""
    result = DownPlan()
    for entry in journal.entries("finetune-deployment"):
        data = entry["data"]
        _place(result, f"fine-tuned deployment {data['deployment']}", _exists(
            lambda d=data: target.cognitive().deployments.get(d["resource_group"], d["account"], d["deployment"])))
    if target.kind == "sandbox":
        _sandbox(target, stack, result)
    else:
        _cloud(target, stack, result)
    # Every account down deletes is purged after it (Azure keeps a deleted account soft-deleted for 48 hours), and
    # so is one an earlier down deleted but did not purge.
    purged = [what.removeprefix("Azure OpenAI account ") for what in result.delete if what.startswith("Azure OpenAI account ")]
    for entry in journal.entries("purge"):
        data = entry["data"]
        if data["account"] not in purged and _exists(lambda d=data: target.cognitive().deleted_accounts.get(
                d["location"], d["resource_group"], d["account"])):
            purged.append(data["account"])
    result.delete += [f"purge of the soft-deleted account {account}" for account in purged]
    _managed_groups(target, stack, journal, outputs, groups, result)
    return result


def _managed_groups(target: Target, stack: str, journal: Journal, outputs, groups: set[str], result: DownPlan) -> None:
    from agent.lifecycle import managed_groups

    for managed in managed_groups.known(target, stack, journal, outputs, groups):
        try:
            state = managed_groups.look(target, managed)
        except Exception:  # noqa: BLE001 - cannot tell: down will look again, and verify
            state = "left behind"
        if state == "with its workspace":
            result.delete.append(f"{managed.label} (with its workspace: forceDeletion)")
        elif state == "left behind":
            result.delete.append(managed_groups.describe(target, managed))


def _place(result: DownPlan, what: str, exists: bool, key: str | None = None) -> None:
    if exists:
        result.delete.append(what)
    else:
        result.gone.append(what)
        if key is not None:
            result.gone_keys.add(key)


def _exists(look) -> bool:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        look()
        return True
    except ResourceNotFoundError:
        return False
    except Exception:  # noqa: BLE001 - cannot tell: down will try it and report a failure
        return True


def _sandbox(target: Target, stack: str, result: DownPlan) -> None:
    from agent.provision.sandbox import SandboxState, _confirmed_gone, _provider_name, _ProviderGone

    state = SandboxState(stack)
    providers = {e["name"]: e for e in state.entries if e["type"].startswith("pulumi:providers:")}
    clients: dict[str, Any] = {}

    def workspace(provider_ref: str):
        name = _provider_name(provider_ref)
        if name not in providers:
            raise _ProviderGone(name)
        if name not in clients:
            outputs = providers[name]["outputs"]
            clients[name] = target.workspace_client_for(outputs["host"], outputs["azureWorkspaceResourceId"])
        return clients[name]

    for entry in reversed(state.entries):
        if entry["type"] not in LABELS:
            continue
        _place(result, label(entry), not _confirmed_gone(target, workspace, entry), entry["key"])


def _cloud(target: Target, stack: str, result: DownPlan) -> None:
    """On Azure, Pulumi's state names the groups and accounts; everything else lives inside them."""
    from agent.provision import cloud

    resources = target.resources()
    for group in filter(None, cloud.groups_in_state(stack)):
        _place(result, f"resource group {group}", resources.resource_groups.check_existence(group))
    for account in cloud.accounts_in_state(stack):
        _place(result, f"Azure OpenAI account {account['account']}", _exists(
            lambda a=account: target.cognitive().accounts.get(a["resource_group"], a["account"])))
