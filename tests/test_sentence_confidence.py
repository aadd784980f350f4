"""Sentence confidences: the sentence detector's rows and fit (synthetic), and each
sentence of a served answer with its confidence (tiny model): Python, events, saved
detector, the server (plain and streamed) and ``chat --json`` agree."""

from __future__ import annotations

import dataclasses
import io
import json

import numpy as np
import openai
import pytest
from conftest import fit_tiny_detectors

import howsure
from howsure.calibration.stacked import StackedCalibrator
from howsure.cli import main
from howsure.plugin.detector import Detector, ReaderSettings
from howsure.plugin.events import EndEvent, SentenceEvent
from howsure.plugin.sentences import fit_sentence_detector, sentence_collection
from howsure.probes.collect import Collection
from howsure.probes.linear import LogisticProbe
from howsure.probes.models import model_fingerprint
from howsure.probes.spans import SENTENCE_STATS, SentenceTable
from howsure.qa.items import QAItem
from howsure.qa.sentences import split_sentences
from howsure.server import RunningServer, ServerSettings, create_app

CAPITALS = [("France", "Paris"), ("Peru", "Lima"), ("Italy", "Rome"), ("Japan", "Tokyo")]


def synthetic_collection(n_per_source: int = 24, d: int = 8) -> Collection:
    """Answers of two sentences ("Sure! The capital of X is Y."), right or wrong, from
    four sources; the answering sentence's state carries its label."""
    rng = np.random.default_rng(0)
    items, answers, rows, starts, ends, states = [], [], [], [], [], []
    for s, source in enumerate(("a", "b", "c", "d")):
        for i in range(n_per_source):
            country, capital = CAPITALS[i % 4]
            right = (i + s) % 3 != 0
            said = capital if right else "Atlantis"
            answer = f"Sure! The capital of {country} is {said}."
            items.append(
                QAItem(
                    id=f"{source}{i}",
                    question=f"What is the capital of {country}?",
                    answers=(capital,),
                    topic=f"t{i % 2}",
                    source=source,
                )
            )
            answers.append(answer)
            for span in split_sentences(answer):
                rows.append(len(answers) - 1)
                starts.append(span.start)
                ends.append(span.end)
                signal = (1.0 if right else -1.0) if span.text != "Sure!" else 0.0
                states.append(rng.normal(size=d) + signal)
    m = len(rows)
    table = SentenceTable(
        row=np.asarray(rows),
        start=np.asarray(starts),
        end=np.asarray(ends),
        kind=np.asarray(["sentence"] * m),
        states={3: np.asarray(states, np.float32)},
        stats={k: rng.normal(size=m) - 1.0 for k in SENTENCE_STATS},
    )
    return Collection(
        items=items,
        answers=answers,
        labels=np.zeros(len(items), bool),
        activations={},
        meta={"model": {"name": "synthetic"}, "dataset": "synth", "max_new_tokens": 64},
        sentences=table,
    )


def test_sentence_rows_are_the_answering_sentences():
    coll = synthetic_collection()
    rows = sentence_collection(coll)
    # "Sure!" is chatter: one labelled sentence per answer, its verdict the answer's
    assert len(rows) == len(coll)
    assert all(a.startswith("The capital of") for a in rows.answers)
    assert rows.labels.tolist() == [("Atlantis" not in a) for a in rows.answers]
    assert rows.features(3, "mean_answer").shape == (len(coll), 8)
    np.testing.assert_array_equal(rows.extras["answer_row"], np.arange(len(coll)))


def test_fit_sentence_detector_learns_the_signal():
    coll = synthetic_collection()
    det, fit = fit_sentence_detector(coll)
    assert det.reader.layer == 3 and det.reader.position == "mean_answer"
    assert det.info["training"]["unit"] == "sentence" and fit.scheme == "source"
    rows = sentence_collection(coll)
    conf = det.score_features(rows.features(3, "mean_answer"), rows.extras)
    assert conf[rows.labels].mean() > conf[~rows.labels].mean() + 0.2


def test_fit_sentence_detector_refuses_a_collection_without_sentences():
    coll = synthetic_collection()
    coll.sentences = None
    with pytest.raises(ValueError, match=r"collect\(\.\.\., sentences=True\)"):
        fit_sentence_detector(coll)


def random_sentence_detector(model, layer: int = 2) -> Detector:
    """A sentence detector on random rows (its values mean nothing; the plumbing does)."""
    rng = np.random.default_rng(1)
    d = model.config.hidden_size
    X, y = rng.normal(size=(64, d)), np.arange(64) % 2 == 0
    probe = LogisticProbe(random_state=0).fit(X, y)
    inputs = np.column_stack([probe.decision_function(X), rng.normal(size=(64, 3)) - 1])
    return Detector(
        probe=probe,
        calibrator=StackedCalibrator().fit(inputs, y.astype(int)),
        reader=ReaderSettings(layer=layer, position="mean_answer"),
        fingerprint=model_fingerprint(model),
        inputs=("probe", *SENTENCE_STATS),
    )


@pytest.fixture(scope="module")
def sentence_chat(tiny):
    model, tok = tiny
    det = fit_tiny_detectors(model, tok, positions=("mean_answer",))["mean_answer"]
    det.sentences = random_sentence_detector(model, layer=1)
    return howsure.wrap(model, tok, det)


PROMPT = "Tell me about the capital of France."


def test_generation_carries_each_sentence(sentence_chat, tiny):
    model, tok = tiny
    gen = sentence_chat.generate(PROMPT, max_new_tokens=40)
    assert gen.answer and gen.sentences
    assert [s.text for s in gen.sentences] == [s.text for s in split_sentences(gen.answer)]
    for s in gen.sentences:
        assert gen.answer[s.start : s.end] == s.text and 0.0 <= s.confidence <= 1.0
    # both layers read in one pass: the detector's (2) and the sentence detector's (1)
    assert sentence_chat.detector.layers == [2, 1]
    # greedy tokens are plain generate's
    from conftest import plain_generate

    prompt = sentence_chat.render(PROMPT)
    assert list(gen.token_ids) == plain_generate(model, tok, prompt, 40)
    # JSON form
    d = gen.to_dict()
    assert d["sentences"][0] == {
        "text": gen.sentences[0].text,
        "start": gen.sentences[0].start,
        "end": gen.sentences[0].end,
        "value": gen.sentences[0].confidence,
    }


def test_events_send_each_sentence_before_the_end(sentence_chat):
    gen = sentence_chat.generate(PROMPT, max_new_tokens=40)
    events = list(sentence_chat.events(PROMPT, max_new_tokens=40))
    sent = [e.sentence for e in events if isinstance(e, SentenceEvent)]
    assert sent == list(gen.sentences)
    assert isinstance(events[-1], EndEvent) and isinstance(events[-2], SentenceEvent)


def test_saved_detector_keeps_its_sentence_detector(sentence_chat, tiny, tmp_path):
    model, tok = tiny
    folder = sentence_chat.detector.save(tmp_path / "det")
    back = Detector.load(folder, model=model, tokenizer=tok)
    assert back.sentences is not None and back.sentences.reader.layer == 1
    again = howsure.wrap(model, tok, back).generate(PROMPT, max_new_tokens=40)
    first = sentence_chat.generate(PROMPT, max_new_tokens=40)
    np.testing.assert_allclose(
        [s.confidence for s in again.sentences], [s.confidence for s in first.sentences], atol=1e-9
    )


def test_chat_json_has_sentences(sentence_chat, tiny, tmp_path, monkeypatch, capsys):
    model, _ = tiny
    folder = sentence_chat.detector.save(tmp_path / "det")
    monkeypatch.setattr("sys.stdin", io.StringIO(PROMPT + "\n"))
    argv = ["chat", "--model", str(model.name_or_path), "--detector", str(folder)]
    assert main([*argv, "--json", "--max-new-tokens", "40", "--device", "cpu"]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    want = sentence_chat.generate(PROMPT, max_new_tokens=40)
    assert [s["text"] for s in got["sentences"]] == [s.text for s in want.sentences]
    np.testing.assert_allclose(
        [s["value"] for s in got["sentences"]], [s.confidence for s in want.sentences], atol=1e-5
    )


def test_server_sends_sentences_plain_and_streamed(sentence_chat):
    settings = ServerSettings(api_key="k", batch_window_ms=10, max_tokens=64)
    messages = [{"role": "user", "content": PROMPT}]  # the server sends messages as given
    want = sentence_chat.generate(messages, max_new_tokens=40)
    values = [s.confidence for s in want.sentences]
    app = create_app(sentence_chat, settings=settings, model_name="tiny")
    with RunningServer(app) as server:
        cl = openai.OpenAI(base_url=server.url + "/v1", api_key="k", max_retries=0, timeout=60)
        plain = cl.chat.completions.create(model="tiny", messages=messages, max_tokens=40)
        conf = plain.choices[0].model_extra["confidence"]
        np.testing.assert_allclose([s["value"] for s in conf["sentences"]], values, atol=1e-5)
        assert [s["text"] for s in conf["sentences"]] == [s.text for s in want.sentences]
        streamed = []
        for chunk in cl.chat.completions.create(
            model="tiny", messages=messages, max_tokens=40, stream=True
        ):
            for choice in chunk.choices:
                extra = (choice.model_extra or {}).get("confidence") or {}
                streamed += extra.get("sentences", [])
        np.testing.assert_allclose([s["value"] for s in streamed], values, atol=1e-5)


def test_every_front_end_gives_the_same_confidence(
    sentence_chat, tiny, tmp_path, monkeypatch, capsys
):
    """A chat-style detector (instruction ""): a bare question is one user message in
    Python, the demo, ``chat --json`` and the server; the same confidence to 1e-5."""
    import dataclasses

    from howsure.demo.app import Demo

    model, _ = tiny
    det = sentence_chat.detector
    chat_det = dataclasses.replace(det, reader=dataclasses.replace(det.reader, instruction=""))
    chat_det.sentences = det.sentences
    chat = howsure.wrap(model, sentence_chat.tokenizer, chat_det)
    q = "What is the capital of France?"
    assert chat.render(q) == chat.render([{"role": "user", "content": q}])
    want = chat.generate(q, max_new_tokens=40)
    *_, last = Demo(chat, max_new_tokens=40).respond(q)
    assert last.done and abs(last.confidence - want.confidence) <= 1e-5
    assert [s.confidence for s in last.sentences] == [s.confidence for s in want.sentences]
    folder = chat_det.save(tmp_path / "chat-det")
    monkeypatch.setattr("sys.stdin", io.StringIO(q + "\n"))
    argv = ["chat", "--model", str(model.name_or_path), "--detector", str(folder), "--json"]
    assert main([*argv, "--max-new-tokens", "40", "--device", "cpu"]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert abs(got["confidence"] - want.confidence) <= 1e-5
    settings = ServerSettings(api_key="k", batch_window_ms=10, max_tokens=64)
    with RunningServer(create_app(chat, settings=settings, model_name="tiny")) as server:
        cl = openai.OpenAI(base_url=server.url + "/v1", api_key="k", max_retries=0, timeout=60)
        messages = [{"role": "user", "content": q}]
        plain = cl.chat.completions.create(model="tiny", messages=messages, max_tokens=40)
    served = plain.choices[0].model_extra["confidence"]
    assert abs(served["value"] - want.confidence) <= 1e-5
    np.testing.assert_allclose(
        [s["value"] for s in served["sentences"]],
        [s.confidence for s in want.sentences],
        atol=1e-5,
    )


def test_reader_of_a_chat_style_collection_sends_questions_as_given():
    reader = ReaderSettings.for_collection(
        {"instruction": "Reply with just the answer.", "styles": ["short", "plain"]},
        layer=3,
        position="mean_answer",
    )
    assert reader.instruction == "" and reader.styles == ("short", "plain")
    assert ReaderSettings.for_collection({}, layer=3, position="mean_answer").styles == ()


def test_demo_shades_each_sentence_and_names_the_least_sure():
    from howsure.demo.render import render_reply
    from howsure.plugin.generation import SentenceConfidence

    class Chat:
        abstain_message = "I'm not sure."

        def prefix(self, c: float) -> str:
            return f"The model is {round(c * 100)}% sure."

    answer = "Paris is the capital. It has *two* airports. Its mayor is Bob."
    spans = split_sentences(answer)
    sentences = [
        SentenceConfidence(s.text, s.start, s.end, c)
        for s, c in zip(spans, (0.9, 0.6, 0.2), strict=True)
    ]
    md = render_reply(
        answer, chat=Chat(), confidence=0.7, done=True, threshold=0.0, sentences=sentences
    )
    assert md.count('class="howsure-sentence') == 3
    for name in ("high", "medium", "low"):
        assert f"howsure-sentence howsure-{name}" in md
    assert "Least sure: “Its mayor is Bob.” (20%)" in md
    assert r"\*two\*" in md  # the model's words stay escaped inside the shading
    # abstained: no shading of a withheld answer; streaming: no shading yet
    assert "howsure-sentence" not in render_reply(
        answer,
        chat=Chat(),
        confidence=0.1,
        done=True,
        threshold=0.5,
        abstained=True,
        sentences=sentences,
    )
    assert "howsure-sentence" not in render_reply(
        answer, chat=Chat(), confidence=0.7, done=False, threshold=0.0, sentences=sentences
    )


def test_score_endpoint_gives_the_sentences_of_a_given_answer(sentence_chat):
    """``/v1/score``: a given answer's sentence confidences, read by one teacher-forced
    pass as if the model had generated the answer to its end (the same numbers as
    :func:`score_sentences` in Python)."""
    import httpx

    from howsure.plugin.sentences import score_sentences

    messages = [{"role": "user", "content": PROMPT}]
    answer = "Paris is the capital of France. It is on the Seine."
    det = sentence_chat.detector
    (want,) = score_sentences(
        det.sentences,
        det.render([messages], sentence_chat.tokenizer),
        [answer],
        model=sentence_chat.model,
        tokenizer=sentence_chat.tokenizer,
    )
    assert [s.text for s in want] == ["Paris is the capital of France.", "It is on the Seine."]
    settings = ServerSettings(api_key="k", batch_window_ms=10, max_tokens=64)
    with RunningServer(create_app(sentence_chat, settings=settings, model_name="tiny")) as server:
        body = {"model": "tiny", "messages": messages, "answer": answer}
        got = httpx.post(
            server.url + "/v1/score", json=body, headers={"Authorization": "Bearer k"}, timeout=60
        ).json()
    served = got["confidence"]["sentences"]
    assert [(s["text"], s["start"], s["end"]) for s in served] == [
        (s.text, s.start, s.end) for s in want
    ]
    np.testing.assert_allclose(
        [s["value"] for s in served], [s.confidence for s in want], atol=1e-9
    )


def test_sentences_stream_as_they_finish_with_the_final_numbers(sentence_chat):
    """The decoder sends each sentence once it is finished and read, mid-answer, with the
    numbers the finished answer gives it (the generation's item order: token 0, then per
    step the read of token k-1 before token k)."""
    import torch

    from howsure.plugin.events import EventDecoder, TextEvent
    from howsure.probes.generate import RowReading

    tok = sentence_chat.tokenizer
    ids = tok("Paris is big. Rome is old. Lima is far", add_special_tokens=False)["input_ids"]
    rng = np.random.default_rng(3)
    d = sentence_chat.model.config.hidden_size
    states = {
        la: torch.tensor(rng.normal(size=(len(ids), d)), dtype=torch.float32) for la in (1, 2)
    }
    logprob = torch.tensor(-rng.random(len(ids)), dtype=torch.float32)
    entropy = torch.tensor(rng.random(len(ids)), dtype=torch.float32)
    decoder = EventDecoder(sentence_chat)
    events = decoder.feed("token", ids[0])
    for k in range(1, len(ids)):
        events += decoder.feed(
            "read", (states[1][k - 1], float(logprob[k - 1]), float(entropy[k - 1]))
        )
        events += decoder.feed("token", ids[k])
    reading = RowReading(
        answer_ids=list(ids),
        token_ids=tuple(ids),
        truncated=True,  # the limit cut it: its last token was never read
        prompt_state={la: torch.zeros(d) for la in (1, 2)},
        token_states={la: s[: len(ids) - 1] for la, s in states.items()},
        logprob=logprob,
        entropy=entropy,
    )
    (result,) = sentence_chat.results([reading])
    events += decoder.finish(result)
    kinds = [type(e).__name__ for e in events]
    # "Paris is big." and "Rome is old." arrive while the answer still streams
    last_text = max(i for i, e in enumerate(events) if isinstance(e, TextEvent))
    streamed = [e.sentence for e in events[:last_text] if isinstance(e, SentenceEvent)]
    assert [s.text for s in streamed] == ["Paris is big.", "Rome is old."], kinds
    sent = [e.sentence for e in events if isinstance(e, SentenceEvent)]
    assert [s.text for s in sent] == [s.text for s in result.sentences]
    np.testing.assert_allclose(
        [s.confidence for s in sent], [s.confidence for s in result.sentences], atol=1e-6
    )


def test_terminal_chat_names_the_least_sure_sentence(sentence_chat, capsys):
    from howsure.cli.chat import print_reply
    from howsure.plugin.generation import percent

    messages = [{"role": "user", "content": PROMPT}]
    result = print_reply(sentence_chat, messages, max_new_tokens=40)
    shown = capsys.readouterr().out
    if len(result.sentences) > 1:
        low = min(result.sentences, key=lambda s: s.confidence)
        assert f"(least sure sentence, {percent(low.confidence)}%:" in shown
    else:
        assert "least sure" not in shown


def test_the_answer_probe_is_a_candidate_of_the_sentence_detector():
    """With short-style answers, their probe competes with the sentences' own on grouped
    AUROC; the winner is recorded, and an answers set of one class is no candidate."""
    coll = synthetic_collection()
    rng = np.random.default_rng(5)
    y = np.arange(80) % 2 == 0
    answers = Collection(
        items=[
            QAItem(id=f"s{i}", question="q?", answers=("a",), topic="t", source="abcd"[i % 4])
            for i in range(80)
        ],
        answers=["a"] * 80,
        labels=y,
        activations={
            (3, "mean_answer"): (rng.normal(size=(80, 8)) + np.where(y, 1.0, -1.0)[:, None]).astype(
                np.float32
            )
        },
        meta={"model": {"name": "synthetic"}},
    )
    det, _ = fit_sentence_detector(coll, answers=answers, answer_layer=3)
    training = det.info["training"]
    assert set(training["candidates_auroc"]) == {"sentences L3", "answers L3"}
    assert training["probe_from"] in ("answers", "sentences")
    rows = sentence_collection(coll)
    conf = det.score_features(rows.features(3, "mean_answer"), rows.extras)
    assert conf[rows.labels].mean() > conf[~rows.labels].mean() + 0.2
    one_class = answers.subset(~y)
    det2, _ = fit_sentence_detector(coll, answers=one_class, answer_layer=3)
    assert det2.info["training"]["probe_from"] == "sentences"
    assert "answers L3" not in det2.info["training"]["candidates_auroc"]


def test_attach_sentence_detector_fits_outside_the_test_split_or_warns():
    from howsure.plugin.sentences import attach_sentence_detector

    coll = synthetic_collection()
    coll.items = [
        dataclasses.replace(it, split=("train", "calibration", "test")[k % 3])
        for k, it in enumerate(coll.items)
    ]
    det, _ = fit_sentence_detector(coll)  # any detector will do as the answer detector
    attach_sentence_detector(det, coll)
    assert det.sentences.info["training"]["n_answers"] == sum(k % 3 != 2 for k in range(len(coll)))
    few = coll.subset(np.arange(len(coll)) < 9)
    det.sentences = None
    with pytest.warns(UserWarning, match=r"no sentence detector: the 6 chat-style fitting rows"):
        attach_sentence_detector(det, few, on_too_few="warn")
    assert det.sentences is None
    with pytest.raises(ValueError, match="no sentence detector: the 6 chat-style fitting rows"):
        attach_sentence_detector(det, few)
    with pytest.raises(ValueError, match="on_too_few must be one of 'error', 'warn'; got 'skip'"):
        attach_sentence_detector(det, coll, on_too_few="skip")
