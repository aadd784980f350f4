"""Calibration metrics: how far stated confidences are from the rate of correct answers.

Sign convention: ``probs`` are P(answer correct), higher = surer; labels ``y`` are
1 = correct, 0 = wrong.

Binning (ECE, MCE, reliability table): ``strategy="uniform"`` uses ``n_bins``
equal-width bins on [0, 1]; ``"quantile"`` uses equal-mass bins whose inner
edges are the ``np.quantile`` of ``probs`` (outer edges 0 and 1). Bins are
``[lower, upper)`` with the last one closed -- the convention of
:func:`numpy.histogram` (and of netcal). ECE is the count-weighted mean of
``|accuracy - mean confidence|`` over bins; MCE the largest gap over non-empty
bins.

Each metric has a batched kernel on arrays of shape (n_resamples, n), so
:func:`howsure.calibration.bootstrap.bootstrap_ci` evaluates 1000 resamples in one pass.
Ranking metrics (AUROC, AUPRC) are in :mod:`howsure.calibration.ranking`, selective
prediction (risk-coverage, AURC, PRR) in :mod:`howsure.calibration.selective`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from howsure.calibration._validation import (
    check_fraction,
    check_n_bins,
    check_positive_int,
    check_strategy,
    prepare,
)

__all__ = [
    "ReliabilityTable",
    "Strategy",
    "brier",
    "ece",
    "ece_noise_floor",
    "mce",
    "nll",
    "reliability_table",
]

Strategy = Literal["uniform", "quantile"]
_NLL_EPS = 1e-15


# ---- batched kernels: p, y of shape (B, n) -> (B,) -------------------------------------
def _edges(p: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    """Bin edges of shape (B, n_bins + 1) for each row of ``p`` (B, n)."""
    grid = np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "uniform":
        return np.broadcast_to(grid, (p.shape[0], n_bins + 1))
    edges = np.quantile(p, grid, axis=1).T.copy()
    edges[:, 0], edges[:, -1] = 0.0, 1.0
    return edges


def _bin_index(p: np.ndarray, edges: np.ndarray, strategy: str) -> np.ndarray:
    """Bin of each element: the number of inner edges <= p, in 0..n_bins-1. Shape (B, n)."""
    inner = edges[:, 1:-1]
    if strategy == "uniform":
        return np.searchsorted(inner[0], p, side="right")
    idx = np.zeros(p.shape, dtype=np.intp)
    for j in range(inner.shape[1]):  # one (B, n) comparison per edge keeps memory at O(B n)
        idx += p >= inner[:, j : j + 1]
    return idx


def _binned_sums(
    p: np.ndarray, y: np.ndarray, n_bins: int, strategy: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-bin count, sum of p and sum of y, each (B, n_bins), and the edges (B, n_bins + 1)."""
    b = p.shape[0]
    edges = _edges(p, n_bins, strategy)
    flat = (_bin_index(p, edges, strategy) + n_bins * np.arange(b)[:, None]).ravel()
    size = b * n_bins
    count = np.bincount(flat, minlength=size).reshape(b, n_bins).astype(np.float64)
    sum_p = np.bincount(flat, weights=p.ravel(), minlength=size).reshape(b, n_bins)
    sum_y = np.bincount(flat, weights=y.ravel(), minlength=size).reshape(b, n_bins)
    return count, sum_p, sum_y, edges


def _ece_batch(p: np.ndarray, y: np.ndarray, *, n_bins: int, strategy: str) -> np.ndarray:
    _, sum_p, sum_y, _ = _binned_sums(p, y, n_bins, strategy)
    return np.abs(sum_y - sum_p).sum(axis=1) / p.shape[1]


def _mce_batch(p: np.ndarray, y: np.ndarray, *, n_bins: int, strategy: str) -> np.ndarray:
    count, sum_p, sum_y, _ = _binned_sums(p, y, n_bins, strategy)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs(sum_y - sum_p) / count
    return np.where(count > 0, gap, 0.0).max(axis=1)


def _brier_batch(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.mean((p - y) ** 2, axis=1)


def _nll_batch(p: np.ndarray, y: np.ndarray, *, eps: float = _NLL_EPS) -> np.ndarray:
    pc = np.clip(p, eps, 1.0 - eps)
    return -np.mean(y * np.log(pc) + (1.0 - y) * np.log1p(-pc), axis=1)


# ---- public metrics ------------------------------------------------------------------
def ece(probs: Any, y: Any, *, n_bins: int = 15, strategy: Strategy = "uniform") -> float:
    """Expected calibration error.

    ``sum_b (n_b / n) * |accuracy_b - mean_confidence_b|`` over bins ``b``.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1], higher = surer.
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.
    n_bins : int, default=15
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width or equal-mass bins.

    Returns
    -------
    float
        ECE in [0, 1]; 0 is perfectly calibrated (at this binning).
    """
    n_bins, strategy = check_n_bins(n_bins), check_strategy(strategy)
    p, lab = prepare(probs, y)
    return float(_ece_batch(p[None], lab[None], n_bins=n_bins, strategy=strategy)[0])


def ece_noise_floor(
    probs: Any,
    *,
    n_bins: int = 15,
    strategy: Strategy = "uniform",
    n_sim: int = 1000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """The ECE a *perfectly calibrated* predictor shows with these confidences.

    ECE is biased upwards on finite samples: even when every answer is right with exactly
    its predicted probability, the binned accuracies scatter around the confidences. This
    draws labels ``y ~ Bernoulli(probs)`` ``n_sim`` times and measures the ECE of each
    draw, so a reported ECE can be read against what perfect calibration would give on
    the same number of answers.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1].
    n_bins : int, default=15
    strategy : {"uniform", "quantile"}, default="uniform"
    n_sim : int, default=1000
        Simulated label draws.
    seed : int, default=0

    Returns
    -------
    (mean, lo, hi) : tuple of float
        The mean simulated ECE and its 2.5% and 97.5% quantiles.

    Examples
    --------
    >>> mean, lo, hi = ece_noise_floor([0.3] * 100 + [0.8] * 100, n_sim=200)
    >>> 0.0 < lo <= mean <= hi < 0.2
    True
    """
    n_bins, strategy = check_n_bins(n_bins), check_strategy(strategy)
    p, _ = prepare(probs, np.zeros(np.asarray(probs).shape))
    n_sim = check_positive_int(n_sim, name="n_sim")
    rng = np.random.default_rng(seed)
    ys = (rng.random((int(n_sim), p.size)) < p).astype(float)
    sims = _ece_batch(np.broadcast_to(p, ys.shape), ys, n_bins=n_bins, strategy=strategy)
    lo, hi = np.quantile(sims, [0.025, 0.975])
    return float(sims.mean()), float(lo), float(hi)


def mce(probs: Any, y: Any, *, n_bins: int = 15, strategy: Strategy = "uniform") -> float:
    """Maximum calibration error: the largest ``|accuracy - mean confidence|`` of a non-empty bin.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1], higher = surer.
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.
    n_bins : int, default=15
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width or equal-mass bins.

    Returns
    -------
    float
        MCE in [0, 1].
    """
    n_bins, strategy = check_n_bins(n_bins), check_strategy(strategy)
    p, lab = prepare(probs, y)
    return float(_mce_batch(p[None], lab[None], n_bins=n_bins, strategy=strategy)[0])


def brier(probs: Any, y: Any) -> float:
    """Brier score: mean squared difference between P(correct) and the 0/1 label.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1].
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.

    Returns
    -------
    float
        Brier score in [0, 1]; lower is better.
    """
    p, lab = prepare(probs, y)
    return float(_brier_batch(p[None], lab[None])[0])


def nll(probs: Any, y: Any, *, eps: float = _NLL_EPS) -> float:
    """Mean negative log-likelihood (log loss), natural log.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1]; clipped to ``[eps, 1 - eps]`` so a confident
        mistake costs at most ``-ln(eps)`` (about 34.5) instead of infinity.
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.
    eps : float, default=1e-15
        Clipping constant in (0, 1).

    Returns
    -------
    float
        NLL >= 0; lower is better; ``ln 2`` for always answering 0.5.
    """
    eps = check_fraction(eps, name="eps")
    p, lab = prepare(probs, y)
    return float(_nll_batch(p[None], lab[None], eps=eps)[0])


# ---- reliability table ---------------------------------------------------------------
@dataclass(frozen=True)
class ReliabilityTable:
    """Per-bin calibration summary; each field has shape (n_bins,).

    Attributes
    ----------
    lower, upper : ndarray of shape (n_bins,)
        Bin edges; bins are ``[lower, upper)``, the last one closed.
    count : ndarray of shape (n_bins,)
        Rows in each bin (int).
    mean_confidence : ndarray of shape (n_bins,)
        Mean predicted P(correct) in each bin; nan for an empty bin.
    accuracy : ndarray of shape (n_bins,)
        Fraction correct in each bin; nan for an empty bin.
    """

    lower: np.ndarray
    upper: np.ndarray
    count: np.ndarray
    mean_confidence: np.ndarray
    accuracy: np.ndarray

    def __len__(self) -> int:
        return int(self.count.shape[0])

    @property
    def gap(self) -> np.ndarray:
        """``accuracy - mean_confidence`` per bin, shape (n_bins,); < 0 means over-confident."""
        return self.accuracy - self.mean_confidence

    def to_records(self) -> list[dict[str, float | int]]:
        """One JSON-able dict per bin (nan for the means of empty bins)."""
        return [
            {
                "lower": float(lo),
                "upper": float(hi),
                "count": int(c),
                "mean_confidence": float(mc),
                "accuracy": float(acc),
            }
            for lo, hi, c, mc, acc in zip(
                self.lower,
                self.upper,
                self.count,
                self.mean_confidence,
                self.accuracy,
                strict=True,
            )
        ]


def reliability_table(
    probs: Any, y: Any, *, n_bins: int = 15, strategy: Strategy = "uniform"
) -> ReliabilityTable:
    """Per-bin counts, mean confidence and accuracy: the numbers behind a reliability diagram.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, 1)
        Predicted P(correct) in [0, 1].
    y : array-like of shape (n,) or (n, 1)
        Labels, 1 = correct, 0 = wrong.
    n_bins : int, default=15
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width or equal-mass bins.

    Returns
    -------
    ReliabilityTable
        Fields ``lower, upper, count, mean_confidence, accuracy``, each of shape (n_bins,).
    """
    n_bins, strategy = check_n_bins(n_bins), check_strategy(strategy)
    p, lab = prepare(probs, y)
    count, sum_p, sum_y, edges = _binned_sums(p[None], lab[None], n_bins, strategy)
    count, sum_p, sum_y, edges = count[0], sum_p[0], sum_y[0], edges[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(count > 0, sum_p / count, np.nan)
        acc = np.where(count > 0, sum_y / count, np.nan)
    return ReliabilityTable(
        lower=np.array(edges[:-1]),
        upper=np.array(edges[1:]),
        count=count.astype(np.int64),
        mean_confidence=mean_conf,
        accuracy=acc,
    )
