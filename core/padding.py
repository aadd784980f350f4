"""Batches of token-id rows of different lengths, padded for one forward pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

__all__ = ["pad_rows"]


def pad_rows(
    rows: Sequence[Sequence[int]], pad_id: int, *, side: Literal["left", "right"] = "left"
) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Pad token-id rows to one width.

    Parameters
    ----------
    rows : sequence of sequence of int, length batch
        Token ids; each row non-empty.
    pad_id : int
        Id written into the padding (masked out, so its value does not matter).
    side : {"left", "right"}, default "left"
        Where the padding goes; ``"left"`` lines up the last tokens, as ``generate``
        needs.

    Returns
    -------
    input_ids : torch.Tensor of int64, shape (batch, width)
    attention_mask : torch.Tensor of int64, shape (batch, width)
        1 on real tokens, 0 on padding.
    starts : list of int, length batch
        Index of each row's first real token.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right'; got {side!r}")
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), int(pad_id), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    starts = []
    for b, row in enumerate(rows):
        start = width - len(row) if side == "left" else 0
        ids[b, start : start + len(row)] = torch.tensor(list(row), dtype=torch.long)
        mask[b, start : start + len(row)] = 1
        starts.append(start)
    return ids, mask, starts
