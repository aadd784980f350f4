"""The report a detector carries itself: the held-out metrics ``howsure train`` saved in
its ``config.json`` and plots drawn at view time from its stored calibration scores.

The detector shipped with howsure has no report folder beside it; these give the demo's
"how good is this number" tab real numbers and plots without one, and never go stale.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from howsure.plugin.detector import Detector

__all__ = ["detector_plots", "saved_metrics"]


def saved_metrics(detector: Detector | None) -> dict | None:
    """The detector's saved held-out metrics in ``metrics.json``'s shape, or None.

    ``howsure train`` saves the test split's metrics of the detector (``info["metrics"]``:
    ``test`` and ``n_test``); they become the single ``probe`` row of ``methods``.
    """
    saved = (detector.info.get("metrics") if detector is not None else None) or {}
    test = saved.get("test") if isinstance(saved, Mapping) else None
    if not isinstance(test, Mapping):
        return None
    training = detector.info.get("training") if detector is not None else None
    dataset = training.get("dataset") if isinstance(training, Mapping) else None
    return {
        "n": saved.get("n_test"),
        "accuracy": test.get("accuracy", float("nan")),
        "methods": {"probe": dict(test)},
        **({"dataset": dataset} if isinstance(dataset, str) else {}),
    }


def detector_plots(detector: Detector | None, folder: str | Path) -> list[tuple[Path, str]]:
    """Draw a reliability diagram and a histogram of the detector's stored calibration
    scores (out-of-fold confidences with their right/wrong labels) into ``folder``.

    Returns
    -------
    list of (Path, str)
        The PNG files with captions; empty when the detector stores no calibration scores
        (older folders), they hold one class only, or matplotlib is missing (a warning).
    """
    scores = getattr(detector, "calibration_scores", None)
    labels = getattr(detector, "calibration_labels", None)
    if scores is None or labels is None:
        return []
    scores = np.asarray(scores, dtype=float).ravel()
    labels = np.asarray(labels).astype(int).ravel()
    if len(scores) == 0 or len(scores) != len(labels) or labels.min() == labels.max():
        return []
    from howsure.calibration.plots import reliability_diagram
    from howsure.eval.plots import score_histograms

    folder = Path(folder)
    n = len(scores)
    where = f"the detector's stored out-of-fold confidences of its training rows (n={n})"
    try:
        reliability_diagram(
            {"detector": scores},
            labels,
            path=folder / "detector-reliability.png",
            title=f"Reliability (n={n}, 15 bins)",
        )
        score_histograms({"detector": scores}, labels, folder / "detector-histogram.png")
    except ImportError as err:
        warnings.warn(f"no report plots: {err}", UserWarning, stacklevel=2)
        return []
    return [
        (
            folder / "detector-reliability.png",
            "Reliability diagram: stated confidence against the actual accuracy (on the "
            f"diagonal = calibrated), from {where}",
        ),
        (
            folder / "detector-histogram.png",
            f"Confidence of right and wrong answers, from {where}",
        ),
    ]
