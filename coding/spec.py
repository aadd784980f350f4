"""One code-task template: a small Python function, its reference solution, test inputs
and buggy versions (for debugging tasks). The builder (:mod:`howsure.coding.builder`)
turns each :class:`Spec` into user-style prompts with hidden unit tests."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Spec"]


@dataclass(frozen=True)
class Spec:
    """A function to write.

    Attributes
    ----------
    family : str
        The task family (``"string"``, ``"list"``...): the topic reports group by and
        leave-one-family-out holds out.
    entry : str
        The function's name; the tests call it.
    params : str
        Its parameter list as written in ``def entry(params):`` (``"s"``, ``"xs, k"``).
    does : str
        What it does, as a third-person clause naming the parameters in backticks:
        ``"returns how many vowels (a, e, i, o, u) the string `s` contains"``.
    reference : str
        The reference solution's source (``def entry(params): ...``); the builder
        computes the expected outputs from it and checks it passes its own tests in the
        sandbox.
    cases : tuple of tuple
        The test inputs: one tuple of arguments per call (JSON-able literals).
    bugs : tuple of str
        Buggy versions of ``reference`` (same name), each failing at least one case or
        not compiling: the debugging tasks ("why doesn't my code work?").
    """

    family: str
    entry: str
    params: str
    does: str
    reference: str
    cases: tuple[tuple, ...]
    bugs: tuple[str, ...] = ()
