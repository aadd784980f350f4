"""What goes into the model: prompts checked, batches padded, inputs on the right device.

Shared by the reader (:mod:`howsure.probes.activations`), the wrapper and the baselines:
token-id batches are left padded with :func:`pad_token_id` (a tokenizer without a pad
token works, and is never changed), and go to :func:`model_device`, the input
embedding's device, whatever the placement (``device_map``, CPU or disk offload).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch

from howsure.core.checks import check_int
from howsure.core.errors import ContextLengthError
from howsure.core.padding import pad_rows
from howsure.probes.models import context_length

__all__ = [
    "check_length",
    "check_prompts",
    "encode_left_padded",
    "eos_ids",
    "iter_batches",
    "model_device",
    "pad_token_id",
]


def eos_ids(model: Any, tokenizer: Any) -> set[int]:
    """Every token id that ends an answer (the generation config's and the tokenizer's)."""
    ids = model.generation_config.eos_token_id
    ids = [ids] if isinstance(ids, int) else list(ids or [])
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return set(ids)


def check_prompts(prompts: Sequence[str]) -> None:
    """``TypeError`` / ``ValueError`` unless ``prompts`` is a non-empty list of non-empty str."""
    if prompts is None:
        raise TypeError("prompts must be a list of strings, got None")
    if isinstance(prompts, str):
        raise TypeError("prompts must be a list of strings, not one string; wrap it in a list")
    if len(prompts) == 0:
        raise ValueError("no prompts given; pass at least one")
    for i, p in enumerate(prompts):
        if not isinstance(p, str):
            raise TypeError(f"prompt {i} must be a str, got {type(p).__name__}: {p!r}")
        if not p.strip():
            raise ValueError(f"prompt {i} is empty ({p!r}); every prompt needs text")


def check_length(
    model: Any,
    tokenizer: Any,
    lengths: Sequence[int],
    extra: int,
    *,
    names: Sequence[str] | None = None,
) -> None:
    """Refuse prompts that with ``extra`` new tokens do not fit the context window.

    Parameters
    ----------
    model, tokenizer : transformers causal LM and its tokenizer
    lengths : sequence of int, length n
        Token counts of the prompts.
    extra : int
        Tokens to be generated after each prompt.
    names : sequence of str, length n, optional
        How the error names each prompt (e.g. ``"'q17' (data.jsonl row 17)"``);
        default ``"prompt <index>"``.

    Raises
    ------
    ContextLengthError
        A ``ValueError`` naming every prompt that is too long (the first few, and how
        many), its length and the context, and the fix; its ``param`` is
        ``"max_new_tokens"``.
    """
    limit = context_length(model, tokenizer)
    if limit is None:
        return
    bad = [i for i, n in enumerate(lengths) if n + extra > limit]
    if not bad:
        return
    label = [names[i] if names is not None else f"prompt {i}" for i in bad]
    raise ContextLengthError(
        too_long=[(lab, lengths[i]) for lab, i in zip(label, bad, strict=True)],
        n_prompts=len(lengths),
        new_tokens=extra,
        limit=limit,
    )


def iter_batches(n: int, batch_size: int) -> Iterator[slice]:
    """Slices of ``range(n)`` of at most ``batch_size`` (an int >= 1)."""
    batch_size = check_int(batch_size, "batch_size", min_val=1)
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


def model_device(model: Any) -> torch.device:
    """Where inputs go: the device of the input embedding layer, whatever the placement.

    With ``device_map`` placement or accelerate's CPU / disk offload, that is the
    embedding's execution device (its weights may sit on the meta device between
    calls); otherwise the embedding weight's device; else the first parameter's that is
    not on the meta device.
    """
    embed = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    if embed is not None:
        device = getattr(getattr(embed, "_hf_hook", None), "execution_device", None)
        if device is not None:
            return torch.device(device)
        weight = getattr(embed, "weight", None)
        if weight is not None and weight.device.type != "meta":
            return weight.device
    for param in model.parameters():
        if param.device.type != "meta":
            return param.device
    return torch.device("cpu")


def pad_token_id(model: Any, tokenizer: Any) -> int:
    """The id to pad batches with: the tokenizer's pad token, else the generation
    config's, else an EOS token (padding is masked out, so any id works); the
    tokenizer itself is never changed."""
    for pad in (tokenizer.pad_token_id, model.generation_config.pad_token_id):
        if isinstance(pad, int):
            return pad
        if isinstance(pad, (list, tuple)) and pad:
            return int(pad[0])
    return min(eos_ids(model, tokenizer), default=0)


def encode_left_padded(
    model: Any, tokenizer: Any, prompts: Sequence[str]
) -> tuple[torch.Tensor, torch.Tensor]:
    """``input_ids`` and ``attention_mask`` of rendered prompts, left padded with
    :func:`pad_token_id` (also for a tokenizer without a pad token), on
    :func:`model_device`. Shapes ``(batch, width)``."""
    rows = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    ids, mask, _ = pad_rows(rows, pad_token_id(model, tokenizer), side="left")
    device = model_device(model)
    return ids.to(device), mask.to(device)
