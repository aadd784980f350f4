"""Reliability diagrams (matplotlib, drawn off-screen with the Agg canvas).

Sign convention: ``probs`` are P(answer correct), higher = surer; labels ``y``
are 1 = correct, 0 = wrong. matplotlib is imported lazily; install it with
``pip install 'howsure[eval]'``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from howsure.calibration._validation import check_n_bins, check_scores_labels, check_strategy
from howsure.calibration.metrics import ece, reliability_table
from howsure.core.figures import new_figure, save_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["reliability_diagram"]


def _curves(probs: Any, y: Any) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Validated ``(name, probs, y)`` triples; ``y`` may be shared or a mapping by name."""
    if isinstance(probs, Mapping):
        if not probs:
            raise ValueError("probs is an empty mapping; pass at least one name -> scores entry.")
        items = list(probs.items())
    else:
        items = [("model", probs)]
    out = []
    for name, p in items:
        if not isinstance(name, str):
            raise TypeError(f"curve names must be str; got {name!r}.")
        if isinstance(y, Mapping):
            if name not in y:
                raise ValueError(
                    f"y is a mapping but has no entry for curve {name!r} (has {sorted(y)}); "
                    "pass one label array per curve name, or a single shared label array."
                )
            labels = y[name]
        else:
            labels = y
        pv, lv = check_scores_labels(p, labels, x_name=f"probs[{name!r}]", y_name="y")
        out.append((name, pv, lv))
    return out


def reliability_diagram(
    probs: Any,
    y: Any,
    *,
    n_bins: int = 15,
    strategy: Literal["uniform", "quantile"] = "uniform",
    path: str | Path | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Draw accuracy per confidence bin against the diagonal, with ECE in the legend.

    With ``ax=None`` a new figure holds the reliability panel and, below it, a
    histogram of the confidences. Given ``ax``, only the reliability panel is drawn
    on it and its figure is returned. Nothing is shown on screen: figures are
    :class:`matplotlib.figure.Figure` objects on an Agg canvas, outside pyplot.

    Parameters
    ----------
    probs : array-like of shape (n,) or mapping of str to array-like of shape (n_k,)
        Predicted P(correct) in [0, 1]. A mapping draws one curve per entry, e.g.
        ``{"uncalibrated": raw, "platt": calibrated}``.
    y : array-like of shape (n,) or mapping of str to array-like
        Labels, 1 = correct, 0 = wrong: shared by all curves, or one array per
        curve name when the curves come from different data.
    n_bins : int, default=15
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width or equal-mass bins (see :func:`howsure.calibration.ece`).
    path : str or Path, optional
        If given, the figure is saved there as PNG (parent folders are created).
    title : str, optional
        Figure title; defaults to "Reliability diagram".
    ax : matplotlib Axes, optional
        Draw the reliability panel on this axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.
    """
    n_bins = check_n_bins(n_bins)
    strategy = check_strategy(strategy)
    curves = _curves(probs, y)
    colors = [f"C{i}" for i in range(10)]

    if ax is None:
        fig = new_figure((6.0, 7.0), what="reliability_diagram", layout="constrained")
        ax_rel, ax_hist = fig.subplots(
            2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]}, squeeze=True
        )
    else:
        fig, ax_rel, ax_hist = ax.figure, ax, None

    single = len(curves) == 1
    ax_rel.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
    for i, (name, p, lab) in enumerate(curves):
        color = colors[i % len(colors)]
        table = reliability_table(p, lab, n_bins=n_bins, strategy=strategy)
        err = ece(p, lab, n_bins=n_bins, strategy=strategy)
        filled = table.count > 0
        label = f"{name} (ECE={err:.3f}, n={p.size})"
        ax_rel.bar(
            table.lower[filled],
            table.accuracy[filled],
            width=(table.upper - table.lower)[filled],
            align="edge",
            color=color,
            alpha=0.7 if single else 0.3,
            edgecolor=color,
            linewidth=1,
            label=label,
        )
        ax_rel.plot(
            table.mean_confidence[filled],
            table.accuracy[filled],
            marker="o",
            markersize=4,
            color=color,
            linewidth=1.2,
        )
        if ax_hist is not None:
            ax_hist.hist(
                p,
                bins=np.linspace(0.0, 1.0, n_bins + 1),
                histtype="stepfilled" if single else "step",
                alpha=0.7 if single else 1.0,
                color=color,
                linewidth=1.5,
                label=name,
            )
    ax_rel.set_xlim(0.0, 1.0)
    ax_rel.set_ylim(0.0, 1.0)
    ax_rel.set_ylabel("accuracy (fraction correct)")
    ax_rel.set_title(title if title is not None else "Reliability diagram")
    ax_rel.legend(loc="upper left", fontsize="small")
    ax_rel.grid(alpha=0.3)
    if ax_hist is not None:
        ax_hist.set_xlabel("confidence: predicted P(correct)")
        ax_hist.set_ylabel("count")
        ax_hist.grid(alpha=0.3)
    else:
        ax_rel.set_xlabel("confidence: predicted P(correct)")

    if path is not None:
        save_figure(fig, path)
    return fig
