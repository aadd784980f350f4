"""``howsure serve``'s OpenAI request options on the tiny random-weight model: ``stop``,
``n``, ``seed`` with ``n``, checked with the official ``openai`` client."""

from __future__ import annotations

import httpx
import openai
import pytest
from conftest import fit_tiny_detectors, tiny_server

KEY = "test-key"
MODEL = "tiny"
Q = ["What is 3 plus 4?", "What is the capital of France?", "What is 1 plus 1?"]


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def dets(tiny):
    model, tok = tiny
    return fit_tiny_detectors(model, tok)


@pytest.fixture(scope="module", params=["last_prompt", "mean_answer"])
def served(request, tiny, dets):
    """``(url, chat)``: a server per detector position."""
    settings = dict(batch_window_ms=20, max_tokens=64, max_n=4)
    with tiny_server(tiny, dets[request.param], key=KEY, name=MODEL, **settings) as served:
        yield served


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0, timeout=60)


def error_of(url: str, body: dict) -> dict:
    r = httpx.post(
        url + "/v1/chat/completions",
        json={"model": MODEL, "messages": user("hi"), **body},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=60,
    )
    assert r.status_code == 400, r.text
    return r.json()["error"]


def _stop_in(chat, answer_ids: list[int]) -> tuple[str, list[int]]:
    """A stop string taken from the middle of an answer, and the tokens before it: the
    text of a middle token, cut where the decoded prefix ends (so the kept tokens'
    text re-tokenizes to themselves, for a teacher-forced reference)."""
    tok = chat.tokenizer
    for k in range(len(answer_ids) // 2, len(answer_ids) - 1):
        kept = answer_ids[:k]
        before = tok.decode(kept, skip_special_tokens=True)
        text = tok.decode(answer_ids, skip_special_tokens=True)
        stop = text[len(before) : len(before) + 2]
        if (
            before.strip()
            and stop.strip()
            and stop not in before
            and tok(before, add_special_tokens=False)["input_ids"] == kept
        ):
            return stop, kept
    pytest.skip("no usable stop string in the tiny model's answer")


def test_stop_cuts_the_answer_and_reads_the_kept_tokens(served):
    url, chat = served
    c = client(url)
    full = chat.generate(user(Q[0]))
    ids = [t for t in full.token_ids if t not in chat.eos_ids]
    stop, kept = _stop_in(chat, ids)
    assert stop in chat.tokenizer.decode(ids, skip_special_tokens=True)
    for stops in (stop, ["\u2603never", stop]):
        got = c.chat.completions.create(
            model=MODEL, messages=user(Q[0]), stop=stops, extra_body={"howsure": {"prefix": False}}
        )
        choice = got.choices[0]
        cut = chat.tokenizer.decode(kept, skip_special_tokens=True).strip()
        assert choice.message.content == cut and stop not in choice.message.content
        assert choice.finish_reason == "stop"
        assert got.usage.completion_tokens == len(kept)
        # the wrapper reads the same kept tokens when its limit is one past them (the
        # token at the limit is never fed back); the tiny tokenizer does not round-trip
        # the stripped text ("7" vs " 7"), so Detector.score only when it does
        ref = chat.generate(user(Q[0]), max_new_tokens=len(kept) + 1).confidence
        assert choice.confidence["value"] == pytest.approx(ref, abs=1e-5, rel=0)
        if chat.tokenizer(cut, add_special_tokens=False)["input_ids"] == kept:
            score = chat.detector.score(
                [user(Q[0])], [cut], model=chat.model, tokenizer=chat.tokenizer
            )[0]
            assert choice.confidence["value"] == pytest.approx(score, abs=1e-5, rel=0)
    # streamed: the text before the stop string only
    chunks = list(
        c.chat.completions.create(
            model=MODEL,
            messages=user(Q[0]),
            stop=stop,
            stream=True,
            extra_body={"howsure": {"prefix": False}},
        )
    )
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text.strip() == cut and stop not in text
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_a_stop_string_never_met_changes_nothing(served):
    url, chat = served
    ref = chat.generate(user(Q[0]))
    got = client(url).chat.completions.create(
        model=MODEL, messages=user(Q[0]), stop=["\u2603\u2603"]
    )
    assert got.choices[0].message.content == ref.text
    assert got.choices[0].confidence["value"] == pytest.approx(ref.confidence, abs=1e-9)


def test_n_choices_each_with_its_confidence(served):
    url, chat = served
    ref = chat.generate(user(Q[2]))
    got = client(url).chat.completions.create(model=MODEL, messages=user(Q[2]), n=3)
    assert [ch.index for ch in got.choices] == [0, 1, 2]
    for ch in got.choices:  # greedy: the same answer three times
        assert ch.message.content == ref.text
        assert ch.confidence["value"] == pytest.approx(ref.confidence, abs=1e-5)  # batched
    assert got.usage.completion_tokens == 3 * len(ref.token_ids)
    # sampled with a seed: choice i uses seed + i, so the request is repeatable
    kw = {"model": MODEL, "messages": user(Q[2]), "temperature": 1.5, "max_tokens": 8}
    first = client(url).chat.completions.create(**kw, n=2, seed=3)
    again = client(url).chat.completions.create(**kw, n=2, seed=3)
    assert [ch.message.content for ch in first.choices] == [
        ch.message.content for ch in again.choices
    ]
    one = client(url).chat.completions.create(**kw, seed=4)
    assert one.choices[0].message.content == first.choices[1].message.content


def test_bad_options_are_refused_by_name(served):
    url, _ = served
    assert error_of(url, {"stop": ["a", "b", "c", "d", "e"]})["param"] == "stop"
    assert error_of(url, {"stop": [""]})["param"] == "stop"
    assert error_of(url, {"stop": 3})["param"] == "stop"
    assert error_of(url, {"n": 5})["param"] == "n"  # over this server's cap of 4
    assert error_of(url, {"n": 0})["param"] == "n"
    err = error_of(url, {"n": 2, "stream": True})
    assert err["param"] == "n" and "stream" in err["message"]
    assert error_of(url, {"response_format": {"type": "json_schema"}})["param"] == (
        "response_format"
    )
    ok = client(url).chat.completions.create(
        model=MODEL, messages=user("hi"), max_tokens=2, response_format={"type": "text"}
    )
    assert ok.choices[0].message.content


def test_max_completion_tokens_is_the_answer_limit(served):
    """OpenAI's newer name for ``max_tokens``, through the official client: the same
    answer and confidence as the wrapper with that limit; both names, differing, are
    refused by name."""
    url, chat = served
    got = client(url).chat.completions.create(
        model=MODEL,
        messages=user(Q[1]),
        max_completion_tokens=3,
        extra_body={"howsure": {"prefix": False}},
    )
    ref = chat.generate(user(Q[1]), max_new_tokens=3)
    assert got.usage.completion_tokens == len(ref.token_ids) <= 3
    assert got.choices[0].message.content == ref.answer
    assert got.choices[0].confidence["value"] == pytest.approx(ref.confidence, abs=1e-5)
    err = error_of(url, {"max_tokens": 3, "max_completion_tokens": 4})
    assert "max_completion_tokens" in err["message"]
