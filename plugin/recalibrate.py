"""Refit only a detector's calibration on a few labelled rows of the user's own domain.

A detector's probe and its stacked inputs transfer better than its calibration: on a
new kind of question the ranking mostly holds while the level (how often the model is
right at all) moves. :func:`recalibrate` keeps everything the detector has and adds a
two-parameter map on top of its log-odds, ``P = sigmoid(slope * logit(p) + intercept)``,
fitted by maximum likelihood on the labelled rows with a prior that pulls it toward the
identity (slope 1, intercept 0) as strongly as :data:`PRIOR_ROWS` rows would, so 50 to 200
rows are enough and a few unlucky rows cannot swing it. The prior's strength was chosen
by leaving one source of the training mixture out at a time, on training rows only
(``bench/recalibration.py``).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logit

from howsure.calibration.metrics import ece
from howsure.plugin.detector import Detector
from howsure.probes.collect import Collection

__all__ = [
    "MIN_RECALIBRATION_ROWS",
    "PRIOR_ROWS",
    "check_recalibration_rows",
    "fit_recalibration",
    "recalibrate",
]

MIN_RECALIBRATION_ROWS = 20
"""Fewest labelled rows :func:`recalibrate` accepts."""

PRIOR_ROWS = 10.0
"""Strength of the pull toward the identity map, in labelled rows."""

_EPS = 1e-6


def check_recalibration_rows(n_rows: int, *, what: str = "the recalibration set") -> None:
    """``ValueError`` when there are fewer than :data:`MIN_RECALIBRATION_ROWS` rows (checked
    before anything is generated)."""
    if n_rows < MIN_RECALIBRATION_ROWS:
        raise ValueError(
            f"{what} has {n_rows} rows; recalibration needs at least "
            f"{MIN_RECALIBRATION_ROWS} labelled rows of your domain (100-200 work well). "
            "Add rows"
        )


def fit_recalibration(
    confidence: np.ndarray, labels: np.ndarray, *, prior_rows: float = PRIOR_ROWS
) -> tuple[float, float]:
    """``(slope, intercept)`` of ``sigmoid(slope * logit(p) + intercept)`` on labelled rows.

    Parameters
    ----------
    confidence : numpy.ndarray, shape (n,)
        The detector's calibrated P(correct) of the rows.
    labels : numpy.ndarray, shape (n,)
        1 = answer correct.
    prior_rows : float, default :data:`PRIOR_ROWS`
        The penalty ``prior_rows * ((slope - 1)^2 + intercept^2)`` added to the summed
        log-loss: the identity map weighs like that many rows.
    """
    z = logit(np.clip(np.asarray(confidence, dtype=np.float64), _EPS, 1 - _EPS))
    y = np.asarray(labels, dtype=np.float64)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        slope, intercept = theta
        q = slope * z + intercept
        r = expit(q) - y
        value = float(np.sum(np.logaddexp(0.0, q) - y * q))
        value += prior_rows * ((slope - 1.0) ** 2 + intercept**2)
        grad = np.array(
            [
                float(r @ z) + 2 * prior_rows * (slope - 1.0),
                float(r.sum()) + 2 * prior_rows * intercept,
            ]
        )
        return value, grad

    theta = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B").x
    return float(theta[0]), float(theta[1])


def recalibrate(detector: Detector, rows: Collection, *, dataset: Any = None) -> Detector:
    """A copy of ``detector`` whose confidences are recalibrated on ``rows``.

    Parameters
    ----------
    detector : Detector
    rows : Collection
        The model's answers to labelled questions of the new domain, with activations at
        the detector's layer and position (and answer statistics when it stacks them);
        at least :data:`MIN_RECALIBRATION_ROWS`, with both right and wrong answers.
    dataset : optional
        Recorded in the detector's info (where the rows came from).

    Returns
    -------
    Detector
        The probe, calibrator and familiarity model unchanged, with ``recalibration``
        ``(slope, intercept)`` set, and the rows' recalibrated scores as its calibration
        scores (so :meth:`Detector.threshold_for` picks thresholds for the new domain).

    Raises
    ------
    ValueError
        Too few rows, or answers that are all right or all wrong.
    """
    check_recalibration_rows(len(rows))
    y = np.asarray(rows.labels, dtype=bool)
    if y.all() or not y.any():
        raise ValueError(
            f"all {len(y)} answers in the recalibration set are "
            f"{'right' if y.all() else 'wrong'}, so there is nothing to calibrate against; "
            "add questions the model gets " + ("wrong" if y.all() else "right")
        )
    base = copy.copy(detector)
    base.recalibration = None
    before = base.assess_collection(rows).confidence
    slope, intercept = fit_recalibration(before, y)
    out = copy.copy(detector)
    out.recalibration = (slope, intercept)
    after = out.assess_collection(rows).confidence
    out.calibration_scores, out.calibration_labels = after, y
    out.info = copy.deepcopy(detector.info)
    out.info["recalibration"] = {
        "dataset": None if dataset is None else str(dataset),
        "n": len(rows),
        "accuracy": float(y.mean()),
        "slope": slope,
        "intercept": intercept,
        "prior_rows": PRIOR_ROWS,
        "ece_before": float(ece(before, y)),
        "ece_after_in_sample": float(ece(after, y)),
        "mean_confidence_before": float(before.mean()),
        "mean_confidence_after": float(after.mean()),
    }
    return out
