"""`labctl status`: what exists for a stack, and what keeps costing money while it exists.

A stack whose main resources (resource group, Azure OpenAI account, Databricks workspace, cluster) are not all
there any more, typically after a `down` that did not finish, is "partly down" (or "down" when none is left
but labctl's state still names them): `status` lists what is left and the CLI exits 1, as for any command that
finds something left behind (README, exit codes)."""

from __future__ import annotations

from agent.errors import LabctlError, UsageError
from agent.journal import Journal
from agent.outputs import StackOutputs
from agent.target import load_target
from agent.workdir import CorruptState

# The Microsoft.Databricks api-version labctl's infra uses (pulumi-azure-native 3.23.0+; reference/azure-facts.md).
DATABRICKS_ARM_API = "2026-01-01"


def status(stack: str) -> dict:
    """{stack, target, outputs, state ("up" | "partly up" | "partly down" | "down"), present[], missing[], cluster,
    active_runs[], journal[], accruing[]} (+ unreachable: one sentence, when a service could not be asked)."""
    try:
        outputs = StackOutputs.load(stack)
    except CorruptState:
        raise  # a damaged outputs.json is named as such
    except UsageError as not_up:
        return _partly_up(stack, not_up)
    journal = Journal(stack)
    report: dict = {"stack": stack, "target": outputs.target, "outputs": outputs.model_dump(by_alias=True),
                    "state": "up", "present": [], "missing": [], "cluster": None, "active_runs": [], "journal": [],
                    "accruing": []}
    for entry in journal.entries():
        if entry["kind"] in ("run", "finetune-job", "finetune-deployment", "finetune-file", "purge"):
            report["journal"].append({"kind": entry["kind"], "status": entry["status"],
                                      **{k: v for k, v in entry["data"].items() if k != "parameters"}})
    try:
        target = load_target(stack)
        workspace_there = _presence(target, outputs, report)
        if workspace_there:
            _databricks(target, outputs, report)
        if f"Azure OpenAI account {outputs.openai_account_name}" in report["present"]:
            for deployment in target.cognitive().deployments.list(outputs.resource_group_name,
                                                                  outputs.openai_account_name):
                if ".ft-" in (deployment.properties.model.name or ""):
                    report["accruing"].append(f"fine-tuned deployment {deployment.name}: hosting is billed per hour")
    except CorruptState:
        raise  # a damaged state file is the user's to fix, not an unreachable service
    except LabctlError as error:
        report["unreachable"] = error.message
    if report["missing"]:
        report["state"] = "partly down" if report["present"] else "down"
    return report


def _partly_up(stack: str, not_up: UsageError) -> dict:
    """A stack without outputs whose `up` stopped half-way (Ctrl-C, a failure): what its recorded state says exists,
    looked up as `labctl down` plans (agent.lifecycle.down_plan), so what costs money is listed. Re-raises `not_up`
    when nothing is recorded or nothing recorded exists."""
    from agent.lifecycle.down_plan import plan
    from agent.workdir import read_target, stack_path

    folder = stack_path(stack)
    if not folder.is_dir() or read_target(folder) is None:
        raise not_up
    target = load_target(stack)
    present = plan(target, stack, Journal(stack)).delete
    if not present:
        raise not_up
    return {"stack": stack, "target": target.kind, "outputs": None, "state": "partly up", "present": present,
            "missing": [], "cluster": None, "active_runs": [], "journal": [], "accruing": []}


def _presence(target, outputs: StackOutputs, report: dict) -> bool:
    """Sort the stack's resource group, account and workspace into present/missing (ARM GETs); True when the
    workspace is there."""
    from azure.core.exceptions import ResourceNotFoundError

    def there(what: str, look) -> bool:
        try:
            found = look()
        except ResourceNotFoundError:
            found = False
        report["present" if found is not False else "missing"].append(what)
        return found is not False

    resources = target.resources()
    there(f"resource group {outputs.resource_group_name}",
          lambda: resources.resource_groups.check_existence(outputs.resource_group_name) or False)
    account = there(f"Azure OpenAI account {outputs.openai_account_name}",
                    lambda: target.cognitive().accounts.get(outputs.resource_group_name, outputs.openai_account_name))
    if not account:
        try:
            target.cognitive().deleted_accounts.get(outputs.location, outputs.resource_group_name,
                                                   outputs.openai_account_name)
            report["present"].append(f"soft-deleted account {outputs.openai_account_name} (not purged)")
        except ResourceNotFoundError:
            pass
    return there(f"Databricks workspace {outputs.workspace_name}",
                 lambda: resources.resources.get_by_id(outputs.workspace_resource_id, api_version=DATABRICKS_ARM_API))


def _databricks(target, outputs: StackOutputs, report: dict) -> None:
    from databricks.sdk.errors import NotFound, ResourceDoesNotExist

    w = target.workspace_client(outputs)
    cluster = None
    if outputs.cluster_id:  # none: serverless compute
        try:
            cluster = w.clusters.get(outputs.cluster_id)
        except (NotFound, ResourceDoesNotExist):
            report["missing"].append(f"cluster {outputs.cluster_id}")
    if cluster is not None:
        report["present"].append(f"cluster {outputs.cluster_id}")
        report["cluster"] = {"id": cluster.cluster_id, "state": cluster.state.value,
                             "autotermination_minutes": cluster.autotermination_minutes}
        if cluster.state.value in ("RUNNING", "PENDING", "RESIZING", "RESTARTING"):
            report["accruing"].append(f"cluster {cluster.cluster_id} is {cluster.state.value} ({outputs.tags.get('expires-at', '')} "
                                      f"expiry; auto-terminates after {cluster.autotermination_minutes} idle minutes): "
                                      "VM and DBU charges")
    if outputs.compute == "serverless":
        # Serverless DBUs are billed per run while it runs; nothing accrues between runs.
        report["compute"] = "serverless (no cluster; billed per run)"
    report["active_runs"] = [{"run_id": r.run_id, "name": r.run_name, "state": r.state.life_cycle_state.value}
                             for r in w.jobs.list_runs(active_only=True)]
