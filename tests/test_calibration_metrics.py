"""Tests of howsure.calibration.metrics on hand-computed examples and against sklearn."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from howsure.calibration import (
    METRICS,
    auprc,
    auroc,
    bootstrap_ci,
    brier,
    calibration_report,
    ece,
    mce,
    nll,
    reliability_table,
)


def miscalibrated(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores s ~ U(0, 1) with true P(correct) = s**2 (over-confident)."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(size=n)
    return s, (rng.uniform(size=n) < s**2).astype(int)


# ---- hand-computed values ------------------------------------------------------------
def test_ece_zero_for_perfectly_calibrated_bins():
    probs = np.r_[np.full(4, 0.25), np.full(4, 0.75)]
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    for strategy in ("uniform", "quantile"):
        assert ece(probs, y, n_bins=2, strategy=strategy) == pytest.approx(0.0, abs=1e-15)
        assert mce(probs, y, n_bins=2, strategy=strategy) == pytest.approx(0.0, abs=1e-15)


def test_ece_known_two_bin_example():
    # bin [0, .5): conf .2, acc 0 -> gap .2; bin [.5, 1]: conf .8, acc .5 -> gap .3
    probs = [0.2, 0.2, 0.8, 0.8]
    y = [0, 0, 1, 0]
    assert ece(probs, y, n_bins=2) == pytest.approx(0.5 * 0.2 + 0.5 * 0.3)
    assert mce(probs, y, n_bins=2) == pytest.approx(0.3)
    # one bin: |mean conf - accuracy| = |0.5 - 0.25|
    assert ece(probs, y, n_bins=1) == pytest.approx(0.25)


def test_bins_are_left_closed_last_closed():
    # 0.5 belongs to the upper of two bins, 1.0 to the last bin
    table = reliability_table([0.0, 0.5, 1.0], [0, 1, 1], n_bins=2)
    np.testing.assert_array_equal(table.count, [1, 2])
    np.testing.assert_allclose(table.mean_confidence, [0.0, 0.75])


def test_brier_and_nll_known_values():
    assert brier([1.0, 0.0, 0.5], [1, 1, 0]) == pytest.approx((0 + 1 + 0.25) / 3)
    assert nll([0.5, 0.8], [1, 0]) == pytest.approx(-(math.log(0.5) + math.log(0.2)) / 2)
    assert nll([0.5] * 4, [0, 1, 1, 0]) == pytest.approx(math.log(2))
    # a certain mistake is clipped, not infinite
    assert nll([0.0], [1]) == pytest.approx(-math.log(1e-15))
    assert nll([1.0], [1]) == pytest.approx(0.0, abs=1e-12)


def test_auroc_known_value_and_sklearn():
    assert auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    rng = np.random.default_rng(1)
    for n in (5, 60, 2000):
        s = np.round(rng.uniform(size=n), 1)  # many ties
        y = (rng.uniform(size=n) < s).astype(int)
        y[:2] = [0, 1]
        assert auroc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert auprc(s, y) == pytest.approx(average_precision_score(y, s), abs=1e-12)
    # rank metrics take any real scores, e.g. logits
    logits = rng.normal(size=300)
    y = (rng.uniform(size=300) < 1 / (1 + np.exp(-logits))).astype(int)
    assert auroc(logits, y) == pytest.approx(roc_auc_score(y, logits), abs=1e-12)
    assert auprc(logits, y) == pytest.approx(average_precision_score(y, logits), abs=1e-12)


@pytest.mark.parametrize("fn", [auroc, auprc])
@pytest.mark.parametrize("cls", [0, 1])
def test_rank_metrics_single_class_give_nan_with_warning(fn, cls):
    with pytest.warns(RuntimeWarning, match=rf"single class \(all 3 labels are {cls}\)"):
        assert math.isnan(fn([0.1, 0.5, 0.9], [cls] * 3))


def test_equal_mass_bins_have_equal_counts():
    s, y = miscalibrated(1000, seed=2)
    table = reliability_table(s, y, n_bins=10, strategy="quantile")
    np.testing.assert_array_equal(table.count, np.full(10, 100))
    assert table.lower[0] == 0.0 and table.upper[-1] == 1.0
    np.testing.assert_array_equal(table.lower[1:], table.upper[:-1])


def test_reliability_table_fields():
    s, y = miscalibrated(500, seed=3)
    table = reliability_table(s, y, n_bins=15)
    assert len(table) == 15
    np.testing.assert_allclose(table.lower, np.linspace(0, 1, 16)[:-1])
    assert table.count.sum() == 500
    ok = table.count > 0
    weights = table.count[ok] / 500
    assert np.sum(weights * np.abs(table.gap[ok])) == pytest.approx(ece(s, y))
    # an empty bin has nan means
    empty = reliability_table([0.05, 0.95], [0, 1], n_bins=4)
    assert np.isnan(empty.accuracy[1]) and np.isnan(empty.mean_confidence[2])
    records = empty.to_records()
    assert records[0] == {
        "lower": 0.0,
        "upper": 0.25,
        "count": 1,
        "mean_confidence": 0.05,
        "accuracy": 0.0,
    }


def test_metrics_validate_input():
    with pytest.raises(ValueError, match="different lengths: 3 scores vs 2 labels"):
        brier([0.1, 0.2, 0.3], [0, 1])
    with pytest.raises(ValueError, match=r"probs holds 1 score\(s\) outside \[0, 1\]"):
        ece([0.1, 1.2], [0, 1])
    with pytest.raises(ValueError, match=r"1 non-finite value\(s\).*first at index 1"):
        nll([0.1, np.nan], [0, 1])
    with pytest.raises(ValueError, match="binary labels"):
        brier([0.1, 0.2], [0, 3])
    with pytest.raises(ValueError, match="probs is empty"):
        ece([], [])
    with pytest.raises(ValueError, match=r"strategy must be 'uniform'.*got 'equal'"):
        ece([0.1], [1], strategy="equal")
    with pytest.raises(ValueError, match="n_bins must be an int >= 1; got 0"):
        mce([0.1], [1], n_bins=0)


# ---- bootstrap -------------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["ece", "brier", "nll", "auroc", "auprc", "mce"])
def test_bootstrap_ci_contains_point_estimate(metric):
    s, y = miscalibrated(1000, seed=4)
    lo, hi = bootstrap_ci(metric, s, y, n_boot=500)
    point = METRICS[metric](s, y)
    assert lo <= point <= hi
    assert lo < hi


def test_bootstrap_ci_narrows_with_n():
    small = bootstrap_ci("brier", *miscalibrated(250, seed=5), n_boot=400)
    large = bootstrap_ci("brier", *miscalibrated(4000, seed=5), n_boot=400)
    assert (large[1] - large[0]) < 0.5 * (small[1] - small[0])


def test_bootstrap_ci_deterministic_and_seeded():
    s, y = miscalibrated(300, seed=6)
    a = bootstrap_ci("auroc", s, y, n_boot=200, seed=3)
    assert bootstrap_ci("auroc", s, y, n_boot=200, seed=3) == a
    assert bootstrap_ci("auroc", s, y, n_boot=200, seed=4) != a


def test_bootstrap_ci_vectorised_matches_per_resample_loop():
    s, y = miscalibrated(200, seed=7)
    for name, fn in METRICS.items():
        fast = bootstrap_ci(name, s, y, n_boot=100, seed=1)
        assert bootstrap_ci(fn, s, y, n_boot=100, seed=1) == fast  # module function -> same

        def slow(p, lab, fn=fn):
            return fn(p, lab)

        np.testing.assert_allclose(bootstrap_ci(slow, s, y, n_boot=100, seed=1), fast)
    q = bootstrap_ci("ece", s, y, n_boot=100, seed=1, strategy="quantile", n_bins=8)
    loop = bootstrap_ci(
        lambda p, lab: ece(p, lab, n_bins=8, strategy="quantile"), s, y, n_boot=100, seed=1
    )
    np.testing.assert_allclose(q, loop)


def test_bootstrap_skips_nan_resamples():
    # 2 correct answers out of 30: some resamples hold no correct answer -> AUROC nan
    s = np.linspace(0.01, 0.99, 30)
    y = np.zeros(30, dtype=int)
    y[[10, 25]] = 1
    with pytest.warns(RuntimeWarning, match=r"skipped \d+ of 500 resamples"):
        lo, hi = bootstrap_ci("auroc", s, y, n_boot=500)
    assert 0.0 <= lo <= hi <= 1.0
    with pytest.warns(RuntimeWarning, match="all 50 resamples gave nan"):
        lo, hi = bootstrap_ci("auroc", s, np.zeros(30), n_boot=50)
    assert math.isnan(lo) and math.isnan(hi)


def test_bootstrap_is_fast():
    s, y = miscalibrated(1000, seed=8)
    bootstrap_ci("ece", s[:50], y[:50], n_boot=10)  # warm-up
    for metric in ("ece", "auroc"):
        start = time.perf_counter()
        bootstrap_ci(metric, s, y, n_boot=1000)
        assert time.perf_counter() - start < 2.0


def test_bootstrap_validates_arguments():
    s, y = miscalibrated(50, seed=9)
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        bootstrap_ci("f1", s, y)
    with pytest.raises(ValueError, match=r"alpha must be a number in \(0, 1\); got 1\.5"):
        bootstrap_ci("ece", s, y, alpha=1.5)
    with pytest.raises(ValueError, match="n_boot must be an int >= 1; got 0"):
        bootstrap_ci("ece", s, y, n_boot=0)
    with pytest.raises(TypeError, match="metric must be a metric name"):
        bootstrap_ci(42, s, y)


# ---- report ----------------------------------------------------------------------------
def test_calibration_report():
    s, y = miscalibrated(800, seed=10)
    report = calibration_report(s, y, n_bins=10, n_boot=300, seed=2)
    assert report["n"] == 800
    assert report["n_correct"] == int(y.sum())
    assert report["base_rate"] == pytest.approx(y.mean())
    assert report["ece"] == pytest.approx(ece(s, y, n_bins=10))
    assert report["mce"] == pytest.approx(mce(s, y, n_bins=10))
    assert report["brier"] == pytest.approx(brier(s, y))
    assert report["nll"] == pytest.approx(nll(s, y))
    assert report["auroc"] == pytest.approx(auroc(s, y))
    assert report["auprc"] == pytest.approx(auprc(s, y))
    assert len(report["reliability"]) == 10
    assert set(report["ci95"]) == set(METRICS)
    for name, (lo, hi) in report["ci95"].items():
        assert lo <= report[name] <= hi
    # the report's intervals are bootstrap_ci's, resample for resample
    assert tuple(report["ci95"]["ece"]) == bootstrap_ci("ece", s, y, n_boot=300, seed=2, n_bins=10)
    assert tuple(report["ci95"]["auroc"]) == bootstrap_ci("auroc", s, y, n_boot=300, seed=2)
    json.dumps(report)
    assert calibration_report(s, y, n_boot=0)["ci95"] == {}


def test_ece_noise_floor():
    from howsure.calibration.metrics import ece, ece_noise_floor

    p = np.random.default_rng(1).random(800)
    mean, lo, hi = ece_noise_floor(p, n_sim=500)
    assert 0 < lo < mean < hi < 0.1
    assert ece_noise_floor(p, n_sim=500) == (mean, lo, hi)  # seeded
    # labels drawn from p themselves: their ECE lands inside the floor's range
    inside = [lo <= ece(p, np.random.default_rng(s).random(800) < p) <= hi for s in range(40)]
    assert sum(inside) >= 34
    # more answers, lower floor; certain confidences, no floor at all
    assert ece_noise_floor(np.tile(p, 10), n_sim=200)[0] < mean / 2
    assert ece_noise_floor([0.0, 1.0, 1.0], n_sim=50) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="n_sim must be an int >= 1"):
        ece_noise_floor(p, n_sim=0)


def test_paired_auroc_difference():
    from howsure.calibration.ranking import auroc, paired_auroc_difference

    rng = np.random.default_rng(3)
    y = rng.random(200) < 0.4
    a = y + rng.normal(scale=0.8, size=200)
    b = y + rng.normal(scale=1.6, size=200)
    d, lo, hi = paired_auroc_difference(a, b, y, n_boot=400)
    assert d == pytest.approx(auroc(a, y) - auroc(b, y))
    assert lo < d < hi and lo > 0  # the sharper score wins, beyond noise
    # a method against itself: no difference, and no spread on paired resamples
    assert paired_auroc_difference(a, a, y, n_boot=50) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="one class"):
        paired_auroc_difference(a, b, np.ones(200), n_boot=10)
    with pytest.raises(ValueError, match="different lengths: 3 scores vs 200 labels"):
        paired_auroc_difference(a, b[:3], y, n_boot=10)
