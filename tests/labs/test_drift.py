"""Drift statistics: same distribution stable, shifted distribution drifted, with the documented rule."""

import math
import random
import warnings

import pytest

from labctl_labs import drift


def test_identical_distributions_are_stable():
    rng = random.Random(1)
    a = [rng.gauss(100, 10) for _ in range(200)]
    b = [rng.gauss(100, 10) for _ in range(200)]
    result = drift.compare("completion_tokens", a, b)
    assert result["verdict"] == "stable" and not result["drifted"] and result["psi"] < 0.1


def test_a_shifted_distribution_drifts_on_both_tests():
    rng = random.Random(2)
    a = [rng.gauss(100, 10) for _ in range(60)]
    b = [rng.gauss(160, 10) for _ in range(60)]
    result = drift.compare("latency_ms", a, b)
    assert result["drifted"] and result["ks_p_value"] < 0.01 and result["psi"] >= 0.2
    assert 0.5 < result["mean_change"] < 0.7


def test_constant_identical_values_are_not_a_shift():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no zero-variance warning from scipy
        result = drift.compare("prompt_tokens", [24.0] * 30, [24.0] * 30)
    assert result["ks_statistic"] == 0 and result["ks_p_value"] == 1.0
    assert result["verdict"] == "stable" and not result["drifted"]


def test_psi_matches_the_formula_worked_by_hand():
    # Baseline 0..99: deciles cut at 10, 20, ..., 90, ten bins of share p_i = 0.1 each.
    # Latest: 20, 20, 10, 10, 10, 10, 5, 5, 5, 5 values in those bins, shares q = .2 .2 .1 .1 .1 .1 .05 .05 .05 .05.
    # PSI = sum (p_i - q_i) ln(p_i / q_i) = 2 (-0.1) ln(0.5) + 4 * 0 + 4 (0.05) ln(2) = 0.4 ln 2 = 0.27726.
    baseline = list(range(100))
    counts = [20, 20, 10, 10, 10, 10, 5, 5, 5, 5]
    latest = [10 * i + j % 10 for i, n in enumerate(counts) for j in range(n)]
    assert drift.psi(baseline, latest) == pytest.approx(0.4 * math.log(2), rel=1e-12)
    assert drift.psi(latest, baseline) == pytest.approx(0.4 * math.log(2), rel=1e-12)  # PSI is symmetric


def test_psi_floors_an_empty_bin_as_documented():
    # Latest entirely in the lowest decile: q = 1 there and 0 (floored to 1e-4) in the nine others.
    baseline = list(range(100))
    expected = (0.1 - 1) * math.log(0.1 / 1) + 9 * (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    assert drift.psi(baseline, [3] * 50) == pytest.approx(expected, rel=1e-12)  # 8.2265


def test_psi_of_a_constant_metric_that_falls():
    # A constant baseline has one cut, at the constant: bins (< 24) with share 0 -> 1e-4, and (>= 24) with 1.
    expected = 2 * (1 - 1e-4) * math.log(1 / 1e-4)  # 18.4188
    assert drift.psi([24.0] * 30, [20.0] * 30) == pytest.approx(expected, rel=1e-12)


@pytest.mark.xfail(strict=True, reason="issue 20: values above a constant baseline share its bin, so a rise scores 0")
def test_psi_of_a_constant_metric_that_rises_as_much_as_one_that_falls():
    assert drift.psi([24.0] * 30, [30.0] * 30) == pytest.approx(drift.psi([24.0] * 30, [20.0] * 30))


def test_content_changed_pairs_identical_requests():
    before = {("p", 0): "a", ("p", 1): "b", ("q", 0): "c"}
    after = {("p", 0): "a", ("p", 1): "B", ("r", 0): "x"}
    assert drift.content_changed(before, after) == {"pairs": 2, "changed": 1, "share": 0.5}
