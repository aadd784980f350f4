"""The ``metrics.json`` schema written by ``howsure train``, and its validator.

``metrics.json`` is one JSON object. Undefined metrics (e.g. AUROC when every answer
in a group is right) are written as ``NaN`` -- :func:`json.dumps` does so by default
and :func:`json.loads` reads it back; readers in other languages must accept the
``NaN`` token. ``null`` is not used for numbers. Keys not listed here are allowed
(forward compatible) and not checked.

Top level
---------
``n`` : int
    Number of held-out (test) answers scored.
``accuracy`` : float
    Fraction of those answers that are correct, in [0, 1].
``dataset`` : str
    The dataset the answers come from (a name or a path).
``detector`` : str
    Path of the saved detector folder.
``methods`` : object, method name -> method metrics (at least one method)
    Names: ``probe`` (the detector's calibrated P(correct)), ``probe_last_prompt``
    (the detector read before the answer is generated), the single-pass baselines
    ``logprob_mean``, ``logprob_min``, ``entropy``, and later multi-pass methods such
    as ``p_true`` and ``consistency``.
``split`` : str or null, optional
    The dataset split of the answers.
``topics`` : object, optional
    Topic -> ``{"n": int, "accuracy": float, <method>: float AUROC inside the topic}``.

Method metrics (``methods.<name>``)
-----------------------------------
Scores are P(answer correct), higher = surer; labels 1 = correct.

``auroc`` : float in [0, 1]
    Area under the ROC curve for telling correct from wrong answers (0.5 = chance).
``auroc_within_topic`` : float in [0, 1]
    AUROC inside each topic, averaged weighted by topic size (nan without topics).
``auprc`` : float in [0, 1]
    Average precision for finding correct answers.
``ece`` : float in [0, 1]
    Expected calibration error, 15 equal-width bins.
``ece_equal_mass`` : float in [0, 1]
    Expected calibration error, 15 equal-mass (quantile) bins.
``brier`` : float in [0, 1]
    Mean squared error of the score against the 0/1 label.
``aurc`` : float in [0, 1]
    Area under the risk-coverage curve (lower is better).
``prr`` : float <= 1
    Prediction rejection ratio: 1 = oracle ranking, 0 = random, < 0 worse than random.
``accuracy_at_50``, ``accuracy_at_80`` : float in [0, 1]
    Accuracy of the most confident 50% / 80% of the answers.
``forward_passes_per_question`` : float > 0
    Cost of the method; 1.0 for everything read from the one generation pass.
``ci95`` : object, metric -> [lo, hi]
    Percentile bootstrap 95% interval of each metric above except
    ``auroc_within_topic`` and ``forward_passes_per_question``; ``lo <= hi`` (or both nan).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["CI_METRICS", "METHOD_METRICS", "TOP_LEVEL", "validate_metrics"]

TOP_LEVEL: dict[str, type] = {"n": int, "accuracy": float, "dataset": str, "detector": str}
"""Required top-level keys and their types (``float`` accepts ints and nan)."""

_UNIT = (0.0, 1.0)
METHOD_METRICS: dict[str, tuple[float, float]] = {
    "auroc": _UNIT,
    "auroc_within_topic": _UNIT,
    "auprc": _UNIT,
    "ece": _UNIT,
    "ece_equal_mass": _UNIT,
    "brier": _UNIT,
    "aurc": _UNIT,
    "prr": (-math.inf, 1.0),
    "accuracy_at_50": _UNIT,
    "accuracy_at_80": _UNIT,
}
"""Required per-method metrics and their closed ranges (nan always allowed)."""

CI_METRICS: tuple[str, ...] = tuple(k for k in METHOD_METRICS if k != "auroc_within_topic")
"""Metrics that must have a ``[lo, hi]`` entry in ``ci95``."""

_TOL = 1e-9


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_float(value: Any, path: str, lo: float = -math.inf, hi: float = math.inf) -> None:
    if not _is_number(value):
        raise ValueError(f"{path}: expected a number (NaN allowed); got {value!r}.")
    v = float(value)
    if math.isnan(v):
        return
    if not (lo - _TOL <= v <= hi + _TOL):
        raise ValueError(f"{path}: expected a number in [{lo}, {hi}]; got {v!r}.")


def _check_interval(value: Any, path: str) -> None:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(_is_number(v) for v in value)
    ):
        raise ValueError(f"{path}: expected [lo, hi], two numbers (NaN allowed); got {value!r}.")
    lo, hi = float(value[0]), float(value[1])
    if math.isnan(lo) != math.isnan(hi) or (not math.isnan(lo) and lo > hi + _TOL):
        raise ValueError(f"{path}: expected [lo, hi] with lo <= hi (or both NaN); got {value!r}.")


def _check_method(row: Any, path: str) -> None:
    if not isinstance(row, Mapping):
        raise ValueError(f"{path}: expected an object of metrics; got {type(row).__name__}.")
    for key, (lo, hi) in METHOD_METRICS.items():
        if key not in row:
            raise ValueError(f"{path}.{key}: missing.")
        _check_float(row[key], f"{path}.{key}", lo, hi)
    key = "forward_passes_per_question"
    if key not in row:
        raise ValueError(f"{path}.{key}: missing.")
    fp = row[key]
    if not _is_number(fp) or not (0.0 < float(fp) < math.inf):
        raise ValueError(f"{path}.{key}: expected a finite number > 0; got {fp!r}.")
    ci = row.get("ci95")
    if not isinstance(ci, Mapping):
        raise ValueError(f"{path}.ci95: expected an object {{metric: [lo, hi]}}; got {ci!r}.")
    for key in CI_METRICS:
        if key not in ci:
            raise ValueError(f"{path}.ci95.{key}: missing; expected [lo, hi].")
        _check_interval(ci[key], f"{path}.ci95.{key}")


def validate_metrics(data: Any, *, methods: Iterable[str] = ()) -> None:
    """Check a ``metrics.json`` object against the schema of this module.

    Parameters
    ----------
    data : dict
        The parsed ``metrics.json`` (or the report before it is written).
    methods : iterable of str, optional
        Method names that must be present (e.g. ``("probe", "logprob_mean")``); any
        non-empty set of methods is accepted by default.

    Raises
    ------
    ValueError
        At the first problem, naming the key path, e.g.
        ``"methods.probe.ci95.auroc: expected [lo, hi], ..."``.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"metrics: expected a JSON object (dict); got {type(data).__name__}.")
    for key, kind in TOP_LEVEL.items():
        if key not in data:
            raise ValueError(f"{key}: missing (required top-level key of metrics.json).")
        value = data[key]
        if kind is float:
            _check_float(value, key, *(_UNIT if key == "accuracy" else (-math.inf, math.inf)))
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{key}: expected an int >= 0; got {value!r}.")
        elif not isinstance(value, kind):
            raise ValueError(f"{key}: expected {kind.__name__}; got {value!r}.")
    if "split" in data and data["split"] is not None and not isinstance(data["split"], str):
        raise ValueError(f"split: expected str or null; got {data['split']!r}.")
    rows = data.get("methods")
    if not isinstance(rows, Mapping) or not rows:
        raise ValueError(f"methods: expected a non-empty object {{method: metrics}}; got {rows!r}.")
    for name in methods:
        if name not in rows:
            raise ValueError(f"methods.{name}: missing; methods present: {sorted(rows)}.")
    for name, row in rows.items():
        if not isinstance(name, str):
            raise ValueError(f"methods: method names must be str; got {name!r}.")
        _check_method(row, f"methods.{name}")
    if "topics" in data:
        topics = data["topics"]
        if not isinstance(topics, Mapping):
            raise ValueError(f"topics: expected an object {{topic: {{...}}}}; got {topics!r}.")
        for topic, row in topics.items():
            path = f"topics.{topic}"
            if not isinstance(row, Mapping):
                raise ValueError(f"{path}: expected an object; got {row!r}.")
            for key, value in row.items():
                _check_float(value, f"{path}.{key}")
