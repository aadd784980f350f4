"""Tests of howsure.calibration calibrators: contract, accuracy on known truths, state, errors."""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest
from scipy.special import expit, logit
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from howsure.calibration import (
    CALIBRATORS,
    BetaCalibrator,
    HistogramCalibrator,
    IdentityCalibrator,
    IsotonicCalibrator,
    PlattCalibrator,
    TemperatureCalibrator,
    calibrator_from_state,
    ece,
    make_calibrator,
)

FITTING = [k for k in CALIBRATORS if k != "identity"]


def make_data(
    n: int, truth: str = "cube", seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores s ~ U(0, 1), true P(correct) = truth(s), labels y ~ Bernoulli(truth(s))."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.0, 1.0, n)
    if truth == "cube":  # over-confident everywhere, and biased: needs a shift
        p = s**3
    elif truth == "overconfident":  # scores twice as extreme as they should be (T = 2)
        p = expit(0.5 * logit(np.clip(s, 1e-12, 1 - 1e-12)))
    else:  # pragma: no cover
        raise AssertionError(truth)
    y = (rng.uniform(size=n) < p).astype(int)
    return s, y, p


# --------------------------------------------------------------------------------------
# scikit-learn's own estimator checks
# --------------------------------------------------------------------------------------
# The calibrators are binary classifiers of ONE column of scores in [0, 1], with labels
# 1 = correct / 0 = wrong. sklearn's generic checks feed random multi-feature X (often with values
# outside [0, 1]) and multi-class or continuous y, and, for estimators tagged
# one_d_array, reshape X to 1-D and then index it as 2-D. The calibrators reject such
# input by design (with a ValueError naming the problem), so those checks cannot pass.
# The checks that do apply still run and must pass: cloning, get/set_params, repr,
# no attributes set in __init__, NotFittedError before fit, graceful errors on sparse,
# complex and empty input, on a missing y, and the tags' consistency.
_REASONS = {
    "x_not_scores": "feeds random features outside [0, 1]; calibrators take scores in [0, 1]",
    "y_not_binary": "feeds multi-class y; calibrators need binary y (1 = correct, 0 = wrong)",
    "one_d": "reshapes X to 1-D for one_d_array estimators, then indexes it as 2-D",
    "multi_feature": "feeds several features; a calibrator maps one score column",
    "transformer": "expects transform to keep the multi-feature layout of its input",
    "classifier": "a classifier check on random multi-feature X outside [0, 1], multi-class, "
    "continuous or 2-D y, or fewer rows than min_samples",
}
_EXPECTED_FAILED = {
    "check_fit_score_takes_y": "y_not_binary",
    "check_dtype_object": "y_not_binary",
    "check_estimators_overwrite_params": "x_not_scores",
    "check_estimators_fit_returns_self": "x_not_scores",
    "check_readonly_memmap_input": "x_not_scores",
    "check_n_features_in_after_fitting": "x_not_scores",
    "check_positive_only_tag_during_fit": "x_not_scores",
    "check_estimators_dtypes": "x_not_scores",
    "check_pipeline_consistency": "x_not_scores",
    "check_estimators_pickle": "x_not_scores",
    "check_fit_idempotent": "x_not_scores",
    "check_fit_check_is_fitted": "x_not_scores",
    "check_n_features_in": "x_not_scores",
    "check_dont_overwrite_parameters": "one_d",
    "check_f_contiguous_array_estimator": "one_d",
    "check_methods_sample_order_invariance": "one_d",
    "check_methods_subset_invariance": "one_d",
    "check_fit2d_1sample": "one_d",
    "check_fit2d_1feature": "one_d",
    "check_dict_unchanged": "one_d",
    "check_fit2d_predict1d": "one_d",
    "check_estimator_sparse_array": "one_d",
    "check_estimators_nan_inf": "multi_feature",
    "check_transformer_data_not_an_array": "transformer",
    "check_transformer_general": "transformer",
    "check_transformer_preserve_dtypes": "transformer",
    "check_classifier_data_not_an_array": "classifier",
    "check_classifiers_classes": "classifier",
    "check_classifiers_one_label": "classifier",
    "check_classifiers_regression_target": "classifier",
    "check_classifiers_train": "classifier",
    "check_supervised_y_2d": "classifier",
}


@parametrize_with_checks([cls() for cls in CALIBRATORS.values()])
def test_sklearn_estimator_checks(estimator, check):
    # The expected failures are applied here rather than through
    # parametrize_with_checks(expected_failed_checks=...): that marks them xfail, and
    # pytest then renders ~170 long tracebacks, which costs ~35 s on a 2-core machine.
    # Each listed check must still fail, so the list cannot silently go stale.
    name = getattr(check, "func", check).__name__
    why = _EXPECTED_FAILED.get(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if why is None:
            check(estimator)
            return
        try:
            check(estimator)
        except Exception:
            pytest.skip(f"not applicable to one score column: sklearn's check {_REASONS[why]}")
    pytest.fail(f"{name} now passes for {estimator!r}; remove it from _EXPECTED_FAILED")


# --------------------------------------------------------------------------------------
# contract and behaviour shared by all calibrators
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(CALIBRATORS))
def test_contract(kind):
    s, y, _ = make_data(400, seed=1)
    cal = make_calibrator(kind)
    assert type(cal) is CALIBRATORS[kind]
    assert cal.kind == kind
    with pytest.raises(NotFittedError):
        cal.confidence(s)
    with pytest.raises(NotFittedError):
        cal.predict(s)
    with pytest.raises(NotFittedError):
        cal.get_state()
    params = cal.get_params()
    assert vars(cal) == params  # __init__ only stores hyperparameters
    assert cal.fit(s, y) is cal
    p = cal.confidence(s)
    assert p.shape == (400,) and p.dtype == np.float64
    assert np.all((p >= 0) & (p <= 1))
    proba = cal.predict_proba(s[:, None])
    assert proba.shape == (400, 2)
    np.testing.assert_allclose(proba[:, 1], p)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # predict gives labels, as a scikit-learn classifier's: 1 = correct where P > 0.5
    np.testing.assert_array_equal(cal.classes_, [0, 1])
    np.testing.assert_array_equal(cal.predict(s), (p > 0.5).astype(int))
    np.testing.assert_array_equal(cal.predict(s[:, None]), cal.predict(s))
    assert cal.score(s, y) == pytest.approx(np.mean(cal.predict(s) == y))
    np.testing.assert_array_equal(cal.transform(s), p[:, None])
    np.testing.assert_array_equal(clone(cal).fit_transform(s, y), p[:, None])
    assert cal.confidence(np.empty(0)).shape == (0,)
    # (n, 1) input is the same as (n,); lists and bool labels are fine
    np.testing.assert_array_equal(clone(cal).fit(s[:, None], y.astype(bool)).confidence(s), p)
    np.testing.assert_array_equal(clone(cal).fit(s.tolist(), y.tolist()).confidence(s), p)
    # deterministic
    np.testing.assert_array_equal(clone(cal).fit(s, y).confidence(s), p)


@pytest.mark.parametrize("kind", list(CALIBRATORS))
def test_monotone_non_decreasing(kind):
    s, y, _ = make_data(2000, seed=2)
    grid = np.linspace(0.0, 1.0, 1001)
    p = make_calibrator(kind).fit(s, y).confidence(grid)
    assert np.all(np.diff(p) >= -1e-12)


@pytest.mark.parametrize("kind", FITTING)
def test_reduces_ece_on_known_truth(kind):
    # Truth y ~ Bernoulli(s**3): raw scores are badly over-confident (ECE ~ 0.25).
    # Temperature scaling has no shift term and cannot fix it (tested below), so it is
    # judged on a truth it can represent: over-confidence by a factor 2 on the logit.
    truth = "overconfident" if kind == "temperature" else "cube"
    s, y, _ = make_data(10_000, truth=truth, seed=3)
    fit_s, fit_y, test_s, test_y = s[:5000], y[:5000], s[5000:], y[5000:]
    raw = ece(test_s, test_y)
    cal = ece(make_calibrator(kind).fit(fit_s, fit_y).confidence(test_s), test_y)
    assert raw > 0.08
    assert cal < 0.05
    assert cal < 0.5 * raw


@pytest.mark.parametrize("kind", ["platt", "temperature", "beta"])
def test_parametric_calibrators_recover_overconfidence(kind):
    s, y, p_true = make_data(20_000, truth="overconfident", seed=4)
    p = make_calibrator(kind).fit(s, y).confidence(s)
    assert np.max(np.abs(p - p_true)) < 0.05


def test_temperature_fits_known_temperature_and_cannot_fix_bias():
    s, y, _ = make_data(20_000, truth="overconfident", seed=5)
    assert TemperatureCalibrator().fit(s, y).temperature_ == pytest.approx(2.0, rel=0.05)
    s, y, _ = make_data(10_000, truth="cube", seed=5)
    raw = ece(s, y)
    assert ece(TemperatureCalibrator().fit(s, y).confidence(s), y) > 0.5 * raw


@pytest.mark.parametrize("kind", ["platt", "isotonic", "beta"])  # histogram: empty bins -> 0.5
def test_constant_scores_give_base_rate(kind):
    s = np.full(40, 0.9)
    y = np.r_[np.zeros(30), np.ones(10)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = make_calibrator(kind).fit(s, y).confidence([0.0, 0.9, 1.0])
    np.testing.assert_allclose(p, 0.25, atol=0.02)


def test_identity_returns_scores():
    s, y, _ = make_data(100, seed=6)
    np.testing.assert_array_equal(IdentityCalibrator().fit(s, y).confidence(s), s)


def test_platt_and_beta_parameters_on_their_own_families():
    # Truth sigmoid(2 * logit(s) - 1) is Platt with a=2, b=-1 and beta with a=b=2, c=-1.
    rng = np.random.default_rng(7)
    s = rng.uniform(0.01, 0.99, 50_000)
    y = (rng.uniform(size=s.size) < expit(2 * logit(s) - 1)).astype(int)
    platt = PlattCalibrator().fit(s, y)
    assert platt.coef_ == pytest.approx(2.0, abs=0.1)
    assert platt.intercept_ == pytest.approx(-1.0, abs=0.1)
    beta = BetaCalibrator().fit(s, y)
    assert beta.a_ == pytest.approx(2.0, abs=0.15)
    assert beta.b_ == pytest.approx(2.0, abs=0.15)
    assert beta.c_ == pytest.approx(-1.0, abs=0.15)


def test_beta_constraint_refits_with_a_zero():
    # True map depends only on -ln(1 - s) with a decreasing part in ln(s): a < 0
    # unconstrained, so the fit is redone with a = 0 and b >= 0.
    rng = np.random.default_rng(8)
    s = rng.uniform(0.001, 0.999, 20_000)
    z = -1.0 * np.log(s) - 1.5 * np.log1p(-s) - 2.0
    y = (rng.uniform(size=s.size) < expit(z)).astype(int)
    beta = BetaCalibrator().fit(s, y)
    assert beta.a_ == 0.0
    assert beta.b_ > 0.0
    grid = np.linspace(0, 1, 501)
    assert np.all(np.diff(beta.confidence(grid)) >= -1e-12)


def test_inverted_scores_warn():
    s, y, _ = make_data(2000, seed=9)
    inverted = 1.0 - s  # higher = more often wrong: a sign-convention bug
    with pytest.warns(RuntimeWarning, match="negative slope"):
        PlattCalibrator().fit(inverted, y)
    with pytest.warns(RuntimeWarning, match="anti-correlated"):
        beta = BetaCalibrator().fit(inverted, y)
    assert beta.a_ == beta.b_ == 0.0
    np.testing.assert_allclose(beta.confidence(inverted), y.mean(), rtol=1e-6)
    with pytest.warns(RuntimeWarning, match="largest temperature"):
        TemperatureCalibrator().fit(inverted, y)


def test_histogram_smoothing_never_gives_0_or_1():
    # top bin all correct, bottom bin all wrong, a middle region empty
    s = np.r_[np.full(50, 0.02), np.full(50, 0.97)]
    y = np.r_[np.zeros(50), np.ones(50)]
    cal = HistogramCalibrator(n_bins=10, strategy="uniform").fit(s, y)
    p = cal.confidence(np.linspace(0, 1, 101))
    assert p.min() > 0.0 and p.max() < 1.0
    assert cal.confidence([0.02])[0] == pytest.approx(1 / 52)  # (0 + 1) / (50 + 2)
    assert cal.confidence([0.97])[0] == pytest.approx(51 / 52)
    assert cal.confidence([0.5])[0] == pytest.approx(0.5)  # empty bin -> prior


def test_histogram_equal_mass_bins():
    s, y, _ = make_data(1000, seed=10)
    cal = HistogramCalibrator(n_bins=10, strategy="quantile").fit(s, y)
    assert cal.n_bins_ == 10
    np.testing.assert_array_equal(cal.bin_counts_, np.full(10, 100.0))
    assert cal.bin_edges_[0] == 0.0 and cal.bin_edges_[-1] == 1.0
    # heavily tied scores merge quantile edges into fewer bins
    tied = np.r_[np.zeros(60), np.full(40, 0.9)]
    y_tied = np.r_[np.zeros(50), np.ones(50)]
    assert HistogramCalibrator(n_bins=10).fit(tied, y_tied).n_bins_ < 10


def test_isotonic_clips_out_of_range():
    s = np.linspace(0.2, 0.8, 200)
    y = (s > 0.5).astype(int)
    cal = IsotonicCalibrator().fit(s, y)
    assert cal.confidence([0.0])[0] == cal.confidence([0.2])[0]
    assert cal.confidence([1.0])[0] == cal.confidence([0.8])[0]


# --------------------------------------------------------------------------------------
# state export / import, no pickle
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(CALIBRATORS))
def test_state_round_trip_through_npz_and_json(kind):
    s, y, _ = make_data(3000, seed=11)
    cal = make_calibrator(kind).fit(s, y)
    arrays, params = cal.get_state()
    assert params["kind"] == kind
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as npz:
        loaded = {k: npz[k] for k in npz.files}
    params_loaded = json.loads(json.dumps(params))
    again = calibrator_from_state(params_loaded["kind"], loaded, params_loaded)
    assert type(again) is type(cal)
    assert again.get_params() == cal.get_params()
    grid = np.r_[np.linspace(0, 1, 1001), s[:500]]
    np.testing.assert_allclose(again.confidence(grid), cal.confidence(grid), rtol=0, atol=1e-12)
    again_arrays, again_params = again.get_state()
    assert again_params == params
    for key, value in arrays.items():
        np.testing.assert_array_equal(again_arrays[key], value)


def test_state_keeps_hyperparameters():
    s, y, _ = make_data(500, seed=12)
    cal = HistogramCalibrator(n_bins=7, strategy="uniform", alpha=0.5).fit(s, y)
    again = calibrator_from_state("histogram", *cal.get_state())
    assert again.get_params() == {
        "n_bins": 7,
        "strategy": "uniform",
        "alpha": 0.5,
        "min_samples": 20,
    }


def test_state_errors():
    s, y, _ = make_data(200, seed=13)
    arrays, params = PlattCalibrator().fit(s, y).get_state()
    with pytest.raises(ValueError, match="unknown calibrator kind 'platypus'"):
        calibrator_from_state("platypus", arrays, params)
    with pytest.raises(ValueError, match=r"lacks array\(s\) \['intercept'\]"):
        calibrator_from_state("platt", {"coef": arrays["coef"]}, params)
    with pytest.raises(ValueError, match="state is for kind 'platt'"):
        BetaCalibrator.from_state(arrays, params)
    with pytest.raises(ValueError, match="format_version 99"):
        calibrator_from_state("platt", arrays, {**params, "format_version": 99})
    bad = {**params, "hyperparameters": {"n_bins": 3}}
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) \['n_bins'\]"):
        calibrator_from_state("platt", arrays, bad)
    # numpy hyperparameters are exported as plain JSON numbers
    _, hist_params = HistogramCalibrator(n_bins=np.int64(4)).fit(s, y).get_state()
    assert json.loads(json.dumps(hist_params))["hyperparameters"]["n_bins"] == 4


# --------------------------------------------------------------------------------------
# validation errors
# --------------------------------------------------------------------------------------
@pytest.fixture
def data():
    s, y, _ = make_data(30, seed=14)
    y[:2] = [0, 1]
    return s, y


@pytest.mark.parametrize("kind", list(CALIBRATORS))
def test_single_class_error(kind, data):
    s, _ = data
    with pytest.raises(ValueError, match=r"single class: all 30 labels are 1 \(correct\)"):
        make_calibrator(kind).fit(s, np.ones(30))
    with pytest.raises(ValueError, match=r"all 30 labels are 0 \(wrong\).*add examples"):
        make_calibrator(kind).fit(s, np.zeros(30))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 10 random rows: any slope goes
@pytest.mark.parametrize("kind", list(CALIBRATORS))
def test_too_few_rows_error(kind, data):
    s, y = data
    with pytest.raises(ValueError, match=r"at least min_samples=20 rows to fit; got 10"):
        make_calibrator(kind).fit(s[:10], y[:10])
    cal = CALIBRATORS[kind](min_samples=5).fit(s[:10], y[:10])
    assert cal.confidence(s).shape == (30,)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_scores_error(bad, data):
    s, y = data
    s = s.copy()
    s[[3, 7]] = bad
    with pytest.raises(ValueError, match=r"2 non-finite value\(s\).*first at index 3"):
        PlattCalibrator().fit(s, y)
    fitted = PlattCalibrator().fit(*data)
    with pytest.raises(ValueError, match="first at index 3"):
        fitted.confidence(s)


def test_out_of_range_scores_error(data):
    s, y = data
    s = s.copy()
    s[5] = 1.5
    with pytest.raises(ValueError, match=r"outside \[0, 1\].*first at index 5.*sigmoid"):
        BetaCalibrator().fit(s, y)
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        BetaCalibrator().fit(*data).confidence([-0.1])


@pytest.mark.parametrize(
    ("shape", "text"), [((30, 2), r"\(30, 2\)"), ((30, 1, 1), r"\(30, 1, 1\)"), ((), r"\(\)")]
)
def test_wrong_shape_error(shape, text, data):
    s, y = data
    X = np.resize(s, shape)
    with pytest.raises(ValueError, match=rf"shape \(n,\) or \(n, 1\).*got shape {text}"):
        IsotonicCalibrator().fit(X, y)


def test_wrong_label_shape_error(data):
    s, y = data
    with pytest.raises(ValueError, match=r"y must have shape .* got shape \(15, 2\)"):
        PlattCalibrator().fit(s, y.reshape(15, 2))


def test_length_mismatch_error(data):
    s, y = data
    with pytest.raises(ValueError, match="different lengths: 30 scores vs 29 labels"):
        HistogramCalibrator().fit(s, y[:29])


def test_non_binary_labels_error(data):
    s, y = data
    y = y.astype(float)
    y[4] = 2.0
    with pytest.raises(ValueError, match=r"binary labels.*first at index 4 \(2.0"):
        TemperatureCalibrator().fit(s, y)


def test_type_errors(data):
    s, y = data
    with pytest.raises(TypeError, match="X must hold numbers; got dtype <U"):
        PlattCalibrator().fit(np.array(["a"] * 30), y)
    with pytest.raises(ValueError, match="requires y to be passed"):
        PlattCalibrator().fit(s, None)


@pytest.mark.parametrize(
    ("cal", "exc", "text"),
    [
        (HistogramCalibrator(n_bins=0), ValueError, r"n_bins must be an int >= 1; got 0"),
        (HistogramCalibrator(n_bins=2.5), TypeError, r"n_bins must be an int >= 1; got 2.5"),
        (HistogramCalibrator(strategy="equal"), ValueError, r"strategy must be .*'equal'"),
        (HistogramCalibrator(alpha=0.0), ValueError, r"alpha must be a number > 0; got 0.0"),
        (PlattCalibrator(eps=0.7), ValueError, r"eps must be a small number .* got 0.7"),
        (BetaCalibrator(eps=-1.0), ValueError, r"eps must be a number in \(0, 1\); got -1.0"),
        (TemperatureCalibrator(max_temperature=0.5), ValueError, r"max_temperature must be > 1"),
        (IdentityCalibrator(min_samples=0), ValueError, r"min_samples must be an int >= 1"),
    ],
)
def test_bad_hyperparameters(cal, exc, text, data):
    with pytest.raises(exc, match=text):
        cal.fit(*data)


def test_hyperparameters_are_keyword_only():
    with pytest.raises(TypeError):
        HistogramCalibrator(10)  # type: ignore[misc]
