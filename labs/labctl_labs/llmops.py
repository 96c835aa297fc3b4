"""The LLMOps lab: every call traced by MLflow, each lab run an MLflow run, and a drift report that
compares the latest run with a baseline run using the figures read back from MLflow.

The lab's single call ("Tell me a joke about animals.") is the default prompt set; each prompt is sent
`samples` times (default 30) so the runs have distributions to compare. `-o prompts='[...]'` or
`-o prompt_file=<path under the lab volume>` (a JSON list of strings, or one prompt per line) replace it.
`-o stream=true` streams every call (server-sent events, with the final usage chunk); the traces are the same.
The experiment is /Shared/labctl-llmops-<stack>: the workspace's tracking server on Databricks, the
sandbox's local store in the sandbox, with no code difference (MLflow picks its tracking URI).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time

from labctl_labs import drift, report
from labctl_labs.common import LabContext, run_lab

SYSTEM_PROMPT = "Assistant is a large language model trained by OpenAI."
DEFAULT_PROMPTS = ["Tell me a joke about animals."]
METRICS = ("prompt_tokens", "completion_tokens", "latency_ms", "response_length")


def prompt_set(context: LabContext) -> list[str]:
    options = context.options
    if options.get("prompts"):
        return [str(p) for p in options["prompts"]]
    if options.get("prompt_file"):
        text = context.store.read(options["prompt_file"]).decode("utf-8")
        try:
            loaded = json.loads(text)
            return [str(p) for p in loaded]
        except json.JSONDecodeError:
            return [line.strip() for line in text.splitlines() if line.strip()]
    return list(DEFAULT_PROMPTS)


def record_run(context: LabContext, experiment: str, prompts: list[str]) -> str:
    """One MLflow run of `samples` calls per prompt; returns its run id."""
    import mlflow

    options = context.options
    samples = int(options.get("samples", 30))
    temperature = options.get("temperature", 1.0)
    mlflow.set_experiment(experiment)
    mlflow.openai.autolog()
    client = context.openai(max_retries=8)
    budget = {"max_completion_tokens": int(options.get("max_tokens", 400))} if context.reasoning else \
        {"max_tokens": int(options.get("max_tokens", 200)), "temperature": temperature}
    if context.reasoning:
        budget["reasoning_effort"] = options.get("reasoning_effort", "minimal")
    stream = bool(options.get("stream", False))
    digest = hashlib.sha256("\n".join(prompts).encode()).hexdigest()[:12]
    with mlflow.start_run(run_name=f"llmops {time.strftime('%Y-%m-%d %H:%M:%S')}") as run:
        mlflow.log_params({
            "deployment": context.args.deployment, "model": context.args.model,
            "model_version": options.get("model_version") or "", "prompt_set": f"{len(prompts)} prompts #{digest}",
            "temperature": temperature if not context.reasoning else 1, "samples": samples, "stream": stream,
        })
        step = 0
        for index, prompt in enumerate(prompts):
            for sample in range(samples):
                started = time.perf_counter()
                messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}]
                text, usage = complete(client, context.args.deployment, messages, budget, stream)
                latency = (time.perf_counter() - started) * 1000
                mlflow.log_metrics({"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                                    "latency_ms": latency, "response_length": len(text)}, step=step)
                step += 1
        mlflow.log_param("calls", step)
        return run.info.run_id


def complete(client, deployment: str, messages: list[dict], budget: dict, stream: bool):
    """(answer text, usage) of one call. Streamed calls ask for the final usage chunk (stream_options
    include_usage), without which a stream carries no token counts and MLflow's trace of it has none
    (mlflow/mlflow#23026); MLflow's autolog assembles the chunks into one traced completion."""
    if not stream:
        answer = client.chat.completions.create(model=deployment, messages=messages, **budget)
        return answer.choices[0].message.content or "", answer.usage
    text, usage = [], None
    for chunk in client.chat.completions.create(model=deployment, messages=messages, stream=True,
                                                stream_options={"include_usage": True}, **budget):
        if chunk.choices:
            text.append(chunk.choices[0].delta.content or "")
        if chunk.usage is not None:
            usage = chunk.usage
    return "".join(text), usage


def read_back(experiment_id: str, run_id: str) -> dict:
    """The run's per-call figures and answers, from its MLflow traces (not from this process's memory)."""
    import mlflow

    traces = mlflow.search_traces(locations=[experiment_id], run_id=run_id, return_type="list", flush=True,
                                  max_results=10_000)
    figures: dict[str, list[float]] = {name: [] for name in METRICS}
    answers: dict[tuple, str] = {}
    seen: dict[str, int] = {}
    for trace in sorted(traces, key=lambda t: t.info.timestamp_ms):
        span = next(s for s in trace.data.spans if s.span_type == "CHAT_MODEL")
        usage = trace.info.token_usage or {}
        output = span.outputs or {}
        text = ((output.get("choices") or [{}])[0].get("message") or {}).get("content") or ""
        prompt = next((m["content"] for m in reversed(span.inputs.get("messages", [])) if m.get("role") == "user"), "")
        figures["prompt_tokens"].append(usage.get("input_tokens", 0))
        figures["completion_tokens"].append(usage.get("output_tokens", 0))
        figures["latency_ms"].append(trace.info.execution_duration or 0)
        figures["response_length"].append(len(text))
        answers[(prompt, seen.get(prompt, 0))] = text
        seen[prompt] = seen.get(prompt, 0) + 1
    return {"traces": len(traces), "figures": figures, "answers": answers,
            "span_types": sorted({s.span_type for t in traces for s in t.data.spans})}


def histograms(baseline: dict, latest: dict) -> str:
    figure, axes = report.new_figure(11, 7)
    figure.clear()
    grid = figure.subplots(2, 2)
    for panel, metric in zip(grid.flat, METRICS):
        panel.hist(baseline["figures"][metric], bins=15, alpha=0.6, label="baseline")
        panel.hist(latest["figures"][metric], bins=15, alpha=0.6, label="latest")
        panel.set_title(metric)
        panel.legend()
    figure.tight_layout()
    png = report.figure_png(figure)
    report.close(figure)
    return png


def llmops(context: LabContext) -> int:
    import mlflow

    experiment = f"/Shared/labctl-llmops-{context.options.get('stack', 'lab')}"
    prompts = prompt_set(context)
    run_id = record_run(context, experiment, prompts)
    experiment_id = mlflow.get_experiment_by_name(experiment).experiment_id
    runs = mlflow.search_runs(experiment_ids=[experiment_id], order_by=["attributes.start_time DESC"],
                              output_format="list", max_results=50)
    baseline_id = context.options.get("baseline_run_id") or next((r.info.run_id for r in runs if r.info.run_id != run_id), None)
    latest = read_back(experiment_id, run_id)
    result: dict = {"lab": "llmops", "experiment": experiment, "experiment_id": experiment_id, "run_id": run_id,
                    "baseline_run_id": baseline_id, "prompts": len(prompts), "traces": latest["traces"],
                    "span_types": latest["span_types"], "thresholds": {"ks_alpha": drift.KS_ALPHA, "psi": drift.PSI_DRIFT}}
    sections = []
    if baseline_id is None:
        result["drift"] = []
        result["summary"] = f"first run ({latest['traces']} traced calls): the next run is compared with this one"
    else:
        baseline = read_back(experiment_id, baseline_id)
        result["baseline_traces"] = baseline["traces"]
        result["drift"] = [drift.compare(m, baseline["figures"][m], latest["figures"][m]) for m in METRICS]
        result["content_changed"] = drift.content_changed(baseline["answers"], latest["answers"])
        flagged = [d["metric"] for d in result["drift"] if d["drifted"]]
        result["drifted"] = flagged
        result["summary"] = (f"{latest['traces']} traced calls vs baseline {baseline_id[:8]}: "
                             f"drifted: {', '.join(flagged) or 'none'}; "
                             f"{result['content_changed']['share']:.0%} of answers changed")
        sections.append(report.image(histograms(baseline, latest), "baseline vs latest"))
        sections.append(report.table(
            ["metric", "KS D", "KS p", "PSI", "mean before", "mean after", "median before", "median after", "verdict"],
            [[d["metric"], d["ks_statistic"], f"{d['ks_p_value']:.3g}", d["psi"], d["baseline_mean"], d["latest_mean"],
              d["baseline_median"], d["latest_median"], d["verdict"].upper()] for d in result["drift"]]))
    page = report.page("LLMOps: drift between runs", [f"<p>{result['summary']}</p>", *sections])
    context.save_json("llmops.json", result)
    context.save_bytes("llmops.html", page.encode())
    print(result["summary"])
    return 0


def main() -> None:
    sys.exit(run_lab(llmops))
