"""``howsure eval`` / ``howsure transfer`` and the report they write, on the tiny model."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from howsure.cli import main
from howsure.eval.report import examples_tables
from howsure.eval.schema import validate_metrics
from howsure.eval.tables import Table
from howsure.plugin.train import train_detector
from howsure.probes.collect import Collection
from howsure.qa.items import QAItem
from howsure.qa.load import load_qa

PNG = b"\x89PNG\r\n\x1a\n"
COMMON = ["--n-boot", "50", "--quiet"]


@pytest.fixture(scope="module")
def tiny_qa(tiny, tmp_path_factory):
    from conftest import write_half_right_qa

    model, tok = tiny
    return write_half_right_qa(model, tok, tmp_path_factory.mktemp("evalqa"), n_questions=160)


@pytest.fixture(scope="module")
def det_dir(tiny, tiny_qa, tmp_path_factory):
    model, tok = tiny
    res = train_detector(
        model, tok, dataset=str(tiny_qa), layers=[1, 3], max_new_tokens=4, cv=3, progress=False
    )
    folder = tmp_path_factory.mktemp("evaldet") / "detector"
    res.detector.save(folder)
    return folder


@pytest.fixture(scope="module")
def full_eval(tiny_dir, tiny_qa, det_dir, tmp_path_factory):
    """One full ``howsure eval`` run (P(True) and 2-sample consistency included)."""
    from howsure.eval import baselines

    out = tmp_path_factory.mktemp("evalout")
    mp = pytest.MonkeyPatch()  # the tiny BPE has no one-token "yes": use "y" / "n"
    mp.setattr(baselines, "YES_WORDS", ("y", "Y"))
    mp.setattr(baselines, "NO_WORDS", ("n", "N"))
    argv = ["eval", "--model", str(tiny_dir), "--detector", str(det_dir)]
    argv += ["--dataset", str(tiny_qa), "--out", str(out), "--samples", "2", *COMMON]
    try:
        assert main(argv) == 0
    finally:
        mp.undo()
    return out


def test_eval_metrics_follow_the_schema(full_eval, tiny_qa):
    metrics = json.loads((full_eval / "metrics.json").read_text())
    validate_metrics(metrics, methods=("probe", "p_true", "consistency"))
    methods = metrics["methods"]
    assert list(methods) == [
        "probe",
        "logprob_mean",
        "logprob_min",
        "entropy",
        "p_true",
        "consistency",
    ]
    costs = {k: v["forward_passes_per_question"] for k, v in methods.items()}
    assert costs == {
        "probe": 1,
        "logprob_mean": 1,
        "logprob_min": 1,
        "entropy": 1,
        "p_true": 2,
        "consistency": 3,
    }
    # --split auto: the detector was trained on this file, so only its test split is scored
    assert metrics["split"] == "test"
    assert metrics["n"] == len(load_qa(str(tiny_qa), split="test"))
    assert metrics["samples"] == 2 and set(metrics["seconds"]) == {
        "generation",
        "p_true",
        "consistency",
    }
    for row in methods.values():
        assert row["ci95"]["auroc"][0] <= row["auroc"] <= row["ci95"]["auroc"][1]
    floor = methods["probe"]["ece_noise_floor"]  # detectors only
    assert 0 < floor["ci95"][0] <= floor["mean"] <= floor["ci95"][1] < 1
    assert "ece_noise_floor" not in methods["logprob_mean"]
    margins = metrics["topic_margins"]
    assert set(margins) <= {"topic0", "topic1", "topic2"} and margins
    for r in margins.values():
        assert r["best_baseline"] in {"logprob_mean", "logprob_min", "entropy"}
        assert r["ci95"][0] <= r["margin"] <= r["ci95"][1]


def test_report_html_is_self_contained(full_eval):
    html = (full_eval / "report.html").read_text()
    srcs = re.findall(r'<img alt="[^"]*" src="([^"]+)"', html)
    assert len(srcs) == 5  # reliability, ROC, risk-coverage, histograms, sweep
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG)
    assert "http" not in html  # nothing fetched when it is opened
    for name in ("reliability", "roc", "risk_coverage", "histogram", "sweep"):
        assert (full_eval / f"{name}.png").read_bytes().startswith(PNG)
    md = (full_eval / "report.md").read_text()
    for heading in ("Most confident wrong answers", "Least confident right answers", "ROC"):
        assert heading in md and heading in html
    assert "![ROC curves](roc.png)" in md
    assert "| consistency |" in md and "| p_true |" in md
    assert "ECE noise floor (probe): a perfectly calibrated detector" in md
    assert "| topic | n | best baseline | probe − best baseline [95% CI] | verdict |" in md


def test_examples_tables_order():
    items = [QAItem(id=str(i), question=f"q{i}?", answers=(f"g{i}",), topic="t") for i in range(6)]
    coll = Collection(
        items=items,
        answers=[f"a{i}" for i in range(6)],
        labels=np.array([0, 1, 0, 1, 0, 1], bool),
        activations={},
        extras={},
        meta={},
    )
    scores = np.array([0.2, 0.9, 0.8, 0.1, 0.5, 0.4])
    wrong, right = examples_tables(coll, scores, k=2)
    assert [r[2] for r in wrong.rows] == ["q2?", "q4?"]  # wrong answers, surest first
    assert [r[2] for r in right.rows] == ["q3?", "q5?"]  # right answers, least sure first
    assert wrong.rows[0][0] == "80.0%" and wrong.rows[0][3:] == ["a2", "g2"]


def test_split_auto_knows_the_training_file_by_any_spelling(tiny_dir, tiny_qa, det_dir, tmp_path):
    other_spelling = f"{tiny_qa.parent}/./{tiny_qa.name}"
    argv = ["eval", "--model", str(tiny_dir), "--detector", str(det_dir), "--dataset"]
    argv += [other_spelling, "--out", str(tmp_path), "--samples", "0", "--no-p-true", *COMMON]
    assert main(argv) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["split"] == "test"  # not "all": the training rows stay out


def test_eval_without_expensive_baselines(tiny_dir, tiny_qa, det_dir, tmp_path, capsys):
    argv = ["eval", "--model", str(tiny_dir), "--detector", str(det_dir), "--dataset"]
    argv += [str(tiny_qa), "--split", "all", "--limit", "30", "--out", str(tmp_path)]
    assert main([*argv, "--samples", "0", "--no-p-true", *COMMON]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["methods"]) == {"probe", "logprob_mean", "logprob_min", "entropy"}
    assert metrics["n"] == 30 and metrics["split"] == "all"
    out = capsys.readouterr().out
    assert "| probe |" in out and "report.html" in out


def test_eval_bad_input(tiny_dir, tiny_qa, det_dir, tmp_path, capsys):
    from conftest import make_tiny_chat_model

    base = ["eval", "--model", str(tiny_dir), "--out", str(tmp_path / "o"), "--quiet"]
    cases = {
        "unknown dataset 'no_such_set'": [
            *base,
            "--detector",
            str(det_dir),
            "--dataset",
            "no_such_set",
        ],
        "no detector at": [*base, "--detector", str(tmp_path / "missing")],
        "--samples must be an int >= 0; got -1": [
            *base,
            "--detector",
            str(det_dir),
            "--samples",
            "-1",
        ],
        "--n-boot must be an int >= 1; got 0": [*base, "--detector", str(det_dir), "--n-boot", "0"],
    }
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "q?", "gold": ["a"]}) + "\n")
    cases["'question'"] = [*base, "--detector", str(det_dir), "--dataset", str(bad)]
    other = make_tiny_chat_model(tmp_path / "other", layers=2)
    cases["Load the model it was fitted on"] = [
        "eval",
        "--model",
        str(other),
        "--detector",
        str(det_dir),
        "--dataset",
        str(tiny_qa),
        "--quiet",
    ]
    capsys.readouterr()
    for expected, argv in cases.items():
        assert main(argv) == 2, expected
        err = capsys.readouterr().err.strip().splitlines()[-1]  # after any progress bars
        assert err.startswith("howsure eval: error:") and expected in err, (expected, err)
    assert not (tmp_path / "o" / "metrics.json").exists()


def test_transfer_command(tiny, tiny_dir, tiny_qa, det_dir, tmp_path, capsys):
    from conftest import write_half_right_qa

    model, tok = tiny
    other = write_half_right_qa(model, tok, tmp_path, n_questions=60)
    target = tmp_path / "other.jsonl"
    other.rename(target)
    argv = ["transfer", "--model", str(tiny_dir), "--detector", str(det_dir), "--to", str(target)]
    assert main([*argv, "--out", str(tmp_path / "t"), *COMMON]) == 0
    data = json.loads((tmp_path / "t" / "transfer.json").read_text())
    rows = data["datasets"]
    assert [r["split"] for r in rows] == ["test", "all"]
    assert rows[0]["dataset"] == f"{tiny_qa} (test)" and rows[1]["n"] == 60
    assert rows[1]["in_distribution_auroc"] == rows[0]["probe_auroc"]
    for r in rows:
        assert set(r["baselines"]) == {"logprob_mean", "logprob_min", "entropy"}
        assert 0 <= r["probe_ece"] <= 1
    out = capsys.readouterr().out
    assert "| dataset | n | accuracy | probe AUROC [95% CI]" in out
    assert (tmp_path / "t" / "transfer.md").read_text().strip() in out.strip()
    assert "wrote" not in (tmp_path / "t" / "transfer.md").read_text() and "wrote" in out


def test_table_rendering():
    t = Table(["name", "value"], [["a|b", "<1>"]])
    assert t.markdown().splitlines() == ["| name | value |", "|---|---:|", "| a\\|b | <1> |"]
    assert '<td class="num">&lt;1&gt;</td>' in t.html()
    with pytest.raises(ValueError, match="row 0 has 1 cells"):
        Table(["a", "b"], [["x"]])
    with pytest.raises(ValueError, match="align"):
        Table(["a", "b"], [], align="lx")


def test_plots_refuse_bad_input(tmp_path):
    from howsure.eval.plots import roc_curves, score_histograms

    with pytest.raises(ValueError, match="one class"):
        roc_curves({"p": [0.1, 0.2]}, [1, 1], tmp_path / "r.png")
    with pytest.raises(ValueError, match=r"scores\['p'\] has shape \(3,\)"):
        score_histograms({"p": [0.1, 0.2, 0.3]}, [1, 0], tmp_path / "h.png")
    with pytest.raises(ValueError, match="non-empty mapping"):
        score_histograms({}, [1, 0], tmp_path / "h.png")


def test_eval_leaves_out_p_true_when_the_tokenizer_cannot(tiny_dir, tiny_qa, det_dir, tmp_path):
    argv = ["eval", "--model", str(tiny_dir), "--detector", str(det_dir), "--dataset"]
    argv += [str(tiny_qa), "--limit", "20", "--out", str(tmp_path), "--samples", "0", *COMMON]
    with pytest.warns(RuntimeWarning, match="P\\(True\\) left out: none of the yes spellings"):
        assert main(argv) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert "p_true" not in metrics["methods"]
    assert "P(True) left out" in (tmp_path / "report.md").read_text()


def test_eval_again_reuses_the_expensive_scores(full_eval, tiny_dir, tiny_qa, det_dir, tmp_path):
    from howsure.eval import baselines

    argv = ["eval", "--model", str(tiny_dir), "--detector", str(det_dir), "--dataset"]
    argv += [str(tiny_qa), "--out", str(tmp_path), "--samples", "2", *COMMON]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(baselines, "YES_WORDS", ("y", "Y"))
        mp.setattr(baselines, "NO_WORDS", ("n", "N"))
        mp.setattr(baselines, "p_true", None)  # would fail if called: the cache must answer
        assert main(argv) == 0
    first = json.loads((full_eval / "metrics.json").read_text())
    again = json.loads((tmp_path / "metrics.json").read_text())
    for name in ("p_true", "consistency"):
        assert again["methods"][name]["auroc"] == first["methods"][name]["auroc"]
        assert again["seconds"][name] == pytest.approx(first["seconds"][name])
    md = (tmp_path / "report.md").read_text()
    assert "p_true scores from the cache" in md and "consistency scores from the cache" in md
    assert "Answers and activations from the collection cache." in md


def test_a_corrected_gold_keeps_every_cache(full_eval, tiny_dir, tiny_qa, det_dir, tmp_path):
    """Golds change labels only: with an alias added to every gold, the answers, the
    activations, P(True) and consistency all come from the caches."""
    from howsure.eval import baselines

    rows = [json.loads(line) for line in tiny_qa.read_text().splitlines()]
    for row in rows:
        row["answers"] = [*row["answers"], "an extra alias"]
    fixed = tmp_path / "fixed_qa.jsonl"
    fixed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    argv = ["eval", "--model", str(tiny_dir), "--detector", str(det_dir), "--dataset"]
    argv += [str(fixed), "--split", "test", "--out", str(tmp_path / "out"), "--samples", "2"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(baselines, "YES_WORDS", ("y", "Y"))
        mp.setattr(baselines, "NO_WORDS", ("n", "N"))
        mp.setattr(baselines, "p_true", None)  # would fail if called: the cache must answer
        mp.setattr(baselines, "sampling_consistency", None)
        assert main([*argv, *COMMON]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert "p_true scores from the cache" in md and "consistency scores from the cache" in md
    assert "Answers and activations from the collection cache." in md
    first = json.loads((full_eval / "metrics.json").read_text())
    again = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert again["n"] == first["n"] and again["accuracy"] == first["accuracy"]


def test_eval_refuses_too_few_rows_before_answering(tiny_dir, det_dir, tmp_path, capsys):
    one = tmp_path / "one.jsonl"
    one.write_text('{"question": "What is 2 plus 2?", "answers": ["4"]}\n')
    argv = ["eval", "--model", str(tiny_dir), "--detector", str(det_dir), "--dataset", str(one)]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "has 1 rows in split 'all'; an evaluation needs at least 10" in err
    assert not (tmp_path / "out").exists()  # no report of nan


def test_small_set_warnings_become_one_note_each():
    import warnings

    from howsure.eval.compare import compare_methods
    from howsure.eval.notes import small_set_notes

    rng = np.random.default_rng(0)
    s = {"probe": rng.random(12), "logprob_mean": rng.random(12)}
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with small_set_notes(notes):
            compare_methods(s, np.zeros(12, int), n_boot=50)  # one class
            compare_methods(s, np.r_[np.ones(2, int), np.zeros(10, int)], n_boot=50)
            np.mean(np.array([]))  # numpy: mean of empty slice
            warnings.warn("something else", UserWarning, stacklevel=1)
    assert [str(w.message) for w in shown] == ["something else"]  # others pass through
    assert len(notes) == 3, notes
    assert notes[0].startswith("Only wrong answers among the 12 scored: AUPRC, AUROC, PRR")
    assert notes[1].startswith("Small set: up to ") and "of 50 bootstrap resamples" in notes[1]
    assert "Mean of empty slice" in notes[2]


def test_eval_on_a_tiny_set_prints_no_raw_python_warnings(tiny_dir, tiny_qa, det_dir, tmp_path):
    """A normal CLI run (its own process, Python's warning display): one clean line per
    warning, the small set's expected warnings as notes of the report."""
    import subprocess
    import sys

    rows = [json.loads(line) for line in tiny_qa.read_text().splitlines()][:12]
    wrong = tmp_path / "all_wrong.jsonl"  # every answer wrong: AUROC & co. are undefined
    wrong.write_text("".join(json.dumps({**r, "answers": ["zzzz"]}) + "\n" for r in rows))
    argv = ["eval", "--model", str(tiny_dir), "--detector", str(det_dir), "--dataset"]
    argv += [str(wrong), "--split", "all", "--out", str(tmp_path / "out"), "--samples", "0"]
    argv += COMMON
    run = subprocess.run(
        [sys.executable, "-m", "howsure", *argv], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert not re.search(r"\.py:\d+: \w*Warning", run.stderr), run.stderr
    assert "howsure eval: warning: P(True) left out" in run.stderr  # one clean line
    assert "bootstrap of" not in run.stderr
    note = "Only wrong answers among the 12 scored: AUPRC, AUROC, PRR (and their intervals)"
    assert note in run.stdout and note in (tmp_path / "out" / "report.md").read_text()


def test_weak_detector_notes_below_chance_and_below_a_free_baseline():
    from howsure.eval.notes import weak_detector_notes

    def row(auroc, ci=(0.2, 0.6)):
        return {"auroc": auroc, "ci95": {"auroc": list(ci)}}

    methods = {
        "probe": row(0.62),
        "probe_last_prompt": row(0.393),
        "logprob_mean": row(0.66),
        "logprob_min": row(0.55),
        "entropy": row(float("nan")),
    }
    names = {"probe": "detector D", "probe_last_prompt": "prompt detector P"}
    notes = weak_detector_notes(methods, names)
    assert len(notes) == 2
    assert notes[0].startswith("detector D has test AUROC 0.620 (95% interval [0.200, 0.600])")
    assert "below the free baseline logprob_mean (0.660) on the same test rows" in notes[0]
    assert notes[1].startswith("prompt detector P has test AUROC 0.393")
    assert "below chance (0.5)" in notes[1]
    methods |= {"probe": row(0.8), "probe_last_prompt": row(0.7)}
    assert weak_detector_notes(methods, names) == []
    methods["probe"] = row(float("nan"))  # one class: no AUROC, nothing to say
    assert weak_detector_notes(methods, {"probe": "D"}) == []


def test_train_warns_when_a_saved_detector_is_weak(tiny_dir, tiny_qa, tmp_path, capsys):
    """On the tiny random-weight model the detectors mean nothing: ``howsure train`` says
    so (a warning per weak detector, never silently) exactly when the metrics show it."""
    import warnings

    from howsure.eval.notes import weak_detector_notes

    argv = ["train", "--model", str(tiny_dir), "--dataset", str(tiny_qa), "--limit", "60"]
    argv += ["--layers", "1,3", "--max-new-tokens", "4", "--cv", "3", "--n-boot", "20"]
    argv += ["--quiet", "--out", str(tmp_path)]
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        assert main(argv) == 0
    said = [str(w.message) for w in shown if "has test AUROC" in str(w.message)]
    methods = json.loads((tmp_path / "metrics.json").read_text())["methods"]
    names = {
        "probe": f"the saved detector {tmp_path}/detector",
        "probe_last_prompt": f"the saved prompt detector {tmp_path}/detector-prompt",
    }
    assert said == weak_detector_notes(methods, names)
    assert said, "the tiny model's detectors were expected to lose to a baseline here"
