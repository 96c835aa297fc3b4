"""`labctl:compute serverless`: the labs run as serverless job tasks, no cluster is ever created, and `down`
leaves nothing. Its own stack: it shares nothing with the `lab_stack` fixture."""

from tests.lifecycle.conftest import BIG, DATA, EMPTY


def test_serverless_up_run_all_down_without_a_cluster(labctl):
    stack = "srvless"
    outputs = labctl.json("up", "--sandbox", "--stack", stack, "-c", "compute=serverless", "-c", f"deployments={BIG}")
    assert outputs["compute"] == "serverless" and outputs["clusterId"] is None
    # What the serverless environment installs besides the staged wheel: the lab artifact's pins.
    assert any(d.startswith("openai==") for d in outputs["serverlessEnvironment"]["dependencies"])
    assert labctl.inventory_of(stack)["clusters"] == []

    labctl("stage", "--stack", stack, "--training-file", str(DATA / "training_set.jsonl"),
           "--validation-file", str(DATA / "validation_set.jsonl"))
    runs = labctl.json("run", "all", "--stack", stack)["runs"]
    assert [(r["lab"], r["result_state"]) for r in runs] == [
        ("responsible-ai", "SUCCESS"), ("fine-tuning", "SUCCESS"), ("llmops", "SUCCESS")], runs
    assert labctl.inventory_of(stack)["clusters"] == []  # nothing started a cluster on the way

    status = labctl.json("status", "--stack", stack)
    assert status["cluster"] is None and "serverless" in status["compute"]
    assert not any("cluster" in item for item in status["accruing"])

    report = labctl.json("down", "--stack", stack, "--yes")
    assert report["clean"] and report["purged"] == [outputs["openaiAccountName"]]
    assert labctl.inventory_of(stack) == EMPTY
