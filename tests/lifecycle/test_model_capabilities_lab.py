"""Labs that follow the model's capabilities as the ARM catalog states them, and streamed calls that MLflow traces
with their token usage (`labctl run llmops -o stream=true`)."""

import datetime as dt
import json
from pathlib import Path

import pytest

# labctl's preflight refuses a model that retires before the lab ends (now + the stack's 8 h TTL, by the real date),
# and this test runs the product end to end, preflight included, on the session's twin (real clock). So it cannot pin
# the date as the contract tests do; it takes a non-reasoning chat model the twin's catalog still serves then.
LAB_HORIZON = dt.timedelta(days=1)


def live_chat_model() -> tuple[str, str]:
    """The non-reasoning model (name, version) of sandbox/data/catalog.yaml that lives longest past today + 1 day;
    skipped, saying why, when the catalog has none left (Azure's chat models retire within months): labctl's
    preflight uses the real date, so a stale catalog cannot be worked around here, and it should not fail work that
    has nothing to do with it. The contract tests of non-reasoning models run on a twin started on the catalog's
    own date and keep covering the behaviour (tests/sandbox/test_openai_2026_contract.py)."""
    from sandbox.catalog import Catalog

    catalog = Catalog.load()
    horizon = (dt.datetime.now(dt.timezone.utc) + LAB_HORIZON).date()
    live = [m for m in catalog.models if not m.reasoning and m.inference > horizon and "GlobalStandard" in m.skus]
    if not live:
        pytest.skip(f"sandbox/data/catalog.yaml (as of {catalog.as_of}) has no non-reasoning chat model live after "
                    f"{horizon}: update it from Azure's model retirement schedule (Learn \"Model deprecations and "
                    f"retirements\") and shared/reference/azure-facts.md.")
    newest = max(live, key=lambda m: m.inference)
    return newest.name, newest.version


def traces_of(labctl, stack, run_id):
    import mlflow

    mlflow.set_tracking_uri(labctl.json("llmops", "ui", "--stack", stack)["tracking_uri"])  # the workspace's own store
    experiment = mlflow.get_experiment_by_name(f"/Shared/labctl-llmops-{stack}")
    return mlflow.search_traces(locations=[experiment.experiment_id], run_id=run_id, return_type="list", flush=True)


def test_streamed_llmops_calls_are_traced_with_token_usage(labctl, lab_stack):
    # mlflow/mlflow#23026: streamed calls lose their token counts unless the stream carries the usage chunk.
    runs = labctl.json("run", "llmops", "--stack", lab_stack, "-o", "samples=4", "-o", "stream=true")["runs"]
    assert runs[0]["result_state"] == "SUCCESS", runs[0]
    result = json.loads((Path(runs[0]["results_dir"]) / "llmops.json").read_text())
    traces = traces_of(labctl, lab_stack, result["run_id"])
    assert len(traces) == 4
    for trace in traces:
        usage = trace.info.token_usage
        assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
        span = next(s for s in trace.data.spans if s.span_type == "CHAT_MODEL")
        assert span.outputs["choices"][0]["message"]["content"]


def test_a_non_reasoning_model_gets_the_seeds_parameters(labctl):
    # A chat model per the catalog (gpt-chat-latest until 2026-12-02) (capabilities.reasoning false): the lab sends max_tokens and
    # the asked temperature, which a reasoning model would refuse (400), and labctl accepts -o temperature=0.3.
    stack = "chatlatest"
    model, version = live_chat_model()
    deployments = json.dumps([{"name": "chat", "model": model, "version": version, "sku": "GlobalStandard",
                               "capacity": 100}])
    labctl("up", "--sandbox", "--stack", stack, "-c", f"deployments={deployments}")
    try:
        labctl("stage", "--stack", stack)
        preflight = json.loads((labctl.home / ".labctl" / "stacks" / stack / "preflight.json").read_text())
        chosen = next(r for r in preflight["regions"] if r["region"] == preflight["chosen"])
        assert chosen["deployments"]["chat"]["capabilities"]["reasoning"] is False
        runs = labctl.json("run", "llmops", "--stack", stack, "-o", "samples=3", "-o", "temperature=0.3")["runs"]
        assert runs[0]["result_state"] == "SUCCESS", runs[0]
        result = json.loads((Path(runs[0]["results_dir"]) / "llmops.json").read_text())
        traces = traces_of(labctl, stack, result["run_id"])
        request = next(s for s in traces[0].data.spans if s.span_type == "CHAT_MODEL").inputs
        assert request["temperature"] == 0.3 and "max_tokens" in request and "reasoning_effort" not in request
    finally:
        labctl("down", "--stack", stack, "--yes")
