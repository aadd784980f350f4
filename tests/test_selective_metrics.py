"""Tests for the selective-prediction metrics: risk-coverage, AURC, PRR, accuracy at coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from howsure.calibration import (
    METRICS,
    accuracy_at_coverage,
    aurc,
    bootstrap_ci,
    calibration_report,
    prr,
    risk_coverage_curve,
)

# 5 answers ranked by score: correct, correct, wrong, correct, wrong
S = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
Y = np.array([1, 1, 0, 1, 0])


def test_risk_coverage_curve_by_hand():
    cov, risk = risk_coverage_curve(S, Y)
    np.testing.assert_allclose(cov, [0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(risk, [0, 0, 1 / 3, 1 / 4, 2 / 5])
    assert risk[-1] == pytest.approx(1 - Y.mean())  # full coverage = overall error
    # input order does not matter
    perm = np.array([3, 0, 4, 2, 1])
    np.testing.assert_allclose(risk_coverage_curve(S[perm], Y[perm])[1], risk)


def test_aurc_by_hand_and_oracle():
    assert aurc(S, Y) == pytest.approx((0 + 0 + 1 / 3 + 1 / 4 + 2 / 5) / 5)
    oracle = (1 / 4 + 2 / 5) / 5  # 3 correct first, then 2 wrong
    assert aurc(Y.astype(float), Y) == pytest.approx(oracle)
    assert aurc(S[::-1], Y) > aurc(S, Y)


def test_prr_perfect_reversed_random_constant():
    y = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    perfect = y + 0.1 * np.arange(8) / 8
    assert prr(perfect, y) == pytest.approx(1.0)
    assert prr(-perfect, y) < 0
    assert prr(np.full(8, 0.5), y) == pytest.approx(0.0)  # all tied = random in expectation
    rng = np.random.default_rng(0)
    yy = rng.integers(0, 2, 20_000)
    assert abs(prr(rng.random(20_000), yy)) < 0.05
    # a useful score sits between random and oracle
    noisy = yy + rng.normal(0, 1.0, yy.size)
    assert 0.2 < prr(noisy, yy) < 0.9


def test_prr_single_class_is_nan_with_warning():
    with pytest.warns(RuntimeWarning, match="prr is undefined"):
        assert math.isnan(prr([0.2, 0.9, 0.5], [1, 1, 1]))
    with pytest.warns(RuntimeWarning, match="prr is undefined"):
        assert math.isnan(prr([0.2, 0.9, 0.5], [0, 0, 0]))


def test_ties_are_expected_over_random_order():
    s = np.array([0.9, 0.5, 0.5, 0.1])
    y = np.array([1, 1, 0, 0])
    _, risk = risk_coverage_curve(s, y)
    # at k=2 the tie group {1, 0} contributes half an error in expectation
    np.testing.assert_allclose(risk, [0, 0.25, 1 / 3, 0.5])


def test_accuracy_at_coverage_by_hand():
    assert accuracy_at_coverage(S, Y, coverage=0.4) == 1.0
    assert accuracy_at_coverage(S, Y, coverage=0.6) == pytest.approx(2 / 3)
    assert accuracy_at_coverage(S, Y, coverage=0.5) == pytest.approx(2 / 3)  # ceil(2.5) = 3
    assert accuracy_at_coverage(S, Y, coverage=0.8) == pytest.approx(3 / 4)
    assert accuracy_at_coverage(S, Y, coverage=1.0) == pytest.approx(Y.mean())
    assert accuracy_at_coverage(S, Y, coverage=0.01) == 1.0  # at least one answer
    assert METRICS["accuracy_at_80"](S, Y) == pytest.approx(3 / 4)


def test_accuracy_at_coverage_validates():
    with pytest.raises(ValueError, match=r"coverage must be a number in \(0, 1\]; got 0"):
        accuracy_at_coverage(S, Y, coverage=0)
    with pytest.raises(ValueError, match=r"got 1\.5"):
        accuracy_at_coverage(S, Y, coverage=1.5)
    with pytest.raises(TypeError, match=r"coverage must be a number in .*got 'half' of type str"):
        accuracy_at_coverage(S, Y, coverage="half")
    with pytest.raises(ValueError, match="scores"):
        aurc([], [])


@pytest.mark.parametrize("metric", ["aurc", "prr", "accuracy_at_50", "accuracy_at_80"])
def test_bootstrap_new_metrics_vectorised_matches_loop(metric):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 150)
    s = np.clip(0.5 * y + rng.random(150) * 0.6, 0, 1).round(2)  # ties on purpose
    fast = bootstrap_ci(metric, s, y, n_boot=100, seed=1)
    loop = bootstrap_ci(lambda p, t: METRICS[metric](p, t), s, y, n_boot=100, seed=1)
    np.testing.assert_allclose(fast, loop)
    point = METRICS[metric](s, y)
    assert fast[0] <= point <= fast[1]


def test_rank_metrics_accept_unbounded_scores_in_bootstrap():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 80)
    lo, hi = bootstrap_ci("prr", y * 3.0 + rng.normal(size=80), y, n_boot=50)
    assert lo <= hi


def test_calibration_report_has_new_metrics():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 200)
    s = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, 200), 0, 1)
    rep = calibration_report(s, y, n_boot=50)
    for key in ("aurc", "prr", "accuracy_at_50", "accuracy_at_80"):
        assert key in rep and key in rep["ci95"]
    assert rep["prr"] == pytest.approx(prr(s, y))
