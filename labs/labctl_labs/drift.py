"""Distribution shift between two runs of the same prompts: is the latest run different from the baseline?

Per metric (prompt tokens, completion tokens, latency, response length):
  - two-sample Kolmogorov-Smirnov test (scipy), statistic D and p-value;
  - population stability index, PSI = sum over bins of (q - p) * ln(q / p), with ten bins cut at the
    baseline's deciles (empty bins get a small floor, 1e-4, so the logarithm stays finite);
  - mean and median, before and after, and their relative change.
Verdict: a metric has drifted when KS rejects equal distributions at level 0.01 AND PSI >= 0.2. Requiring
both keeps a statistically significant but negligible shift (many samples) and a large PSI from a
handful of samples (few samples) from raising an alarm. PSI below 0.1 reads as stable, 0.1-0.2 as
a moderate change worth watching, above 0.2 as a significant shift (the usual PSI bands).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

KS_ALPHA = 0.01
PSI_DRIFT = 0.2
PSI_WATCH = 0.1
BINS = 10
FLOOR = 1e-4


def psi(baseline: Sequence[float], latest: Sequence[float], bins: int = BINS) -> float:
    if not baseline or not latest:
        return 0.0
    ordered = sorted(baseline)
    cuts = sorted({ordered[min(len(ordered) - 1, int(len(ordered) * i / bins))] for i in range(1, bins)})

    def shares(values: Sequence[float]) -> list[float]:
        counts = [0] * (len(cuts) + 1)
        for value in values:
            counts[sum(value >= cut for cut in cuts)] += 1
        return [max(count / len(values), FLOOR) for count in counts]

    expected, actual = shares(baseline), shares(latest)
    return sum((a - e) * math.log(a / e) for e, a in zip(expected, actual))


def compare(name: str, baseline: Sequence[float], latest: Sequence[float]) -> dict:
    from scipy.stats import ks_2samp

    if not baseline or not latest:
        return {"metric": name, "verdict": "not enough data", "drifted": False}
    if len(set(baseline)) == 1 and list(set(baseline)) == list(set(latest)):
        statistic, p_value = 0.0, 1.0  # identical constants: no shift (scipy would warn on zero variance)
    else:
        result = ks_2samp(baseline, latest)
        statistic, p_value = float(result.statistic), float(result.pvalue)
    index = psi(baseline, latest)
    before_mean, after_mean = statistics.fmean(baseline), statistics.fmean(latest)
    before_median, after_median = statistics.median(baseline), statistics.median(latest)
    drifted = p_value < KS_ALPHA and index >= PSI_DRIFT
    verdict = "drifted" if drifted else ("watch" if index >= PSI_WATCH and p_value < KS_ALPHA else "stable")
    return {
        "metric": name, "baseline_n": len(baseline), "latest_n": len(latest),
        "ks_statistic": round(statistic, 4), "ks_p_value": p_value, "psi": round(index, 4),
        "baseline_mean": round(before_mean, 4), "latest_mean": round(after_mean, 4),
        "mean_change": _relative(before_mean, after_mean),
        "baseline_median": before_median, "latest_median": after_median,
        "median_change": _relative(before_median, after_median),
        "verdict": verdict, "drifted": drifted,
    }


def _relative(before: float, after: float) -> float | None:
    return None if before == 0 else round((after - before) / abs(before), 4)


def content_changed(baseline: dict[tuple, str], latest: dict[tuple, str]) -> dict:
    """Share of identical requests (same prompt, same sample index) whose answer text changed."""
    shared = sorted(baseline.keys() & latest.keys())
    changed = sum(baseline[k] != latest[k] for k in shared)
    return {"pairs": len(shared), "changed": changed, "share": round(changed / len(shared), 4) if shared else None}
