"""Detector training, artefact round trip and refusals, on the tiny model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from howsure.calibration.recalibrated import RecalibratedCalibrator
from howsure.cli import main
from howsure.eval.schema import validate_metrics
from howsure.plugin.detector import FORMAT_VERSION, Detector
from howsure.plugin.grouped import fit_grouped_detector
from howsure.plugin.train import train_detector
from howsure.probes.activations import generate_and_read
from howsure.probes.collect import concat
from howsure.probes.models import load_model
from howsure.probes.positions import POSITIONS
from howsure.probes.prompts import DEFAULT_INSTRUCTION

N_QUESTIONS = 160


@pytest.fixture(scope="module")
def tiny_qa(tiny, tmp_path_factory):
    """A QA file in three topics where the tiny model is right about half the time."""
    from conftest import write_half_right_qa

    model, tok = tiny
    return write_half_right_qa(
        model, tok, tmp_path_factory.mktemp("tinyqa"), n_questions=N_QUESTIONS
    )


@pytest.fixture(scope="module")
def trained(tiny, tiny_qa):
    model, tok = tiny
    return train_detector(
        model, tok, dataset=str(tiny_qa), layers=[1, 3], max_new_tokens=4, cv=3, progress=False
    )


def test_training_fits_familiarity_on_the_questions_as_the_reader_sends_them(trained, tiny):
    """One model for both detectors, fitted on the train and calibration questions rendered
    by the reader (not on the collected rows), its layers among those a generation reads."""
    from howsure.plugin.familiar import reader_states
    from howsure.probes.familiarity import Familiarity

    model, tok = tiny
    det, prompt_det = trained.detector, trained.prompt_detector
    assert det.familiarity is prompt_det.familiarity is not None
    info = det.info["training"]["familiarity"]
    questions = {
        it.question for split in ("train", "calibration") for it in trained.collections[split].items
    }
    assert info["questions"] == len(questions) and info["sent_as"] == "the reader sends them"
    assert set(det.familiarity_layers) <= set(det.layers)
    rows = list(
        dict.fromkeys(
            it.question for s in ("train", "calibration") for it in trained.collections[s].items
        )
    )
    states = reader_states(det, model, tok, rows, layers=det.familiarity_layers, progress=False)
    again = Familiarity(
        n_neighbors=det.familiarity.n_neighbors,
        metric=det.familiarity.metric,
        n_blocks=len(det.familiarity_layers),
    ).fit(det.prompt_features(states))
    np.testing.assert_allclose(again.reference_, det.familiarity.reference_, atol=1e-5)


def test_training_picks_from_the_sweep(trained):
    det = trained.detector
    keys = {(r["layer"], r["position"]) for r in trained.sweep.rows}
    assert keys == {(la, p) for la in (1, 3) for p in POSITIONS}  # mean_last_answer too
    assert (det.reader.layer, det.reader.position) == trained.sweep.best
    assert trained.prompt_detector.reader.position == "last_prompt"
    n_rows = len(trained.collections["train"]) + len(trained.collections["calibration"])
    assert det.info["training"]["n_train"] == n_rows  # fitted on train + calibration
    # a file without sources: whole topics are held out, and the answer-position detector
    # stacks the probe with the answer's token statistics
    assert det.info["training"]["folds"] == trained.sweep.meta["folds"] == "topic"
    assert "random_folds" in trained.sweep.meta  # random-fold AUROCs beside the grouped ones
    assert det.info["training"]["C"] in det.info["training"]["C_table"]
    if det.needs_answer:
        assert det.inputs[0] == "probe" and len(det.inputs) == 4
        assert det.info["training"]["calibrator"] == "stacked"
    assert trained.prompt_detector.inputs == ("probe",)
    assert trained.prompt_detector.info["training"]["calibrator"] in {
        "platt",
        "temperature",
        "isotonic",
        "histogram",
        "beta",
    }
    assert det.familiarity is not None
    assert 0.3 < trained.collections["train"].accuracy < 0.7


def test_calibration_scores_are_stored(trained, tmp_path):
    """The training rows' grouped out-of-fold scores are kept for threshold_for."""
    rows = [trained.collections[s] for s in ("train", "calibration")]
    labels = np.concatenate([c.labels for c in rows]).astype(bool)
    for det in (trained.detector, trained.prompt_detector):
        assert det.calibration_scores.shape == labels.shape
        assert np.all((det.calibration_scores >= 0) & (det.calibration_scores <= 1))
        np.testing.assert_array_equal(det.calibration_labels, labels)
        back = Detector.load(det.save(tmp_path / det.reader.position))
        np.testing.assert_array_equal(back.calibration_scores, det.calibration_scores)
        t = back.threshold_for(0.45)
        accepted = back.calibration_scores >= t
        assert accepted.any() and 1 - back.calibration_labels[accepted].mean() <= 0.45


def test_round_trip_same_scores(trained, tiny, tmp_path):
    model, tok = tiny
    questions = ["What is 3 plus 4?", "What is 11 plus 2?", "Peru"]
    for det in (trained.detector, trained.prompt_detector):
        before = det.score(questions, model=model, tokenizer=tok)
        det.save(tmp_path / "d")
        back = Detector.load(tmp_path / "d", model=model, tokenizer=tok)
        after = back.score(questions)
        assert before.shape == (3,) and np.all((before >= 0) & (before <= 1))
        np.testing.assert_allclose(after, before, atol=1e-6, rtol=0)
        assert back.reader == det.reader and back.fingerprint == det.fingerprint
        cfg = json.loads((tmp_path / "d" / "config.json").read_text())
        assert cfg["format_version"] == FORMAT_VERSION == 4 and cfg["model"]["hidden_size"] == 32
        assert set(cfg["model"]) == {
            "model_type",
            "architecture",
            "hidden_size",
            "num_layers",
            "vocab_size",
            "name_or_path",
            "dtype",
            "weights",
        }
        assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [
            "config.json",
            "tensors.safetensors",
        ]


def test_answer_position_scores(trained, tiny):
    """An answer-position detector scores given answers, or the model's own greedy ones."""
    model, tok = tiny
    rows = concat([trained.collections["train"], trained.collections["calibration"]])
    det, _ = fit_grouped_detector(
        rows, layer=3, position="mean_answer", C=0.1, inputs=("probe",), calibrator="platt", cv=3
    )
    assert det.needs_answer
    q = ["What is 3 plus 4?", "What is 1 plus 1?"]
    given = det.score(q, ["seven", "zzzz zzzz"], model=model, tokenizer=tok)
    assert given.shape == (2,) and given[0] != given[1]
    own = det.score(q, model=model, tokenizer=tok)
    res = generate_and_read(
        model,
        tok,
        det.render(q, tok),
        layers=[3],
        positions="mean_answer",
        max_new_tokens=det.reader.max_new_tokens,
        progress=False,
    )
    np.testing.assert_allclose(own, det.score_features(res.activations[(3, "mean_answer")]))


def test_score_refuses_bad_prompts_by_name(trained, tiny):
    """Not a bare "'NoneType' object is not iterable": the argument, the index, the fix."""
    model, tok = tiny
    det = trained.detector.bind(model, tok)
    with pytest.raises(TypeError, match=r"prompts must be a list of questions .*got NoneType"):
        det.score(None)
    with pytest.raises(TypeError, match=r"prompt 0 must be a question \(str\) or a conversation"):
        det.score([None])
    with pytest.raises(TypeError, match=r"wrap a single question in a list"):
        det.score("What is 1 plus 1?")
    with pytest.raises(ValueError, match="no prompts given"):
        det.score([])
    with pytest.raises(ValueError, match=r"prompt 1: message 0 has role 'wizard'; use one of"):
        det.score(["What?", [{"role": "wizard", "content": "Hi"}]])
    with pytest.raises(ValueError, match=r"prompt 0: empty question"):
        det.score(["  "])
    with pytest.raises(ValueError, match=r"answers must hold one str per prompt \(1\)"):
        det.score(["What?"], ["a", "b"])
    assert det.score(["What is 1 plus 1?"]).shape == (1,)


def test_mismatched_model_is_refused(trained, tmp_path, tmp_path_factory):
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from conftest import make_tiny_chat_model

    other_dir = make_tiny_chat_model(tmp_path_factory.mktemp("other"), layers=3)
    other, _ = load_model(str(other_dir), device="cpu")
    trained.detector.save(tmp_path / "d")
    with pytest.raises(
        ValueError, match=r"fitted on another model \(num_layers: detector 4, model 3"
    ):
        Detector.load(tmp_path / "d", model=other)


def test_corrupt_truncated_and_newer_folders(trained, tmp_path):
    folder = trained.detector.save(tmp_path / "d")
    blob = (folder / "tensors.safetensors").read_bytes()
    (folder / "tensors.safetensors").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="corrupted or truncated"):
        Detector.load(folder)
    (folder / "tensors.safetensors").write_bytes(blob)
    Detector.load(folder)  # intact again

    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, "format_version": 99}))
    with pytest.raises(ValueError, match=r"format version 99.*upgrade howsure"):
        Detector.load(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        Detector.load(folder)
    (folder / "config.json").unlink()
    with pytest.raises(ValueError, match=r"missing \['config.json'\]"):
        Detector.load(folder)
    shutil.rmtree(folder)
    with pytest.raises(ValueError, match="does not exist"):
        Detector.load(folder)


def test_one_class_labels_are_refused(tiny, tmp_path):
    model, tok = tiny
    path = tmp_path / "wrong.jsonl"
    rows = [{"question": f"What is {i} times 3?", "answers": ["zzzz"]} for i in range(120)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ValueError, match=r"one class|both correct and wrong"):
        train_detector(
            model, tok, dataset=str(path), layers=[1], max_new_tokens=2, cv=3, progress=False
        )


def test_training_on_both_styles_fits_and_sends_what_it_saw(
    tiny, tiny_qa, trained, monkeypatch, tmp_path
):
    from howsure.plugin.wrapper import wrap
    from howsure.probes.styles import STYLES

    model, tok = tiny
    res = train_detector(
        model,
        tok,
        dataset=str(tiny_qa),
        layers=[1, 3],
        max_new_tokens=4,
        cv=3,
        progress=False,
        chat_per_source=12,
        chat_max_new_tokens=6,
    )
    det, colls = res.detector, res.collections
    chat = {s: colls[f"chat-{s}"] for s in ("train", "calibration", "test")}
    assert all(0 < len(c) <= 12 for c in chat.values())
    assert all(set(c.extras["style"]) <= set(STYLES) for c in chat.values())
    assert all(c.meta["max_new_tokens"] == 6 for c in chat.values())
    short = len(colls["train"]) + len(colls["calibration"])
    both = short + len(chat["train"]) + len(chat["calibration"])
    assert det.info["training"]["n_train"] == both  # fitted on both styles
    n_sweep = {r["n"] for r in res.sweep.rows}
    assert n_sweep == {len(colls["train"]) + len(chat["train"])}  # chosen on both styles
    assert trained.detector.reader.styles == ()  # the short-style detector is unchanged
    assert det.reader.styles == STYLES and det.reader.instruction == ""
    assert det.reader.max_new_tokens == 6 and res.prompt_detector.reader.styles == STYLES
    # a bare question goes to the model as given, and its answer may run to 6 tokens
    sent = []
    real = tok.apply_chat_template

    def spy(messages, *a, **k):
        sent.append(messages)
        return real(messages, *a, **k)

    monkeypatch.setattr(tok, "apply_chat_template", spy)
    gen = wrap(model, tok, det).generate("What is 2 times 3?")
    monkeypatch.undo()
    assert [{"role": "user", "content": "What is 2 times 3?"}] in sent
    assert 0.0 <= gen.confidence <= 1.0 and len(gen.token_ids) <= 6
    # the sentence detector comes from the chat train and calibration rows' sentences
    sent = det.sentences
    assert sent is not None and sent.info["training"]["unit"] == "sentence"
    assert sent.info["training"]["n_answers"] == len(chat["train"]) + len(chat["calibration"])
    # a QA evaluation (eval, loto, transfer) sends questions as the short rows were sent,
    # so train's cached collection serves it; a short-only detector's is its reader's
    short_style = {"instruction": DEFAULT_INSTRUCTION, "max_new_tokens": 4}
    assert det.info["training"]["short_style"] == short_style == det.qa_style
    assert res.prompt_detector.qa_style == short_style
    plain = trained.detector
    assert plain.qa_style == {
        "instruction": plain.reader.instruction,
        "max_new_tokens": plain.reader.max_new_tokens,
    }
    saved = Detector.load(det.save(tmp_path / "mixed"))
    assert saved.qa_style == short_style and saved.sentences is not None
    with pytest.raises(ValueError, match="chat_per_source must be >= 0"):
        train_detector(model, tok, dataset=str(tiny_qa), chat_per_source=-1, progress=False)


def test_cli_train(tiny_dir, tiny_qa, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--model",
            str(tiny_dir),
            "--dataset",
            str(tiny_qa),
            "--out",
            str(out),
            "--layers",
            "1,3",
            "--max-new-tokens",
            "4",
            "--cv",
            "3",
            "--n-boot",
            "50",
            "--quiet",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "Held-out test split" in text and "| probe |" in text and "| logprob_mean |" in text
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"n", "accuracy", "dataset", "detector", "methods"} <= set(metrics)
    validate_metrics(metrics, methods=("probe", "probe_last_prompt", "logprob_mean"))
    for name in ("probe", "probe_last_prompt", "logprob_mean", "logprob_min", "entropy"):
        m = metrics["methods"][name]
        assert 0 <= m["auroc"] <= 1 and 0 <= m["ece"] <= 1
        lo, hi = m["ci95"]["auroc"]
        assert lo <= hi
    for name in ("reliability.png", "sweep.png", "report.md"):
        assert (out / name).stat().st_size > 1000 or name == "report.md"
    Detector.load(out / "detector")
    Detector.load(out / "detector-prompt")


def test_cli_train_with_chat_rows_reports_both_styles(tiny_dir, tiny_qa, tmp_path, capsys):
    out = tmp_path / "run"
    base = ["train", "--model", str(tiny_dir), "--dataset", str(tiny_qa), "--out", str(out)]
    quick = ["--layers", "1", "--max-new-tokens", "4", "--cv", "3", "--n-boot", "50", "--quiet"]
    assert main([*base, *quick, "--chat-per-source", "4", "--chat-max-new-tokens", "0"]) == 2
    assert "--chat-max-new-tokens must be >= 1, got 0" in capsys.readouterr().err
    assert not out.exists()  # refused before anything was collected
    args = [*base, *quick, "--chat-per-source", "12", "--chat-max-new-tokens", "6"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "styles: short and chat (short, plain, system, request, chatter, multi_turn)" in text
    assert "a bare question is sent as given, answers up to 6 tokens" in text
    det = Detector.load(out / "detector")
    assert det.reader.instruction == "" and det.reader.max_new_tokens == 6
    if "one class only" not in text:  # the tiny model's chat answers may all be wrong
        assert "Held-out test split, chat-style rows" in text
        chat = json.loads((out / "chat-metrics.json").read_text())
        assert 0 <= chat["probe"]["auroc"] <= 1
    # the sentence detector is saved with the detector, and tested on the chat test rows
    assert det.sentences is not None
    assert f"Sentence detector: probe from {det.sentences.info['training']['probe_from']}" in text
    if "labelled sentences are one class" not in text:
        sent = json.loads((out / "sentence-metrics.json").read_text())
        assert sent["n"] > 0 and 0 <= sent["auroc"] <= 1 and sent["best_baseline"]


def test_stacked_detector_through_the_wrapper_is_exact(trained, tiny):
    """The wrapper reads the answer's token statistics from its own generate: the same
    confidences as Detector.score, the same tokens as plain generate, and a familiarity."""
    from howsure.plugin.grouped import STACKED_INPUTS, fit_grouped_detector
    from howsure.plugin.wrapper import wrap
    from howsure.probes.collect import concat

    model, tok = tiny
    rows = concat([trained.collections["train"], trained.collections["calibration"]])
    det, _ = fit_grouped_detector(rows, layer=3, position="mean_answer", C=0.1, cv=3)
    assert det.inputs == STACKED_INPUTS
    chat = wrap(model, tok, det)
    questions = ["What is 3 plus 4?", "What is 11 plus 2?", "What is 9 plus 9?"]
    gens = chat.generate_batch(questions)
    want = det.assess(questions, model=model, tokenizer=tok)
    np.testing.assert_allclose([g.confidence for g in gens], want.confidence, atol=1e-6)
    np.testing.assert_allclose([g.familiarity for g in gens], want.familiarity, atol=1e-9)
    one = chat.generate(questions[0])
    assert one.confidence == pytest.approx(gens[0].confidence, abs=1e-6)
    streamed = list(chat.events(questions[0]))
    conf = next(e for e in streamed if type(e).__name__ == "ConfidenceEvent")
    assert conf.confidence == pytest.approx(one.confidence, abs=1e-6)
    assert conf.familiarity == pytest.approx(one.familiarity, abs=1e-9)
    # given answers are read teacher-forced, with the statistics of their own tokens
    given = det.score(questions, ["7", "13", "zzzz zzzz"], model=model, tokenizer=tok)
    assert given.shape == (3,) and np.all((given > 0) & (given < 1))
    assert len(set(np.round(given, 6))) == 3


def test_cli_recalibrate(trained, tiny_dir, tiny_qa, tmp_path, capsys):
    trained.detector.save(tmp_path / "det")
    few = tmp_path / "few.jsonl"
    few.write_text(
        "".join(json.dumps({"question": f"Q{i}?", "answers": ["a"]}) + "\n" for i in range(5))
    )
    # too few rows: an error before any model is loaded (the model named does not exist)
    args = ["recalibrate", "--detector", str(tmp_path / "det"), "--quiet"]
    assert main([*args, "--dataset", str(few), "--model", "nobody/nothing"]) == 2  # not loaded
    assert "has 5 rows; recalibration needs at least 20" in capsys.readouterr().err
    out = tmp_path / "recal"
    code = main([*args, "--dataset", str(tiny_qa), "--model", str(tiny_dir), "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert f"wrote {out}" in text and "ECE" in text
    back = Detector.load(out)
    assert isinstance(back.calibrator, RecalibratedCalibrator)
    assert back.calibrator.base.get_params() == trained.detector.calibrator.get_params()
    assert back.info["recalibration"]["n"] == N_QUESTIONS
    assert back.familiarity is not None and back.inputs == trained.detector.inputs


def test_familiarity_and_statistics_add_no_forward_pass(trained, tiny):
    """The same number of model calls with and without the familiarity model and the
    stacked statistics: both are read from the one generation."""
    import copy

    import torch

    from howsure.plugin.grouped import fit_grouped_detector
    from howsure.plugin.wrapper import wrap
    from howsure.probes.collect import concat

    model, tok = tiny
    rows = concat([trained.collections["train"], trained.collections["calibration"]])
    full, _ = fit_grouped_detector(rows, layer=3, position="mean_answer", C=0.1, cv=3)
    bare = copy.copy(full)
    bare.familiarity = None
    calls = []
    handle = model.register_forward_hook(lambda *a: calls.append(1))
    try:
        counts = []
        for det in (full, bare):
            calls.clear()
            with torch.inference_mode():
                gen = wrap(model, tok, det).generate("What is 3 plus 4?", max_new_tokens=4)
            counts.append(len(calls))
            assert gen.confidence is not None
        calls.clear()
        enc = tok(det.render(["What is 3 plus 4?"], tok), return_tensors="pt")
        with torch.inference_mode():
            model.generate(**enc, max_new_tokens=4, do_sample=False, pad_token_id=tok.pad_token_id)
        plain = len(calls)
    finally:
        handle.remove()
    assert counts[0] == counts[1] == plain
