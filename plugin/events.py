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
:class:`EndEvent`
    The end, with the full :class:`~howsure.plugin.generation.ConfidentGeneration`.

The order is ``Confidence, Text*, End`` for ``last_prompt`` detectors; ``Text*,
Confidence, End`` for answer positions (``Confidence, Text?, End`` when the answer may
be withheld); ``Text*, End`` without a detector. :meth:`ConfidentModel.stream` is a text
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
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from howsure.plugin.generation import ConfidentGeneration, stop_flag_criteria

__all__ = ["ConfidenceEvent", "EndEvent", "EventStream", "StreamEvent", "TextEvent"]

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
class EndEvent:
    """Generation ended; ``result`` is the whole answer with its confidence."""

    result: ConfidentGeneration


StreamEvent = ConfidenceEvent | TextEvent | EndEvent
"""One event of an :class:`EventStream`."""


class Generating(Protocol):
    """What an :class:`EventStream` needs of the model it streams (a
    :class:`~howsure.plugin.confident_model.ConfidentModel`)."""

    model: Any
    tokenizer: Any
    detector: Any
    eos_ids: set[int]
    last: ConfidentGeneration | None

    @property
    def scores_before_answer(self) -> bool: ...

    @property
    def withholds_answer(self) -> bool: ...

    def capture(self, on_record: Callable[[int, int, torch.Tensor], None] | None = None) -> Any: ...

    def answer_stats(self) -> Any: ...

    def results(
        self,
        seqs: torch.Tensor,
        width: int,
        calls: dict[int, list[torch.Tensor]],
        stats: Any = None,
    ) -> list[ConfidentGeneration]: ...

    def confidence_event(
        self, confidence: float, familiarity: float | None = None
    ) -> ConfidenceEvent: ...


class _TokenQueue:
    """``generate`` streamer that forwards new token ids to a queue (the prompt skipped)."""

    def __init__(self, events: queue.Queue) -> None:
        self.events = events
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate first puts the prompt
            self._prompt_seen = True
            return
        for tok in value.reshape(-1).tolist():
            self.events.put(("token", int(tok)))

    def end(self) -> None:
        pass


@dataclass
class _Run:
    """What the consumer and the worker of one stream share; it holds no reference to the
    :class:`EventStream`, so dropping the stream finalises it at once (CPython)."""

    chat: Generating
    inputs: tuple[torch.Tensor, torch.Tensor, Any]
    queue: queue.Queue = field(default_factory=queue.Queue)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    result: ConfidentGeneration | None = None

    def join(self) -> None:
        """Stop the generation after the current step and wait for the worker."""
        self.stop.set()
        while self.thread is not None and self.thread.is_alive():
            self.thread.join(_POLL_S)


def _work(run: _Run) -> None:
    """The worker: hook, generate, result (the hook is removed before it reports)."""
    chat = run.chat
    input_ids, mask, config = run.inputs

    def on_record(layer: int, index: int, hidden: torch.Tensor) -> None:
        if index == 0 and chat.scores_before_answer:
            found = chat.detector.assess_features(hidden.float().cpu().numpy())
            fam = None if found.familiarity is None else float(found.familiarity[0])
            run.queue.put(("confidence", (float(found.confidence[0]), fam)))

    try:
        stats = chat.answer_stats()
        with chat.capture(on_record) as cap, torch.inference_mode():
            seqs = chat.model.generate(
                input_ids=input_ids,
                attention_mask=mask,
                generation_config=config,
                streamer=_TokenQueue(run.queue),
                stopping_criteria=stop_flag_criteria(run.stop),
                **({"logits_processor": [stats]} if stats is not None else {}),
            )
        result = chat.results(seqs, input_ids.shape[1], cap.calls, stats)[0]
        run.queue.put(("done", result))
    except BaseException as err:  # handed to the consumer, re-raised there
        run.queue.put(("error", err))


def _events(run: _Run) -> Generator[StreamEvent, None, None]:
    """The consumer: the worker's tokens to text pieces, in the order of the module
    docstring. Leaving it (done, closed, an exception, or finalised) stops the worker."""
    chat = run.chat
    prompt_first, withheld = chat.scores_before_answer, chat.withholds_answer
    run.thread = threading.Thread(target=_work, args=(run,), name="howsure-stream", daemon=True)
    run.thread.start()
    answer_ids: list[int] = []
    shown = ""  # answer text sent so far (stripped form)
    hide = withheld  # answer pieces are not sent
    eos_seen = False
    try:
        while True:
            try:
                kind, value = run.queue.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if kind == "error":
                raise value
            if kind == "confidence":
                event = chat.confidence_event(*value)
                hide = hide or event.abstained
                yield event
            elif kind == "token":
                if eos_seen or value in chat.eos_ids:
                    eos_seen = True
                    continue
                answer_ids.append(value)
                if hide:
                    continue
                text = chat.tokenizer.decode(answer_ids, skip_special_tokens=True).strip()
                if text.endswith("\ufffd") or not text.startswith(shown):
                    continue  # an incomplete character: wait for the next token
                if len(text) > len(shown):
                    yield TextEvent(text[len(shown) :])
                    shown = text
            else:  # "done"
                result: ConfidentGeneration = value
                break
    finally:
        run.join()
    if not hide:
        rest = result.answer[len(shown) :] if result.answer.startswith(shown) else ""
        if rest:
            yield TextEvent(rest)
    if result.confidence is not None and not prompt_first:
        event = chat.confidence_event(result.confidence, result.familiarity)
        yield event
        if withheld and not event.abstained and result.answer:
            yield TextEvent(result.answer)
    run.result = chat.last = result
    yield EndEvent(result)


class EventStream(Iterator[StreamEvent]):
    """The events of one generation (see the module docstring); made by
    :meth:`ConfidentModel.events <howsure.plugin.confident_model.ConfidentModel.events>`.

    Iterate it, or use it as a context manager (``with chat.events(q) as events:``) so
    that leaving the block stops the generation. :attr:`result` holds the final
    :class:`ConfidentGeneration` once the :class:`EndEvent` was sent.
    """

    def __init__(
        self,
        chat: Generating,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        config: Any,
    ) -> None:
        self._run = _Run(chat=chat, inputs=(input_ids, attention_mask, config))
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
