"""Leave-one-topic-out and cross-dataset transfer, on synthetic collections and the tiny model."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

from howsure.cli import main
from howsure.eval.heldout import heldout_markdown, leave_one_group_out
from howsure.eval.transfer import transfer
from howsure.probes.collect import Collection, concat
from howsure.qa.items import QAItem

LAYER, POSITION = 2, "last_answer"
HIDDEN = 8
MODEL = {
    "model_type": "synthetic",
    "hidden_size": HIDDEN,
    "num_layers": 4,
    "vocab_size": 10,
    "name_or_path": "synthetic",
}


def synthetic_collection(
    split: str,
    *,
    topics: dict[str, float],
    n_per_topic: int = 60,
    strength: float = 2.0,
    seed: int = 0,
    dataset: str = "synth",
) -> Collection:
    """Random features with a planted signal along dimension 0, signed per topic.

    ``topics`` maps a topic to the sign of its signal (+1: correct answers lie along +e0;
    -1: the direction is flipped, so a probe fitted on the other topics ranks it backwards).
    """
    rng = np.random.default_rng([zlib.crc32(f"{split}/{dataset}".encode()), seed])
    items, labels, feats, lp = [], [], [], []
    for topic, sign in topics.items():
        y = rng.permutation(np.arange(n_per_topic) % 2).astype(bool)
        x = rng.normal(size=(n_per_topic, HIDDEN))
        x[:, 0] += sign * strength * (2 * y - 1)
        items += [
            QAItem(
                id=f"{split}-{topic}-{i}", question="q?", answers=("a",), topic=topic, split=split
            )
            for i in range(n_per_topic)
        ]
        labels.append(y)
        feats.append(x)
        lp.append(-1.0 + 0.5 * y + rng.normal(scale=0.5, size=n_per_topic))  # a weak baseline
    labels_ = np.concatenate(labels)
    x_ = np.concatenate(feats).astype(np.float32)
    lp_ = np.minimum(np.concatenate(lp), 0.0)
    n = len(items)
    return Collection(
        items=items,
        answers=["a"] * n,
        labels=labels_,
        activations={(LAYER, POSITION): x_, (LAYER, "last_prompt"): rng.normal(size=(n, HIDDEN))},
        extras={
            "logprob_mean": lp_,
            "logprob_min": lp_ - rng.uniform(0, 1, size=n),
            "entropy_mean": rng.uniform(0, 2, size=n),
            "n_answer_tokens": np.full(n, 2),
        },
        meta={"model": dict(MODEL), "dataset": dataset, "split": split, "max_new_tokens": 8},
    )


def splits(topics: dict[str, float], **kw) -> dict[str, Collection]:
    return {
        s: synthetic_collection(s, topics=topics, **kw) for s in ("train", "calibration", "test")
    }


TOPICS = {"geo": 1.0, "math": 1.0, "history": 1.0, "odd": -1.0}


@pytest.fixture(scope="module")
def loto_rows():
    return leave_one_group_out(
        splits(TOPICS),
        by="topic",
        layer=LAYER,
        position=POSITION,
        C=0.1,
        recalibration_sizes=(),
        n_boot=50,
        progress=False,
    )


def test_subset_and_concat():
    c = synthetic_collection("train", topics={"a": 1.0, "b": 1.0}, n_per_topic=10)
    mask = np.array([it.topic == "b" for it in c.items])
    s = c.subset(mask)
    assert len(s) == 10 and {it.topic for it in s.items} == {"b"}
    np.testing.assert_array_equal(s.labels, c.labels[mask])
    np.testing.assert_array_equal(s.features(LAYER, POSITION), c.features(LAYER, POSITION)[mask])
    np.testing.assert_array_equal(s.extras["logprob_mean"], c.extras["logprob_mean"][mask])
    assert s.meta == c.meta and s.meta is not c.meta
    both = concat([s, c.subset(~mask)])
    assert len(both) == 20 and both.features(LAYER, POSITION).shape == (20, HIDDEN)
    with pytest.raises(ValueError, match=r"boolean array of shape \(20,\)"):
        c.subset(np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="boolean"):
        c.subset(np.arange(20))


def test_loto_one_row_per_topic_with_every_row_of_the_topic(loto_rows):
    assert [r["group"] for r in loto_rows] == sorted(TOPICS)
    for r in loto_rows:
        assert r["n"] == 3 * 60  # all three splits of the held-out topic
        assert r["n_fit"] == 3 * 2 * 60  # train + calibration of the other topics
        assert r["accuracy"] == pytest.approx(0.5)
        lo, hi = r["auroc_ci95"]
        assert lo <= r["auroc"] <= hi
        assert set(r["baselines"]) == {"logprob_mean", "logprob_min", "entropy"}
        assert r["best_baseline"] == max(r["baselines"], key=r["baselines"].get)
        assert 0 <= r["mean_confidence"] <= 1
        assert r["confidence_gap"] == pytest.approx(r["mean_confidence"] - r["accuracy"])
    json.dumps(loto_rows)  # JSON-ready


def test_loto_shows_a_topic_that_does_not_transfer(loto_rows):
    by = {r["group"]: r for r in loto_rows}
    assert by["odd"]["auroc"] < 0.2  # signal flipped: ranked backwards
    assert by["odd"]["margin_ci95"][1] < 0  # significantly below its best baseline
    for t in ("geo", "math", "history"):
        assert by[t]["auroc"] > 0.8
    assert by["odd"]["ece"] > by["geo"]["ece"] and by["odd"]["brier_skill"] < 0


def test_loto_refuses_a_single_topic_and_a_missing_layer():
    with pytest.raises(ValueError, match=r"at least 2 topics; found \['only'\]"):
        leave_one_group_out(
            splits({"only": 1.0}), by="topic", layer=LAYER, position=POSITION, C=0.1
        )
    with pytest.raises(ValueError, match="layer 7"):
        leave_one_group_out(
            splits(TOPICS), by="topic", layer=7, position=POSITION, C=0.1, progress=False
        )


def test_loto_markdown_has_a_row_per_topic(loto_rows):
    lines = heldout_markdown(loto_rows, key="topic").splitlines()
    assert lines[0].startswith("| held-out topic | n | accuracy | AUROC | best baseline")
    assert len(lines) == 2 + len(TOPICS)
    for r in loto_rows:
        assert any(line.startswith(f"| {r['group']} | {r['n']} |") for line in lines)


def test_transfer_across_datasets():
    src = splits({"a": 1.0, "b": 1.0}, dataset="src")
    same = synthetic_collection("test", topics={"c": 1.0}, dataset="dst")
    flipped = synthetic_collection("test", topics={"c": -1.0}, dataset="dst")
    good = transfer(src, same, layer=LAYER, position=POSITION, cv=3, n_boot=50)
    bad = transfer(src, flipped, layer=LAYER, position=POSITION, cv=3, n_boot=50)
    assert good["train_dataset"] == "src" and good["eval_dataset"] == "dst"
    assert good["n"] == 60 and good["n_train"] == 120
    assert set(good["methods"]) == {"probe", "logprob_mean", "logprob_min", "entropy"}
    assert good["methods"]["probe"]["auroc"] > 0.8 > 0.2 > bad["methods"]["probe"]["auroc"]
    assert good["confidence_gap"] == pytest.approx(good["mean_confidence"] - good["accuracy"])
    json.dumps(good)
    with pytest.raises(ValueError, match=r"missing \['calibration'\]"):
        transfer({"train": src["train"]}, same, layer=LAYER, position=POSITION)


@pytest.fixture(scope="module")
def tiny_qa(tiny, tmp_path_factory):
    """A QA file in three topics where the tiny model is right about half the time."""
    from conftest import write_half_right_qa

    model, tok = tiny
    return write_half_right_qa(model, tok, tmp_path_factory.mktemp("tinyqa"), n_questions=240)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # random weights: no signal
def test_cli_loto(tiny, tiny_dir, tiny_qa, tmp_path, capsys):
    from howsure.plugin.grouped import fit_grouped_detector
    from howsure.plugin.rows import collect_splits

    model, tok = tiny
    colls = collect_splits(
        model, tok, dataset=str(tiny_qa), layers=[1, 3], max_new_tokens=4, progress=False
    )
    rows = concat([colls["train"], colls["calibration"]])
    # random folds: loto refits with the detector's fold scheme, and holding one of these
    # three topics out leaves two, too few for topic folds
    det, _ = fit_grouped_detector(
        rows, layer=3, position="last_answer", C=0.1, folds="random", cv=3
    )
    det.save(tmp_path / "detector")
    common = ["--model", str(tiny_dir), "--dataset", str(tiny_qa)]
    out = tmp_path / "loto"  # the detector's layer and answer length: no --layers to give
    args = ["loto", *common, "--by", "topic", "--n-boot", "20", "--quiet"]
    code = main([*args, "--detector", str(tmp_path / "detector"), "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "| held-out topic | n |" in text and "| topic0 |" in text
    assert f"wrote {out}/loto.json, {out}/loto.md" in text  # said on stdout, not in the file
    assert "wrote" not in (out / "loto.md").read_text()
    report = json.loads((out / "loto.json").read_text())
    assert (report["recipe"]["layer"], report["recipe"]["position"]) == (3, "last_answer")
    assert [r["group"] for r in report["groups"]] == ["topic0", "topic1", "topic2"]
    assert sum(r["n"] for r in report["groups"]) == sum(len(c) for c in colls.values())
    for r in report["groups"]:
        assert {"margin_ci95", "ece_noise_floor_ci95", "brier_skill", "familiarity_mean"} <= set(r)

    # a file without a 'source' column cannot hold sources out; --within needs --by topic
    assert main(["loto", *common, "--detector", str(tmp_path / "detector"), "--quiet"]) == 2
    assert "needs a 'source' on every row" in capsys.readouterr().err
    assert main(["loto", *common, "--within", "x", "--quiet"]) == 2
    assert "--within x holds out topics: add --by topic" in capsys.readouterr().err

    code = main([*args, "--detector", str(tmp_path / "none"), "--out", str(out)])
    assert code == 2
    assert "run `howsure train` first" in capsys.readouterr().err
