"""Reading hidden activations of a causal LM at named token positions.

Layer ``i`` means the residual stream *after* transformer block ``i`` (``0 .. n-1``;
negative indices count from the end), read with a forward hook on that block, so the
numbers equal ``output_hidden_states=True``'s ``hidden_states[i + 1]`` without asking
the model for every layer.

The positions (``last_prompt``, ``last_answer``, ``mean_answer``, ``mean_last_answer``)
are defined in :mod:`howsure.probes.positions`. An empty answer (EOS first) has no
answer tokens: the answer positions then fall back to the ``last_prompt`` state. When
an answer is cut by ``max_new_tokens`` its final token was never fed back to the model,
so the answer positions use the tokens that were (the row is flagged ``truncated``).

Two paths read them:

* :func:`generate_and_read` reads while the model generates its own greedy answer: the
  prefill gives ``last_prompt``, each decoding step gives the state of the token it
  feeds back. No second forward pass.
* :func:`read_activations` reads given prompts (and optional given answers) with one
  teacher-forced forward pass, left or right padded, positions taken from the
  attention mask.

Both return float32 numpy arrays of shape ``(n_samples, hidden_size)`` per
``(layer, position)`` (``(n_samples, 2 * hidden_size)`` for ``mean_last_answer``) and
agree to float tolerance on the same tokens.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from howsure.core.checks import check_choice, check_int
from howsure.core.padding import pad_rows
from howsure.probes.generate import (
    GenRow,
    RowReading,
    generate_rows,
    generation_config,
    reading_features,
    reading_stats,
    split_answers,
)
from howsure.probes.hooks import LayerCapture
from howsure.probes.inputs import (
    check_length,
    check_prompts,
    eos_ids,
    iter_batches,
    model_device,
    pad_token_id,
)
from howsure.probes.positions import (
    ANSWER_POSITIONS,
    BASE_POSITIONS,
    POSITIONS,
    Key,
    base_positions,
    combine_positions,
    resolve_layers,
    resolve_positions,
)
from howsure.probes.spans import SentenceRead, SentenceTable, sentence_reads

__all__ = [
    "ANSWER_STATS",
    "POSITIONS",
    "GenerationResult",
    "forced_readings",
    "generate_and_read",
    "read_activations",
    "read_token_activations",
    "split_answers",
]


ANSWER_STATS: tuple[str, ...] = ("logprob_mean", "logprob_min", "entropy_mean")
"""The answer's token statistics read from the generation itself (in nats): mean and
minimum log-probability of its tokens, mean entropy of the distributions they came from."""


@dataclass
class GenerationResult:
    """Greedy answers with activations read from the same generation pass.

    Attributes
    ----------
    answers : list of str
        Decoded answers (special tokens skipped, stripped).
    answer_ids : list of list of int
        Answer token ids, EOS excluded.
    truncated : numpy.ndarray of bool, shape (n,)
        True where ``max_new_tokens`` cut the answer.
    logprob_mean, logprob_min, entropy_mean : numpy.ndarray of float, shape (n,)
        Over the answer's tokens (the EOS step for an empty answer): single-pass
        baselines, in nats.
    activations : dict of (int, str) to numpy.ndarray of float32, shape (n, hidden_size)
        (``(n, 2 * hidden_size)`` for ``mean_last_answer``)
    sentences : SentenceTable, optional
        Each answer's sentences with their mean token states at every layer read
        (asked with ``sentences=True``).
    """

    answers: list[str]
    answer_ids: list[list[int]]
    truncated: np.ndarray
    logprob_mean: np.ndarray
    logprob_min: np.ndarray
    entropy_mean: np.ndarray
    activations: dict[Key, np.ndarray] = field(default_factory=dict)
    sentences: SentenceTable | None = None

    @property
    def stats(self) -> dict[str, np.ndarray]:
        """:data:`ANSWER_STATS` by name, each shape (n,)."""
        return {k: np.asarray(getattr(self, k), dtype=np.float64) for k in ANSWER_STATS}


def generate_and_read(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    layers: int | Sequence[int] | Literal["all"] = "all",
    positions: str | Sequence[str] = BASE_POSITIONS,
    max_new_tokens: int = 32,
    batch_size: int = 16,
    progress: bool = True,
    names: Sequence[str] | None = None,
    store: Literal["float32", "float16"] = "float32",
    sentences: bool = False,
) -> GenerationResult:
    """Greedily answer ``prompts`` and read activations from the same forward passes.

    Parameters
    ----------
    model, tokenizer : transformers causal LM and its tokenizer
    prompts : list of str, length n
        Fully rendered prompts (chat template applied), e.g. from
        :func:`howsure.probes.prompts.question_prompt`.
    layers : int, list of int, or "all", default "all"
    positions : str or list of str, default ``BASE_POSITIONS``
        Any of ``POSITIONS``; a combined one is built from its parts.
    max_new_tokens : int, default 32
    batch_size : int, default 16
        Prompts per batch, left padded.
    progress : bool, default True
        Show a progress bar over prompts.
    names : sequence of str, length n, optional
        How errors name each prompt (e.g. its dataset row). Every prompt's length is
        checked against the context window before the first one is generated.
    store : {"float32", "float16"}, default "float32"
        Precision the activations are kept in as they are read (``"float16"`` halves
        the memory; a matrix with values beyond float16's range stays float32, with a
        warning).
    sentences : bool, default False
        Also read each answer's sentences (:mod:`howsure.probes.spans`): their mean
        token state at every layer read and their token statistics.

    Returns
    -------
    GenerationResult
        Answers, baselines and ``activations[(layer, position)]`` of shape
        ``(n, hidden_size)`` (``(n, 2 * hidden_size)`` for ``mean_last_answer``), float32.
    """
    check_prompts(prompts)
    layer_ids = resolve_layers(model, layers)
    wanted = resolve_positions(positions)
    pos_names = base_positions(wanted)
    max_new_tokens = check_int(max_new_tokens, "max_new_tokens", min_val=1)
    check_int(batch_size, "batch_size", min_val=1)
    check_choice(store, "store", ("float32", "float16"))
    prompt_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    check_length(model, tokenizer, [len(x) for x in prompt_ids], max_new_tokens, names=names)
    eos = eos_ids(model, tokenizer)
    pad = pad_token_id(model, tokenizer)
    config, _ = generation_config(model, default_max_new_tokens=max_new_tokens, pad_token_id=pad)
    chunks: dict[Key, list[np.ndarray]] = {(la, p): [] for la in layer_ids for p in pos_names}
    readings: list[RowReading] = []
    answers: list[str] = []
    reads: list[list[SentenceRead]] = []
    bar = tqdm(total=len(prompts), desc="generating", unit="q", disable=not progress)
    try:
        for sl in iter_batches(len(prompts), batch_size):
            rows = [GenRow(ids=ids, max_new_tokens=max_new_tokens) for ids in prompt_ids[sl]]
            batch = generate_rows(
                model, rows, config=config, eos=eos, pad_token_id=pad, layers=layer_ids
            )
            for layer in layer_ids:
                for key, value in reading_features(batch, layer, pos_names).items():
                    chunks[key].append(_stored(value, store))
            texts = [
                tokenizer.decode(r.answer_ids, skip_special_tokens=True).strip() for r in batch
            ]
            for r, text in zip(batch, texts, strict=True):
                if sentences:
                    reads.append(sentence_reads(r, tokenizer, layer_ids, text=text))
                r.token_states.clear()  # not kept: only the positions asked
                r.prompt_state.clear()
            readings += batch
            answers += texts
            bar.update(sl.stop - sl.start)
    finally:
        bar.close()
    return GenerationResult(
        answers=answers,
        answer_ids=[r.answer_ids for r in readings],
        truncated=np.asarray([r.truncated for r in readings], dtype=bool),
        **reading_stats(readings),
        activations=combine_positions({k: _joined(k, v, store) for k, v in chunks.items()}, wanted),
        sentences=_sentence_table(reads, layer_ids, store) if sentences else None,
    )


def _sentence_table(
    reads: list[list[SentenceRead]], layers: Sequence[int], store: str
) -> SentenceTable:
    table = SentenceTable.from_reads(reads, layers)
    table.states = {la: _stored(v, store) for la, v in table.states.items()}
    return table


_FLOAT16_MAX = float(np.finfo(np.float16).max)


def _stored(value: np.ndarray, store: str) -> np.ndarray:
    """One batch's matrix in the ``store`` precision (float32 where float16 overflows)."""
    if store == "float16" and np.abs(value).max(initial=0.0) <= _FLOAT16_MAX:
        return value.astype(np.float16)
    return value.astype(np.float32, copy=False)


def _joined(key: Key, parts: list[np.ndarray], store: str) -> np.ndarray:
    out = np.concatenate(parts)
    if store == "float16" and out.dtype != np.float16:
        warnings.warn(
            f"activations at layer {key[0]}, {key[1]} exceed float16's range "
            f"({_FLOAT16_MAX:g}): kept in float32",
            RuntimeWarning,
            stacklevel=3,
        )
    return out


def read_activations(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    answers: Sequence[str] | None = None,
    *,
    layers: int | Sequence[int] | Literal["all"] = "all",
    positions: str | Sequence[str] = "last_prompt",
    batch_size: int = 16,
    padding_side: Literal["left", "right"] = "left",
    progress: bool = True,
    with_stats: bool = False,
) -> dict[Key, np.ndarray] | tuple[dict[Key, np.ndarray], dict[str, np.ndarray]]:
    """Read activations of given texts with one teacher-forced forward pass per batch.

    Parameters
    ----------
    model, tokenizer : transformers causal LM and its tokenizer
    prompts : list of str, length n
        Rendered prompts (chat template applied).
    answers : list of str, length n, optional
        Answer texts that follow each prompt; required for answer positions.
    layers, positions, batch_size : see :func:`generate_and_read`
    padding_side : {"left", "right"}, default "left"
        Results do not depend on it (positions come from the attention mask and
        position ids are counted from each row's first real token).
    progress : bool, default True
    with_stats : bool, default False
        Also return the answers' :data:`ANSWER_STATS` from the same pass (teacher
        forced: the log-probabilities the model gives the given answer's tokens).

    Returns
    -------
    dict of (int, str) to numpy.ndarray of float32, shape (n, hidden_size)
        (``(n, 2 * hidden_size)`` for ``mean_last_answer``); with ``with_stats``, a
        tuple of it and a dict of str to numpy.ndarray of shape (n,).
    """
    check_prompts(prompts)
    layer_ids = resolve_layers(model, layers)
    pos_names = resolve_positions(positions)
    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    if answers is None:
        if any(p in ANSWER_POSITIONS for p in pos_names):
            raise ValueError(
                f"positions {pos_names} need answers: pass answers=, or use generate_and_read"
            )
        answers = [""] * len(prompts)
    if len(answers) != len(prompts):
        raise ValueError(f"got {len(prompts)} prompts but {len(answers)} answers")
    prompt_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    ans_ids = [tokenizer(a, add_special_tokens=False)["input_ids"] if a else [] for a in answers]
    return read_token_activations(
        model,
        prompt_ids,
        ans_ids,
        layers=layer_ids,
        positions=pos_names,
        batch_size=batch_size,
        padding_side=padding_side,
        pad_token_id=pad_token_id(model, tokenizer),
        progress=progress,
        tokenizer=tokenizer,
        with_stats=with_stats,
    )


def read_token_activations(
    model: Any,
    prompt_ids: Sequence[Sequence[int]],
    answer_ids: Sequence[Sequence[int]],
    *,
    layers: Sequence[int],
    positions: Sequence[str],
    batch_size: int = 16,
    padding_side: Literal["left", "right"] = "left",
    pad_token_id: int = 0,
    progress: bool = True,
    tokenizer: Any = None,
    with_stats: bool = False,
) -> dict[Key, np.ndarray] | tuple[dict[Key, np.ndarray], dict[str, np.ndarray]]:
    """Token-id form of :func:`read_activations` (validated layers and positions)."""
    wanted, positions = list(positions), base_positions(positions)
    chunks: dict[Key, list[np.ndarray]] = {(la, p): [] for la in layers for p in positions}
    stats_parts: list[dict[str, np.ndarray]] = []
    for batch in _forced_batches(
        model,
        prompt_ids,
        answer_ids,
        layers=layers,
        batch_size=batch_size,
        padding_side=padding_side,
        pad_token_id=pad_token_id,
        progress=progress,
        tokenizer=tokenizer,
        record_stats=with_stats,
    ):
        for layer in layers:
            for key, value in reading_features(batch, layer, positions).items():
                chunks[key].append(value)
        if with_stats:
            stats_parts.append(reading_stats(batch))
    acts = combine_positions(
        {k: np.concatenate(v).astype(np.float32) for k, v in chunks.items()}, wanted
    )
    if not with_stats:
        return acts
    return acts, {k: np.concatenate([part[k] for part in stats_parts]) for k in ANSWER_STATS}


def forced_readings(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    answers: Sequence[str],
    *,
    layers: Sequence[int],
    batch_size: int = 16,
) -> list[RowReading]:
    """Given answers read as if generated: one teacher-forced pass per batch.

    A teacher-forced pass computes what generation computed for the same tokens, so each
    :class:`~howsure.probes.generate.RowReading` holds what
    :func:`~howsure.probes.generate.generate_rows` would give had the model produced the
    answer: the last prompt token's state, every answer token's state (all of them: none
    was cut) and each answer token's log-probability and entropy.

    Parameters
    ----------
    model, tokenizer : transformers causal LM and its tokenizer
    prompts : list of str, length n
        Rendered prompts.
    answers : list of str, length n
    layers : list of int
        Validated block indices.
    batch_size : int, default 16

    Returns
    -------
    list of RowReading, length n
    """
    prompt_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    ans_ids = [tokenizer(a, add_special_tokens=False)["input_ids"] if a else [] for a in answers]
    out: list[RowReading] = []
    for batch in _forced_batches(
        model,
        prompt_ids,
        ans_ids,
        layers=layers,
        batch_size=batch_size,
        pad_token_id=pad_token_id(model, tokenizer),
        progress=False,
        tokenizer=tokenizer,
        record_stats=True,
    ):
        out += batch
    return out


def _forced_batches(
    model: Any,
    prompt_ids: Sequence[Sequence[int]],
    answer_ids: Sequence[Sequence[int]],
    *,
    layers: Sequence[int],
    batch_size: int,
    pad_token_id: int,
    progress: bool,
    tokenizer: Any,
    record_stats: bool,
    padding_side: Literal["left", "right"] = "left",
) -> Iterator[list[RowReading]]:
    """One teacher-forced pass per batch, its rows as readings (see :func:`forced_readings`)."""
    device = model_device(model)
    if tokenizer is not None:
        check_length(
            model,
            tokenizer,
            [len(p) + len(a) for p, a in zip(prompt_ids, answer_ids, strict=True)],
            0,
        )
    bar = tqdm(total=len(prompt_ids), desc="reading", unit="q", disable=not progress)
    try:
        for sl in iter_batches(len(prompt_ids), batch_size):
            prompts, answers = prompt_ids[sl], answer_ids[sl]
            rows = [list(p) + list(a) for p, a in zip(prompts, answers, strict=True)]
            ids, mask, starts = pad_rows(rows, pad_token_id, side=padding_side)
            position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
            with LayerCapture(model, layers, keep="all") as cap, torch.inference_mode():
                output = model(
                    input_ids=ids.to(device),
                    attention_mask=mask.to(device),
                    position_ids=position_ids.to(device),
                    use_cache=False,
                )
                stats = (
                    _forced_stats(output.logits, ids, starts, prompts, answers)
                    if record_stats
                    else None
                )
            hidden = {la: cap.calls[la][0].float().cpu() for la in layers}  # (B, T, d)
            batch = []
            for b, (p, a) in enumerate(zip(prompts, answers, strict=True)):
                p_end = starts[b] + len(p)  # one past the last prompt token
                n_stat = max(len(a), 1)
                batch.append(
                    RowReading(
                        answer_ids=list(a),
                        token_ids=tuple(a),
                        truncated=False,
                        prompt_state={la: h[b, p_end - 1] for la, h in hidden.items()},
                        token_states={la: h[b, p_end : p_end + len(a)] for la, h in hidden.items()},
                        logprob=stats[0][b, :n_stat] if stats else torch.zeros(0),
                        entropy=stats[1][b, :n_stat] if stats else torch.zeros(0),
                    )
                )
            yield batch
            bar.update(sl.stop - sl.start)
    finally:
        bar.close()


def _forced_stats(
    logits: torch.Tensor,
    ids: torch.Tensor,
    starts: Sequence[int],
    prompts: Sequence[Sequence[int]],
    answers: Sequence[Sequence[int]],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per answer token, its log-probability and its distribution's entropy, each shape
    (B, width), from a teacher-forced pass's logits (B, T, V).

    Answer token ``j`` comes from the distribution at the position before it; an empty
    answer is read at the last prompt token, with the most likely token as its choice.
    """
    width = max(max(len(a), 1) for a in answers)
    logprob = torch.zeros(len(answers), width)
    entropy = torch.zeros(len(answers), width)
    for b, (p, a) in enumerate(zip(prompts, answers, strict=True)):
        first = starts[b] + len(p) - 1  # the distribution of the first answer token
        logp = torch.log_softmax(logits[b, first : first + max(len(a), 1)].float(), dim=-1)
        entropy[b, : logp.shape[0]] = -(logp.exp() * logp).nan_to_num().sum(-1).cpu()
        if a:
            chosen = ids[b, first + 1 : first + 1 + len(a)].to(logp.device)
            logprob[b, : len(a)] = logp.gather(1, chosen[:, None]).squeeze(1).cpu()
        else:
            logprob[b, 0] = logp[0].max().cpu()
    return logprob, entropy
