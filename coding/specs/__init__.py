"""The code-task templates: 120 small Python functions in eight families, 15 each, one
module per family (``strings``, ``lists``, ``dicts``, ``arithmetic``, ``recursion``,
``parsing``, ``sorting``, ``dates``).

Each family mixes about six one-liners a tiny chat model gets right (reverse a string,
sum a list, factorial), six short loops with a condition (count the words longer than
``k``, the second largest distinct value, days between two dates) and three harder
functions (run-length encoding, flatten nested lists, add N days to a date), so that pass
rates spread out rather than sitting at 0 or 100%. Five functions per family carry a
buggy version for the debugging tasks: about half do not compile (a missing colon or
parenthesis, bad indentation, ``=`` for ``==``), half run but give a wrong answer on at
least one case (off-by-one, ``s = x`` for ``s += x``, a wrong base case or sort key,
month and day swapped).

The builder (:mod:`howsure.coding.builder`) turns :data:`SPECS` into prompts with hidden
tests; the expected outputs come from running each ``reference`` on its ``cases``.
"""

from __future__ import annotations

from howsure.coding.spec import Spec
from howsure.coding.specs import (
    arithmetic,
    dates,
    dicts,
    lists,
    parsing,
    recursion,
    sorting,
    strings,
)

__all__ = ["SPECS"]

SPECS: tuple[Spec, ...] = (
    strings.SPECS
    + lists.SPECS
    + dicts.SPECS
    + arithmetic.SPECS
    + recursion.SPECS
    + parsing.SPECS
    + sorting.SPECS
    + dates.SPECS
)
"""Every template, family by family (the order of the shipped ``code_tasks.jsonl``)."""
