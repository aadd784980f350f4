"""The "How good is this number?" tab: the detector's saved report, read leniently."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from howsure.demo.render import esc
from howsure.demo.saved import detector_plots, saved_metrics
from howsure.eval.report import IMAGE_FILES
from howsure.eval.tables import Table

if TYPE_CHECKING:
    from howsure.plugin.detector import Detector

__all__ = ["KEY_METRICS", "REPORT_IMAGES", "ReportView", "load_report"]

REPORT_IMAGES: tuple[tuple[str, str], ...] = tuple(
    zip(
        IMAGE_FILES,
        (
            "Reliability diagram: stated confidence against the actual accuracy "
            "(on the diagonal = calibrated)",
            "ROC curves: the detector against the baselines",
            "Risk-coverage: the error rate of the answers kept when the least sure ones abstain",
            "Confidence of right and wrong answers",
            "Layer sweep: cross-validated AUROC per layer and position",
        ),
        strict=True,
    )
)
"""The report's image files (written by ``howsure train`` / ``howsure eval``) and captions."""

KEY_METRICS: tuple[tuple[str, str], ...] = (("auroc", "AUROC"), ("ece", "ECE"), ("brier", "Brier"))


@dataclass(frozen=True)
class ReportView:
    """What the "how good is this number" tab shows (see :func:`load_report`).

    Attributes
    ----------
    markdown : str
        Notes, key metrics and the methods table.
    images : list of (Path, str)
        The report's images that exist, with captions, in :data:`REPORT_IMAGES` order.
    html : Path or None
        ``report.html`` when it exists.
    metrics : dict or None
        The parsed ``metrics.json`` (or the detector's own metrics in the same shape).
    found : bool
        True when ``metrics.json`` was found and read.
    """

    markdown: str
    images: list[tuple[Path, str]]
    html: Path | None
    metrics: dict | None
    found: bool


def _fmt(value: Any, *, pct: bool = False) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return "n/a"
    return f"{value:.1%}" if pct else f"{value:.3f}"


def _with_ci(m: Mapping, key: str) -> str:
    ci = (m.get("ci95") or {}).get(key)
    text = _fmt(m.get(key))
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and text != "n/a":
        text += f" [{_fmt(ci[0])}, {_fmt(ci[1])}]"
    return text


def _methods_table(methods: Mapping[str, Mapping], own: str | None) -> str:
    """Markdown table of the key metrics (tolerant of missing values: "n/a")."""
    headers = ["method", *(f"{label} (95% CI)" for _, label in KEY_METRICS)]
    order = sorted(methods, key=lambda n: (n != own, n != "probe", n != "probe_last_prompt"))
    rows = [
        [
            f"**{esc(name)}** (this detector)" if name == own else esc(name),
            *(_with_ci(methods[name], k) for k, _ in KEY_METRICS),
        ]
        for name in order
        if isinstance(methods[name], Mapping)
    ]
    return Table(headers, rows).markdown()


def _key_line(m: Mapping, *, n: Any, accuracy: Any) -> str:
    parts = [f"**{label} {_fmt(m.get(key))}**" for key, label in KEY_METRICS]
    if _fmt(accuracy) != "n/a":  # a detector's own saved metrics have none
        parts.append(f"**accuracy {_fmt(accuracy, pct=True)}**")
    parts.append(f"**n {n if isinstance(n, int) else 'n/a'}**")
    return " · ".join(parts)


_EXPLAIN = (
    "*AUROC*: how well the number tells right answers from wrong ones (0.5 = chance, "
    "1 = perfect). *ECE*: the average gap between the stated confidence and the actual "
    "accuracy (0 = calibrated). *Brier*: mean squared error of the confidence against "
    "right (1) / wrong (0); lower is better. *accuracy*: how often the model was right; "
    "*n*: answers scored."
)


def _own_method(methods: Mapping, detector_folder: Path | None) -> str | None:
    """The methods-table row of the loaded detector (``howsure train`` saves the prompt
    detector as ``detector-prompt``, scored as ``probe_last_prompt``)."""
    names = [k for k, v in methods.items() if isinstance(v, Mapping)]
    if detector_folder is not None and detector_folder.name == "detector-prompt":
        if "probe_last_prompt" in names:
            return "probe_last_prompt"
    if "probe" in names:
        return "probe"
    return names[0] if names else None


def _detector_line(written_for: Any, loaded: Path | None) -> list[str]:
    """Which detector the report is about: the one loaded, and the one the report names
    when that is another path (a folder moved, or a report of another run)."""
    if loaded is None:
        return ["", f"Report for the detector `{written_for}`."] if written_for else []
    line = f"Report for the detector `{loaded}`"
    if written_for and not _same_path(str(written_for), loaded):
        line += f" (the report names `{written_for}`: the folder moved, or another run)"
    return ["", line + "."]


def _same_path(a: str, b: Path) -> bool:
    try:
        return Path(a).resolve() == b.resolve()
    except OSError:  # pragma: no cover - unreadable paths
        return a == str(b)


def load_report(
    folder: str | Path | None,
    *,
    detector: Detector | None = None,
    detector_folder: str | Path | None = None,
    plot_dir: str | Path | None = None,
) -> ReportView:
    """Read a report folder for the "how good is this number" tab.

    Parameters
    ----------
    folder : str or Path, optional
        Where ``howsure train --out`` / ``howsure eval --out`` wrote ``metrics.json`` and
        the images (:data:`REPORT_IMAGES`, ``report.html``). ``None``: no report.
    detector : Detector, optional
        Its own metrics (``detector.info["metrics"]``, saved by ``howsure train``) are
        shown when ``metrics.json`` is missing.
    detector_folder : str or Path, optional
        The detector's folder: ``detector-prompt`` marks ``probe_last_prompt`` as this
        detector's row, otherwise ``probe``.
    plot_dir : str or Path, optional
        Without a saved report, the detector's own report is shown: where its plots
        (reliability diagram and histogram of its stored calibration scores) are drawn.
        ``None``: numbers only.

    Returns
    -------
    ReportView
        Never raises for missing or unreadable files: the markdown says what is missing.
    """
    folder = None if folder is None else Path(folder)
    det_folder = None if detector_folder is None else Path(detector_folder)
    notes: list[str] = []
    metrics: dict | None = None
    if folder is not None and (folder / "metrics.json").is_file():
        try:
            metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
            if not isinstance(metrics, dict) or not isinstance(metrics.get("methods"), dict):
                raise ValueError("no 'methods' object")
        except (ValueError, UnicodeDecodeError) as err:
            notes.append(f"could not read {folder / 'metrics.json'} ({err}).")
            metrics = None
    found = metrics is not None
    about: list[str] = []  # the detector's own report: said plainly, not as a warning
    drawn: list[tuple[Path, str]] = []
    make = "run `howsure eval --out DIR` (or `howsure train`) to make one, and pass `--report DIR`"
    if not found and (metrics := saved_metrics(detector)) is not None:
        drawn = detector_plots(detector, plot_dir) if plot_dir is not None else []
        plots = ", the plots from its stored calibration scores" if drawn else ""
        about.append(f"Showing the held-out metrics saved with the detector{plots}.")
        if folder is not None:
            about.append(f"No saved report found at {folder}; {make} (with baselines, ROC).")
    elif not found:
        where = "no report folder given" if folder is None else f"at {folder}"
        notes.append(f"No saved report found {where}; {make}.")
        if detector is None:
            notes.append("No detector is loaded, so there are no metrics to show.")
        else:
            notes.append("The detector has no saved metrics either.")
    lines: list[str] = []
    if notes:
        lines += [f'<div class="howsure-note">{esc(" ".join(notes))}</div>', ""]
    if about:
        lines += [esc(" ".join(about)), ""]
    if metrics is not None:
        methods = metrics["methods"]
        own = _own_method(methods, det_folder)
        where = f"dataset `{metrics['dataset']}`, " if metrics.get("dataset") else ""
        split = metrics.get("split") or "test"
        lines += [
            f"### On the held-out {split} split ({where}n = {metrics.get('n', 'n/a')})"
            if split != "all"
            else f"### On every row of the dataset ({where}n = {metrics.get('n', 'n/a')})",
            "",
        ]
        if own is not None:
            lines += [_key_line(methods[own], n=metrics.get("n"), accuracy=metrics.get("accuracy"))]
            lines += [""]
        lines += [_methods_table(methods, own), "", _EXPLAIN]
        lines += _detector_line(metrics.get("detector"), det_folder)
    images: list[tuple[Path, str]] = list(drawn)
    missing: list[str] = []
    for name, caption in REPORT_IMAGES:
        path = None if folder is None else folder / name
        if path is not None and path.is_file():
            images.append((path, caption))
        else:
            missing.append(name)
    if folder is not None and missing and found:
        lines += ["", f"Not found in {folder}: {', '.join(missing)}."]
    report_html = None if folder is None else folder / "report.html"
    return ReportView(
        markdown="\n".join(lines),
        images=images,
        html=report_html if report_html is not None and report_html.is_file() else None,
        metrics=metrics,
        found=found,
    )
