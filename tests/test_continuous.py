"""The wrapper's continuous batch (:class:`howsure.plugin.continuous.RunningRows`) on the
tiny random-weight model: a request that joins mid-way gets the confidence the
single-request wrapper gives (to 1e-5), with the same items; faults stay with the row
that caused them."""

from __future__ import annotations

import pytest
from conftest import fit_tiny_detectors

import howsure
from howsure.plugin.batch import Row
from howsure.plugin.continuous import RunningRows
from howsure.probes.hooks import howsure_hooks

Q = ["What is 3 plus 4?", "What is the capital of France? Say it in a sentence.", "Hi"]


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def dets(tiny):
    return fit_tiny_detectors(*tiny)


@pytest.fixture(scope="module", params=["last_prompt", "mean_answer"])
def chat(request, tiny, dets):
    return howsure.wrap(*tiny, dets[request.param])


class Sink:
    """A row's news, kept."""

    def __init__(self) -> None:
        self.items: list = []

    def __call__(self, kind, value) -> None:
        self.items.append((kind, value))

    def kinds(self) -> list[str]:
        return [k for k, _ in self.items]

    def one(self, kind):
        (value,) = [v for k, v in self.items if k == kind]
        return value


def row(chat, question, sink, *, max_new_tokens=12, **kw) -> Row:
    return Row(chat.prepare(user(question), max_new_tokens=max_new_tokens), sink, **kw)


def run(running: RunningRows, joins: dict[int, list[Row]]) -> None:
    """Step until every row ended, letting ``joins[k]`` join before step ``k``."""
    k = 0
    while running.live or any(step >= k for step in joins):
        running.join(joins.pop(k, []))
        running.step()
        k += 1
    assert running.live == 0


def test_rows_joining_mid_way_get_the_single_request_confidence(chat):
    sinks = [Sink() for _ in Q]
    rows = [row(chat, q, s) for q, s in zip(Q, sinks, strict=True)]
    running = RunningRows(chat)
    run(running, {0: [rows[0]], 2: [rows[1], rows[2]]})
    assert howsure_hooks(chat.model) == 0  # off the model once the batch emptied
    for q, sink in zip(Q, sinks, strict=True):
        ref = chat.generate(user(q), max_new_tokens=12)
        got = sink.one("done")
        assert got.token_ids == ref.token_ids and got.text == ref.text
        assert got.confidence == pytest.approx(ref.confidence, abs=1e-5)
        assert tuple(v for k, v in sink.items if k == "token") == ref.token_ids
        if chat.scores_before_answer:  # the confidence comes before the first token
            assert sink.kinds()[0] == "confidence"
            assert sink.one("confidence")[0] == pytest.approx(ref.confidence, abs=1e-5)


def test_a_row_whose_prefill_fails_fails_alone(chat):
    bad = list(chat.prepare(user("BOOM")).ids)

    def hook(module, args, kwargs):
        ids = kwargs.get("input_ids")
        if ids is not None and any(r[-len(bad) :] == bad for r in ids.tolist()):
            raise RuntimeError("injected failure")

    sinks = [Sink() for _ in range(3)]
    rows = [row(chat, q, s) for q, s in zip([Q[0], "BOOM", Q[1]], sinks, strict=True)]
    handle = chat.model.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        run(RunningRows(chat), {0: rows})
    finally:
        handle.remove()
    assert sinks[1].kinds() == ["error"] and "injected" in str(sinks[1].one("error"))
    for q, sink in [(Q[0], sinks[0]), (Q[1], sinks[2])]:
        ref = chat.generate(user(q), max_new_tokens=12)
        assert sink.one("done").confidence == pytest.approx(ref.confidence, abs=1e-5)


def test_a_failed_step_starts_plain_rows_again_and_fails_streamed_ones(chat):
    calls = {"n": 0}

    def hook(module, args, kwargs):
        ids = kwargs.get("input_ids")
        if ids is not None and ids.shape[1] == 1:  # a decoding step
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("step failed")

    plain, streamed = Sink(), Sink()
    rows = [
        row(chat, Q[1], plain, restartable=True, max_new_tokens=10),
        row(chat, Q[0], streamed, max_new_tokens=10),
    ]
    handle = chat.model.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        run(RunningRows(chat), {0: rows})
    finally:
        handle.remove()
    assert streamed.kinds()[-1] == "error" and "step failed" in str(streamed.one("error"))
    ref = chat.generate(user(Q[1]), max_new_tokens=10)
    assert plain.kinds()[-1] == "done"
    assert plain.one("done").confidence == pytest.approx(ref.confidence, abs=1e-5)


def test_abort_tells_every_live_row_and_takes_the_hooks_off(chat):
    sinks = [Sink(), Sink()]
    running = RunningRows(chat)
    running.join([row(chat, q, s, max_new_tokens=12) for q, s in zip(Q[:2], sinks, strict=True)])
    running.step()
    live = running.live
    running.abort(RuntimeError("going away"))
    assert running.live == 0 and howsure_hooks(chat.model) == 0
    told = [s for s in sinks if s.kinds() and s.kinds()[-1] == "error"]
    assert len(told) == live  # the rows still generating got the error, once each
    assert all("going away" in str(s.one("error")) for s in told)
