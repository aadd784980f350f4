"""Continuous batching of the wrapper's rows: a request joins the running generation at
the next step and leaves it when it ends, each read as alone.

:class:`RunningRows` is what ``howsure serve`` runs for a model that
:func:`~howsure.probes.stepping.steppable` accepts: the step loop of
:class:`~howsure.probes.stepping.StepBatch` with the wrapper's reading around it, the same
pieces :func:`~howsure.plugin.batch.run_rows` uses for a static batch
(:func:`~howsure.plugin.batch.reading_settings`, :func:`~howsure.plugin.batch.row_sink`,
:func:`~howsure.plugin.batch.prefill_confidences`, :func:`~howsure.plugin.batch.finish_rows`),
so every row gets the items of :mod:`howsure.plugin.batch` in the same order and a result
read exactly as the single-request wrapper reads it. A row's settings (greedy or
sampled, temperature, top-p, seed) are its own: rows with any settings share the batch.

Faults stay with their row: a group whose prefill raises is prefilled again one row at a
time, so only the row that fails gets the error; when a decoding step raises, each row
that may be generated again (nothing sent yet, or a plain request) starts again once,
the others get the error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from howsure.plugin.batch import (
    Generating,
    Row,
    Watched,
    finish_rows,
    prefill_confidences,
    reading_settings,
    row_sink,
)
from howsure.probes.generate import GenRow, RowReading
from howsure.probes.stepping import StepBatch

__all__ = ["RunningRows"]


class _Member(Watched):
    """A row in the running batch: the request, the sink its generation sends to (which
    remembers whether it sent anything), and whether it was started again already."""

    def __init__(self, row: Row, sink: Any) -> None:
        super().__init__(sink)
        self.row, self.retried = row, False


class RunningRows:
    """The running batch of one :class:`~howsure.plugin.confident_model.ConfidentModel`.

    Call it from one thread (the server's worker): :meth:`join` between steps,
    :meth:`step` to advance every row by one token, :meth:`close` at the end. The layer
    hooks are on the model only while rows are live.

    Parameters
    ----------
    chat : ConfidentModel

    Attributes
    ----------
    steps : int
        Decoding steps run.
    """

    def __init__(self, chat: Generating) -> None:
        self.chat = chat
        self.settings = reading_settings(chat)
        self._batch: StepBatch | None = None
        self._members: dict[int, _Member] = {}  # id(GenRow) -> member
        self.steps = 0

    @property
    def live(self) -> int:
        """Rows generating now."""
        return len(self._members)

    @property
    def rows(self) -> list[Row]:
        """The requests generating now."""
        return [m.row for m in self._members.values()]

    def _open(self) -> StepBatch:
        if self._batch is None:
            s = self.settings
            self._batch = StepBatch(
                self.chat.model,
                eos=self.chat.eos_ids,
                pad_token_id=self.chat.pad_id,
                layers=s.layers,
                prefill_only=s.prefill_only,
                stream_layer=s.stream_layer,
            ).__enter__()
        return self._batch

    def close(self) -> None:
        """Take the hooks off the model and forget the rows (call when none is live or
        after a failure)."""
        if self._batch is not None:
            self._batch.__exit__(None, None, None)
        self._batch = None
        self._members = {}

    def abort(self, err: BaseException) -> None:
        """Send ``err`` to every live row (``"error"``) and :meth:`close`: the server is
        going away mid-generation."""
        members = list(self._members.values())
        self.close()
        self._fail(members, err)

    # -- joining ------------------------------------------------------------------------
    def join(self, rows: Sequence[Row]) -> None:
        """Prefill ``rows`` together and add them to the batch (their first tokens are
        chosen and sent). A group whose prefill raises is prefilled again row by row,
        so only a failing row gets its ``"error"``."""
        if not rows:
            return
        members = [_Member(r, row_sink(self.chat, r)) for r in rows]
        try:
            self._join(members)
        except Exception as err:
            if len(members) == 1:
                self._fail(members, err)
                return
            for member in members:
                try:
                    self._join([member])
                except Exception as alone:  # this row's own failure
                    self._fail([member], alone)

    def _join(self, members: Sequence[_Member]) -> None:
        batch = self._open()
        gen = [
            GenRow(
                m.row.prepared.ids,
                m.row.prepared.max_new_tokens,
                emit=m,
                stop=m.row.stop,
                top_logprobs=m.row.top_logprobs,
            )
            for m in members
        ]
        rows = [m.row for m in members]
        try:
            done = batch.add(
                gen,
                configs=[r.prepared.config for r in rows],
                seeds=[r.seed for r in rows],
                on_prefill=lambda _, states: prefill_confidences(self.chat, rows, states),
            )
        except Exception:
            if not self._members:
                self.close()
            raise
        for g, m in zip(gen, members, strict=True):
            self._members[id(g)] = m
        self._finish(done)

    def _fail(self, members: Sequence[_Member], err: BaseException) -> None:
        for m in members:
            m.row.emit("error", err)

    # -- stepping -----------------------------------------------------------------------
    def step(self) -> None:
        """One decoding step for every live row; rows that ended get their result.

        When the step raises, the batch is dropped: each row that may be generated
        again (nothing sent, or ``restartable``, not stopped, not started again before)
        joins again from its prompt; the others get the ``"error"``.
        """
        if self._batch is None or not self._members:
            return
        try:
            done = self._batch.step()
        except Exception as err:
            members = list(self._members.values())
            self.close()
            again = []
            for m in members:
                if m.row.stop.is_set() or m.retried or (m.sent and not m.row.restartable):
                    self._fail([m], err)
                else:
                    again.append(m.row)
            for row in again:
                self.join([row])
                for m in self._members.values():
                    if m.row is row:
                        m.retried = True
            return
        self.steps += 1
        self._finish(done)

    def _finish(self, done: Sequence[tuple[GenRow, RowReading]]) -> None:
        """Results for the rows that ended (scored together), sent to their sinks."""
        if not done:
            return
        members = [self._members.pop(id(g)) for g, _ in done]
        try:
            finish_rows(
                self.chat,
                [m.row for m in members],
                [m.emit for m in members],
                [reading for _, reading in done],
            )
        except Exception as err:
            self._fail(members, err)
        if not self._members:
            self.close()
