"""What labctl does around the fine-tuning lab's cluster run: record every file and job the lab created in
the local journal (so `down` removes them), deploy the fine-tuned model through ARM with the caller's
Azure credential (no pasted tokens), and chat with it using the lab's multi-turn example."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from agent.errors import FINE_TUNING_UNAVAILABLE, LabctlError
from agent.journal import Journal
from labctl_labs.storage import RemoteStore
from agent.outputs import StackOutputs
from agent.target import Target

CHAT = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Does Azure OpenAI support customer managed keys?"},
    {"role": "assistant", "content": "Yes, customer managed keys are supported by Azure OpenAI."},
    {"role": "user", "content": "Do other Azure AI services support this too?"},
]


def record_created(outputs: StackOutputs, store: RemoteStore, journal: Journal) -> None:
    """Copy the lab's volume journal (files and jobs) into the local journal, once each."""
    from labctl_labs.fine_tuning import JOURNAL

    if store.size(JOURNAL) is None:
        return
    known = {(e["kind"], e["data"].get("id")) for e in journal.entries()}
    where = {"resource_group": outputs.resource_group_name, "account": outputs.openai_account_name,
             "endpoint": outputs.openai_endpoint}
    for state in json.loads(store.read(JOURNAL)).values():
        for file_id in (state.get("files") or {}).values():
            if ("finetune-file", file_id) not in known:
                journal.begin("finetune-file", {"id": file_id, **where})
        if state.get("job_id") and ("finetune-job", state["job_id"]) not in known:
            journal.begin("finetune-job", {"id": state["job_id"], **where})


def complete(target: Target, outputs: StackOutputs, journal: Journal, results_dir: Path, options: dict,
             progress: Callable[[str], None]) -> dict:
    """Deploy the fine-tuned model, chat with it, and add both to fine_tuning.json (local and volume)."""
    from azure.mgmt.cognitiveservices.models import Deployment, DeploymentModel, DeploymentProperties, Sku

    path = results_dir / "fine_tuning.json"
    result = json.loads(path.read_text())
    name = options.get("ft_deployment", "ft-lab")
    sku = options.get("ft_sku", "GlobalStandard")
    capacity = int(options.get("ft_capacity", 1))
    where = {"resource_group": outputs.resource_group_name, "account": outputs.openai_account_name, "deployment": name}
    if not any(e["data"] == where for e in journal.entries("finetune-deployment")):
        journal.begin("finetune-deployment", where)  # written before the deployment exists
    progress(f"fine-tuning: deploying {result['fine_tuned_model']} as {name} ({sku}, capacity {capacity})")
    deployment = target.cognitive(retry_conflicts=True).deployments.begin_create_or_update(
        outputs.resource_group_name, outputs.openai_account_name, name,
        Deployment(sku=Sku(name=sku, capacity=capacity), properties=DeploymentProperties(
            model=DeploymentModel(format="OpenAI", name=result["fine_tuned_model"], version="1"))),
    ).result()
    client = target.openai_client(outputs.resource_group_name, outputs.openai_account_name, outputs.openai_endpoint,
                                  max_retries=6)  # key, or Entra ID when the account takes no keys
    answer = client.chat.completions.create(model=name, messages=CHAT, max_tokens=200)
    result["deployment"] = {"name": name, "sku": sku, "capacity": capacity,
                            "provisioning_state": deployment.properties.provisioning_state}
    result["chat"] = {"messages": CHAT, "answer": answer.choices[0].message.content,
                      "usage": answer.usage.model_dump() if answer.usage else None}
    result["summary"] += f"; deployed as {name}; answered {len(result['chat']['answer'] or '')} characters"
    path.write_text(json.dumps(result, indent=2))
    return result


def unavailable(results_dir: Path | None) -> str | None:
    """The lab's own reason when it ended with 'fine-tuning unavailable', else None."""
    if results_dir is None or not (results_dir / "fine_tuning.json").exists():
        return None
    result = json.loads((results_dir / "fine_tuning.json").read_text())
    return result["summary"] if result.get("status") == "unavailable" else None


def raise_if_unavailable(reason: str | None) -> None:
    if reason:
        raise LabctlError(reason, FINE_TUNING_UNAVAILABLE)
