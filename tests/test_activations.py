"""Activation reader on a tiny random-weight Llama model."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from howsure.probes.activations import generate_and_read, read_activations, read_token_activations
from howsure.probes.hooks import LayerCapture
from howsure.probes.positions import POSITIONS, base_positions
from howsure.probes.prompts import question_prompt

QUESTIONS = [
    "What is the capital of France?",
    "What is 2 + 3?",
    "Peru",
    "What is the currency of Japan? yen yen",
    "What is the capital of Peru? The capital of Peru is Lima.",
]


def n_hooks(model) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


@pytest.fixture
def prompts(tiny):
    _, tok = tiny
    return [question_prompt(tok, q) for q in QUESTIONS]


@pytest.fixture
def eos_from_output(tiny, prompts):
    """Make a token the model emits mid-answer act as EOS, so answers end at varied lengths."""
    model, tok = tiny
    first = generate_and_read(model, tok, prompts, layers=[0], max_new_tokens=8, progress=False)
    token = first.answer_ids[0][3]
    old = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = [old, token]
    yield token
    model.generation_config.eos_token_id = old


@pytest.mark.parametrize(
    ("dtype", "atol", "rtol"), [(torch.float64, 1e-5, 0), (torch.float32, 5e-5, 1e-4)]
)
def test_left_and_right_padding_agree(tiny, prompts, dtype, atol, rtol):
    """Same text, left or right padded: same activations to 1e-5 (float64 model: only the
    padding can differ; float32 adds summation-order noise of ~1e-5 relative)."""
    model, tok = tiny
    model = copy.deepcopy(model).to(dtype)
    answers = ["Paris", "5", "", "the yen", "Lima is the answer"]
    kw = dict(layers="all", positions=POSITIONS, batch_size=5, progress=False)
    left = read_activations(model, tok, prompts, answers, padding_side="left", **kw)
    right = read_activations(model, tok, prompts, answers, padding_side="right", **kw)
    assert set(left) == {(la, p) for la in range(4) for p in POSITIONS}
    for key in left:
        width = 64 if key[1] == "mean_last_answer" else 32
        assert left[key].shape == (5, width) and left[key].dtype == np.float32
        np.testing.assert_allclose(left[key], right[key], atol=atol, rtol=rtol)
    # the positions really differ from each other (the test is not vacuous)
    assert not np.allclose(left[(3, "last_prompt")], left[(3, "mean_answer")])


def test_batched_read_equals_one_at_a_time(tiny, prompts):
    model, tok = tiny
    answers = ["Paris", "5", "x", "the yen", "Lima"]
    kw = dict(layers=[1, 3], positions=POSITIONS, progress=False)
    batched = read_activations(model, tok, prompts, answers, batch_size=5, **kw)
    single = read_activations(model, tok, prompts, answers, batch_size=1, **kw)
    for key in batched:
        np.testing.assert_allclose(batched[key], single[key], atol=5e-5, rtol=1e-4)


def test_layer_i_is_hidden_states_i_plus_1(tiny, prompts):
    model, tok = tiny
    acts = read_activations(model, tok, prompts[:1], layers="all", progress=False)
    ids = tok(prompts[0], return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        hs = model(**ids, output_hidden_states=True).hidden_states
    for layer in range(3):  # the last entry of hidden_states is after the final norm
        np.testing.assert_allclose(
            acts[(layer, "last_prompt")][0], hs[layer + 1][0, -1].numpy(), atol=1e-6
        )


def test_generation_reading_matches_teacher_forcing(tiny, prompts, eos_from_output):
    model, tok = tiny
    res = generate_and_read(
        model,
        tok,
        prompts,
        layers="all",
        positions=POSITIONS,
        max_new_tokens=8,
        batch_size=3,
        progress=False,
    )
    lengths = [len(a) for a in res.answer_ids]
    assert len(set(lengths)) > 1, "answers should end at different lengths"
    assert (~res.truncated).any() and res.truncated.any()
    # Tokens that were fed back to the model: all of a finished answer, all but the last
    # of an answer cut by max_new_tokens.
    fed = [a[:-1] if cut else a for a, cut in zip(res.answer_ids, res.truncated, strict=True)]
    prompt_ids = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    ref = read_token_activations(
        model, prompt_ids, fed, layers=range(4), positions=POSITIONS, progress=False
    )
    for key, value in ref.items():
        np.testing.assert_allclose(res.activations[key], value, atol=5e-5, rtol=1e-4)


def test_generation_batched_equals_single(tiny, prompts, eos_from_output):
    model, tok = tiny
    kw = dict(layers=[0, 2], max_new_tokens=6, progress=False)
    batched = generate_and_read(model, tok, prompts, batch_size=5, **kw)
    single = generate_and_read(model, tok, prompts, batch_size=1, **kw)
    assert batched.answer_ids == single.answer_ids
    np.testing.assert_allclose(batched.logprob_mean, single.logprob_mean, atol=1e-5)
    for key in batched.activations:
        np.testing.assert_allclose(
            batched.activations[key], single.activations[key], atol=5e-5, rtol=1e-4
        )


def test_baselines_are_log_probabilities(tiny, prompts):
    model, tok = tiny
    res = generate_and_read(model, tok, prompts, layers=[0], max_new_tokens=4, progress=False)
    assert res.logprob_mean.shape == (5,)
    assert np.all(res.logprob_min <= res.logprob_mean + 1e-9)
    assert np.all(res.logprob_mean <= 0)
    assert np.all(res.entropy_mean >= 0) and np.all(res.entropy_mean <= np.log(len(tok)) + 1e-4)
    # greedy picks the most likely token, so its log-probability is at least -entropy bound
    ids = tok(prompts[0], return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        logp = torch.log_softmax(model(**ids).logits[0, -1], -1)
    first = res.answer_ids[0][0]
    assert first == int(logp.argmax())


def test_hooks_removed_after_success_and_error(tiny, prompts):
    model, tok = tiny
    before = n_hooks(model)
    generate_and_read(model, tok, prompts[:2], layers="all", max_new_tokens=2, progress=False)
    assert n_hooks(model) == before
    with pytest.raises(RuntimeError, match="boom"):
        with LayerCapture(model, [0, 1], keep="last"):
            assert n_hooks(model) == before + 2
            raise RuntimeError("boom")
    assert n_hooks(model) == before


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(layers=[4]), ValueError, r"layer index 4 is out of range.*4 layers.*0 \.\. 3"),
        (dict(layers=[-5]), ValueError, "layer index -5 is out of range"),
        (dict(layers="some"), ValueError, "unknown layers 'some'"),
        (dict(positions=["first_token"]), ValueError, "unknown position 'first_token'"),
        (dict(max_new_tokens=0), ValueError, "max_new_tokens must be an int >= 1; got 0"),
        (dict(batch_size=0), ValueError, "batch_size must be an int >= 1; got 0"),
    ],
)
def test_bad_arguments(tiny, prompts, kwargs, error, match):
    model, tok = tiny
    with pytest.raises(error, match=match):
        generate_and_read(model, tok, prompts[:1], progress=False, **kwargs)


def test_bad_prompts(tiny, prompts):
    model, tok = tiny
    with pytest.raises(ValueError, match=r"prompt 1 is empty \('  '\)"):
        generate_and_read(model, tok, [prompts[0], "  "], progress=False)
    with pytest.raises(TypeError, match="not one string"):
        generate_and_read(model, tok, prompts[0], progress=False)
    with pytest.raises(ValueError, match="need answers"):
        read_activations(model, tok, prompts, positions="mean_answer", progress=False)


def test_over_long_prompt(tiny):
    model, tok = tiny
    long = question_prompt(tok, "Paris " * 300)
    with pytest.raises(ValueError, match=r"prompt 0 is \d+ tokens.*context of 256 tokens"):
        generate_and_read(model, tok, [long], progress=False)


def test_combined_position_is_its_parts_side_by_side(tiny, prompts):
    """mean_last_answer = [mean_answer, last_answer], from both readers, nothing else read."""
    model, tok = tiny
    assert base_positions(["mean_last_answer", "last_prompt"]) == [
        "last_prompt",
        "last_answer",
        "mean_answer",
    ]
    assert base_positions("mean_last_answer") == ["last_answer", "mean_answer"]
    answers = ["Paris", "5", "", "the yen", "Lima is the answer"]
    kw = dict(layers=[2], progress=False)
    both = read_activations(model, tok, prompts, answers, positions="mean_last_answer", **kw)
    assert set(both) == {(2, "mean_last_answer")}  # the parts are not returned unasked
    parts = read_activations(model, tok, prompts, answers, positions=POSITIONS, **kw)
    np.testing.assert_array_equal(
        both[(2, "mean_last_answer")],
        np.hstack([parts[(2, "mean_answer")], parts[(2, "last_answer")]]),
    )
    gen = generate_and_read(
        model, tok, prompts, positions=["mean_last_answer", "mean_answer"], max_new_tokens=5, **kw
    )
    assert set(gen.activations) == {(2, "mean_last_answer"), (2, "mean_answer")}
    np.testing.assert_array_equal(
        gen.activations[(2, "mean_last_answer")][:, :32], gen.activations[(2, "mean_answer")]
    )
    with pytest.raises(ValueError, match="unknown position 'mean_lst'"):
        read_activations(model, tok, prompts, answers, positions="mean_lst", **kw)
