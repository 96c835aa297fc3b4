"""Distribution shift between two runs of the same prompts: is the latest run different from the baseline?

Unit: one call (one traced chat completion). Per metric (prompt tokens, completion tokens, latency in ms,
response length in characters):
  - two-sided Mann-Whitney U test (scipy.stats.mannwhitneyu) of "calls of one run tend to score higher than
    calls of the other". Assumes the calls of each run are independent draws; no distribution shape. Token
    counts and lengths are discrete with many ties: the test uses the normal approximation with the tie
    correction (method "asymptotic"; Hollander, Wolfe & Chicken, Nonparametric Statistical Methods, 3rd ed.,
    section 4.1), valid for tied data where the exact null distribution is not; latency (continuous) uses
    scipy's default ("auto": exact for small samples without ties);
  - Holm's step-down correction across the metrics (bias_metrics.holm), so the chance that an unchanged model
    shows any drifted metric is at most ALPHA;
  - median before and after and the relative median change (the practical size of a shift).
Verdict per metric: "drifted" when the Holm-adjusted p <= ALPHA and the median moved by at least
PRACTICAL_CHANGE (10%) and, for latency, by at least PRACTICAL_ABSOLUTE (50 ms); "small change" when significant but below it; else "stable". At the lab's default
40 calls a run this detects a 30% median shift of a metric whose calls spread like a log-normal of sigma 0.3
(coefficient of variation about 0.3) in at least 80% of runs (tests/labs/test_statistics_simulation.py);
at 30 calls, about 75%.

PSI (population stability index) = sum over bins (q - p) ln(q / p), bins cut at the baseline's deciles, is
shown only when both runs have at least PSI_MIN_N calls: with no change at all its expected value is about
(bins - 1)(1/n + 1/m) (it is asymptotically that times a chi-square with bins - 1 degrees of freedom; Yurdakul
& Naranjo 2020, "Statistical properties of the population stability index", J. Risk Model Validation 14(4)),
0.6 at 30 calls a run, far above the 0.2 "significant shift" band. It is informational, never the verdict.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from labctl_labs.bias_metrics import holm

ALPHA = 0.05
PRACTICAL_CHANGE = 0.10
# Smallest median change that counts, in the metric's unit. Latency is wall-clock time on the client: a loaded
# machine or network jitter moves every call by tens of milliseconds (the flaky test of issue 20), while a chat
# completion takes hundreds of milliseconds to seconds; 50 ms is below what its user notices.
PRACTICAL_ABSOLUTE = {"latency_ms": 50.0}
DISCRETE = frozenset({"prompt_tokens", "completion_tokens", "response_length"})
PSI_MIN_N = 500
PSI_DRIFT = 0.2
PSI_WATCH = 0.1
BINS = 10
FLOOR = 1e-4


def psi(baseline: Sequence[float], latest: Sequence[float], bins: int = BINS) -> float:
    """PSI with bins cut at the baseline's deciles, (-inf, c1), [c1, c2), ..., [c9, inf); an empty bin's share is
    floored at FLOOR so the logarithm stays finite.

    When the top cut is the baseline's maximum (a constant metric, or ties at the top), values above the maximum
    get a bin of their own: otherwise a metric that rises shares the constant's bin and scores 0 while one that
    falls scores 18.4 (issue 20)."""
    import numpy as np

    if not baseline or not latest:
        return 0.0
    ordered = sorted(baseline)
    cuts = np.array(sorted({ordered[min(len(ordered) - 1, int(len(ordered) * i / bins))] for i in range(1, bins)}),
                    dtype=float)
    top_tied = cuts[-1] == ordered[-1]

    def shares(values: Sequence[float]) -> np.ndarray:
        data = np.asarray(values, dtype=float)
        index = np.searchsorted(cuts, data, side="right")
        if top_tied:
            index = np.where(data > cuts[-1], len(cuts) + 1, index)
        counts = np.bincount(index, minlength=len(cuts) + 2)
        return np.maximum(counts / len(data), FLOOR)

    expected, actual = shares(baseline), shares(latest)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def psi_expected_without_change(n: int, m: int, bins: int = BINS) -> float:
    """PSI's expected value when both samples come from one distribution: about (bins - 1)(1/n + 1/m)."""
    return (bins - 1) * (1 / n + 1 / m)


def compare(name: str, baseline: Sequence[float], latest: Sequence[float]) -> dict:
    """One metric's test and sizes (before Holm; `verdicts` adds the adjusted p and the verdict)."""
    from scipy.stats import mannwhitneyu

    if len(baseline) < 2 or len(latest) < 2:
        return {"metric": name, "baseline_n": len(baseline), "latest_n": len(latest), "p_value": None,
                "verdict": "not enough data", "drifted": False}
    if len(set(baseline) | set(latest)) == 1:
        p_value = 1.0  # every call identical in both runs: no shift (the statistic has zero variance)
    else:
        method = "asymptotic" if name in DISCRETE else "auto"
        p_value = float(mannwhitneyu(baseline, latest, alternative="two-sided", method=method).pvalue)
    before, after = statistics.median(baseline), statistics.median(latest)
    result = {
        "metric": name, "baseline_n": len(baseline), "latest_n": len(latest),
        "test": "Mann-Whitney U" + (" (tie-corrected)" if name in DISCRETE else ""), "p_value": p_value,
        "baseline_median": before, "latest_median": after, "median_change": _relative(before, after),
        "baseline_mean": round(statistics.fmean(baseline), 4), "latest_mean": round(statistics.fmean(latest), 4),
        "psi": None,
        "psi_note": f"not computed: {PSI_MIN_N} calls a run needed, its no-change value would be about "
                    f"{psi_expected_without_change(len(baseline), len(latest)):.2f}",
    }
    if min(len(baseline), len(latest)) >= PSI_MIN_N:
        result["psi"], result["psi_note"] = round(psi(baseline, latest), 4), ""
    return result


def verdicts(comparisons: list[dict], alpha: float = ALPHA) -> list[dict]:
    """Holm-adjust the metrics' p-values together and give each metric its verdict (see the module doc)."""
    tested = [c for c in comparisons if c.get("p_value") is not None]
    for item, adjusted in zip(tested, holm([c["p_value"] for c in tested])):
        change = item["median_change"]
        moved = abs(item["latest_median"] - item["baseline_median"])
        large = (moved > 0 if change is None else abs(change) >= PRACTICAL_CHANGE) and \
            moved >= PRACTICAL_ABSOLUTE.get(item["metric"], 0)
        item["p_holm"] = adjusted
        item["drifted"] = adjusted <= alpha and large
        item["verdict"] = "drifted" if item["drifted"] else "small change" if adjusted <= alpha else "stable"
    return comparisons


def compare_runs(baseline: dict[str, Sequence[float]], latest: dict[str, Sequence[float]],
                 alpha: float = ALPHA) -> list[dict]:
    """Every metric both runs have, compared and Holm-adjusted together."""
    return verdicts([compare(m, baseline[m], latest[m]) for m in baseline if m in latest], alpha)


def _relative(before: float, after: float) -> float | None:
    return None if before == 0 else round((after - before) / abs(before), 4)


def content_changed(baseline: dict[tuple, str], latest: dict[tuple, str]) -> dict:
    """Share of identical requests (same prompt, same sample index) whose answer text changed. Meaningful
    at temperature 0 with a fixed seed, where an unchanged model repeats itself (mostly: Azure documents
    `seed` as best effort); at higher temperatures answers differ run to run by design."""
    shared = sorted(baseline.keys() & latest.keys())
    changed = sum(baseline[k] != latest[k] for k in shared)
    return {"pairs": len(shared), "changed": changed, "share": round(changed / len(shared), 4) if shared else None}

