"""howsure.calibration: scores in, honest probabilities out, and the metrics that judge them.

Knows nothing of language models. Sign convention everywhere: a score is
P(answer correct) in [0, 1], higher = surer; a label ``y`` is 1 = correct,
0 = wrong.

Calibrators (scikit-learn classifiers on one score column; state exported as
numpy arrays + JSON-able params, never pickled). Every calibrator, one-input, stacked
or recalibrated, gives ``confidence(X)``: the calibrated P(correct), shape (n,);
``predict`` gives labels and ``predict_proba`` both classes, as in scikit-learn::

    from howsure.calibration import PlattCalibrator, calibrator_from_state
    cal = PlattCalibrator().fit(scores_cal, y_cal)
    p = cal.confidence(scores_test)                   # (n,) calibrated P(correct)
    arrays, params = cal.get_state()                  # safetensors / np.savez + json.dump
    same = calibrator_from_state(params["kind"], arrays, params)

Choosing one, and judging it on held-out data::

    sel = select_calibrator(scores_cal, y_cal, metric="nll")
    report = calibration_report(sel.calibrator.confidence(scores_test), y_test)
    reliability_diagram({"raw": scores_test, sel.name: p}, y_test, path="rel.png")

Modules: ``base`` (:class:`BaseCalibrator`), ``calibrators`` (:data:`CALIBRATORS`:
"platt", "temperature", "isotonic", "histogram", "beta", "identity"), ``select``
(:func:`select_calibrator`), ``metrics`` (calibration: :func:`ece`, :func:`mce`,
:func:`brier`, :func:`nll`, :func:`reliability_table`, :func:`ece_noise_floor`),
``ranking`` (:func:`auroc`, :func:`auprc`, :func:`paired_auroc_difference`,
:func:`within_group_auroc`), ``selective`` (:func:`risk_coverage_curve`, :func:`aurc`,
:func:`prr`, :func:`accuracy_at_coverage`, :func:`threshold_for_error_rate`),
``bootstrap`` (:func:`bootstrap_ci`, :func:`calibration_report`), ``stacked``
(:class:`StackedCalibrator`: several scores per answer in, one P(correct) out),
``recalibrated`` (:class:`RecalibratedCalibrator`: a fitted calibrator followed by a
logistic map on its log-odds, fitted on a few new labelled rows;
:func:`any_calibrator_from_state` rebuilds any calibrator from its state) and ``plots``
(:func:`reliability_diagram`; needs matplotlib, ``pip install 'howsure[eval]'``).
"""

from __future__ import annotations

from howsure.core.lazy import lazy_exports

_EXPORTS = {
    "BaseCalibrator": "howsure.calibration.base",
    "CALIBRATORS": "howsure.calibration.calibrators",
    "StackedCalibrator": "howsure.calibration.stacked",
    "RecalibratedCalibrator": "howsure.calibration.recalibrated",
    "ALL_CALIBRATORS": "howsure.calibration.recalibrated",
    "any_calibrator_from_state": "howsure.calibration.recalibrated",
    "calibrator_kind": "howsure.calibration.recalibrated",
    "BetaCalibrator": "howsure.calibration.calibrators",
    "HistogramCalibrator": "howsure.calibration.calibrators",
    "IdentityCalibrator": "howsure.calibration.calibrators",
    "IsotonicCalibrator": "howsure.calibration.calibrators",
    "PlattCalibrator": "howsure.calibration.calibrators",
    "TemperatureCalibrator": "howsure.calibration.calibrators",
    "calibrator_from_state": "howsure.calibration.calibrators",
    "make_calibrator": "howsure.calibration.calibrators",
    "CalibratorSelection": "howsure.calibration.select",
    "select_calibrator": "howsure.calibration.select",
    "ReliabilityTable": "howsure.calibration.metrics",
    "brier": "howsure.calibration.metrics",
    "ece": "howsure.calibration.metrics",
    "ece_noise_floor": "howsure.calibration.metrics",
    "mce": "howsure.calibration.metrics",
    "nll": "howsure.calibration.metrics",
    "reliability_table": "howsure.calibration.metrics",
    "auprc": "howsure.calibration.ranking",
    "auroc": "howsure.calibration.ranking",
    "auroc_or_nan": "howsure.calibration.ranking",
    "paired_auroc_difference": "howsure.calibration.ranking",
    "within_group_auroc": "howsure.calibration.ranking",
    "accuracy_at_50": "howsure.calibration.selective",
    "accuracy_at_80": "howsure.calibration.selective",
    "accuracy_at_coverage": "howsure.calibration.selective",
    "aurc": "howsure.calibration.selective",
    "prr": "howsure.calibration.selective",
    "risk_coverage_curve": "howsure.calibration.selective",
    "threshold_for_error_rate": "howsure.calibration.selective",
    "METRICS": "howsure.calibration.bootstrap",
    "RANK_METRICS": "howsure.calibration.bootstrap",
    "bootstrap_ci": "howsure.calibration.bootstrap",
    "calibration_report": "howsure.calibration.bootstrap",
    "reliability_diagram": "howsure.calibration.plots",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
