"""One ``generate`` for several requests, each with its own sink, stop flag and length limit.

This is the single generation path of the wrapper: :meth:`ConfidentModel.events
<howsure.plugin.confident_model.ConfidentModel.events>` runs it for one row in a worker
thread, and ``howsure serve`` for the requests that arrived together (dynamic batching).

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
from dataclasses import dataclass, field
from typing import Any, Protocol

from howsure.plugin.generation import ConfidentGeneration
from howsure.plugin.stops import StopWatch, cut_reading
from howsure.probes.generate import GenRow, RowReading, generate_rows

__all__ = ["Generating", "Prepared", "Row", "run_rows", "run_rows_reporting"]

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
    """

    prepared: Prepared
    emit: Emit
    stop: threading.Event = field(default_factory=threading.Event)
    stop_strings: tuple[str, ...] = ()


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
    detector = chat.detector
    layers = [] if detector is None else detector.layers
    sentences = detector is not None and detector.sentences is not None

    def on_prefill(states: dict) -> None:
        if not chat.scores_before_answer:
            return
        prompt = detector.prompt_features({la: states[la].numpy() for la in layers})
        found = detector.assess_features(states[layers[0]].numpy(), prompt=prompt)
        for i, row in enumerate(rows):
            fam = None if found.familiarity is None else float(found.familiarity[i])
            row.emit("confidence", (float(found.confidence[i]), fam))

    sinks: list[Any] = [
        StopWatch(
            r.emit,
            stops=r.stop_strings,
            tokenizer=chat.tokenizer,
            stop_flag=r.stop,
            eos=chat.eos_ids,
        )
        if r.stop_strings
        else r.emit
        for r in rows
    ]
    readings = generate_rows(
        chat.model,
        [
            GenRow(r.prepared.ids, r.prepared.max_new_tokens, emit=sink, stop=r.stop)
            for r, sink in zip(rows, sinks, strict=True)
        ],
        config=first.config,
        eos=chat.eos_ids,
        pad_token_id=chat.pad_id,
        layers=layers,
        prefill_only=chat.scores_before_answer and not sentences,
        record_stats=detector is not None and (bool(detector.stats) or sentences),
        on_prefill=on_prefill,
        stream_layer=detector.sentences.reader.layer if sentences else None,
    )
    readings = [
        cut_reading(reading, sink.kept)
        if isinstance(sink, StopWatch) and sink.kept is not None
        else reading
        for reading, sink in zip(readings, sinks, strict=True)
    ]
    results = chat.results(readings)
    for sink, result in zip(sinks, results, strict=True):
        sink("done", result)
    return results


def run_rows_reporting(chat: Generating, rows: Sequence[Row]) -> None:
    """:func:`run_rows`, sending an exception to every row's sink (``"error"``) instead
    of raising it: for a worker thread that has no caller to raise to."""
    try:
        run_rows(chat, rows)
    except BaseException as err:  # handed to the consumers, re-raised there
        for row in rows:
            row.emit("error", err)
