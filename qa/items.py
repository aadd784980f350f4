"""Questions with gold answers: the row schema, splits and validation.

Schema of one row (JSON Lines, JSON list, CSV or Parquet; see :mod:`howsure.qa.files`):

``question`` : str, required, non-empty
``answers`` : list of str, required, at least one usable gold answer (aliases allowed):
    one with letters or digits in any script (``"---"`` is not one). In JSON and
    Parquet a list; in CSV, several answers are separated by ``|``. (``answer`` is
    accepted as the column name too.)
``id`` : str, optional (default: ``"<file stem>-<row number>"``)
``topic`` : str, optional (default ``"unknown"``)
``difficulty`` : str, optional (default ``"unknown"``)
``split`` : ``"train" | "calibration" | "test"``, optional (default: assigned from a hash of
    the question text, so the same question always lands in the same split).
``source`` : str, optional: the QA set the row comes from; required by the grouped
    (leave-one-source-out) commands and in a mixture (see :mod:`howsure.qa.mix`).

A **code task** has ``tests`` instead of ``answers``: Python source (plain ``assert``
lines, or HumanEval's ``def check(candidate)`` with ``entry_point``) that must parse;
``entry_point`` : str, optional, the function the tests call. The answer is right when
the code it gives passes the tests, run in a sandbox (:mod:`howsure.coding`); the item
keeps them as its one gold, marked (:func:`code_gold`, :func:`code_tests`).
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from howsure.qa.judge import normalize_answer

__all__ = [
    "CODE_MARK",
    "SPLITS",
    "SPLIT_FRACTIONS",
    "NoGoldError",
    "QAItem",
    "Split",
    "assign_split",
    "code_gold",
    "code_tests",
    "dataset_fingerprint",
    "interleave_topics",
    "item_from_row",
    "question_hash",
    "select_split",
]

Split = Literal["train", "calibration", "test", "all"]
SPLITS: tuple[str, ...] = ("train", "calibration", "test")
SPLIT_FRACTIONS: dict[str, float] = {"train": 0.5, "calibration": 0.25, "test": 0.25}


@dataclass(frozen=True)
class QAItem:
    """One question with its gold answers.

    Attributes
    ----------
    id : str
        Unique within its dataset.
    question : str
        The question as asked (without any answer-format instruction).
    answers : tuple of str
        Gold answer and aliases; any of them counts as correct.
    topic, difficulty : str
        Free-form tags used for per-topic reports.
    split : str
        ``"train"``, ``"calibration"`` or ``"test"``.
    source : str or None
        The QA set the row comes from (``"triviaqa"``, ``"builtin"``...), the unit that
        grouped cross-validation and leave-one-source-out reports hold out; ``None``
        when the file has no ``source`` column.
    origin : str or None
        Where the row came from (``"data.jsonl row 17"``), for error messages; not part
        of the item's identity (equality, fingerprints, saved records).
    """

    id: str
    question: str
    answers: tuple[str, ...]
    topic: str = "unknown"
    difficulty: str = "unknown"
    split: str = field(default="train")
    source: str | None = None
    origin: str | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "question": self.question,
            "answers": list(self.answers),
            "topic": self.topic,
            "difficulty": self.difficulty,
            "split": self.split,
            **({"source": self.source} if self.source is not None else {}),
        }

    def describe(self) -> str:
        """``"'q17' (data.jsonl row 17)"``: the item as error messages name it."""
        return f"{self.id!r} ({self.origin})" if self.origin else repr(self.id)


class NoGoldError(ValueError):
    """A row whose answers hold no usable gold answer (none with letters or digits).

    Attributes
    ----------
    row_id : str
        The row's id (given, or ``"<file stem>-<row number>"``).
    """

    def __init__(self, message: str, row_id: str) -> None:
        super().__init__(message)
        self.row_id = row_id


CODE_MARK = "# howsure code tests"
"""The first line of a code task's gold: ``# howsure code tests`` (and ``entry_point=``)."""


def code_gold(tests: str, *, entry_point: str | None = None, where: str = "code task") -> str:
    """A code task's tests as the item's one gold answer (marked, see :func:`code_tests`).

    Raises
    ------
    ValueError
        Empty tests, tests that do not parse, or an entry point that is not a name; the
        message names ``where`` (the task).
    """
    if not isinstance(tests, str) or not tests.strip():
        raise ValueError(
            f"{where}: no tests ({tests!r}); a code task needs 'tests', Python source "
            "with assert lines that call its function"
        )
    try:
        ast.parse(tests)
    except SyntaxError as err:
        raise ValueError(
            f"{where}: its tests do not parse: SyntaxError: {err.msg} (line {err.lineno} of "
            "the tests); fix the tests"
        ) from None
    if entry_point is not None and not str(entry_point).isidentifier():
        raise ValueError(
            f"{where}: entry_point {entry_point!r} is not a Python name; give the name of "
            "the function the tests call"
        )
    head = CODE_MARK + (f" entry_point={entry_point}" if entry_point else "")
    return f"{head}\n{tests}"


def code_tests(item: QAItem | Sequence[str]) -> tuple[str, str | None] | None:
    """``(tests, entry_point)`` of a code task (an item, or its golds), or ``None`` for a
    question with gold answers."""
    golds = item.answers if isinstance(item, QAItem) else item
    gold = golds[0] if golds else ""
    if not gold.startswith(CODE_MARK):
        return None
    head, _, tests = gold.partition("\n")
    entry = head[len(CODE_MARK) :].strip().removeprefix("entry_point=") or None
    return tests, entry


def question_hash(question: str) -> float:
    """A number in ``[0, 1)`` from a sha256 of the normalised (lowercased,
    whitespace-collapsed) question text; the same on every machine and run."""
    key = " ".join(question.lower().split()).encode("utf-8")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2.0**64


def assign_split(question: str, *, among: Sequence[str] = SPLITS) -> str:
    """Deterministic split of a question from a hash of its normalised text.

    The same question text always gets the same split, on every machine and run,
    so splits never share a question.

    Parameters
    ----------
    question : str
    among : sequence of str, default all of ``SPLITS``
        Choose only among these splits, with their ``SPLIT_FRACTIONS`` renormalised
        (used when several of our splits share one source split).
    """
    unknown = [s for s in among if s not in SPLITS]
    if unknown or not among:
        raise ValueError(f"among must be a non-empty subset of {SPLITS}, got {tuple(among)!r}")
    h = question_hash(question)
    total = sum(SPLIT_FRACTIONS[name] for name in among)
    edge = 0.0
    for name in among:
        edge += SPLIT_FRACTIONS[name] / total
        if h < edge:
            return name
    return among[-1]


def _source_of(row: dict) -> str | None:
    value = row.get("source")
    if value is None or (isinstance(value, float) and value != value):  # CSV/Parquet NaN
        return None
    return str(value).strip() or None


def item_from_row(row: dict, *, index: int, source: str) -> QAItem:
    """Validate one raw row and turn it into a :class:`QAItem`.

    Raises
    ------
    NoGoldError
        (a ``ValueError``) The row's answers hold no usable gold answer: none with
        letters or digits (``[]``, ``["---"]``). Callers may leave such rows out.
    ValueError
        Any other problem, naming the row (``source`` row ``index``, 1-based) and what to
        fix: no question, no ``answers`` field, an unknown split.
    """
    where = f"{source} row {index}"
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected an object with 'question' and 'answers', got {row!r}")
    question = row.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError(
            f"{where}: empty or missing 'question' ({question!r}); every row needs question text"
        )
    answers = row.get("answers", row.get("answer"))
    if answers is None and row.get("tests") is not None:
        entry = row.get("entry_point")
        answers = [code_gold(row["tests"], entry_point=entry or None, where=where)]
    elif isinstance(answers, str):
        answers = [a for a in answers.split("|")]
    if answers is None:
        raise ValueError(
            f"{where} ({question!r}): missing 'answers' (got None); "
            "give a list of at least one gold answer (or 'tests' for a code task)"
        )
    if not isinstance(answers, (list, tuple)):
        raise ValueError(
            f"{where} ({question!r}): 'answers' must be a list of gold answers ('|'-separated "
            f"in CSV), got {type(answers).__name__} {answers!r}"
        )
    clean = tuple(str(a).strip() for a in answers if a is not None and str(a).strip())
    row_id = str(row.get("id") or f"{Path(source).stem}-{index}")
    if not any(normalize_answer(a) for a in clean):
        raise NoGoldError(
            f"{where} ({question!r}): 'answers' has no usable gold answer ({answers!r}): "
            "none has letters or digits; give at least one, or drop the row",
            row_id,
        )
    split = row.get("split") or assign_split(question)
    if split not in SPLITS:
        raise ValueError(f"{where}: unknown split {split!r}; use one of {SPLITS}")
    return QAItem(
        id=row_id,
        question=question.strip(),
        answers=clean,
        topic=str(row.get("topic") or "unknown"),
        difficulty=str(row.get("difficulty") or "unknown"),
        split=split,
        source=_source_of(row),
        origin=where,
    )


def select_split(items: Sequence[QAItem], split: Split) -> list[QAItem]:
    """Keep the items of one split (``"all"`` keeps everything)."""
    if split == "all":
        return list(items)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {(*SPLITS, 'all')}")
    return [it for it in items if it.split == split]


def interleave_topics(items: Sequence[QAItem]) -> list[QAItem]:
    """Reorder items round-robin over topics (topics in order of first appearance),
    e.g. ``a b c a b c a ...``; within a topic, by a hash of the id (a fixed shuffle, so
    that a prefix is not just the easy items a file may list first)."""
    by_topic: dict[str, list[QAItem]] = {}
    for it in sorted(items, key=lambda it: hashlib.sha256(it.id.encode()).digest()):
        by_topic.setdefault(it.topic, []).append(it)
    first_seen = {t: i for i, t in reversed(list(enumerate(it.topic for it in items)))}
    by_topic = dict(sorted(by_topic.items(), key=lambda kv: first_seen[kv[0]]))
    out: list[QAItem] = []
    queues = list(by_topic.values())
    for i in range(max(len(q) for q in queues)):
        out += [q[i] for q in queues if i < len(q)]
    return out


def dataset_fingerprint(items: Sequence[QAItem], *, golds: bool = True) -> str:
    """Short sha256 over the ids, questions and answers of ``items`` (order matters).

    With ``golds=False`` the gold answers are left out: what the model generates and
    which activations it has depend on the questions alone, so caches of generations key
    this, and a corrected gold answer only re-labels what is cached.
    """
    h = hashlib.sha256()
    for it in items:
        row = [it.id, it.question, list(it.answers)] if golds else [it.id, it.question]
        h.update(json.dumps(row).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()[:16]
