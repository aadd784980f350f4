"""Sentences of an answer, located in its tokens: what a sentence confidence reads.

An answer's text is cut into sentences (:func:`howsure.qa.sentences.split_sentences`:
sentences, list items, code blocks); each sentence covers the answer tokens whose text
overlaps it. A sentence's features are read from the generation that produced it (a
:class:`~howsure.probes.generate.RowReading`): the mean hidden state of its tokens at one
layer (the ``mean_answer`` position, restricted to the sentence) and its tokens'
statistics (mean and minimum log-probability, mean entropy). No extra forward pass.

Training (:func:`howsure.probes.collect.collect` with ``sentences=True``) and serving
(:class:`~howsure.plugin.confident_model.ConfidentModel`) both go through
:func:`sentence_reads`, so a sentence is read the same way in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from howsure.qa.sentences import Span, split_sentences

__all__ = [
    "SENTENCE_STATS",
    "SentenceRead",
    "SentenceTable",
    "sentence_reads",
    "sentence_tokens",
    "token_ends",
]

SENTENCE_STATS: tuple[str, ...] = ("logprob_mean", "logprob_min", "entropy_mean")
"""A sentence's token statistics (nats): the answer statistics over its tokens only."""


def token_ends(tokenizer: Any, answer_ids: Sequence[int]) -> list[int]:
    """Where each answer token's text ends in the answer's text.

    The answer's text is ``tokenizer.decode(answer_ids, skip_special_tokens=True)
    .strip()``, as every front end shows it.

    Parameters
    ----------
    tokenizer : transformers tokenizer
    answer_ids : sequence of int, length n

    Returns
    -------
    list of int, length n
        Non-decreasing character offsets, each in ``[0, len(text)]``: token ``k`` covers
        ``text[ends[k - 1]:ends[k]]`` (from 0 for the first).
    """
    ids = list(answer_ids)
    raw = tokenizer.decode(ids, skip_special_tokens=True)
    lead = len(raw) - len(raw.lstrip())
    size = len(raw.strip())
    ends, last = [], 0
    for k in range(len(ids)):
        prefix = tokenizer.decode(ids[: k + 1], skip_special_tokens=True)
        last = max(last, min(size, max(0, len(prefix.rstrip("\ufffd")) - lead)))
        ends.append(last)
    return ends


def sentence_tokens(ends: Sequence[int], span: Span) -> tuple[int, int]:
    """The tokens ``[first, stop)`` whose text overlaps ``span`` (``ends`` from
    :func:`token_ends`); ``first == stop`` when none does."""
    starts = [0, *ends[:-1]]
    first = next((k for k, e in enumerate(ends) if e > span.start), len(ends))
    stop = sum(1 for s in starts if s < span.end)
    return first, max(first, stop)


@dataclass(frozen=True)
class SentenceRead:
    """One sentence of an answer and what the generation read for it.

    Attributes
    ----------
    span : Span
        The sentence and its character offsets into the answer's text.
    first, stop : int
        Its answer tokens ``[first, stop)``.
    states : dict of int to numpy.ndarray of float32, each shape (d,)
        Per layer asked, the mean hidden state of its tokens (of those fed back to the
        model; the last prompt token's state when none was).
    stats : dict of str to float
        :data:`SENTENCE_STATS` over its tokens.
    """

    span: Span
    first: int
    stop: int
    states: dict[int, np.ndarray]
    stats: dict[str, float]


def sentence_reads(
    reading: Any,
    tokenizer: Any,
    layers: Sequence[int],
    *,
    text: str | None = None,
    spans: Sequence[Span] | None = None,
) -> list[SentenceRead]:
    """Each sentence of one generated answer with its features.

    Parameters
    ----------
    reading : RowReading
        From :func:`~howsure.probes.generate.generate_rows` with ``layers`` read and
        statistics recorded.
    tokenizer : transformers tokenizer
    layers : sequence of int
    text : str, optional
        The answer's text, if already decoded (else decoded here).
    spans : sequence of Span, optional
        Only these sentences of ``text`` (default: all, by
        :func:`~howsure.qa.sentences.split_sentences`).

    Returns
    -------
    list of SentenceRead
        In order; empty for an empty answer.
    """
    ids = reading.answer_ids
    if text is None:
        text = tokenizer.decode(ids, skip_special_tokens=True).strip()
    spans = split_sentences(text) if spans is None else tuple(spans)
    if not spans:
        return []
    ends = token_ends(tokenizer, ids)
    seen = reading.seen
    logprob, entropy = reading.logprob, reading.entropy
    out = []
    for span in spans:
        first, stop = sentence_tokens(ends, span)
        if stop <= first:  # no token of its own (cannot happen for decoded text)
            first, stop = max(0, min(first, len(ids) - 1)), max(1, min(first + 1, len(ids)))
        states = {}
        for layer in layers:
            fed: torch.Tensor = reading.token_states[layer][first : min(stop, seen)]
            state = fed.mean(0) if fed.shape[0] else reading.prompt_state[layer]
            states[layer] = state.numpy().astype(np.float32)
        lp, ent = logprob[first:stop], entropy[first:stop]
        if lp.numel() == 0:
            lp, ent = logprob[-1:], entropy[-1:]
        out.append(
            SentenceRead(
                span=span,
                first=first,
                stop=stop,
                states=states,
                stats={
                    "logprob_mean": float(lp.mean()),
                    "logprob_min": float(lp.min()),
                    "entropy_mean": float(ent.mean()),
                },
            )
        )
    return out


@dataclass
class SentenceTable:
    """The sentences of a collection's answers, one row per sentence.

    Attributes
    ----------
    row : numpy.ndarray of int64, shape (m,)
        The answer (collection row) each sentence belongs to, non-decreasing.
    start, end : numpy.ndarray of int64, shape (m,)
        Character offsets into that answer's text.
    kind : numpy.ndarray of str, shape (m,)
        ``"sentence"``, ``"item"`` or ``"code"`` (:class:`~howsure.qa.sentences.Span`).
    states : dict of int to numpy.ndarray, each shape (m, d)
        Per layer, each sentence's mean token state (float32, or float16 when stored so).
    stats : dict of str to numpy.ndarray of float64, shape (m,)
        :data:`SENTENCE_STATS`.
    """

    row: np.ndarray
    start: np.ndarray
    end: np.ndarray
    kind: np.ndarray
    states: dict[int, np.ndarray]
    stats: dict[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.row.shape[0])

    @classmethod
    def from_reads(
        cls, reads: Sequence[Sequence[SentenceRead]], layers: Sequence[int]
    ) -> SentenceTable:
        """The table of every answer's :func:`sentence_reads`, answers in order."""
        flat = [(i, s) for i, answer in enumerate(reads) for s in answer]
        d = {la: next((s.states[la].shape[0] for _, s in flat), 0) for la in layers}
        return cls(
            row=np.asarray([i for i, _ in flat], dtype=np.int64),
            start=np.asarray([s.span.start for _, s in flat], dtype=np.int64),
            end=np.asarray([s.span.end for _, s in flat], dtype=np.int64),
            kind=np.asarray([s.span.kind for _, s in flat], dtype=str),
            states={
                la: np.stack([s.states[la] for _, s in flat])
                if flat
                else np.zeros((0, d[la]), np.float32)
                for la in layers
            },
            stats={
                k: np.asarray([s.stats[k] for _, s in flat], np.float64) for k in SENTENCE_STATS
            },
        )

    def take(self, rows: np.ndarray) -> SentenceTable:
        """The sentences of the answers ``rows`` (indices into the collection, in order),
        renumbered ``0 .. len(rows) - 1``."""
        rows = np.asarray(rows, dtype=np.int64)
        new = np.full(int(max(self.row.max(initial=-1), rows.max(initial=-1))) + 1, -1)
        new[rows] = np.arange(len(rows))
        keep = np.flatnonzero(new[self.row] >= 0) if len(self) else np.zeros(0, np.int64)
        keep = keep[np.argsort(new[self.row[keep]], kind="stable")]
        return self._sliced(keep, new[self.row[keep]])

    def _sliced(self, keep: np.ndarray, row: np.ndarray) -> SentenceTable:
        return SentenceTable(
            row=np.asarray(row, dtype=np.int64),
            start=self.start[keep],
            end=self.end[keep],
            kind=self.kind[keep],
            states={la: v[keep] for la, v in self.states.items()},
            stats={k: v[keep] for k, v in self.stats.items()},
        )

    @staticmethod
    def concat(tables: Sequence[SentenceTable], sizes: Sequence[int]) -> SentenceTable:
        """Tables of collections of ``sizes`` answers, one after the other (only the
        layers all have)."""
        offsets = np.cumsum([0, *sizes[:-1]])
        layers = set.intersection(*(set(t.states) for t in tables))
        return SentenceTable(
            row=np.concatenate([t.row + o for t, o in zip(tables, offsets, strict=True)]),
            start=np.concatenate([t.start for t in tables]),
            end=np.concatenate([t.end for t in tables]),
            kind=np.concatenate([t.kind for t in tables]),
            states={la: np.concatenate([t.states[la] for t in tables]) for la in sorted(layers)},
            stats={k: np.concatenate([t.stats[k] for t in tables]) for k in SENTENCE_STATS},
        )

    def tensors(self) -> dict[str, np.ndarray]:
        """Every array by a safetensors name (``kind`` aside: it goes to JSON)."""
        out = {"row": self.row, "start": self.start, "end": self.end}
        out |= {f"L{la}": np.ascontiguousarray(v) for la, v in self.states.items()}
        out |= {f"stat.{k}": v for k, v in self.stats.items()}
        return out

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], kind: Sequence[str]) -> SentenceTable:
        """The inverse of :meth:`tensors`; ``ValueError`` naming what is missing."""
        need = ["row", "start", "end", *(f"stat.{k}" for k in SENTENCE_STATS)]
        missing = [k for k in need if k not in tensors]
        if missing or len(kind) != len(tensors.get("row", ())):
            raise ValueError(f"sentence table incomplete: missing {missing or ['kind']}")
        return cls(
            row=tensors["row"].astype(np.int64),
            start=tensors["start"].astype(np.int64),
            end=tensors["end"].astype(np.int64),
            kind=np.asarray(list(kind), dtype=str),
            states={int(k[1:]): v for k, v in tensors.items() if k.startswith("L")},
            stats={k: tensors[f"stat.{k}"].astype(np.float64) for k in SENTENCE_STATS},
        )
