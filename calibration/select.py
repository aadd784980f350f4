"""Pick a calibrator by stratified cross-validation on the calibration data.

Sign convention: scores are P(answer correct), higher = surer; labels ``y`` are
1 = correct, 0 = wrong.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from howsure.calibration._validation import check_positive_int, check_scores_labels
from howsure.calibration.base import BaseCalibrator
from howsure.calibration.calibrators import CALIBRATORS, make_calibrator
from howsure.calibration.metrics import brier, ece, nll
from howsure.core.checks import check_int
from howsure.core.errors import SettingError

__all__ = ["CalibratorSelection", "select_calibrator"]

_TABLE_METRICS = ("nll", "ece", "brier")
_DEFAULT_CANDIDATES = ("platt", "temperature", "isotonic", "histogram", "beta")


@dataclass
class CalibratorSelection:
    """What :func:`select_calibrator` chose and why.

    Attributes
    ----------
    name : str
        The chosen candidate.
    calibrator : BaseCalibrator
        The chosen calibrator, refitted on all the data.
    metric : str
        The metric the choice minimised ("nll", "ece" or "brier").
    table : dict of str to dict of str to tuple of (float, float)
        ``table[candidate][metric] == (mean, std)`` over the held-out folds, for
        "nll", "ece" (15 equal-width bins) and "brier"; nan for a candidate whose
        fit failed.
    cv : int
        Number of folds.
    """

    name: str
    calibrator: BaseCalibrator
    metric: str
    table: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    cv: int = 5

    def format_table(self) -> str:
        """The table as aligned text, best candidate marked with ``*``."""
        lines = [f"{'candidate':<14}" + "".join(f"{m:>20}" for m in _TABLE_METRICS)]
        for cand, row in self.table.items():
            mark = "*" if cand == self.name else " "
            cells = "".join(f"{row[m][0]:>11.4f} ± {row[m][1]:<6.4f}" for m in _TABLE_METRICS)
            lines.append(f"{mark}{cand:<13}{cells}")
        return "\n".join(lines)


def _candidates(candidates: Any) -> dict[str, BaseCalibrator]:
    if isinstance(candidates, str):
        raise TypeError(
            f"candidates must be a sequence of names, not the single string {candidates!r}; "
            f"write candidates=({candidates!r},)."
        )
    if isinstance(candidates, Mapping):
        out: dict[str, BaseCalibrator] = {}
        for name, est in candidates.items():
            if not isinstance(est, BaseCalibrator):
                raise TypeError(
                    f"candidates[{name!r}] must be a calibrator instance (e.g. "
                    f"HistogramCalibrator(n_bins=20)); got {type(est).__name__}."
                )
            out[str(name)] = est
    elif isinstance(candidates, Sequence):
        out = {}
        for name in candidates:
            if name in out:
                raise ValueError(f"candidate {name!r} is listed twice; list each once.")
            out[name] = make_calibrator(name)
    else:
        raise TypeError(
            f"candidates must be a sequence of names from {sorted(CALIBRATORS)} or a mapping "
            f"name -> calibrator; got {type(candidates).__name__}."
        )
    if not out:
        raise ValueError(f"candidates is empty; pass names from {sorted(CALIBRATORS)}.")
    return out


def select_calibrator(
    scores: Any,
    y: Any,
    *,
    candidates: Sequence[str] | Mapping[str, BaseCalibrator] = _DEFAULT_CANDIDATES,
    cv: int = 5,
    metric: Literal["nll", "ece", "brier"] = "nll",
    random_state: int = 0,
) -> CalibratorSelection:
    """Choose the calibrator with the best held-out score, then refit it on all data.

    Each candidate is fitted on ``cv - 1`` folds and scored on the held-out fold
    of a shuffled :class:`~sklearn.model_selection.StratifiedKFold` (the same folds
    for every candidate); the lowest mean ``metric`` wins, ties going to the
    earlier candidate. Deterministic for a given ``random_state``. Use only the
    calibration split here and keep a test split apart to report the final numbers.

    Parameters
    ----------
    scores : array-like of shape (n,) or (n, 1)
        Uncalibrated scores P(correct) in [0, 1], higher = surer.
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.
    candidates : sequence of str or mapping of str to BaseCalibrator
        Names from :data:`~howsure.calibration.CALIBRATORS` (default hyperparameters),
        or named unfitted calibrators, e.g. ``{"hist20": HistogramCalibrator(n_bins=20)}``.
    cv : int, default=5
        Number of folds (>= 2); each class needs at least ``cv`` rows.
    metric : {"nll", "ece", "brier"}, default="nll"
        What the choice minimises. NLL is a proper scoring rule and punishes
        confident mistakes; ECE alone can favour uninformative calibrators.
    random_state : int, default=0
        Seed of the fold shuffle.

    Returns
    -------
    CalibratorSelection
        ``name``, ``calibrator`` (refitted on all data), ``metric``, ``table``, ``cv``.
    """
    if metric not in _TABLE_METRICS:
        raise ValueError(f"metric must be one of {list(_TABLE_METRICS)}; got {metric!r}.")
    cv = check_positive_int(cv, name="cv", minimum=2)
    random_state = check_int(random_state, "random_state", min_val=0)
    cands = _candidates(candidates)
    s, lab = check_scores_labels(scores, y, x_name="scores", y_name="y")
    n_pos = int(lab.sum())
    smallest = min(n_pos, lab.size - n_pos)
    if smallest < cv:
        which = "correct (1)" if n_pos <= lab.size - n_pos else "wrong (0)"
        raise SettingError(
            "cv",
            "y has only {k} {which} label(s), fewer than {param}={n} folds; each class needs "
            "at least one row per fold. Lower {param} or collect more examples of that class.",
            k=smallest,
            which=which,
            n=cv,
        )

    smallest_train = lab.size - -(-lab.size // cv)
    for name, proto in cands.items():
        need = int(getattr(proto, "min_samples", 1))
        if smallest_train < need:
            raise SettingError(
                "cv",
                "with {param}={n} the smallest training fold has {rows} rows, fewer than "
                "candidate {name!r} accepts (min_samples={need}); collect more examples, "
                "lower {param}, or pass candidates with a lower min_samples.",
                n=cv,
                rows=smallest_train,
                name=name,
                need=need,
            )

    folds = list(
        StratifiedKFold(n_splits=cv, shuffle=True, random_state=int(random_state)).split(
            s[:, None], lab
        )
    )
    results: dict[str, dict[str, list[float]]] = {}
    for name, proto in cands.items():
        per_metric: dict[str, list[float]] = {m: [] for m in _TABLE_METRICS}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                for train, test in folds:
                    est = clone(proto).fit(s[train], lab[train])
                    p = est.confidence(s[test])
                    per_metric["nll"].append(nll(p, lab[test]))
                    per_metric["ece"].append(ece(p, lab[test]))
                    per_metric["brier"].append(brier(p, lab[test]))
        except ValueError as exc:
            warnings.warn(
                f"select_calibrator: candidate {name!r} failed in cross-validation and is "
                f"left out: {exc}",
                RuntimeWarning,
                stacklevel=2,
            )
            per_metric = {m: [float("nan")] for m in _TABLE_METRICS}
        results[name] = per_metric

    table = {
        name: {m: (float(np.mean(v)), float(np.std(v))) for m, v in per.items()}
        for name, per in results.items()
    }
    ranked = [(table[name][metric][0], i, name) for i, name in enumerate(table)]
    ranked = [r for r in ranked if np.isfinite(r[0])]
    if not ranked:
        raise ValueError(
            "every candidate failed in cross-validation (see the warnings); check the data "
            "or lower cv."
        )
    best = min(ranked)[2]
    final = clone(cands[best]).fit(s, lab)
    return CalibratorSelection(name=best, calibrator=final, metric=metric, table=table, cv=cv)
