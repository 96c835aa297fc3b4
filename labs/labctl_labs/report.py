"""Self-contained HTML reports: a table of figures and matplotlib charts embedded as PNG data URIs,
so the file opens anywhere (a browser, a Databricks notebook cell, an e-mail) with nothing beside it."""

from __future__ import annotations

import base64
import html
import io


def figure_png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def new_figure(width: float = 8, height: float = 4):
    import matplotlib

    matplotlib.use("Agg")  # no display on a cluster or a CI machine
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def close(figure) -> None:
    import matplotlib.pyplot as plt

    plt.close(figure)


SHARE_LABEL = "share of calls (each series sums to 1)"


def share_histogram(axes, series: list[tuple[str, list[float]]], bins: int = 15) -> list[float]:
    """Histograms of several series on one pair of axes, comparable whatever each series' size: every bar is the share
    of its series' values in that bin (weights 1/n, so a series' heights sum to 1; a raw count would make a run of 80
    calls look twice as tall as one of 40), over bin edges shared by all series. The y axis says so (SHARE_LABEL).
    Returns the edges; one bin when every value is the same."""
    import numpy as np

    values = [v for _, vs in series for v in vs]
    edges = np.histogram_bin_edges(values, bins=bins if len(set(values)) > 1 else 1) if values else [0.0, 1.0]
    for label, vs in series:
        if vs:
            axes.hist(vs, bins=edges, weights=[1 / len(vs)] * len(vs), alpha=0.6, label=f"{label} (n={len(vs)})")
    axes.set_ylabel(SHARE_LABEL)
    return [float(edge) for edge in edges]


def table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, sections: list[str]) -> str:
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;"
             "margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}"
             "td:first-child,th:first-child{text-align:left}img{max-width:100%}.flag{color:#b00;font-weight:bold}"
             ".summary{font-size:1.15em;background:#f6f8fa;border-left:4px solid #4477aa;padding:.6em 1em}"
             ".note{color:#555;font-size:.9em}dl.params{display:grid;grid-template-columns:max-content auto;gap:2px 1em}"
             "dt{font-weight:bold}dd{margin:0;word-break:break-word}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>{''.join(sections)}</body></html>")


def image(png_base64: str, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{png_base64}'>"


def links(named: dict[str, str | None]) -> str:
    """A line of links (the MLflow experiment and run, the Databricks run); a missing one says so."""
    items = [f"<a href='{html.escape(url)}'>{html.escape(name)}</a>" if url else f"{html.escape(name)}: not available"
             for name, url in named.items()]
    return f"<p>{' &middot; '.join(items)}</p>" if items else ""


def parameters(values: dict) -> str:
    """The run's parameters as a definition list."""
    rows = "".join(f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>" for k, v in values.items())
    return f"<dl class='params'>{rows}</dl>"


def run_links(context, experiment_id: str | None = None, run_id: str | None = None) -> dict[str, str | None]:
    """Links to this lab's Databricks run and, if given, its MLflow experiment and run, in the workspace UI.

    The run is found among the workspace's active one-time runs (Jobs API 2.2 runs/list) by the task's
    `results` named parameter, which is unique per lab run; its `run_page_url` is the Databricks run page. The
    MLflow pages are the workspace's `#mlflow/experiments/<id>[/runs/<run id>]` routes. A failed lookup (it is a
    remote call; the workspace client retries transient faults) leaves the link out, never the report."""
    host = (getattr(getattr(context.workspace, "config", None), "host", None) or "").rstrip("/")
    found: dict[str, str | None] = {}
    if experiment_id and host:
        found["MLflow experiment"] = f"{host}/#mlflow/experiments/{experiment_id}"
        if run_id:
            found["MLflow run"] = f"{host}/#mlflow/experiments/{experiment_id}/runs/{run_id}"
    found["Databricks run"] = None
    try:
        # The SDK pages through every active run, newest first; the lab's own is among the first.
        for run in context.workspace.jobs.list_runs(active_only=True, expand_tasks=True, limit=25):
            for task in run.tasks or []:
                wheel = task.python_wheel_task
                if wheel and (wheel.named_parameters or {}).get("results") == context.args.results:
                    found["Databricks run"] = run.run_page_url
                    return found
    except Exception as error:  # a link is worth a note, not a failed lab
        print(f"report: could not look up the Databricks run ({type(error).__name__}); its link is left out")
    return found
