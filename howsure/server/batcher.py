"""Batching: continuous (requests join the running generation at its next step) or
static (requests that arrive together are generated together).

One worker thread owns the model. Requests wait in a bounded queue (:meth:`Batcher.submit`
refuses one more at once).

Continuous (``continuous=True``, for models :func:`~howsure.probes.stepping.steppable`
accepts): while rows are generating, before each decoding step the worker lets up to
``max_batch_size - live`` waiting requests join (:class:`howsure.plugin.continuous.
RunningRows`: prefilled together, then stepped with the others, whatever their
settings) and runs waiting scoring requests; a row leaves as soon as it ends. When none
is generating, the oldest request waits for company as in static batching.

Static: the worker takes the oldest, waits for others with the same settings to join
(see :meth:`Batcher._take`: up to ``window_s``; a lone request waits ``window_s / 5``),
and runs up to ``max_batch_size`` of them in one ``generate``
(:func:`howsure.plugin.batch.run_rows`); a request arriving meanwhile waits for the
whole batch to end. When a batch's generation raises, its rows are generated again one
by one (:func:`howsure.plugin.batch.run_rows_reporting`).

Either way teacher-forced scoring requests run together in one pass
(:meth:`howsure.plugin.detector.Detector.assess`), only the request whose generation
fails gets the error, a request whose ``stop`` flag is set (its client went away) is
dropped before it starts and ends its row after the current step once it runs, and the
forward hooks are on the model only while rows generate.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from howsure.core.checks import check_int, check_real
from howsure.core.errors import SettingError
from howsure.plugin.batch import Prepared, Row, run_rows_reporting
from howsure.plugin.continuous import RunningRows
from howsure.plugin.sentences import score_sentences
from howsure.probes.stepping import steppable

__all__ = ["Batcher", "Job", "QueueFull", "continuous_for"]


def continuous_for(chat: Any, batching: str) -> bool:
    """Whether ``howsure serve`` batches ``chat``'s requests continuously: ``"auto"``
    when its model can be stepped row by row, ``"continuous"`` (``SettingError`` when
    it cannot), ``"static"`` never."""
    if batching == "static":
        return False
    able = steppable(chat.model)
    if batching == "continuous" and not able:
        raise SettingError(
            "batching",
            "{param}={value!r} needs a model whose cache and positions can be stepped row "
            "by row; " + type(chat.model).__name__ + " cannot: use 'static' or 'auto'",
            value=batching,
        )
    return able


class QueueFull(Exception):
    """The queue holds ``max_queue`` requests already."""


@dataclass(eq=False)
class Job:
    """One request waiting for, or in, a batch.

    Attributes
    ----------
    emit : callable
        ``emit(kind, value)``: where the request's news goes (see
        :mod:`howsure.plugin.batch`), called from the worker thread.
    prepared : Prepared, optional
        A generation request.
    score : (list of dict, str), optional
        Instead: a conversation and the answer to score.
    seed : int, optional
        A seeded request samples from its own generator (continuous batching), or runs
        in a batch of its own after ``torch.manual_seed(seed)`` (static).
    stop_strings : tuple of str, default ()
        The request's ``stop`` (see :class:`howsure.plugin.batch.Row`).
    top_logprobs : int, optional
        The request's log-probabilities: ``None`` none, else how many of each step's
        most likely tokens (see :class:`howsure.plugin.batch.Row`).
    streamed : bool, default False
        The request streams its tokens (a failed batch-mate's retry cannot restart it
        once it was sent some).
    stop : threading.Event
        Set when the client went away.
    """

    emit: Callable[[str, Any], None]
    prepared: Prepared | None = None
    score: tuple[list[dict], str] | None = None
    seed: int | None = None
    stop_strings: tuple[str, ...] = ()
    top_logprobs: int | None = None
    streamed: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    arrived: float = field(default_factory=time.monotonic)

    @property
    def key(self) -> tuple:
        """Jobs with equal keys may share a batch."""
        if self.score is not None:
            return ("score",)
        if self.seed is not None:
            return ("seeded", id(self))
        return ("chat", self.prepared.key)


class Batcher:
    """The worker thread and its bounded queue.

    Parameters
    ----------
    chat : ConfidentModel
    max_batch_size : int
    max_queue : int
    window_s : float
        How long the oldest waiting request waits for company at most; it stops waiting
        once no request has arrived for ``window_s / 5``.
    continuous : bool, default False
        Requests join the running generation between steps (see the module docstring).
    start : bool, default True
        Start the worker thread now; ``False``: call :meth:`start` or :meth:`run` later.

    Attributes
    ----------
    running : int
        Rows generating now (the batch's occupancy).
    batches, batch_rows : int
        Groups started (a static batch, or the requests that joined at one step) and
        the rows in them.
    steps, step_rows : int
        Decoding steps of the continuous batch and the rows they carried (their ratio is
        the mean occupancy).
    """

    def __init__(
        self,
        chat: Any,
        *,
        max_batch_size: int,
        max_queue: int,
        window_s: float,
        continuous: bool = False,
        start: bool = True,
    ):
        self.chat = chat
        self.max_batch_size = check_int(max_batch_size, "max_batch_size", min_val=1)
        self.max_queue = check_int(max_queue, "max_queue", min_val=1)
        self.window_s = check_real(window_s, "window_s", min_val=0.0)
        self.continuous = bool(continuous)
        self.steps = 0
        self.step_rows = 0
        self.running = 0
        self._last_size = 0
        self._current: list[Job] = []
        self.batches = 0
        self.batch_rows = 0
        self._pending: collections.deque[Job] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._worker: threading.Thread | None = None
        self._stopped = threading.Event()
        if start:
            self.start()

    def start(self) -> None:
        """Run the worker loop in a thread of its own (nothing when a worker runs)."""
        with self._cond:
            if self._worker is not None:
                return
            self._worker = threading.Thread(target=self._run, name="howsure-serve", daemon=True)
        self._worker.start()

    def run(self) -> None:
        """Run the worker loop in the calling thread until :meth:`close`.

        ``howsure serve`` runs it in the process's main thread (the HTTP server in
        another): once the main thread has run parallel torch work (loading the model
        does), torch's OpenMP pool steps the model markedly slower in any other thread
        (about 1.4x on 2 cores; see the README's load test).
        """
        with self._cond:
            if self._worker is not None:
                raise RuntimeError("the batcher's worker runs already")
            self._worker = threading.current_thread()
        self._run()

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._stopped.set()

    @property
    def depth(self) -> int:
        """Requests waiting for a batch."""
        return len(self._pending)

    def submit(self, job: Job) -> None:
        """Queue a request; :class:`QueueFull` when ``max_queue`` are waiting already."""
        with self._cond:
            if self._closed:
                raise QueueFull("the server is shutting down")
            if len(self._pending) >= self.max_queue:
                raise QueueFull(f"{len(self._pending)} requests are waiting already")
            self._pending.append(job)
            self._cond.notify_all()

    def close(self) -> None:
        """Stop taking work, stop the running batch after its current step, and wait."""
        with self._cond:
            self._closed = True
            for job in self._pending:
                job.emit("error", RuntimeError("the server is shutting down"))
            self._pending.clear()
            for job in self._current:  # the running batch ends after its current step
                job.stop.set()
            self._cond.notify_all()
            started = self._worker is not None
        if started and self._worker is not threading.current_thread():
            self._stopped.wait(timeout=60)

    # -- the worker --------------------------------------------------------------------
    def _key(self, job: Job) -> tuple:
        """Jobs with equal keys may share a batch (any generation, when continuous)."""
        if self.continuous and job.score is None:
            return ("chat",)
        return job.key

    def _take(self) -> list[Job] | None:
        """The next batch: the oldest live job and up to ``max_batch_size - 1`` more with
        its key (``None`` once closed).

        It waits for company from when both the worker is free and the job is there, up
        to ``window_s``: until as many requests have come since the worker was free as
        the last batch had (the clients it just answered, asking again) and then none for
        ``window_s / 5``. So clients answered together come back in time to share the
        next batch instead of splitting into batches that alternate, and a lone client
        waits only ``window_s / 5``."""
        free = time.monotonic()
        expected = max(1, self._last_size)
        with self._cond:
            while True:
                while self._pending and self._pending[0].stop.is_set():
                    self._pending.popleft()  # its client left before it started
                if self._closed:
                    return None
                if self._pending:
                    break
                self._cond.wait()
            first = self._pending[0]
            key = self._key(first)
            deadline = max(first.arrived, free) + self.window_s
            while not self._closed:
                same = [j for j in self._pending if self._key(j) == key and not j.stop.is_set()]
                came = sum(j.arrived >= free for j in self._pending)
                now = time.monotonic()
                quiet = max(free, *(j.arrived for j in same)) + self.window_s / 5
                left = deadline - now if came < expected else min(deadline, quiet) - now
                if len(same) >= self.max_batch_size or left <= 0 or key[0] == "seeded":
                    break
                self._cond.wait(left)
            batch = [j for j in self._pending if self._key(j) == key and not j.stop.is_set()]
            batch = batch[: self.max_batch_size]
            taken = {id(j) for j in batch}
            self._pending = collections.deque(
                j for j in self._pending if id(j) not in taken and not j.stop.is_set()
            )
            self.running = self._last_size = len(batch)
            self._current = batch
            return batch

    def _take_now(self, room: int) -> tuple[list[Job], list[Job]] | None:
        """Without waiting: up to ``room`` waiting generation requests (oldest first)
        and every waiting scoring request (up to ``max_batch_size``); ``None`` once
        closed."""
        with self._cond:
            if self._closed:
                return None
            live = [j for j in self._pending if not j.stop.is_set()]
            gen = [j for j in live if j.score is None][:room]
            score = [j for j in live if j.score is not None][: self.max_batch_size]
            taken = {id(j) for j in gen + score}
            self._pending = collections.deque(j for j in live if id(j) not in taken)
            return gen, score

    def _loop(self) -> None:
        if self.continuous:
            self._loop_continuous()
            return
        while (batch := self._take()) is not None:
            try:
                if batch[0].score is not None:
                    self._score(batch)
                else:
                    if batch[0].seed is not None:
                        torch.manual_seed(batch[0].seed)
                    run_rows_reporting(self.chat, [self._row(j) for j in batch])
            finally:
                self.batches += 1
                self.batch_rows += len(batch)
                self.running = 0
                self._current = []

    def _loop_continuous(self) -> None:
        running = RunningRows(self.chat)
        try:
            while True:
                if running.live:
                    got = self._take_now(self.max_batch_size - running.live)
                    if got is None:
                        break
                    gen, score = got
                else:
                    batch = self._take()
                    if batch is None:
                        break
                    gen, score = ([], batch) if batch[0].score is not None else (batch, [])
                if score:
                    self._counted(len(score))
                    self._score(score)
                if gen:
                    self._counted(len(gen))
                    running.join([self._row(j) for j in gen])
                live = {id(r.stop) for r in running.rows}
                joined = [*self._current, *(j for j in gen if j not in self._current)]
                self._current = [j for j in joined if id(j.stop) in live]
                self.running = running.live
                running.step()
                self.steps += 1 if self.running else 0
                self.step_rows += self.running
                self.running = running.live
        finally:  # closed (or failed): the rows still generating get told
            running.abort(RuntimeError("the server is shutting down"))
            self.running = 0
            self._current = []

    def _counted(self, rows: int) -> None:
        """Count a group of ``rows`` jobs that starts now as a batch."""
        self.batches += 1
        self.batch_rows += rows

    @staticmethod
    def _row(job: Job) -> Row:
        return Row(
            job.prepared,
            job.emit,
            stop=job.stop,
            stop_strings=job.stop_strings,
            top_logprobs=job.top_logprobs,
            restartable=not job.streamed,
            seed=job.seed,
        )

    def _score(self, batch: list[Job]) -> None:
        detector = self.chat.detector
        try:
            found = detector.assess(
                [j.score[0] for j in batch],
                [j.score[1] for j in batch],
                batch_size=len(batch),
            )
        except BaseException as err:  # handed to the requests
            for job in batch:
                job.emit("error", err)
            return
        sentences: list[tuple] = [()] * len(batch)
        if detector.sentences is not None:
            try:
                sentences = score_sentences(
                    detector.sentences,
                    detector.render([j.score[0] for j in batch], self.chat.tokenizer),
                    [j.score[1] for j in batch],
                    model=self.chat.model,
                    tokenizer=self.chat.tokenizer,
                    batch_size=len(batch),
                )
            except BaseException as err:  # handed to the requests
                for job in batch:
                    job.emit("error", err)
                return
        for i, job in enumerate(batch):
            fam = None if found.familiarity is None else float(found.familiarity[i])
            job.emit("done", (float(found.confidence[i]), fam, sentences[i]))
