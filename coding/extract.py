"""The code in a model's answer: what the sandbox runs against the tests.

Rules, in order:

1. Fenced blocks (```` ```python ... ``` ````, ```` ``` ... ``` ````, also an unclosed
   last fence): the last block that parses and defines the wanted function (an answer
   that shows the broken code, then the fix, is judged on the fix); else the last block
   that parses.
2. No fence: the answer from its first ``def``/``import``/``from``/``class`` line on, cut
   back line by line from the end until it parses (prose after the code is dropped).
3. Of the chosen code, only the top-level imports, function and class definitions and
   assignments are kept: example calls and ``print`` lines an answer adds after its
   function are dropped, so an answer is judged on its function, not on its demo.

Nothing here runs code: it is parsed with :mod:`ast` only.
"""

from __future__ import annotations

import ast
import re

__all__ = ["extract_code"]

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_START = re.compile(r"^(def |async def |import |from \S+ import |class |@)", re.MULTILINE)
_KEEP = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
)


def _parses(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):  # ValueError: null bytes
        return None


def _defines(tree: ast.Module, name: str | None) -> bool:
    return name is not None and any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name
        for node in tree.body
    )


def _bare(answer: str) -> str | None:
    start = _START.search(answer)
    if start is None:
        return None
    lines = answer[start.start() :].splitlines()
    for end in range(len(lines), 0, -1):
        code = "\n".join(lines[:end])
        if _parses(code) is not None:
            return code
    return "\n".join(lines)  # does not parse: the sandbox reports the SyntaxError


def _kept(node: ast.stmt) -> bool:
    """Imports, definitions, and assignments that call nothing (``VOWELS = "aeiou"``)."""
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return node.value is not None and not any(
            isinstance(n, ast.Call) for n in ast.walk(node.value)
        )
    return isinstance(node, _KEEP)


def _definitions(code: str) -> str:
    tree = _parses(code)
    if tree is None:
        return code
    kept = [node for node in tree.body if _kept(node)]
    if not kept or len(kept) == len(tree.body):
        return code
    lines = code.splitlines()
    parts = []
    for node in kept:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        parts.append("\n".join(lines[first - 1 : node.end_lineno]))
    return "\n".join(parts) + "\n"


def extract_code(answer: str, *, entry_point: str | None = None) -> str:
    """The code a model's answer gives, by the module's rules.

    Parameters
    ----------
    answer : str
        The model's whole answer (prose, fenced blocks or bare code).
    entry_point : str, optional
        The function the tests call: a fenced block defining it wins.

    Returns
    -------
    str
        The code to run; ``""`` when the answer holds none (the run then fails with
        the function undefined).

    Raises
    ------
    TypeError
        ``answer`` is not a str.
    """
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a str, got {type(answer).__name__}")
    blocks = [m.group(2) for m in _FENCE.finditer(answer)]
    if blocks:
        parsed = [(b, _parses(b)) for b in blocks]
        good = [b for b, tree in parsed if tree is not None and _defines(tree, entry_point)]
        good = good or [b for b, tree in parsed if tree is not None]
        code = good[-1] if good else blocks[-1]
    else:
        code = _bare(answer) or ""
    return _definitions(code)
