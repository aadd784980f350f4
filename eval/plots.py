"""Report plots: ROC curves, risk–coverage curves and score histograms (PNG files).

Every plot takes ``scores``: a mapping from method name to scores of shape (n,), higher =
more likely correct, and labels ``y`` of shape (n,), 1 = correct. Figures are drawn on
matplotlib's Agg canvas (no pyplot, no global backend change); matplotlib is imported
lazily (``pip install 'howsure[eval]'``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from howsure.calibration.ranking import auroc
from howsure.calibration.selective import aurc, risk_coverage_curve
from howsure.core.figures import new_figure, save_figure

__all__ = ["risk_coverage_plot", "roc_curves", "score_histograms"]


def _figure(figsize: tuple[float, float]) -> Any:
    return new_figure(figsize, what="the report plots", layout="constrained")


def _check(scores: Mapping[str, Any], y: Any) -> tuple[dict[str, np.ndarray], np.ndarray]:
    if not isinstance(scores, Mapping) or not scores:
        raise ValueError("scores must be a non-empty mapping of method name -> scores")
    y = np.asarray(y).astype(int).ravel()
    out = {}
    for name, s in scores.items():
        s = np.asarray(s, dtype=float).ravel()
        if s.shape != y.shape:
            raise ValueError(f"scores[{name!r}] has shape {s.shape}; the labels have {y.shape}")
        out[name] = s
    return out, y


def _axes(ax: Any, *, x: str, y: str, title: str, legend: tuple[str, str], top: float) -> None:
    """Labels, title, legend (title, location) and the unit square of a curve plot."""
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title)
    ax.legend(title=legend[0], fontsize=8, loc=legend[1])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, top)


def _style(name: str) -> dict:
    """The probe drawn thick and solid, baselines thinner; same colour per name."""
    if name.startswith("probe"):
        return {"linewidth": 2.4, "linestyle": "-" if name == "probe" else "-."}
    return {"linewidth": 1.3, "linestyle": "--"}


def roc_curves(
    scores: Mapping[str, Any], y: Any, path: str | Path, *, title: str | None = None
) -> Path:
    """ROC curve of every method on the same answers, AUROC in the legend.

    Parameters
    ----------
    scores : mapping of str to array-like of shape (n,)
    y : array-like of shape (n,)
    path : str or Path
        Where the PNG goes (parent folders are created).
    title : str, optional

    Returns
    -------
    Path
    """
    from sklearn.metrics import roc_curve

    scores, y = _check(scores, y)
    if not 0 < y.sum() < len(y):
        raise ValueError("ROC curves need both right and wrong answers; the labels have one class")
    fig = _figure((6.0, 5.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], color="grey", linewidth=1, linestyle=":", label="chance (0.500)")
    for name, s in scores.items():
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, label=f"{name} ({auroc(s, y):.3f})", **_style(name))
    _axes(
        ax,
        x="false positive rate (wrong answers accepted)",
        y="true positive rate (right answers accepted)",
        title=title or f"ROC, right vs wrong answers (n={len(y)})",
        legend=("method (AUROC)", "lower right"),
        top=1.01,
    )
    return save_figure(fig, path)


def risk_coverage_plot(
    scores: Mapping[str, Any], y: Any, path: str | Path, *, title: str | None = None
) -> Path:
    """Error rate of the accepted answers against the fraction accepted, most confident first.

    The oracle (all right answers first) and random order are drawn for reference; AURC
    (area under the curve, lower is better) is in the legend.

    Parameters
    ----------
    scores : mapping of str to array-like of shape (n,)
    y : array-like of shape (n,)
    path : str or Path
    title : str, optional

    Returns
    -------
    Path
    """
    scores, y = _check(scores, y)
    fig = _figure((6.0, 5.2))
    ax = fig.add_subplot(1, 1, 1)
    err = 1.0 - y.mean()
    cov, risk = risk_coverage_curve(y.astype(float), y)
    ax.plot(cov, risk, color="grey", linewidth=1, linestyle=":", label=f"oracle ({aurc(y, y):.3f})")
    ax.axhline(err, color="grey", linewidth=1, linestyle="-.", label=f"random ({err:.3f})")
    for name, s in scores.items():
        cov, risk = risk_coverage_curve(s, y)
        ax.plot(cov, risk, label=f"{name} ({aurc(s, y):.3f})", **_style(name))
    _axes(
        ax,
        x="coverage (fraction of answers shown, most confident first)",
        y="risk (error rate of the answers shown)",
        title=title or f"Risk–coverage (n={len(y)})",
        legend=("method (AURC, lower is better)", "upper left"),
        top=1.0,
    )
    return save_figure(fig, path)


def score_histograms(
    scores: Mapping[str, Any],
    y: Any,
    path: str | Path,
    *,
    bins: int = 20,
    title: str | None = None,
) -> Path:
    """One panel per method: its scores of right answers against those of wrong ones.

    Parameters
    ----------
    scores : mapping of str to array-like of shape (n,)
        Scores in [0, 1].
    y : array-like of shape (n,)
    path : str or Path
    bins : int, default 20
        Equal-width bins over [0, 1].
    title : str, optional

    Returns
    -------
    Path
    """
    scores, y = _check(scores, y)
    k = len(scores)
    cols = min(k, 3)
    rows = -(-k // cols)
    fig = _figure((3.6 * cols, 2.8 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    edges = np.linspace(0.0, 1.0, bins + 1)
    for ax, (name, s) in zip(axes.ravel(), scores.items(), strict=False):
        ax.hist(s[y == 1], bins=edges, alpha=0.6, color="tab:green", label="right")
        ax.hist(s[y == 0], bins=edges, alpha=0.6, color="tab:red", label="wrong")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("score (P(correct))", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in axes.ravel()[k:]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=8)
    fig.suptitle(title or f"Scores of right and wrong answers (n={len(y)})")
    return save_figure(fig, path)
