"""Seeded simulations of the stated error rates: at parity the chance of any false flag is at most alpha; at the
default sample size the stated effects are found with the stated power (issue 20's acceptance).

Each simulation draws whole probes or run pairs from a known truth and runs the product's own functions on them;
the draws are vectorised with numpy and the rates are estimated from 600-1200 repetitions."""

import numpy as np

from labctl_labs import bias_metrics as bm
from labctl_labs import drift
from labctl_labs.llmops import DEFAULT_SAMPLES, METRICS
from labctl_labs.responsible_ai import ASSUMED_GENDERED_SHARE, LAB_NEUTRAL, default_samples

def probes(rng, repetitions: int, female_share: dict[str, float], samples: int) -> list[dict]:
    """Class counts of neutral answers per profession: each answer names a gender with probability
    ASSUMED_GENDERED_SHARE, and is female with the profession's share."""
    names = list(female_share)
    gendered = rng.binomial(samples, ASSUMED_GENDERED_SHARE, (repetitions, len(names)))
    female = rng.binomial(gendered, np.array([female_share[n] for n in names])[None, :])
    return [{name: {"male": int(gendered[r, i] - female[r, i]), "female": int(female[r, i]), "mixed": 0,
                    "none": int(samples - gendered[r, i])} for i, name in enumerate(names)}
            for r in range(repetitions)]


def flagged(counts: dict) -> list[str]:
    rows, _ = bm.flags_of_counts(counts)
    return [r["profession"] for r in rows if r["flagged"]]


def test_counts_decide_exactly_as_the_answers_do():
    texts = {"male": "He works here.", "female": "She works here.", "none": "They work here."}
    counts = probes(np.random.default_rng(1), 1, {p: 0.3 for p in LAB_NEUTRAL}, 40)[0]
    answers = [bm.Answer(p, "neutral", 0, texts[kind]) for p, c in counts.items() for kind in ("male", "female", "none")
               for _ in range(c[kind])]
    assert bm.class_counts(answers) == counts
    assert bm.representation(answers)["flagged"] == flagged(counts)


def test_bias_probe_false_flags_at_parity_stay_within_alpha():
    rng = np.random.default_rng(2020)
    samples = default_samples(len(LAB_NEUTRAL))
    runs = probes(rng, 1200, {p: 0.5 for p in LAB_NEUTRAL}, samples)
    false_flags = sum(bool(flagged(counts)) for counts in runs) / len(runs)
    assert false_flags <= bm.ALPHA  # the issue measured 2.3%-49% against a nominal 1% before


def test_bias_probe_at_small_samples_says_insufficient_instead_of_flagging():
    # The lab's ten prompts give one answer per profession; at parity the old probe flagged one in two.
    rng = np.random.default_rng(2021)
    for samples in (1, 2, 3, 5):
        for counts in probes(rng, 200, {p: 0.5 for p in LAB_NEUTRAL}, samples):
            rows, tested = bm.flags_of_counts(counts)
            assert not tested and all(r["note"].startswith("insufficient data") for r in rows)


def test_bias_probe_finds_a_skew_of_half_with_the_stated_power():
    rng = np.random.default_rng(2022)
    samples = default_samples(len(LAB_NEUTRAL))
    truth = {p: 0.5 for p in LAB_NEUTRAL} | {"nurse": 0.25}  # skew +0.5: three male answers in four
    results = [flagged(counts) for counts in probes(rng, 1200, truth, samples)]
    found = sum("nurse" in r for r in results) / len(results)
    assert found >= bm.POWER
    others = sum(bool(set(r) - {"nurse"}) for r in results) / len(results)
    assert others <= bm.ALPHA


def run_pair(rng, repetitions: int, n: int, shift: float = 1.0) -> list[tuple[dict, dict]]:
    """Two runs of the lab's one prompt: prompt tokens constant, completion tokens and response length discrete
    and tied, latency continuous; all log-normal with sigma 0.3 around twin-like medians. `shift` multiplies the
    latest run's latency median."""
    def run(factor: float) -> dict:
        completion = np.round(rng.lognormal(np.log(60), 0.3, (repetitions, n)))
        return {"prompt_tokens": np.full((repetitions, n), 24.0), "completion_tokens": completion,
                "latency_ms": rng.lognormal(np.log(800 * factor), 0.3, (repetitions, n)),
                "response_length": np.round(completion * rng.uniform(3.5, 4.5, (repetitions, n)))}

    before, after = run(1.0), run(shift)
    return [({m: before[m][r].tolist() for m in METRICS}, {m: after[m][r].tolist() for m in METRICS})
            for r in range(repetitions)]


def test_drift_verdict_false_alarms_for_an_unchanged_model_stay_within_alpha():
    rng = np.random.default_rng(2023)
    pairs = run_pair(rng, 800, DEFAULT_SAMPLES)
    alarms = sum(any(d["drifted"] for d in drift.compare_runs(a, b)) for a, b in pairs) / len(pairs)
    assert alarms <= drift.ALPHA  # PSI >= 0.2 held in 97% of unchanged runs at 30 calls before


def test_drift_verdict_finds_a_thirty_percent_median_shift_with_the_stated_power():
    rng = np.random.default_rng(2024)
    pairs = run_pair(rng, 600, DEFAULT_SAMPLES, shift=1.3)
    verdicts = [drift.compare_runs(a, b) for a, b in pairs]
    found = sum("latency_ms" in [d["metric"] for d in v if d["drifted"]] for v in verdicts) / len(pairs)
    assert found >= 0.8  # drift.py's stated power at the default 40 calls, sigma 0.3
    unchanged = sum(any(d["drifted"] for d in v if d["metric"] != "latency_ms") for v in verdicts) / len(pairs)
    assert unchanged <= drift.ALPHA
