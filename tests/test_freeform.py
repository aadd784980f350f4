"""``howsure freeform`` on the tiny model: chat-style collection, held-out reports, and the
detector saved with its sentence detector."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import fit_tiny_detectors

from howsure.cli import main
from howsure.plugin.detector import Detector
from howsure.plugin.grouped import STACKED_INPUTS
from howsure.plugin.rows import collect_chat_splits
from howsure.probes.collect import concat
from howsure.probes.styles import STYLES, chat_items
from howsure.qa.load import load_qa


def test_chat_items_are_a_fixed_sample_per_source(qa_jsonl):
    items = [
        it.__class__(**{**it.__dict__, "source": "ab"[i % 2]})
        for i, it in enumerate(load_qa(qa_jsonl))
    ]
    picked = chat_items(items, 2)
    assert [it.source for it in picked] == ["a", "a", "b", "b"]
    assert chat_items(list(reversed(items)), 2) == picked
    with pytest.raises(ValueError, match="per_source must be an int >= 1, got 0"):
        chat_items(items, 0)


def test_freeform_command(tiny, tiny_dir, tmp_path, capsys):
    model, tok = tiny
    # questions of three sources; the gold is the first word of the model's own answer
    # for two questions in three, so both labels occur
    rows = [
        {
            "id": f"{s}{i}",
            "question": f"What is {i} plus {j}?",
            "answers": ["zzzz"],
            "topic": f"t{i % 2}",
            "source": s,
            "split": ["train", "calibration", "test"][i % 3],
        }
        for s, j in (("a", 1), ("b", 2), ("c", 3))
        for i in range(15)
    ]
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # the rows howsure freeform (and howsure train --chat-per-source) collect: 12 per
    # source and split (5 here), each split's questions in its own chat styles
    chat = collect_chat_splits(
        model,
        tok,
        dataset=str(path),
        per_source=12,
        max_new_tokens=16,
        progress=False,
        drop_refusals=False,
    )
    coll = concat(list(chat.values()))
    golds = {}
    for k, (it, ans) in enumerate(zip(coll.items, coll.answers, strict=True)):
        words = re.findall(r"[A-Za-z]{3,}", ans)
        golds[it.id] = [words[0]] if words and k % 3 else ["zzzz"]
    for r in rows:
        r["answers"] = golds[r["id"]]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    det = fit_tiny_detectors(model, tok, positions=("mean_answer",))["mean_answer"]
    det.info["training"] = {"C": 0.01, "inputs": list(STACKED_INPUTS)}  # the shipped recipe
    folder = det.save(tmp_path / "det")
    out = tmp_path / "ff"
    argv = ["freeform", "--model", str(tiny_dir), "--dataset", str(path), "--per-source", "12"]
    argv += ["--max-new-tokens", "16", "--detector", str(folder), "--out", str(out)]
    argv += ["--with-short"]
    assert main([*argv, "--n-boot", "50", "--quiet", "--device", "cpu"]) == 0
    report = json.loads((out / "freeform.json").read_text())
    assert [r["group"] for r in report["answers"]] == ["a", "b", "c"]
    assert [r["group"] for r in report["sentences"]] == ["a", "b", "c"]
    assert set(report["styles"]) <= set(STYLES) and report["n"] == 45
    # no row of a held-out source was fitted on: each fold fitted on the other two
    assert all(r["n_fit"] < 45 + 30 for r in report["answers"])
    # --with-short: each fold also fitted on the other sources' short-style rows, and the
    # held-out source's short rows scored
    assert [r["short"]["group"] for r in report["answers"]] == ["a", "b", "c"]
    assert all(r["short"]["n"] == 15 for r in report["answers"])
    saved = Detector.load(out / "detector", model=model, tokenizer=tok)
    assert saved.sentences is not None and saved.sentences.reader.position == "mean_answer"
    assert saved.sentences.info["training"]["unit"] == "sentence"
    assert np.isfinite(saved.sentences.calibration_scores).all()
    text = (out / "freeform.md").read_text()
    assert "Sentence confidence, leave one source out" in text
    assert "wrote" in capsys.readouterr().out
