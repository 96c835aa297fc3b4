"""The reports' charts, read back from matplotlib's figure (its data and labels, not its pixels): LLMOps histograms
compare runs of different sizes as shares of each run's calls, and the bias chart says what "after mitigation" was."""

from __future__ import annotations

import random

import pytest

from labctl_labs import bias_metrics, llmops, report, responsible_ai


def _run(calls: int, seed: int, scale: float = 1.0) -> dict:
    rng = random.Random(seed)
    return {"figures": {"prompt_tokens": [25] * calls,  # every call the same: one bin
                        "completion_tokens": [round(rng.lognormvariate(4, 0.3) * scale) for _ in range(calls)],
                        "latency_ms": [rng.lognormvariate(6, 0.3) * scale for _ in range(calls)],
                        "response_length": [round(rng.lognormvariate(5, 0.3) * scale) for _ in range(calls)]}}


def test_llmops_histograms_show_each_runs_share_of_calls_over_the_same_bins():
    baseline, latest = _run(80, 1), _run(40, 2, scale=1.3)  # a baseline twice the size of this run
    figure = llmops.histogram_figure(latest, baseline)
    try:
        panels = [a for a in figure.axes if a.get_title()]
        assert [p.get_title() for p in panels] == ["prompt tokens", "completion tokens", "latency (ms)",
                                                   "response length (characters)"]
        for panel in panels:
            assert panel.get_ylabel() == report.SHARE_LABEL == "share of calls (each series sums to 1)"
            assert panel.get_xlabel() == panel.get_title()
            bars = panel.containers  # one BarContainer per run: baseline, then this run
            assert panel.get_legend_handles_labels()[1] == ["baseline (n=80)", "this run (n=40)"]
            for container in bars:
                assert sum(p.get_height() for p in container.patches) == pytest.approx(1.0)
            # The same bins for both runs, so a bar of one stands beside the other's.
            assert [p.get_x() for p in bars[0].patches] == [p.get_x() for p in bars[1].patches]
        assert len(panels[0].containers[0].patches) == 1  # one value only: one bar, all of the run
    finally:
        report.close(figure)


def test_a_first_llmops_run_is_one_series_of_shares():
    figure = llmops.histogram_figure(_run(40, 3), None)
    try:
        for panel in [a for a in figure.axes if a.get_title()]:
            assert panel.get_legend_handles_labels()[1] == ["this run (n=40)"]
            assert sum(p.get_height() for p in panel.containers[0].patches) == pytest.approx(1.0)
    finally:
        report.close(figure)


def _representation(male: int, female: int, none: int) -> dict:
    counts = {name: {"male": male, "female": female, "mixed": 0, "none": none} for name in ("nurse", "engineer")}
    return bias_metrics.representation_of_counts(counts)


def test_the_bias_chart_says_what_after_mitigation_was():
    figure = responsible_ai.chart_figure(_representation(40, 10, 9), _representation(8, 6, 45))
    try:
        skew = next(a for a in figure.axes if a.get_title().startswith("Skew"))
        labels = [t.get_text() for t in skew.get_legend().get_texts()]
        assert labels == ["before", "after mitigation (debiasing system prompt)"]
        caption = " ".join(" ".join(t.get_text().split()) for t in figure.texts)
        # The mitigation is the lab's own: its system prompt, quoted whole.
        assert f'the neutral prompts asked again with the system prompt "{responsible_ai.MITIGATION_PROMPT}"' in caption
    finally:
        report.close(figure)
    page = responsible_ai.mitigation_caption()
    assert page.startswith("After mitigation: ") and responsible_ai.MITIGATION_PROMPT in page


def test_without_a_mitigation_run_the_bias_chart_has_no_mitigation_caption():
    figure = responsible_ai.chart_figure(_representation(40, 10, 9), None)
    try:
        skew = next(a for a in figure.axes if a.get_title().startswith("Skew"))
        assert [t.get_text() for t in skew.get_legend().get_texts()] == ["before"]
        assert not any("mitigation" in t.get_text() for t in figure.texts)
    finally:
        report.close(figure)
