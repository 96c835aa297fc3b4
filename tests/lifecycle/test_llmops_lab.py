"""`labctl run llmops` in the sandbox: MLflow runs and traces, and a drift report that sees exactly what changed."""

import json
import re
from pathlib import Path


def run_llmops(labctl, stack, *options):
    runs = labctl.json("run", "llmops", "--stack", stack, "-o", "samples=20", *options)["runs"]
    assert runs[0]["result_state"] == "SUCCESS", runs[0]
    return json.loads((Path(runs[0]["results_dir"]) / "llmops.json").read_text()), Path(runs[0]["results_dir"])


def test_runs_are_traced_and_drift_is_flagged_only_where_the_model_changed(labctl, lab_stack):
    import mlflow

    stack = lab_stack
    try:
        labctl.control("PUT", "/model", json={"latency_per_token_ms": 1})
        first, first_folder = run_llmops(labctl, stack)
        other_prompts, _ = run_llmops(labctl, stack, "-o", 'prompts=["Tell me a joke about fish."]')
        steady, _ = run_llmops(labctl, stack)
        labctl.control("PUT", "/model", json={"latency_per_token_ms": 3, "length_factor": 2.5})
        changed, folder = run_llmops(labctl, stack)
    finally:
        labctl.control("PUT", "/model", json={})

    assert first["drift"] == [] and first["traces"] == 20 and "CHAT_MODEL" in first["span_types"]
    # A first run's report still shows the run: its distributions, parameters and links (issue 20).
    page = (first_folder / "llmops.html").read_text()
    assert "<img" in page and "<h2>Parameters</h2>" in page and "First run of this prompt set" in page
    assert re.search(r"<a href='[^']*#mlflow/experiments/\d+/runs/\w+'>MLflow run</a>", page)
    assert re.search(r"<a href='[^']*#job/\d+/run/\d+'>Databricks run</a>", page)
    # Baselines are like-for-like: another prompt set is not compared with the first run, nor the first with it.
    assert other_prompts["baseline_run_id"] is None
    # Same model, same prompts: no drift in what the model produced. Latency is wall-clock time measured on a
    # shared machine, so whether two runs of an unchanged model differ in it is not a property of the product.
    assert steady["baseline_run_id"] == first["run_id"]
    assert not set(steady["drifted"]) & {"prompt_tokens", "completion_tokens", "response_length"}
    assert changed["baseline_run_id"] == steady["run_id"]
    assert sorted(changed["drifted"]) == ["completion_tokens", "latency_ms", "response_length"]
    assert "<img" in (folder / "llmops.html").read_text() and "drifted in: completion tokens" in changed["summary"]

    # MLflow itself holds the runs and their traces, with token usage.
    tracking = labctl.json("llmops", "ui", "--stack", stack)["tracking_uri"]  # the workspace's own store
    mlflow.set_tracking_uri(tracking)
    experiment = mlflow.get_experiment_by_name(f"/Shared/labctl-llmops-{stack}")
    runs = mlflow.search_runs(experiment_ids=[experiment.experiment_id], output_format="list")
    assert len(runs) == 4 and all(r.data.params["deployment"] == "chat" for r in runs)
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
