"""The LLMOps lab: every call traced by MLflow, each lab run an MLflow run, and a drift report that
compares the latest run with a baseline run using the figures read back from MLflow.

The lab's single call ("Tell me a joke about animals.") is the default prompt set; each prompt is sent
`samples` times (default 40: enough to detect a 30% median shift with 80% power, see drift.py) so the runs
have distributions to compare. Calls use temperature 0 (models that take it) and a fixed `seed`, so that an
unchanged model mostly repeats its answers and the share of changed answers means something.
The baseline is like-for-like: the newest FINISHED run of the experiment with the same prompt set,
deployment, model, model version and temperature (or `-o baseline_run_id=...`). `-o prompts='[...]'` or
`-o prompt_file=<path under the lab volume>` (a JSON list of strings, or one prompt per line) replace it.
`-o stream=true` streams every call (server-sent events, with the final usage chunk); the traces are the same.
The experiment is /Shared/labctl-llmops-<stack>: the workspace's tracking server on Databricks, the
sandbox's local store in the sandbox, with no code difference (MLflow picks its tracking URI).
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time

from labctl_labs import drift, report
from labctl_labs.common import LabContext, completion_parameters, run_lab

SYSTEM_PROMPT = "Assistant is a large language model trained by OpenAI."
DEFAULT_PROMPTS = ["Tell me a joke about animals."]
METRICS = ("prompt_tokens", "completion_tokens", "latency_ms", "response_length")
DEFAULT_SAMPLES = 40
DEFAULT_SEED = 105
# The parameters that make two runs comparable (issue 20): a baseline must match all of them.
LIKE_FOR_LIKE = ("prompt_set", "deployment", "model", "model_version", "temperature")


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
    samples = int(options.get("samples", DEFAULT_SAMPLES))
    # Temperature is the model's default (1) unless the model is known to take another.
    temperature = options.get("temperature", 0) if context.reasoning is False else 1
    seed = int(options.get("seed", DEFAULT_SEED))
    mlflow.set_experiment(experiment)
    mlflow.openai.autolog()
    client = context.openai(max_retries=8)
    budget = completion_parameters(
        context.reasoning, int(options.get("max_tokens", 200 if context.reasoning is False else 400)),
        temperature=temperature, reasoning_effort=options.get("reasoning_effort", "minimal"))
    # Best effort in Azure OpenAI ("reproducible output"): same seed and parameters, mostly the same answer;
    # reasoning models accept it too.
    budget["seed"] = seed
    stream = bool(options.get("stream", False))
    digest = hashlib.sha256("\n".join(prompts).encode()).hexdigest()[:12]
    with mlflow.start_run(run_name=f"llmops {time.strftime('%Y-%m-%d %H:%M:%S')}") as run:
        mlflow.log_params({
            "deployment": context.args.deployment, "model": context.args.model,
            "model_version": options.get("model_version") or "", "prompt_set": f"{len(prompts)} prompts #{digest}",
            "temperature": temperature, "samples": samples, "seed": seed, "stream": stream,
            "max_tokens": budget.get("max_completion_tokens", budget.get("max_tokens")),
            "reasoning_effort": budget.get("reasoning_effort", ""),
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


def find_baseline(runs: list, run_id: str, params: dict) -> str | None:
    """The newest FINISHED run other than `run_id` whose LIKE_FOR_LIKE parameters equal `params`'."""
    for run in runs:  # newest first
        if run.info.run_id == run_id or run.info.status != "FINISHED":
            continue
        if all(run.data.params.get(key) == params.get(key) for key in LIKE_FOR_LIKE):
            return run.info.run_id
    return None


METRIC_TITLES = {"prompt_tokens": "prompt tokens", "completion_tokens": "completion tokens",
                 "latency_ms": "latency (ms)", "response_length": "response length (characters)"}


def histogram_figure(latest: dict, baseline: dict | None):
    """This run's distribution of every metric, and the baseline's over it when there is one: shares of each run's
    calls over shared bins (report.share_histogram), since two runs may make different numbers of calls."""
    figure, axes = report.new_figure(11, 7)
    figure.clear()
    grid = figure.subplots(2, 2)
    for panel, metric in zip(grid.flat, METRICS):
        series = ([("baseline", list(baseline["figures"][metric]))] if baseline else []) + [
            ("this run", list(latest["figures"][metric]))]
        report.share_histogram(panel, series)
        panel.set_title(METRIC_TITLES[metric])
        panel.set_xlabel(METRIC_TITLES[metric])
        panel.legend()
    figure.tight_layout()
    return figure


def histograms(latest: dict, baseline: dict | None) -> str:
    figure = histogram_figure(latest, baseline)
    png = report.figure_png(figure)
    report.close(figure)
    return png


def summary_of(result: dict) -> str:
    """What a reader needs, in plain words."""
    if result["baseline_run_id"] is None:
        return (f"First run of this prompt set on {result['parameters']['deployment']} "
                f"({result['traces']} traced calls): nothing to compare with yet; the next run with the same prompts, "
                f"deployment, model version and temperature is compared with this one.")
    drifted = [d for d in result["drift"] if d["drifted"]]
    changed = result["content_changed"]
    words = "; ".join(f"{d['metric'].replace('_', ' ')} median {d['baseline_median']:g} -> {d['latest_median']:g} "
                      f"({d['median_change']:+.0%})" if d["median_change"] is not None else d["metric"] for d in drifted)
    head = (f"Compared with run {result['baseline_run_id'][:8]} ({result['baseline_traces']} calls), this run's "
            f"{result['traces']} calls drifted in: {words}" if drifted else
            f"Compared with run {result['baseline_run_id'][:8]}, no metric drifted (no median moved by >= "
            f"{drift.PRACTICAL_CHANGE:.0%} with Holm-adjusted p <= {drift.ALPHA:g})")
    if result.get("changed_settings"):
        head += "; settings changed since the baseline: " + ", ".join(
            f"{k} {v[0]} -> {v[1]}" for k, v in result["changed_settings"].items())
    share = changed["share"]
    if share is not None:
        head += (f"; {share:.0%} of answers differ from the baseline's"
                 + ("" if result["parameters"].get("temperature") in (0, "0") else
                    " (expected at temperature 1: answers are sampled)"))
    return head + "."


def html_report(result: dict, png: str) -> str:
    sections = [f"<p class='summary'>{result['summary']}</p>", report.links(result["links"]),
                report.image(png, "distribution of each metric")]
    if result["drift"]:
        sections.append("<h2>Drift against the baseline</h2>")
        sections.append(report.table(
            ["metric", "test", "p", "p (Holm)", "median before", "median after", "median change", "mean before",
             "mean after", "PSI", "verdict"],
            [[d["metric"], d.get("test", ""), f"{d['p_value']:.3g}", f"{d['p_holm']:.3g}", f"{d['baseline_median']:.4g}",
              f"{d['latest_median']:.4g}", "" if d["median_change"] is None else f"{d['median_change']:+.1%}",
              f"{d['baseline_mean']:.4g}", f"{d['latest_mean']:.4g}", "n/a" if d["psi"] is None else d["psi"],
              d["verdict"].upper()] for d in result["drift"] if d.get("p_value") is not None]))
        psi_note = next((d["psi_note"] for d in result["drift"] if d.get("psi_note")), "")
        sections.append(f"<p class='note'>A metric has drifted when its median moved by at least "
                        f"{drift.PRACTICAL_CHANGE:.0%} (and latency by at least "
                        f"{drift.PRACTICAL_ABSOLUTE['latency_ms']:g} ms) and the two-sided Mann-Whitney U test "
                        f"rejects equal distributions at a family-wise {drift.ALPHA:g} (Holm across the metrics)."
                        + (f" PSI {psi_note}." if psi_note else "") + "</p>")
    sections.append("<h2>This run's figures</h2>")
    stats = [[m, len(v), f"{min(v):.4g}", f"{statistics.median(v):.4g}", f"{max(v):.4g}"]
             for m, v in result["figures"].items() if v]
    sections.append(report.table(["metric", "calls", "min", "median", "max"], stats))
    sections.append("<h2>Parameters</h2>")
    sections.append(report.parameters(result["parameters"]))
    return report.page("LLMOps: traced calls and drift between runs", sections)


def llmops(context: LabContext) -> int:
    import mlflow

    experiment = f"/Shared/labctl-llmops-{context.options.get('stack', 'lab')}"
    prompts = prompt_set(context)
    run_id = record_run(context, experiment, prompts)
    experiment_id = mlflow.get_experiment_by_name(experiment).experiment_id
    runs = mlflow.search_runs(experiment_ids=[experiment_id], order_by=["attributes.start_time DESC"],
                              output_format="list", max_results=200)
    params = next((r.data.params for r in runs if r.info.run_id == run_id), None) or mlflow.get_run(run_id).data.params
    baseline_id = context.options.get("baseline_run_id") or find_baseline(runs, run_id, params)
    latest = read_back(experiment_id, run_id)
    result: dict = {"lab": "llmops", "experiment": experiment, "experiment_id": experiment_id, "run_id": run_id,
                    "baseline_run_id": baseline_id, "prompts": len(prompts), "traces": latest["traces"],
                    "span_types": latest["span_types"], "parameters": dict(sorted(params.items())),
                    "thresholds": {"alpha": drift.ALPHA, "practical_median_change": drift.PRACTICAL_CHANGE},
                    "figures": latest["figures"], "drift": [], "drifted": [],
                    "links": report.run_links(context, experiment_id, run_id)}
    baseline = None
    if baseline_id is not None:
        baseline = read_back(experiment_id, baseline_id)
        before = next((r.data.params for r in runs if r.info.run_id == baseline_id), {})
        result["baseline_traces"] = baseline["traces"]
        result["changed_settings"] = {k: [before.get(k), v] for k, v in params.items()
                                      if k not in ("calls",) and before.get(k) != v}
        result["drift"] = drift.compare_runs(baseline["figures"], latest["figures"])
        result["content_changed"] = drift.content_changed(baseline["answers"], latest["answers"])
        result["drifted"] = [d["metric"] for d in result["drift"] if d["drifted"]]
    result["summary"] = summary_of(result)
    context.save_json("llmops.json", result)
    context.save_bytes("llmops.html", html_report(result, histograms(latest, baseline)).encode())
    print(result["summary"])
    return 0


def main() -> None:
    sys.exit(run_lab(llmops))
