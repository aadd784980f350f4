"""Collection pipeline, its cache and its files, on the tiny model."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from howsure.probes.collect import Collection, collect
from howsure.qa.judge import label
from howsure.qa.load import load_qa


@pytest.fixture
def items(qa_jsonl):
    return load_qa(qa_jsonl)


def test_collect_records_and_cache(tiny, items, tmp_path):
    model, tok = tiny
    kw = dict(layers=[0, 3], max_new_tokens=4, dataset="qa.jsonl", progress=False)
    first = collect(model, tok, items, **kw)
    assert first.meta["cached"] is False
    assert len(first) == 6 and first.labels.dtype == bool
    assert set(first.activations) == {(la, p) for la in (0, 3) for p in first.meta["positions"]}
    assert first.activations[(3, "mean_answer")].shape == (6, 32)
    assert first.extras["n_answer_tokens"].max() <= 4
    # random weights never say "Paris": labels come from the label function
    assert not first.labels.any()

    second = collect(model, tok, items, **kw)
    assert second.meta["cached"] is True
    assert second.answers == first.answers
    for key in first.activations:
        np.testing.assert_array_equal(second.activations[key], first.activations[key])

    # a subset of the cached layers and positions is read from the same entry
    subset = collect(model, tok, items, **{**kw, "layers": [3], "positions": "last_prompt"})
    assert subset.meta["cached"] is True and set(subset.activations) == {(3, "last_prompt")}
    np.testing.assert_array_equal(
        subset.activations[(3, "last_prompt")], first.activations[(3, "last_prompt")]
    )
    # another generation setting is another entry
    other = collect(model, tok, items, **{**kw, "max_new_tokens": 3})
    assert other.meta["cached"] is False


def test_collection_round_trip(tiny, items, tmp_path):
    model, tok = tiny
    coll = collect(model, tok, items, layers=[1], max_new_tokens=3, cache=False, progress=False)
    coll.save(tmp_path / "c")
    back = Collection.load(tmp_path / "c")
    assert [it.to_dict() for it in back.items] == [it.to_dict() for it in coll.items]
    assert back.answers == coll.answers
    np.testing.assert_array_equal(back.labels, coll.labels)
    for key in coll.activations:
        np.testing.assert_array_equal(back.activations[key], coll.activations[key])
    np.testing.assert_allclose(back.extras["logprob_mean"], coll.extras["logprob_mean"])
    meta = json.loads((tmp_path / "c" / "meta.json").read_text())
    assert meta["model"]["hidden_size"] == 32 and meta["format_version"] == 1


def test_collection_corrupt_and_missing(tiny, items, tmp_path):
    model, tok = tiny
    coll = collect(model, tok, items, layers=[1], max_new_tokens=2, cache=False, progress=False)
    folder = coll.save(tmp_path / "c")
    (folder / "activations.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="corrupt collection"):
        Collection.load(folder)
    (folder / "meta.json").unlink()
    with pytest.raises(ValueError, match=r"missing \['meta.json'\]"):
        Collection.load(folder)


def test_topic_accuracy_and_features(tiny, items):
    model, tok = tiny
    coll = collect(model, tok, items, layers=[2], max_new_tokens=2, cache=False, progress=False)
    coll.labels = np.array([True, False, True, True, False, False])
    table = coll.topic_accuracy()
    assert table == {
        "arithmetic": (2, 0.5),
        "capital": (3, 1 / 3),
        "currency": (1, 1.0),
    }
    with pytest.raises(ValueError, match="no activations for layer 5"):
        coll.features(5, "last_prompt")


def test_collect_rejects_empty(tiny):
    model, tok = tiny
    with pytest.raises(ValueError, match="no questions"):
        collect(model, tok, [], progress=False)


def test_cache_hit_labels_again(tiny, items):
    """Labels follow the current judge: a stale label in the cache is not reused."""
    from howsure.core.files import cache_dir

    model, tok = tiny
    kw = dict(layers=[1], max_new_tokens=4, dataset="relabel", progress=False)
    first = collect(model, tok, items, **kw)
    assert not first.labels.any()
    entries = [p for p in (cache_dir("collections")).iterdir() if (p / "records.jsonl").is_file()]
    for entry in entries:  # make every cached label claim "correct"
        recs = [json.loads(line) for line in (entry / "records.jsonl").read_text().splitlines()]
        text = "".join(json.dumps({**r, "correct": True}) + "\n" for r in recs)
        (entry / "records.jsonl").write_text(text)
    again = collect(model, tok, items, **{**kw, "dataset": "renamed", "split": "test"})
    assert again.meta["cached"] is True and not again.labels.any()
    # the same questions under another name: the meta says what this call asked for
    assert (again.meta["dataset"], again.meta["split"]) == ("renamed", "test")


def test_cache_keys_the_dtype(tiny, items):
    """Activations read in another dtype are another cache entry, not a reuse."""
    import copy

    import torch

    model, tok = tiny
    kw = dict(layers=[1], max_new_tokens=3, dataset="dtype", progress=False)
    first = collect(model, tok, items, **kw)
    half = copy.deepcopy(model).to(torch.bfloat16)
    other = collect(half, tok, items, **kw)
    assert first.meta["cached"] is False and other.meta["cached"] is False
    assert other.meta["model"]["dtype"] == "bfloat16" and first.meta["model"]["dtype"] == "float32"
    assert collect(half, tok, items, **kw).meta["cached"] is True


def test_combined_position_is_built_from_the_stored_parts(tiny, items, tmp_path):
    model, tok = tiny
    kw = dict(layers=[1, 3], max_new_tokens=4, dataset="qa.jsonl", progress=False)
    coll = collect(model, tok, items, positions=["mean_last_answer"], **kw)
    # stored: the two parts only; the combined matrix is built on use
    assert set(coll.activations) == {
        (la, p) for la in (1, 3) for p in ("last_answer", "mean_answer")
    }
    assert coll.meta["positions"] == ["last_answer", "mean_answer"]
    both = coll.features(3, "mean_last_answer")
    assert both.shape == (6, 64)
    np.testing.assert_array_equal(
        both, np.hstack([coll.features(3, "mean_answer"), coll.features(3, "last_answer")])
    )
    mats = coll.feature_matrices()
    assert set(mats) == {
        (la, p) for la in (1, 3) for p in ("last_answer", "mean_answer", "mean_last_answer")
    }
    assert set(coll.feature_matrices(["mean_last_answer"])) == {
        (1, "mean_last_answer"),
        (3, "mean_last_answer"),
    }
    with pytest.raises(ValueError, match="no activations for layer 3, position 'last_prompt'"):
        coll.features(3, "last_prompt")
    only_mean = collect(model, tok, items, positions=["mean_answer"], **{**kw, "layers": [1]})
    for call in (
        lambda: only_mean.features(1, "mean_last_answer"),
        lambda: only_mean.feature_matrices(["mean_last_answer"]),
    ):
        with pytest.raises(ValueError, match="'mean_last_answer' \\(its part 'last_answer'\\)"):
            call()
    assert set(only_mean.feature_matrices()) == {(1, "mean_answer")}
    # the saved collection holds the parts and rebuilds the same combined matrix
    back = Collection.load(coll.save(tmp_path / "c"))
    np.testing.assert_array_equal(back.features(3, "mean_last_answer"), both)


def test_corrected_gold_relabels_the_cache(tiny, items):
    """The cache keys the questions, not the golds: a fixed gold re-labels, no re-run."""
    model, tok = tiny
    kw = dict(layers=[0], max_new_tokens=4, dataset="qa.jsonl", progress=False)
    first = collect(model, tok, items, **kw)
    assert not first.labels.any()
    # make the gold of one question whatever the model answered to it
    i = next(j for j, a in enumerate(first.answers) if label(a, [a]))
    fixed = list(items)
    fixed[i] = dataclasses.replace(items[i], answers=(first.answers[i],))
    again = collect(model, tok, fixed, **kw)
    assert again.meta["cached"] is True
    assert again.labels.tolist() == [j == i for j in range(len(items))]
    assert again.items[i].answers == (first.answers[i],)
    assert again.meta["dataset_fingerprint"] != first.meta["dataset_fingerprint"]


def test_a_question_too_long_is_refused_before_anything_is_generated(
    tiny, tiny_dir, tmp_path, monkeypatch, capsys
):
    """Named by its id and file row, before the first batch is generated (not after the
    earlier batches, by its place in a batch)."""
    from howsure.cli import main
    from howsure.plugin.rows import collect_splits

    model, tok = tiny
    path = tmp_path / "long.jsonl"
    rows = [
        {"id": f"q{i}", "question": f"What is {i} plus 1?", "answers": [str(i + 1)]}
        for i in range(40)
    ]
    rows[33]["question"] = "plus " * 300 + "?"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    calls: list[int] = []
    real = model.generate
    monkeypatch.setattr(model, "generate", lambda *a, **k: calls.append(1) or real(*a, **k))
    items = load_qa(path)
    long_row = r"question 'q33' \(.*long\.jsonl row 34\) is \d+ tokens"
    with pytest.raises(ValueError, match=long_row + ".*context of 256 tokens"):
        collect(model, tok, items, layers=[0], max_new_tokens=4, batch_size=4, cache=False)
    with pytest.raises(ValueError, match=long_row):  # every split, before the first one
        collect_splits(model, tok, dataset=str(path), layers=[0], max_new_tokens=4)
    assert calls == []
    monkeypatch.undo()
    args = ["collect", "--model", str(tiny_dir), "--dataset", str(path), "--out", str(tmp_path)]
    assert main([*args, "--max-new-tokens", "4", "--quiet", "--no-cache"]) == 2
    assert "question 'q33' (" in capsys.readouterr().err
