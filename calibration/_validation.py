"""Input checks shared by the calibrators, the metrics and the plots.

Sign convention: a score is P(answer correct), higher = surer; a label is
1 = correct, 0 = wrong.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import sparse

from howsure.core.checks import check_int, check_real

__all__ = [
    "check_fraction",
    "check_labels",
    "check_n_bins",
    "check_positive_float",
    "check_positive_int",
    "check_scores",
    "check_scores_labels",
    "check_strategy",
    "prepare",
    "warn_single_class",
]


def _as_numeric(values: Any, name: str) -> np.ndarray:
    """Return ``values`` as a float64 array or raise naming what is wrong."""
    if values is None:
        raise ValueError(
            f"{name} is None; this requires {name} to be passed, but the target {name} is None. "
            + (
                "Pass labels, 1 = correct and 0 = wrong."
                if name.startswith("y")
                else "Pass scores P(correct) in [0, 1]."
            )
        )
    if sparse.issparse(values):
        raise TypeError(
            f"{name} is a sparse matrix; sparse input is not supported. Pass a dense 1-D "
            f"array, e.g. {name}.toarray().ravel()."
        )
    arr = np.asarray(values)
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64, copy=False)
    if arr.dtype.kind == "c":
        raise ValueError(
            f"{name} has complex dtype {arr.dtype}: Complex data not supported. Pass real "
            "scores P(correct) in [0, 1]."
        )
    if arr.dtype.kind == "O":
        try:
            return arr.astype(np.float64)
        except (TypeError, ValueError):
            pass
    raise TypeError(
        f"{name} must hold numbers; got dtype {arr.dtype}. "
        f"Convert {name} to a float array (e.g. np.asarray({name}, dtype=float))."
    )


def check_scores(
    X: Any,
    *,
    name: str = "X",
    allow_empty: bool = False,
    bounded: bool = True,
) -> np.ndarray:
    """Validate scores P(correct) and return them as a 1-D float64 array.

    Parameters
    ----------
    X : array-like of shape (n,) or (n, 1)
        Scores in [0, 1]; a score is P(answer correct), higher = surer.
    name : str
        Name used in error messages.
    allow_empty : bool
        Whether zero rows are accepted.
    bounded : bool
        Whether scores must lie in [0, 1] (False for rank-only uses such as AUROC).

    Returns
    -------
    ndarray of shape (n,)
        The scores as float64.

    Raises
    ------
    TypeError
        If the values are not numeric.
    ValueError
        If the shape is not (n,) or (n, 1), if a value is NaN/inf, or outside [0, 1].
    """
    arr = _as_numeric(X, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim != 1:
        extra = ""
        if arr.ndim == 2 and arr.shape[1] == 0:
            extra = (
                f" ({name} has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.)"
            )
        elif arr.ndim == 2:
            extra = f" ({name} has {arr.shape[1]} features, but a calibrator is expecting 1.)"
        raise ValueError(
            f"{name} must have shape (n,) or (n, 1), one score per row; got shape "
            f"{arr.shape}.{extra} Pass a single column of scores (e.g. {name}[:, k]); a "
            "calibrator maps one score to one probability and takes no other features."
        )
    if arr.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (0 rows); pass at least one score.")
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(
            f"{name} holds {bad.size} non-finite value(s) (NaN or inf), the first at index "
            f"{bad[0]} ({arr[bad[0]]}). Drop or impute those rows before calibrating."
        )
    outside = (arr < 0.0) | (arr > 1.0)
    if bounded and outside.any():
        bad = np.flatnonzero(outside)
        raise ValueError(
            f"{name} holds {bad.size} score(s) outside [0, 1] (min {arr.min():.6g}, max "
            f"{arr.max():.6g}; first at index {bad[0]}). Scores must be P(correct) in "
            "[0, 1]; map raw scores such as logits through a sigmoid first."
        )
    return np.ascontiguousarray(arr)


def check_labels(y: Any, *, name: str = "y") -> np.ndarray:
    """Validate labels (1 = correct, 0 = wrong) and return them as 1-D float64.

    Parameters
    ----------
    y : array-like of shape (n,) or (n, 1)
        Binary labels, 1 = answer correct, 0 = wrong; bools are accepted.
    name : str
        Name used in error messages.

    Returns
    -------
    ndarray of shape (n,)
        The labels as float64 zeros and ones.
    """
    arr = _as_numeric(y, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim != 1:
        raise ValueError(
            f"{name} must have shape (n,) or (n, 1), one label per row; got shape "
            f"{arr.shape}. Pass one 0/1 label per score."
        )
    bad = ~((arr == 0.0) | (arr == 1.0))
    if bad.any():
        idx = np.flatnonzero(bad)
        uniq = np.unique(arr[idx][np.isfinite(arr[idx])])[:5].tolist()
        raise ValueError(
            f"{name} must hold binary labels 1 = correct, 0 = wrong; found {idx.size} other "
            f"value(s), the first at index {idx[0]} ({arr[idx[0]]}; others include {uniq}). "
            f"Convert {name} to 0/1 (e.g. ({name} == correct_value).astype(int))."
        )
    return np.ascontiguousarray(arr)


def check_scores_labels(
    X: Any,
    y: Any,
    *,
    x_name: str = "X",
    y_name: str = "y",
    bounded: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a score array and a label array of the same length.

    Parameters
    ----------
    X : array-like of shape (n,) or (n, 1)
        Scores P(correct) in [0, 1].
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.
    x_name, y_name : str
        Names used in error messages.
    bounded : bool
        Whether scores must lie in [0, 1].

    Returns
    -------
    scores : ndarray of shape (n,)
    labels : ndarray of shape (n,)
    """
    s = check_scores(X, name=x_name, bounded=bounded)
    lab = check_labels(y, name=y_name)
    if s.shape[0] != lab.shape[0]:
        raise ValueError(
            f"{x_name} and {y_name} have different lengths: {s.shape[0]} scores vs "
            f"{lab.shape[0]} labels. Pass exactly one label per score."
        )
    return s, lab


def check_positive_int(value: Any, *, name: str, minimum: int = 1) -> int:
    """Return ``value`` as int if it is an integer >= ``minimum``, else raise."""
    return check_int(value, name, min_val=minimum)


def check_n_bins(value: Any, *, name: str = "n_bins") -> int:
    """Return a validated number of bins (int >= 1)."""
    return check_int(value, name, min_val=1)


def check_positive_float(
    value: Any, *, name: str, allow_zero: bool = False, upper: float | None = None
) -> float:
    """Return ``value`` as float if it is a finite number > 0 (or >= 0) and < ``upper``."""
    if upper is None:
        bounds = "both" if allow_zero else "neither"
    else:
        bounds = "left" if allow_zero else "neither"
    return check_real(value, name, min_val=0.0, max_val=upper, include_boundaries=bounds)


def check_fraction(value: Any, *, name: str) -> float:
    """Return ``value`` as a float strictly inside (0, 1), else raise."""
    return check_positive_float(value, name=name, upper=1.0)


def check_strategy(strategy: Any) -> str:
    """``"uniform"`` (equal-width bins) or ``"quantile"`` (equal-mass bins), else raise."""
    if strategy not in ("uniform", "quantile"):
        raise ValueError(
            f"strategy must be 'uniform' (equal-width bins) or 'quantile' (equal-mass bins); "
            f"got {strategy!r}."
        )
    return strategy


def prepare(probs: Any, y: Any, *, bounded: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Scores and labels checked for a metric (``bounded``: scores must be in [0, 1])."""
    name = "probs" if bounded else "scores"
    return check_scores_labels(probs, y, x_name=name, y_name="y", bounded=bounded)


def warn_single_class(metric: str, y: np.ndarray) -> None:
    """Warn that ``metric`` is undefined on labels of one class (it returns nan)."""
    cls = int(y[0]) if y.size else 0
    warnings.warn(
        f"{metric} is undefined when y holds a single class (all {y.size} labels are {cls}); "
        "returning nan. Evaluate on data with both correct (1) and wrong (0) answers.",
        RuntimeWarning,
        stacklevel=3,
    )
