"""The managed resource group of a stack's Azure Databricks workspace, which `down` must also prove gone.

Azure creates it with the workspace (`managedBy` the workspace: pulumi/pulumi-azure-native#3733), outside labctl's
own resource group. A workspace deleted without forceDeletion leaves it behind, holding the DBFS storage account
and the Unity Catalog access connector ("Delete a workspace", learn.microsoft.com/azure/databricks/admin/workspace/
delete-workspace); `down` deletes the workspace with forceDeletion (agent.provision.workspace_deletion), and deletes
a group that an earlier deletion without it left (a previous labctl, the portal): once its workspace is gone, the
Databricks deny assignment is gone too and the group's owner may delete it.

`down` journals each managed group (kind "managed-group", {group, workspace_group, workspace}) before it destroys
anything, so a rerun still knows it after the workspace and the stack's state are gone; an entry stays until the
group is confirmed gone. A group is the stack's only while its `managedBy` names the stack's workspace: labctl never
touches a group that another resource manages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from agent.journal import Journal
from agent.target import Target

KIND = "managed-group"
# What stays in a managed group after a deletion without force, as the plan and the report call it.
LABELS = {"microsoft.storage/storageaccounts": "storage account",
          "microsoft.databricks/accessconnectors": "access connector"}


@dataclass(frozen=True)
class ManagedGroup:
    group: str  # the managed resource group's name
    workspace_group: str  # the resource group of the workspace that manages it
    workspace: str  # that workspace's name

    @property
    def label(self) -> str:
        return f"managed resource group {self.group}"


def known(target: Target, stack: str, journal: Journal, outputs=None, groups: set[str] = frozenset()) -> list[ManagedGroup]:
    """The stack's managed groups: journaled ones, then those its state (the sandbox's or Pulumi's) and outputs.json
    name, then those of workspaces in the stack's own resource groups `groups` that nothing recorded (an `up` killed
    while Azure created the workspace), without repeats."""
    found = [ManagedGroup(**e["data"]) for e in journal.entries(KIND)]
    found += _in_state(target, stack) + _in_outputs(target, outputs) + _of_groups(target, groups)
    unique: dict[str, ManagedGroup] = {}
    for group in found:
        unique.setdefault(group.group.lower(), group)
    return list(unique.values())


def remember(target: Target, stack: str, journal: Journal, outputs=None,
             stack_groups: set[str] = frozenset()) -> list[ManagedGroup]:
    """Journal every managed group of the stack not journaled yet; returns them all."""
    groups = known(target, stack, journal, outputs, stack_groups)
    journaled = {e["data"]["group"].lower() for e in journal.entries(KIND)}
    for group in groups:
        if group.group.lower() not in journaled:
            journal.begin(KIND, asdict(group))
    return groups


def _in_state(target: Target, stack: str) -> list[ManagedGroup]:
    from agent.provision.workspace_deletion import parse_workspace_id

    found = []
    if target.kind == "sandbox":
        from agent.provision.sandbox import SandboxState

        for entry in SandboxState(stack).entries:
            managed = (entry.get("outputs") or {}).get("managedResourceGroupId")
            if entry["type"] == "azure-native:databricks:Workspace" and managed:
                found.append(ManagedGroup(_last(managed), *parse_workspace_id(entry["teardown"]["resource_id"])))
    else:
        from agent.provision import cloud

        found += [ManagedGroup(w["managed_group"], w["resource_group"], w["workspace"])
                  for w in cloud.workspaces_in_state(stack) if w["managed_group"]]
    return found


def _in_outputs(target: Target, outputs) -> list[ManagedGroup]:
    """From outputs.json (when the state is damaged or already cleared): the workspace's `managedResourceGroupId` as
    ARM answers it, or, once the workspace is gone, the name infra gives it (infra.config.LabNames)."""
    from azure.core.exceptions import ResourceNotFoundError

    from agent.provision.workspace_deletion import parse_workspace_id
    from infra.config import LabNames

    if outputs is None or not outputs.workspace_resource_id:
        return []
    try:
        group, name = parse_workspace_id(outputs.workspace_resource_id)
    except ValueError:  # not a workspace's ARM id: nothing to derive from it
        return []
    try:
        managed = target.databricks().workspaces.get(group, name).managed_resource_group_id
    except ResourceNotFoundError:
        managed = LabNames.model_construct(resource_group=outputs.resource_group_name).managed_resource_group()
    except Exception:  # noqa: BLE001 - ARM cannot tell now: the state or the journal names it, or a rerun will
        return []
    return [ManagedGroup(_last(managed), group, name)] if managed else []


def _of_groups(target: Target, groups: set[str]) -> list[ManagedGroup]:
    """The managed group infra names for a workspace in each of `groups` (`<group>-databricks`,
    infra.config.LabNames.managed_resource_group), when it exists and its `managedBy` is a workspace in that group."""
    from azure.core.exceptions import ResourceNotFoundError

    from agent.provision.workspace_deletion import parse_workspace_id
    from infra.config import LabNames

    found = []
    for group in sorted(groups):
        name = LabNames.model_construct(resource_group=group).managed_resource_group()
        try:
            managed_by = target.resources().resource_groups.get(name).managed_by or ""
            workspace_group, workspace = parse_workspace_id(managed_by)
        except (ResourceNotFoundError, ValueError):
            continue
        except Exception:  # noqa: BLE001 - ARM cannot tell now: verification asks again
            continue
        if workspace_group.lower() == group.lower():
            found.append(ManagedGroup(name, workspace_group, workspace))
    return found


def _last(resource_id: str) -> str:
    return resource_id.rstrip("/").split("/")[-1]


def look(target: Target, managed: ManagedGroup) -> str:
    """"gone"; "not the stack's" (it exists, but its `managedBy` names another resource); "with its workspace" (the
    workspace still exists: deleting it with forceDeletion takes the group); or "left behind" (its workspace is gone).
    Raises what ARM raised when it cannot tell."""
    from azure.core.exceptions import ResourceNotFoundError

    from agent.provision.workspace_deletion import parse_workspace_id

    try:
        group = target.resources().resource_groups.get(managed.group)
    except ResourceNotFoundError:
        return "gone"
    try:
        manager = parse_workspace_id(group.managed_by or "")
    except ValueError:
        return "not the stack's"
    if (manager[0].lower(), manager[1].lower()) != (managed.workspace_group.lower(), managed.workspace.lower()):
        return "not the stack's"
    try:
        target.databricks().workspaces.get(managed.workspace_group, managed.workspace)
        return "with its workspace"
    except ResourceNotFoundError:
        return "left behind"


def contents(target: Target, managed: ManagedGroup) -> str:
    """What the group holds, in words ("storage account dbstorage..., access connector ..."); "" when empty."""
    inside = target.resources().resources.list_by_resource_group(managed.group)
    return ", ".join(f"{LABELS.get((r.type or '').lower(), r.type)} {r.name}" for r in inside)


def describe(target: Target, managed: ManagedGroup, live: bool = False) -> str:
    """The group as the plan and the report name it: whose it is (`live`: its workspace still exists) and what it
    holds."""
    try:
        held = contents(target, managed)
    except Exception:  # noqa: BLE001 - what it holds is detail; the group itself is what counts
        held = ""
    whose = "of" if live else "left by"
    return (f"{managed.label} ({whose} Databricks workspace {managed.workspace}"
            + (f", holding {held})" if held else ")"))


def delete_left_behind(target: Target, journal: Journal, progress: Callable[[str], None]) -> tuple[list[str], list[str]]:
    """Delete each journaled managed group whose workspace is gone; forget the entries of groups that are gone or not
    the stack's. Returns (what was deleted, one sentence per failure); a group whose workspace still exists stays
    journaled (its workspace's deletion failed: that is reported already, and verification lists the group)."""
    from azure.core.exceptions import ResourceNotFoundError

    from agent.errors import describe_service_error

    deleted, failures = [], []
    for entry in journal.entries(KIND):
        managed = ManagedGroup(**entry["data"])
        try:
            state = look(target, managed)
        except Exception as error:  # noqa: BLE001 - cannot tell: it stays journaled, and verification says so
            failures.append(f"{managed.label}: {describe_service_error(error) or error}")
            continue
        if state == "with its workspace":
            continue
        if state == "left behind":
            what = describe(target, managed)
            progress(what)
            try:
                target.resources(retry_conflicts=True).resource_groups.begin_delete(managed.group).result()
            except ResourceNotFoundError:
                pass
            except Exception as error:  # noqa: BLE001 - a second look decides
                try:
                    still = look(target, managed) != "gone"
                except Exception:  # noqa: BLE001
                    still = True
                if still:
                    failures.append(f"{managed.label}: {describe_service_error(error) or error}")
                    continue
            deleted.append(what)
        journal.remove(entry["id"])
    return deleted, failures


def leftovers(target: Target, groups: list[ManagedGroup]) -> list[str]:
    """Verification through ARM: each of the stack's managed groups that still exists (named, with what it holds)."""
    left = []
    for managed in groups:
        try:
            state = look(target, managed)
        except Exception as error:  # noqa: BLE001 - not proven gone
            left.append(f"{managed.label} (ARM could not tell whether it is gone: {error})")
            continue
        if state in ("with its workspace", "left behind"):
            left.append(describe(target, managed, live=state == "with its workspace"))
    return left
