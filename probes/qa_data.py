"""Question-answer data: the built-in set, local files and named Hugging Face Hub sets.

Schema of one row (JSON Lines, JSON list, CSV or Parquet):

``question`` : str, required, non-empty
``answers`` : list of str, required, at least one non-empty gold answer (aliases allowed).
    In JSON and Parquet a list; in CSV, several answers are separated by ``|``.
    (``answer`` is accepted as the column name too.)
``id`` : str, optional (default: ``"<file stem>-<row number>"``)
``topic`` : str, optional (default ``"unknown"``)
``difficulty`` : str, optional (default ``"unknown"``)
``split`` : ``"train" | "calibration" | "test"``, optional (default: assigned from a hash of
    the question text, so the same question always lands in the same split).

Named hub datasets (``"triviaqa"``, ``"nq_open"``, ``"sciq"``, ``"popqa"``,
``"truthfulqa"``) are mapped to this schema by :mod:`howsure.probes.hub_data`.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

Split = Literal["train", "calibration", "test", "all"]
SPLITS: tuple[str, ...] = ("train", "calibration", "test")
SPLIT_FRACTIONS: dict[str, float] = {"train": 0.5, "calibration": 0.25, "test": 0.25}
BUILTIN_NAME = "builtin"
BUILTIN_FILE = "builtin_qa.jsonl"
FILE_SUFFIXES: tuple[str, ...] = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")
EXPECTED_SCHEMA = (
    "expected columns 'question' (str) and 'answers' (list of gold answers; "
    "'|'-separated in CSV; 'answer' also accepted), optional 'id', 'topic', "
    "'difficulty', 'split'"
)
EVAL_INSTALL_HINT = "pip install 'howsure[eval]'"


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
    """

    id: str
    question: str
    answers: tuple[str, ...]
    topic: str = "unknown"
    difficulty: str = "unknown"
    split: str = field(default="train")

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "question": self.question,
            "answers": list(self.answers),
            "topic": self.topic,
            "difficulty": self.difficulty,
            "split": self.split,
        }


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


def item_from_row(row: dict, *, index: int, source: str) -> QAItem:
    """Validate one raw row and turn it into a :class:`QAItem`.

    Raises ``ValueError`` naming the row (``source`` line/row ``index``, 1-based) and
    what to fix.
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
    if isinstance(answers, str):
        answers = [a for a in answers.split("|")]
    if not isinstance(answers, (list, tuple)):
        raise ValueError(
            f"{where} ({question!r}): missing 'answers' (got {answers!r}); "
            "give a list of at least one gold answer"
        )
    clean = tuple(str(a).strip() for a in answers if a is not None and str(a).strip())
    if not clean:
        raise ValueError(
            f"{where} ({question!r}): 'answers' has no non-empty gold answer ({answers!r}); "
            "give at least one, or drop the row"
        )
    split = row.get("split") or assign_split(question)
    if split not in SPLITS:
        raise ValueError(f"{where}: unknown split {split!r}; use one of {SPLITS}")
    return QAItem(
        id=str(row.get("id") or f"{Path(source).stem}-{index}"),
        question=question.strip(),
        answers=clean,
        topic=str(row.get("topic") or "unknown"),
        difficulty=str(row.get("difficulty") or "unknown"),
        split=split,
    )


def check_columns(columns: Iterable[str], *, source: str) -> None:
    """Raise ``ValueError`` up front when a table lacks the ``question`` column or an
    ``answers``/``answer`` column, naming the columns found and the expected schema."""
    found = list(columns)
    if "question" in found and ("answers" in found or "answer" in found):
        return
    raise ValueError(
        f"{source}: wrong columns {found!r}; {EXPECTED_SCHEMA} (see howsure.probes.qa_data)"
    )


def _iter_jsonl(path: Path) -> Iterable[Any]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path} line {n}: not valid JSON ({err.msg})") from err


def _read_parquet(path: Path) -> tuple[list[str], list[dict]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"reading {str(path)!r} needs pyarrow; install it with {EVAL_INSTALL_HINT}"
        ) from err
    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises ArrowInvalid and friends
        raise ValueError(f"{path}: not a readable Parquet file ({err})") from err
    return list(table.column_names), table.to_pylist()


def _read_rows(path: Path) -> Iterable[Any]:
    """Rows of a local file, after checking its columns (the CSV header, the Parquet
    schema, or the keys of the first JSON row)."""
    suffix = path.suffix.lower()
    source = str(path)
    if suffix in (".jsonl", ".ndjson", ".json"):
        if suffix == ".json":
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}: not valid JSON ({err.msg})") from err
            if not isinstance(data, list):
                raise ValueError(f"{path}: expected a JSON list of rows, got {type(data).__name__}")
            rows: Iterable[Any] = data
        else:
            rows = _iter_jsonl(path)
        first = True
        for row in rows:
            if first and isinstance(row, dict):
                check_columns(row.keys(), source=source)
            first = False
            yield row
    elif suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is not None:
                check_columns(reader.fieldnames, source=source)
            yield from reader
    elif suffix == ".parquet":
        columns, table_rows = _read_parquet(path)
        check_columns(columns, source=source)
        yield from table_rows
    else:
        raise ValueError(
            f"unsupported dataset file {source!r}: use one of {FILE_SUFFIXES} "
            "(columns 'question' and 'answers')"
        )


def load_items(path: str | Path) -> list[QAItem]:
    """Read and validate every row of a local dataset file.

    Parameters
    ----------
    path : str or Path
        A ``.jsonl``, ``.json``, ``.csv`` or ``.parquet`` file following the module's
        schema. Parquet needs ``pyarrow`` (``pip install 'howsure[eval]'``).

    Returns
    -------
    list of QAItem
        All rows, in file order.

    Raises
    ------
    ValueError
        For a missing file, an unsupported suffix, wrong columns (checked on the header,
        schema or first row, before any row), an invalid row, or duplicate ids.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"dataset file {str(path)!r} does not exist")
    items = [
        item_from_row(row, index=i, source=str(path)) for i, row in enumerate(_read_rows(path), 1)
    ]
    if not items:
        raise ValueError(f"dataset file {str(path)!r} has no rows")
    seen: dict[str, int] = {}
    for i, it in enumerate(items, 1):
        if it.id in seen:
            raise ValueError(f"{path} row {i}: duplicate id {it.id!r} (also row {seen[it.id]})")
        seen[it.id] = i
    return items


def builtin_path() -> Path:
    """Path of the shipped built-in QA file."""
    return Path(str(resources.files("howsure.probes").joinpath("data", BUILTIN_FILE)))


def select_split(items: Sequence[QAItem], split: Split) -> list[QAItem]:
    """Keep the items of one split (``"all"`` keeps everything)."""
    if split == "all":
        return list(items)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {(*SPLITS, 'all')}")
    return [it for it in items if it.split == split]


def load_qa(
    dataset: str | Path = BUILTIN_NAME, *, split: Split = "all", limit: int | None = None
) -> list[QAItem]:
    """Load a QA dataset.

    Parameters
    ----------
    dataset : str or Path, default ``"builtin"``
        ``"builtin"`` for the shipped set; a named Hugging Face Hub set
        (``"triviaqa"``, ``"nq_open"``, ``"sciq"``, ``"popqa"``, ``"truthfulqa"``; see
        :data:`howsure.probes.hub_data.HUB_DATASETS`; needs ``datasets`` and network access
        or a cached copy); or a local ``.jsonl``/``.json``/``.csv``/``.parquet`` file.
        An existing file wins over a hub name.
    split : {"train", "calibration", "test", "all"}, default "all"
        For hub sets, our splits map onto the hub's (see ``HubSpec.splits``).
    limit : int, optional
        Keep ``limit`` items of the split, taken round-robin over topics and in a fixed
        pseudo-random order (a hash of the id) within each topic, so a small sample
        covers every topic and every difficulty. Deterministic.

    Returns
    -------
    list of QAItem
    """
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
    from howsure.probes.hub_data import HUB_DATASETS, load_hub

    name = str(dataset)
    if name == BUILTIN_NAME:
        items = select_split(load_items(builtin_path()), split)
    elif Path(dataset).exists():
        items = select_split(load_items(Path(dataset)), split)
    elif name in HUB_DATASETS:
        items = load_hub(name, split=split)
    else:
        known = ", ".join(repr(n) for n in (BUILTIN_NAME, *HUB_DATASETS))
        raise ValueError(
            f"unknown dataset {name!r}: not a known name and no such file; "
            f"use one of {known}, or the path of a local "
            f"{'/'.join(FILE_SUFFIXES)} file"
        )
    if not items:
        raise ValueError(f"dataset {str(dataset)!r} has no rows in split {split!r}")
    return interleave_topics(items)[:limit] if limit is not None else items


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
