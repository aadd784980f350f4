"""Evaluation report: ``metrics.json``, ``report.md`` and a self-contained ``report.html``.

:func:`write_report` turns the result of
:func:`howsure.eval.compare.evaluate_detectors` into a folder::

    metrics.json        the schema of :mod:`howsure.eval.schema`
    report.md           tables + links to the PNGs beside it
    report.html         the same, one file, images inline (base64): mail it, open it offline
    reliability.png     calibrated (and uncalibrated) probe: accuracy per confidence bin
    roc.png             ROC of the probe against every baseline
    risk_coverage.png   error rate of the answers shown against the fraction shown
    histogram.png       scores of right and wrong answers, per method
    sweep.png           the layer sweep the detector was chosen by (when known)

and the report lists the most confident wrong answers and the least confident right
ones: where a user would have been misled.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from howsure.calibration.plots import reliability_diagram
from howsure.eval.compare import margins_table, methods_table, topics_table
from howsure.eval.plots import risk_coverage_plot, roc_curves, score_histograms
from howsure.eval.schema import validate_metrics
from howsure.eval.tables import Table
from howsure.probes.sweep import SweepResult, plot_sweep

__all__ = [
    "IMAGE_FILES",
    "N_EXAMPLES",
    "Block",
    "examples_tables",
    "render_html",
    "render_markdown",
    "write_report",
]

IMAGE_FILES = ("reliability.png", "roc.png", "risk_coverage.png", "histogram.png", "sweep.png")
"""The PNG files a report folder may hold (roc.png needs both classes, sweep.png a sweep)."""

N_EXAMPLES = 10
"""Rows of each of the most-confident-wrong and least-confident-right tables."""

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #ccc;padding:.25em .55em;vertical-align:top}
th{background:#f3f3f3}td.num,th.num{text-align:right;white-space:nowrap}
img{max-width:100%;border:1px solid #eee}.note{color:#555;font-size:.92em}
"""


@dataclass
class Block:
    """One piece of a report: a heading, a paragraph, a table or an image."""

    kind: str  # "h2", "p", "table", "img"
    content: Any
    alt: str = ""


def _short(text: str, n: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def examples_tables(
    collection: Any, scores: np.ndarray, *, k: int = N_EXAMPLES
) -> tuple[Table, Table]:
    """The ``k`` most confident wrong answers and the ``k`` least confident right ones.

    Parameters
    ----------
    collection : Collection
        The ``n`` evaluated answers (questions, answers, gold answers, labels).
    scores : numpy.ndarray, shape (n,)
        The probe's P(correct).
    k : int, default ``N_EXAMPLES``

    Returns
    -------
    (Table, Table)
        Columns: confidence, topic, question, model's answer, gold answers.
    """
    scores = np.asarray(scores, dtype=float)
    y = np.asarray(collection.labels).astype(bool)
    idx = np.arange(len(y))

    def table(rows_idx: np.ndarray) -> Table:
        rows = []
        for i in rows_idx.tolist():
            it = collection.items[i]
            golds = list(it.answers)
            gold = "; ".join(golds[:3]) + (f" (+{len(golds) - 3})" if len(golds) > 3 else "")
            rows.append(
                [
                    f"{scores[i]:.1%}",
                    it.topic or "-",
                    _short(it.question),
                    _short(collection.answers[i], 60) or "(empty)",
                    _short(gold, 60),
                ]
            )
        return Table(["confidence", "topic", "question", "answer", "gold"], rows, align="rllll")

    wrong = idx[~y][np.argsort(-scores[~y], kind="stable")][:k]
    right = idx[y][np.argsort(scores[y], kind="stable")][:k]
    return table(wrong), table(right)


def _floor_notes(metrics: Mapping[str, Any], detectors: Sequence[str]) -> list[Block]:
    """One line per detector: its ECE against what perfect calibration would show."""
    out = []
    for name in detectors:
        row = metrics["methods"].get(name, {})
        floor = row.get("ece_noise_floor")
        if floor:
            lo, hi = floor["ci95"]
            out.append(
                Block(
                    "p",
                    f"ECE noise floor ({name}): a perfectly calibrated detector with the same "
                    f"confidences would show ECE {floor['mean']:.3f} (95% of draws in "
                    f"[{lo:.3f}, {hi:.3f}]) on these {metrics['n']} answers; {name}'s ECE is "
                    f"{row['ece']:.3f}.",
                )
            )
    return out


def _img_md(block: Block) -> str:
    return f"![{block.alt}]({block.content})"


def render_markdown(title: str, blocks: Sequence[Block]) -> str:
    """The report as Markdown; images are links to the PNG files beside it."""
    parts = [f"# {title}"]
    for b in blocks:
        if b.kind == "h2":
            parts.append(f"## {b.content}")
        elif b.kind == "p":
            parts.append(str(b.content))
        elif b.kind == "table":
            parts.append(b.content.markdown())
        elif b.kind == "img":
            parts.append(_img_md(b))
    return "\n\n".join(parts) + "\n"


def render_html(title: str, blocks: Sequence[Block], folder: Path) -> str:
    """The report as one HTML file; images are embedded as base64 ``data:`` URIs."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for b in blocks:
        if b.kind == "h2":
            parts.append(f"<h2>{html.escape(str(b.content))}</h2>")
        elif b.kind == "p":
            parts.append(f"<p>{html.escape(str(b.content))}</p>")
        elif b.kind == "table":
            parts.append(b.content.html())
        elif b.kind == "img":
            data = base64.b64encode((folder / b.content).read_bytes()).decode("ascii")
            src = f"data:image/png;base64,{data}"
            parts.append(f'<p><img alt="{html.escape(b.alt)}" src="{src}"></p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(
    out: str | Path,
    *,
    metrics: Mapping[str, Any],
    scores: Mapping[str, np.ndarray],
    collection: Any,
    detectors: Sequence[str] = ("probe",),
    uncalibrated: np.ndarray | None = None,
    sweep: SweepResult | Mapping[str, Any] | None = None,
    title: str = "howsure evaluation report",
    summary: Sequence[str] = (),
    n_examples: int = N_EXAMPLES,
) -> list[Path]:
    """Write the report folder (see the module docstring).

    Parameters
    ----------
    out : str or Path
        The folder (created).
    metrics : mapping
        :func:`howsure.eval.compare.evaluate_detectors`'s result without ``scores``, with
        ``detector`` set: it is validated against :mod:`howsure.eval.schema` and written
        as ``metrics.json``.
    scores : mapping of method name to numpy.ndarray of shape (n,)
        Every method's scores on the ``n`` answers (the ``scores`` that
        ``evaluate_detectors`` returned).
    collection : Collection
        The ``n`` answers (for the labels and the example tables).
    detectors : sequence of str, default ("probe",)
        Which methods are howsure detectors; the first is "the probe" of the reliability
        diagram and example tables.
    uncalibrated : numpy.ndarray of shape (n,), optional
        The first detector's probe score before calibration, drawn beside it.
    sweep : SweepResult or its dict, optional
        The layer sweep that chose the detector (``Detector.info["sweep"]``).
    title : str
    summary : sequence of str
        Lines for the top of the report (model, detector, dataset).
    n_examples : int, default ``N_EXAMPLES``

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ValueError
        ``metrics`` does not follow the schema, or ``scores`` does not match the labels.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    validate_metrics(metrics, methods=detectors)
    y = np.asarray(collection.labels).astype(int)
    main = detectors[0]
    written = [out / "metrics.json"]
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")

    rel = {f"{main}, calibrated": scores[main]}
    if uncalibrated is not None:
        rel = {f"{main}, uncalibrated": np.asarray(uncalibrated, dtype=float), **rel}
    reliability_diagram(
        rel, y, path=out / "reliability.png", title=f"Reliability (n={len(y)}, 15 bins)"
    )
    written.append(out / "reliability.png")
    both = 0 < y.sum() < len(y)
    if both:
        written.append(roc_curves(scores, y, out / "roc.png"))
    written.append(risk_coverage_plot(scores, y, out / "risk_coverage.png"))
    written.append(score_histograms(scores, y, out / "histogram.png"))
    if sweep is not None:
        sweep = sweep if isinstance(sweep, SweepResult) else SweepResult.from_dict(sweep)
        written.append(plot_sweep(sweep, out / "sweep.png"))

    wrong, right = examples_tables(collection, scores[main], k=n_examples)
    methods = list(metrics["methods"])
    blocks: list[Block] = [Block("p", line) for line in summary]
    blocks += [
        Block("h2", f"{main} against the baselines (95% bootstrap intervals)"),
        Block("table", methods_table(metrics["methods"])),
        Block(
            "p",
            "Scores are P(answer correct), higher = surer. AUROC: how well a score separates "
            "right from wrong answers (0.5 = chance). AUROC within topic: the same inside each "
            "topic, averaged by size; a probe that only knows which topic is easy scores high "
            "overall and low here. ECE: mean gap between confidence and accuracy (lower is "
            "better; the baselines are not calibrated). AURC: area under the risk–coverage "
            "curve (lower is better). PRR: share of the oracle's AURC gain (1 = oracle). "
            "Forward passes: the cost per question, the answer's own generation counted as 1.",
        ),
        *_floor_notes(metrics, detectors),
        Block("h2", "Reliability"),
        Block("img", "reliability.png", "reliability diagram"),
    ]
    if both:
        blocks += [Block("h2", "ROC curves"), Block("img", "roc.png", "ROC curves")]
    blocks += [
        Block("h2", "Risk–coverage"),
        Block("img", "risk_coverage.png", "risk-coverage curves"),
        Block("h2", "Scores of right and wrong answers"),
        Block("img", "histogram.png", "score histograms"),
    ]
    if sweep is not None:
        blocks += [
            Block("h2", "Layer sweep (cross-validated on the training split)"),
            Block("img", "sweep.png", "layer sweep"),
        ]
    if metrics.get("topics"):
        blocks += [
            Block("h2", "AUROC within each topic"),
            Block("table", topics_table(metrics["topics"], methods)),
        ]
    if metrics.get("topic_margins"):
        blocks += [
            Block("p", f"{main} against each topic's best baseline (paired bootstrap):"),
            Block("table", margins_table(metrics["topic_margins"], method=main)),
        ]
    blocks += [
        Block("h2", f"Most confident wrong answers ({main})"),
        Block("table", wrong),
        Block("h2", f"Least confident right answers ({main})"),
        Block("table", right),
    ]
    (out / "report.md").write_text(render_markdown(title, blocks), encoding="utf-8")
    (out / "report.html").write_text(render_html(title, blocks, out), encoding="utf-8")
    return [*written, out / "report.md", out / "report.html"]
