"""Sentences located in answer tokens, and collections that keep them (tiny model)."""

from __future__ import annotations

import numpy as np
import pytest

from howsure.probes.collect import Collection, collect, concat
from howsure.probes.generate import GenRow, generate_rows, generation_config
from howsure.probes.inputs import eos_ids, pad_token_id
from howsure.probes.prompts import question_prompt
from howsure.probes.spans import SentenceTable, sentence_reads, sentence_tokens, token_ends
from howsure.qa.load import load_qa
from howsure.qa.sentences import Span, split_sentences


def one_reading(model, tok, question: str, limit: int, layers: list[int]):
    """``(prompt ids, RowReading)`` of one greedy answer."""
    eos, pad = eos_ids(model, tok), pad_token_id(model, tok)
    config, _ = generation_config(model, default_max_new_tokens=limit, pad_token_id=pad)
    ids = tok(question_prompt(tok, question), add_special_tokens=False)["input_ids"]
    rows = [GenRow(ids=ids, max_new_tokens=limit)]
    (reading,) = generate_rows(model, rows, config=config, eos=eos, pad_token_id=pad, layers=layers)
    return ids, reading


def test_token_ends_cover_the_stripped_text(tiny):
    _, tok = tiny
    text = "Paris is the capital. It is in France!"
    ids = tok(" " + text, add_special_tokens=False)["input_ids"]
    ends = token_ends(tok, ids)
    assert len(ends) == len(ids)
    assert ends == sorted(ends) and ends[-1] == len(text)
    # every sentence gets the tokens whose text overlaps it, and the tokens join to it
    starts = [0, *ends[:-1]]
    for span in split_sentences(text):
        first, stop = sentence_tokens(ends, span)
        assert first < stop
        covered = text[starts[first] : ends[stop - 1]]
        assert span.text in covered


def test_sentence_tokens_of_a_span_between_tokens():
    ends = [5, 10, 15]
    assert sentence_tokens(ends, Span("x" * 5, 5, 10)) == (1, 2)
    assert sentence_tokens(ends, Span("x" * 7, 4, 11)) == (0, 3)
    assert sentence_tokens(ends, Span("x", 15, 16)) == (3, 3)


def test_sentence_reads_are_means_of_their_tokens(tiny):
    model, tok = tiny
    _, reading = one_reading(model, tok, "Tell me about Paris.", 24, [1, 3])
    text = tok.decode(reading.answer_ids, skip_special_tokens=True).strip()
    reads = sentence_reads(reading, tok, [1, 3])
    assert [r.span for r in reads] == list(split_sentences(text))
    for r in reads:
        assert r.first < r.stop <= len(reading.answer_ids)
        fed = reading.token_states[3][r.first : min(r.stop, reading.seen)]
        if fed.shape[0]:
            np.testing.assert_allclose(r.states[3], fed.mean(0).numpy(), rtol=1e-6)
        lp = reading.logprob[r.first : r.stop]
        assert r.stats["logprob_min"] == pytest.approx(float(lp.min()))
        assert r.stats["logprob_mean"] >= r.stats["logprob_min"]


def test_collect_with_styles_and_sentences(tiny, qa_jsonl, tmp_path):
    model, tok = tiny
    items = load_qa(qa_jsonl)
    kw = dict(layers=[1, 3], max_new_tokens=12, dataset="qa", progress=False)
    coll = collect(model, tok, items, styles=("plain", "system", "request"), sentences=True, **kw)
    assert set(coll.extras["style"]) <= {"plain", "system", "request"}
    assert coll.meta["styles"] == ["plain", "system", "request"]
    table = coll.sentences
    assert table is not None and len(table) >= 1
    assert set(table.states) == {1, 3} and table.states[3].shape == (len(table), 32)
    for i in range(len(table)):
        answer = coll.answers[table.row[i]]
        assert 0 <= table.start[i] < table.end[i] <= len(answer)
    # saved and loaded whole; a subset keeps its own answers' sentences, renumbered
    back = Collection.load(coll.save(tmp_path / "c"))
    np.testing.assert_array_equal(back.sentences.row, table.row)
    np.testing.assert_array_equal(back.sentences.states[3], table.states[3])
    assert list(back.extras["style"]) == list(coll.extras["style"])
    mask = np.zeros(len(coll), bool)
    mask[table.row[-1]] = True
    sub = coll.subset(mask)
    assert set(sub.sentences.row) == {0}
    assert len(sub.sentences) == int((table.row == table.row[-1]).sum())
    both = concat([sub, sub])
    assert len(both.sentences) == 2 * len(sub.sentences)
    assert both.sentences.row.max() == 1
    # the same questions without styles are another cache entry, another prompt
    short = collect(model, tok, items, **kw)
    assert short.meta["cached"] is False and "style" not in short.extras


def test_sentence_table_take_reorders_rows():
    table = SentenceTable(
        row=np.array([0, 0, 2]),
        start=np.array([0, 5, 0]),
        end=np.array([4, 9, 3]),
        kind=np.array(["sentence"] * 3),
        states={0: np.arange(6, dtype=np.float32).reshape(3, 2)},
        stats={k: np.zeros(3) for k in ("logprob_mean", "logprob_min", "entropy_mean")},
    )
    taken = table.take(np.array([2, 0]))
    assert taken.row.tolist() == [0, 1, 1]
    assert taken.states[0][:, 0].tolist() == [4, 0, 2]


def test_a_forced_pass_reads_what_generation_read(tiny):
    """A teacher-forced pass over generated tokens gives the states and statistics the
    generation recorded (``/v1/score``'s sentences rest on it)."""
    from howsure.probes.activations import _forced_batches

    model, tok = tiny
    pad = pad_token_id(model, tok)
    ids, gen = one_reading(model, tok, "Tell me about Rome.", 16, [2])
    ((forced,),) = list(
        _forced_batches(
            model,
            [ids],
            [gen.answer_ids],
            layers=[2],
            batch_size=1,
            pad_token_id=pad,
            progress=False,
            tokenizer=tok,
            record_stats=True,
        )
    )
    seen = gen.seen
    assert seen >= 1 and forced.token_states[2].shape[0] == len(gen.answer_ids)
    np.testing.assert_allclose(
        forced.token_states[2][:seen].numpy(), gen.token_states[2].numpy(), atol=1e-4
    )
    np.testing.assert_allclose(
        forced.prompt_state[2].numpy(), gen.prompt_state[2].numpy(), atol=1e-4
    )
    np.testing.assert_allclose(forced.logprob.numpy(), gen.logprob.numpy(), atol=1e-4)
