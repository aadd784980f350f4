"""``howsure serve`` in operation: ``/metrics`` (Prometheus text), the key middleware
under a flood of wrong keys, and disconnects heard by a listener, not by polling."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time

import httpx
import pytest
from conftest import fit_tiny_detectors

import howsure
from howsure.server import RunningServer, ServerSettings, create_app
from howsure.server.app import _GONE, _listen
from howsure.server.batcher import Job
from howsure.server.metrics import Histogram

KEY = "s3cret-test-key"
MODEL = "tiny"
AUTH = {"Authorization": f"Bearer {KEY}"}
SAMPLE = re.compile(
    r"^([a-zA-Z_:][a-zA-Z0-9_:]*)"
    r'(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? (\S+)$'
)


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def det(tiny):
    return fit_tiny_detectors(*tiny)["last_prompt"]


@pytest.fixture(scope="module")
def served(tiny, det):
    """``(url, app)``: a server with a key."""
    chat = howsure.wrap(*tiny, det)
    settings = ServerSettings(api_key=KEY, batch_window_ms=5, max_tokens=16)
    app = create_app(chat, settings=settings, model_name=MODEL)
    with RunningServer(app) as server:
        yield server.url, app


def scrape(url: str) -> dict[str, float]:
    """``/metrics`` parsed strictly: every sample belongs to a family with a ``# TYPE``
    line (``_bucket``/``_sum``/``_count`` to a histogram), buckets are cumulative."""
    r = httpx.get(url + "/metrics")  # no key
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "version=0.0.4" in r.headers["content-type"]
    types: dict[str, str] = {}
    samples: dict[str, float] = {}
    for line in r.text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split(" ")[2:]
            assert kind in ("counter", "gauge", "histogram") and name not in types
            types[name] = kind
        elif line.startswith("# HELP "):
            continue
        else:
            m = SAMPLE.match(line)
            assert m, line
            name = m.group(1)
            family = name if name in types else re.sub(r"_(bucket|sum|count)$", "", name)
            assert family in types, line
            assert family == name or types[family] == "histogram", line
            samples[name + (m.group(2) or "")] = float(m.group(3))
    for name, kind in types.items():
        if kind == "histogram":
            buckets = [v for k, v in samples.items() if k.startswith(name + "_bucket{")]
            assert buckets == sorted(buckets) and buckets[-1] == samples[name + "_count"]
        if kind == "counter":
            assert name.endswith("_total")
    return samples


def outcome(samples: dict, which: str) -> float:
    return samples[f'howsure_requests_total{{outcome="{which}"}}']


def test_metrics_parse_move_and_tell_no_secret(served):
    url, _ = served
    before = scrape(url)
    assert before["howsure_queue_depth"] == 0 and before["howsure_batch_rows"] == 0
    conf = [k for k in before if k.startswith("howsure_served_confidence_bucket")]
    assert [re.search(r'le="([^"]+)"', k).group(1) for k in conf] == [
        *(f"0.{i}" for i in range(1, 10)),
        "1.0",
        "+Inf",
    ]
    body = {"model": MODEL, "messages": user("What is 3 plus 4?"), "max_tokens": 4}
    got = httpx.post(url + "/v1/chat/completions", json=body, headers=AUTH, timeout=60).json()
    n_tokens = got["usage"]["completion_tokens"]
    with httpx.stream(
        "POST", url + "/v1/chat/completions", json={**body, "stream": True}, headers=AUTH
    ) as r:
        assert list(r.iter_lines())[-2] == "data: [DONE]"
    bad = httpx.post(url + "/v1/chat/completions", json={**body, "n": 99}, headers=AUTH)
    assert bad.status_code == 400
    wrong = httpx.post(url + "/v1/score", json=body, headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401
    after = scrape(url)
    assert outcome(after, "ok") - outcome(before, "ok") == 2
    assert outcome(after, "error") - outcome(before, "error") == 1
    assert (
        after["howsure_unauthorized_requests_total"] - before["howsure_unauthorized_requests_total"]
        == 1
    )
    grown = after["howsure_generated_tokens_total"] - before["howsure_generated_tokens_total"]
    assert grown == 2 * n_tokens
    ttft = "howsure_time_to_first_token_seconds_count"
    assert after[ttft] - before[ttft] == (2 if n_tokens else 0)
    conf = "howsure_served_confidence_count"
    assert after[conf] - before[conf] == 2
    assert after["howsure_batches_total"] > before["howsure_batches_total"]
    steps = after["howsure_decode_steps_total"]
    assert steps > before["howsure_decode_steps_total"] and steps > 0  # continuous on Llama
    rows = after["howsure_step_rows_total"]
    assert steps <= rows <= steps * after["howsure_max_batch_size"]
    health = httpx.get(url + "/health").json()
    assert health["batching"] == "continuous" and health["steps"] == steps
    assert health["mean_occupancy"] == pytest.approx(rows / steps)
    text = httpx.get(url + "/metrics").text
    assert KEY not in text and "guess" not in text and "Bearer" not in text
    assert "3 plus 4" not in text


def test_a_flood_of_wrong_keys_costs_no_model_work(served, monkeypatch):
    url, app = served
    server = app.state.server
    calls = []

    def spy(name, real):
        def call(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(server.chat, "prepare", spy("prepare", server.chat.prepare))
    monkeypatch.setattr(server.batcher, "submit", spy("submit", server.batcher.submit))
    monkeypatch.setattr(server, "body", spy("body", server.body))
    before = scrape(url)
    body = {"model": MODEL, "messages": user("hi"), "answer": "x"}
    paths = ["/v1/chat/completions", "/v1/score", "/v1/models", "/v1/nothing"]
    with httpx.Client(timeout=30) as c:
        for i in range(100):
            headers = {} if i % 10 == 0 else {"Authorization": f"Bearer wrong-{i}"}
            if i % 7 == 0:
                headers = {"Authorization": f"Basic {KEY}"}  # the key, wrong scheme
            path = paths[i % len(paths)]
            if path == "/v1/models":
                r = c.get(url + path, headers=headers)
            else:
                r = c.post(url + path, json=body, headers=headers)
            assert r.status_code == 401, (i, r.text)
            err = r.json()["error"]
            assert err["code"] == "invalid_api_key" and err["type"] == "invalid_request_error"
            assert set(err) == {"message", "type", "param", "code"}
            assert KEY not in r.text
    assert calls == []  # refused before reading the body: no parsing, no model work
    after = scrape(url)
    refused = after["howsure_unauthorized_requests_total"]
    assert refused - before["howsure_unauthorized_requests_total"] == 100
    assert after["howsure_batches_total"] == before["howsure_batches_total"]
    assert outcome(after, "error") == outcome(before, "error")  # not model requests
    with httpx.Client(timeout=30) as c:  # the open paths and the right key still work
        assert c.get(url + "/health").status_code == 200
        assert c.get(url + "/v1/models", headers=AUTH).status_code == 200


def test_the_listener_stops_the_row_on_disconnect():
    async def run() -> tuple[Job, list]:
        messages = [{"type": "http.request", "body": b"", "more_body": False}]
        gone = asyncio.Event()

        async def receive():
            if messages:
                return messages.pop()
            await gone.wait()
            return {"type": "http.disconnect"}

        job = Job(emit=lambda k, v: None)
        q: asyncio.Queue = asyncio.Queue()
        task = asyncio.create_task(_listen(receive, job, q))
        await asyncio.sleep(0.01)
        assert not job.stop.is_set() and q.empty()  # a stray message is not a disconnect
        gone.set()
        await asyncio.wait_for(task, 1)
        return job, [q.get_nowait()]

    job, items = asyncio.run(run())
    assert job.stop.is_set() and items == [(_GONE, None)]


def test_a_client_gone_while_queued_frees_its_place_at_once(tiny, det):
    """With the worker held, a streamed and a plain request wait in the queue; their
    clients leave. The listener hears each disconnect at once (no send fails: nothing is
    being sent), sets its stop flag, and the worker drops both unrun."""
    model, tok = tiny
    chat = howsure.wrap(model, tok, det)
    settings = ServerSettings(max_batch_size=1, batch_window_ms=0, max_tokens=16)
    app = create_app(chat, settings=settings, model_name=MODEL)
    layer0 = howsure.probes.models.find_layers(model)[0]
    gate = threading.Event()
    handle = layer0.register_forward_pre_hook(lambda m, a: gate.wait(30) and None)  # hold
    body = {"model": MODEL, "messages": user("What is 1 plus 1?"), "max_tokens": 3}
    path = "/v1/chat/completions"

    def waiting(url: str, n: int) -> None:
        deadline = time.monotonic() + 10
        while scrape(url)["howsure_queue_depth"] != n and time.monotonic() < deadline:
            time.sleep(0.01)
        assert scrape(url)["howsure_queue_depth"] == n

    def cancelled_soon(url: str, n: int) -> None:
        deadline = time.monotonic() + 5
        while outcome(scrape(url), "cancelled") < n and time.monotonic() < deadline:
            time.sleep(0.02)
        assert outcome(scrape(url), "cancelled") == n

    try:
        with RunningServer(app) as server:
            url = server.url
            first = threading.Thread(target=httpx.post, args=(url + path,), kwargs={"json": body})
            first.start()  # runs, held by the gate
            while scrape(url)["howsure_batch_rows"] == 0:
                time.sleep(0.01)
            with httpx.stream("POST", url + path, json={**body, "stream": True}) as r:
                line = next(r.iter_lines())  # the role chunk: the request is in
                assert json.loads(line[6:])["choices"][0]["delta"]["role"] == "assistant"
                waiting(url, 1)
            cancelled_soon(url, 1)  # heard while the worker is still held
            with pytest.raises(httpx.TimeoutException):
                httpx.post(url + path, json=body, timeout=0.5)
            cancelled_soon(url, 2)
            gate.set()
            first.join()
            deadline = time.monotonic() + 10
            while outcome(scrape(url), "ok") < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            samples = scrape(url)
            assert outcome(samples, "ok") == 1 and samples["howsure_queue_depth"] == 0
            assert samples["howsure_batches_total"] == 1  # the two that left never ran
    finally:
        gate.set()
        handle.remove()


def test_histogram_bounds_are_checked():
    with pytest.raises(ValueError, match="increase"):
        Histogram([0.5, 0.1])
    h = Histogram([0.1, 1.0])
    for v in (0.05, 0.1, 0.5, 3.0):
        h.observe(v)
    assert h.lines("x")[:3] == [
        'x_bucket{le="0.1"} 2',
        'x_bucket{le="1.0"} 3',
        'x_bucket{le="+Inf"} 4',
    ]
