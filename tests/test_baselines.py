"""P(True) and sampling-consistency baselines on the tiny random-weight model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from howsure.eval.baselines import (
    BASELINE_COSTS,
    costs_for,
    p_true,
    p_true_prompt,
    sampling_consistency,
    single_token_ids,
)

QUESTIONS = [
    "What is the capital of France?",
    "What is 2 + 3?",
    "Peru",
    "What is the currency of Japan? yen yen yen",
]
ANSWERS = ["Paris", "5", "", "The currency of Japan is the yen."]
# The tiny BPE vocabulary has no single-token "yes"/"no"; these are single tokens.
YES = ("y", "Y", " y")
NO = ("n", "N", " n")


def run_p_true(tiny, questions=QUESTIONS, answers=ANSWERS, **kw):
    model, tok = tiny
    return p_true(model, tok, questions, answers, yes_words=YES, no_words=NO, progress=False, **kw)


def test_p_true_range_shape(tiny):
    s = run_p_true(tiny)
    assert s.shape == (len(QUESTIONS),)
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.isfinite(s))


def test_p_true_matches_hand_computation(tiny):
    model, tok = tiny
    s = run_p_true(tiny)
    for i in (0, 3):  # a left-padded row and the longest (unpadded) row
        ids = tok(p_true_prompt(tok, QUESTIONS[i], ANSWERS[i]), add_special_tokens=False)
        with torch.inference_mode():
            logits = model(torch.tensor([ids["input_ids"]])).logits[0, -1].float()
        probs = torch.softmax(logits, -1)
        y = probs[single_token_ids(tok, YES)].sum()
        n = probs[single_token_ids(tok, NO)].sum()
        assert s[i] == pytest.approx(float(y / (y + n)), abs=1e-5)


def test_p_true_batched_equals_single(tiny):
    batched = run_p_true(tiny, batch_size=4)
    single = run_p_true(tiny, batch_size=1)
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_p_true_left_padding_independent_of_pad_id(tiny):
    _model, tok = tiny
    lengths = [
        len(tok(p_true_prompt(tok, q, a))["input_ids"])
        for q, a in zip(QUESTIONS, ANSWERS, strict=True)
    ]
    assert len(set(lengths)) > 1  # the batch really is padded
    before = run_p_true(tiny)
    old = tok.pad_token_id
    try:
        tok.pad_token = "<unk>"  # a different pad id must change nothing
        after = run_p_true(tiny)
    finally:
        tok.pad_token_id = old
    assert tok.pad_token_id == old
    np.testing.assert_allclose(before, after, atol=1e-5)


def test_p_true_template_changes_prompt(tiny):
    _model, tok = tiny
    prompt = p_true_prompt(tok, "Q?", "A", template="{question} => {answer}?")
    assert "Q? => A?" in prompt and prompt.endswith("assistant\n")
    with pytest.raises(ValueError, match="template"):
        p_true_prompt(tok, "Q?", "A", template="{question} {oops}")


def test_single_token_ids(tiny):
    _model, tok = tiny
    y, cap_y = tok.convert_tokens_to_ids("y"), tok.convert_tokens_to_ids("Y")
    assert single_token_ids(tok, (*YES, "y")) == [y, cap_y]  # " y" is two tokens


def test_p_true_no_single_token_words(tiny):
    model, tok = tiny
    with pytest.raises(ValueError, match="yes"):
        p_true(model, tok, QUESTIONS, ANSWERS, progress=False)  # default spellings: none


@pytest.mark.parametrize(
    ("questions", "answers", "match"),
    [
        (QUESTIONS, ANSWERS[:2], "4 questions but 2 answers"),
        (["What?", "  "], ["a", "b"], r"questions\[1\] is empty"),
        ([], [], "no questions"),
    ],
)
def test_p_true_bad_inputs(tiny, questions, answers, match):
    with pytest.raises(ValueError, match=match):
        run_p_true(tiny, questions, answers)


def consistency(tiny, questions=QUESTIONS[:2], greedy=("Paris", "5"), **kw):
    model, tok = tiny
    kw = {"k": 3, "max_new_tokens": 4, "progress": False} | kw
    return sampling_consistency(model, tok, list(questions), list(greedy), **kw)


def test_consistency_deterministic_and_grid(tiny):
    seen = []

    def judge(answer, golds):
        seen.append(answer)
        return len(seen) % 2 == 0

    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = consistency(tiny, judge=judge, seed=7)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's RNG is untouched
    first = list(seen)
    seen.clear()
    b = consistency(tiny, judge=judge, seed=7)
    assert first == seen  # same samples
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2,)
    assert set(np.round(a * 3, 6)) <= {0.0, 1.0, 2.0, 3.0}
    assert len(first) == 2 * 3


def test_consistency_default_judge_values(tiny):
    s = consistency(tiny, k=4)
    assert np.all(np.isin(np.round(s * 4, 6), [0, 1, 2, 3, 4]))


def test_consistency_always_true_judge(tiny):
    s = consistency(tiny, judge=lambda a, g: True)
    np.testing.assert_array_equal(s, [1.0, 1.0])


def test_consistency_empty_greedy_is_zero(tiny):
    asked = []

    def judge(answer, golds):
        asked.append(golds)
        return True

    s = consistency(tiny, greedy=("", "5"), judge=judge)
    np.testing.assert_array_equal(s, [0.0, 1.0])
    assert all(g == ["5"] for g in asked)
    s = consistency(tiny, greedy=("", "..."), judge=judge)
    np.testing.assert_array_equal(s, [0.0, 0.0])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"greedy": ("Paris",)}, "2 questions but 1 greedy_answers"),
        ({"k": 0}, "k must be an int >= 1; got 0"),
        ({"questions": ("What?", "")}, r"questions\[1\] is empty"),
        ({"top_p": 0.0}, "top_p.*0.0"),
        ({"temperature": -1.0}, "temperature.*-1.0"),
        ({"batch_size": 0}, "batch_size.*0"),
    ],
)
def test_consistency_bad_inputs(tiny, kw, match):
    with pytest.raises(ValueError, match=match):
        consistency(tiny, **kw)


def test_costs():
    costs = costs_for(5)
    assert costs["consistency"] == 6
    assert costs["p_true"] == 2
    for name in ("probe", "probe_last_prompt", "logprob_mean", "logprob_min", "entropy"):
        assert costs[name] == 1
    assert costs_for(2)["consistency"] == 3
    assert BASELINE_COSTS == costs_for(5)
    assert costs_for(3, methods=["probe", "p_true", "other"]) == {"probe": 1.0, "p_true": 2.0}
    with pytest.raises(ValueError, match=r"k must be.*0"):
        costs_for(0)


def test_costs_accepted_by_compare_methods():
    from howsure.eval.compare import compare_methods

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40).astype(bool)
    scores = {"probe": rng.random(40), "p_true": rng.random(40), "consistency": rng.random(40)}
    topics = ["a", "b"] * 20
    out = compare_methods(scores, y, topics, costs=costs_for(4, methods=scores), n_boot=10)
    assert out["consistency"]["forward_passes_per_question"] == 5.0
    assert out["p_true"]["forward_passes_per_question"] == 2.0
