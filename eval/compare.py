"""Scores of the detector and of the single-pass baselines on the same answers.

Every method gives a score per answer where higher means "more likely correct":

``probe``
    The detector's calibrated P(correct).
``logprob_mean``
    exp(mean token log-probability of the answer): the geometric-mean token probability.
``logprob_min``
    exp(min token log-probability): the least likely token's probability.
``entropy``
    exp(-mean predictive entropy over the answer's tokens).

The baselines are mapped into [0, 1] so that ECE and Brier can be computed, but they
are *not* calibrated: their AUROC is the fair comparison, their ECE shows what a user
would get by reading them as probabilities.

Cost: every method above is read from the one generation pass that produced the answer
(the probe from its hidden states, the baselines from its token log-probabilities), so
each costs 1.0 forward pass per question; ``forward_passes_per_question`` in
:func:`compare_methods` records this so that multi-pass methods (P(True), consistency
sampling) can be compared at their cost. The keys of the results are documented in
:mod:`howsure.eval.schema`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from howsure.calibration.bootstrap import bootstrap_ci
from howsure.calibration.metrics import brier, ece, ece_noise_floor
from howsure.calibration.ranking import (
    auprc,
    auroc,
    auroc_or_nan,
    paired_auroc_difference,
    within_group_auroc,
)
from howsure.calibration.selective import accuracy_at_50, accuracy_at_80, aurc, prr
from howsure.core.checks import check_real
from howsure.eval.tables import Table

__all__ = [
    "BASELINES",
    "DEFAULT_COST",
    "baseline_scores",
    "compare_methods",
    "evaluate_detectors",
    "margins_table",
    "methods_markdown",
    "methods_table",
    "per_topic_auroc",
    "topic_margins",
    "topics_markdown",
    "topics_table",
]

BASELINES = ("logprob_mean", "logprob_min", "entropy")
"""Single-pass baselines computed from the same generation (no extra forward pass)."""

DEFAULT_COST = 1.0
"""Forward passes per question of a method not named in ``costs``: the one generation pass."""


def baseline_scores(collection: Any) -> dict[str, np.ndarray]:
    """Baseline scores in [0, 1] from a collection's ``extras`` (shape (n,) each)."""
    ex = collection.extras
    return {
        "logprob_mean": np.exp(np.asarray(ex["logprob_mean"], dtype=float)),
        "logprob_min": np.exp(np.asarray(ex["logprob_min"], dtype=float)),
        "entropy": np.exp(-np.asarray(ex["entropy_mean"], dtype=float)),
    }


def compare_methods(
    methods: Mapping[str, np.ndarray],
    y: np.ndarray,
    groups: Sequence[str] | None = None,
    *,
    n_bins: int = 15,
    n_boot: int = 1000,
    seed: int = 0,
    costs: Mapping[str, float] | None = None,
) -> dict[str, dict]:
    """Metrics with bootstrap 95% intervals for each method's scores on the same answers.

    Parameters
    ----------
    methods : mapping of name to numpy.ndarray, each shape (n,)
        Scores in [0, 1], higher = more likely correct.
    y : numpy.ndarray, shape (n,)
        1 where the answer is correct.
    groups : sequence of str, length n, optional
        Topics, for the within-topic AUROC (nan without groups).
    n_bins : int, default=15
        Bins of both ECEs (equal-width ``ece``, equal-mass ``ece_equal_mass``).
    n_boot : int, default=1000
        Bootstrap resamples; every metric of every method sees the same resamples.
    seed : int, default=0
        Seed of the resampling.
    costs : mapping of method name to float, optional
        Forward passes per question of each method. A method not named gets
        :data:`DEFAULT_COST` (1.0): the probe and the single-pass baselines are all read
        from the one generation pass. Name e.g. ``{"consistency": 6.0}`` for a method that
        samples extra answers.

    Returns
    -------
    dict
        Per method: ``auroc``, ``auroc_within_topic``, ``auprc``, ``ece``,
        ``ece_equal_mass``, ``brier``, ``aurc``, ``prr``, ``accuracy_at_50``,
        ``accuracy_at_80``, ``forward_passes_per_question`` and ``ci95`` (``{metric:
        [lo, hi]}`` for every metric but ``auroc_within_topic``). Floats may be nan where
        a metric is undefined (e.g. a single class). See :mod:`howsure.eval.schema`.

    Raises
    ------
    ValueError
        A method's scores do not match ``y`` in shape, or a cost is not a finite
        number > 0.
    """
    y = np.asarray(y).astype(int)
    costs = dict(costs or {})
    unknown = sorted(set(costs) - set(methods))
    if unknown:
        raise ValueError(
            f"costs name methods that are not compared: {unknown}; methods are "
            f"{sorted(methods)}. Drop those entries or add the methods."
        )
    for name, c in costs.items():
        check_real(c, f"costs[{name!r}]", min_val=0.0, include_boundaries="neither")
    fns = {
        "auroc": auroc,
        "auprc": auprc,
        "ece": lambda p, t: ece(p, t, n_bins=n_bins),
        "ece_equal_mass": lambda p, t: ece(p, t, n_bins=n_bins, strategy="quantile"),
        "brier": brier,
        "aurc": aurc,
        "prr": prr,
        "accuracy_at_50": accuracy_at_50,
        "accuracy_at_80": accuracy_at_80,
    }
    out = {}
    for name, scores in methods.items():
        s = np.asarray(scores, dtype=float)
        if s.shape != y.shape:
            raise ValueError(f"method {name!r}: scores of shape {s.shape}, labels {y.shape}")
        row: dict = {k: float(f(s, y)) for k, f in fns.items()}
        row["auroc_within_topic"] = (
            within_group_auroc(s, y, groups) if groups is not None else float("nan")
        )
        row["forward_passes_per_question"] = float(costs.get(name, DEFAULT_COST))
        ci = {}
        for k in fns:
            metric, strategy = ("ece", "quantile") if k == "ece_equal_mass" else (k, "uniform")
            lo, hi = bootstrap_ci(
                metric, s, y, n_boot=n_boot, seed=seed, n_bins=n_bins, strategy=strategy
            )
            ci[k] = [float(lo), float(hi)]
        row["ci95"] = ci
        out[name] = row
    return out


def per_topic_auroc(
    methods: Mapping[str, np.ndarray], y: np.ndarray, groups: Sequence[str]
) -> dict[str, dict[str, float]]:
    """AUROC of each method inside each topic: ``{topic: {method: auroc, "n": n, ...}}``."""
    y, groups = np.asarray(y).astype(int), np.asarray(groups)
    table = {}
    for g in np.unique(groups).tolist():
        m = groups == g
        row: dict[str, float] = {"n": int(m.sum()), "accuracy": float(y[m].mean())}
        for name, s in methods.items():
            row[name] = auroc_or_nan(np.asarray(s)[m], y[m])
        table[g] = row
    return table


def topic_margins(
    methods: Mapping[str, np.ndarray],
    y: np.ndarray,
    groups: Sequence[str],
    *,
    method: str = "probe",
    baselines: Sequence[str] = BASELINES,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, dict]:
    """Per topic: ``method``'s AUROC minus the topic's best baseline, with a paired CI.

    With a few dozen answers per topic, one AUROC's 95% interval is about ±0.1 wide; the
    paired bootstrap (both methods on the same resamples) says whether a per-topic win or
    loss is more than noise.

    Returns
    -------
    dict
        ``{topic: {"n", "best_baseline", "margin", "ci95": [lo, hi]}}`` for every topic
        with both right and wrong answers.
    """
    y, groups = np.asarray(y).astype(int), np.asarray(groups)
    names = [b for b in baselines if b in methods]
    out = {}
    for g in np.unique(groups).tolist():
        m = groups == g
        if not (0 < y[m].sum() < m.sum()) or not names:
            continue
        best = max(names, key=lambda b: auroc(np.asarray(methods[b])[m], y[m]))
        d, lo, hi = paired_auroc_difference(
            np.asarray(methods[method])[m],
            np.asarray(methods[best])[m],
            y[m],
            n_boot=n_boot,
            seed=seed,
        )
        out[g] = {"n": int(m.sum()), "best_baseline": best, "margin": d, "ci95": [lo, hi]}
    return out


def margins_table(margins: Mapping[str, dict], *, method: str = "probe") -> Table:
    """Table of :func:`topic_margins`."""
    rows = []
    for topic, r in margins.items():
        lo, hi = r["ci95"]
        verdict = "above" if lo > 0 else ("below" if hi < 0 else "within noise")
        rows.append(
            [
                topic,
                str(r["n"]),
                r["best_baseline"],
                f"{r['margin']:+.3f} [{lo:+.3f}, {hi:+.3f}]",
                verdict,
            ]
        )
    headers = ["topic", "n", "best baseline", f"{method} − best baseline [95% CI]", "verdict"]
    return Table(headers, rows, align="lrlll")


def _fmt(row: dict, key: str) -> str:
    lo, hi = row["ci95"][key]
    return f"{row[key]:.3f} [{lo:.3f}, {hi:.3f}]"


def methods_table(results: Mapping[str, dict]) -> Table:
    """Table of :func:`compare_methods` results, one row per method, with 95% intervals."""
    rows = []
    for name, row in results.items():
        rows.append(
            [
                name,
                _fmt(row, "auroc"),
                f"{row.get('auroc_within_topic', float('nan')):.3f}",
                f"{row['auprc']:.3f}",
                _fmt(row, "ece"),
                f"{row['brier']:.3f}",
                _fmt(row, "aurc"),
                _fmt(row, "prr"),
                f"{row['accuracy_at_80']:.1%}",
                f"{row['forward_passes_per_question']:g}",
            ]
        )
    headers = [
        "method",
        "AUROC [95% CI]",
        "AUROC within topic",
        "AUPRC",
        "ECE (15 bins) [95% CI]",
        "Brier",
        "AURC [95% CI]",
        "PRR [95% CI]",
        "accuracy at 80% coverage",
        "forward passes / question",
    ]
    return Table(headers, rows, align="llrrlrllrr")


def methods_markdown(results: Mapping[str, dict]) -> str:
    """Markdown table of :func:`compare_methods` results."""
    return methods_table(results).markdown()


def topics_table(table: Mapping[str, dict], methods: Sequence[str]) -> Table:
    """Table of :func:`per_topic_auroc`: one row per topic, one AUROC column per method."""
    rows = [
        [topic, str(row["n"]), f"{row['accuracy']:.1%}", *(f"{row[m]:.3f}" for m in methods)]
        for topic, row in table.items()
    ]
    return Table(["topic", "n", "accuracy", *methods], rows)


def topics_markdown(table: Mapping[str, dict], methods: Sequence[str]) -> str:
    """Markdown table of :func:`per_topic_auroc`."""
    return topics_table(table, methods).markdown()


def evaluate_detectors(
    detectors: Mapping[str, Any],
    collection: Any,
    *,
    n_bins: int = 15,
    n_boot: int = 1000,
    seed: int = 0,
    costs: Mapping[str, float] | None = None,
    extra_scores: Mapping[str, np.ndarray] | None = None,
) -> dict:
    """Score held-out answers with each detector and every baseline, and compare.

    Parameters
    ----------
    detectors : mapping of method name to Detector
        E.g. ``{"probe": det, "probe_last_prompt": prompt_det}``.
    collection : Collection
        Held-out answers (activations at each detector's layer and position included).
    costs : mapping of method name to float, optional
        Forward passes per question, passed to :func:`compare_methods` (default 1.0 for
        every method: the detectors and baselines share the one generation pass).
    extra_scores : mapping of method name to numpy.ndarray of shape (n,), optional
        Scores of further methods on the same answers, e.g. ``p_true`` and
        ``consistency`` from :mod:`howsure.eval.baselines` (give their ``costs``).

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``dataset``, ``split``, ``methods`` (see
        :func:`compare_methods`; each detector's row also has ``ece_noise_floor``:
        ``{"mean", "ci95"}`` of the ECE a perfectly calibrated detector with the same
        confidences would show on these ``n`` answers, see
        :func:`howsure.calibration.metrics.ece_noise_floor`), ``topics`` (see
        :func:`per_topic_auroc`), ``topic_margins`` (the first detector against each
        topic's best baseline, :func:`topic_margins`) and the raw ``scores`` per
        method. Without ``scores`` and with ``detector`` added it is the
        ``metrics.json`` of :mod:`howsure.eval.schema`.
    """
    scores = {name: det.assess_collection(collection).confidence for name, det in detectors.items()}
    scores |= baseline_scores(collection)
    for name, s in (extra_scores or {}).items():
        if name in scores:
            raise ValueError(f"extra_scores[{name!r}] would replace a built-in method; rename it")
        scores[name] = np.asarray(s, dtype=float)
    topics = [it.topic for it in collection.items]
    y = np.asarray(collection.labels).astype(int)
    methods = compare_methods(
        scores, y, topics, n_bins=n_bins, n_boot=n_boot, seed=seed, costs=costs
    )
    for name in detectors:
        mean, lo, hi = ece_noise_floor(scores[name], n_bins=n_bins, seed=seed)
        methods[name]["ece_noise_floor"] = {"mean": mean, "ci95": [lo, hi]}
    return {
        "n": len(collection),
        "accuracy": float(y.mean()),
        "dataset": collection.meta.get("dataset"),
        "split": collection.meta.get("split"),
        "methods": methods,
        "topics": per_topic_auroc(scores, y, topics),
        "topic_margins": topic_margins(
            scores, y, topics, method=next(iter(detectors)), n_boot=n_boot, seed=seed
        ),
        "scores": scores,
    }
