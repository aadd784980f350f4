"""Bootstrap confidence intervals of every metric, vectorised, and the calibration report.

Sign convention: ``probs`` are P(answer correct), higher = surer; labels ``y`` are
1 = correct, 0 = wrong.

Every metric of :data:`METRICS` is computed by one batched kernel on an array of shape
(n_resamples, n), so :func:`bootstrap_ci` evaluates 1000 resamples in one pass (AUROC
by the rank-sum formula, average precision by a sort), not 1000 calls.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from howsure.calibration._validation import (
    check_fraction,
    check_n_bins,
    check_positive_int,
    check_strategy,
    prepare,
)
from howsure.calibration.metrics import (
    Strategy,
    _brier_batch,
    _ece_batch,
    _mce_batch,
    _nll_batch,
    brier,
    ece,
    mce,
    nll,
    reliability_table,
)
from howsure.calibration.ranking import _auprc_batch, _auroc_batch, auprc, auroc
from howsure.calibration.selective import (
    _accuracy_at_batch,
    _aurc_batch,
    _prr_batch,
    accuracy_at_50,
    accuracy_at_80,
    aurc,
    prr,
)
from howsure.core.checks import check_int

__all__ = ["METRICS", "RANK_METRICS", "MetricName", "bootstrap_ci", "calibration_report"]

MetricName = Literal[
    "ece",
    "mce",
    "brier",
    "nll",
    "auroc",
    "auprc",
    "aurc",
    "prr",
    "accuracy_at_50",
    "accuracy_at_80",
]
RANK_METRICS = frozenset({"auroc", "auprc", "aurc", "prr", "accuracy_at_50", "accuracy_at_80"})
"""Metrics that use only the order of the scores, so accept any finite reals."""
_CHUNK_ELEMENTS = 1_000_000  # resamples x rows per batch in the bootstrap

METRICS: dict[str, Callable[..., float]] = {
    "ece": ece,
    "mce": mce,
    "brier": brier,
    "nll": nll,
    "auroc": auroc,
    "auprc": auprc,
    "aurc": aurc,
    "prr": prr,
    "accuracy_at_50": accuracy_at_50,
    "accuracy_at_80": accuracy_at_80,
}
"""The metric functions by name, as understood by :func:`bootstrap_ci`."""


def _kernel(name: str, *, n_bins: int, strategy: str) -> Callable[..., np.ndarray]:
    if name == "ece":
        return lambda p, y: _ece_batch(p, y, n_bins=n_bins, strategy=strategy)
    if name == "mce":
        return lambda p, y: _mce_batch(p, y, n_bins=n_bins, strategy=strategy)
    return {
        "brier": _brier_batch,
        "nll": _nll_batch,
        "auroc": _auroc_batch,
        "auprc": _auprc_batch,
        "aurc": _aurc_batch,
        "prr": _prr_batch,
        "accuracy_at_50": lambda s, y: _accuracy_at_batch(s, y, coverage=0.5),
        "accuracy_at_80": lambda s, y: _accuracy_at_batch(s, y, coverage=0.8),
    }[name]


# ---- bootstrap -----------------------------------------------------------------------
def _resolve_metric(metric: Any) -> str | Callable[[np.ndarray, np.ndarray], float]:
    if isinstance(metric, str):
        if metric not in METRICS:
            raise ValueError(
                f"unknown metric {metric!r}; choose one of {sorted(METRICS)} or pass a "
                "callable metric(probs, y) -> float."
            )
        return metric
    for name, fn in METRICS.items():
        if metric is fn:
            return name
    if callable(metric):
        return metric
    raise TypeError(
        f"metric must be a metric name ({sorted(METRICS)}) or a callable; got {metric!r}."
    )


def _bootstrap_values(
    metrics: dict[str, str | Callable[[np.ndarray, np.ndarray], float]],
    p: np.ndarray,
    lab: np.ndarray,
    *,
    n_boot: int,
    seed: int,
    n_bins: int,
    strategy: str,
) -> dict[str, np.ndarray]:
    """Metric values on ``n_boot`` row resamples, the same resamples for every metric."""
    n = p.shape[0]
    rng = np.random.default_rng(seed)
    # The batch size depends on n only, so every metric and every caller sees the same
    # resamples for the same (seed, n, n_boot).
    chunk = max(1, _CHUNK_ELEMENTS // n)
    out = {key: np.empty(n_boot) for key in metrics}
    for start in range(0, n_boot, chunk):
        rows = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        pb, yb = p[rows], lab[rows]
        for key, metric in metrics.items():
            if isinstance(metric, str):
                vals = _kernel(metric, n_bins=n_bins, strategy=strategy)(pb, yb)
            else:
                vals = np.array([float(metric(pr, yr)) for pr, yr in zip(pb, yb, strict=True)])
            out[key][start : start + rows.shape[0]] = vals
    return out


def _interval(values: np.ndarray, alpha: float, label: str) -> tuple[float, float]:
    ok = values[~np.isnan(values)]
    skipped = values.size - ok.size
    if ok.size == 0:
        warnings.warn(
            f"bootstrap of {label}: all {values.size} resamples gave nan (e.g. a single "
            "class); the interval is (nan, nan).",
            RuntimeWarning,
            stacklevel=3,
        )
        return float("nan"), float("nan")
    if skipped:
        warnings.warn(
            f"bootstrap of {label}: skipped {skipped} of {values.size} resamples where the "
            "metric was nan (e.g. resamples holding a single class).",
            RuntimeWarning,
            stacklevel=3,
        )
    lo, hi = np.quantile(ok, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


def bootstrap_ci(
    metric: MetricName | Callable[[np.ndarray, np.ndarray], float],
    probs: Any,
    y: Any,
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    n_bins: int = 15,
    strategy: Strategy = "uniform",
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of a metric, resampling rows.

    Resamples whose metric is nan (e.g. AUROC on a resample with one class) are
    skipped, with a warning giving how many. Named metrics (and the functions of
    this module passed directly) are evaluated on all resamples at once; another
    callable is called once per resample.

    Parameters
    ----------
    metric : str or callable
        A name of :data:`METRICS` ("ece", "mce", "brier", "nll", "auroc", "auprc",
        "aurc", "prr", "accuracy_at_50", "accuracy_at_80"), or
        ``metric(probs, y) -> float`` on 1-D arrays.
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1] (any finite reals for the rank-only metrics
        :data:`RANK_METRICS`).
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.
    n_boot : int, default=1000
        Number of resamples.
    alpha : float, default=0.05
        The interval covers ``1 - alpha``.
    seed : int, default=0
        Seed of the resampling; the same seed gives the same interval.
    n_bins : int, default=15
        Bins for "ece" and "mce".
    strategy : {"uniform", "quantile"}, default="uniform"
        Binning for "ece" and "mce".

    Returns
    -------
    lo, hi : float
        The ``alpha / 2`` and ``1 - alpha / 2`` quantiles of the resampled metric.

    Notes
    -----
    Binned ECE is biased upwards on finite samples, and more so on resamples (which
    repeat rows); for well-calibrated scores the interval can sit entirely above the
    point estimate. Read it as the sampling spread, not as a guarantee of coverage.
    """
    resolved = _resolve_metric(metric)
    n_boot = check_positive_int(n_boot, name="n_boot")
    alpha = check_fraction(alpha, name="alpha")
    seed = check_int(seed, "seed", min_val=0)
    n_bins, strategy = check_n_bins(n_bins), check_strategy(strategy)
    bounded = not (isinstance(resolved, str) and resolved in RANK_METRICS)
    p, lab = prepare(probs, y, bounded=bounded)
    label = resolved if isinstance(resolved, str) else getattr(resolved, "__name__", "metric")
    values = _bootstrap_values(
        {label: resolved}, p, lab, n_boot=n_boot, seed=int(seed), n_bins=n_bins, strategy=strategy
    )[label]
    return _interval(values, alpha, label)


# ---- report --------------------------------------------------------------------------
def calibration_report(
    probs: Any, y: Any, *, n_bins: int = 15, n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """All metrics of this module, their 95% bootstrap intervals and the reliability table.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1], higher = surer.
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.
    n_bins : int, default=15
        Equal-width bins for ECE, MCE and the reliability table.
    n_boot : int, default=1000
        Bootstrap resamples (shared by all metrics); 0 skips the intervals.
    seed : int, default=0
        Seed of the resampling; ``ci95[m]`` equals ``bootstrap_ci(m, ..., seed=seed)``.

    Returns
    -------
    dict
        JSON-able (floats may be nan): ``n``, ``n_correct``, ``base_rate``, ``n_bins``,
        ``ece``, ``mce``, ``brier``, ``nll``, ``auroc``, ``auprc``, ``aurc``, ``prr``,
        ``accuracy_at_50``, ``accuracy_at_80``, ``reliability``
        (a list of per-bin dicts, see :class:`ReliabilityTable`) and
        ``ci95: {metric: [lo, hi]}``.
    """
    n_bins = check_n_bins(n_bins)
    n_boot = check_positive_int(n_boot, name="n_boot", minimum=0)
    seed = check_int(seed, "seed", min_val=0)
    p, lab = prepare(probs, y)
    report: dict[str, Any] = {
        "n": int(p.size),
        "n_correct": int(lab.sum()),
        "base_rate": float(lab.mean()),
        "n_bins": n_bins,
    }
    for name, fn in METRICS.items():
        report[name] = fn(p, lab, n_bins=n_bins) if name in ("ece", "mce") else fn(p, lab)
    report["reliability"] = reliability_table(p, lab, n_bins=n_bins).to_records()
    ci: dict[str, list[float]] = {}
    if n_boot > 0:
        values = _bootstrap_values(
            {m: m for m in METRICS},
            p,
            lab,
            n_boot=n_boot,
            seed=int(seed),
            n_bins=n_bins,
            strategy="uniform",
        )
        for name, vals in values.items():
            ci[name] = list(_interval(vals, 0.05, name))
    report["ci95"] = ci
    return report
