"""QA sets in local files, and the built-in set shipped with howsure.

Files are read by :func:`howsure.core.rows.read_rows` (JSON Lines, a JSON list, CSV or
Parquet; UTF-8); every row is validated (:func:`howsure.qa.items.item_from_row`) before
anything else happens, so a bad row costs seconds, not a run.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Literal

from howsure.core.rows import TABLE_SUFFIXES, read_rows
from howsure.qa.items import NoGoldError, QAItem, item_from_row

__all__ = [
    "BUILTIN_FILE",
    "BUILTIN_NAME",
    "CODE_NAME",
    "EXPECTED_SCHEMA",
    "FILE_SUFFIXES",
    "HUMANEVAL_NAME",
    "MIX_FILE",
    "MIX_NAME",
    "NoGold",
    "builtin_path",
    "check_columns",
    "check_sources",
    "code_path",
    "humaneval_path",
    "load_items",
    "mix_path",
]

BUILTIN_NAME = "builtin"
BUILTIN_FILE = "builtin_qa.jsonl"
MIX_NAME = "mix"
CODE_NAME = "code"
HUMANEVAL_NAME = "humaneval"
CODE_FILE = "code_tasks.jsonl"
HUMANEVAL_FILE = "humaneval.jsonl"
MIX_FILE = "mix.jsonl"
FILE_SUFFIXES: tuple[str, ...] = TABLE_SUFFIXES
EXPECTED_SCHEMA = (
    "expected columns 'question' (str) and 'answers' (list of gold answers; "
    "'|'-separated in CSV; 'answer' also accepted), optional 'id', 'topic', "
    "'difficulty', 'split'; a code task has 'tests' (and optional 'entry_point') instead of "
    "'answers'"
)
NoGold = Literal["error", "skip"]
"""What to do with rows that have no usable gold answer: refuse the file, or leave them
out (with a warning naming them)."""


def check_columns(columns: Iterable[str], *, source: str) -> None:
    """Raise ``ValueError`` up front when a table lacks the ``question`` column or an
    ``answers``/``answer`` (or a code task's ``tests``) column, naming the columns found
    and the expected schema."""
    found = list(columns)
    if "question" in found and ("answers" in found or "answer" in found or "tests" in found):
        return
    raise ValueError(f"{source}: wrong columns {found!r}; {EXPECTED_SCHEMA} (see howsure.qa.items)")


def _ids(ids: list[str], k: int = 8) -> str:
    shown = ", ".join(repr(i) for i in ids[:k])
    return shown + (f" and {len(ids) - k} more" if len(ids) > k else "")


def load_items(path: str | Path, *, on_no_gold: NoGold = "error") -> list[QAItem]:
    """Read and validate every row of a local dataset file.

    Parameters
    ----------
    path : str or Path
        A ``.jsonl``, ``.json``, ``.csv`` or ``.parquet`` file following the schema of
        :mod:`howsure.qa.items`. Parquet needs ``pyarrow`` (``pip install 'howsure[eval]'``).
    on_no_gold : {"error", "skip"}, default "error"
        Rows whose answers hold no usable gold answer (none with letters or digits, e.g.
        ``"---"``): ``"error"`` refuses the file naming every such row; ``"skip"`` leaves
        them out with a warning that counts and names them.

    Returns
    -------
    list of QAItem
        The rows, in file order (``origin`` names each row).

    Raises
    ------
    ValueError
        For a missing file, an unsupported suffix, bytes that are not UTF-8, wrong
        columns (checked on the header, schema or first row, before any row), an invalid
        row, rows without a usable gold answer (with ``on_no_gold="error"``), or
        duplicate ids.
    """
    if on_no_gold not in ("error", "skip"):
        raise ValueError(f"on_no_gold must be 'error' or 'skip'; got {on_no_gold!r}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"dataset file {str(path)!r} does not exist")
    source = str(path)
    rows = read_rows(path, check_columns=lambda cols: check_columns(cols, source=source))
    items: list[QAItem] = []
    no_gold: list[NoGoldError] = []
    for index, row in rows:
        try:
            items.append(item_from_row(row, index=index, source=source))
        except NoGoldError as err:
            no_gold.append(err)
    if no_gold:
        ids = _ids([e.row_id for e in no_gold])
        what = f"{len(no_gold)} of {len(rows)} rows of {source} have no usable gold answer"
        if on_no_gold == "error":
            raise ValueError(
                f"{what} (ids {ids}; first: {no_gold[0]}). Fix them, or leave them out with "
                "--skip-no-gold (on_no_gold='skip')"
            )
        warnings.warn(f"{what}; left out: {ids}", UserWarning, stacklevel=2)
    if not items:
        raise ValueError(f"dataset file {source!r} has no rows")
    seen: dict[str, str] = {}
    for it in items:
        if it.id in seen:
            raise ValueError(f"{it.origin}: duplicate id {it.id!r} (also {seen[it.id]})")
        seen[it.id] = str(it.origin)
    return items


def builtin_path() -> Path:
    """Path of the shipped built-in QA file."""
    return Path(str(resources.files("howsure.qa").joinpath("data", BUILTIN_FILE)))


def code_path() -> Path:
    """Path of the shipped code tasks (``--dataset code``; built by
    :mod:`howsure.coding.builder`: written functions and debugging tasks)."""
    return Path(str(resources.files("howsure.coding").joinpath("data", CODE_FILE)))


def humaneval_path() -> Path:
    """Path of the shipped HumanEval tasks (``--dataset humaneval``; MIT, see
    ``coding/data/README.md``)."""
    return Path(str(resources.files("howsure.coding").joinpath("data", HUMANEVAL_FILE)))


def mix_path() -> Path:
    """Path of the shipped training mixture (built-in set + samples of four public sets)."""
    return Path(str(resources.files("howsure.qa").joinpath("data", MIX_FILE)))


def check_sources(items: Iterable[QAItem], *, what: str = "a mixture") -> None:
    """Raise ``ValueError`` when a row has no ``source``, naming the rows and the fix.

    Grouped cross-validation and leave-one-source-out reports hold out whole sources, so
    in a mixture every row needs one.
    """
    missing = [it for it in items if not it.source]
    if missing:
        named = ", ".join(it.describe() for it in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise ValueError(
            f"{len(missing)} rows of {what} have no 'source' ({named}{more}); give every "
            "row a 'source' column naming the QA set it comes from (e.g. \"triviaqa\")"
        )
