"""Transfer: does a detector work on datasets it was not trained on?

:func:`transfer`
    Fit the grouped recipe (:func:`howsure.plugin.grouped.fit_grouped_detector`, as
    ``howsure train`` and :mod:`howsure.eval.heldout` do) on one dataset's train and
    calibration splits, evaluate on another dataset, at a fixed layer and position
    (normally the source detector's).
:func:`heldout_row` / :func:`heldout_table`
    The probe against the baselines on one held-out part, and their table (what
    ``howsure transfer`` prints). Leaving whole sources or topics out, with the whole
    recipe refitted, is :mod:`howsure.eval.heldout`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from howsure.calibration.bootstrap import bootstrap_ci
from howsure.calibration.metrics import ece
from howsure.calibration.ranking import auroc_or_nan
from howsure.eval.compare import BASELINES, baseline_scores, evaluate_detectors
from howsure.eval.tables import Table
from howsure.plugin.grouped import STACKED_INPUTS, choose_C, collection_folds, fit_grouped_detector
from howsure.probes.collect import Collection, concat
from howsure.probes.folds import FoldScheme

__all__ = ["heldout_row", "heldout_table", "transfer"]

_BASELINE_EXTRAS = ("logprob_mean", "logprob_min", "entropy_mean")


def _topics(collection: Collection) -> np.ndarray:
    return np.array([it.topic for it in collection.items], dtype=object)


def _has_baselines(collection: Collection) -> bool:
    return all(k in collection.extras for k in _BASELINE_EXTRAS)


def heldout_row(
    scores: np.ndarray,
    held: Collection,
    *,
    label: str = "held-out part",
    n_boot: int = 200,
    n_bins: int = 15,
    seed: int = 0,
) -> dict:
    """Probe against the baselines on one held-out part (a topic, a dataset).

    Parameters
    ----------
    scores : numpy.ndarray, shape (n,)
        The probe's calibrated P(correct) for the part's answers.
    held : Collection
        The part's ``n`` answers (labels and, when collected, baseline extras).
    label : str
        Names the part in the warning about a single class.
    n_boot : int, default 200
        Bootstrap resamples of the probe AUROC's 95% interval (0: no interval).
    n_bins : int, default 15
        Bins of the ECE.
    seed : int, default 0

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``probe_auroc``, ``probe_auroc_ci95``, ``probe_ece``,
        ``mean_confidence``, ``confidence_gap`` (mean confidence minus accuracy: > 0 is
        overconfident), ``baselines`` (``{name: auroc}``; empty without baseline extras),
        ``best_baseline`` and ``best_baseline_auroc``. AUROCs are nan (with a warning)
        when the part's answers are all right or all wrong.
    """
    y = np.asarray(held.labels).astype(int)
    scores = np.asarray(scores, dtype=float)
    both = 0 < y.sum() < len(y)
    if not both:
        warnings.warn(
            f"{label}: all {len(y)} answers are {'right' if y.all() else 'wrong'};"
            " its AUROCs are nan",
            RuntimeWarning,
            stacklevel=3,
        )
    ci = [float("nan"), float("nan")]
    if both and n_boot > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ci = [float(v) for v in bootstrap_ci("auroc", scores, y, n_boot=n_boot, seed=seed)]
    base = (
        {k: auroc_or_nan(v, y) for k, v in baseline_scores(held).items()}
        if _has_baselines(held)
        else {}
    )
    ranked = [k for k in BASELINES if k in base and not np.isnan(base[k])]
    best = max(ranked, key=lambda k: base[k]) if ranked else None
    accuracy = float(y.mean())
    mean_conf = float(scores.mean())
    return {
        "n": len(held),
        "accuracy": accuracy,
        "probe_auroc": auroc_or_nan(scores, y),
        "probe_auroc_ci95": ci,
        "probe_ece": float(ece(scores, y, n_bins=n_bins)),
        "mean_confidence": mean_conf,
        "confidence_gap": mean_conf - accuracy,
        "baselines": base,
        "best_baseline": best,
        "best_baseline_auroc": base[best] if best else float("nan"),
    }


def heldout_table(rows: Sequence[Mapping[str, Any]], *, key: str = "topic") -> Table:
    """Table of :func:`heldout_row` rows (``key`` names the part: topic or dataset)."""
    out = []
    for r in rows:
        best = (
            f"{r['best_baseline']} ({r['best_baseline_auroc']:.3f})" if r["best_baseline"] else "-"
        )
        lo, hi = r["probe_auroc_ci95"]
        out.append(
            [
                str(r[key]),
                str(r["n"]),
                f"{r['accuracy']:.1%}",
                f"{r['probe_auroc']:.3f} [{lo:.3f}, {hi:.3f}]",
                best,
                f"{r['probe_ece']:.3f}",
                f"{r['mean_confidence']:.1%}",
                f"{r.get('in_distribution_auroc', float('nan')):.3f}",
            ]
        )
    headers = [
        key,
        "n",
        "accuracy",
        "probe AUROC [95% CI]",
        "best baseline (AUROC)",
        "probe ECE",
        "mean confidence",
        "in-distribution AUROC",
    ]
    return Table(headers, out, align="lrrllrrr")


def transfer(
    train_collections: Mapping[str, Collection],
    eval_collection: Collection,
    *,
    layer: int,
    position: str,
    C: float | None = None,
    inputs: Sequence[str] = STACKED_INPUTS,
    calibrator: str = "auto",
    folds: FoldScheme = "auto",
    cv: int = 5,
    seed: int = 0,
    n_boot: int = 1000,
    n_bins: int = 15,
) -> dict:
    """Fit the grouped recipe on one dataset's train and calibration splits together, and
    evaluate on another dataset.

    Parameters
    ----------
    train_collections : mapping of split name to Collection
        With ``"train"`` and ``"calibration"`` (the source dataset).
    eval_collection : Collection
        ``n`` rows of the target dataset (any split: none of it was used for fitting),
        with activations at ``(layer, position)`` (and the answer statistics of
        ``inputs``).
    layer, position : int, str
        Fixed, normally the source detector's.
    C : float, optional
        The probe's inverse L2 strength; default: chosen by grouped cross-validation on
        the source rows (:func:`howsure.plugin.grouped.choose_C`), as ``howsure train``
        does.
    inputs, calibrator, folds, cv, seed
        Passed to :func:`howsure.plugin.grouped.fit_grouped_detector`.
    n_boot, n_bins
        Passed to :func:`howsure.eval.compare.evaluate_detectors`.

    Returns
    -------
    dict
        ``train_dataset``, ``eval_dataset``, ``layer``, ``position``, ``calibrator``,
        ``C``, ``folds`` (the fold scheme used), ``inputs``, ``n_train``,
        ``n_calibration``, ``n``, ``accuracy``, ``mean_confidence``, ``confidence_gap``,
        ``methods`` (probe and baselines, see :func:`evaluate_detectors`) and ``topics``
        (per-topic AUROCs).

    Raises
    ------
    ValueError
        A split is missing or the detector cannot be fitted.
    """
    missing = [s for s in ("train", "calibration") if s not in train_collections]
    if missing:
        raise ValueError(
            f"transfer needs the source's 'train' and 'calibration' splits; missing {missing}"
        )
    train, cal = train_collections["train"], train_collections["calibration"]
    rows = concat([train, cal])
    if C is None:
        fold_list, _ = collection_folds(rows, scheme=folds, cv=cv, seed=seed)
        X = rows.features(layer, position).astype(np.float64)
        C, _ = choose_C(X, np.asarray(rows.labels, dtype=int), fold_list, seed=seed)
    det, fit = fit_grouped_detector(
        rows,
        layer=layer,
        position=position,
        C=C,
        inputs=inputs,
        calibrator=calibrator,
        folds=folds,
        cv=cv,
        seed=seed,
        familiarity=False,
    )
    report = evaluate_detectors(
        {"probe": det}, eval_collection, n_bins=n_bins, n_boot=n_boot, seed=seed
    )
    scores = report.pop("scores")
    mean_conf = float(np.mean(scores["probe"]))
    return {
        "train_dataset": train.meta.get("dataset"),
        "eval_dataset": eval_collection.meta.get("dataset"),
        "layer": layer,
        "position": position,
        "calibrator": det.info["training"]["calibrator"],
        "C": float(C),
        "folds": fit.scheme,
        "inputs": list(det.inputs),
        "n_train": len(train),
        "n_calibration": len(cal),
        "n": report["n"],
        "accuracy": report["accuracy"],
        "mean_confidence": mean_conf,
        "confidence_gap": mean_conf - report["accuracy"],
        "methods": report["methods"],
        "topics": report["topics"],
    }
