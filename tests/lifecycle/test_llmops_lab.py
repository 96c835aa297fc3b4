"""`labctl run llmops` in the sandbox: MLflow runs and traces, and a drift report that sees exactly what changed."""

import json
from pathlib import Path


def run_llmops(labctl, stack):
    runs = labctl.json("run", "llmops", "--stack", stack, "-o", "samples=20")["runs"]
    assert runs[0]["result_state"] == "SUCCESS", runs[0]
    return json.loads((Path(runs[0]["results_dir"]) / "llmops.json").read_text()), Path(runs[0]["results_dir"])


def test_runs_are_traced_and_drift_is_flagged_only_where_the_model_changed(labctl, lab_stack):
    import mlflow

    stack = lab_stack
    try:
        labctl.control("PUT", "/model", json={"latency_per_token_ms": 1})
        first, _ = run_llmops(labctl, stack)
        steady, _ = run_llmops(labctl, stack)
        labctl.control("PUT", "/model", json={"latency_per_token_ms": 3, "length_factor": 2.5})
        changed, folder = run_llmops(labctl, stack)
    finally:
        labctl.control("PUT", "/model", json={})

    assert first["drift"] == [] and first["traces"] == 20 and "CHAT_MODEL" in first["span_types"]
    # Same model, same prompts: no drift in what the model produced. Latency is wall-clock time measured on a
    # shared machine, so whether two runs of an unchanged model differ in it is not a property of the product.
    assert steady["baseline_run_id"] == first["run_id"]
    assert not set(steady["drifted"]) & {"prompt_tokens", "completion_tokens", "response_length"}
    assert changed["baseline_run_id"] == steady["run_id"]
    assert sorted(changed["drifted"]) == ["completion_tokens", "latency_ms", "response_length"]
    assert "<img" in (folder / "llmops.html").read_text()

    # MLflow itself holds the runs and their traces, with token usage.
    tracking = f"sqlite:///{labctl.home / '.labctl' / 'sandbox' / 'mlflow' / 'mlflow.db'}"
    mlflow.set_tracking_uri(tracking)
    experiment = mlflow.get_experiment_by_name(f"/Shared/labctl-llmops-{stack}")
    runs = mlflow.search_runs(experiment_ids=[experiment.experiment_id], output_format="list")
    assert len(runs) == 3 and all(r.data.params["deployment"] == "chat" for r in runs)
    traces = mlflow.search_traces(locations=[experiment.experiment_id], run_id=first["run_id"],
                                  return_type="list", flush=True)
    assert len(traces) == 20
    assert all(t.info.token_usage["total_tokens"] > 0 for t in traces)
    assert traces[0].data.spans[0].span_type == "CHAT_MODEL"

    # No key or secret anywhere in MLflow: params, tags, trace inputs and outputs, artifacts.
    from tests.lifecycle.test_secrets_never_leak import _key_of

    key = _key_of(labctl, stack)
    haystack = [json.dumps(r.data.params) + json.dumps(r.data.tags) for r in runs]
    haystack += [t.to_json() for r in runs for t in mlflow.search_traces(
        locations=[experiment.experiment_id], run_id=r.info.run_id, return_type="list")]
    for path in (labctl.home / ".labctl" / "sandbox").rglob("*"):
        if path.is_file() and "mlruns" in path.parts:
            haystack.append(path.read_text(errors="replace"))
    assert not any(key in text for text in haystack)
