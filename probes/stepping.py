"""Continuous batching's step loop: rows join a running generation at the next step and
leave it when they end, each read exactly as it would be alone.

:class:`StepBatch` drives ``model.forward`` itself, one decoding step for every live row
at a time, over one key/value cache (a transformers ``DynamicCache``) whose rows are
left-padded to a common width. A joining row is prefilled (with the rows that join at the
same step), its cache left-padded and stacked onto the running one; a row that ended
(its EOS, its own ``max_new_tokens``, its stop flag) is sliced out, and the columns only
padding fills are dropped. Each row has its own position ids, so padding changes nothing
it computes but float rounding.

Why not transformers' own continuous batching (``generate_batch`` / its paged-attention
manager): it packs the requests' tokens into one flattened sequence and keeps the
request-to-position map inside its scheduler, so a forward hook on a block sees a
``(1, tokens, d)`` tensor it cannot split per request, and the per-token answer
statistics, stop flags and streamed reads would need its private bookkeeping. Here every
step's hidden states come out as ``(live rows, d)`` in the order of :attr:`StepBatch.live`,
read by the same :class:`~howsure.probes.hooks.LayerCapture` hooks as
:func:`~howsure.probes.generate.generate_rows`.

Per row, as :func:`~howsure.probes.generate.generate_rows` does for a batch: the
generation config's logits processors (transformers' own list, built per row's
settings, applied to that row's own tokens), greedy or sampled (a seeded row samples
from its own ``torch.Generator``, so batch-mates never change its draw), the
log-probability and entropy of each chosen token taken before temperature and top-p, the
same sink items (``"token"``, ``"logprob"``, ``"read"``), and a
:class:`~howsure.probes.generate.RowReading` when it ends.

Only models whose cache is a plain ``DynamicCache`` of full-attention layers and whose
positions are 1-D ids (text decoders: Llama, Qwen2, Mistral, GPT-2, SmolLM2 and the like)
can be stepped so (:func:`steppable`); the others are generated in static batches by
:func:`~howsure.probes.generate.generate_rows`.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from howsure.core.padding import pad_rows
from howsure.probes.generate import GenRow, RowReading
from howsure.probes.hooks import LayerCapture
from howsure.probes.inputs import model_device

__all__ = ["StepBatch", "step_rows", "steppable"]

OnPrefill = Callable[[Sequence[GenRow], dict[int, torch.Tensor]], None]


def _cache_names(model: Any) -> tuple[str, str] | None:
    """``(forward argument, output field)`` of ``model``'s key/value cache, or ``None``."""
    params = inspect.signature(model.forward).parameters
    if "position_ids" not in params:
        return None
    for name in ("cache", "past_key_values"):
        if name in params:
            return name, name
    return None


def steppable(model: Any) -> bool:
    """Whether :class:`StepBatch` can step ``model``: a text decoder taking 1-D position
    ids whose ``DynamicCache`` holds only full-attention layers (no sliding window, no
    linear attention, no cross-attention, no multimodal positions)."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    config = model.config
    if getattr(config, "is_encoder_decoder", False) or _cache_names(model) is None:
        return False
    if any(getattr(config, name, None) is not None for name in ("vision_config", "audio_config")):
        return False
    text = config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config
    rope = getattr(text, "rope_scaling", None) or getattr(text, "rope_parameters", None) or {}
    if isinstance(rope, dict) and ("mrope_section" in rope or rope.get("type") == "mrope"):
        return False
    try:
        cache = DynamicCache(config=config)
    except Exception:  # a cache this model cannot take plainly
        return False
    return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)


class _Tap:
    """Logits processor placed after the config's processors and before its warpers:
    keeps the scores the answer statistics are read from (as ``AnswerStats`` sees them
    in ``generate``)."""

    def __init__(self) -> None:
        self.scores: torch.Tensor | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        self.scores = scores
        return scores


@dataclass
class _Live:
    """One row of the running batch."""

    row: GenRow
    ids: list[int]
    do_sample: bool
    processors: Any  # LogitsProcessorList or None (greedy, nothing to apply)
    tap: _Tap
    generator: torch.Generator | None
    position: int
    prompt_state: dict[int, torch.Tensor] = field(default_factory=dict)
    states: dict[int, list[torch.Tensor]] = field(default_factory=dict)
    logprob: list[float] = field(default_factory=list)
    entropy: list[float] = field(default_factory=list)
    top_ids: list[torch.Tensor] = field(default_factory=list)
    top_lps: list[torch.Tensor] = field(default_factory=list)
    new: list[int] = field(default_factory=list)
    fed: int = 0
    ended: bool = False


def _left_pad(t: torch.Tensor, width: int, dim: int) -> torch.Tensor:
    """``t`` padded with zeros on the left of ``dim`` to ``width``."""
    extra = width - t.shape[dim]
    if extra == 0:
        return t
    shape = list(t.shape)
    shape[dim] = extra
    return torch.cat([t.new_zeros(shape), t], dim=dim)


class StepBatch:
    """A running generation that rows join and leave between decoding steps.

    Use it as a context manager (the layer hooks are on the model only inside); all
    calls from the thread that entered it.

    Parameters
    ----------
    model : transformers causal LM
        One that :func:`steppable` accepts.
    eos : set of int
        Token ids that end an answer.
    pad_token_id : int
        Left padding of prompts prefilled together.
    layers : list of int, default ()
        Validated block indices to read.
    prefill_only : bool, default False
        Keep no answer token states (``token_states`` empty, shape (0, d)).
    stream_layer : int, optional
        One of ``layers``: send each row's answer token states at this layer with their
        statistics as they are read (``"read"`` items; see
        :class:`~howsure.probes.generate.GenRow`).

    Attributes
    ----------
    live : list of GenRow
        The rows generating now, in the batch's order.
    steps : int
        Decoding steps run (prefills not counted).
    """

    def __init__(
        self,
        model: Any,
        *,
        eos: set[int],
        pad_token_id: int,
        layers: Sequence[int] = (),
        prefill_only: bool = False,
        stream_layer: int | None = None,
    ) -> None:
        names = _cache_names(model)
        if names is None or not steppable(model):
            raise ValueError(
                f"{type(model).__name__} cannot be stepped row by row (its cache or "
                "positions are not plain); generate it in static batches (generate_rows)"
            )
        layers = list(layers)
        if stream_layer is not None and stream_layer not in layers:
            raise ValueError(f"stream_layer {stream_layer} must be one of the layers read {layers}")
        self.model, self.eos, self.pad_token_id = model, set(eos), int(pad_token_id)
        self.layers, self.prefill_only, self.stream_layer = layers, prefill_only, stream_layer
        self._arg = names[0]
        self._keep_one = "logits_to_keep" in inspect.signature(model.forward).parameters
        self.device = model_device(model)
        self._rows: list[_Live] = []
        self._cache: Any = None
        self._mask: torch.Tensor | None = None
        self._capture = LayerCapture(model, layers, keep="last")
        self._processors: dict[str, tuple[Any, bool, _Tap]] = {}
        self.steps = 0

    # -- context ------------------------------------------------------------------------
    def __enter__(self) -> StepBatch:
        self._capture.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._capture.__exit__(*exc)
        self._rows, self._cache, self._mask = [], None, None

    @property
    def live(self) -> list[GenRow]:
        return [r.row for r in self._rows]

    # -- settings -----------------------------------------------------------------------
    def _settings(self, config: Any, prompt_len: int) -> tuple[Any, bool, _Tap]:
        """``(processors or None, do_sample, tap)`` of one generation config and prompt
        length (built once per pair; some processors count from the prompt's end):
        transformers' list for it, with a :class:`_Tap` after the processors and before
        the warpers."""
        from transformers import LogitsProcessorList

        key = f"{prompt_len}:{config.to_json_string()}"
        if key not in self._processors:
            if len(self._processors) >= 64:
                self._processors.clear()
            gen, _ = self.model._prepare_generation_config(copy.deepcopy(config))
            self.model._prepare_special_tokens(gen, True, device=self.device)
            tap = _Tap()
            plist = self.model._get_logits_processor(
                generation_config=gen,
                input_ids_seq_length=prompt_len,
                logits_processor=LogitsProcessorList([tap]),
                device=self.device,
                model_kwargs={},
            )
            plain = len(plist) == 1 and not gen.do_sample
            self._processors[key] = (None if plain else plist, bool(gen.do_sample), tap)
        return self._processors[key]

    # -- the model ----------------------------------------------------------------------
    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: Any):
        extra = {"logits_to_keep": 1} if self._keep_one else {}
        out = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            **{self._arg: cache},
            **extra,
        )
        states = {}
        for la in self.layers:
            states[la] = self._capture.calls[la].pop().float().cpu()
            self._capture.calls[la].clear()
        return out.logits[:, -1].to(dtype=torch.float32), getattr(out, self._arg), states

    # -- joining ------------------------------------------------------------------------
    def add(
        self,
        rows: Sequence[GenRow],
        *,
        configs: Sequence[Any],
        seeds: Sequence[int | None] | None = None,
        on_prefill: OnPrefill | None = None,
    ) -> list[tuple[GenRow, RowReading]]:
        """Prefill ``rows`` together and let them join the batch; choose their first
        tokens.

        Parameters
        ----------
        rows : list of GenRow
        configs : list of transformers.GenerationConfig, one per row
            Each row's settings (its ``max_new_tokens`` is the row's own).
        seeds : list of (int or None), optional
            A seeded row samples from its own generator seeded so.
        on_prefill : callable, optional
            ``on_prefill(rows, {layer: tensor (len(rows), d)})`` once they are read,
            before their first tokens are chosen.

        Returns
        -------
        list of (GenRow, RowReading)
            The rows that ended at their first token (see :meth:`step`).
        """
        if not rows:
            return []
        seeds = list(seeds) if seeds is not None else [None] * len(rows)
        ids, mask, _ = pad_rows([list(r.ids) for r in rows], self.pad_token_id, side="left")
        ids, mask = ids.to(self.device), mask.to(self.device)
        positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
        with torch.inference_mode():
            logits, cache, states = self._forward(ids, mask, positions, None)
        if on_prefill is not None:
            on_prefill(list(rows), states)
        joined = []
        for i, (row, config, seed) in enumerate(zip(rows, configs, seeds, strict=True)):
            plist, sample, tap = self._settings(config, len(row.ids))
            gen = None
            if seed is not None:
                gen = torch.Generator(device=self.device)
                gen.manual_seed(int(seed))
            joined.append(
                _Live(
                    row=row,
                    ids=list(row.ids),
                    do_sample=sample,
                    processors=plist,
                    tap=tap,
                    generator=gen,
                    position=len(row.ids),
                    prompt_state={la: states[la][i] for la in self.layers},
                    states={la: [] for la in self.layers},
                )
            )
        self._stack(cache, mask)
        self._rows += joined
        self._choose(joined, logits)
        return self._leave()

    def _stack(self, cache: Any, mask: torch.Tensor) -> None:
        """Put a prefilled group's cache under the running one (both left-padded to the
        wider)."""
        if self._cache is None:
            self._cache, self._mask = cache, mask
            return
        width = max(self._mask.shape[1], mask.shape[1])
        for mine, theirs in zip(self._cache.layers, cache.layers, strict=True):
            mine.keys = torch.cat(
                [_left_pad(mine.keys, width, 2), _left_pad(theirs.keys, width, 2)]
            )
            mine.values = torch.cat(
                [_left_pad(mine.values, width, 2), _left_pad(theirs.values, width, 2)]
            )
        self._mask = torch.cat([_left_pad(self._mask, width, 1), _left_pad(mask, width, 1)])

    # -- stepping -----------------------------------------------------------------------
    def step(self) -> list[tuple[GenRow, RowReading]]:
        """One decoding step for every live row.

        Returns
        -------
        list of (GenRow, RowReading)
            The rows that ended at this step (EOS, their limit, their stop flag), with
            what they read; they have left the batch.
        """
        if not self._rows:
            return []
        live = self._rows
        ids = torch.tensor([[r.new[-1]] for r in live], device=self.device)
        positions = torch.tensor([[r.position] for r in live], device=self.device)
        self._mask = torch.cat([self._mask, self._mask.new_ones(len(live), 1)], dim=1)
        with torch.inference_mode():
            logits, self._cache, states = self._forward(ids, self._mask, positions, self._cache)
        self.steps += 1
        for b, r in enumerate(live):
            r.position += 1
            k = r.fed  # the answer token just read
            r.fed += 1
            if not self.prefill_only:
                for la in self.layers:
                    r.states[la].append(states[la][b])
            if self.stream_layer is not None and not r.row.stop.is_set():
                r.row.emit("read", (states[self.stream_layer][b], r.logprob[k], r.entropy[k]))
        self._choose(live, logits)
        return self._leave()

    def _choose(self, rows: Sequence[_Live], logits: torch.Tensor) -> None:
        """Each row's next token from its logits (rows in the order of ``logits``), its
        statistics, and its sink items; marks the rows that ended."""
        logp_all = torch.log_softmax(logits, dim=-1)  # the plain rows' in one go
        entropy_all = torch.special.entr(logp_all.exp()).sum(-1).tolist()  # 0 log 0 = 0
        greedy_all = torch.argmax(logits, dim=-1).tolist()
        for b, r in enumerate(rows):
            if r.processors is None:
                logp, entropy, tok = logp_all[b], entropy_all[b], greedy_all[b]
            else:
                ids = torch.tensor([r.ids], device=self.device)
                scores = r.processors(ids, logits[b : b + 1].clone())
                logp = torch.log_softmax(r.tap.scores.float(), dim=-1)[0]
                entropy = float(torch.special.entr(logp.exp()).sum())
                if r.do_sample:
                    probs = torch.softmax(scores, dim=-1)
                    tok = int(torch.multinomial(probs, 1, generator=r.generator)[0, 0])
                else:
                    tok = int(torch.argmax(scores[0]))
            r.logprob.append(float(logp[tok]))
            r.entropy.append(entropy)
            k = r.row.top_logprobs
            if k:
                top = torch.topk(logp, min(k, logp.shape[-1]))
                r.top_ids.append(top.indices.cpu())
                r.top_lps.append(top.values.cpu())
            r.ids.append(tok)
            r.new.append(tok)
            if k is not None and tok not in self.eos:
                pairs = (
                    list(zip(r.top_ids[-1].tolist(), r.top_lps[-1].tolist(), strict=True))
                    if k
                    else []
                )
                r.row.emit("logprob", (tok, float(logp[tok]), pairs))
            r.row.emit("token", tok)  # its sink may set the stop flag (a stop string)
            r.ended = tok in self.eos or r.row.stop.is_set() or len(r.new) >= r.row.max_new_tokens

    def _leave(self) -> list[tuple[GenRow, RowReading]]:
        """Take the ended rows out of the batch and its cache; their readings."""
        gone = [r for r in self._rows if r.ended]
        if not gone:
            return []
        keep = [i for i, r in enumerate(self._rows) if not r.ended]
        self._rows = [self._rows[i] for i in keep]
        if not keep:
            self._cache = self._mask = None
        else:
            index = torch.tensor(keep, device=self.device)
            mask = self._mask[index]
            first = int(mask.any(0).nonzero()[0, 0])  # columns only padding fills
            for layer in self._cache.layers:
                layer.keys = layer.keys[index, :, first:]
                layer.values = layer.values[index, :, first:]
            self._mask = mask[:, first:]
        return [(r.row, self._reading(r)) for r in gone]

    def _reading(self, r: _Live) -> RowReading:
        """What a row that ended read (as :func:`generate_rows` gives it)."""
        stop = next((j for j, tok in enumerate(r.new) if tok in self.eos), None)
        answer = r.new if stop is None else r.new[:stop]
        n = len(answer)
        n_stat = max(n, 1)
        seen = 0 if self.prefill_only else min(n, r.fed)
        width = next(iter(r.prompt_state.values())).shape[-1] if r.prompt_state else 0
        tops = {}
        if r.row.top_logprobs:
            tops = {
                "top_ids": torch.stack(r.top_ids[:n_stat]),
                "top_logprobs": torch.stack(r.top_lps[:n_stat]),
            }
        return RowReading(
            answer_ids=list(answer),
            token_ids=tuple(r.new[: n + (0 if stop is None else 1)]),
            truncated=stop is None,
            prompt_state=dict(r.prompt_state),
            token_states={
                la: torch.stack(r.states[la][:seen]) if seen else torch.zeros(0, width)
                for la in self.layers
            },
            logprob=torch.tensor(r.logprob[:n_stat], dtype=torch.float32),
            entropy=torch.tensor(r.entropy[:n_stat], dtype=torch.float32),
            **tops,
        )


def step_rows(
    model: Any,
    rows: Sequence[GenRow],
    *,
    configs: Sequence[Any],
    eos: set[int],
    pad_token_id: int,
    layers: Sequence[int] = (),
    prefill_only: bool = False,
    stream_layer: int | None = None,
    on_prefill: OnPrefill | None = None,
) -> list[RowReading]:
    """All ``rows`` prefilled together and stepped until each ended: what
    :func:`~howsure.probes.generate.generate_rows` returns, through :class:`StepBatch`
    (for tests and benchmarks that compare the two)."""
    out: dict[int, RowReading] = {}
    with StepBatch(
        model,
        eos=eos,
        pad_token_id=pad_token_id,
        layers=layers,
        prefill_only=prefill_only,
        stream_layer=stream_layer,
    ) as batch:
        done = batch.add(rows, configs=configs, on_prefill=on_prefill)
        while True:
            out.update({id(row): reading for row, reading in done})
            if not batch.live:
                break
            done = batch.step()
    return [out[id(r)] for r in rows]
