"""The continuous-batching step loop (:mod:`howsure.probes.stepping`) on the tiny
random-weight Llama: every row reads what ``generate`` reads for it alone, whether it
was prefilled with others, joined a batch mid-way (prompt shorter or longer than the
running width), or shares the batch with rows of other settings; seeded sampling draws
from the row's own generator; rows leave and their columns go."""

from __future__ import annotations

import threading

import pytest
import torch

from howsure.probes.generate import GenRow, generate_rows, generation_config
from howsure.probes.stepping import StepBatch, step_rows, steppable

LAYERS = [1, 2]
QUESTIONS = [
    "What is the capital of France?",
    "Who wrote Hamlet? Answer briefly please, and say when it was written.",
    "2+2?",
    "Name a colour that is warm.",
]


@pytest.fixture(scope="module")
def setup(tiny):
    model, tok = tiny
    ids = [
        list(
            tok.apply_chat_template(
                [{"role": "user", "content": q}], add_generation_prompt=True, return_dict=True
            )["input_ids"]
        )
        for q in QUESTIONS
    ]
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    cfg, _ = generation_config(model, default_max_new_tokens=16, pad_token_id=pad)
    return model, {tok.eos_token_id}, pad, ids, cfg


def alone(setup, ids, limit, *, config=None, seed=None, top_logprobs=None, **kw):
    """``generate``'s reading of one row by itself (after ``torch.manual_seed(seed)``)."""
    model, eos, pad, _, cfg = setup
    if seed is not None:
        torch.manual_seed(seed)
    row = GenRow(ids, limit, top_logprobs=top_logprobs)
    return generate_rows(
        model, [row], config=config or cfg, eos=eos, pad_token_id=pad, layers=LAYERS, **kw
    )[0]


def same(a, b, *, atol=1e-4):
    """Two readings of the same row agree: tokens exactly, numbers to float noise."""
    assert a.token_ids == b.token_ids and a.answer_ids == b.answer_ids
    assert a.truncated == b.truncated
    for la in LAYERS:
        torch.testing.assert_close(a.prompt_state[la], b.prompt_state[la], atol=atol, rtol=1e-4)
        assert a.token_states[la].shape == b.token_states[la].shape
        torch.testing.assert_close(a.token_states[la], b.token_states[la], atol=atol, rtol=1e-4)
    torch.testing.assert_close(a.logprob, b.logprob, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a.entropy, b.entropy, atol=1e-5, rtol=1e-5)
    assert a.top_ids.shape == b.top_ids.shape
    assert torch.equal(a.top_ids, b.top_ids)
    torch.testing.assert_close(a.top_logprobs, b.top_logprobs, atol=1e-5, rtol=1e-5)


def test_the_tiny_llama_can_be_stepped(tiny):
    assert steppable(tiny[0])


@pytest.mark.parametrize("prefill_only", [False, True])
def test_rows_prefilled_together_read_what_generate_reads(setup, prefill_only):
    model, eos, pad, ids, cfg = setup
    limits = [16, 5, 16, 1]
    rows = [
        GenRow(i, m, top_logprobs=3 if j == 0 else None)
        for j, (i, m) in enumerate(zip(ids, limits, strict=True))
    ]
    stepped = step_rows(
        model,
        rows,
        configs=[cfg] * 4,
        eos=eos,
        pad_token_id=pad,
        layers=LAYERS,
        prefill_only=prefill_only,
    )
    for j, (i, m) in enumerate(zip(ids, limits, strict=True)):
        ref = alone(setup, i, m, top_logprobs=3 if j == 0 else None, prefill_only=prefill_only)
        same(stepped[j], ref)
        if prefill_only:
            assert stepped[j].token_states[LAYERS[0]].shape[0] == 0


def test_rows_joining_mid_way_read_as_alone_and_leave_no_columns(setup):
    model, eos, pad, ids, cfg = setup
    long_row, short_row, longer_row = ids[1], ids[2], ids[1] + ids[0][-4:]
    got = {}
    sinks: dict[str, list] = {name: [] for name in "abc"}

    def row(name, prompt, limit):
        return GenRow(prompt, limit, emit=lambda kind, v: sinks[name].append((kind, v)))

    rows = {"a": row("a", long_row, 14), "b": row("b", short_row, 10), "c": row("c", longer_row, 6)}
    with StepBatch(model, eos=eos, pad_token_id=pad, layers=LAYERS) as batch:
        got.update(batch.add([rows["a"]], configs=[cfg]))
        for _ in range(3):
            got.update(batch.step())
        # b's prompt is shorter than the running width, c's longer
        got.update(batch.add([rows["b"], rows["c"]], configs=[cfg, cfg]))
        while batch.live:
            got.update(batch.step())
            mask = batch._mask
            if mask is not None:  # no column is padding for every live row
                assert bool(mask.any(0).all())
                assert mask.shape[0] == len(batch.live)
    for name, prompt, limit in [("a", long_row, 14), ("b", short_row, 10), ("c", longer_row, 6)]:
        reading = got[rows[name]]
        same(reading, alone(setup, prompt, limit))
        tokens = [v for kind, v in sinks[name] if kind == "token"]
        assert tuple(tokens) == reading.token_ids  # the sink saw every token, in order


def test_each_row_keeps_its_own_settings(setup):
    """A greedy row, a row with a repetition penalty and a seeded sampled row share the
    batch; each equals ``generate`` alone with its own config (the seeded one after
    ``torch.manual_seed``), whatever its batch-mates draw."""
    model, eos, pad, ids, cfg = setup
    penal, _ = generation_config(
        model, default_max_new_tokens=16, pad_token_id=pad, base=_with(cfg, repetition_penalty=1.5)
    )
    hot, _ = generation_config(
        model, default_max_new_tokens=16, pad_token_id=pad, do_sample=True, temperature=1.5
    )
    rows = [GenRow(ids[0], 12), GenRow(ids[1], 12), GenRow(ids[3], 12), GenRow(ids[2], 12)]
    with StepBatch(model, eos=eos, pad_token_id=pad, layers=LAYERS) as batch:
        got = dict(batch.add(rows, configs=[cfg, penal, hot, hot], seeds=[None, None, 11, None]))
        while batch.live:
            got.update(batch.step())
    same(got[rows[0]], alone(setup, ids[0], 12))
    same(got[rows[1]], alone(setup, ids[1], 12, config=penal))
    same(got[rows[2]], alone(setup, ids[3], 12, config=hot, seed=11))
    assert got[rows[1]].token_ids != got[rows[0]].token_ids or len(got[rows[0]].answer_ids) < 3


def _with(cfg, **settings):
    import copy

    out = copy.deepcopy(cfg)
    for name, value in settings.items():
        setattr(out, name, value)
    return out


def test_streamed_reads_and_logprob_items_match_the_reading(setup):
    model, eos, pad, ids, cfg = setup
    items: list = []
    row = GenRow(ids[0], 10, emit=lambda kind, v: items.append((kind, v)), top_logprobs=2)
    with StepBatch(model, eos=eos, pad_token_id=pad, layers=LAYERS, stream_layer=2) as batch:
        got = dict(batch.add([row], configs=[cfg]))
        while batch.live:
            got.update(batch.step())
    reading = got[row]
    ref_items: list = []
    ref = generate_rows(
        model,
        [GenRow(ids[0], 10, emit=lambda kind, v: ref_items.append((kind, v)), top_logprobs=2)],
        config=cfg,
        eos=eos,
        pad_token_id=pad,
        layers=LAYERS,
        stream_layer=2,
    )[0]
    same(reading, ref)
    assert [k for k, _ in items] == [k for k, _ in ref_items]  # same items, same order
    reads = [v for kind, v in items if kind == "read"]
    assert len(reads) == reading.seen
    for k, (state, logprob, entropy) in enumerate(reads):
        torch.testing.assert_close(state, reading.token_states[2][k])
        assert logprob == pytest.approx(float(reading.logprob[k]), abs=1e-6)
        assert entropy == pytest.approx(float(reading.entropy[k]), abs=1e-6)
    logprobs = [v for kind, v in items if kind == "logprob"]
    assert [t for t, _, _ in logprobs] == reading.answer_ids
    assert all(len(top) == 2 for _, _, top in logprobs)


def test_a_stopped_row_ends_after_its_step_and_the_others_go_on(setup):
    model, eos, pad, ids, cfg = setup
    flag = threading.Event()
    seen: list[int] = []

    def sink(kind, value):
        if kind == "token":
            seen.append(value)
            if len(seen) == 2:
                flag.set()  # the consumer went away

    stopped = GenRow(ids[0], 16, emit=sink, stop=flag)
    other = GenRow(ids[1], 16)
    with StepBatch(model, eos=eos, pad_token_id=pad, layers=LAYERS) as batch:
        got = dict(batch.add([stopped, other], configs=[cfg, cfg]))
        while batch.live:
            got.update(batch.step())
    assert len(got[stopped].token_ids) == 2 and len(seen) == 2
    same(got[other], alone(setup, ids[1], 16))


def test_unsteppable_models_are_refused_by_name(tiny, monkeypatch):
    import howsure.probes.stepping as stepping

    monkeypatch.setattr(stepping, "steppable", lambda model: False)
    with pytest.raises(ValueError, match="static batches"):
        StepBatch(tiny[0], eos={0}, pad_token_id=0)
