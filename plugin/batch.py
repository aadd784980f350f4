"""One ``generate`` for several requests, each with its own sink, stop flag and length limit.

This is the single generation path of the wrapper: :meth:`ConfidentModel.events
<howsure.plugin.confident_model.ConfidentModel.events>` runs it for one row in a worker
thread, and ``howsure serve`` for the requests that arrived together (static batching;
continuous batching is :mod:`howsure.plugin.continuous`).

A :class:`Prepared` request is checked and tokenized before any work starts
(:meth:`ConfidentModel.prepare <howsure.plugin.confident_model.ConfidentModel.prepare>`).
A :class:`Row` adds where its news goes: :func:`run_rows` calls ``row.emit(kind,
value)`` with, in order,

``("confidence", (confidence, familiarity))``
    For a ``last_prompt`` detector, right after the prefill (before the first answer
    token); never for answer positions (their confidence is in the result).
``("token", token_id)``
    Each answer token as it is chosen, up to the row's own ``max_new_tokens``; nothing
    after the row ended (EOS, its limit, or its ``stop`` flag).
``("logprob", (token_id, logprob, top))``
    Right before each answer token's ``"token"`` (EOS excluded), for a row that asked
    for log-probabilities (``Row.top_logprobs``): its log-probability and the step's
    ``top_logprobs`` most likely ``(token_id, logprob)``, most likely first.
``("logprobs", list of (token_id, logprob, top))``
    Just before ``"done"``, for such a row: the same for every token of the final
    answer (after any stop string's cut).
``("done", ConfidentGeneration)``
    When the batch ends, with the row's full result.
``("error", exception)``
    Instead of ``"done"``, when the generation failed (:func:`run_rows_reporting`).

Rows share one left-padded ``generate`` and its settings (the ``key`` of
:class:`Prepared`: everything but ``max_new_tokens``); a row whose ``stop`` flag is set
(its consumer went away) or that reached its own ``max_new_tokens`` is marked finished
by a stopping criterion and costs only its padding afterwards, and the whole batch
stops when every row has. The forward hook is on the model only while
:func:`run_rows` runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import torch

from howsure.plugin.generation import ConfidentGeneration
from howsure.plugin.stops import StopWatch, cut_reading
from howsure.probes.generate import GenRow, RowReading, generate_rows

__all__ = [
    "Generating",
    "Prepared",
    "ReadingSettings",
    "Row",
    "Watched",
    "finish_rows",
    "logprob_items",
    "prefill_confidences",
    "reading_settings",
    "row_sink",
    "run_rows",
    "run_rows_reporting",
]

Emit = Callable[[str, Any], None]


@dataclass(frozen=True)
class Prepared:
    """A checked, tokenized request, ready to be generated.

    Attributes
    ----------
    ids : tuple of int
        The rendered prompt's token ids.
    config : transformers.GenerationConfig
        The call's settings (``max_new_tokens`` is the row's own).
    max_new_tokens : int
    key : tuple
        The settings a batch must share (sampling, temperature, top-p and the rest of
        the generation config, ``max_new_tokens`` excluded): rows with equal keys may
        be generated together.
    """

    ids: tuple[int, ...]
    config: Any
    max_new_tokens: int
    key: tuple


@dataclass
class Row:
    """One request in a batch: what it generates and where its news goes.

    Attributes
    ----------
    prepared : Prepared
    emit : callable
        ``emit(kind, value)``, called from the generating thread (see the module
        docstring); it must not block.
    stop : threading.Event
        Set it to end this row after the current step (its consumer went away).
    stop_strings : tuple of str, default ()
        End the row once its decoded answer contains one of them, and cut the answer
        right before it (:mod:`howsure.plugin.stops`): the sink never sees text from
        the stop string on, and the result's confidence is read for the kept tokens.
    top_logprobs : int, optional
        Send the answer tokens' log-probabilities and the top ``top_logprobs`` of each
        step (``"logprob"`` and ``"logprobs"`` items); ``None``: none.
    restartable : bool, default False
        The sink needs only ``"done"`` or ``"error"`` (a plain request, not a stream):
        after a failed batch the row may be generated again alone
        (:func:`run_rows_reporting`) even when it was sent tokens already.
    seed : int, optional
        Sample from a generator seeded so (:class:`~howsure.plugin.continuous.RunningRows`;
        :func:`run_rows` leaves seeding to its caller).
    """

    prepared: Prepared
    emit: Emit
    stop: threading.Event = field(default_factory=threading.Event)
    stop_strings: tuple[str, ...] = ()
    top_logprobs: int | None = None
    restartable: bool = False
    seed: int | None = None


class Generating(Protocol):
    """What :func:`run_rows` needs of the model it runs (a
    :class:`~howsure.plugin.confident_model.ConfidentModel`)."""

    model: Any
    tokenizer: Any
    detector: Any
    eos_ids: set[int]
    pad_id: int

    @property
    def scores_before_answer(self) -> bool: ...

    def results(self, readings: Sequence[RowReading]) -> list[ConfidentGeneration]: ...


def run_rows(chat: Generating, rows: Sequence[Row]) -> list[ConfidentGeneration]:
    """Generate the rows together (in this thread), telling each row's sink as it goes.

    The generation and its reading are :func:`howsure.probes.generate.generate_rows`,
    the same core that collects training data.

    Parameters
    ----------
    chat : ConfidentModel
    rows : list of Row, length batch
        Their ``prepared.key`` must be equal.

    Returns
    -------
    list of ConfidentGeneration, one per row (also sent to each sink as ``"done"``)

    Raises
    ------
    ValueError
        No rows, or rows with different settings.
    Exception
        Whatever ``generate`` raised (nothing is sent to the sinks then; see
        :func:`run_rows_reporting`). The hook is removed either way.
    """
    if not rows:
        raise ValueError("no rows to generate; pass at least one Row")
    first = rows[0].prepared
    if any(r.prepared.key != first.key for r in rows):
        raise ValueError("rows generated together must share their settings (Prepared.key)")
    reading = reading_settings(chat)
    sinks = [row_sink(chat, r) for r in rows]
    readings = generate_rows(
        chat.model,
        [
            GenRow(
                r.prepared.ids,
                r.prepared.max_new_tokens,
                emit=sink,
                stop=r.stop,
                top_logprobs=r.top_logprobs,
            )
            for r, sink in zip(rows, sinks, strict=True)
        ],
        config=first.config,
        eos=chat.eos_ids,
        pad_token_id=chat.pad_id,
        layers=reading.layers,
        prefill_only=reading.prefill_only,
        record_stats=reading.record_stats,
        on_prefill=lambda states: prefill_confidences(chat, rows, states),
        stream_layer=reading.stream_layer,
    )
    return finish_rows(chat, rows, sinks, readings)


@dataclass(frozen=True)
class ReadingSettings:
    """What a generation for ``chat`` reads (the same for every batch of its rows).

    Attributes
    ----------
    layers : list of int
        The detector's layers (none without a detector).
    prefill_only : bool
        Only the prompt is read (a ``last_prompt`` detector without sentences).
    record_stats : bool
        The answer tokens' statistics are recorded.
    stream_layer : int or None
        The sentence detector's layer, read as the answer streams.
    """

    layers: list[int]
    prefill_only: bool
    record_stats: bool
    stream_layer: int | None


def reading_settings(chat: Generating) -> ReadingSettings:
    """:class:`ReadingSettings` of ``chat``'s detector."""
    detector = chat.detector
    sentences = detector is not None and detector.sentences is not None
    return ReadingSettings(
        layers=[] if detector is None else list(detector.layers),
        prefill_only=chat.scores_before_answer and not sentences,
        record_stats=detector is not None and (bool(detector.stats) or sentences),
        stream_layer=detector.sentences.reader.layer if sentences else None,
    )


def row_sink(chat: Generating, row: Row) -> Emit:
    """Where ``row``'s generation sends its news: its ``emit``, behind a
    :class:`~howsure.plugin.stops.StopWatch` when it has stop strings."""
    if not row.stop_strings:
        return row.emit
    return StopWatch(
        row.emit,
        stops=row.stop_strings,
        tokenizer=chat.tokenizer,
        stop_flag=row.stop,
        eos=chat.eos_ids,
    )


def prefill_confidences(
    chat: Generating, rows: Sequence[Row], states: dict[int, torch.Tensor]
) -> None:
    """Send each row its ``"confidence"`` read from the prefill (``states``: per layer,
    shape (len(rows), d)), for a detector that scores before the answer; nothing
    otherwise."""
    if not chat.scores_before_answer:
        return
    detector = chat.detector
    layers = detector.layers
    prompt = detector.prompt_features({la: states[la].numpy() for la in layers})
    found = detector.assess_features(states[layers[0]].numpy(), prompt=prompt)
    for i, row in enumerate(rows):
        fam = None if found.familiarity is None else float(found.familiarity[i])
        row.emit("confidence", (float(found.confidence[i]), fam))


def finish_rows(
    chat: Generating, rows: Sequence[Row], sinks: Sequence[Emit], readings: Sequence[RowReading]
) -> list[ConfidentGeneration]:
    """The rows' results from their readings (cut where a stop string began), sent to
    their sinks (``"logprobs"`` when asked, then ``"done"``)."""
    readings = [
        cut_reading(reading, sink.kept)
        if isinstance(sink, StopWatch) and sink.kept is not None
        else reading
        for reading, sink in zip(readings, sinks, strict=True)
    ]
    results = chat.results(readings)
    for row, sink, reading, result in zip(rows, sinks, readings, results, strict=True):
        if row.top_logprobs is not None:
            sink("logprobs", logprob_items(reading))
        sink("done", result)
    return results


def logprob_items(reading: RowReading) -> list[tuple[int, float, list[tuple[int, float]]]]:
    """Each answer token of ``reading`` as ``(token_id, logprob, top)``, ``top`` the
    step's recorded most likely ``(token_id, logprob)`` (empty when none were kept)."""
    lps = reading.logprob.tolist()
    ids, vals = reading.top_ids.tolist(), reading.top_logprobs.tolist()
    return [
        (int(tok), float(lps[i]), list(zip(ids[i], vals[i], strict=True)) if i < len(ids) else [])
        for i, tok in enumerate(reading.answer_ids)
    ]


class Watched:
    """A row's sink that remembers whether it was sent anything."""

    def __init__(self, emit: Emit) -> None:
        self.emit, self.sent = emit, False

    def __call__(self, kind: str, value: Any) -> None:
        self.sent = True
        self.emit(kind, value)


def run_rows_reporting(chat: Generating, rows: Sequence[Row]) -> None:
    """:func:`run_rows`, sending an exception to the rows' sinks (``"error"``) instead
    of raising it: for a worker thread that has no caller to raise to.

    When a batch of several rows fails, each row that can be generated again (its sink
    was sent nothing yet, or it is ``restartable``, and its ``stop`` flag is not set) is
    generated alone, so a row whose generation raises fails alone and its batch-mates
    get their answers; the others get the error.
    """
    watched = [Watched(r.emit) for r in rows]
    try:
        run_rows(chat, [replace(r, emit=w) for r, w in zip(rows, watched, strict=True)])
    except BaseException as err:  # handed to the consumers, re-raised there
        if len(rows) == 1 or not isinstance(err, Exception):
            for row in rows:
                row.emit("error", err)
            return
        for row, sink in zip(rows, watched, strict=True):
            if row.stop.is_set() or (sink.sent and not row.restartable):
                row.emit("error", err)
                continue
            try:
                run_rows(chat, [row])
            except Exception as alone:  # this row's own failure
                row.emit("error", alone)
