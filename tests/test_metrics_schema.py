"""Tests for howsure.eval.schema: compare_methods output validates; broken keys are named."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from howsure.eval.compare import compare_methods, methods_markdown
from howsure.eval.schema import CI_METRICS, METHOD_METRICS, validate_metrics

METHODS = ("probe", "probe_last_prompt", "logprob_mean", "logprob_min", "entropy")


@pytest.fixture(scope="module")
def metrics():
    rng = np.random.default_rng(0)
    n = 120
    y = rng.integers(0, 2, n)
    scores = {
        name: np.clip(0.5 + (0.4 - 0.05 * i) * (y - 0.5) + rng.normal(0, 0.2, n), 0, 1)
        for i, name in enumerate(METHODS)
    }
    groups = [f"t{i % 3}" for i in range(n)]
    methods = compare_methods(
        scores, y, groups, n_boot=40, seed=1, costs={"logprob_min": 1.0, "entropy": 1.0}
    )
    return {
        "n": n,
        "accuracy": float(y.mean()),
        "dataset": "synthetic",
        "split": "test",
        "detector": "/tmp/run/detector",
        "methods": methods,
    }


def test_compare_methods_output_validates(metrics):
    validate_metrics(metrics, methods=METHODS)
    row = metrics["methods"]["probe"]
    assert set(METHOD_METRICS) | {"forward_passes_per_question", "ci95"} <= set(row)
    assert set(CI_METRICS) <= set(row["ci95"])
    assert row["forward_passes_per_question"] == 1.0
    assert row["prr"] > 0 and 0 <= row["aurc"] <= 1
    # survives a JSON round trip, NaN included
    data = json.loads(json.dumps(metrics))
    data["methods"]["probe"]["auroc_within_topic"] = float("nan")
    validate_metrics(json.loads(json.dumps(data)))


def test_compare_methods_costs_and_markdown(metrics):
    y = np.array([0, 1, 0, 1, 1, 0])
    s = np.linspace(0.1, 0.9, 6)
    out = compare_methods({"consistency": s}, y, n_boot=10, costs={"consistency": 6})
    assert out["consistency"]["forward_passes_per_question"] == 6.0
    assert math.isnan(out["consistency"]["auroc_within_topic"])
    with pytest.raises(ValueError, match="costs name methods that are not compared"):
        compare_methods({"probe": s}, y, n_boot=10, costs={"p_true": 2.0})
    with pytest.raises(ValueError, match=r"costs\['probe'\] must be a number > 0"):
        compare_methods({"probe": s}, y, n_boot=10, costs={"probe": 0})
    table = methods_markdown(metrics["methods"])
    assert "AUROC [95% CI]" in table and "AURC [95% CI]" in table and "PRR [95% CI]" in table


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("n"), r"^n: missing"),
        (lambda d: d.update(n=1.5), r"^n: expected an int"),
        (lambda d: d.update(accuracy="high"), r"^accuracy: expected a number"),
        (lambda d: d.update(dataset=3), r"^dataset: expected str"),
        (lambda d: d.pop("detector"), r"^detector: missing"),
        (lambda d: d.update(methods={}), r"^methods: expected a non-empty object"),
        (lambda d: d["methods"]["probe"].pop("prr"), r"^methods\.probe\.prr: missing"),
        (
            lambda d: d["methods"]["entropy"].update(aurc=1.7),
            r"^methods\.entropy\.aurc: expected a number in \[0\.0, 1\.0\]",
        ),
        (
            lambda d: d["methods"]["probe"].update(auroc=None),
            r"^methods\.probe\.auroc: expected a number",
        ),
        (
            lambda d: d["methods"]["probe"]["ci95"].update(auroc=0.7),
            r"^methods\.probe\.ci95\.auroc: expected \[lo, hi\]",
        ),
        (
            lambda d: d["methods"]["probe"]["ci95"].update(brier=[0.3, 0.1]),
            r"^methods\.probe\.ci95\.brier: expected \[lo, hi\] with lo <= hi",
        ),
        (
            lambda d: d["methods"]["probe"]["ci95"].pop("ece_equal_mass"),
            r"^methods\.probe\.ci95\.ece_equal_mass: missing",
        ),
        (
            lambda d: d["methods"]["logprob_min"].pop("forward_passes_per_question"),
            r"^methods\.logprob_min\.forward_passes_per_question: missing",
        ),
        (
            lambda d: d["methods"]["probe"].update(forward_passes_per_question=0),
            r"^methods\.probe\.forward_passes_per_question: expected a finite number > 0",
        ),
        (lambda d: d.update(split=5), r"^split: expected str or null"),
        (lambda d: d.update(topics={"x": {"n": "many"}}), r"^topics\.x\.n: expected a number"),
    ],
)
def test_broken_metrics_name_the_key_path(metrics, edit, message):
    data = copy.deepcopy(metrics)
    edit(data)
    with pytest.raises(ValueError, match=message):
        validate_metrics(data)


def test_required_methods_and_non_dict(metrics):
    with pytest.raises(ValueError, match=r"^methods\.p_true: missing"):
        validate_metrics(metrics, methods=("probe", "p_true"))
    with pytest.raises(ValueError, match="expected a JSON object"):
        validate_metrics([1, 2])
