"""``howsure serve``'s ``logprobs`` / ``top_logprobs`` (checked against a teacher-forced
pass of the tiny random-weight model, plain and streamed, and with the ``openai``
client when installed), and two faults: a client that stalls mid-body is cut off by the
body timeout (408), and a request whose generation raises fails alone while its
batch-mates get their answers."""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlparse

import httpx
import pytest
import torch
from conftest import fit_tiny_detectors, tiny_server

from howsure.server.responses import token_bytes

KEY = "test-key"
MODEL = "tiny"
AUTH = {"Authorization": f"Bearer {KEY}"}
Q = ["What is 3 plus 4?", "What is the capital of France?", "What is 1 plus 1?"]


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module", params=["last_prompt", "mean_answer"])
def served(request, tiny):
    """``(url, chat)``: a server per detector position, with a short body timeout."""
    det = fit_tiny_detectors(*tiny)[request.param]
    settings = dict(batch_window_ms=300, max_tokens=24, max_n=4, body_timeout_s=0.5)
    with tiny_server(tiny, det, key=KEY, name=MODEL, **settings) as served:
        yield served


def post(url: str, body: dict, **kw) -> httpx.Response:
    full = {"model": MODEL, "messages": user(Q[0]), "max_tokens": 12, **body}
    return httpx.post(url + "/v1/chat/completions", json=full, headers=AUTH, timeout=60, **kw)


def reference(chat, question: str, answer_ids: list[int]) -> torch.Tensor:
    """The log-softmax of each answer token given the prompt and the tokens before it:
    one teacher-forced pass, shape (len(answer_ids), vocab)."""
    ids = list(chat.prepare(user(question)).ids)
    with torch.inference_mode():
        logits = chat.model(torch.tensor([ids + answer_ids])).logits[0].float()
    return torch.log_softmax(logits[len(ids) - 1 : len(ids) - 1 + len(answer_ids)], -1)


def check_content(chat, question: str, content: list[dict], k: int) -> None:
    """``content`` (OpenAI's ``logprobs.content``) against the teacher-forced pass."""
    full = chat.generate(user(question), max_new_tokens=12)
    answer = [t for t in full.token_ids if t not in chat.eos_ids]
    assert len(content) == len(answer) > 0
    ref = reference(chat, question, answer)
    for j, (entry, tok) in enumerate(zip(content, answer, strict=True)):
        assert entry["token"] == chat.tokenizer.decode([tok])
        assert entry["bytes"] == list(token_bytes(chat.tokenizer, tok))
        if "\ufffd" not in entry["token"]:
            assert entry["bytes"] == list(entry["token"].encode("utf-8"))
        assert abs(entry["logprob"] - float(ref[j, tok])) < 1e-4
        top = entry["top_logprobs"]
        assert len(top) == k
        values = [t["logprob"] for t in top]
        assert values == sorted(values, reverse=True)
        if k:
            best = torch.topk(ref[j], k).values.tolist()
            assert max(abs(a - b) for a, b in zip(values, best, strict=True)) < 1e-4
        if k and entry["logprob"] >= values[-1] + 1e-6:  # the chosen token is in the top k
            assert any(abs(t["logprob"] - entry["logprob"]) < 1e-6 for t in top)
            assert entry["token"] in [t["token"] for t in top]


def test_logprobs_match_a_teacher_forced_pass(served):
    url, chat = served
    for k in (0, 3):
        r = post(url, {"logprobs": True, "top_logprobs": k})
        assert r.status_code == 200, r.text
        lp = r.json()["choices"][0]["logprobs"]
        assert lp["refusal"] is None
        check_content(chat, Q[0], lp["content"], k)
    r = post(url, {})
    assert r.json()["choices"][0]["logprobs"] is None
    # n choices, each with its own logprobs; a batch-mate without logprobs has none
    r = post(url, {"logprobs": True, "top_logprobs": 2, "n": 2})
    for one in r.json()["choices"]:
        check_content(chat, Q[0], one["logprobs"]["content"], 2)


def test_sampled_logprobs_are_the_models_own_distribution(served):
    """Under sampling the log-probabilities are the model's log-softmax (before
    temperature), as greedy ones: the seeded answer's tokens against a teacher-forced
    pass."""
    url, chat = served
    body = {"logprobs": True, "top_logprobs": 2, "temperature": 1.7, "seed": 5}
    content = post(url, body).json()["choices"][0]["logprobs"]["content"]
    torch.manual_seed(5)
    full = chat.generate(user(Q[0]), max_new_tokens=12, do_sample=True, temperature=1.7)
    answer = [t for t in full.token_ids if t not in chat.eos_ids]
    assert [e["token"] for e in content] == [chat.tokenizer.decode([t]) for t in answer]
    ref = reference(chat, Q[0], answer)
    for j, (entry, tok) in enumerate(zip(content, answer, strict=True)):
        assert abs(entry["logprob"] - float(ref[j, tok])) < 1e-4


def test_streamed_logprobs_come_with_their_chunks(served):
    url, chat = served
    body = {"logprobs": True, "top_logprobs": 2, "stream": True}
    content, text = [], ""
    with httpx.stream(
        "POST",
        url + "/v1/chat/completions",
        json={
            "model": MODEL,
            "messages": user(Q[1]),
            "max_tokens": 12,
            "howsure": {"prefix": False},
            **body,
        },
        headers=AUTH,
        timeout=60,
    ) as r:
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if not chunk["choices"]:
                continue
            choice = chunk["choices"][0]
            piece = choice["delta"].get("content") or ""
            if choice["logprobs"] is not None:
                content += choice["logprobs"]["content"]
            elif piece:
                raise AssertionError(f"a chunk with text but no logprobs: {chunk}")
            text += piece
    check_content(chat, Q[1], content, 2)
    assert "".join(c["token"] for c in content).strip() == text.strip()


def test_logprobs_fields_are_checked(served):
    url, _ = served
    for body, field in [
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"logprobs": False, "top_logprobs": 2}, "top_logprobs"),
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
        ({"logprobs": True, "top_logprobs": -1}, "top_logprobs"),
        ({"logprobs": "yes"}, "logprobs"),
    ]:
        r = post(url, body)
        assert r.status_code == 400, body
        assert r.json()["error"]["param"] == field
    assert post(url, {"logprobs": False, "top_logprobs": None}).status_code == 200


def test_the_openai_client_reads_logprobs(served):
    openai = pytest.importorskip("openai")
    url, _ = served
    c = openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0, timeout=60)
    got = c.chat.completions.create(
        model=MODEL, messages=user(Q[2]), max_tokens=8, logprobs=True, top_logprobs=3
    )
    content = got.choices[0].logprobs.content
    assert content and all(len(t.top_logprobs) == 3 for t in content)
    assert isinstance(content[0].logprob, float) and isinstance(content[0].bytes, list)


def test_a_stalled_body_is_cut_off_and_the_next_request_served(served):
    url, _ = served
    where = urlparse(url)
    start = time.monotonic()
    with socket.create_connection((where.hostname, where.port), timeout=10) as s:
        s.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {KEY}\r\nContent-Length: 400\r\n\r\n".encode()
            + b'{"model": "tiny", "mess'
        )
        reply = b""
        while b"request_timeout" not in reply and (part := s.recv(65536)):
            reply += part  # the headers and the body may come in separate packets
        reply = reply.decode()
    took = time.monotonic() - start
    assert reply.startswith("HTTP/1.1 408"), reply
    assert "request_timeout" in reply
    assert 0.4 < took < 5
    health = httpx.get(url + "/health").json()
    assert health["queue_depth"] == 0 and health["running"] == 0
    assert post(url, {}).status_code == 200


def test_a_failing_generation_fails_alone(served):
    url, chat = served
    bad = list(chat.prepare(user("BOOM, fail here")).ids)

    def hook(module, args, kwargs):
        ids = kwargs.get("input_ids")
        if ids is not None and ids.shape[1] >= len(bad):
            if any(row[-len(bad) :] == bad for row in ids.tolist()):
                raise RuntimeError("injected failure")

    handle = chat.model.register_forward_pre_hook(hook, with_kwargs=True)
    results: dict[str, httpx.Response] = {}

    def ask(question: str) -> None:
        results[question] = post(url, {"messages": user(question)})

    try:
        before = httpx.get(url + "/health").json()["batches"]
        threads = [threading.Thread(target=ask, args=(q,)) for q in [*Q, "BOOM, fail here"]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after = httpx.get(url + "/health").json()["batches"]
    finally:
        handle.remove()
    failed = results["BOOM, fail here"]
    assert failed.status_code == 500
    assert failed.json()["error"]["type"] == "server_error"
    assert "injected failure" in failed.json()["error"]["message"]
    for q in Q:
        assert results[q].status_code == 200, results[q].text
        assert results[q].json()["choices"][0]["message"]["content"]
    assert after - before < 4  # they were batched together (then retried one by one)


def test_token_bytes_are_exact_for_pieces_of_a_character(tiny):
    """A byte-level BPE token holding part of a multi-byte character gives its own
    bytes (its lone decoding shows U+FFFD); an answer's tokens join to its UTF-8."""
    from howsure.server.responses import logprobs_json, token_bytes

    tok = tiny[1]
    text = "héllo ✓ 日本 ok"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    parts = [token_bytes(tok, i) for i in ids]
    assert b"".join(parts) == text.encode("utf-8")
    assert any("\ufffd" in tok.decode([i]) for i in ids)  # some token is part of a character
    got = logprobs_json([(i, -0.5, []) for i in ids], tok)["content"]
    assert b"".join(bytes(c["bytes"]) for c in got) == text.encode("utf-8")

    class Fallback:  # a SentencePiece-style tokenizer with byte-fallback pieces
        def convert_ids_to_tokens(self, i):
            return {0: "<0xE2>", 1: "\u2581ok"}[i]

        def decode(self, ids):
            return {0: "\ufffd", 1: " ok"}[ids[0]]

    assert token_bytes(Fallback(), 0) == b"\xe2"
    assert token_bytes(Fallback(), 1) == b" ok"
