"""`labctl:aiResourceKind AIServices` end to end on a twin that plays a subscription new to fine-tuning: the job
trains a base such a subscription can train today (an open-weight base, Global training, Foundry resources only:
azure-facts.md section 3), the fine-tuned model is deployed through ARM and answers, and `down` purges the
account. Its own stack; the session's sandbox is switched to a new customer and back."""

import json
from pathlib import Path

from tests.lifecycle.conftest import DATA, EMPTY


def test_foundry_new_customer_fine_tunes_deploys_chats_and_down_purges(labctl):
    stack = "foundry"
    labctl.control("PATCH", "/settings", json={"customer": "new"})
    try:
        outputs = labctl.json("up", "--sandbox", "--stack", stack, "-c", "aiResourceKind=AIServices")
        labctl("stage", "--stack", stack, "--training-file", str(DATA / "training_set.jsonl"),
               "--validation-file", str(DATA / "validation_set.jsonl"))
        runs = labctl.json("run", "fine-tuning", "--stack", stack, "-o", "poll_seconds=1")["runs"]
    finally:
        labctl.control("PATCH", "/settings", json={"customer": "existing"})
    assert outputs["aiResourceKind"] == "AIServices"
    assert outputs["foundryProjectEndpoint"].endswith("api/projects/lab")
    assert outputs["fineTuneBaseModel"] == "gpt-oss-20b-2025-08-05"  # what a new customer can train
    account = next(a for a in labctl.control("GET", "/inventory")["accounts"] if a["name"] == outputs["openaiAccountName"])
    assert account["kind"] == "AIServices" and account["projects"] == ["lab"]

    assert runs[0]["result_state"] == "SUCCESS", runs
    result = json.loads((Path(runs[0]["results_dir"]) / "fine_tuning.json").read_text())
    assert result["fine_tuned_model"].startswith("gpt-oss-20b-2025-08-05.ft-")
    assert result["training_type"] == "GlobalStandard" and result["validation"]["training"]["errors"] == 0
    assert result["deployment"]["sku"] == "GlobalStandard" and result["chat"]["answer"]

    report = labctl.json("down", "--stack", stack, "--yes")
    assert report["clean"] and report["purged"] == [outputs["openaiAccountName"]]
    assert labctl.inventory_of(stack) == EMPTY


def test_an_unknown_resource_kind_is_one_sentence_and_creates_nothing(labctl):
    failed = labctl("up", "--sandbox", "--stack", "kindtypo", "-c", "aiResourceKind=Foundry", expect=2)
    assert "labctl:aiResourceKind" in failed.stderr and "Traceback" not in failed.stderr
    assert labctl.inventory_of("kindtypo") == EMPTY
