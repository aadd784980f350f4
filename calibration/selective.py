"""Selective answering: the confidence threshold below which a model should abstain.

Sign convention: scores are P(answer correct), higher = surer; labels are 1 = correct,
0 = wrong. An answer is *accepted* when its score is at least the threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from howsure.calibration._validation import check_positive_float, check_scores_labels

__all__ = ["threshold_for_error_rate"]


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
        raise ValueError(
            f"no threshold reaches target_error={target_error!r} on these {s.size} answers: "
            f"the lowest error rate at any threshold is {best:.3g}. Raise target_error or "
            "calibrate on more data"
        )
    return float(s_sorted[np.flatnonzero(ok)[-1]])
