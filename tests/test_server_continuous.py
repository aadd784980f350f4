"""``howsure serve``'s continuous batching on the tiny random-weight model: a request
that arrives while another generates joins it and ends first, with the confidence the
single-request wrapper gives; seeded sampling repeats the wrapper's seeded draw; static
batching stays available."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import torch
from conftest import fit_tiny_detectors, tiny_server

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def dets(tiny):
    return fit_tiny_detectors(*tiny)


def post(url: str, body: dict) -> httpx.Response:
    body = {"model": "tiny", "messages": user("What is 3 plus 4?"), **body}
    return httpx.post(url + "/v1/chat/completions", json=body, headers=AUTH, timeout=60)


def long_question(chat, limit: int) -> str:
    for q in ["Tell me about Paris.", "What is 3 plus 4?", "Hi", "Name a colour.", "Why?"]:
        if chat.generate(user(q), max_new_tokens=limit).truncated:
            return q
    pytest.skip("the tiny model ends every answer early")


@pytest.mark.parametrize("position", ["last_prompt", "mean_answer"])
def test_a_request_joins_the_running_generation_and_ends_first(tiny, dets, position):
    with tiny_server(tiny, dets[position], key=KEY, batch_window_ms=10) as (url, chat):
        question = long_question(chat, 60)

        def slow(module, args, kwargs):  # 15 ms a forward pass: the long answer takes ~1 s
            time.sleep(0.015)

        handle = chat.model.register_forward_pre_hook(slow, with_kwargs=True)
        ended: dict[str, float] = {}
        first_chunk = threading.Event()
        bodies: dict[str, dict] = {}

        def stream_long() -> None:
            body = {"messages": user(question), "max_tokens": 60, "stream": True}
            with httpx.stream(
                "POST",
                url + "/v1/chat/completions",
                json={"model": "tiny", **body},
                headers=AUTH,
                timeout=60,
            ) as r:
                for line in r.iter_lines():
                    if line.startswith("data: {"):
                        first_chunk.set()
            ended["long"] = time.monotonic()

        try:
            t = threading.Thread(target=stream_long)
            t.start()
            assert first_chunk.wait(30)
            r = post(url, {"max_tokens": 4})
            ended["short"] = time.monotonic()
            bodies["short"] = r.json()
            t.join()
        finally:
            handle.remove()
        assert ended["short"] < ended["long"]  # it did not wait for the running answer
        health = httpx.get(url + "/health").json()
        assert health["running"] == 0 and health["queue_depth"] == 0 and health["hooks"] == 0
        ref = chat.generate(user("What is 3 plus 4?"), max_new_tokens=4)
        got = bodies["short"]["choices"][0]
        assert got["message"]["content"] == ref.text
        assert got["confidence"]["value"] == pytest.approx(ref.confidence, abs=1e-5)


def test_seeded_sampling_repeats_the_wrappers_seeded_draw(tiny, dets):
    with tiny_server(tiny, dets["mean_answer"], key=KEY, batch_window_ms=10) as (url, chat):
        kw = {"temperature": 1.5, "max_tokens": 8, "seed": 4}
        got = post(url, kw).json()["choices"][0]
        torch.manual_seed(4)
        ref = chat.generate(
            user("What is 3 plus 4?"), do_sample=True, temperature=1.5, max_new_tokens=8
        )
        assert got["message"]["content"] == ref.text
        assert got["confidence"]["value"] == pytest.approx(ref.confidence, abs=1e-5)


def test_static_batching_is_still_served(tiny, dets):
    with tiny_server(tiny, dets["last_prompt"], key=KEY, batch_window_ms=10, batching="static") as (
        url,
        chat,
    ):
        got = post(url, {"max_tokens": 6}).json()["choices"][0]
        ref = chat.generate(user("What is 3 plus 4?"), max_new_tokens=6)
        assert got["message"]["content"] == ref.text
        assert got["confidence"]["value"] == pytest.approx(ref.confidence, abs=1e-5)
        assert httpx.get(url + "/health").json()["batching"] == "static"


def test_continuous_batching_on_a_model_that_cannot_step_is_refused(tiny, dets, monkeypatch):
    import howsure.server.batcher as batcher
    from howsure.core.errors import SettingError

    monkeypatch.setattr(batcher, "steppable", lambda model: False)
    with pytest.raises(SettingError, match="batching"):
        with tiny_server(tiny, dets["last_prompt"], key=KEY, batching="continuous"):
            pass


def test_serve_forever_steps_the_model_in_the_main_thread_and_stops_on_sigterm(tiny, dets):
    """``howsure serve``'s foreground server: uvicorn in a thread, the model in the main
    thread (where torch's thread pool steps it fastest), SIGTERM ends it cleanly."""
    import os
    import signal
    import socket

    from howsure.probes.hooks import howsure_hooks
    from howsure.server import ServerSettings, create_app
    from howsure.server.run import serve_forever

    chat = howsure_wrap(tiny, dets["last_prompt"])
    app = create_app(chat, settings=ServerSettings(api_key=KEY), model_name="tiny")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    threads: set[str] = set()
    handle = chat.model.register_forward_pre_hook(
        lambda *a: threads.add(threading.current_thread().name)
    )
    got: dict = {}

    def drive() -> None:
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(500):
                try:
                    httpx.get(url + "/health", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.02)
            got["reply"] = post(url, {"max_tokens": 3}).json()
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    t = threading.Thread(target=drive)
    t.start()
    try:
        serve_forever(app, host="127.0.0.1", port=port)
    finally:
        handle.remove()
        t.join()
    assert got["reply"]["choices"][0]["message"]["content"]
    assert threads == {threading.main_thread().name}  # every forward pass in the main thread
    assert howsure_hooks(chat.model) == 0
    assert signal.getsignal(signal.SIGTERM) is before  # the handler before it is back


def howsure_wrap(tiny, det):
    import howsure

    return howsure.wrap(*tiny, det)


def test_closing_the_batcher_mid_generation_tells_the_running_requests(tiny, dets):
    from howsure.server.batcher import Batcher, Job

    chat = howsure_wrap(tiny, dets["mean_answer"])
    question = long_question(chat, 40)
    got: list = []
    started = threading.Event()

    def emit(kind, value):
        got.append((kind, value))
        if kind == "token":
            started.set()

    batcher = Batcher(chat, max_batch_size=4, max_queue=4, window_s=0.01, continuous=True)
    try:
        job = Job(emit=emit, prepared=chat.prepare(user(question), max_new_tokens=40))
        job.streamed = True
        batcher.submit(job)
        assert started.wait(30)
    finally:
        batcher.close()
    kinds = [k for k, _ in got]
    assert kinds[-1] in ("error", "done") and kinds.count("error") + kinds.count("done") == 1
    assert batcher.running == 0
