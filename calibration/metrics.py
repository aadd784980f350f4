"""Calibration and ranking metrics, with vectorised bootstrap confidence intervals.

Sign convention: ``probs``/``scores`` are P(answer correct), higher = surer;
labels ``y`` are 1 = correct, 0 = wrong.

Binning (ECE, MCE, reliability table): ``strategy="uniform"`` uses ``n_bins``
equal-width bins on [0, 1]; ``"quantile"`` uses equal-mass bins whose inner
edges are the ``np.quantile`` of ``probs`` (outer edges 0 and 1). Bins are
``[lower, upper)`` with the last one closed -- the convention of
:func:`numpy.histogram` (and of netcal). ECE is the count-weighted mean of
``|accuracy - mean confidence|`` over bins; MCE the largest gap over non-empty
bins.

Every metric is computed by one batched routine on an array of shape
(n_resamples, n), so :func:`bootstrap_ci` evaluates 1000 resamples in one pass
(AUROC by the rank-sum formula, average precision by a sort), not 1000 calls.

Selective prediction (:func:`risk_coverage_curve`, :func:`aurc`, :func:`prr`,
:func:`accuracy_at_coverage`): answers are accepted in order of decreasing score;
inside a group of tied scores the error count is interpolated linearly, i.e. the
expectation over a random order of the tied answers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.stats import rankdata

from howsure.calibration._validation import (
    check_fraction,
    check_n_bins,
    check_positive_int,
    check_scores_labels,
)

__all__ = [
    "METRICS",
    "RANK_METRICS",
    "ReliabilityTable",
    "accuracy_at_50",
    "accuracy_at_80",
    "accuracy_at_coverage",
    "auprc",
    "aurc",
    "auroc",
    "bootstrap_ci",
    "brier",
    "calibration_report",
    "ece",
    "ece_noise_floor",
    "mce",
    "nll",
    "paired_auroc_difference",
    "prr",
    "reliability_table",
    "risk_coverage_curve",
]

Strategy = Literal["uniform", "quantile"]
MetricName = Literal[
    "ece",
    "mce",
    "brier",
    "nll",
    "auroc",
    "auprc",
    "aurc",
    "prr",
    "accuracy_at_50",
    "accuracy_at_80",
]
RANK_METRICS = frozenset({"auroc", "auprc", "aurc", "prr", "accuracy_at_50", "accuracy_at_80"})
"""Metrics that use only the order of the scores, so accept any finite reals."""
_NLL_EPS = 1e-15
_CHUNK_ELEMENTS = 1_000_000  # resamples x rows per batch in the bootstrap


# ---- checks --------------------------------------------------------------------------
def _check_strategy(strategy: Any) -> str:
    if strategy not in ("uniform", "quantile"):
        raise ValueError(
            f"strategy must be 'uniform' (equal-width bins) or 'quantile' (equal-mass bins); "
            f"got {strategy!r}."
        )
    return strategy


def _prepare(probs: Any, y: Any, *, bounded: bool = True) -> tuple[np.ndarray, np.ndarray]:
    name = "probs" if bounded else "scores"
    return check_scores_labels(probs, y, x_name=name, y_name="y", bounded=bounded)


# ---- batched kernels: p, y of shape (B, n) -> (B,) -------------------------------------
def _edges(p: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    """Bin edges of shape (B, n_bins + 1) for each row of ``p`` (B, n)."""
    grid = np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "uniform":
        return np.broadcast_to(grid, (p.shape[0], n_bins + 1))
    edges = np.quantile(p, grid, axis=1).T.copy()
    edges[:, 0], edges[:, -1] = 0.0, 1.0
    return edges


def _bin_index(p: np.ndarray, edges: np.ndarray, strategy: str) -> np.ndarray:
    """Bin of each element: the number of inner edges <= p, in 0..n_bins-1. Shape (B, n)."""
    inner = edges[:, 1:-1]
    if strategy == "uniform":
        return np.searchsorted(inner[0], p, side="right")
    idx = np.zeros(p.shape, dtype=np.intp)
    for j in range(inner.shape[1]):  # one (B, n) comparison per edge keeps memory at O(B n)
        idx += p >= inner[:, j : j + 1]
    return idx


def _binned_sums(
    p: np.ndarray, y: np.ndarray, n_bins: int, strategy: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-bin count, sum of p and sum of y, each (B, n_bins), and the edges (B, n_bins + 1)."""
    b = p.shape[0]
    edges = _edges(p, n_bins, strategy)
    flat = (_bin_index(p, edges, strategy) + n_bins * np.arange(b)[:, None]).ravel()
    size = b * n_bins
    count = np.bincount(flat, minlength=size).reshape(b, n_bins).astype(np.float64)
    sum_p = np.bincount(flat, weights=p.ravel(), minlength=size).reshape(b, n_bins)
    sum_y = np.bincount(flat, weights=y.ravel(), minlength=size).reshape(b, n_bins)
    return count, sum_p, sum_y, edges


def _ece_batch(p: np.ndarray, y: np.ndarray, *, n_bins: int, strategy: str) -> np.ndarray:
    _, sum_p, sum_y, _ = _binned_sums(p, y, n_bins, strategy)
    return np.abs(sum_y - sum_p).sum(axis=1) / p.shape[1]


def _mce_batch(p: np.ndarray, y: np.ndarray, *, n_bins: int, strategy: str) -> np.ndarray:
    count, sum_p, sum_y, _ = _binned_sums(p, y, n_bins, strategy)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs(sum_y - sum_p) / count
    return np.where(count > 0, gap, 0.0).max(axis=1)


def _brier_batch(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.mean((p - y) ** 2, axis=1)


def _nll_batch(p: np.ndarray, y: np.ndarray, *, eps: float = _NLL_EPS) -> np.ndarray:
    pc = np.clip(p, eps, 1.0 - eps)
    return -np.mean(y * np.log(pc) + (1.0 - y) * np.log1p(-pc), axis=1)


def _auroc_batch(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    n_pos = y.sum(axis=1)
    n_neg = s.shape[1] - n_pos
    ranks = rankdata(s, axis=1)  # average ranks for ties -> ties count 1/2
    u = (ranks * y).sum(axis=1) - n_pos * (n_pos + 1.0) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        out = u / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), out, np.nan)


def _auprc_batch(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Average precision, as :func:`sklearn.metrics.average_precision_score` (ties grouped)."""
    b, n = s.shape
    order = np.argsort(-s, axis=1, kind="stable")
    s_sorted = np.take_along_axis(s, order, axis=1)
    y_sorted = np.take_along_axis(y, order, axis=1)
    tp = np.cumsum(y_sorted, axis=1)
    # a threshold sits at the last element of each group of tied scores
    last = np.ones((b, n), dtype=bool)
    last[:, :-1] = s_sorted[:, :-1] != s_sorted[:, 1:]
    pos = np.where(last, np.arange(n), n)
    end = np.minimum.accumulate(pos[:, ::-1], axis=1)[:, ::-1]  # group end of each element
    precision_at_end = np.take_along_axis(tp, end, axis=1) / (end + 1.0)
    n_pos = tp[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (y_sorted * precision_at_end).sum(axis=1) / n_pos
    return np.where(n_pos > 0, out, np.nan)


def _kernel(name: str, *, n_bins: int, strategy: str) -> Callable[..., np.ndarray]:
    if name == "ece":
        return lambda p, y: _ece_batch(p, y, n_bins=n_bins, strategy=strategy)
    if name == "mce":
        return lambda p, y: _mce_batch(p, y, n_bins=n_bins, strategy=strategy)
    return {
        "brier": _brier_batch,
        "nll": _nll_batch,
        "auroc": _auroc_batch,
        "auprc": _auprc_batch,
        "aurc": _aurc_batch,
        "prr": _prr_batch,
        "accuracy_at_50": lambda s, y: _accuracy_at_batch(s, y, coverage=0.5),
        "accuracy_at_80": lambda s, y: _accuracy_at_batch(s, y, coverage=0.8),
    }[name]


def _warn_single_class(metric: str, y: np.ndarray) -> None:
    cls = int(y[0]) if y.size else 0
    warnings.warn(
        f"{metric} is undefined when y holds a single class (all {y.size} labels are {cls}); "
        "returning nan. Evaluate on data with both correct (1) and wrong (0) answers.",
        RuntimeWarning,
        stacklevel=3,
    )


# ---- public metrics ------------------------------------------------------------------
def ece(probs: Any, y: Any, *, n_bins: int = 15, strategy: Strategy = "uniform") -> float:
    """Expected calibration error.

    ``sum_b (n_b / n) * |accuracy_b - mean_confidence_b|`` over bins ``b``.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1], higher = surer.
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.
    n_bins : int, default=15
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width or equal-mass bins.

    Returns
    -------
    float
        ECE in [0, 1]; 0 is perfectly calibrated (at this binning).
    """
    n_bins, strategy = check_n_bins(n_bins), _check_strategy(strategy)
    p, lab = _prepare(probs, y)
    return float(_ece_batch(p[None], lab[None], n_bins=n_bins, strategy=strategy)[0])


def ece_noise_floor(
    probs: Any,
    *,
    n_bins: int = 15,
    strategy: Strategy = "uniform",
    n_sim: int = 1000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """The ECE a *perfectly calibrated* predictor shows with these confidences.

    ECE is biased upwards on finite samples: even when every answer is right with exactly
    its predicted probability, the binned accuracies scatter around the confidences. This
    draws labels ``y ~ Bernoulli(probs)`` ``n_sim`` times and measures the ECE of each
    draw, so a reported ECE can be read against what perfect calibration would give on
    the same number of answers.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1].
    n_bins : int, default=15
    strategy : {"uniform", "quantile"}, default="uniform"
    n_sim : int, default=1000
        Simulated label draws.
    seed : int, default=0

    Returns
    -------
    (mean, lo, hi) : tuple of float
        The mean simulated ECE and its 2.5% and 97.5% quantiles.

    Examples
    --------
    >>> mean, lo, hi = ece_noise_floor([0.3] * 100 + [0.8] * 100, n_sim=200)
    >>> 0.0 < lo <= mean <= hi < 0.2
    True
    """
    n_bins, strategy = check_n_bins(n_bins), _check_strategy(strategy)
    p, _ = _prepare(probs, np.zeros(np.asarray(probs).shape))
    if isinstance(n_sim, bool) or not isinstance(n_sim, (int, np.integer)) or n_sim < 1:
        raise ValueError(f"n_sim must be a positive integer, got {n_sim!r}")
    rng = np.random.default_rng(seed)
    ys = (rng.random((int(n_sim), p.size)) < p).astype(float)
    sims = _ece_batch(np.broadcast_to(p, ys.shape), ys, n_bins=n_bins, strategy=strategy)
    lo, hi = np.quantile(sims, [0.025, 0.975])
    return float(sims.mean()), float(lo), float(hi)


def paired_auroc_difference(
    scores_a: Any, scores_b: Any, y: Any, *, n_boot: int = 1000, seed: int = 0
) -> tuple[float, float, float]:
    """AUROC of ``scores_a`` minus AUROC of ``scores_b`` on the same answers, with a
    paired bootstrap 95% interval (both scored on the same resamples).

    Parameters
    ----------
    scores_a, scores_b : array-like of shape (n,)
        Two methods' scores, higher = more likely correct.
    y : array-like of shape (n,)
        Labels, 1 = correct, 0 = wrong; both classes needed.
    n_boot : int, default=1000
    seed : int, default=0

    Returns
    -------
    (difference, lo, hi) : tuple of float
        Resamples with one class only are dropped; ``lo``/``hi`` are nan when none is left.

    Examples
    --------
    >>> a, b = [0.9, 0.8, 0.2, 0.1], [0.1, 0.8, 0.2, 0.9]
    >>> d, lo, hi = paired_auroc_difference(a, b, [1, 1, 0, 0])
    >>> d
    0.75
    """
    a, y_ = _prepare(scores_a, y, bounded=False)
    b, _ = _prepare(scores_b, y, bounded=False)
    if not 0 < y_.sum() < y_.size:
        raise ValueError("the AUROC difference needs both right and wrong answers; y has one class")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    diff = float(_auroc_batch(a[None], y_[None])[0] - _auroc_batch(b[None], y_[None])[0])
    idx = np.random.default_rng(seed).integers(0, y_.size, size=(int(n_boot), y_.size))
    yb = y_[idx]
    both = (yb.sum(axis=1) > 0) & (yb.sum(axis=1) < y_.size)
    if not both.any():
        return diff, float("nan"), float("nan")
    idx, yb = idx[both], yb[both]
    d = _auroc_batch(a[idx], yb) - _auroc_batch(b[idx], yb)
    lo, hi = np.quantile(d, [0.025, 0.975])
    return diff, float(lo), float(hi)


def mce(probs: Any, y: Any, *, n_bins: int = 15, strategy: Strategy = "uniform") -> float:
    """Maximum calibration error: the largest ``|accuracy - mean confidence|`` of a non-empty bin.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1], higher = surer.
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.
    n_bins : int, default=15
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width or equal-mass bins.

    Returns
    -------
    float
        MCE in [0, 1].
    """
    n_bins, strategy = check_n_bins(n_bins), _check_strategy(strategy)
    p, lab = _prepare(probs, y)
    return float(_mce_batch(p[None], lab[None], n_bins=n_bins, strategy=strategy)[0])


def brier(probs: Any, y: Any) -> float:
    """Brier score: mean squared difference between P(correct) and the 0/1 label.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1].
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.

    Returns
    -------
    float
        Brier score in [0, 1]; lower is better.
    """
    p, lab = _prepare(probs, y)
    return float(_brier_batch(p[None], lab[None])[0])


def nll(probs: Any, y: Any, *, eps: float = _NLL_EPS) -> float:
    """Mean negative log-likelihood (log loss), natural log.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1]; clipped to ``[eps, 1 - eps]`` so a confident
        mistake costs at most ``-ln(eps)`` (about 34.5) instead of infinity.
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.
    eps : float, default=1e-15
        Clipping constant in (0, 1).

    Returns
    -------
    float
        NLL >= 0; lower is better; ``ln 2`` for always answering 0.5.
    """
    eps = check_fraction(eps, name="eps")
    p, lab = _prepare(probs, y)
    return float(_nll_batch(p[None], lab[None], eps=eps)[0])


def auroc(scores: Any, y: Any) -> float:
    """Area under the ROC curve of ``scores`` for telling correct (1) from wrong (0) answers.

    Computed by the rank-sum (Mann-Whitney) formula with average ranks for ties; equal
    to :func:`sklearn.metrics.roc_auc_score`. Rank-based, so scores may be any finite
    reals (higher = surer), not only probabilities.

    Parameters
    ----------
    scores : array-like of shape (n,) or (n, 1)
        Higher = more likely correct.
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.

    Returns
    -------
    float
        AUROC in [0, 1], 0.5 for chance; ``nan`` (with a RuntimeWarning) when ``y`` holds
        a single class, where AUROC is undefined.
    """
    s, lab = _prepare(scores, y, bounded=False)
    out = float(_auroc_batch(s[None], lab[None])[0])
    if np.isnan(out):
        _warn_single_class("auroc", lab)
    return out


def auprc(scores: Any, y: Any) -> float:
    """Area under the precision-recall curve (average precision) for finding correct answers.

    The positive class is "correct" (``y == 1``); equal to
    :func:`sklearn.metrics.average_precision_score`. Scores may be any finite reals.

    Parameters
    ----------
    scores : array-like of shape (n,) or (n, 1)
        Higher = more likely correct.
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.

    Returns
    -------
    float
        Average precision in [0, 1]; the base rate for random scores. ``nan`` (with a
        RuntimeWarning) when ``y`` holds a single class: with no correct answer it is
        undefined, and with no wrong answer it is trivially 1 and tells nothing.
    """
    s, lab = _prepare(scores, y, bounded=False)
    n_pos = lab.sum()
    if n_pos == 0 or n_pos == lab.size:
        _warn_single_class("auprc", lab)
        return float("nan")
    return float(_auprc_batch(s[None], lab[None])[0])


# ---- selective prediction: risk-coverage, AURC, PRR, accuracy at coverage -------------
def _expected_errors(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Expected error count among the ``k`` most confident answers, for k = 1..n.

    Rows of ``s``, ``y`` (B, n) are sorted by decreasing score; inside a group of tied
    scores the error count is interpolated linearly between the group's ends, which is
    its expectation when the tied answers are taken in random order. Shape (B, n).
    """
    b, n = s.shape
    order = np.argsort(-s, axis=1, kind="stable")
    s_sorted = np.take_along_axis(s, order, axis=1)
    err = np.cumsum(1.0 - np.take_along_axis(y, order, axis=1), axis=1)
    idx = np.arange(n)
    tied_next = np.zeros((b, n), dtype=bool)
    tied_next[:, :-1] = s_sorted[:, :-1] == s_sorted[:, 1:]
    # group end (last index) and group start (first index) of every element
    end = np.minimum.accumulate(np.where(tied_next, n, idx)[:, ::-1], axis=1)[:, ::-1]
    starts_group = np.ones((b, n), dtype=bool)
    starts_group[:, 1:] = ~tied_next[:, :-1]
    start = np.maximum.accumulate(np.where(starts_group, idx, 0), axis=1)
    before = np.where(start > 0, np.take_along_axis(err, np.maximum(start - 1, 0), axis=1), 0.0)
    at_end = np.take_along_axis(err, end, axis=1)
    frac = (idx + 1.0 - start) / (end + 1.0 - start)
    return before + frac * (at_end - before)


def _aurc_batch(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    n = s.shape[1]
    return (_expected_errors(s, y) / np.arange(1.0, n + 1.0)).mean(axis=1)


def _oracle_aurc(y: np.ndarray) -> np.ndarray:
    """AURC of a perfect ranking (every correct answer first), per row of ``y`` (B, n)."""
    n = y.shape[1]
    n_correct = y.sum(axis=1).astype(np.intp)
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1.0, n + 1.0))])
    # (1/n) sum_{k > n_c} (k - n_c) / k = (1/n) [n_wrong - n_c (H_n - H_{n_c})]
    return ((n - n_correct) - n_correct * (harmonic[n] - harmonic[n_correct])) / n


def _prr_batch(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    random = 1.0 - y.mean(axis=1)  # expected risk of a random order at every coverage
    oracle = _oracle_aurc(y)
    span = random - oracle
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (random - _aurc_batch(s, y)) / span
    return np.where(span > 0, out, np.nan)


def _n_accepted(coverage: float, n: int) -> int:
    # the smallest k with k / n >= coverage (tolerant of float error in coverage * n)
    return max(1, min(n, int(np.ceil(coverage * n - 1e-9))))


def _accuracy_at_batch(s: np.ndarray, y: np.ndarray, *, coverage: float) -> np.ndarray:
    k = _n_accepted(coverage, s.shape[1])
    return 1.0 - _expected_errors(s, y)[:, k - 1] / k


def _check_coverage(coverage: Any) -> float:
    if isinstance(coverage, bool) or not isinstance(
        coverage, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"coverage must be a real number in (0, 1], the fraction of answers kept; got "
            f"{coverage!r} of type {type(coverage).__name__}."
        )
    c = float(coverage)
    if not (0.0 < c <= 1.0):
        raise ValueError(
            f"coverage must be in (0, 1], the fraction of answers kept (e.g. 0.8); got {c!r}."
        )
    return c


def risk_coverage_curve(scores: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Risk (error rate of the accepted answers) against coverage (fraction accepted).

    Answers are accepted in order of decreasing score; point ``k`` (k = 1..n) accepts the
    ``k`` most confident. Ties: inside a group of equal scores the risk is the expected one
    when the tied answers are accepted in random order (the error count is interpolated
    linearly across the group), so the curve does not depend on the input order and a
    constant score gives the overall error rate at every coverage.

    Parameters
    ----------
    scores : array-like of shape (n,) or (n, 1)
        Higher = more likely correct; any finite reals (only the order matters).
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.

    Returns
    -------
    coverage : ndarray of shape (n,)
        ``k / n`` for k = 1..n.
    risk : ndarray of shape (n,)
        Error rate among the accepted answers at each coverage; ``risk[-1]`` is the
        overall error rate ``1 - mean(y)``.

    Examples
    --------
    >>> cov, risk = risk_coverage_curve([0.9, 0.8, 0.3, 0.2], [1, 0, 1, 0])
    >>> cov.tolist(), risk.tolist()
    ([0.25, 0.5, 0.75, 1.0], [0.0, 0.5, 0.3333333333333333, 0.5])
    """
    s, lab = _prepare(scores, y, bounded=False)
    n = s.size
    k = np.arange(1.0, n + 1.0)
    return k / n, _expected_errors(s[None], lab[None])[0] / k


def aurc(scores: Any, y: Any) -> float:
    """Area under the risk-coverage curve: the mean risk over coverages ``k / n``, k = 1..n.

    Lower is better. A random order gives the error rate ``1 - mean(y)``; the oracle
    (every correct answer before every wrong one) gives the lowest value reachable on
    ``y``. Ties are handled as in :func:`risk_coverage_curve`.

    Parameters
    ----------
    scores : array-like of shape (n,) or (n, 1)
        Higher = more likely correct; any finite reals.
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.

    Returns
    -------
    float
        AURC in [0, 1].
    """
    s, lab = _prepare(scores, y, bounded=False)
    return float(_aurc_batch(s[None], lab[None])[0])


def prr(scores: Any, y: Any) -> float:
    """Prediction rejection ratio: how much of the oracle's AURC gain over random is reached.

    ``(AURC_random - AURC_scores) / (AURC_random - AURC_oracle)`` with ``AURC_random =
    1 - mean(y)`` (the expected AURC of a random order) and ``AURC_oracle`` the AURC of a
    ranking that puts every correct answer first.

    Parameters
    ----------
    scores : array-like of shape (n,) or (n, 1)
        Higher = more likely correct; any finite reals.
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.

    Returns
    -------
    float
        1 for a perfect ranking, about 0 for a random one (exactly 0 for a constant
        score), negative when worse than random. ``nan`` (with a RuntimeWarning) when
        ``y`` holds a single class: then random and oracle coincide and the ratio is 0/0.
    """
    s, lab = _prepare(scores, y, bounded=False)
    out = float(_prr_batch(s[None], lab[None])[0])
    if np.isnan(out):
        _warn_single_class("prr", lab)
    return out


def accuracy_at_coverage(scores: Any, y: Any, *, coverage: float) -> float:
    """Accuracy of the most confident ``coverage`` fraction of the answers.

    The ``k = ceil(coverage * n)`` answers with the highest scores are kept (at least one);
    ties at the cut count by their expected accuracy as in :func:`risk_coverage_curve`.

    Parameters
    ----------
    scores : array-like of shape (n,) or (n, 1)
        Higher = more likely correct; any finite reals.
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.
    coverage : float
        Fraction of answers kept, in (0, 1], e.g. 0.5 or 0.8.

    Returns
    -------
    float
        ``1 - risk`` at coverage ``k / n``, in [0, 1]; ``mean(y)`` at coverage 1.

    Examples
    --------
    >>> accuracy_at_coverage([0.9, 0.8, 0.3, 0.2], [1, 0, 1, 0], coverage=0.5)
    0.5
    """
    c = _check_coverage(coverage)
    s, lab = _prepare(scores, y, bounded=False)
    return float(_accuracy_at_batch(s[None], lab[None], coverage=c)[0])


def accuracy_at_50(scores: Any, y: Any) -> float:
    """:func:`accuracy_at_coverage` at coverage 0.5 (the most confident half)."""
    return accuracy_at_coverage(scores, y, coverage=0.5)


def accuracy_at_80(scores: Any, y: Any) -> float:
    """:func:`accuracy_at_coverage` at coverage 0.8."""
    return accuracy_at_coverage(scores, y, coverage=0.8)


METRICS: dict[str, Callable[..., float]] = {
    "ece": ece,
    "mce": mce,
    "brier": brier,
    "nll": nll,
    "auroc": auroc,
    "auprc": auprc,
    "aurc": aurc,
    "prr": prr,
    "accuracy_at_50": accuracy_at_50,
    "accuracy_at_80": accuracy_at_80,
}
"""The metric functions by name, as understood by :func:`bootstrap_ci`."""


# ---- reliability table ---------------------------------------------------------------
@dataclass(frozen=True)
class ReliabilityTable:
    """Per-bin calibration summary; each field has shape (n_bins,).

    Attributes
    ----------
    lower, upper : ndarray of shape (n_bins,)
        Bin edges; bins are ``[lower, upper)``, the last one closed.
    count : ndarray of shape (n_bins,)
        Rows in each bin (int).
    mean_confidence : ndarray of shape (n_bins,)
        Mean predicted P(correct) in each bin; nan for an empty bin.
    accuracy : ndarray of shape (n_bins,)
        Fraction correct in each bin; nan for an empty bin.
    """

    lower: np.ndarray
    upper: np.ndarray
    count: np.ndarray
    mean_confidence: np.ndarray
    accuracy: np.ndarray

    def __len__(self) -> int:
        return int(self.count.shape[0])

    @property
    def gap(self) -> np.ndarray:
        """``accuracy - mean_confidence`` per bin, shape (n_bins,); < 0 means over-confident."""
        return self.accuracy - self.mean_confidence

    def to_records(self) -> list[dict[str, float | int]]:
        """One JSON-able dict per bin (nan for the means of empty bins)."""
        return [
            {
                "lower": float(lo),
                "upper": float(hi),
                "count": int(c),
                "mean_confidence": float(mc),
                "accuracy": float(acc),
            }
            for lo, hi, c, mc, acc in zip(
                self.lower,
                self.upper,
                self.count,
                self.mean_confidence,
                self.accuracy,
                strict=True,
            )
        ]


def reliability_table(
    probs: Any, y: Any, *, n_bins: int = 15, strategy: Strategy = "uniform"
) -> ReliabilityTable:
    """Per-bin counts, mean confidence and accuracy: the numbers behind a reliability diagram.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1].
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.
    n_bins : int, default=15
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width or equal-mass bins.

    Returns
    -------
    ReliabilityTable
        Fields ``lower, upper, count, mean_confidence, accuracy``, each of shape (n_bins,).
    """
    n_bins, strategy = check_n_bins(n_bins), _check_strategy(strategy)
    p, lab = _prepare(probs, y)
    count, sum_p, sum_y, edges = _binned_sums(p[None], lab[None], n_bins, strategy)
    count, sum_p, sum_y, edges = count[0], sum_p[0], sum_y[0], edges[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(count > 0, sum_p / count, np.nan)
        acc = np.where(count > 0, sum_y / count, np.nan)
    return ReliabilityTable(
        lower=np.array(edges[:-1]),
        upper=np.array(edges[1:]),
        count=count.astype(np.int64),
        mean_confidence=mean_conf,
        accuracy=acc,
    )


# ---- bootstrap -----------------------------------------------------------------------
def _resolve_metric(metric: Any) -> str | Callable[[np.ndarray, np.ndarray], float]:
    if isinstance(metric, str):
        if metric not in METRICS:
            raise ValueError(
                f"unknown metric {metric!r}; choose one of {sorted(METRICS)} or pass a "
                "callable metric(probs, y) -> float."
            )
        return metric
    for name, fn in METRICS.items():
        if metric is fn:
            return name
    if callable(metric):
        return metric
    raise TypeError(
        f"metric must be a metric name ({sorted(METRICS)}) or a callable; got {metric!r}."
    )


def _bootstrap_values(
    metrics: dict[str, str | Callable[[np.ndarray, np.ndarray], float]],
    p: np.ndarray,
    lab: np.ndarray,
    *,
    n_boot: int,
    seed: int,
    n_bins: int,
    strategy: str,
) -> dict[str, np.ndarray]:
    """Metric values on ``n_boot`` row resamples, the same resamples for every metric."""
    n = p.shape[0]
    rng = np.random.default_rng(seed)
    # The batch size depends on n only, so every metric and every caller sees the same
    # resamples for the same (seed, n, n_boot).
    chunk = max(1, _CHUNK_ELEMENTS // n)
    out = {key: np.empty(n_boot) for key in metrics}
    for start in range(0, n_boot, chunk):
        rows = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        pb, yb = p[rows], lab[rows]
        for key, metric in metrics.items():
            if isinstance(metric, str):
                vals = _kernel(metric, n_bins=n_bins, strategy=strategy)(pb, yb)
            else:
                vals = np.array([float(metric(pr, yr)) for pr, yr in zip(pb, yb, strict=True)])
            out[key][start : start + rows.shape[0]] = vals
    return out


def _interval(values: np.ndarray, alpha: float, label: str) -> tuple[float, float]:
    ok = values[~np.isnan(values)]
    skipped = values.size - ok.size
    if ok.size == 0:
        warnings.warn(
            f"bootstrap of {label}: all {values.size} resamples gave nan (e.g. a single "
            "class); the interval is (nan, nan).",
            RuntimeWarning,
            stacklevel=3,
        )
        return float("nan"), float("nan")
    if skipped:
        warnings.warn(
            f"bootstrap of {label}: skipped {skipped} of {values.size} resamples where the "
            "metric was nan (e.g. resamples holding a single class).",
            RuntimeWarning,
            stacklevel=3,
        )
    lo, hi = np.quantile(ok, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


def bootstrap_ci(
    metric: MetricName | Callable[[np.ndarray, np.ndarray], float],
    probs: Any,
    y: Any,
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    n_bins: int = 15,
    strategy: Strategy = "uniform",
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of a metric, resampling rows.

    Resamples whose metric is nan (e.g. AUROC on a resample with one class) are
    skipped, with a warning giving how many. Named metrics (and the functions of
    this module passed directly) are evaluated on all resamples at once; another
    callable is called once per resample.

    Parameters
    ----------
    metric : str or callable
        A name of :data:`METRICS` ("ece", "mce", "brier", "nll", "auroc", "auprc",
        "aurc", "prr", "accuracy_at_50", "accuracy_at_80"), or
        ``metric(probs, y) -> float`` on 1-D arrays.
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1] (any finite reals for the rank-only metrics
        :data:`RANK_METRICS`).
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.
    n_boot : int, default=1000
        Number of resamples.
    alpha : float, default=0.05
        The interval covers ``1 - alpha``.
    seed : int, default=0
        Seed of the resampling; the same seed gives the same interval.
    n_bins : int, default=15
        Bins for "ece" and "mce".
    strategy : {"uniform", "quantile"}, default="uniform"
        Binning for "ece" and "mce".

    Returns
    -------
    lo, hi : float
        The ``alpha / 2`` and ``1 - alpha / 2`` quantiles of the resampled metric.

    Notes
    -----
    Binned ECE is biased upwards on finite samples, and more so on resamples (which
    repeat rows); for well-calibrated scores the interval can sit entirely above the
    point estimate. Read it as the sampling spread, not as a guarantee of coverage.
    """
    resolved = _resolve_metric(metric)
    n_boot = check_positive_int(n_boot, name="n_boot")
    alpha = check_fraction(alpha, name="alpha")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int; got {seed!r}.")
    n_bins, strategy = check_n_bins(n_bins), _check_strategy(strategy)
    bounded = not (isinstance(resolved, str) and resolved in RANK_METRICS)
    p, lab = _prepare(probs, y, bounded=bounded)
    label = resolved if isinstance(resolved, str) else getattr(resolved, "__name__", "metric")
    values = _bootstrap_values(
        {label: resolved}, p, lab, n_boot=n_boot, seed=int(seed), n_bins=n_bins, strategy=strategy
    )[label]
    return _interval(values, alpha, label)


# ---- report --------------------------------------------------------------------------
def calibration_report(
    probs: Any, y: Any, *, n_bins: int = 15, n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """All metrics of this module, their 95% bootstrap intervals and the reliability table.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1], higher = surer.
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.
    n_bins : int, default=15
        Equal-width bins for ECE, MCE and the reliability table.
    n_boot : int, default=1000
        Bootstrap resamples (shared by all metrics); 0 skips the intervals.
    seed : int, default=0
        Seed of the resampling; ``ci95[m]`` equals ``bootstrap_ci(m, ..., seed=seed)``.

    Returns
    -------
    dict
        JSON-able (floats may be nan): ``n``, ``n_correct``, ``base_rate``, ``n_bins``,
        ``ece``, ``mce``, ``brier``, ``nll``, ``auroc``, ``auprc``, ``aurc``, ``prr``,
        ``accuracy_at_50``, ``accuracy_at_80``, ``reliability``
        (a list of per-bin dicts, see :class:`ReliabilityTable`) and
        ``ci95: {metric: [lo, hi]}``.
    """
    n_bins = check_n_bins(n_bins)
    n_boot = check_positive_int(n_boot, name="n_boot", minimum=0)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int; got {seed!r}.")
    p, lab = _prepare(probs, y)
    report: dict[str, Any] = {
        "n": int(p.size),
        "n_correct": int(lab.sum()),
        "base_rate": float(lab.mean()),
        "n_bins": n_bins,
    }
    for name, fn in METRICS.items():
        report[name] = fn(p, lab, n_bins=n_bins) if name in ("ece", "mce") else fn(p, lab)
    report["reliability"] = reliability_table(p, lab, n_bins=n_bins).to_records()
    ci: dict[str, list[float]] = {}
    if n_boot > 0:
        values = _bootstrap_values(
            {m: m for m in METRICS},
            p,
            lab,
            n_boot=n_boot,
            seed=int(seed),
            n_bins=n_bins,
            strategy="uniform",
        )
        for name, vals in values.items():
            ci[name] = list(_interval(vals, 0.05, name))
    report["ci95"] = ci
    return report
