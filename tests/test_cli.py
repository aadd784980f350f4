"""CLI tests: ``main([...])`` in-process on the tiny model."""

from __future__ import annotations

import json

import pytest

from howsure.cli import main
from howsure.probes.collect import Collection


def test_collect_writes_outputs(tiny_dir, qa_jsonl, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["collect", "--model", str(tiny_dir), "--dataset", str(qa_jsonl), "--out", str(out)]
    code = main([*args, "--limit", "4", "--layers", "0,-1", "--max-new-tokens", "3", "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "questions: 4" in text and "| **overall** | 4 | 0.0% |" in text
    assert "| capital | 2 | 0.0% |" in text
    coll = Collection.load(out)
    assert len(coll) == 4
    assert set(coll.activations) == {
        (la, p) for la in (0, 3) for p in ("last_prompt", "last_answer", "mean_answer")
    }
    rows = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert [r["topic"] for r in rows] == ["capital", "currency", "arithmetic", "capital"]
    assert set(rows[0]) >= {"answer", "correct", "logprob_mean", "truncated", "split"}
    # second run is served by the cache
    assert (
        main([*args, "--limit", "4", "--layers", "0,-1", "--max-new-tokens", "3", "--quiet"]) == 0
    )
    assert "from cache" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--layers", "9"], "layer index 9 is out of range"),
        (["--positions", "middle"], "unknown position 'middle'"),
        (["--limit", "0"], "--limit must be an int >= 1; got 0"),
    ],
)
def test_collect_bad_arguments(tiny_dir, qa_jsonl, tmp_path, capsys, extra, match):
    args = ["collect", "--model", str(tiny_dir), "--dataset", str(qa_jsonl)]
    assert main([*args, "--out", str(tmp_path / "o"), "--quiet", *extra]) == 2
    assert match in capsys.readouterr().err


def test_collect_bad_dataset_row(tiny_dir, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "What is 1 + 1?", "answers": ["2"]}\n{"question": "Who?"}\n')
    assert main(["collect", "--model", str(tiny_dir), "--dataset", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl row 2 ('Who?'): missing 'answers'" in err


def test_a_model_is_named_before_any_detector(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no howsure-out/train/detector here
    assert main(["chat", "--model", "nonsense/x", "--json"]) == 2
    err = capsys.readouterr().err
    assert "no detector for model 'nonsense/x'" in err
    assert "`howsure train --model nonsense/x`" in err and "--detector DIR" in err
    assert main(["chat", "--model", "./doesnotexist", "--json"]) == 2
    err = capsys.readouterr().err
    assert "unknown model './doesnotexist': no such file or folder" in err
    assert "detector" not in err.split("no such file or folder")[0]


def test_collect_unknown_dataset_and_model(tiny_dir, capsys):
    assert main(["collect", "--dataset", "trivia-everything"]) == 2
    assert "unknown dataset 'trivia-everything'" in capsys.readouterr().err
    assert main(["collect", "--model", "nobody/nothing", "--limit", "1"]) == 2
    assert "unknown model 'nobody/nothing'" in capsys.readouterr().err


def test_bad_layers_syntax(capsys):
    assert main(["collect", "--layers", "five"]) == 2  # argparse's error: exit code 2
    assert "invalid --layers 'five'" in capsys.readouterr().err


def test_errors_name_the_flags_not_the_python_parameters(tiny_dir, capsys):
    from howsure.cli.common import error_text
    from howsure.core.errors import SettingError

    for extra, want in [
        (["--batch-size", "0"], "--batch-size must be an int >= 1; got 0"),
        (["--max-new-tokens", "-3"], "--max-new-tokens must be an int >= 1; got -3"),
        (["--limit", "0"], "--limit must be an int >= 1; got 0"),
    ]:
        assert main(["collect", "--model", str(tiny_dir), *extra]) == 2
        err = capsys.readouterr().err
        assert want in err and "max_new_tokens" not in err and "batch_size" not in err
    # a setting error raised deep in the library names its parameters, and the CLI says
    # them as its flags (see also test_wrapper.py::test_cli_chat_errors); the values, and
    # any other error, are said as they are
    import argparse

    ns = argparse.Namespace(abstain_below=0.5, target_error=None, n_boot=10, quiet=True)
    err = SettingError(
        "abstain_below",
        "give {param} ({below!r}) or {target_error} ({target!r}), not both",
        below="abstain_below",
        target=0.2,
    )
    assert str(err) == "give abstain_below ('abstain_below') or target_error (0.2), not both"
    assert error_text(err, ns) == (
        "give --abstain-below ('abstain_below') or --target-error (0.2), not both"
    )
    assert error_text(ValueError("n_boot must be 1"), ns) == "n_boot must be 1"


def test_rows_without_gold_are_refused_or_skipped_by_flag(tiny_dir, tmp_path, capsys):
    path = tmp_path / "qa.jsonl"
    rows = [
        {"id": "a", "question": "What is 1 plus 1?", "answers": ["2"]},
        {"id": "dash", "question": "Which show?", "answers": ["---"]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    args = ["collect", "--model", str(tiny_dir), "--dataset", str(path), "--quiet"]
    args += ["--out", str(tmp_path / "o"), "--max-new-tokens", "3"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "1 of 2 rows" in err and "'dash'" in err and "--skip-no-gold" in err
    with pytest.warns(UserWarning, match="left out: 'dash'"):
        assert main([*args, "--skip-no-gold"]) == 0
    assert "questions: 1" in capsys.readouterr().out


def test_flags_checked_before_anything_loads(capsys):
    """No model is loaded (the model named does not exist): the flags fail first."""
    for argv, want in [
        (["eval", "--seed", "-1"], "--seed must be an int >= 0; got -1"),
        (["train", "--cv", "1"], "--cv must be an int >= 2; got 1"),
        (["chat", "--flag"], "--flag marks the answers below a confidence threshold"),
        (["demo", "--port", "70000"], "--port must be an integer in 0-65535"),
        (["collect", "--dataset", "/"], "dataset '/' is a folder; give a .jsonl"),
    ]:
        assert main([*argv, "--model", "no/such-model"]) == 2, argv
        err = capsys.readouterr().err
        assert want in err and "unknown model" not in err, err


def test_a_device_this_machine_lacks_is_a_clear_error(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["collect", "--device", "cuda", "--limit", "1"]) == 2
    assert "has no CUDA device; use --device cpu (or auto)" in capsys.readouterr().err


def test_reports_name_the_detector_and_its_real_counts(tmp_path, monkeypatch):
    import argparse

    from howsure.cli.common import detector_label
    from howsure.eval.evaluate import describe_detector
    from howsure.plugin.defaults import shipped_detectors
    from howsure.plugin.detector import Detector

    monkeypatch.chdir(tmp_path)  # no howsure-out/train/detector: the shipped one serves
    args = argparse.Namespace(detector=None, model=None)
    assert detector_label(args) == "the shipped detector for smollm2-135m-instruct"
    (tmp_path / "mine").mkdir()
    args = argparse.Namespace(detector=str(tmp_path / "mine"), model=None)
    assert detector_label(args) == str(tmp_path / "mine")
    shipped = Detector.load(shipped_detectors()["smollm2-135m-instruct"])
    line = describe_detector(shipped)
    assert "?" not in line and "2523 rows of its train and calibration splits" in line
