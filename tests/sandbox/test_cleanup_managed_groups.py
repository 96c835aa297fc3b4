"""Cleanup and the managed resource groups of Databricks workspaces, in the twin through the real SDKs.

A workspace deleted without forceDeletion leaves its managed group, holding the DBFS storage account and the access
connector (learn.microsoft.com/azure/databricks/admin/workspace/delete-workspace); deleting the workspace's resource
group deletes the workspace without it too. The group carries Databricks' tags, not labctl's: cleanup knows labctl's by
their names (`<group>-databricks`, workspace `dbw-...`, infra.config.LabNames) and never touches one whose workspace
still exists (Azure's deny assignment, microsoft/AzureTRE#4776) or that is not labctl's."""

import datetime as dt

from azure.mgmt.databricks import AzureDatabricksManagementClient
from azure.mgmt.databricks.models import Sku, Workspace, WorkspaceProperties

from agent.cleanup import Policy, discover, execute, plan
from agent.target import sandbox_target
from sandbox.credentials import SandboxCredential

NOW = dt.datetime.now(dt.timezone.utc)
PAST, FUTURE = (NOW - dt.timedelta(hours=1)).isoformat(), (NOW + dt.timedelta(hours=8)).isoformat()


def labctl_tags(expires: str) -> dict:
    return {"created-by": "labctl", "owner": "alice", "expires-at": expires}


def workspace(sandbox, group: str, name: str, managed: str, tags: dict | None = None) -> AzureDatabricksManagementClient:
    client = AzureDatabricksManagementClient(SandboxCredential(), sandbox.sub, **sandbox.arm_kwargs())
    sandbox.resources().resource_groups.create_or_update(group, {"location": "eastus2", "tags": tags or {}})
    client.workspaces.begin_create_or_update(group, name, Workspace(
        location="eastus2", sku=Sku(name="premium"), tags=tags or {}, properties=WorkspaceProperties(
            compute_mode="Hybrid", managed_resource_group_id=f"/subscriptions/{sandbox.sub}/resourceGroups/{managed}"))
    ).result()
    return client


def test_cleanup_finds_labctls_managed_groups_and_only_those(sandbox):
    # An expired lab: its workspace goes first, with forceDeletion, and its managed group with it.
    workspace(sandbox, "rg-labctl-c1", "dbw-labctl-c1", "rg-labctl-c1-databricks", labctl_tags(PAST))
    # A lab whose group was deleted the old way (the workspace with it, without force): an orphan.
    workspace(sandbox, "rg-labctl-c2", "dbw-labctl-c2", "rg-labctl-c2-databricks", labctl_tags(FUTURE))
    sandbox.resources().resource_groups.begin_delete("rg-labctl-c2").result()
    # Someone's live workspace: its managed group is its workspace's.
    workspace(sandbox, "rg-team", "dbw-team", "rg-team-databricks")
    # Someone's workspace deleted without force: its retained data is theirs, not labctl's to delete.
    workspace(sandbox, "rg-data", "analytics", "rg-data-managed").workspaces.begin_delete("rg-data", "analytics").result()
    workspace(sandbox, "rg-x", "dbw-x", "rg-x-databricks").workspaces.begin_delete("rg-x", "dbw-x").result()
    # A lab still running whose workspace was deleted without force: its managed group waits for its lab's group.
    workspace(sandbox, "rg-labctl-c5", "dbw-labctl-c5", "rg-labctl-c5-databricks",
              labctl_tags(FUTURE)).workspaces.begin_delete("rg-labctl-c5", "dbw-labctl-c5").result()
    # Someone's group deleted with its dbw- workspace inside: nothing tagged is left, and the names are not labctl's
    # own pair (rg-<name>, dbw-<name>), so its retained data stays.
    workspace(sandbox, "rg-sales", "dbw-forecast", "rg-sales-databricks")
    sandbox.resources().resource_groups.begin_delete("rg-sales").result()

    target = sandbox_target(sandbox.endpoints)
    policy = Policy(now=NOW)
    dry = execute(target, plan(discover(target, print), policy), delete=False, progress=print)
    managed = {o.candidate.name: o for o in dry if o.candidate.kind == "managed_group"}
    assert {name: o.status for name, o in managed.items()} == {
        "rg-labctl-c1-databricks": "would delete", "rg-labctl-c2-databricks": "would delete",
        "rg-team-databricks": "kept", "rg-data-managed": "kept", "rg-x-databricks": "kept",
        "rg-labctl-c5-databricks": "kept", "rg-sales-databricks": "kept"}
    assert "not recognisably labctl's" in managed["rg-sales-databricks"].reason
    assert "deleted with forceDeletion" in managed["rg-labctl-c1-databricks"].reason
    orphan = managed["rg-labctl-c2-databricks"].reason
    assert "left behind by Databricks workspace dbw-labctl-c2" in orphan and "storage account dbstorage" in orphan
    assert "access connector" in orphan
    assert "still exists" in managed["rg-team-databricks"].reason
    assert managed["rg-data-managed"].reason.startswith("not labctl's")
    assert "not tagged created-by=labctl" in managed["rg-x-databricks"].reason
    assert "rg-labctl-c5 is kept" in managed["rg-labctl-c5-databricks"].reason
    forced = [o for o in dry if o.candidate.kind == "workspace"]
    assert [(o.candidate.name, o.action, o.status) for o in forced] == [("dbw-labctl-c1", "force delete", "would delete")]

    real = execute(target, plan(discover(target, print), policy), delete=True, progress=print)
    # The real run does what the dry run said, and nothing else.
    done = {"would delete": "deleted", "would purge": "purged", "kept": "kept"}
    assert [(o.candidate.kind, o.candidate.name, done[o.status]) for o in dry] == \
        [(o.candidate.kind, o.candidate.name, o.status) for o in real]
    groups = {g.name for g in sandbox.resources().resource_groups.list()}
    assert groups == {"rg-team", "rg-team-databricks", "rg-data", "rg-data-managed", "rg-x", "rg-x-databricks",
                      "rg-labctl-c5", "rg-labctl-c5-databricks", "rg-sales-databricks"}


def test_a_managed_group_excluded_by_name_stays_when_its_labs_group_is_deleted(sandbox):
    """--exclude protects the managed group: its workspace then goes with its group, without forceDeletion."""
    workspace(sandbox, "rg-labctl-c7", "dbw-labctl-c7", "rg-labctl-c7-databricks", labctl_tags(PAST))
    target = sandbox_target(sandbox.endpoints)
    policy = Policy(now=NOW, exclude=["*-c7-databricks"])
    real = execute(target, plan(discover(target, print), policy), delete=True, progress=print)
    outcome = {o.candidate.name: o for o in real}
    assert outcome["rg-labctl-c7"].status == "deleted"
    assert (outcome["dbw-labctl-c7"].action, outcome["dbw-labctl-c7"].status) == ("with group", "deleted")
    assert outcome["rg-labctl-c7-databricks"].status == "kept"
    assert "excluded by name" in outcome["rg-labctl-c7-databricks"].reason
    assert sandbox.resources().resource_groups.check_existence("rg-labctl-c7-databricks")
