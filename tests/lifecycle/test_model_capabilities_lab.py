"""Labs that follow the model's capabilities as the ARM catalog states them, and streamed calls that MLflow traces
with their token usage (`labctl run llmops -o stream=true`)."""

import json
from pathlib import Path

CHAT_LATEST = json.dumps([{"name": "chat", "model": "gpt-chat-latest", "version": "2026-08-06",
                           "sku": "GlobalStandard", "capacity": 100}])


def traces_of(labctl, stack, run_id):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{labctl.home / '.labctl' / 'sandbox' / 'mlflow' / 'mlflow.db'}")
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
    # gpt-chat-latest is a chat model per the catalog (capabilities.reasoning false): the lab sends max_tokens and
    # the asked temperature, which a reasoning model would refuse (400), and labctl accepts -o temperature=0.3.
    stack = "chatlatest"
    labctl("up", "--sandbox", "--stack", stack, "-c", f"deployments={CHAT_LATEST}")
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
