"""Rows of a local table file: JSON Lines, a JSON list, CSV or Parquet.

One reader for every file howsure reads rows from (QA datasets, the demo's batch
uploads), so they accept the same formats and fail the same way: an error names the
file, the row (and line) and the fix, before any expensive work starts.

* Text files are UTF-8 (a byte-order mark is skipped); other bytes are an error naming
  the line and how to convert the file.
* CSV header names are stripped and lower-cased (``" Question"`` reads as ``question``);
  each data row is a dict of str.
* Parquet needs ``pyarrow`` (``pip install 'howsure[eval]'``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["TABLE_SUFFIXES", "read_rows"]

TABLE_SUFFIXES: tuple[str, ...] = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")
"""File suffixes :func:`read_rows` reads."""

PARQUET_HINT = "pip install 'howsure[eval]'"

ColumnCheck = Callable[[Sequence[str]], None]
"""Called with the column names (CSV header, Parquet schema, keys of the first JSON row)
before any row is returned; raises ``ValueError`` when a needed one is missing."""


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        row = ""
        if path.suffix.lower() == ".csv":  # the data row: records before it, header excluded
            head = data[: data.rfind(b"\n", 0, err.start) + 1].decode("utf-8-sig")
            row = f"row {sum(1 for _ in csv.reader(io.StringIO(head)))}, "
        elif path.suffix.lower() in (".jsonl", ".ndjson"):
            before = data[: data.rfind(b"\n", 0, err.start) + 1].splitlines()
            row = f"row {sum(1 for x in before if x.strip()) + 1}, "
        raise ValueError(
            f"{path}: {row}line {line} is not UTF-8 (byte {data[err.start]:#04x} at offset "
            f"{err.start}). Save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 "
            f"{path.name} > fixed{path.suffix}`, or 'CSV UTF-8' in a spreadsheet"
        ) from None


def _jsonl(path: Path, text: str) -> list[tuple[int, Any]]:
    out = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((len(out) + 1, json.loads(line)))
        except json.JSONDecodeError as err:
            raise ValueError(
                f"{path} row {len(out) + 1} (line {line_no}): not valid JSON Lines ({err.msg}); "
                "each line must be one JSON object"
            ) from err
    return out


def _json(path: Path, text: str) -> list[tuple[int, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg}, line {err.lineno})") from err
    if not isinstance(data, list):
        raise ValueError(
            f"{path}: expected a JSON list of rows, got {type(data).__name__}; "
            "or write one JSON object per line (.jsonl)"
        )
    return list(enumerate(data, 1))


def _csv(path: Path, text: str, check: ColumnCheck | None) -> list[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None:
        return []
    reader.fieldnames = [(name or "").strip().lower() for name in reader.fieldnames]
    if check is not None:
        check(reader.fieldnames)
    return list(enumerate(reader, 1))


def _parquet(path: Path, check: ColumnCheck | None) -> list[tuple[int, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"reading {str(path)!r} needs pyarrow; install it with {PARQUET_HINT}"
        ) from err
    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises ArrowInvalid and friends
        raise ValueError(f"{path}: not a readable Parquet file ({err})") from err
    if check is not None:
        check(list(table.column_names))
    return list(enumerate(table.to_pylist(), 1))


def read_rows(
    path: str | Path, *, check_columns: ColumnCheck | None = None
) -> list[tuple[int, Any]]:
    """Every row of a local table file, numbered from 1.

    Parameters
    ----------
    path : str or Path
        A ``.jsonl`` / ``.ndjson``, ``.json`` (a list), ``.csv`` or ``.parquet`` file.
    check_columns : callable, optional
        Called once with the column names before any row is returned (see
        :data:`ColumnCheck`); for JSON files, with the keys of the first row when it is
        an object.

    Returns
    -------
    list of (int, object)
        ``(row number, row)``: the 1-based data row (blank JSON Lines and the CSV header
        are not counted) and the parsed row (a dict, unless a JSON row is something else).

    Raises
    ------
    ValueError
        A missing file, an unsupported suffix, bytes that are not UTF-8, invalid JSON,
        an unreadable Parquet file, or what ``check_columns`` raises; each names the file
        and, where there is one, the row.
    ImportError
        A Parquet file without ``pyarrow``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(f"unsupported file {str(path)!r}: use one of {', '.join(TABLE_SUFFIXES)}")
    if not path.is_file():
        raise ValueError(f"file {str(path)!r} does not exist")
    if suffix == ".parquet":
        return _parquet(path, check_columns)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err}") from err
    text = _decode(path, data)
    if suffix == ".csv":
        return _csv(path, text, check_columns)
    rows = _json(path, text) if suffix == ".json" else _jsonl(path, text)
    if check_columns is not None and rows and isinstance(rows[0][1], dict):
        check_columns(list(rows[0][1]))
    return rows
