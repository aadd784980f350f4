"""The plugin (``howsure.wrap``) on the tiny random-weight model."""

from __future__ import annotations

import copy
import io
import json
import threading
import time

import numpy as np
import pytest
import torch
from conftest import fit_tiny_detectors

import howsure
from howsure.calibration.selective import threshold_for_error_rate
from howsure.cli import main
from howsure.core.errors import ContextLengthError, SettingError
from howsure.plugin.detector import Detector
from howsure.plugin.events import ConfidenceEvent, EndEvent, TextEvent
from howsure.plugin.wrapper import ConfidentGeneration, ConfidentModel, wrap
from howsure.probes.activations import generate_and_read
from howsure.probes.models import find_layers, load_model
from howsure.probes.prompts import question_messages, question_prompt

LAYER = 2
N_NEW = 6
QUESTIONS = ["What is 3 plus 4?", "Peru", "What is the capital of France?", "What is 1 plus 1?"]
POSITIONS = ["last_prompt", "mean_answer", "mean_last_answer"]


def n_hooks(model) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def stream_threads() -> int:
    return sum(t.name == "howsure-stream" and t.is_alive() for t in threading.enumerate())


@pytest.fixture(scope="module")
def fitted(tiny):
    """A detector per position, fitted on the tiny model's own activations with random
    labels (fast), with out-of-fold-like calibration scores."""
    model, tok = tiny
    return fit_tiny_detectors(model, tok, layer=LAYER, max_new_tokens=N_NEW)


@pytest.fixture
def make_det(fitted):
    """A fresh (unbound) detector per call, sharing the fitted probe and calibrator."""

    def make(position: str = "last_prompt", *, with_calibration: bool = True) -> Detector:
        det = fitted[position]
        return Detector(
            probe=det.probe,
            calibrator=det.calibrator,
            reader=det.reader,
            fingerprint=det.fingerprint,
            calibration_scores=det.calibration_scores if with_calibration else None,
            calibration_labels=det.calibration_labels if with_calibration else None,
        )

    return make


def plain_new_tokens(model, tok, prompt: str, max_new_tokens: int) -> list[int]:
    enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        seqs = model.generate(
            **enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id
        )
    row = seqs[0, enc["input_ids"].shape[1] :].tolist()
    eos = tok.eos_token_id
    return row[: row.index(eos) + 1] if eos in row else row


# -- same tokens, same confidence -------------------------------------------------------


@pytest.mark.parametrize("position", POSITIONS)
def test_same_tokens_as_plain_generate(tiny, make_det, position):
    model, tok = tiny
    chat = wrap(model, tok, make_det(position))
    for q, n_new in [(QUESTIONS[0], N_NEW), (QUESTIONS[2], 11)]:
        gen = chat.generate(q, max_new_tokens=n_new)
        assert list(gen.token_ids) == plain_new_tokens(model, tok, question_prompt(tok, q), n_new)
        ids = [t for t in gen.token_ids if t != tok.eos_token_id]
        assert gen.answer == tok.decode(ids, skip_special_tokens=True).strip()
        assert gen.text == f"{gen.prefix} {gen.answer}"
        assert gen.prefix == f"The model is {round(gen.confidence * 100)}% sure."
        assert (gen.layer, gen.position) == (LAYER, position)
        assert not gen.abstained and not gen.flagged and chat.last is gen


@pytest.mark.parametrize("position", POSITIONS)
def test_confidence_equals_detector_score(tiny, make_det, position):
    model, tok = tiny
    det = make_det(position)
    chat = wrap(model, tok, det)
    conversation = [
        {"role": "user", "content": "What is 2 plus 2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3 plus 3?"},
    ]
    prompts = [*QUESTIONS, conversation]
    got = np.array([chat.generate(p).confidence for p in prompts])
    ref = det.score(prompts, model=model, tokenizer=tok)
    np.testing.assert_allclose(got, ref, atol=1e-5, rtol=0)
    assert np.ptp(got) > 1e-3  # not a constant detector
    assert np.all((got >= 0) & (got <= 1))


def test_batch_equals_one_by_one(tiny, make_det):
    model, tok = tiny
    for position in POSITIONS:
        chat = wrap(model, tok, make_det(position))
        batch = chat.generate_batch(QUESTIONS, batch_size=3)
        single = [chat.generate(q) for q in QUESTIONS]
        assert [b.token_ids for b in batch] == [s.token_ids for s in single]
        assert [b.text for b in batch] == [s.text for s in single]
        np.testing.assert_allclose(
            [b.confidence for b in batch], [s.confidence for s in single], atol=1e-5, rtol=0
        )


# -- streaming --------------------------------------------------------------------------


def test_stream_last_prompt_prefix_first(tiny, make_det):
    model, tok = tiny
    chat = wrap(model, tok, make_det("last_prompt"))
    want = chat.generate(QUESTIONS[0])
    gen = chat.stream(QUESTIONS[0])
    pieces = []
    while True:
        try:
            pieces.append(next(gen))
        except StopIteration as stop:
            result = stop.value
            break
    assert pieces[0] == want.prefix and len(pieces) > 2
    assert "".join(pieces) == want.text
    assert result == want and chat.last == want


def test_stream_prefix_arrives_before_the_first_decoding_step(tiny, make_det, monkeypatch):
    """The prefix is published from the prefill: decoding can be held until it arrived."""
    model, tok = tiny
    chat = wrap(model, tok, make_det("last_prompt"))
    block = find_layers(model)[3]
    forward, calls, released = block.forward, [], threading.Event()
    waited: list[bool] = []

    def held_forward(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:  # a decoding step: wait until the consumer has the prefix
            waited.append(released.wait(timeout=3))
        return forward(*args, **kwargs)

    monkeypatch.setattr(block, "forward", held_forward)
    gen = chat.stream(QUESTIONS[1], max_new_tokens=3)
    first = next(gen)
    assert first.startswith("The model is ") and len(calls) <= 2
    released.set()
    rest = list(gen)
    assert waited and all(waited)
    assert first + "".join(rest) == chat.last.text


def test_stream_answer_position(tiny, make_det):
    model, tok = tiny
    chat = wrap(model, tok, make_det("mean_answer"))
    want = chat.generate(QUESTIONS[2])
    pieces = list(chat.stream(QUESTIONS[2]))
    assert pieces[-1] == "\n" + want.prefix
    assert "".join(pieces[:-1]) == want.answer
    assert chat.last == want
    # replace-mode abstention: the answer is buffered, one piece equal to text
    chat = wrap(model, tok, make_det("mean_answer"), abstain_below=0.0)
    assert list(chat.stream(QUESTIONS[2])) == [want.text]


# -- hooks are removed ------------------------------------------------------------------


def test_hooks_removed_after_success(tiny, make_det):
    model, tok = tiny
    before = n_hooks(model)
    for position in POSITIONS:
        chat = wrap(model, tok, make_det(position))
        chat.generate(QUESTIONS[0])
        chat.generate_batch(QUESTIONS[:2])
        list(chat.stream(QUESTIONS[1]))
        assert n_hooks(model) == before
    assert stream_threads() == 0


def test_hooks_removed_after_an_error_in_generate(tiny, make_det, monkeypatch):
    model, tok = tiny
    before = n_hooks(model)
    chat = wrap(model, tok, make_det("mean_answer"))

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(find_layers(model)[3], "forward", boom)
    with pytest.raises(RuntimeError, match="boom"):
        chat.generate(QUESTIONS[0])
    assert n_hooks(model) == before
    with pytest.raises(RuntimeError, match="boom"):
        chat.generate_batch(QUESTIONS)
    assert n_hooks(model) == before
    with pytest.raises(RuntimeError, match="boom"):
        list(chat.stream(QUESTIONS[0]))
    assert n_hooks(model) == before and stream_threads() == 0


def hold_decoding(model, monkeypatch) -> threading.Event:
    """Decoding steps wait (at most 10 s) until the returned event is set: the generation
    is still running, with its hook, while a test looks."""
    block = find_layers(model)[0]
    forward, calls, released = block.forward, [], threading.Event()

    def held_forward(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            released.wait(timeout=10)
        return forward(*args, **kwargs)

    monkeypatch.setattr(block, "forward", held_forward)
    return released


@pytest.mark.parametrize("how", ["close", "keyboard_interrupt", "break"])
def test_hooks_removed_when_a_stream_stops_early(tiny, make_det, how, monkeypatch):
    model, tok = tiny
    before = n_hooks(model)
    chat = wrap(model, tok, make_det("last_prompt"))
    released = hold_decoding(model, monkeypatch)
    gen = chat.stream(QUESTIONS[0], max_new_tokens=40)
    assert n_hooks(model) == before  # nothing registered until iteration starts
    next(gen)
    assert n_hooks(model) == before + 1  # one hook, on the detector's layer only
    released.set()
    if how == "close":
        gen.close()
    elif how == "keyboard_interrupt":
        with pytest.raises(KeyboardInterrupt):
            gen.throw(KeyboardInterrupt)
    else:
        for _ in gen:
            break
        del gen
    assert n_hooks(model) == before and stream_threads() == 0


def test_an_abandoned_stream_ends_by_itself(tiny, make_det):
    """A stream kept in a variable and never read again or closed: its generation still
    ends (at max_new_tokens), with its hook and worker thread, long before garbage
    collection; what it generated meanwhile can still be read."""
    model, tok = tiny
    before = n_hooks(model)
    chat = wrap(model, tok, make_det("last_prompt"))
    want = chat.generate(QUESTIONS[0], max_new_tokens=40)
    gen = chat.stream(QUESTIONS[0], max_new_tokens=40)
    first = next(gen)  # the prefix; then the consumer walks away, keeping `gen`
    deadline = time.monotonic() + 30
    while (n_hooks(model) != before or stream_threads()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert n_hooks(model) == before and stream_threads() == 0
    assert gen.gi_frame is not None  # not closed, not collected
    assert first + "".join(gen) == want.text


def test_an_exception_in_the_consumer_stops_the_stream(tiny, make_det):
    """Without a with block: the stream dropped by the exception stops its generation."""
    model, tok = tiny
    before = n_hooks(model)
    chat = wrap(model, tok, make_det("mean_answer"))
    with pytest.raises(KeyError, match="consumer failed"):
        for _event in chat.events(QUESTIONS[0], max_new_tokens=200):
            raise KeyError("consumer failed")
    assert n_hooks(model) == before and stream_threads() == 0


def test_another_threads_generation_is_not_mixed_in(tiny, make_det, monkeypatch):
    """A stream's hook records only its own worker's passes: a generate() in another
    thread while the stream is mid-answer gets the confidence it gets alone, and so does
    the stream."""
    model, tok = tiny
    chat = wrap(model, tok, make_det("mean_answer"))
    alone = chat.generate(QUESTIONS[2])
    streamed_alone = chat.generate(QUESTIONS[0], max_new_tokens=20)
    block = find_layers(model)[0]
    forward, calls, released = block.forward, {}, threading.Event()

    def held_forward(*args, **kwargs):  # the stream's decoding waits until released
        name = threading.current_thread().name
        calls[name] = calls.get(name, 0) + 1
        if name == "howsure-stream" and calls[name] > 2:
            released.wait(timeout=10)
        return forward(*args, **kwargs)

    monkeypatch.setattr(block, "forward", held_forward)
    stream = chat.stream(QUESTIONS[0], max_new_tokens=20)
    first = next(stream)
    during = chat.generate(QUESTIONS[2])  # meanwhile, here, on the same model and layer
    released.set()
    assert during.confidence == pytest.approx(alone.confidence, abs=1e-9)
    assert first + "".join(stream) == streamed_alone.answer + "\n" + streamed_alone.prefix
    assert chat.last.confidence == pytest.approx(streamed_alone.confidence, abs=1e-9)


def test_events_context_manager_stops_generation(tiny, make_det, monkeypatch):
    model, tok = tiny
    before = n_hooks(model)
    chat = wrap(model, tok, make_det("mean_answer"))
    released = hold_decoding(model, monkeypatch)
    with chat.events(QUESTIONS[0], max_new_tokens=40) as events:
        released.set()
        first = next(events)
    assert isinstance(first, TextEvent)
    assert n_hooks(model) == before and stream_threads() == 0
    assert events.result is None  # stopped before the end


# -- typed stream events -----------------------------------------------------------------


def kinds(events) -> list[str]:
    return [type(e).__name__.removesuffix("Event") for e in events]


@pytest.mark.parametrize("position", POSITIONS)
def test_events_order_and_content(tiny, make_det, position):
    model, tok = tiny
    chat = wrap(model, tok, make_det(position))
    want = chat.generate(QUESTIONS[0])
    events = list(chat.events(QUESTIONS[0]))
    order = kinds(events)
    if position == "last_prompt":  # the confidence first, read at the prefill
        assert order[0] == "Confidence" and set(order[1:-1]) <= {"Text"}
    else:  # answer positions: the answer, then its confidence
        assert order[-2] == "Confidence" and set(order[:-2]) <= {"Text"}
    assert order[-1] == "End" and order.count("Confidence") == 1
    (conf,) = [e for e in events if isinstance(e, ConfidenceEvent)]
    assert conf.confidence == pytest.approx(want.confidence, abs=1e-9)
    assert conf.prefix == want.prefix and not conf.abstained and not conf.flagged
    assert "".join(e.text for e in events if isinstance(e, TextEvent)) == want.answer
    assert events[-1] == EndEvent(want) and chat.last == want


def test_events_when_the_answer_may_be_withheld(tiny, make_det):
    model, tok = tiny
    want = wrap(model, tok, make_det("mean_answer")).generate(QUESTIONS[0])
    # abstaining in replace mode: the answer never comes as text
    events = list(wrap(model, tok, make_det("mean_answer"), abstain_below=1.0).events(QUESTIONS[0]))
    assert kinds(events) == ["Confidence", "End"] and events[0].abstained
    assert events[-1].result.answer == want.answer  # generated, kept, not shown
    # a threshold it passes: the answer comes whole, after the confidence
    events = list(wrap(model, tok, make_det("mean_answer"), abstain_below=0.0).events(QUESTIONS[0]))
    assert kinds(events) == ["Confidence", "Text", "End"] and events[1].text == want.answer
    # flag mode: the answer streams, the confidence says flagged
    chat = wrap(model, tok, make_det("last_prompt"), abstain_below=1.0, abstain_mode="flag")
    events = list(chat.events(QUESTIONS[0]))
    assert events[0].flagged and not events[0].abstained and "Text" in kinds(events)


def test_no_detector_streams_through_the_same_path(tiny):
    model, tok = tiny
    before = n_hooks(model)
    plain = ConfidentModel(model, tok)
    ref = generate_and_read(
        model, tok, [question_prompt(tok, QUESTIONS[2])], layers=[0], max_new_tokens=32
    ).answers[0]
    events = list(plain.events(QUESTIONS[2]))
    assert set(kinds(events)[:-1]) <= {"Text"} and kinds(events)[-1] == "End"
    result = events[-1].result
    assert result.confidence is None and result.prefix == "" and result.layer is None
    assert result.answer == ref and result.text == ref
    assert "".join(e.text for e in events if isinstance(e, TextEvent)) == ref
    assert "".join(plain.stream(QUESTIONS[2])) == ref
    assert plain.generate(QUESTIONS[2]) == result
    assert [g.answer for g in plain.generate_batch(QUESTIONS[2:3])] == [ref]
    assert n_hooks(model) == before and "no detector" in repr(plain)
    with pytest.raises(TypeError, match="detector must be a howsure Detector or None"):
        ConfidentModel(model, tok, "detector-folder")
    with pytest.raises(TypeError, match=r"threshold must be a probability .*got '0\.5'"):
        ConfidentModel(model, tok, threshold="0.5")
    with pytest.raises(ValueError, match=r"threshold must be a probability in \[0, 1\]; got 5"):
        ConfidentModel(model, tok, threshold=5)
    with pytest.raises(ValueError, match="abstain_mode must be one of 'replace', 'flag'"):
        ConfidentModel(model, tok, abstain_mode="skip")


# -- abstention -------------------------------------------------------------------------


def test_abstention_replace_and_flag(tiny, make_det):
    model, tok = tiny
    plain = wrap(model, tok, make_det()).generate(QUESTIONS[0])
    assert plain.answer

    replace = wrap(model, tok, make_det(), abstain_below=1.0, abstain_message="Not sure!")
    gen = replace.generate(QUESTIONS[0])
    assert gen.abstained and not gen.flagged
    assert gen.text == f"{plain.prefix} Not sure!" and gen.answer == plain.answer
    assert list(replace.stream(QUESTIONS[0])) == [plain.prefix, " Not sure!"]
    assert replace.last == gen

    flag = wrap(model, tok, make_det(), abstain_below=1.0, abstain_mode="flag")
    gen = flag.generate(QUESTIONS[0])
    assert gen.flagged and not gen.abstained and gen.text == plain.text

    never = wrap(model, tok, make_det(), abstain_below=0.0)
    assert not never.generate(QUESTIONS[0]).abstained

    det = make_det()
    auto = wrap(model, tok, det, target_error=0.4)
    assert auto.threshold == det.threshold_for(0.4)
    gens = auto.generate_batch(QUESTIONS)
    assert [g.abstained for g in gens] == [g.confidence < auto.threshold for g in gens]


def test_threshold_for_error_rate_by_hand():
    scores = [0.95, 0.9, 0.8, 0.8, 0.6, 0.3]
    labels = [1, 1, 1, 0, 1, 0]
    # accepted at >= 0.95: 0/1 wrong; 0.9: 0/2; 0.8: 1/4 (ties together); 0.6: 1/5; 0.3: 2/6
    assert threshold_for_error_rate(scores, labels, 0.0) == 0.9
    assert threshold_for_error_rate(scores, labels, 0.2) == 0.6
    assert threshold_for_error_rate(scores, labels, 0.25) == 0.6
    assert threshold_for_error_rate(scores, labels, 0.19) == 0.9
    assert threshold_for_error_rate(scores, labels, 0.5) == 0.3
    with pytest.raises(ValueError, match=r"no threshold reaches target_error=0\.1"):
        threshold_for_error_rate([0.9, 0.5], [0, 1], 0.1)
    with pytest.raises(ValueError, match="target_error must be"):
        threshold_for_error_rate(scores, labels, 1.0)
    with pytest.raises(ValueError, match="different lengths"):
        threshold_for_error_rate(scores, labels[:-1], 0.2)
    assert howsure.threshold_for_error_rate is threshold_for_error_rate


def test_detector_calibration_scores_round_trip(make_det, tmp_path):
    det = make_det()
    back = Detector.load(det.save(tmp_path / "d"))
    np.testing.assert_array_equal(back.calibration_scores, det.calibration_scores)
    np.testing.assert_array_equal(back.calibration_labels, det.calibration_labels)
    assert back.calibration_labels.dtype == bool
    assert back.threshold_for(0.3) == det.threshold_for(0.3)
    old = Detector.load(make_det(with_calibration=False).save(tmp_path / "old"))
    assert old.calibration_scores is None
    with pytest.raises(ValueError, match="no calibration scores"):
        old.threshold_for(0.3)


def test_bad_abstention_settings(tiny, make_det):
    model, tok = tiny
    with pytest.raises(ValueError, match=r"abstain_below must be a probability.*got 60"):
        wrap(model, tok, make_det(), abstain_below=60)
    with pytest.raises(ValueError, match="not both"):
        wrap(model, tok, make_det(), abstain_below=0.5, target_error=0.2)
    with pytest.raises(ValueError, match="abstain_mode must be one of 'replace', 'flag'; got"):
        wrap(model, tok, make_det(), abstain_mode="maybe")
    with pytest.raises(ValueError, match="no calibration scores"):
        wrap(model, tok, make_det(with_calibration=False), target_error=0.2)
    with pytest.raises(ValueError, match=r"must be a str containing '\{pct\}'"):
        wrap(model, tok, make_det(), template="How sure: lots")
    with pytest.raises(ValueError, match="does not format"):
        wrap(model, tok, make_det(), template="{pct}% {other}")
    chat = wrap(model, tok, make_det(), template="[{pct}% | {confidence:.3f}]")
    gen = chat.generate(QUESTIONS[0])
    assert gen.prefix == f"[{round(gen.confidence * 100)}% | {gen.confidence:.3f}]"


# -- bad input --------------------------------------------------------------------------


def test_bad_prompts(tiny, make_det):
    model, tok = tiny
    chat = wrap(model, tok, make_det())
    with pytest.raises(ValueError, match=r"empty conversation \[\]"):
        chat.generate([])
    with pytest.raises(ValueError, match=r"message 1 \('user'\) has empty content '  '"):
        chat.generate([{"role": "user", "content": "Hi"}, {"role": "user", "content": "  "}])
    with pytest.raises(TypeError, match="message 0 must be a dict with 'role' and 'content'"):
        chat.generate(["What is 1 plus 1?"])
    with pytest.raises(ValueError, match="empty question ''"):
        chat.generate("")
    with pytest.raises(TypeError, match="got int: 42"):
        chat.generate(42)
    with pytest.raises(TypeError, match="for one, use generate"):
        chat.generate_batch("What is 1 plus 1?")
    with pytest.raises(ValueError, match="no conversations"):
        chat.generate_batch([])
    with pytest.raises(ValueError, match="conversation 1: empty question"):
        chat.generate_batch(["What?", " "])
    with pytest.raises(ValueError, match=r"prompt 0 is \d+ tokens.*context of 256 tokens"):
        chat.generate("Paris " * 300)
    with pytest.raises(ValueError, match=r"with 300 new tokens it exceeds.*lower max_new_tokens"):
        chat.generate(QUESTIONS[0], max_new_tokens=300)
    # typed: a ContextLengthError (a ValueError) that knows the setting to lower
    with pytest.raises(ContextLengthError) as caught:
        chat.generate_batch(["What?", "Paris " * 300], max_new_tokens=5)
    err = caught.value
    assert err.param == "max_new_tokens" and (err.limit, err.new_tokens) == (256, 5)
    assert [label for label, _ in err.too_long] == ["prompt 1"] and err.n_prompts == 2
    assert err.render({"max_new_tokens": "max_tokens"}, prompt="the conversation").startswith(
        "the conversation is "
    )
    assert err.render({"max_new_tokens": "max_tokens"}).endswith("or lower max_tokens")
    for kw, param in [
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"do_sample": True, "temperature": -1.0}, "temperature"),
        ({"do_sample": True, "top_p": 2.0}, "top_p"),
        ({"do_sample": "yes"}, "do_sample"),
    ]:
        with pytest.raises(SettingError) as caught:
            chat.generate(QUESTIONS[0], **kw)
        assert caught.value.param == param and str(caught.value).startswith(param)
    with pytest.raises(ValueError, match="prompt 1 is"):
        chat.generate_batch(["What?", "Paris " * 300])
    with pytest.raises(ValueError, match="prompt 0 is"):
        chat.stream("Paris " * 300)  # checked when called, before iteration
    wizard = [{"role": "wizard", "content": "What is 1 plus 1?"}]
    for call in (chat.generate, chat.stream, chat.events):
        with pytest.raises(
            ValueError,
            match=r"message 0 has role 'wizard'; use one of "
            r"'system', 'user', 'assistant'",
        ):
            call(wizard)
    with pytest.raises(ValueError, match="conversation 0: message 0 has role 'wizard'"):
        chat.generate_batch([wizard])


def test_generation_settings(tiny, make_det):
    from transformers import GenerationConfig

    model, tok = tiny
    chat = wrap(model, tok, make_det())
    with pytest.raises(ValueError, match="max_new_tokens must be an int >= 1; got 0"):
        chat.generate(QUESTIONS[0], max_new_tokens=0)
    with pytest.raises(ValueError, match=r"top_p must be a number in \(0, 1\]; got 1\.5"):
        chat.generate(QUESTIONS[0], top_p=1.5)
    with pytest.raises(ValueError, match="num_beams=2 is not supported"):
        chat.generate(QUESTIONS[0], generation_config=GenerationConfig(num_beams=2))
    with pytest.raises(TypeError, match="generation_config must be"):
        chat.generate(QUESTIONS[0], generation_config={"max_new_tokens": 3})
    cfg = GenerationConfig(max_new_tokens=3, do_sample=False)
    gen = chat.generate(QUESTIONS[2], generation_config=cfg)
    assert len(gen.token_ids) <= 3 and cfg.max_new_tokens == 3  # the config is not changed
    assert list(gen.token_ids) == plain_new_tokens(
        model, tok, question_prompt(tok, QUESTIONS[2]), 3
    )
    torch.manual_seed(0)
    sampled = chat.generate(QUESTIONS[2], do_sample=True, temperature=0.7, top_p=0.9)
    assert 0 <= sampled.confidence <= 1


def test_detector_of_another_model_is_refused(tiny, make_det, tmp_path_factory):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import make_tiny_chat_model

    _, tok = tiny
    other, _ = load_model(str(make_tiny_chat_model(tmp_path_factory.mktemp("o"), layers=3)))
    with pytest.raises(ValueError, match=r"fitted on another model \(num_layers: detector 4"):
        wrap(other, tok, make_det())


def test_wrong_types(tiny, make_det, tmp_path):
    model, tok = tiny
    with pytest.raises(TypeError, match="pass wrap\\(model, tokenizer, detector\\)"):
        wrap(model, detector=make_det())
    with pytest.raises(TypeError, match="detector must be a howsure Detector"):
        wrap(model, tok, 42)
    with pytest.raises(ValueError, match="no detector given, and howsure ships none for this"):
        wrap(model, tok)
    with pytest.raises(TypeError, match="model must be a transformers causal LM"):
        wrap("gpt2", tok, make_det())
    with pytest.raises(ValueError, match="does not exist"):
        wrap(model, tok, tmp_path / "nowhere")


def test_tokenizer_without_chat_template(tiny, make_det):
    model, tok = tiny
    plain_tok = copy.deepcopy(tok)
    plain_tok.chat_template = None
    det = make_det()
    with pytest.warns(UserWarning, match="no chat template"):
        chat = wrap(model, plain_tok, det)
    assert chat.render("Peru") == "Peru Reply with just the answer.\n"
    gen = chat.generate("Peru")
    ref = det.score(["Peru"], model=model, tokenizer=plain_tok)
    np.testing.assert_allclose(gen.confidence, ref[0], atol=1e-5)
    assert list(gen.token_ids) == plain_new_tokens(model, plain_tok, chat.render("Peru"), N_NEW)


# -- pipeline, detector folder, public API ----------------------------------------------


def test_pipeline_and_detector_folder(tiny, make_det, tmp_path):
    from transformers import pipeline

    model, tok = tiny
    pipe = pipeline("text-generation", model=model, tokenizer=tok)
    folder = make_det().save(tmp_path / "det")
    chat = howsure.wrap(pipe, detector=folder)
    assert isinstance(chat, ConfidentModel) and chat.model is model and chat.tokenizer is tok
    want = wrap(model, tok, make_det()).generate(QUESTIONS[0])
    assert chat.generate(QUESTIONS[0]) == want
    with pytest.raises(TypeError, match="a pipeline brings its own tokenizer"):
        howsure.wrap(pipe, tok, folder)
    assert howsure.ConfidentGeneration is ConfidentGeneration
    d = want.to_dict()
    assert d["token_ids"] == list(want.token_ids) and json.loads(json.dumps(d)) == d


# -- CLI --------------------------------------------------------------------------------


@pytest.fixture
def det_folder(make_det, tmp_path):
    return make_det().save(tmp_path / "det")


def test_cli_chat_json(tiny, tiny_dir, make_det, det_folder, monkeypatch, capsys):
    model, tok = tiny
    monkeypatch.setattr("sys.stdin", io.StringIO("What is 3 plus 4?\n"))
    code = main(["chat", "--model", str(tiny_dir), "--detector", str(det_folder), "--json"])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    got = json.loads(lines[0])
    assert set(got) == {
        "text",
        "answer",
        "confidence",
        "familiarity",
        "unfamiliar",
        "layer",
        "position",
        "abstained",
        "flagged",
        "sentences",
        "truncated",
        "finish_reason",
    }
    want = wrap(model, tok, make_det()).generate("What is 3 plus 4?")
    assert got["truncated"] == want.truncated  # an answer cut at the limit says so
    assert got["finish_reason"] == ("length" if want.truncated else "stop")
    assert got["text"] == want.text and got["answer"] == want.answer
    assert got["confidence"] == pytest.approx(want.confidence, abs=1e-6)
    assert (got["layer"], got["position"], got["abstained"]) == (LAYER, "last_prompt", False)

    monkeypatch.setattr("sys.stdin", io.StringIO("What is 3 plus 4?\n"))
    args = ["chat", "--model", str(tiny_dir), "--detector", str(det_folder), "--json"]
    assert main([*args, "--abstain-below", "1.0"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["abstained"] and got["text"] == f"{want.prefix} I'm not sure."


def test_cli_chat_shows_an_input_marker_on_a_terminal(tiny_dir, det_folder, monkeypatch, capsys):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("What is 3 plus 4?\n/quit\n"))
    assert main(["chat", "--model", str(tiny_dir), "--detector", str(det_folder)]) == 0
    out = capsys.readouterr().out
    assert out.count("> ") >= 2 and "\n> " in out  # asked for each line, the answer between
    monkeypatch.setattr("sys.stdin", io.StringIO("/quit\n"))  # a pipe: no marker
    assert main(["chat", "--model", str(tiny_dir), "--detector", str(det_folder)]) == 0
    assert "> " not in capsys.readouterr().out


def test_cli_chat_loop(tiny, tiny_dir, make_det, det_folder, monkeypatch, capsys):
    model, tok = tiny
    stdin = "What is 3 plus 4?\n\nAnd 1 plus 1?\n/oops\n/reset\n/quit\nnever read\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert main(["chat", "--model", str(tiny_dir), "--detector", str(det_folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    chat = wrap(model, tok, make_det())
    first = chat.generate("What is 3 plus 4?")
    user1, user2 = (question_messages(q)[0] for q in ("What is 3 plus 4?", "And 1 plus 1?"))
    second = chat.generate([user1, {"role": "assistant", "content": first.answer}, user2])
    assert lines[0].startswith("howsure chat (") and "/quit" in lines[0]
    assert lines[1:] == [
        first.prefix,
        first.answer,
        second.prefix,
        second.answer,
        "unknown command '/oops': use /reset or /quit",
        "(conversation cleared)",
    ]


def test_cli_chat_errors(tiny_dir, det_folder, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no howsure-out here, and no detector ships for the tiny model
    assert main(["chat", "--model", str(tiny_dir), "--json"]) == 2
    err = capsys.readouterr().err
    # the model named first, and how to get a detector for it
    assert f"no detector for model {str(tiny_dir)!r}" in err
    assert f"`howsure train --model {tiny_dir}`" in err and "--detector DIR" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("  \n"))
    args = ["chat", "--model", str(tiny_dir), "--detector", str(det_folder), "--json"]
    assert main(args) == 2
    assert "stdin was empty" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("Hi\n"))
    assert main([*args, "--abstain-below", "2"]) == 2
    assert "--abstain-below must be a probability in [0, 1]; got 2.0" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("Hi\n"))
    assert main([*args, "--abstain-below", "0.5", "--target-error", "0.2"]) == 2
    err = capsys.readouterr().err  # raised by wrap(), worded with the flags
    assert "give --abstain-below (0.5) or --target-error (0.2), not both" in err
    # a prompt over the context: the typed error's parameter, said as the flag
    monkeypatch.setattr("sys.stdin", io.StringIO("Paris " * 300 + "\n"))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "exceeds the model's context of 256 tokens" in err
    assert "lower --max-new-tokens" in err and "max_new_tokens" not in err
