"""A web demo: chat with a model that says how sure it is (``howsure demo``).

::

    import howsure
    from howsure.demo import build_app, launch

    model, tokenizer = howsure.load_model()
    app = build_app(model, tokenizer, detector="howsure-out/train/detector")
    launch(app, port=7860)  # http://127.0.0.1:7860

The page (a `Gradio <https://www.gradio.app>`_ app; ``pip install 'howsure[demo]'``)
has three tabs:

Chat
    Multi-turn chat: each question is answered in the context of the conversation so
    far (the detector's instruction is appended to it, as ``howsure chat`` does). The
    answer streams in with a confidence badge, red below 50%, amber below 80%, green
    otherwise, and the line "The model is N% sure.". A slider sets the abstention
    threshold: answers below it are replaced by "I'm not sure." or flagged
    (:func:`howsure.wrap`'s ``abstain_below`` and ``abstain_mode``).
How good is this number?
    The detector's saved report (:func:`load_report`): key metrics (AUROC, ECE, Brier,
    accuracy, n) against the baselines, and the report's images (reliability diagram,
    ROC, risk-coverage, histogram, layer sweep) that exist.
Batch
    Questions pasted one per line (optionally followed by gold answers after a tab or
    ``|``) or uploaded as CSV / JSONL (:func:`parse_batch`): a table of answers,
    confidences and, with gold answers, correctness, downloadable as CSV.

Without a detector, or with one fitted on another model, the page says so and the
model still chats, without a confidence.

Generation is serialised (one at a time: Gradio's queue with a concurrency limit of 1
shared by the chat and batch events, and a lock), so other sessions wait in the queue
while the page stays responsive. Gradio is imported lazily, with analytics off, no
share link, no server-side rendering and no MCP server: the demo never reaches the
network.
"""

from __future__ import annotations

import copy
import csv
import html
import io
import json
import math
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import warnings
import weakref
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from howsure.eval.report import IMAGE_FILES
from howsure.eval.tables import Table
from howsure.plugin.detector import Detector
from howsure.plugin.wrapper import (
    ConfidentGeneration,
    ConfidentModel,
    percent,
    stop_flag_criteria,
    wrap,
)
from howsure.probes.prompts import DEFAULT_INSTRUCTION, question_messages, render_chat

if TYPE_CHECKING:
    import gradio as gr

__all__ = [
    "INSTALL_HINT",
    "LEVELS",
    "MAX_BATCH",
    "REPORT_IMAGES",
    "BatchResult",
    "Demo",
    "Reply",
    "ReportView",
    "badge",
    "build_app",
    "check_port",
    "launch",
    "level",
    "load_report",
    "parse_batch",
]

INSTALL_HINT = "pip install 'howsure[demo]'"
"""How to install the demo's dependency (Gradio)."""

AbstainMode = Literal["replace", "flag"]
Level = Literal["low", "medium", "high"]

LEVELS: tuple[tuple[float, Level, str], ...] = (
    (0.5, "low", "#b91c1c"),  # red below 50%
    (0.8, "medium", "#b45309"),  # amber below 80%
    (math.inf, "high", "#15803d"),  # green otherwise
)
"""``(upper bound, level, colour)``: a confidence below the bound gets that level."""

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

MAX_BATCH = 500
"""Most questions one batch request answers."""

_CSS = """
.howsure-badge {border-radius: 999px; padding: 1px 9px; color: #fff; font-weight: 700;}
.howsure-note {border-left: 4px solid #b45309; padding: 4px 10px; background: #fef3c7;
  color: #3b2f10;}
"""
_MARK = "\x1ehowsure:{confidence}\x1f"
_MARK_RE = re.compile("\x1ehowsure:([^\x1f]*)\x1f")
_PENDING = '<span class="howsure-pending">…</span>'


def _esc(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` (the chat renders Markdown with HTML)."""
    return html.escape(text, quote=False)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]!|#])")


def _esc_md(text: str) -> str:
    """Model or user text shown as itself: HTML-escaped and Markdown-escaped, so an answer
    like ``![x](http://...)`` cannot make the page fetch anything."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _esc(text))


def _gradio() -> Any:
    """Import gradio with its analytics off, or raise ImportError with the install hint."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        import gradio
    except ImportError as err:
        raise ImportError(f"the demo needs gradio: {INSTALL_HINT}") from err
    return gradio


# -- confidence display ----------------------------------------------------------------
def level(confidence: float) -> Level:
    """``"low"`` below 0.5, ``"medium"`` below 0.8, else ``"high"``."""
    for bound, name, _ in LEVELS:
        if confidence < bound:
            return name
    return "high"  # nan


def badge(confidence: float | None) -> str:
    """HTML badge with the confidence in whole percent, coloured by :func:`level`.

    ``None`` gives a grey "no confidence" badge.
    """
    if confidence is None:
        return (
            '<span class="howsure-badge howsure-none" style="background:#6b7280;'
            'color:#fff;border-radius:999px;padding:1px 9px">no confidence</span>'
        )
    name = level(confidence)
    colour = {n: c for _, n, c in LEVELS}[name]
    return (
        f'<span class="howsure-badge howsure-{name}" data-confidence="{confidence:.6f}" '
        f'style="background:{colour};color:#fff;border-radius:999px;padding:1px 9px;'
        f'font-weight:700">{percent(confidence)}%</span>'
    )


@dataclass(frozen=True)
class Reply:
    """One state of a streamed chat reply (see :meth:`Demo.respond`).

    Attributes
    ----------
    markdown : str
        The reply as shown in the chat (Markdown with an HTML badge).
    done : bool
        True for the last state, after generation ended.
    answer : str
        The model's answer so far (the whole answer when done, also when replaced).
    confidence : float or None
        Calibrated P(answer correct) once known; ``None`` before, or without a detector.
    abstained, flagged : bool
        Below the threshold, in ``"replace"`` / ``"flag"`` mode (when done).
    conversation : list of dict
        The model's context after this turn (when done): the messages given, plus this
        question and the answer when there was one.
    error : str or None
        Why the question was not answered (e.g. the conversation outgrew the context).
    """

    markdown: str
    done: bool = False
    answer: str = ""
    confidence: float | None = None
    abstained: bool = False
    flagged: bool = False
    conversation: list[dict] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class BatchResult:
    """Answers to a batch of questions (see :meth:`Demo.batch`).

    Attributes
    ----------
    columns : list of str
        ``question``, ``answer``, ``confidence`` and, when gold answers were given,
        ``gold`` (joined by ``|``) and ``correct``.
    rows : list of list
        One row per question; ``confidence`` is a float rounded to 4 decimals (``None``
        without a detector), ``correct`` True/False (``None`` for a question without
        gold answers).
    csv_path : Path
        The table as a CSV file.
    summary : str
        One Markdown line: how many, mean confidence, accuracy where gold was given.
    """

    columns: list[str]
    rows: list[list]
    csv_path: Path
    summary: str


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


# -- the report tab ----------------------------------------------------------------------
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
            f"**{_esc(name)}** (this detector)" if name == own else _esc(name),
            *(_with_ci(methods[name], k) for k, _ in KEY_METRICS),
        ]
        for name in order
        if isinstance(methods[name], Mapping)
    ]
    return Table(headers, rows).markdown()


def _key_line(m: Mapping, *, n: Any, accuracy: Any) -> str:
    parts = [f"**{label} {_fmt(m.get(key))}**" for key, label in KEY_METRICS]
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


def load_report(
    folder: str | Path | None,
    *,
    detector: Detector | None = None,
    detector_folder: str | Path | None = None,
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
    if not found:
        where = "no report folder given" if folder is None else f"at {folder}"
        notes.append(
            f"No saved report found {where}; run `howsure eval --out DIR` (or "
            "`howsure train`) to make one, and pass `--report DIR`."
        )
        saved = (detector.info.get("metrics") if detector is not None else None) or {}
        test = saved.get("test") if isinstance(saved, Mapping) else None
        if isinstance(test, Mapping):
            notes.append("Showing the held-out metrics saved with the detector.")
            metrics = {
                "n": saved.get("n_test"),
                "accuracy": test.get("accuracy", float("nan")),
                "methods": {"probe": dict(test)},
            }
        elif detector is None:
            notes.append("No detector is loaded, so there are no metrics to show.")
        else:
            notes.append("The detector has no saved metrics either.")
    lines: list[str] = []
    if notes:
        lines += [f'<div class="howsure-note">{_esc(" ".join(notes))}</div>', ""]
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
        if metrics.get("detector"):
            lines += ["", f"Report for the detector `{metrics['detector']}`."]
    images: list[tuple[Path, str]] = []
    missing: list[str] = []
    for name, caption in REPORT_IMAGES:
        path = None if folder is None else folder / name
        if path is not None and path.is_file():
            images.append((path, caption))
        else:
            missing.append(name)
    if folder is not None and missing:
        lines += ["", f"Not found in {folder}: {', '.join(missing)}."]
    report_html = None if folder is None else folder / "report.html"
    return ReportView(
        markdown="\n".join(lines),
        images=images,
        html=report_html if report_html is not None and report_html.is_file() else None,
        metrics=metrics,
        found=found,
    )


# -- batch input ---------------------------------------------------------------------------
def _split_golds(text: Any) -> list[str]:
    if text is None:
        return []
    if isinstance(text, (list, tuple)):
        return [str(a).strip() for a in text if a is not None and str(a).strip()]
    return [a.strip() for a in str(text).split("|") if a.strip()]


def parse_batch(
    text: str | None = None, file: str | Path | None = None
) -> list[tuple[str, list[str]]]:
    """Questions and optional gold answers from pasted text and/or an uploaded file.

    Parameters
    ----------
    text : str, optional
        One question per line; gold answers may follow after a tab or ``|``, several
        separated by ``|`` (``What is the currency of Japan? | yen | Japanese yen``).
        Blank lines are skipped.
    file : str or Path, optional
        A ``.csv`` file with a ``question`` column and optionally ``answers`` (or
        ``answer``; several separated by ``|``), or a ``.jsonl`` / ``.json`` file of
        objects with ``question`` and optionally ``answers`` (a list or a str).

    Returns
    -------
    list of (question, gold answers)
        Text lines first, then file rows.

    Raises
    ------
    ValueError
        No questions, more than :data:`MAX_BATCH`, an unknown file type, a file that
        cannot be read or lacks a ``question`` column.
    """
    out: list[tuple[str, list[str]]] = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        question, *golds = re.split(r"\t|\|", line)
        if not question.strip():
            raise ValueError(f"line {line!r} has no question before the separator")
        out.append((question.strip(), _split_golds(golds)))
    if file is not None:
        out += _read_batch_file(Path(file))
    if not out:
        raise ValueError(
            "no questions: paste one per line (gold answers may follow after a tab or |), "
            "or upload a CSV / JSONL file with a 'question' column"
        )
    if len(out) > MAX_BATCH:
        raise ValueError(f"{len(out)} questions; the demo answers at most {MAX_BATCH} at once")
    return out


def _read_batch_file(path: Path) -> list[tuple[str, list[str]]]:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson", ".json"):
        raise ValueError(f"{path.name}: upload a .csv, .jsonl or .json file")
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read {path.name}: {err}") from err
    rows: list[Any]
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(raw))
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if "question" not in fields:
            raise ValueError(
                f"{path.name} has columns {reader.fieldnames}; expected 'question' and "
                "optionally 'answers' (several separated by |)"
            )
        rows = [{(k or "").strip().lower(): v for k, v in r.items()} for r in reader]
    elif suffix in (".jsonl", ".ndjson"):
        try:
            rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
        except json.JSONDecodeError as err:
            raise ValueError(f"{path.name} is not valid JSON Lines: {err}") from err
    else:  # .json
        try:
            rows = json.loads(raw)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path.name} is not valid JSON: {err}") from err
        if not isinstance(rows, list):
            raise ValueError(f"{path.name} must hold a list of objects with 'question'")
    out = []
    for i, row in enumerate(rows):
        q = row.get("question") if isinstance(row, Mapping) else None
        if not isinstance(q, str) or not q.strip():
            raise ValueError(f"{path.name} row {i + 1}: no 'question' text in {row!r}")
        out.append((q.strip(), _split_golds(row.get("answers", row.get("answer")))))
    return out


# -- the demo's state and callbacks ------------------------------------------------------
class _PlainChat:
    """Greedy chat without a detector (no confidence): the same prompts, no hook."""

    def __init__(self, model: Any, tokenizer: Any, *, max_new_tokens: int) -> None:
        self.model, self.tokenizer, self.max_new_tokens = model, tokenizer, max_new_tokens

    def _ids(self, messages: Sequence[Mapping], n_new: int) -> Any:
        from howsure.probes.activations import check_length, model_device

        text = render_chat(self.tokenizer, [dict(m) for m in messages])
        enc = self.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        check_length(self.model, self.tokenizer, [enc["input_ids"].shape[1]], n_new)
        return {k: v.to(model_device(self.model)) for k, v in enc.items()}

    def stream(self, messages: Sequence[Mapping], *, max_new_tokens: int | None) -> Any:
        import torch
        from transformers import TextIteratorStreamer

        n_new = max_new_tokens or self.max_new_tokens
        enc = self._ids(messages, n_new)
        streamer = TextIteratorStreamer(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600
        )
        pad = self.tokenizer.pad_token_id
        errors: list[BaseException] = []
        stop = threading.Event()  # set when the page stops listening: generation ends

        def work() -> None:
            try:
                with torch.inference_mode():
                    self.model.generate(
                        **enc,
                        max_new_tokens=n_new,
                        do_sample=False,
                        pad_token_id=pad,
                        streamer=streamer,
                        stopping_criteria=stop_flag_criteria(stop),
                    )
            except BaseException as err:  # re-raised in the consumer
                errors.append(err)
                streamer.end()

        def pieces() -> Generator[str, None, None]:
            thread = threading.Thread(target=work, name="howsure-demo-plain", daemon=True)
            thread.start()
            try:
                yield from streamer
            finally:
                stop.set()
                thread.join()
            if errors:
                raise errors[0]

        return pieces()


class Demo:
    """The demo's state and callbacks, independent of the page; :func:`build_app` shows it.

    Parameters
    ----------
    chat_or_model : ConfidentModel or transformers causal LM
        A wrapped model (from :func:`howsure.wrap`), or a model to wrap with
        ``tokenizer`` and ``detector``.
    tokenizer : transformers tokenizer, optional
        Required with a model; leave it out with a ConfidentModel.
    detector : Detector, or str or Path of a detector folder, optional
        With a model: the detector to wrap it with. When it is missing, cannot be
        loaded or does not fit the model, the demo chats without a confidence and
        :attr:`note` (shown in the page, and warned) says why.
    report : str or Path, optional
        Report folder for the "how good" tab. Default: the parent folder of the detector
        folder (where ``howsure train --out OUT`` writes it), else none.
    max_new_tokens : int, optional
        Answer length limit. Default: the detector's (what it was trained with), else 32.
    abstain_below : float in [0, 1], optional
        The slider's starting threshold. Default: the ConfidentModel's threshold, else 0
        (never abstain).

    Attributes
    ----------
    chat : ConfidentModel or None
        None when there is no usable detector.
    model, tokenizer
    note : str or None
        Why there is no confidence (None when there is one).
    report_folder : Path or None
    report : ReportView
    threshold : float
        The slider's starting threshold in [0, 1].
    lock : threading.Lock
        Held while the model generates: one generation at a time.

    Raises
    ------
    TypeError
        A wrong-typed model, tokenizer or detector (as :func:`howsure.wrap`).
    ValueError
        A bad ``max_new_tokens`` or ``abstain_below``.
    """

    def __init__(
        self,
        chat_or_model: ConfidentModel | Any,
        tokenizer: Any = None,
        *,
        detector: Detector | str | Path | None = None,
        report: str | Path | None = None,
        max_new_tokens: int | None = None,
        abstain_below: float | None = None,
    ) -> None:
        if max_new_tokens is not None and (
            isinstance(max_new_tokens, bool)
            or not isinstance(max_new_tokens, int)
            or max_new_tokens < 1
        ):
            raise ValueError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}")
        if abstain_below is not None and (
            isinstance(abstain_below, bool)
            or not isinstance(abstain_below, (int, float))
            or not 0 <= abstain_below <= 1
        ):
            raise ValueError(
                f"abstain_below must be a probability in [0, 1] (e.g. 0.5), got {abstain_below!r}"
            )
        self.note: str | None = None
        self.chat: ConfidentModel | None = None
        det_folder: Path | None = None
        if isinstance(chat_or_model, ConfidentModel):
            if tokenizer is not None or detector is not None:
                raise TypeError(
                    "a ConfidentModel brings its own tokenizer and detector: pass it alone, "
                    "or pass model, tokenizer and detector="
                )
            self.chat = chat_or_model
            self.model, self.tokenizer = chat_or_model.model, chat_or_model.tokenizer
        else:
            self.model, self.tokenizer = chat_or_model, tokenizer
            if isinstance(detector, (str, Path)):
                det_folder = Path(detector)
            if detector is None:
                self.note = (
                    "No detector loaded: the model answers without a confidence. Train one "
                    "with `howsure train` and pass it with `--detector DIR`."
                )
            else:
                try:
                    self.chat = wrap(chat_or_model, tokenizer, detector)
                except ValueError as err:
                    self.note = (
                        f"The detector could not be used: {err}. The model answers without "
                        "a confidence."
                    )
            if self.note is not None:
                import torch

                if not isinstance(chat_or_model, torch.nn.Module) or not hasattr(
                    chat_or_model, "generate"
                ):
                    raise TypeError(
                        "model must be a transformers causal LM (with .generate), got "
                        f"{type(chat_or_model).__name__}"
                    )
                if tokenizer is None or not callable(tokenizer):
                    raise TypeError(f"tokenizer must be the model's tokenizer, got {tokenizer!r}")
                warnings.warn(self.note, UserWarning, stacklevel=2)
        if self.chat is not None:
            base = self.chat.threshold
        else:
            base = None
        self.threshold = float(abstain_below if abstain_below is not None else (base or 0.0))
        self.max_new_tokens = max_new_tokens
        self.instruction = (
            self.chat.detector.reader.instruction if self.chat is not None else DEFAULT_INSTRUCTION
        )
        self._plain = _PlainChat(self.model, self.tokenizer, max_new_tokens=max_new_tokens or 32)
        if report is not None:
            self.report_folder: Path | None = Path(report)
        else:
            self.report_folder = det_folder.parent if det_folder is not None else None
        self.report = load_report(
            self.report_folder,
            detector=self.chat.detector if self.chat is not None else None,
            detector_folder=det_folder,
        )
        self.lock = threading.Lock()
        self._tmp = Path(tempfile.mkdtemp(prefix="howsure-demo-"))  # batch CSV files
        weakref.finalize(self, shutil.rmtree, self._tmp, ignore_errors=True)

    # -- chat ------------------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        return str(getattr(getattr(self.model, "config", None), "name_or_path", "model"))

    def header(self) -> str:
        """One Markdown line about the model and detector (and the note, if any)."""
        text = f"**Model:** `{self.model_name}`"
        if self.chat is not None:
            r = self.chat.detector.reader
            text += f" · **detector:** layer {r.layer}, {r.position}"
        if self.note:
            text += f'\n\n<div class="howsure-note">⚠ {_esc(self.note)}</div>'
        return text

    def _chat_for(self, threshold: float, mode: AbstainMode) -> ConfidentModel:
        """A shallow copy of the wrapped model with this request's abstention settings and
        a machine-readable prefix (the page renders its own)."""
        if self.chat is None:
            raise RuntimeError("no detector: there is no ConfidentModel to configure")
        chat = copy.copy(self.chat)
        chat.threshold = threshold if threshold > 0 else None
        chat.abstain_mode = mode
        chat.template = _MARK
        return chat

    def _render(
        self,
        answer: str,
        *,
        confidence: float | None,
        done: bool,
        threshold: float,
        abstained: bool = False,
        flagged: bool = False,
    ) -> str:
        if self.chat is None and confidence is not None:
            raise RuntimeError("a confidence without a detector")
        body = _esc_md(answer) if answer else ("*(empty answer)*" if done else "")
        if self.chat is None:
            line = f"{badge(None)} no detector loaded" if done else _PENDING
            return f"{body}\n\n{line}" if body else line
        if confidence is None:  # answer positions: the confidence comes at the end
            return f"{body}\n\n{_PENDING} *reading the confidence…*" if body else _PENDING
        line = f"{badge(confidence)} {_esc(self.chat.prefix(confidence))}"
        if abstained:
            body = (
                f"{_esc(self.chat.abstain_message)}\n\n*(the answer is withheld: the "
                f"confidence is below your {percent(threshold)}% threshold)*"
            )
        elif flagged:
            line += f" ⚠ *below your {percent(threshold)}% threshold: double-check this answer*"
        if not done:
            body = (body + " " + _PENDING) if body else _PENDING
        return f"{line}\n\n{body}"

    def respond(
        self,
        message: str,
        conversation: Sequence[Mapping] = (),
        *,
        threshold: float = 0.0,
        mode: AbstainMode = "replace",
    ) -> Generator[Reply, None, None]:
        """Stream the reply to ``message`` in the context of ``conversation``.

        Parameters
        ----------
        message : str
            The user's question; the detector's instruction is appended.
        conversation : list of dict
            The model's context so far (``Reply.conversation`` of the previous turn).
        threshold : float in [0, 1], default 0
            Answers whose confidence is below it abstain (0: never).
        mode : {"replace", "flag"}, default "replace"
            Replace a low-confidence answer by "I'm not sure." or keep and flag it.

        Yields
        ------
        Reply
            Growing states of the reply; the last has ``done=True``. Generation holds
            :attr:`lock`.

        Raises
        ------
        ValueError
            An empty message, a threshold outside [0, 1], an unknown mode.
        """
        if not isinstance(message, str) or not message.strip():
            raise ValueError("type a question first")
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not 0 <= threshold <= 1
        ):
            raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
        if mode not in ("replace", "flag"):
            raise ValueError(f"mode must be 'replace' or 'flag', got {mode!r}")
        history = [dict(m) for m in conversation]
        user = question_messages(message.strip(), instruction=self.instruction)[0]
        messages = [*history, user]
        threshold = float(threshold)
        with self.lock:
            yield Reply(markdown=f"{_PENDING} *thinking…*", conversation=history)
            try:
                if self.chat is None:
                    pieces = self._plain.stream(messages, max_new_tokens=self.max_new_tokens)
                else:
                    pieces = self._chat_for(threshold, mode).stream(
                        messages, max_new_tokens=self.max_new_tokens
                    )
            except ValueError as err:  # e.g. the conversation outgrew the context
                yield Reply(
                    markdown=f"⚠ {_esc(str(err))}. Press *New conversation* to start over.",
                    done=True,
                    conversation=history,
                    error=str(err),
                )
                return
            text = ""
            result: ConfidentGeneration | None = None
            try:
                while True:
                    try:
                        text += next(pieces)
                    except StopIteration as stop:
                        result = stop.value
                        break
                    match = _MARK_RE.search(text)
                    conf = float(match.group(1)) if match else None
                    shown = _MARK_RE.sub("", text).strip()
                    if conf is not None and conf < threshold and mode == "replace":
                        shown = ""  # abstaining: the answer is generated, not shown
                    yield Reply(
                        markdown=self._render(
                            shown, confidence=conf, done=False, threshold=threshold
                        ),
                        answer=shown,
                        confidence=conf,
                        conversation=history,
                    )
            finally:
                pieces.close()  # stops generation when the page went away
        if result is None:  # no detector
            result_answer, conf, abstained, flagged = text.strip(), None, False, False
        else:
            result_answer, conf = result.answer, result.confidence
            abstained, flagged = result.abstained, result.flagged
        new = [*history, user, {"role": "assistant", "content": result_answer}]
        yield Reply(
            markdown=self._render(
                result_answer,
                confidence=conf,
                done=True,
                threshold=threshold,
                abstained=abstained,
                flagged=flagged,
            ),
            done=True,
            answer=result_answer,
            confidence=conf,
            abstained=abstained,
            flagged=flagged,
            conversation=new if result_answer else history,
        )

    # -- batch -----------------------------------------------------------------------------
    def batch(self, text: str | None = None, file: str | Path | None = None) -> BatchResult:
        """Answer the questions of :func:`parse_batch` (under :attr:`lock`).

        Returns
        -------
        BatchResult

        Raises
        ------
        ValueError
            Bad input (see :func:`parse_batch`) or a question too long for the context.
        """
        from howsure.probes.labels import label

        items = parse_batch(text, file)
        questions = [q for q, _ in items]
        with self.lock:
            if self.chat is not None:
                gens = self.chat.generate_batch(
                    questions, batch_size=8, max_new_tokens=self.max_new_tokens
                )
                answers = [g.answer for g in gens]
                confs: list[float | None] = [round(float(g.confidence), 4) for g in gens]
            else:
                answers = []
                for q in questions:
                    msgs = question_messages(q, instruction=self.instruction)
                    answers.append("".join(self._plain.stream(msgs, max_new_tokens=None)).strip())
                confs = [None] * len(questions)
        with_gold = any(golds for _, golds in items)
        columns = ["question", "answer", "confidence"] + (["gold", "correct"] if with_gold else [])
        rows: list[list] = []
        right: list[bool] = []
        for (q, golds), a, c in zip(items, answers, confs, strict=True):
            row: list = [q, a, c]
            if with_gold:
                ok: bool | None = None
                if golds:
                    try:
                        ok = bool(label(a, golds))
                    except ValueError:  # gold answers without letters or digits
                        ok = None
                if ok is not None:
                    right.append(ok)
                row += [" | ".join(golds), ok]
            rows.append(row)
        fd, name = tempfile.mkstemp(
            prefix=f"howsure-batch-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".csv", dir=self._tmp
        )  # a file of its own per request: two sessions never share a download
        path = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            writer.writerows([["" if v is None else v for v in r] for r in rows])
        parts = [f"{len(rows)} question{'s' if len(rows) != 1 else ''}"]
        known = [c for c in confs if c is not None]
        if known:
            parts.append(f"mean confidence {np.mean(known):.1%}")
        else:
            parts.append("no confidence (no detector loaded)")
        if right:
            parts.append(f"accuracy {np.mean(right):.1%} on the {len(right)} with gold answers")
        return BatchResult(columns=columns, rows=rows, csv_path=path, summary=" · ".join(parts))


# -- the page ------------------------------------------------------------------------------
def _display_rows(res: BatchResult) -> list[list]:
    """The batch table as shown: confidence in whole percent, correctness as ✓ / ✗."""
    out = []
    for row in res.rows:
        shown = list(row)
        shown[2] = "" if row[2] is None else f"{percent(row[2])}%"
        if len(row) == 5:
            shown[4] = {True: "✓", False: "✗", None: ""}[row[4]]
        out.append(shown)
    return out


_INTRO = (
    "Ask a question: the model answers, and a linear probe on its hidden activations says "
    "how sure it is, read from the same forward pass. "
    '<span style="color:#b91c1c">red</span> below 50%, '
    '<span style="color:#b45309">amber</span> below 80%, '
    '<span style="color:#15803d">green</span> otherwise.'
)


def build_app(
    chat_or_model: ConfidentModel | Any,
    tokenizer: Any = None,
    *,
    detector: Detector | str | Path | None = None,
    report: str | Path | None = None,
    max_new_tokens: int | None = None,
    abstain_below: float | None = None,
    title: str = "howsure: how sure is the model?",
) -> gr.Blocks:
    """Build the demo page (not launched); see :class:`Demo` for the parameters.

    Parameters
    ----------
    chat_or_model, tokenizer, detector, report, max_new_tokens, abstain_below
        As :class:`Demo`.
    title : str
        Page title and heading.

    Returns
    -------
    gradio.Blocks
        With the queue set up (one generation at a time); its :class:`Demo` is
        ``app.howsure_demo``. Start it with :func:`launch`.

    Raises
    ------
    ImportError
        Gradio is not installed (``pip install 'howsure[demo]'``).
    TypeError, ValueError
        As :class:`Demo`.
    """
    gr = _gradio()
    demo = Demo(
        chat_or_model,
        tokenizer,
        detector=detector,
        report=report,
        max_new_tokens=max_new_tokens,
        abstain_below=abstain_below,
    )
    with gr.Blocks(title=title, analytics_enabled=False) as app:
        gr.Markdown(f"# {_esc(title)}")
        gr.Markdown(demo.header(), elem_id="howsure-header")
        with gr.Tab("Chat", id="chat"):
            gr.Markdown(_INTRO)
            chatbot = gr.Chatbot(
                label="Conversation",
                elem_id="howsure-chat",
                height="62vh",
                min_height=360,
                feedback_options=None,
                group_consecutive_messages=False,
                buttons=["copy", "copy_all"],
            )
            with gr.Row():
                question = gr.Textbox(
                    placeholder="Ask a question, e.g. What is the capital of Peru?",
                    show_label=False,
                    scale=5,
                    elem_id="howsure-question",
                    autofocus=True,
                )
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="howsure-ask")
            with gr.Row():
                slider = gr.Slider(
                    0,
                    100,
                    value=round(demo.threshold * 100),
                    step=1,
                    label="Abstain below (% confidence; 0 = never)",
                    interactive=demo.chat is not None,
                    elem_id="howsure-threshold",
                )
                mode = gr.Radio(
                    [("say I'm not sure", "replace"), ("flag the answer", "flag")],
                    value="replace",
                    label="Below the threshold",
                    interactive=demo.chat is not None,
                )
                clear = gr.Button("New conversation", scale=0, elem_id="howsure-clear")
            shown = gr.State([])  # what the chat shows: [{"role", "content"}]
            context = gr.State([])  # the model's context: [{"role", "content"}]
            pending = gr.State("")

            def add_user(message: str, shown_: list) -> tuple:
                if not message or not message.strip():
                    return gr.update(), gr.update(), shown_, shown_, ""
                new = [
                    *shown_,
                    {"role": "user", "content": _esc_md(message.strip())},
                    {"role": "assistant", "content": f"{_PENDING} *waiting for the model…*"},
                ]
                # no new question until this one is answered
                locked = gr.update(interactive=False)
                return gr.update(value="", interactive=False), locked, new, new, message.strip()

            def answer(
                message: str, shown_: list, context_: list, pct: float, mode_: str
            ) -> Generator[tuple, None, None]:
                if not message:
                    yield shown_, shown_, context_
                    return
                base = shown_[:-1]
                try:
                    for reply in demo.respond(
                        message, context_, threshold=float(pct) / 100, mode=mode_
                    ):
                        new = [*base, {"role": "assistant", "content": reply.markdown}]
                        yield new, new, reply.conversation
                except ValueError as err:
                    raise gr.Error(str(err)) from err

            submit_args = dict(
                fn=add_user,
                inputs=[question, shown],
                outputs=[question, send, chatbot, shown, pending],
                queue=False,
            )
            answer_args = dict(
                fn=answer,
                inputs=[pending, shown, context, slider, mode],
                outputs=[chatbot, shown, context],
                concurrency_id="howsure-model",
                show_progress="hidden",
            )
            unlock_args = dict(
                fn=lambda: (gr.update(interactive=True), gr.update(interactive=True)),
                inputs=None,
                outputs=[question, send],
                queue=False,
            )
            question.submit(**submit_args).then(**answer_args).then(**unlock_args)
            send.click(**submit_args).then(**answer_args).then(**unlock_args)
            clear.click(lambda: ([], [], []), None, [chatbot, shown, context], queue=False)
            chatbot.clear(lambda: ([], []), None, [shown, context], queue=False)

        with gr.Tab("How good is this number?", id="report"):
            gr.Markdown(demo.report.markdown, elem_id="howsure-report")
            images = demo.report.images
            for start in range(0, len(images), 2):  # two a row
                with gr.Row(equal_height=True):
                    for path, caption in images[start : start + 2]:
                        with gr.Column():
                            gr.Markdown(f"**{caption}**")
                            gr.Image(
                                value=str(path),
                                type="filepath",
                                show_label=False,
                                interactive=False,
                                buttons=["download", "fullscreen"],
                                format="png",
                            )
            if demo.report.html is not None:
                gr.File(value=str(demo.report.html), label="The full report (HTML)")

        with gr.Tab("Batch", id="batch"):
            gr.Markdown(
                "One question per line; gold answers may follow after a tab or `|` (several "
                "separated by `|`) to check correctness. Or upload a CSV with columns "
                "`question` and optionally `answers`, or JSON Lines with the same keys."
            )
            with gr.Row():
                batch_text = gr.Textbox(
                    lines=6,
                    label="Questions",
                    placeholder="What is the capital of Peru? | Lima\nWhat is 2 plus 2?",
                    elem_id="howsure-batch-text",
                    scale=3,
                )
                batch_file = gr.File(
                    label="or upload .csv / .jsonl", file_types=[".csv", ".jsonl", ".json"]
                )
            run = gr.Button("Answer all", variant="primary", elem_id="howsure-batch-run")
            summary = gr.Markdown(elem_id="howsure-batch-summary")
            table = gr.Dataframe(
                label="Answers", interactive=False, wrap=True, elem_id="howsure-batch-table"
            )
            download = gr.DownloadButton("Download CSV", visible=False)

            def run_batch(text: str, file: Any) -> tuple:
                try:
                    res = demo.batch(text, file)
                except ValueError as err:
                    raise gr.Error(str(err)) from err
                import pandas as pd

                frame = pd.DataFrame(_display_rows(res), columns=res.columns)
                widths = ["34%", "38%", "10%", "10%", "8%"] if len(res.columns) == 5 else None
                return (
                    res.summary,
                    gr.update(value=frame, column_widths=widths or ["40%", "45%", "15%"]),
                    gr.update(value=str(res.csv_path), visible=True),
                )

            run.click(
                run_batch,
                [batch_text, batch_file],
                [summary, table, download],
                concurrency_id="howsure-model",
            )
    app.queue(default_concurrency_limit=1)
    app.howsure_demo = demo
    return app


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_port(port: Any) -> int | None:
    """Validate a port: ``None`` (Gradio picks one from 7860), 0 (any free port) or
    1-65535; raises ValueError otherwise."""
    if port is None:
        return None
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer in 0-65535 (0: any free port), got {port!r}")
    return port


def launch(
    app: gr.Blocks,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    block: bool = True,
    quiet: bool = False,
) -> str:
    """Serve the page from :func:`build_app` (locally: no share link, no analytics).

    Parameters
    ----------
    app : gradio.Blocks
    host : str, default "127.0.0.1"
        Address to listen on (``"0.0.0.0"``: every interface).
    port : int, optional
        ``None``: the first free port from 7860; 0: any free port.
    block : bool, default True
        Serve until interrupted (Ctrl-C); False: return once the server is up (call
        ``app.close()`` to stop it).
    quiet : bool, default False
        Do not write the URL to stdout.

    Returns
    -------
    str
        The page's URL.

    Raises
    ------
    ValueError
        A bad port, or one that is taken.
    """
    port = check_port(port)
    if not isinstance(host, str) or not host:
        raise ValueError(f"host must be a non-empty str, got {host!r}")
    if port == 0:
        port = _free_port(host)
    gr = _gradio()
    kwargs: dict[str, Any] = dict(
        server_name=host,
        server_port=port,
        share=False,
        inbrowser=False,
        prevent_thread_lock=True,
        quiet=True,
        show_error=True,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        footer_links=["gradio"],
        css=_CSS,
        theme=gr.themes.Default(),
    )
    try:
        app.launch(**kwargs)
    except OSError as err:  # the port is taken
        raise ValueError(f"cannot listen on {host}:{port}: {err}") from err
    url = app.local_url
    if not quiet:
        sys.stdout.write(f"howsure demo: serving {url}\n")
        sys.stdout.flush()
    if block:
        try:
            app.block_thread()
        finally:
            app.close()
    return url
