"""Selective answering: answering only when sure enough, and how well a score supports it.

Sign convention: scores are P(answer correct), higher = surer; labels are 1 = correct,
0 = wrong. An answer is *accepted* when its score is at least the threshold.

Metrics (:func:`risk_coverage_curve`, :func:`aurc`, :func:`prr`,
:func:`accuracy_at_coverage`): answers are accepted in order of decreasing score;
inside a group of tied scores the error count is interpolated linearly, i.e. the
expectation over a random order of the tied answers. :func:`threshold_for_error_rate`
picks the abstention threshold for a target error rate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from howsure.calibration._validation import (
    check_positive_float,
    check_scores_labels,
    prepare,
    warn_single_class,
)
from howsure.core.checks import check_real
from howsure.core.errors import SettingError

__all__ = [
    "accuracy_at_50",
    "accuracy_at_80",
    "accuracy_at_coverage",
    "aurc",
    "prr",
    "risk_coverage_curve",
    "threshold_for_error_rate",
]


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
    return check_real(
        coverage,
        "coverage",
        min_val=0.0,
        max_val=1.0,
        include_boundaries="right",
        hint="the fraction of answers kept, e.g. 0.8",
    )


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
    s, lab = prepare(scores, y, bounded=False)
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
    s, lab = prepare(scores, y, bounded=False)
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
    s, lab = prepare(scores, y, bounded=False)
    out = float(_prr_batch(s[None], lab[None])[0])
    if np.isnan(out):
        warn_single_class("prr", lab)
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
    s, lab = prepare(scores, y, bounded=False)
    return float(_accuracy_at_batch(s[None], lab[None], coverage=c)[0])


def accuracy_at_50(scores: Any, y: Any) -> float:
    """:func:`accuracy_at_coverage` at coverage 0.5 (the most confident half)."""
    return accuracy_at_coverage(scores, y, coverage=0.5)


def accuracy_at_80(scores: Any, y: Any) -> float:
    """:func:`accuracy_at_coverage` at coverage 0.8."""
    return accuracy_at_coverage(scores, y, coverage=0.8)


def threshold_for_error_rate(scores: Any, labels: Any, target_error: float) -> float:
    """Lowest threshold whose accepted answers have an error rate at most ``target_error``.

    Candidate thresholds are the distinct scores; at threshold ``t`` the accepted answers
    are those with ``score >= t`` (ties are accepted together), and their error rate is
    the fraction of them whose label is 0. The lowest candidate meeting the target keeps
    the most answers.

    Parameters
    ----------
    scores : array-like of shape (n,)
        Calibrated P(correct) in [0, 1], e.g. on a calibration split.
    labels : array-like of shape (n,)
        1 = correct, 0 = wrong (bools accepted).
    target_error : float
        Largest acceptable error rate among accepted answers, in [0, 1).

    Returns
    -------
    float
        The threshold: answer when ``confidence >= threshold``, abstain otherwise. It is
        ``min(scores)`` when every answer may be accepted.

    Raises
    ------
    ValueError
        Empty or mismatched inputs, a target outside [0, 1), or a target that no
        threshold reaches on these data (even the most confident answers err more often).

    Examples
    --------
    >>> threshold_for_error_rate([0.9, 0.8, 0.7, 0.6], [1, 1, 0, 1], 0.25)
    0.6
    >>> threshold_for_error_rate([0.9, 0.8, 0.7, 0.6], [1, 1, 0, 0], 0.25)
    0.8
    """
    s, y = check_scores_labels(scores, labels, x_name="scores", y_name="labels")
    target = check_positive_float(target_error, name="target_error", allow_zero=True, upper=1.0)
    if s.size == 0:
        raise ValueError("no scores given: pass the calibration scores and labels (n >= 1)")
    order = np.argsort(-s, kind="stable")
    s_sorted, wrong = s[order], 1.0 - y[order]
    accepted = np.arange(1, s.size + 1)
    error_rate = np.cumsum(wrong) / accepted
    # a threshold equal to a score accepts every tie of it: use the last index of each run
    last_of_tie = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    ok = last_of_tie & (error_rate <= target + 1e-12)
    if not ok.any():
        best = float(error_rate[last_of_tie].min())
        raise SettingError(
            "target_error",
            "no threshold reaches {param}={target!r} on these {n} answers: the lowest error "
            "rate at any threshold is {best:.3g}. Raise {param} or calibrate on more data",
            target=target_error,
            n=s.size,
            best=best,
        )
    return float(s_sorted[np.flatnonzero(ok)[-1]])
