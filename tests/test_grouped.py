"""Confidence under shift: grouped folds, familiarity, the stacked calibrator, the grouped
detector fit, recalibration and the leave-one-group-out report, on synthetic mixtures."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from howsure.calibration.metrics import ece
from howsure.calibration.recalibrated import RecalibratedCalibrator
from howsure.calibration.stacked import StackedCalibrator
from howsure.eval.heldout import heldout_markdown, leave_one_group_out, recalibration_rows
from howsure.plugin.detector import Detector, check_inputs
from howsure.plugin.grouped import STACKED_INPUTS, fit_grouped_detector
from howsure.plugin.recalibrate import recalibrate
from howsure.probes.collect import Collection, concat
from howsure.probes.familiarity import (
    METRICS,
    UNFAMILIAR_BELOW,
    Familiarity,
    candidate_layers,
    choose_familiarity,
    fit_familiarity,
)
from howsure.probes.folds import group_folds, resolve_scheme
from howsure.qa.items import QAItem

LAYER, POSITION, HIDDEN = 2, "last_answer", 8
MODEL = {
    "model_type": "synthetic",
    "hidden_size": HIDDEN,
    "num_layers": 4,
    "vocab_size": 10,
    "name_or_path": "synthetic",
}
SOURCES = {"alpha": 0.5, "beta": 0.3, "gamma": 0.2, "delta": 0.4}  # accuracy per source


def mixture(split: str, *, n_per_source: int = 120, shift: float = 0.0, seed: int = 0):
    """Synthetic mixture: a signal along e0, a source-specific offset along e1, and answer
    statistics that carry a weaker version of the label."""
    rng = np.random.default_rng([zlib.crc32(split.encode()), seed])
    items, labels, feats, lp, asked = [], [], [], [], []
    for k, (source, rate) in enumerate(SOURCES.items()):
        y = rng.random(n_per_source) < rate
        x = rng.normal(size=(n_per_source, HIDDEN))
        x[:, 0] += 2.0 * (2 * y - 1)
        x[:, 1] += 3.0 * k + shift
        q = rng.normal(size=(n_per_source, HIDDEN))  # the question's state: by source
        q[:, 2] += 3.0 * k + shift
        q[:, 3] += 2.0 * (np.arange(n_per_source) % 3)
        asked.append(q)
        items += [
            QAItem(
                id=f"{split}-{source}-{i}",
                question=f"q{i}?",
                answers=("a",),
                topic=f"t{i % 3}",
                split=split,
                source=source,
            )
            for i in range(n_per_source)
        ]
        labels.append(y)
        feats.append(x)
        lp.append(-1.5 + 1.0 * y + rng.normal(scale=0.7, size=n_per_source))
    lp_ = np.minimum(np.concatenate(lp), 0.0)
    n = len(items)
    return Collection(
        items=items,
        answers=["a"] * n,
        labels=np.concatenate(labels),
        activations={
            (LAYER, POSITION): np.concatenate(feats).astype(np.float32),
            (LAYER, "last_prompt"): np.concatenate(asked).astype(np.float32),
        },
        extras={
            "logprob_mean": lp_,
            "logprob_min": lp_ - rng.uniform(0, 1, size=n),
            "entropy_mean": -lp_ + rng.uniform(0, 0.5, size=n),
            "n_answer_tokens": np.full(n, 2),
        },
        meta={"model": dict(MODEL), "dataset": "synth", "split": split, "max_new_tokens": 8},
    )


@pytest.fixture(scope="module")
def splits():
    return {s: mixture(s) for s in ("train", "calibration", "test")}


@pytest.fixture(scope="module")
def grouped(splits):
    rows = concat([splits["train"], splits["calibration"]])
    return fit_grouped_detector(rows, layer=LAYER, position=POSITION, C=0.1)


# ------------------------------------------------------------------------------ folds
def test_source_folds_hold_out_whole_sources():
    y = np.arange(40) % 2
    src = np.repeat(["a", "b", "c", "d"], 10)
    folds = group_folds(y, sources=src, topics=["t"] * 40)
    assert len(folds) == 4
    for fit_rows, held in folds:
        assert len(set(src[held])) == 1 and set(src[held]).isdisjoint(src[fit_rows])
    assert sorted(np.concatenate([h for _, h in folds]).tolist()) == list(range(40))


def test_topic_folds_never_split_a_topic():
    y = np.arange(60) % 2
    src = np.repeat(["a", "b"], 30)
    top = np.tile(np.repeat(["x", "y", "z"], 10), 2)
    folds = group_folds(y, scheme="topic", sources=src, topics=top, cv=3)
    groups = np.char.add(np.char.add(src, ":"), top)
    for fit_rows, held in folds:
        assert set(groups[held]).isdisjoint(groups[fit_rows])


def test_auto_scheme_and_errors():
    assert resolve_scheme("auto", sources=list("abc"), topics=None) == "source"
    assert resolve_scheme("auto", sources=list("aab"), topics=list("vwxyz")[:3], cv=3) == "topic"
    assert resolve_scheme("auto", sources=None, topics=None) == "random"
    with pytest.raises(ValueError, match="at least 3 sources; found 2"):
        group_folds([0, 1, 0, 1], scheme="source", sources=list("aabb"))
    with pytest.raises(ValueError, match="one per row"):
        group_folds([0, 1, 0, 1], sources=list("abc"))
    with pytest.raises(ValueError, match="folds must be one of"):
        group_folds([0, 1], scheme="sources")


# ------------------------------------------------------------------------ familiarity
def test_familiarity_ranks_far_rows_last_and_round_trips():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=5.0, size=(6, 12))  # five kinds of question, and a sixth

    def kind(i, n):
        return centres[i] + rng.normal(size=(n, 12))

    X = np.vstack([kind(i, 60) for i in range(5)])
    fam = Familiarity().fit(X)
    inside = fam.score(np.vstack([kind(i, 80) for i in range(5)]))
    far = fam.score(kind(5, 50))
    assert 0.35 < inside.mean() < 0.65  # a row like the training ones sits mid-rank
    assert (inside < UNFAMILIAR_BELOW).mean() < 0.06  # few of them are flagged
    assert np.all(far < UNFAMILIAR_BELOW)  # farther out than the training rows
    assert fam.index_.dtype == np.float16  # kept at half size
    arrays, params = fam.get_state()
    json.dumps(params)
    back = Familiarity.from_state(arrays, params)
    np.testing.assert_array_equal(back.score(X[:20]), fam.score(X[:20]))
    with pytest.raises(ValueError, match="features"):
        fam.score(X[:, :5])
    with pytest.raises(ValueError, match="not a multiple of n_blocks=5"):
        Familiarity(n_blocks=5).fit(X)


def test_familiarity_choice_finds_the_layer_that_tells_groups_apart():
    """Held-out topics are far from the rest at layer 7 only; the choice finds it."""
    rng = np.random.default_rng(2)
    groups = np.repeat([f"t{i}" for i in range(6)], 40)
    centres = rng.normal(scale=4.0, size=(6, 16))
    told = rng.normal(size=(240, 16)) + centres[np.repeat(np.arange(6), 40)]
    states = {3: rng.normal(size=(240, 16)), 7: told, 11: rng.normal(size=(240, 16))}
    best, table = choose_familiarity(states, groups)
    layers = tuple(best["layers"])
    assert 7 in layers and best["n_neighbors"] in (1, 5) and best["metric"] in METRICS
    best = max(r["mean_auroc"] for r in table)
    noise = [r["mean_auroc"] for r in table if r["layers"] in ([3], [11])]
    assert len(table) == 5 * 2 * 2  # 3 layers + 2 pairs, 2 neighbour counts, 2 metrics
    assert best > 0.9 and max(noise) < 0.7
    fam, got, _ = fit_familiarity(states, groups)
    assert got == layers and fam.n_blocks == len(layers)
    with pytest.raises(ValueError, match="2 or more groups"):
        choose_familiarity(states, ["one"] * 240)
    assert candidate_layers(30) == [6, 9, 12, 14, 17, 20, 23]


# --------------------------------------------------------------------------- stacked
@parametrize_with_checks([StackedCalibrator(min_samples=2)])
def test_stacked_calibrator_sklearn_contract(estimator, check):
    check(estimator)


def test_stacked_calibrator_recovers_probabilities_and_round_trips():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4000, 3))
    p = 1 / (1 + np.exp(-(1.5 * X[:, 0] - 0.5 * X[:, 2] - 1.0)))
    y = rng.random(4000) < p
    cal = StackedCalibrator().fit(X, y)
    assert ece(cal.confidence(X), y) < 0.03
    assert np.abs(cal.confidence(X) - p).mean() < 0.03
    back = StackedCalibrator.from_state(*cal.get_state())
    np.testing.assert_array_equal(back.confidence(X[:50]), cal.confidence(X[:50]))
    with pytest.raises(ValueError, match="min_samples"):
        StackedCalibrator().fit(X[:10], np.arange(10) % 2)
    with pytest.raises(ValueError, match="both correct and wrong"):
        StackedCalibrator().fit(X[:100], np.ones(100))


# -------------------------------------------------------------------- grouped detector
def test_grouped_detector_uses_source_folds_and_stacks(grouped, splits):
    det, fit = grouped
    assert fit.scheme == "source" and det.inputs == STACKED_INPUTS
    assert det.info["training"]["sources"] == sorted(SOURCES)
    found = det.assess_collection(splits["test"])
    y = splits["test"].labels
    assert found.confidence.shape == found.familiarity.shape == (len(y),)
    assert ece(found.confidence, y) < 0.08
    assert not found.unfamiliar.any() or found.unfamiliar.mean() < 0.1


def test_stacked_detector_needs_the_answer_statistics(grouped, splits):
    det, _ = grouped
    with pytest.raises(ValueError, match="token statistics"):
        det.score_features(splits["test"].features(LAYER, POSITION))
    with pytest.raises(ValueError, match="last_prompt detector scores before the answer"):
        check_inputs(STACKED_INPUTS, "last_prompt")


def test_grouped_detector_round_trip(grouped, splits, tmp_path):
    det, _ = grouped
    det.save(tmp_path / "d")
    back = Detector.load(tmp_path / "d")
    a, b = det.assess_collection(splits["test"]), back.assess_collection(splits["test"])
    np.testing.assert_allclose(b.confidence, a.confidence, atol=1e-12)
    np.testing.assert_allclose(b.familiarity, a.familiarity, atol=1e-12)
    assert back.inputs == det.inputs


def test_familiarity_of_another_detector_is_refused(grouped, splits, tmp_path):
    det, _ = grouped
    other, _ = fit_grouped_detector(
        concat([splits["train"], splits["calibration"]]), layer=LAYER, position=POSITION, C=1.0
    )
    det.save(tmp_path / "a")
    other.save(tmp_path / "b")
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    config["familiarity"] = json.loads((tmp_path / "b" / "config.json").read_text())["familiarity"]
    (tmp_path / "a" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="belongs to another detector"):
        Detector.load(tmp_path / "a")


def test_unfamiliar_rows_are_flagged(grouped):
    det, _ = grouped
    far = mixture("test", n_per_source=30, shift=40.0)
    found = det.assess_collection(far)
    assert found.unfamiliar.all() and np.all(found.familiarity < UNFAMILIAR_BELOW)
    assert det.familiarity_layers == (LAYER,) and LAYER in det.layers


# ----------------------------------------------------------------------- recalibrate
def test_recalibration_moves_confidence_to_the_new_rate(grouped, tmp_path):
    det, _ = grouped
    shifted = mixture("new", n_per_source=60, seed=3)
    shifted.labels = shifted.labels & (np.arange(len(shifted)) % 3 == 0)  # a harder domain
    before = det.assess_collection(shifted).confidence
    new = recalibrate(det, shifted, dataset="new.jsonl")
    after = new.assess_collection(shifted).confidence
    acc = shifted.labels.mean()
    assert abs(after.mean() - acc) < abs(before.mean() - acc) / 2
    assert new.info["recalibration"]["n"] == len(shifted)
    assert isinstance(new.calibrator, RecalibratedCalibrator)
    assert new.calibrator.base is det.calibrator  # one more link; the detector given unchanged
    assert not isinstance(det.calibrator, RecalibratedCalibrator)
    new.save(tmp_path / "r")
    back = Detector.load(tmp_path / "r")
    np.testing.assert_allclose(back.assess_collection(shifted).confidence, after, atol=1e-12)


def test_recalibration_refuses_too_few_rows_or_one_class(grouped):
    det, _ = grouped
    few = mixture("few", n_per_source=4)
    with pytest.raises(ValueError, match="16 rows; recalibration needs at least 20"):
        recalibrate(det, few)
    one = mixture("one", n_per_source=10)
    one.labels = np.zeros(len(one), dtype=bool)
    with pytest.raises(ValueError, match=r"all 40 answers .* are wrong"):
        recalibrate(det, one)


# ------------------------------------------------------------------ held-out report
def test_leave_one_source_out_report(splits):
    rows = leave_one_group_out(
        splits,
        layer=LAYER,
        position=POSITION,
        C=0.1,
        recalibration_sizes=(50,),
        n_boot=100,
        progress=False,
    )
    assert [r["group"] for r in rows] == sorted(SOURCES)
    for r in rows:
        assert r["n"] == 360  # every split of the held-out source
        assert r["n_fit"] == 3 * 240  # train + calibration of the other sources
        parts = r["ece_by_flag"]  # calibration of the flagged and unflagged answers
        assert parts["flagged"]["n"] + parts["unflagged"]["n"] == 360
        assert parts["flagged"]["n"] == round(r["unfamiliar_share"] * 360)
        assert r["best_baseline"] in ("logprob_mean", "logprob_min", "entropy")
        lo, hi = r["margin_ci95"]
        assert lo <= r["margin"] <= hi
        assert r["auroc"] > 0.8 and r["brier_skill"] > 0
        assert r["recalibrated"][0]["n_labelled"] == 50
    json.dumps(rows)
    text = heldout_markdown(rows)
    assert "| held-out source |" in text and "ECE after `recalibrate`" in text


def test_leave_one_topic_out_within_a_source(splits):
    rows = leave_one_group_out(
        splits,
        by="topic",
        within="alpha",
        layer=LAYER,
        position=POSITION,
        C=0.1,
        recalibration_sizes=(),
        n_boot=50,
        progress=False,
    )
    assert [r["group"] for r in rows] == ["alpha:t0", "alpha:t1", "alpha:t2"]
    with pytest.raises(ValueError, match="within='omega' is not a source"):
        leave_one_group_out(
            splits, by="topic", within="omega", layer=LAYER, position=POSITION, C=0.1
        )


def test_recalibration_rows_leave_enough_to_evaluate():
    assert recalibration_rows(150, 100) is None
    picked = recalibration_rows(300, 200, seed=1)
    assert len(set(picked.tolist())) == 200


def test_a_mixture_with_a_row_without_its_source_is_refused(splits):
    from howsure.plugin.grouped import collection_folds

    rows = concat([splits["train"], splits["calibration"]])
    items = list(rows.items)
    items[3] = QAItem(id="x", question="q?", answers=("a",), topic="t0", split="train")
    rows.items = items
    with pytest.raises(ValueError, match=r"1 rows of dataset 'synth' have no 'source' \('x'"):
        collection_folds(rows)
