"""The one generate-and-read core: answers and activations from the same forward passes.

Everything that makes the model answer and reads it while it does goes through
:func:`generate_rows`: collection for training (:func:`howsure.probes.activations.
generate_and_read`), the wrapper (:class:`howsure.plugin.ConfidentModel`), the CLI chat,
the demo and ``howsure serve``. So what a detector is trained on is exactly what it is
served.

One call is one left-padded ``generate`` over several :class:`GenRow` rows, each with
its own length limit, stop flag and sink; the forward hooks sit on the asked layers only
while it runs. Each row comes back as a :class:`RowReading`: its answer tokens, the
hidden state of every answer token that was fed back to the model (per asked layer),
the state of the last prompt token, and each answer token's log-probability and the
entropy of the distribution it came from.

A row's limit is enforced here and only here: its sink gets no token past it, its
reading ends at it, and its last token's state is never read (a token the model
generated at its limit is never fed back, so reading it would need one more pass): a
row reads exactly what it would alone, whatever its batch-mates do.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from howsure.core.checks import check_int, check_real
from howsure.core.errors import SettingError, SettingTypeError
from howsure.core.padding import pad_rows
from howsure.probes.hooks import AnswerStats, LayerCapture
from howsure.probes.inputs import model_device
from howsure.probes.positions import base_positions, combine_positions

if TYPE_CHECKING:
    from transformers import GenerationConfig

__all__ = [
    "GenRow",
    "RowReading",
    "generate_rows",
    "generation_config",
    "reading_features",
    "reading_stats",
    "split_answers",
]

Emit = Callable[[str, Any], None]


def _ignore(kind: str, value: Any) -> None:
    """A sink for rows nobody streams."""


@dataclass(eq=False)
class GenRow:
    """One row of a :func:`generate_rows` call.

    Attributes
    ----------
    ids : sequence of int
        The rendered prompt's token ids.
    max_new_tokens : int
        This row's own answer length limit.
    emit : callable, optional
        ``emit("token", token_id)`` for each answer token as it is chosen (up to and
        including the EOS), from the generating thread; it must not block. With
        ``generate_rows(..., stream_layer=L)`` also ``emit("read", (state, logprob,
        entropy))`` for answer token ``k`` once the model has read it (before token
        ``k + 2`` is sent): its state at layer ``L`` (float32 CPU tensor, shape (d,)),
        its log-probability and its distribution's entropy (floats, nats).
    stop : threading.Event
        Set it to end this row after the current step (its consumer went away).
    top_logprobs : int, optional
        Ask for OpenAI-style log-probabilities: each answer token (EOS excluded) is
        preceded by ``emit("logprob", (token_id, logprob, top))``, ``top`` a list of the
        step's ``top_logprobs`` most likely ``(token_id, logprob)``, and the reading keeps
        them (``RowReading.top_ids`` / ``top_logprobs``). ``None``: nothing of it.
    """

    ids: Sequence[int]
    max_new_tokens: int
    emit: Emit = _ignore
    stop: threading.Event = field(default_factory=threading.Event)
    top_logprobs: int | None = None


@dataclass
class RowReading:
    """What one row's generation gave, read from the same forward passes.

    Attributes
    ----------
    answer_ids : list of int
        The answer's tokens, EOS excluded.
    token_ids : tuple of int
        The tokens generated, up to and including the first EOS.
    truncated : bool
        True when the row's limit (or its stop flag) cut the answer: no EOS came.
    prompt_state : dict of int to torch.Tensor, each shape (d,)
        Per layer, the state of the last prompt token (float32, CPU).
    token_states : dict of int to torch.Tensor, each shape (seen, d)
        Per layer, the state of each answer token that was fed back (float32, CPU):
        ``seen = len(answer_ids)``, or one less when the limit cut the answer.
    logprob, entropy : torch.Tensor of float32, shape (max(len(answer_ids), 1),)
        Each answer token's log-probability and its distribution's entropy, in nats
        (for an empty answer: the EOS step). Empty when the call recorded no statistics.
    top_ids : torch.Tensor of int64, shape (len(logprob), k)
        Each step's ``k`` most likely tokens (``k``: the row's ``top_logprobs``), most
        likely first; shape (0, 0) when the row asked for none.
    top_logprobs : torch.Tensor of float32, shape (len(logprob), k)
        Their log-probabilities.
    """

    answer_ids: list[int]
    token_ids: tuple[int, ...]
    truncated: bool
    prompt_state: dict[int, torch.Tensor]
    token_states: dict[int, torch.Tensor]
    logprob: torch.Tensor
    entropy: torch.Tensor
    top_ids: torch.Tensor = field(default_factory=lambda: torch.zeros(0, 0, dtype=torch.long))
    top_logprobs: torch.Tensor = field(default_factory=lambda: torch.zeros(0, 0))

    @property
    def seen(self) -> int:
        """How many answer tokens have a recorded state."""
        states = next(iter(self.token_states.values()), None)
        return 0 if states is None else int(states.shape[0])


def split_answers(
    new_ids: torch.Tensor | Sequence[Sequence[int]], eos: set[int]
) -> tuple[list[list[int]], list[bool]]:
    """Cut each row of generated token ids at its first EOS.

    Parameters
    ----------
    new_ids : torch.Tensor of int, shape (batch, steps), or list of list of int
        The tokens ``generate`` appended to the prompts (padding after an EOS included);
        rows of a list may differ in length.
    eos : set of int
        End-of-sequence token ids.

    Returns
    -------
    answer_ids : list of list of int
        Per row, the answer's tokens, EOS excluded.
    truncated : list of bool
        True where no EOS came, i.e. ``max_new_tokens`` cut the answer.
    """
    answer_ids, truncated = [], []
    rows = new_ids.tolist() if isinstance(new_ids, torch.Tensor) else new_ids
    for row in rows:
        row = list(row)
        stop = next((j for j, tok in enumerate(row) if tok in eos), None)
        answer_ids.append(row if stop is None else row[:stop])
        truncated.append(stop is None)
    return answer_ids, truncated


def generation_config(
    model: Any,
    *,
    default_max_new_tokens: int,
    pad_token_id: int,
    max_new_tokens: int | None = None,
    do_sample: bool | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    base: GenerationConfig | None = None,
) -> tuple[GenerationConfig, int]:
    """The checked ``GenerationConfig`` of one call, and its ``max_new_tokens``.

    Greedy unless sampling is asked for: detectors are fitted on greedy answers, and
    collection uses this function with its defaults.

    Parameters
    ----------
    model : transformers model
        Its own generation config is read for beam and return-sequence settings.
    default_max_new_tokens : int
        Used when neither ``max_new_tokens`` nor ``base`` sets it (the detector's).
    pad_token_id : int
        Set when ``base`` has none.
    max_new_tokens, do_sample, temperature, top_p : optional
        Explicit settings; they win over ``base``.
    base : transformers.GenerationConfig, optional
        Copied, never modified. Default: greedy (``do_sample=False``).

    Returns
    -------
    (GenerationConfig, int)

    Raises
    ------
    SettingTypeError
        ``base`` is not a GenerationConfig, ``do_sample`` not a bool (a ``TypeError``).
    SettingError
        A bad number; beam search, several return sequences or prompt lookup (the
        confidence is read from the one sequence the model generates); a ``ValueError``
        whose ``param`` names the setting.
    """
    from transformers import GenerationConfig

    if base is not None and not isinstance(base, GenerationConfig):
        raise SettingTypeError(
            "generation_config",
            "{param} must be a transformers.GenerationConfig, got {kind}",
            kind=type(base).__name__,
        )
    if max_new_tokens is not None:
        max_new_tokens = check_int(max_new_tokens, "max_new_tokens", min_val=1)
    if do_sample is not None and not isinstance(do_sample, bool):
        raise SettingTypeError(
            "do_sample", "{param} must be True, False or None, got {value!r}", value=do_sample
        )
    if temperature is not None:
        temperature = check_real(
            temperature, "temperature", min_val=0.0, include_boundaries="neither"
        )
    if top_p is not None:
        top_p = check_real(top_p, "top_p", min_val=0.0, max_val=1.0, include_boundaries="right")
    cfg = copy.deepcopy(base) if base is not None else GenerationConfig(do_sample=False)
    if max_new_tokens is None:
        max_new_tokens = cfg.max_new_tokens or default_max_new_tokens
    cfg.max_new_tokens = max_new_tokens
    if do_sample is not None:
        cfg.do_sample = do_sample
    if temperature is not None:
        cfg.temperature = temperature
    if top_p is not None:
        cfg.top_p = top_p
    if cfg.pad_token_id is None:
        cfg.pad_token_id = pad_token_id
    cfg.return_dict_in_generate = False
    cfg.output_hidden_states = False
    model_cfg = model.generation_config
    for name in ("num_beams", "num_return_sequences"):
        value = getattr(cfg, name, None) or getattr(model_cfg, name, None) or 1
        if value != 1:
            raise SettingError(
                name,
                "{param}={value} is not supported: the confidence is read from the one "
                "sequence the model generates; set {param}=1",
                value=value,
            )
    if getattr(cfg, "prompt_lookup_num_tokens", None):
        raise SettingError(
            "prompt_lookup_num_tokens",
            "{param} is not supported: it feeds several tokens per forward pass; leave it unset",
        )
    return cfg, int(max_new_tokens)


class _StepReads:
    """Logits processor: each step, after the statistics of the token chosen at the step
    before (token ``k``) are known, sends every row that generated token ``k`` its state
    at one layer and its statistics (``"read"`` items; see :class:`GenRow`)."""

    def __init__(
        self, stats: AnswerStats, capture: LayerCapture, layer: int, streamer: _RowStreamer
    ) -> None:
        self.stats, self.capture, self.layer, self.streamer = stats, capture, layer, streamer

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        scores = self.stats(input_ids, scores)
        k = len(self.stats.chosen_logprob) - 1  # token k's statistics are now known
        if k < 0:
            return scores
        state = self.capture.calls[self.layer][-1].float().cpu()  # (B, d): token k's
        logprob = self.stats.chosen_logprob[k].float().cpu().tolist()
        entropy = self.stats.entropy[k].float().cpu().tolist()
        for b, row in enumerate(self.streamer.rows):
            if self.streamer.counts[b] > k and not row.stop.is_set():
                row.emit("read", (state[b], logprob[b], entropy[b]))
        return scores


class _RowStreamer:
    """``generate`` streamer: each row's new token to its sink, while the row is live."""

    def __init__(self, rows: Sequence[GenRow], eos: set[int]) -> None:
        self.rows = rows
        self.eos = eos
        self.counts = [0] * len(rows)
        self.ended = [False] * len(rows)
        self._prompt_seen = False
        self.stats: AnswerStats | None = None  # set when rows ask for log-probabilities

    def _logprob(self, b: int, tok: int) -> tuple[int, float, list[tuple[int, float]]]:
        """Row ``b``'s ``"logprob"`` item for the token it just chose."""
        logp = self.stats.last[b]
        k = min(self.rows[b].top_logprobs or 0, logp.shape[-1])
        top = torch.topk(logp, k) if k else None
        pairs = (
            [] if top is None else list(zip(top.indices.tolist(), top.values.tolist(), strict=True))
        )
        return tok, float(logp[tok]), pairs

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate first puts the prompts
            self._prompt_seen = True
            return
        for i, tok in enumerate(value.reshape(len(self.rows), -1)[:, -1].tolist()):
            row = self.rows[i]
            if self.ended[i] or self.counts[i] >= row.max_new_tokens:
                continue
            self.counts[i] += 1
            self.ended[i] = tok in self.eos or row.stop.is_set()
            if row.top_logprobs is not None and tok not in self.eos and self.stats is not None:
                row.emit("logprob", self._logprob(i, int(tok)))
            row.emit("token", int(tok))

    def end(self) -> None:
        pass


def _criteria(rows: Sequence[GenRow], width: int) -> Any:
    """Stopping criteria: a row is finished once its ``stop`` flag is set or it has its
    own ``max_new_tokens`` (``generate`` ends the batch when all are)."""
    from transformers import StoppingCriteria, StoppingCriteriaList

    limits = torch.tensor([r.max_new_tokens for r in rows])
    flags = [r.stop for r in rows]

    class RowLimits(StoppingCriteria):
        """Finishes the rows that were stopped or reached their own length limit."""

        def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
            done = (input_ids.shape[1] - width) >= limits
            done |= torch.tensor([f.is_set() for f in flags])
            return done.to(input_ids.device)

    return StoppingCriteriaList([RowLimits()])


def generate_rows(
    model: Any,
    rows: Sequence[GenRow],
    *,
    config: Any,
    eos: set[int],
    pad_token_id: int,
    layers: Sequence[int] = (),
    prefill_only: bool = False,
    record_stats: bool = True,
    on_prefill: Callable[[dict[int, torch.Tensor]], None] | None = None,
    stream_layer: int | None = None,
) -> list[RowReading]:
    """Generate the rows together in this thread and read them from the same passes.

    Parameters
    ----------
    model : transformers causal LM
    rows : list of GenRow, length batch
    config : transformers.GenerationConfig
        The batch's settings (from :func:`generation_config`); its ``max_new_tokens``
        is replaced by the longest row's.
    eos : set of int
        Token ids that end an answer.
    pad_token_id : int
        Left padding of the prompts.
    layers : list of int, default ()
        Validated block indices to read (none: no hook at all).
    prefill_only : bool, default False
        Read only the prefill (the last prompt token): answer tokens' states are not
        kept (``token_states`` are empty, shape (0, d)).
    record_stats : bool, default True
        Record each answer token's log-probability and entropy (a logits processor;
        no extra pass).
    on_prefill : callable, optional
        ``on_prefill({layer: tensor (batch, d)})`` once the prefill has been read, before
        the first answer token is chosen (a score before answering).
    stream_layer : int, optional
        One of ``layers``: send each row's answer tokens' states at this layer and
        their statistics to its sink as they are read (``"read"`` items, see
        :class:`GenRow`; needs ``record_stats``), e.g. for sentence confidences while
        the answer streams.

    Returns
    -------
    list of RowReading, one per row, in order

    Raises
    ------
    ValueError
        No rows.
    Exception
        Whatever ``generate`` raised; the hooks are removed either way.
    """
    if not rows:
        raise ValueError("no rows to generate; pass at least one GenRow")
    layers = list(layers)
    device = model_device(model)
    input_ids, mask, _ = pad_rows([list(r.ids) for r in rows], pad_token_id, side="left")
    input_ids, mask = input_ids.to(device), mask.to(device)
    width = input_ids.shape[1]
    cfg = copy.copy(config)
    cfg.max_new_tokens = max(r.max_new_tokens for r in rows)
    prefill: dict[int, torch.Tensor] = {}

    def on_record(layer: int, index: int, hidden: torch.Tensor) -> None:
        if index != 0:
            return
        prefill[layer] = hidden.float().cpu()
        if on_prefill is not None and len(prefill) == len(layers):
            on_prefill(dict(prefill))

    if stream_layer is not None and (stream_layer not in layers or not record_stats):
        raise ValueError(
            f"stream_layer {stream_layer} must be one of the layers read {layers}, with "
            "record_stats=True"
        )
    asked = [r.top_logprobs for r in rows if r.top_logprobs is not None]
    record_stats = record_stats or bool(asked)
    top_k = max(asked, default=0)
    stats = AnswerStats(top_k=top_k) if record_stats else None
    capture = LayerCapture(
        model,
        layers,
        keep="last",
        max_calls=1 if prefill_only else None,
        on_record=on_record,
    )
    streamer = _RowStreamer(rows, eos)
    streamer.stats = stats
    processor: Any = stats
    if stats is not None and stream_layer is not None:
        processor = _StepReads(stats, capture, stream_layer, streamer)
    with capture as cap, torch.inference_mode():
        seqs = model.generate(
            input_ids=input_ids,
            attention_mask=mask,
            generation_config=cfg,
            streamer=streamer,
            stopping_criteria=_criteria(rows, width),
            **({"logits_processor": [processor]} if processor is not None else {}),
        )
    limits = [r.max_new_tokens for r in rows]
    new = [row[:limit] for row, limit in zip(seqs[:, width:].cpu().tolist(), limits, strict=True)]
    answer_ids, truncated = split_answers(new, eos)
    logprob = entropy = top_ids = top_lps = None
    if stats is not None:
        logprob, entropy = (t.float().cpu() for t in stats.finish(seqs[:, -1]))
        top_ids, top_lps = (t.cpu() for t in stats.tops())
    steps = {
        layer: torch.stack([c.float().cpu() for c in calls[1:]], 1)
        if len(calls) > 1
        else torch.zeros(len(rows), 0, calls[0].shape[-1])
        for layer, calls in cap.calls.items()
    }
    out = []
    for b, (ids, cut, limit) in enumerate(zip(answer_ids, truncated, limits, strict=True)):
        n = len(ids)
        # the states of the answer tokens that were fed back: a token generated at the
        # row's limit never was (alone, the generation would have ended there)
        seen = 0 if prefill_only else min(n, limit - 1, steps[layers[0]].shape[1] if layers else 0)
        n_stat = max(n, 1)
        k = rows[b].top_logprobs or 0
        tops = {}
        if k and top_ids is not None:
            tops = {"top_ids": top_ids[b, :n_stat, :k], "top_logprobs": top_lps[b, :n_stat, :k]}
        out.append(
            RowReading(
                answer_ids=ids,
                token_ids=tuple(new[b][: n + (0 if cut else 1)]),
                truncated=cut,
                prompt_state={la: prefill[la][b] for la in layers if la in prefill},
                token_states={la: steps[la][b, :seen] for la in layers},
                logprob=logprob[b, :n_stat] if logprob is not None else torch.zeros(0),
                entropy=entropy[b, :n_stat] if entropy is not None else torch.zeros(0),
                **tops,
            )
        )
    return out


def reading_features(
    readings: Sequence[RowReading], layer: int, positions: Sequence[str]
) -> dict[tuple[int, str], np.ndarray]:
    """Activations at named positions of one layer, one row per reading.

    Parameters
    ----------
    readings : list of RowReading, length n
        From :func:`generate_rows` with ``layer`` among its layers.
    layer : int
    positions : list of str
        Validated position names (a combined one is built from its parts).

    Returns
    -------
    dict of (int, str) to numpy.ndarray of float32, shape (n, d)
        ``(n, k * d)`` for a combined position of ``k`` parts. An answer position of a
        row with no recorded answer token falls back to the last prompt state.
    """
    wanted, bases = list(positions), base_positions(positions)
    out: dict[tuple[int, str], np.ndarray] = {}
    for pos in bases:
        rows = []
        for r in readings:
            states = r.token_states.get(layer)
            if pos == "last_prompt" or states is None or states.shape[0] == 0:
                rows.append(r.prompt_state[layer])
            elif pos == "last_answer":
                rows.append(states[-1])
            else:
                rows.append(states.mean(0))
        out[(layer, pos)] = torch.stack(rows).numpy().astype(np.float32)
    return combine_positions(out, wanted)


def reading_stats(readings: Sequence[RowReading]) -> dict[str, np.ndarray]:
    """The answers' token statistics (``logprob_mean``, ``logprob_min``,
    ``entropy_mean``; nats), each shape (n,), from readings that recorded them."""
    return {
        "logprob_mean": np.array([float(r.logprob.mean()) for r in readings]),
        "logprob_min": np.array([float(r.logprob.min()) for r in readings]),
        "entropy_mean": np.array([float(r.entropy.mean()) for r in readings]),
    }
