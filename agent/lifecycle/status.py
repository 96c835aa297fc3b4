"""`labctl status`: what exists for a stack, and what keeps costing money while it exists."""

from __future__ import annotations

from agent.errors import LabctlError
from agent.journal import Journal
from agent.outputs import StackOutputs
from agent.target import load_target
from agent.workdir import CorruptState


def status(stack: str) -> dict:
    outputs = StackOutputs.load(stack)
    journal = Journal(stack)
    report: dict = {"stack": stack, "target": outputs.target, "outputs": outputs.model_dump(by_alias=True),
                    "cluster": None, "active_runs": [], "journal": [], "accruing": []}
    for entry in journal.entries():
        if entry["kind"] in ("run", "finetune-job", "finetune-deployment", "finetune-file", "purge"):
            report["journal"].append({"kind": entry["kind"], "status": entry["status"],
                                      **{k: v for k, v in entry["data"].items() if k != "parameters"}})
    try:
        target = load_target(stack)
        w = target.workspace_client(outputs)
        cluster = w.clusters.get(outputs.cluster_id) if outputs.cluster_id else None  # None: serverless compute
        if cluster is not None:
            report["cluster"] = {"id": cluster.cluster_id, "state": cluster.state.value,
                                 "autotermination_minutes": cluster.autotermination_minutes}
        if cluster is not None and cluster.state.value in ("RUNNING", "PENDING", "RESIZING", "RESTARTING"):
            report["accruing"].append(f"cluster {cluster.cluster_id} is {cluster.state.value} ({outputs.tags.get('expires-at', '')} "
                                      f"expiry; auto-terminates after {cluster.autotermination_minutes} idle minutes): "
                                      "VM and DBU charges")
        if outputs.compute == "serverless":
            # Serverless DBUs are billed per run while it runs; nothing accrues between runs.
            report["compute"] = "serverless (no cluster; billed per run)"
        report["active_runs"] = [{"run_id": r.run_id, "name": r.run_name, "state": r.state.life_cycle_state.value}
                                 for r in w.jobs.list_runs(active_only=True)]
        for deployment in target.cognitive().deployments.list(outputs.resource_group_name, outputs.openai_account_name):
            fine_tuned = ".ft-" in (deployment.properties.model.name or "")
            if fine_tuned:
                report["accruing"].append(f"fine-tuned deployment {deployment.name}: hosting is billed per hour")
    except CorruptState:
        raise  # a damaged state file is the user's to fix, not an unreachable service
    except LabctlError as error:
        report["unreachable"] = error.message
    return report
