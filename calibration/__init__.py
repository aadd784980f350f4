"""howsure.calibration: scores in, honest probabilities out, calibration metrics.

Knows nothing of language models. Sign convention everywhere: a score is
P(answer correct) in [0, 1], higher = surer; a label ``y`` is 1 = correct,
0 = wrong.

Calibrators (scikit-learn estimators on one score column; state exported as
numpy arrays + JSON-able params, never pickled)::

    from howsure.calibration import PlattCalibrator, calibrator_from_state
    cal = PlattCalibrator().fit(scores_cal, y_cal)
    p = cal.predict(scores_test)                      # (n,) calibrated P(correct)
    arrays, params = cal.get_state()                  # np.savez(...) + json.dump(...)
    same = calibrator_from_state(params["kind"], arrays, params)

Choosing one, and judging it on held-out data::

    sel = select_calibrator(scores_cal, y_cal, metric="nll")
    report = calibration_report(sel.calibrator.predict(scores_test), y_test)
    reliability_diagram({"raw": scores_test, sel.name: p}, y_test, path="rel.png")

Available calibrators: :data:`CALIBRATORS` ("platt", "temperature", "isotonic",
"histogram", "beta", "identity"). Metrics: :func:`ece`, :func:`mce`,
:func:`brier`, :func:`nll`, :func:`auroc`, :func:`auprc`; selective prediction
:func:`risk_coverage_curve`, :func:`aurc`, :func:`prr`, :func:`accuracy_at_coverage`
(:func:`accuracy_at_50`, :func:`accuracy_at_80`);
:func:`reliability_table`, :func:`bootstrap_ci`, :func:`calibration_report`.
:func:`reliability_diagram` needs matplotlib (``pip install 'howsure[eval]'``).
"""

from __future__ import annotations

from howsure.calibration.calibrators import (
    CALIBRATORS,
    BaseCalibrator,
    BetaCalibrator,
    HistogramCalibrator,
    IdentityCalibrator,
    IsotonicCalibrator,
    PlattCalibrator,
    TemperatureCalibrator,
    calibrator_from_state,
    make_calibrator,
)
from howsure.calibration.metrics import (
    METRICS,
    RANK_METRICS,
    ReliabilityTable,
    accuracy_at_50,
    accuracy_at_80,
    accuracy_at_coverage,
    auprc,
    aurc,
    auroc,
    bootstrap_ci,
    brier,
    calibration_report,
    ece,
    mce,
    nll,
    prr,
    reliability_table,
    risk_coverage_curve,
)
from howsure.calibration.plots import reliability_diagram
from howsure.calibration.select import CalibratorSelection, select_calibrator

__all__ = [
    "CALIBRATORS",
    "METRICS",
    "RANK_METRICS",
    "BaseCalibrator",
    "BetaCalibrator",
    "CalibratorSelection",
    "HistogramCalibrator",
    "IdentityCalibrator",
    "IsotonicCalibrator",
    "PlattCalibrator",
    "ReliabilityTable",
    "TemperatureCalibrator",
    "accuracy_at_50",
    "accuracy_at_80",
    "accuracy_at_coverage",
    "auprc",
    "aurc",
    "auroc",
    "bootstrap_ci",
    "brier",
    "calibration_report",
    "calibrator_from_state",
    "ece",
    "make_calibrator",
    "mce",
    "nll",
    "prr",
    "reliability_diagram",
    "reliability_table",
    "risk_coverage_curve",
    "select_calibrator",
]
