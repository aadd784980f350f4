"""Familiarity read from the question: the estimator, the cached prompt states, the fit on
questions as the reader sends them, no extra forward pass, the held-out kinds and the
report."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from howsure.eval.familiarity import familiarity_markdown, familiarity_report
from howsure.eval.kinds import KINDS, arithmetic_prompts, held_out_kinds
from howsure.plugin.detector import Detector
from howsure.plugin.familiar import fit_reader_familiarity, reader_states
from howsure.plugin.wrapper import wrap
from howsure.probes import prompt_states as ps_module
from howsure.probes.familiarity import UNFAMILIAR_BELOW, Familiarity
from howsure.qa.items import QAItem
from tests.conftest import fit_tiny_detectors

TOPICS = {
    "sums": "What is {a} plus {b}?",
    "capitals": "What is the capital of country number {a}{b}?",
    "authors": "Who wrote book number {a}{b}?",
}


def items(n: int = 14) -> list[QAItem]:
    return [
        QAItem(
            id=f"{t}-{a}-{b}",
            question=q.format(a=a, b=b),
            answers=("x",),
            topic=t,
            source="synthetic",
            split="train",
        )
        for t, q in TOPICS.items()
        for a in range(n // 7 + 1)
        for b in range(7)
    ]


@pytest.fixture(scope="module")
def detector(tiny):
    model, tok = tiny
    det = fit_tiny_detectors(model, tok, positions=("mean_answer",))["mean_answer"]
    fit_reader_familiarity([det], model, tok, items(), progress=False)
    return det


def test_euclidean_familiarity_sees_a_state_far_out_along_a_familiar_direction():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 8)) + np.r_[3.0, np.zeros(7)]
    far = X[:20] * 6.0  # same directions, six times as long
    cos = Familiarity(metric="cosine").fit(X)
    euc = Familiarity(metric="euclidean").fit(X)
    assert np.mean(euc.score(far) < UNFAMILIAR_BELOW) == 1.0
    assert np.mean(cos.score(far) < UNFAMILIAR_BELOW) < 0.5  # direction only: missed
    with pytest.raises(ValueError, match="metric"):
        Familiarity(metric="manhattan").fit(X)


def test_prompt_states_are_cached(tiny, monkeypatch):
    model, tok = tiny
    texts = [f"question {i}?" for i in range(5)]
    first = ps_module.prompt_states(model, tok, texts, layers=[1, 2], progress=False)
    assert set(first) == {1, 2} and first[1].shape == (5, model.config.hidden_size)

    def no_read(*a, **k):
        raise AssertionError("read again")

    monkeypatch.setattr(ps_module, "read_activations", no_read)
    again = ps_module.prompt_states(model, tok, texts, layers=[1, 2], progress=False)
    np.testing.assert_array_equal(again[2], first[2])
    with pytest.raises(AssertionError, match="read again"):
        ps_module.prompt_states(model, tok, [*texts, "one more?"], layers=[1], progress=False)


def test_fit_on_questions_as_sent_records_its_choice(detector, tiny):
    info = detector.info["training"]["familiarity"]
    assert info["questions"] == len(items()) and info["layers"] == list(detector.familiarity_layers)
    assert info["choice"] and {"layers", "n_neighbors", "metric", "mean_auroc"} <= set(
        info["choice"][0]
    )
    assert set(detector.familiarity_layers) <= set(detector.layers)


def test_familiarity_comes_from_the_prefill_with_no_extra_forward_pass(detector, tiny):
    """The wrapper's familiarity equals the one read from the question alone (the state
    training used), and the model runs as often as without a familiarity model."""
    import copy

    model, tok = tiny
    question = "What is 3 plus 4?"
    bare = copy.copy(detector)
    bare.familiarity, bare.familiarity_layers = None, ()
    calls = []
    handle = model.register_forward_hook(lambda *a: calls.append(1))
    try:
        counts, gens = [], []
        for det in (detector, bare):
            calls.clear()
            with torch.inference_mode():
                gens.append(wrap(model, tok, det).generate(question, max_new_tokens=4))
            counts.append(len(calls))
    finally:
        handle.remove()
    assert counts[0] == counts[1]
    assert gens[1].familiarity is None
    states = reader_states(
        detector, model, tok, [question], layers=detector.familiarity_layers, progress=False
    )
    want = detector.familiarity_of(detector.prompt_features(states))
    assert gens[0].familiarity == pytest.approx(float(want[0]), abs=1e-6)
    got = detector.assess([question])
    assert got.familiarity[0] == pytest.approx(float(want[0]), abs=1e-6)


def test_saved_familiarity_round_trips_and_old_kind_is_left_out(detector, tmp_path):
    import json

    detector.save(tmp_path / "d")
    back = Detector.load(tmp_path / "d")
    assert back.familiarity_layers == detector.familiarity_layers
    assert detector.familiarity.get_state()[0]["index_"].dtype == np.float16  # half size
    X = np.random.default_rng(1).normal(size=(4, back.familiarity.n_features_in_))
    np.testing.assert_allclose(back.familiarity.score(X), detector.familiarity.score(X))
    config = json.loads((tmp_path / "d" / "config.json").read_text())
    del config["familiarity"]["layers"]  # as saved by howsure before the question-based one
    (tmp_path / "d" / "config.json").write_text(json.dumps(config))
    with pytest.warns(UserWarning, match="older kind"):
        old = Detector.load(tmp_path / "d")
    assert old.familiarity is None and old.prompt_features({}) is None


def test_held_out_kinds_are_fixed_and_unlike_the_builtin_templates():
    a, b = held_out_kinds(), held_out_kinds()
    assert a == b and list(a) == list(KINDS)
    assert all(len(v) >= 40 for v in a.values())
    assert not any(" plus " in q or " times " in q for q in arithmetic_prompts())
    assert any("```" in q or "def " in q or "`" in q for q in a["code"])


def test_report_measures_kinds_and_sources(detector, tiny, tmp_path):
    import json

    model, tok = tiny
    rows = []
    for split in ("train", "test"):
        for src in ("alpha", "beta", "gamma"):
            rows += [
                {
                    "id": f"{split}-{src}-{i}",
                    "question": f"{src} question {i}?",
                    "answers": ["x"],
                    "topic": f"{src}-t{i % 2}",
                    "source": src,
                    "split": split,
                }
                for i in range(12)
            ]
    path = tmp_path / "mini.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    kinds = {"small_talk": ["Hi!", "Thanks!", "Bye!", "Lol"], "non_english": ["Wer bist du?"] * 3}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = familiarity_report(
            detector, model, tok, dataset=str(path), kinds=kinds, n_boot=50, progress=False
        )
    assert report["in_distribution"]["n"] == 36
    assert set(report["kinds"]) == set(kinds) and set(report["sources"]) == {
        "alpha",
        "beta",
        "gamma",
    }
    for r in [*report["kinds"].values(), *report["sources"].values()]:
        assert 0.0 <= r["auroc"] <= 1.0 and r["auroc_ci95"][0] <= r["auroc"] <= r["auroc_ci95"][1]
        assert r["flagged_ci95"][0] <= r["flagged"] <= r["flagged_ci95"][1]
    md = familiarity_markdown(report)
    assert "source `beta`" in md and "small_talk" in md and "flagged below" in md


def test_cli_familiarity_reports_and_refuses_a_detector_without_one(
    detector, tiny, tiny_dir, tmp_path, capsys
):
    import json

    from howsure.cli import main

    rows = [
        {
            "id": f"{split}-{src}-{i}",
            "question": f"{src} question {i}?",
            "answers": ["x"],
            "topic": f"{src}-t{i % 2}",
            "source": src,
            "split": split,
        }
        for split in ("train", "test")
        for src in ("alpha", "beta")
        for i in range(12)
    ]
    data = tmp_path / "mini.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    detector.save(tmp_path / "det")
    args = [
        "familiarity",
        "--model",
        str(tiny_dir),
        "--dataset",
        str(data),
        "--detector",
        str(tmp_path / "det"),
        "--n-boot",
        "20",
        "--quiet",
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "source `alpha`" in out and "code" in out and "wrote" in out
    report = json.loads((tmp_path / "out" / "familiarity.json").read_text())
    assert report["in_distribution"]["n"] == 24 and set(report["sources"]) == {"alpha", "beta"}
    code = report["kinds"]["code"]  # the prompts longer than the tiny context are left out
    assert code["n"] + code["too_long"] == 96 and code["too_long"] > 0
    plain = fit_tiny_detectors(*tiny, positions=("mean_answer",))["mean_answer"]
    plain.save(tmp_path / "plain")
    assert main([*args[:5], "--detector", str(tmp_path / "plain")]) == 2
    assert "has no familiarity model" in capsys.readouterr().err
