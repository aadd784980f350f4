"""Refit only a detector's calibration on a few labelled rows of the user's own domain.

A detector's probe and its stacked inputs transfer better than its calibration: on a
new kind of question the ranking mostly holds while the level (how often the model is
right at all) moves. :func:`recalibrate` keeps everything the detector has and adds one
link to its calibrator chain
(:class:`~howsure.calibration.recalibrated.RecalibratedCalibrator`): a two-parameter map
on its log-odds, ``P = sigmoid(slope * logit(p) + intercept)``, fitted by maximum
likelihood on the labelled rows with a prior that pulls it toward the identity (slope 1,
intercept 0) as strongly as :data:`PRIOR_ROWS` rows would, so 50 to 200 rows are enough
and a few unlucky rows cannot swing it. The prior's strength was chosen by leaving one
source of the training mixture out at a time, on training rows only
(``bench/recalibration.py``). A detector recalibrated before gets one more link, fitted
on the confidences it gives now.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np

from howsure.calibration.metrics import ece
from howsure.calibration.recalibrated import PRIOR_ROWS, RecalibratedCalibrator, fit_logit_map
from howsure.plugin.detector import Detector
from howsure.probes.collect import Collection

__all__ = [
    "MIN_RECALIBRATION_ROWS",
    "PRIOR_ROWS",
    "check_recalibration_rows",
    "fit_recalibration",
    "not_improved_remark",
    "recalibrate",
]

MIN_RECALIBRATION_ROWS = 20
"""Fewest labelled rows :func:`recalibrate` accepts."""

fit_recalibration = fit_logit_map
"""``(slope, intercept)`` of the map on labelled rows: :func:`~howsure.calibration.
recalibrated.fit_logit_map`."""


def check_recalibration_rows(n_rows: int, *, what: str = "the recalibration set") -> None:
    """``ValueError`` when there are fewer than :data:`MIN_RECALIBRATION_ROWS` rows (checked
    before anything is generated)."""
    if n_rows < MIN_RECALIBRATION_ROWS:
        raise ValueError(
            f"{what} has {n_rows} rows; recalibration needs at least "
            f"{MIN_RECALIBRATION_ROWS} labelled rows of your domain (100-200 work well). "
            "Add rows"
        )


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
        The probe and familiarity model unchanged; its calibrator is ``detector``'s
        followed by the new map (a
        :class:`~howsure.calibration.recalibrated.RecalibratedCalibrator`), and its
        calibration scores are the rows' recalibrated scores (so
        :meth:`Detector.threshold_for` picks thresholds for the new domain).
        ``info["recalibration"]`` holds the map, and the ECE and mean confidence before
        (``detector``'s own, its earlier recalibrations included) and after, in sample;
        ``improved`` is False when the ECE did not go down.

    Raises
    ------
    ValueError
        Too few rows, or answers that are all right or all wrong.

    Warns
    -----
    RuntimeWarning
        When the ECE on the rows is not lower after than before: too few rows to
        recalibrate on (:func:`not_improved_remark` says what to do).
    """
    check_recalibration_rows(len(rows))
    y = np.asarray(rows.labels, dtype=bool)
    if y.all() or not y.any():
        raise ValueError(
            f"all {len(y)} answers in the recalibration set are "
            f"{'right' if y.all() else 'wrong'}, so there is nothing to calibrate against; "
            "add questions the model gets " + ("wrong" if y.all() else "right")
        )
    X = detector.calibrator_input(
        rows.features(detector.reader.layer, detector.reader.position), rows.extras
    )
    before = np.asarray(detector.calibrator.confidence(X), dtype=np.float64)
    chain = RecalibratedCalibrator(detector.calibrator, prior_rows=PRIOR_ROWS).fit(X, y)
    after = chain.confidence(X)
    out = copy.copy(detector)
    out.calibrator = chain
    out.calibration_scores, out.calibration_labels = after, y
    out.info = copy.deepcopy(detector.info)
    ece_before, ece_after = float(ece(before, y)), float(ece(after, y))
    improved = ece_after < ece_before
    entry = {
        "dataset": None if dataset is None else str(dataset),
        "n": len(rows),
        "accuracy": float(y.mean()),
        "slope": chain.slope_,
        "intercept": chain.intercept_,
        "prior_rows": PRIOR_ROWS,
        "ece_before": ece_before,
        "ece_after_in_sample": ece_after,
        "improved": improved,
        "mean_confidence_before": float(before.mean()),
        "mean_confidence_after": float(after.mean()),
    }
    if "recalibration" in detector.info:  # the links before this one, latest first
        entry["previous"] = copy.deepcopy(detector.info["recalibration"])
    out.info["recalibration"] = entry
    if not improved:
        warnings.warn(not_improved_remark(entry), RuntimeWarning, stacklevel=2)
    return out


def not_improved_remark(entry: dict) -> str:
    """What to say when a recalibration did not lower the ECE on its own rows (``entry``
    is the ``info["recalibration"]`` of :func:`recalibrate`), and what to do."""
    return (
        f"recalibrating on {entry['n']} rows did not lower the ECE even on those same rows "
        f"({entry['ece_before']:.3f} before, {entry['ece_after_in_sample']:.3f} after): "
        f"{entry['n']} rows are too few to tell a better calibration from noise. Recalibrate "
        "on more labelled rows (100-200 work well), or keep using the detector you have"
    )
