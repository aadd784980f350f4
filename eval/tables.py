"""A small table type that renders as Markdown (report.md, terminal) and HTML (report.html)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Table"]


def _md_cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


@dataclass
class Table:
    """Rows of already formatted cells.

    Parameters
    ----------
    headers : list of str, length k
    rows : list of list of str, each length k
    align : str, length k, optional
        ``"l"`` or ``"r"`` per column (default: first column left, the others right).
    """

    headers: Sequence[str]
    rows: Sequence[Sequence[str]] = field(default_factory=list)
    align: str = ""

    def __post_init__(self) -> None:
        k = len(self.headers)
        if not self.align:
            self.align = "l" + "r" * (k - 1)
        if len(self.align) != k or set(self.align) - {"l", "r"}:
            raise ValueError(f"align must be 'l'/'r' per column ({k}), got {self.align!r}")
        for i, row in enumerate(self.rows):
            if len(row) != k:
                raise ValueError(f"row {i} has {len(row)} cells; the table has {k} columns")

    def markdown(self) -> str:
        """GitHub-flavoured Markdown (``|`` inside cells escaped, newlines folded)."""
        rule = ["---:" if a == "r" else "---" for a in self.align]
        lines = [
            "| " + " | ".join(_md_cell(h) for h in self.headers) + " |",
            "|" + "|".join(rule) + "|",
        ]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)

    def html(self) -> str:
        """An HTML ``<table>`` (cells escaped)."""

        def cells(tag: str, row: Sequence[str]) -> str:
            return "".join(
                f'<{tag} class="{"num" if a == "r" else "txt"}">{html.escape(str(c))}</{tag}>'
                for a, c in zip(self.align, row, strict=True)
            )

        head = f"<thead><tr>{cells('th', self.headers)}</tr></thead>"
        body = "".join(f"<tr>{cells('td', row)}</tr>" for row in self.rows)
        return f"<table>{head}<tbody>{body}</tbody></table>"
