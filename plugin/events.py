"""Typed stream events: what a generation tells its consumer, in order, as it happens.

:meth:`ConfidentModel.events <howsure.plugin.confident_model.ConfidentModel.events>`
returns an :class:`EventStream` of

:class:`ConfidenceEvent`
    The calibrated confidence, as soon as it is known: right after the prefill for a
    ``last_prompt`` detector (before the first answer token), after the answer for the
    answer positions. Never sent without a detector.
:class:`TextEvent`
    A piece of the answer as it should be shown. The pieces join to the answer, or to
    nothing when the answer is withheld (abstention in ``"replace"`` mode). When a
    withheld answer cannot be known in advance (an answer-position detector with a
    threshold in ``"replace"`` mode), the answer comes as one piece after the confidence.
:class:`SentenceEvent`
    One sentence of the answer with its own confidence (with a sentence detector), each
    in order as soon as it is finished and its tokens have been read (the last ones
    when the answer ends), with the numbers of the finished answer.
:class:`EndEvent`
    The end, with the full :class:`~howsure.plugin.generation.ConfidentGeneration`.

The order is ``Confidence, Text*, End`` for ``last_prompt`` detectors; ``Text*,
Confidence, End`` for answer positions (``Confidence, Text?, End`` when the answer may
be withheld); ``Text*, End`` without a detector. With a sentence detector, sentence
events come among the text events, each after the text of its sentence, and the last
ones before the end. :meth:`ConfidentModel.stream` is a text
view of the same events; the CLI chat and the demo render them.

Lifetime: generation runs in a worker thread that starts with the first ``next()``. The
worker holds the forward hook, which records only its own thread's forward passes, and
removes it when generation ends, also on errors. ``close()``, leaving a ``with`` block,
or dropping the last reference to the stream (an exception in the consumer's loop, a
variable reassigned) stops generation after the current step and waits for the worker.
A stream kept in a variable and never read again still ends by itself at
``max_new_tokens``, hook and thread included.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from howsure.plugin.batch import Prepared, Row, run_rows_reporting
from howsure.plugin.generation import ConfidentGeneration, SentenceConfidence
from howsure.plugin.sentences import SentenceStream

__all__ = [
    "ConfidenceEvent",
    "EndEvent",
    "EventDecoder",
    "EventStream",
    "SentenceEvent",
    "StreamEvent",
    "TextEvent",
    "TextView",
]

_POLL_S = 0.05


@dataclass(frozen=True)
class ConfidenceEvent:
    """The calibrated confidence of the answer being generated.

    Attributes
    ----------
    confidence : float
        Calibrated P(answer correct) in [0, 1].
    prefix : str
        The filled-in template, e.g. ``"The model is 83% sure."``.
    abstained : bool
        Below the threshold in ``"replace"`` mode: the answer is withheld.
    flagged : bool
        Below the threshold in ``"flag"`` mode: the answer is shown, marked.
    familiarity : float or None
        How familiar the question looks to the detector (1 = typical of its training
        rows, 0 = farther out than all of them); ``None`` without a familiarity model.
    unfamiliar : bool
        Familiarity under :data:`~howsure.probes.familiarity.UNFAMILIAR_BELOW`: this
        confidence is less reliable.
    """

    confidence: float
    prefix: str
    abstained: bool = False
    flagged: bool = False
    familiarity: float | None = None
    unfamiliar: bool = False


@dataclass(frozen=True)
class TextEvent:
    """A piece of the answer, as it should be shown (see the module docstring)."""

    text: str


@dataclass(frozen=True)
class SentenceEvent:
    """One sentence of the answer and its calibrated confidence (see
    :class:`~howsure.plugin.generation.SentenceConfidence`)."""

    sentence: SentenceConfidence


@dataclass(frozen=True)
class EndEvent:
    """Generation ended; ``result`` is the whole answer with its confidence."""

    result: ConfidentGeneration


StreamEvent = ConfidenceEvent | TextEvent | SentenceEvent | EndEvent
"""One event of an :class:`EventStream`."""


class Decoding(Protocol):
    """What an :class:`EventDecoder` needs of the model it decodes for (a
    :class:`~howsure.plugin.confident_model.ConfidentModel`)."""

    tokenizer: Any
    eos_ids: set[int]
    last: ConfidentGeneration | None

    @property
    def scores_before_answer(self) -> bool: ...

    @property
    def withholds_answer(self) -> bool: ...

    def confidence_event(
        self, confidence: float, familiarity: float | None = None
    ) -> ConfidenceEvent: ...


class EventDecoder:
    """Turns one row's raw news from :func:`~howsure.plugin.batch.run_rows` (confidence,
    token ids, the result) into :data:`StreamEvent` s, in the order of the module
    docstring. Every consumer uses it: :class:`EventStream` (the wrapper, the CLI chat,
    the demo) and ``howsure serve``.

    Parameters
    ----------
    chat : ConfidentModel
    """

    def __init__(self, chat: Decoding) -> None:
        self.chat = chat
        self.prompt_first = chat.scores_before_answer
        self.withheld = chat.withholds_answer
        self.hide = self.withheld  # answer pieces are not sent
        self._ids: list[int] = []
        self._shown = ""  # answer text sent so far (stripped form)
        self._eos_seen = False
        detector = getattr(chat, "detector", None)
        sentences = None if detector is None else detector.sentences
        self._sentences = None if sentences is None else SentenceStream(sentences, chat.tokenizer)

    def feed(self, kind: str, value: Any) -> list[StreamEvent]:
        """The events of a ``"confidence"``, ``"token"`` or ``"read"`` item (often none)."""
        chat = self.chat
        if kind == "confidence":
            event = chat.confidence_event(*value)
            self.hide = self.hide or event.abstained
            return [event]
        if kind == "read":
            if self._sentences is None or self._eos_seen:
                return []
            self._sentences.read(value)
            return self._finished_sentences()
        if kind != "token":
            raise ValueError(f"feed takes 'confidence', 'token' or 'read' items, got {kind!r}")
        if self._eos_seen or value in chat.eos_ids:
            self._eos_seen = True
            return []
        self._ids.append(value)
        if self.hide:
            return []
        text = chat.tokenizer.decode(self._ids, skip_special_tokens=True).strip()
        if text.endswith("\ufffd") or not text.startswith(self._shown):
            return []  # an incomplete character: wait for the next token
        if len(text) <= len(self._shown):
            return []
        piece, self._shown = text[len(self._shown) :], text
        return [TextEvent(piece), *self._finished_sentences()]

    def _finished_sentences(self) -> list[StreamEvent]:
        """Sentence events of the answer shown so far that are finished and read."""
        if self._sentences is None or self.hide or self.withheld or not self._shown:
            return []
        ids = self._ids
        return [SentenceEvent(s) for s in self._sentences.finished(ids, self._shown)]

    def finish(self, result: ConfidentGeneration) -> list[StreamEvent]:
        """The last events, from the row's result: the rest of the answer, the confidence
        of an answer position, the end."""
        chat, out = self.chat, []
        if not self.hide:
            shown = self._shown
            rest = result.answer[len(shown) :] if result.answer.startswith(shown) else ""
            if rest:
                out.append(TextEvent(rest))
        if result.confidence is not None and not self.prompt_first:
            event = chat.confidence_event(result.confidence, result.familiarity)
            out.append(event)
            if self.withheld and not event.abstained and result.answer:
                out.append(TextEvent(result.answer))
        if not (self.hide or (result.abstained and self.withheld)):
            done = 0 if self._sentences is None else self._sentences.sent
            out += [SentenceEvent(s) for s in result.sentences[done:]]
        chat.last = result
        out.append(EndEvent(result))
        return out


class TextView:
    """The text pieces of a stream's events, for a consumer that shows plain text.

    With ``prefix=True`` (:meth:`ConfidentModel.stream
    <howsure.plugin.confident_model.ConfidentModel.stream>`): for ``last_prompt``
    detectors the prefix first, then the answer (the first piece with a leading space)
    or ``" " + abstain_message``; for answer positions the answer, then ``"\\n" +
    prefix``; when the answer is withheld until its confidence is known, one piece equal
    to the result's ``text`` at the end. With ``prefix=False``: just the answer as it
    streams, or the abstain message in place of a withheld one.

    Parameters
    ----------
    chat : ConfidentModel
    prefix : bool, default True
    """

    def __init__(self, chat: Any, *, prefix: bool = True) -> None:
        self.chat = chat
        self.prefix = prefix
        self.prompt_first = chat.scores_before_answer
        self.withheld = chat.withholds_answer
        self._shown = False

    def pieces(self, event: StreamEvent) -> list[str]:
        """The text pieces ``event`` adds (often none)."""
        if isinstance(event, ConfidenceEvent):
            tail = [" " * self.prefix + self.chat.abstain_message] if event.abstained else []
            if not self.prefix:
                return tail
            if self.prompt_first:
                return [event.prefix, *tail]
            if self.withheld:
                return []
            return [("\n" + event.prefix) if self._shown else event.prefix]
        if isinstance(event, TextEvent):
            if self.withheld and self.prefix:
                return []
            first = self.prefix and self.prompt_first and not self._shown
            self._shown = True
            return [(" " + event.text) if first else event.text]
        if isinstance(event, EndEvent) and self.withheld and self.prefix:
            return [event.result.text]
        return []


class _Run:
    """What the consumer and the worker of one stream share; it holds no reference to the
    :class:`EventStream`, so dropping the stream finalises it at once (CPython)."""

    def __init__(self, chat: Any, prepared: Prepared) -> None:
        self.queue: queue.Queue = queue.Queue()
        self.row = Row(prepared=prepared, emit=lambda kind, value: self.queue.put((kind, value)))
        self.chat = chat
        self.thread: threading.Thread | None = None
        self.result: ConfidentGeneration | None = None

    def join(self) -> None:
        """Stop the generation after the current step and wait for the worker."""
        self.row.stop.set()
        while self.thread is not None and self.thread.is_alive():
            self.thread.join(_POLL_S)


def _events(run: _Run) -> Generator[StreamEvent, None, None]:
    """The consumer: the worker's news to events (:class:`EventDecoder`). Leaving it
    (done, closed, an exception, or finalised) stops the worker."""
    decoder = EventDecoder(run.chat)
    run.thread = threading.Thread(
        target=run_rows_reporting, args=(run.chat, [run.row]), name="howsure-stream", daemon=True
    )
    run.thread.start()
    try:
        while True:
            try:
                kind, value = run.queue.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if kind == "error":
                raise value
            if kind == "done":
                result: ConfidentGeneration = value
                break
            yield from decoder.feed(kind, value)
    finally:
        run.join()
    run.result = result
    yield from decoder.finish(result)


class EventStream(Iterator[StreamEvent]):
    """The events of one generation (see the module docstring); made by
    :meth:`ConfidentModel.events <howsure.plugin.confident_model.ConfidentModel.events>`.

    Iterate it, or use it as a context manager (``with chat.events(q) as events:``) so
    that leaving the block stops the generation. :attr:`result` holds the final
    :class:`ConfidentGeneration` once the :class:`EndEvent` was sent.

    Parameters
    ----------
    chat : ConfidentModel
    prepared : Prepared
        The checked request (:meth:`ConfidentModel.prepare
        <howsure.plugin.confident_model.ConfidentModel.prepare>`).
    """

    def __init__(self, chat: Any, prepared: Prepared) -> None:
        self._run = _Run(chat, prepared)
        self._events = _events(self._run)

    @property
    def result(self) -> ConfidentGeneration | None:
        """The final :class:`ConfidentGeneration`, once the stream has ended."""
        return self._run.result

    def __next__(self) -> StreamEvent:
        return next(self._events)

    def close(self) -> None:
        """Stop the generation (after the current step) and wait for the worker."""
        self._events.close()
        self._run.join()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
