"""The Batch tab: many questions at once, answered with their confidences, as a table and CSV.

Questions come pasted (one a line, gold answers after a tab or ``|``) or uploaded as a
file that :func:`howsure.core.rows.read_rows` reads (CSV, JSON Lines, JSON, Parquet: the
same reader as the QA datasets).
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from howsure.core.rows import TABLE_SUFFIXES, read_rows
from howsure.plugin.generation import percent
from howsure.qa.judge import label

__all__ = ["MAX_BATCH", "BatchResult", "answer_batch", "display_rows", "parse_batch"]

MAX_BATCH = 500
"""Most questions one batch request answers."""


@dataclass(frozen=True)
class BatchResult:
    """Answers to a batch of questions (see :meth:`howsure.demo.Demo.batch`).

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
        A ``.csv``, ``.jsonl``, ``.json`` or ``.parquet`` file with a ``question`` column
        and optionally ``answers`` (or ``answer``; a list, or several separated by ``|``).

    Returns
    -------
    list of (question, gold answers)
        Text lines first, then file rows.

    Raises
    ------
    ValueError
        No questions, more than :data:`MAX_BATCH`, an unknown file type, a file that
        cannot be read (naming the row) or lacks a ``question`` column.
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


def _check_columns(name: str, columns: Sequence[str]) -> None:
    if "question" not in columns:
        raise ValueError(
            f"{name} has columns {list(columns)}; expected 'question' and optionally "
            "'answers' (several separated by |)"
        )


def _read_batch_file(path: Path) -> list[tuple[str, list[str]]]:
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise ValueError(f"{path.name}: upload a .csv, .jsonl, .json or .parquet file")
    rows = read_rows(path, check_columns=lambda cols: _check_columns(path.name, cols))
    out = []
    for index, row in rows:
        q = row.get("question") if isinstance(row, Mapping) else None
        if not isinstance(q, str) or not q.strip():
            raise ValueError(f"{path.name} row {index}: no 'question' text in {row!r}")
        out.append((q.strip(), _split_golds(row.get("answers", row.get("answer")))))
    return out


def answer_batch(
    generator: Any,
    items: Sequence[tuple[str, list[str]]],
    *,
    max_new_tokens: int | None,
    folder: Path,
) -> BatchResult:
    """Answer ``items`` with a ConfidentModel (with or without a detector) and tabulate.

    Parameters
    ----------
    generator : ConfidentModel
        Answers in batches of 8 (``confidence`` is None without a detector).
    items : sequence of (question, gold answers)
        From :func:`parse_batch`.
    max_new_tokens : int or None
        Answer length limit (None: the detector's).
    folder : Path
        Where the CSV file goes (one file per request: two sessions never share a
        download).
    """
    gens = generator.generate_batch(
        [q for q, _ in items], batch_size=8, max_new_tokens=max_new_tokens
    )
    confs = [None if g.confidence is None else round(float(g.confidence), 4) for g in gens]
    with_gold = any(golds for _, golds in items)
    columns = ["question", "answer", "confidence"] + (["gold", "correct"] if with_gold else [])
    rows: list[list] = []
    right: list[bool] = []
    for (q, golds), g, c in zip(items, gens, confs, strict=True):
        row: list = [q, g.answer, c]
        if with_gold:
            ok: bool | None = None
            if golds:
                try:
                    ok = bool(label(g.answer, golds))
                except ValueError:  # gold answers without letters or digits
                    ok = None
            if ok is not None:
                right.append(ok)
            row += [" | ".join(golds), ok]
        rows.append(row)
    fd, name = tempfile.mkstemp(
        prefix=f"howsure-batch-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".csv", dir=folder
    )
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


def display_rows(res: BatchResult) -> list[list]:
    """The batch table as shown: confidence in whole percent, correctness as ✓ / ✗."""
    out = []
    for row in res.rows:
        shown = list(row)
        shown[2] = "" if row[2] is None else f"{percent(row[2])}%"
        if len(row) == 5:
            shown[4] = {True: "✓", False: "✗", None: ""}[row[4]]
        out.append(shown)
    return out
