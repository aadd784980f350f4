"""Stop strings: end a row once its decoded answer contains one, and cut it there.

A :class:`StopWatch` sits between the generating thread and a row's sink
(:func:`howsure.plugin.batch.run_rows` puts it there for a row with ``stop_strings``):
it decodes the answer as its tokens come, sets the row's ``stop`` flag when a stop
string appears, and holds back the tokens (and their ``"read"`` items) that might be the
start of one, so a consumer never sees text at or after a stop string.

:func:`cut_reading` then cuts the row's reading to the tokens whose decoded text lies
entirely before the stop string: the answer, its token states and statistics are those
of the kept tokens, so the confidence is read for exactly the tokens returned, as the
wrapper reads an answer that ended there (every kept token was fed back to the model).
A token that straddles the stop string's start is dropped with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from howsure.probes.generate import RowReading

__all__ = ["StopWatch", "check_stop_strings", "cut_reading"]

Emit = Callable[[str, Any], None]


def check_stop_strings(stop: Any, *, max_count: int = 4) -> tuple[str, ...]:
    """``stop`` as a tuple of non-empty strings (a str is one; ``None`` is none).

    Raises
    ------
    TypeError
        Not a str, a list of str or None.
    ValueError
        More than ``max_count`` strings, or an empty one.
    """
    if stop is None:
        return ()
    items = [stop] if isinstance(stop, str) else stop
    if not isinstance(items, (list, tuple)) or not all(isinstance(s, str) for s in items):
        raise TypeError(f"stop must be a string or a list of strings; got {stop!r}")
    if len(items) > max_count:
        raise ValueError(f"stop holds {len(items)} strings, more than {max_count}")
    if any(not s for s in items):
        raise ValueError("stop strings must not be empty")
    return tuple(items)


def _kept(tokenizer: Any, ids: Sequence[int], end: int, start: int = 0) -> int:
    """How many leading tokens of ``ids`` (at least ``start``) decode to text of at most
    ``end`` characters."""
    k = start
    while k < len(ids) and len(_decode(tokenizer, ids[: k + 1])) <= end:
        k += 1
    return k


def _decode(tokenizer: Any, ids: Sequence[int]) -> str:
    return tokenizer.decode(list(ids), skip_special_tokens=True)


class StopWatch:
    """A row's sink wrapper that watches for stop strings (see the module docstring).

    Parameters
    ----------
    emit : callable
        The row's own sink.
    stops : tuple of str
    tokenizer : transformers tokenizer
    stop_flag : threading.Event
        The row's flag, set when a stop string appears.
    eos : set of int
    """

    def __init__(
        self, emit: Emit, *, stops: tuple[str, ...], tokenizer: Any, stop_flag: Any, eos: set[int]
    ) -> None:
        self.emit, self.stops, self.tokenizer = emit, stops, tokenizer
        self.flag, self.eos = stop_flag, eos
        self.ids: list[int] = []
        self.logprobs: list[Any] = []  # "logprob" items, one per token of ids (if asked)
        self.sent = 0  # tokens forwarded
        self.reads: list[Any] = []  # "read" items not yet forwarded, in token order
        self.n_read = 0  # "read" items forwarded
        self.kept: int | None = None  # set once a stop string appeared

    def _forward(self, upto: int) -> None:
        for i in range(self.sent, min(upto, len(self.ids))):
            if i < len(self.logprobs):
                self.emit("logprob", self.logprobs[i])
            self.emit("token", self.ids[i])
        self.sent = max(self.sent, upto)
        while self.reads and self.n_read < self.sent:
            self.emit("read", self.reads.pop(0))
            self.n_read += 1

    def __call__(self, kind: str, value: Any) -> None:
        if kind == "read":
            if self.kept is None or self.n_read + len(self.reads) < self.kept:
                self.reads.append(value)
                self._forward(self.sent)
            return
        if kind == "logprob":
            if self.kept is None:
                self.logprobs.append(value)
            return
        if kind != "token":
            if kind == "done" and self.kept is None:
                self._forward(len(self.ids))
            self.emit(kind, value)
            return
        if self.kept is not None:
            return
        if value in self.eos:
            self._forward(len(self.ids))
            self.emit("token", value)
            return
        self.ids.append(int(value))
        text = _decode(self.tokenizer, self.ids)
        found = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        if found:
            self.kept = _kept(self.tokenizer, self.ids, min(found), self.sent)
            self.flag.set()
            self._forward(self.kept)
            return
        # text from here on might start a stop string: hold its tokens back
        safe = len(text) - max(len(s) for s in self.stops) + 1
        self._forward(_kept(self.tokenizer, self.ids, safe, self.sent))


def cut_reading(reading: RowReading, kept: int) -> RowReading:
    """``reading`` cut to its first ``kept`` answer tokens, as an answer that ended
    there (not truncated): their token states, log-probabilities and entropies."""
    ids = list(reading.answer_ids[:kept])
    n_stat = max(kept, 1)
    return RowReading(
        answer_ids=ids,
        token_ids=tuple(ids),
        truncated=False,
        prompt_state=reading.prompt_state,
        token_states={la: s[:kept] for la, s in reading.token_states.items()},
        logprob=reading.logprob[:n_stat],
        entropy=reading.entropy[:n_stat],
        top_ids=reading.top_ids[:n_stat],
        top_logprobs=reading.top_logprobs[:n_stat],
    )
