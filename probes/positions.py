"""Token positions and layers: which hidden states a reader takes.

Layer ``i`` means the residual stream *after* transformer block ``i`` (``0 .. n-1``;
negative indices count from the end).

Positions
---------
``last_prompt``
    The last prompt token, i.e. the state from which the first answer token is
    predicted: a score there is available before the model answers.
``last_answer``
    The last token of the model's answer (EOS excluded).
``mean_answer``
    The mean over the answer's tokens (EOS excluded).
``mean_last_answer``
    ``mean_answer`` and ``last_answer`` side by side, shape ``(n, 2 * hidden_size)``:
    the whole answer and the state after its last token. A combined position is built
    from the positions it names (:data:`COMBINED_POSITIONS`); nothing more is read from
    the model, and collections store only the parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from howsure.core.checks import check_int
from howsure.probes.models import find_layers

__all__ = [
    "ANSWER_POSITIONS",
    "BASE_POSITIONS",
    "COMBINED_POSITIONS",
    "POSITIONS",
    "Key",
    "Position",
    "base_positions",
    "combine_positions",
    "resolve_layers",
    "resolve_positions",
]

Position = Literal["last_prompt", "last_answer", "mean_answer", "mean_last_answer"]
BASE_POSITIONS: tuple[str, ...] = ("last_prompt", "last_answer", "mean_answer")
"""Positions read from the model (one hidden state each)."""
COMBINED_POSITIONS: dict[str, tuple[str, ...]] = {
    "mean_last_answer": ("mean_answer", "last_answer"),
}
"""Positions made of others: their features side by side, in this order."""
POSITIONS: tuple[str, ...] = (*BASE_POSITIONS, *COMBINED_POSITIONS)
"""Every position name (see the module docstring)."""
ANSWER_POSITIONS: tuple[str, ...] = ("last_answer", "mean_answer", "mean_last_answer")

Key = tuple[int, str]
"""``(layer, position)`` key of an activation matrix."""


def resolve_layers(model: Any, layers: int | Sequence[int] | Literal["all"]) -> list[int]:
    """Validate layer indices and return them as sorted non-negative ints.

    Parameters
    ----------
    model : transformers model
    layers : int, sequence of int, or "all"
        Block indices; negative ones count from the end (``-1`` is the last block).

    Raises
    ------
    ValueError
        For an index outside ``-n .. n-1``, naming it and the valid range.
    """
    n = len(find_layers(model))
    if isinstance(layers, str):
        if layers != "all":
            raise ValueError(f"unknown layers {layers!r}; give indices or 'all'")
        return list(range(n))
    if isinstance(layers, (int, np.integer)):
        layers = [int(layers)]
    out = []
    for layer in layers:
        check_int(layer, "a layer index")
        if not -n <= layer < n:
            raise ValueError(
                f"layer index {layer} is out of range: this model has {n} layers, "
                f"so use 0 .. {n - 1} (or -{n} .. -1 from the end)"
            )
        out.append(int(layer) % n)
    if not out:
        raise ValueError("no layers given; pass at least one layer index")
    return sorted(set(out))


def resolve_positions(positions: str | Sequence[str]) -> list[str]:
    """Validate position names (see the module docstring) and return them as a list."""
    if isinstance(positions, str):
        positions = [positions]
    out = []
    for pos in positions:
        if pos not in POSITIONS:
            raise ValueError(f"unknown position {pos!r}; use one of {', '.join(POSITIONS)}")
        if pos not in out:
            out.append(pos)
    if not out:
        raise ValueError(f"no positions given; use one or more of {', '.join(POSITIONS)}")
    return out


def base_positions(positions: str | Sequence[str]) -> list[str]:
    """The positions read from the model to build ``positions`` (combined ones expanded).

    Validates the names (:func:`resolve_positions`); returns them in
    :data:`BASE_POSITIONS` order, each once.
    """
    wanted = set()
    for pos in resolve_positions(positions):
        wanted.update(COMBINED_POSITIONS.get(pos, (pos,)))
    return [p for p in BASE_POSITIONS if p in wanted]


def combine_positions(
    features: dict[Key, np.ndarray], positions: Sequence[str]
) -> dict[Key, np.ndarray]:
    """``features`` of base positions -> the matrices of ``positions`` (combined ones built).

    Parameters
    ----------
    features : dict of (int, str) to numpy.ndarray, each (n, d)
        At least the base positions of ``positions`` (:func:`base_positions`) per layer.
    positions : list of str
        The positions wanted.

    Returns
    -------
    dict of (int, str) to numpy.ndarray
        One matrix per layer and wanted position, ``(n, d)`` or ``(n, k * d)`` for a
        combined position of ``k`` parts; base matrices not asked for are left out.
    """
    layers = sorted({k[0] for k in features})
    out: dict[Key, np.ndarray] = {}
    for layer in layers:
        for pos in positions:
            parts = COMBINED_POSITIONS.get(pos)
            if parts is None:
                out[(layer, pos)] = features[(layer, pos)]
            else:
                out[(layer, pos)] = np.concatenate([features[(layer, p)] for p in parts], axis=1)
    return out
