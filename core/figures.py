"""Figures for reports: matplotlib imported lazily, drawn off-screen on the Agg canvas.

No pyplot and no global backend change, so plotting from a server thread or a notebook
leaves the caller's matplotlib set-up alone. matplotlib is an optional dependency
(``pip install 'howsure[eval]'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["INSTALL_HINT", "new_figure", "save_figure"]

INSTALL_HINT = "pip install 'howsure[eval]'"
"""How to install matplotlib for the plots."""


def new_figure(figsize: tuple[float, float], *, what: str, layout: str | None = None) -> Any:
    """A matplotlib ``Figure`` on its own Agg canvas.

    Parameters
    ----------
    figsize : (float, float)
        Width and height in inches.
    what : str
        What needs the figure, for the install hint (``"plot_sweep"``).
    layout : str, optional
        matplotlib's layout engine, e.g. ``"constrained"``.

    Raises
    ------
    ImportError
        matplotlib is missing, with the install hint.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"{what} needs matplotlib; install it with: {INSTALL_HINT}") from exc
    fig = Figure(figsize=figsize, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Any, path: str | Path, *, dpi: int = 110) -> Path:
    """Write ``fig`` as a PNG to ``path`` (parent folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = getattr(fig, "figure", None) or fig  # a SubFigure saves through its root
    root.savefig(path, format="png", dpi=dpi)
    return path
