"""Drift statistics: same distribution stable, shifted distribution drifted, with the documented rule."""

import random

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
    result = drift.compare("prompt_tokens", [24.0] * 30, [24.0] * 30)
    assert result["ks_p_value"] == 1.0 and result["psi"] == 0 and not result["drifted"]


def test_psi_of_a_distribution_with_itself_is_zero():
    values = list(range(100))
    assert drift.psi(values, values) == 0


def test_content_changed_pairs_identical_requests():
    before = {("p", 0): "a", ("p", 1): "b", ("q", 0): "c"}
    after = {("p", 0): "a", ("p", 1): "B", ("r", 0): "x"}
    assert drift.content_changed(before, after) == {"pairs": 2, "changed": 1, "share": 0.5}
