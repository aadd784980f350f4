"""Ranking metrics: how well a score orders right answers above wrong ones.

Sign convention: scores are P(answer correct) or any finite reals, higher = surer;
labels ``y`` are 1 = correct, 0 = wrong. Only the order of the scores matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata

from howsure.calibration._validation import check_positive_int, prepare, warn_single_class

__all__ = [
    "auprc",
    "auroc",
    "auroc_or_nan",
    "paired_auroc_difference",
    "within_group_auroc",
]


# ---- batched kernels: s, y of shape (B, n) -> (B,) -------------------------------------
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
    s, lab = prepare(scores, y, bounded=False)
    out = float(_auroc_batch(s[None], lab[None])[0])
    if np.isnan(out):
        warn_single_class("auroc", lab)
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
    s, lab = prepare(scores, y, bounded=False)
    n_pos = lab.sum()
    if n_pos == 0 or n_pos == lab.size:
        warn_single_class("auprc", lab)
        return float("nan")
    return float(_auprc_batch(s[None], lab[None])[0])


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
    a, y_ = prepare(scores_a, y, bounded=False)
    b, _ = prepare(scores_b, y, bounded=False)
    if not 0 < y_.sum() < y_.size:
        raise ValueError("the AUROC difference needs both right and wrong answers; y has one class")
    n_boot = check_positive_int(n_boot, name="n_boot")
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


def auroc_or_nan(scores: Any, y: Any) -> float:
    """AUROC, or NaN (no warning) when ``y`` has one class only."""
    y = np.asarray(y).astype(int)
    return float(auroc(scores, y)) if 0 < y.sum() < len(y) else float("nan")


def within_group_auroc(scores: Any, y: Any, groups: Sequence[Any]) -> float:
    """AUROC inside each group (e.g. topic), averaged weighted by group size.

    Parameters
    ----------
    scores : array-like of shape (n,)
        Higher = more likely correct.
    y : array-like of shape (n,)
        1 = correct, 0 = wrong.
    groups : sequence of shape (n,)
        A group label per answer.

    Returns
    -------
    float
        Groups whose answers are all right or all wrong have no AUROC and are skipped;
        NaN when no group has both classes. A score that only tells the groups apart
        (an easy topic from a hard one) is near 0.5 here however high its overall AUROC.
    """
    scores, y, groups = np.asarray(scores), np.asarray(y).astype(int), np.asarray(groups)
    total, weight = 0.0, 0
    for g in np.unique(groups):
        m = groups == g
        if 0 < y[m].sum() < m.sum():
            total += auroc(scores[m], y[m]) * m.sum()
            weight += int(m.sum())
    return total / weight if weight else float("nan")
