"""Prompts of kinds a detector was not trained on, to measure its familiarity flag.

:func:`held_out_kinds` gives, per kind, user messages sent as written: ``code`` (the
shipped code tasks and HumanEval problems), ``non_english`` (factual questions in 14
other languages), ``arithmetic`` (sums, percentages, equations and unit conversions in
phrasings the built-in set does not use), ``instructions`` (write, translate,
summarise, rewrite...) and ``small_talk`` (messages that ask nothing). Everything is
deterministic (seeded), so every run measures the same prompts.

The training mixture's built-in source holds arithmetic and unit-conversion topics
(:data:`TRAINING_TWINS`); a fair held-out measurement of ``arithmetic`` leaves them out of
the familiarity fit (:mod:`howsure.eval.familiarity` does).
"""

from __future__ import annotations

import itertools
import random

from howsure.eval.kinds_text import INSTRUCTION_PARTS, NON_ENGLISH, SMALL_TALK
from howsure.qa.load import load_qa

__all__ = ["KINDS", "TRAINING_TWINS", "arithmetic_prompts", "held_out_kinds", "instruction_prompts"]

KINDS: tuple[str, ...] = ("code", "non_english", "arithmetic", "instructions", "small_talk")
"""The held-out kinds, in report order."""

TRAINING_TWINS: dict[str, tuple[str, ...]] = {
    "arithmetic": ("addition", "multiplication", "unit_conversion"),
}
"""Per kind, the training mixture's topics of the same kind, left out of the fit that
measures it."""

_UNITS = (
    ("kilometres", "miles", 0.621371),
    ("miles", "kilometres", 1.609344),
    ("kilograms", "pounds", 2.204623),
    ("litres", "gallons", 0.264172),
    ("inches", "centimetres", 2.54),
    ("feet", "metres", 0.3048),
    ("hours", "seconds", 3600.0),
    ("megabytes", "kilobytes", 1000.0),
)


def arithmetic_prompts(n: int = 96, *, seed: int = 0) -> list[str]:
    """``n`` arithmetic and unit-conversion prompts in eight phrasings (seeded)."""
    rng = random.Random(seed)

    def one(k: int) -> str:
        a, b = rng.randint(12, 999), rng.randint(2, 99)
        match k % 8:
            case 0:
                return f"Compute {a} - {b}."
            case 1:
                return f"What's {a} * {b}?"
            case 2:
                return f"What is {rng.choice((5, 10, 15, 20, 25, 30, 75))}% of {a}?"
            case 3:
                return f"Divide {a * b} by {b}."
            case 4:
                x = rng.randint(1, 20)
                return f"Solve for x: {b}x + {a} = {b * x + a}"
            case 5:
                src, dst, _ = rng.choice(_UNITS)
                return f"Convert {rng.randint(2, 90)} {src} to {dst}."
            case 6:
                return f"What is {rng.randint(2, 9)}/{rng.randint(10, 12)} + 1/{rng.randint(2, 9)}?"
            case _:
                return f"Is {a} a prime number?"

    return [one(k) for k in range(n)]


def instruction_prompts(n: int = 96, *, seed: int = 0) -> list[str]:
    """``n`` instructions that are not questions, from :data:`INSTRUCTION_PARTS`."""
    rng = random.Random(seed)
    parts = {k: v for k, v in INSTRUCTION_PARTS.items() if k != "templates"}
    templates = itertools.cycle(INSTRUCTION_PARTS["templates"])
    return [
        next(templates).format(**{k: rng.choice(v) for k, v in parts.items()}) for _ in range(n)
    ]


def held_out_kinds(*, per_kind: int = 96, seed: int = 0) -> dict[str, list[str]]:
    """User messages of each of :data:`KINDS`, at most ``per_kind`` each.

    Returns
    -------
    dict of str to list of str
        Kind name to prompts (sent as written, with no instruction).
    """
    rng = random.Random(seed)
    code = [it.question for it in load_qa("code")] + [it.question for it in load_qa("humaneval")]
    foreign = [q for qs in NON_ENGLISH.values() for q in qs]
    out = {
        "code": rng.sample(code, min(per_kind, len(code))),
        "non_english": foreign[:per_kind]
        if len(foreign) <= per_kind
        else rng.sample(foreign, per_kind),
        "arithmetic": arithmetic_prompts(per_kind, seed=seed),
        "instructions": instruction_prompts(per_kind, seed=seed),
        "small_talk": list(SMALL_TALK[:per_kind]),
    }
    return {k: out[k] for k in KINDS}
