"""Fitting a detector for questions unlike its training rows.

:func:`fit_grouped_detector` fits the probe at one (layer, position), and its
calibration on *grouped out-of-fold* scores: every training row is scored by a probe
fitted without its source (or its topic; see :mod:`howsure.probes.folds`), so the
calibrator learns how the probe behaves on questions from elsewhere, not on questions
like the ones it was fitted on. With ``inputs`` naming the answer's token statistics,
the calibrator is a :class:`~howsure.calibration.stacked.StackedCalibrator` over the
probe's log-odds and those statistics (all from the same generation). A
:class:`~howsure.probes.familiarity.Familiarity` model fitted on the same rows goes
with it. The final probe is refitted on all rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit
from threadpoolctl import threadpool_limits

from howsure.calibration.calibrators import CALIBRATORS
from howsure.calibration.ranking import auroc_or_nan
from howsure.calibration.select import select_calibrator
from howsure.calibration.stacked import StackedCalibrator
from howsure.core.checks import check_real
from howsure.plugin.detector import Detector, ReaderSettings, check_inputs
from howsure.probes.activations import ANSWER_STATS
from howsure.probes.collect import Collection
from howsure.probes.familiarity import Familiarity, candidate_layers, fit_familiarity
from howsure.probes.folds import Folds, FoldScheme, group_folds, resolve_scheme
from howsure.probes.linear import LogisticProbe
from howsure.qa.files import check_sources

__all__ = [
    "C_GRID",
    "STACKED_INPUTS",
    "GroupedFit",
    "choose_C",
    "collection_folds",
    "familiarity_for",
    "fit_grouped_detector",
    "oof_logits",
    "topic_groups",
]

STACKED_INPUTS: tuple[str, ...] = ("probe", *ANSWER_STATS)
"""The probe's log-odds and the answer's token statistics, stacked."""

C_GRID: tuple[float, ...] = (0.001, 0.003, 0.01, 0.03, 0.1)
"""Candidates of the probe's inverse L2 strength, chosen by grouped cross-validation."""


def collection_folds(
    collection: Collection, *, scheme: FoldScheme = "auto", cv: int = 5, seed: int = 0
) -> tuple[Folds, str]:
    """Folds of ``scheme`` over a collection's rows (by their ``source`` and ``topic``),
    and the concrete scheme (what ``"auto"`` became).

    Raises
    ------
    ValueError
        Some rows have a ``source`` and others not (a mixture row without its source).
    """
    sources = [it.source or "" for it in collection.items]
    if any(sources):  # a mixture: every row needs its source, or a fold would mix them
        check_sources(collection.items, what=f"dataset {collection.meta.get('dataset')!r}")
    else:
        sources = None
    topics = [it.topic for it in collection.items]
    concrete = resolve_scheme(scheme, sources=sources, topics=topics, cv=cv)
    folds = group_folds(
        collection.labels, scheme=concrete, sources=sources, topics=topics, cv=cv, random_state=seed
    )
    return folds, concrete


def oof_logits(
    X: np.ndarray, y: np.ndarray, folds: Folds, *, C: float, seed: int = 0
) -> np.ndarray:
    """Out-of-fold probe log-odds, shape (n,): each row scored by a logistic probe
    (inverse L2 ``C``) fitted on the other folds' rows. A fold whose fitting rows hold one
    class only gets the log-odds of their base rate."""
    out = np.zeros(len(y), dtype=np.float64)
    with threadpool_limits(limits=1, user_api="blas"):
        for fit_rows, held in folds:
            yf = y[fit_rows]
            if yf.min() == yf.max():
                rate = np.clip(yf.mean(), 1e-3, 1 - 1e-3)
                out[held] = np.log(rate / (1 - rate))
                continue
            probe = LogisticProbe(C=C, random_state=seed).fit(X[fit_rows], yf)
            out[held] = probe.decision_function(X[held])
    return out


@dataclass
class GroupedFit:
    """What :func:`fit_grouped_detector` produced besides the detector.

    Attributes
    ----------
    scheme : str
        The fold scheme used (``"source"``, ``"topic"`` or ``"random"``).
    oof_inputs : numpy.ndarray, shape (n, k)
        The calibrator's grouped out-of-fold inputs.
    oof_confidence : numpy.ndarray, shape (n,)
        The calibrated confidences of those rows.
    """

    scheme: str
    oof_inputs: np.ndarray
    oof_confidence: np.ndarray


def fit_grouped_detector(
    rows: Collection,
    *,
    layer: int,
    position: str,
    C: float,
    inputs: Sequence[str] = STACKED_INPUTS,
    calibrator: str = "auto",
    folds: FoldScheme = "auto",
    cv: int = 5,
    seed: int = 0,
    familiarity: bool = True,
    familiarity_setting: Mapping[str, Any] | None = None,
) -> tuple[Detector, GroupedFit]:
    """Fit a detector whose calibration learned from grouped out-of-fold scores.

    Parameters
    ----------
    rows : Collection
        The training rows (e.g. train and calibration splits together), with ``source``
        and ``topic`` on every item for grouped folds.
    layer, position : where the probe reads.
    C : float
        The probe's inverse L2 strength (chosen by grouped cross-validation).
    inputs : sequence of str, default :data:`STACKED_INPUTS`
        ``("probe",)`` for a one-input calibrator (chosen by cross-validated NLL among
        Platt, temperature, isotonic, histogram and beta), or ``"probe"`` followed by
        answer statistics for a :class:`StackedCalibrator`.
    calibrator : str, default "auto"
        With ``inputs=("probe",)``: the one-input calibrator (a name of
        :data:`~howsure.calibration.calibrators.CALIBRATORS`), or ``"auto"`` for the
        best by cross-validated NLL.
    folds : {"auto", "source", "topic", "random"}, default "auto"
    cv : int, default 5
    seed : int, default 0
    familiarity : bool, default True
        Fit a :class:`~howsure.probes.familiarity.Familiarity` model on the rows'
        questions as they were sent (their ``last_prompt`` states; see
        :func:`familiarity_for`).
    familiarity_setting : dict, optional
        The familiarity model's ``layers``, ``n_neighbors`` and ``metric``
        (:func:`~howsure.probes.familiarity.familiarity_setting`); by default chosen on
        topic folds of the rows (:func:`~howsure.probes.familiarity.choose_familiarity`).

    Returns
    -------
    detector : Detector
        ``calibration_scores`` are the rows' grouped out-of-fold calibrated confidences.
    fit : GroupedFit
    """
    inputs = check_inputs(inputs, position)
    C = check_real(C, "C", min_val=0.0, include_boundaries="neither")
    X = rows.features(layer, position).astype(np.float64)
    y = np.asarray(rows.labels, dtype=int)
    if y.min() == y.max():
        raise ValueError(
            f"all {len(y)} training answers are {'correct' if y[0] else 'wrong'}; a detector "
            "needs both. Add questions the model gets wrong (or right)"
        )
    fold_list, scheme = collection_folds(rows, scheme=folds, cv=cv, seed=seed)
    logits = oof_logits(X, y, fold_list, C=C, seed=seed)
    columns = [logits] + [np.asarray(rows.extras[k], dtype=np.float64) for k in inputs[1:]]
    oof_inputs = np.column_stack(columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if len(inputs) > 1:
            calibrator = StackedCalibrator().fit(oof_inputs, y)
            oof_conf = calibrator.confidence(oof_inputs)
            name = "stacked"
        else:
            candidates = (
                tuple(k for k in CALIBRATORS if k != "identity")
                if calibrator == "auto"
                else (calibrator,)
            )
            chosen = select_calibrator(
                expit(logits), y, candidates=candidates, cv=cv, random_state=seed
            )
            calibrator, name = chosen.calibrator, chosen.name
            oof_conf = np.asarray(calibrator.confidence(expit(logits)), dtype=np.float64)
    with threadpool_limits(limits=1, user_api="blas"):
        probe = LogisticProbe(C=C, random_state=seed).fit(X, y)
    meta = rows.meta
    sources = sorted({it.source or "unknown" for it in rows.items})
    detector = Detector(
        probe=probe,
        calibrator=calibrator,
        reader=ReaderSettings.for_collection(meta, layer=layer, position=position),
        fingerprint=dict(meta["model"]),
        info={
            "training": {
                "dataset": meta.get("dataset"),
                "probe": "logistic",
                "C": C,
                "calibrator": name,
                "inputs": list(inputs),
                "folds": scheme,
                "n_train": len(rows),
                "train_accuracy": rows.accuracy,
                "sources": sources,
                "topics": sorted({it.topic for it in rows.items}),
            }
        },
        calibration_scores=oof_conf,
        calibration_labels=y.astype(bool),
        inputs=inputs,
    )
    if familiarity:
        fam, fam_layers, table = familiarity_for(rows, setting=familiarity_setting)
        detector.familiarity, detector.familiarity_layers = fam, fam_layers
        if table:
            detector.info["training"]["familiarity_choice"] = table
    return detector, GroupedFit(scheme=scheme, oof_inputs=oof_inputs, oof_confidence=oof_conf)


def topic_groups(items: Sequence[Any]) -> list[str]:
    """Each item's ``source/topic``: the groups a familiarity model's choice holds out."""
    return [f"{it.source or 'unknown'}/{it.topic}" for it in items]


def familiarity_for(
    rows: Collection,
    *,
    setting: Mapping[str, Any] | None = None,
) -> tuple[Familiarity | None, tuple[int, ...], list[dict]]:
    """A familiarity model of a collection's questions, as the collection sent them.

    Reads the ``last_prompt`` states the collection holds; the layers, neighbour count
    and metric are chosen on its topic folds (``source/topic`` groups) unless
    ``setting`` gives them (see :func:`~howsure.probes.familiarity.fit_familiarity`).

    Returns
    -------
    familiarity : Familiarity or None
        ``None`` (with a warning) when the collection holds no ``last_prompt`` state of
        a candidate layer.
    layers : tuple of int
    table : list of dict
        The choice's candidates and their mean held-out-topic AUROC.
    """
    have = {la for la, pos in rows.activations if pos == "last_prompt"}
    n_layers = int(rows.meta.get("model", {}).get("num_layers", max(have, default=0) + 1))
    layers = None if setting is None else list(setting["layers"])
    wanted = layers if layers is not None else candidate_layers(n_layers)
    usable = [la for la in wanted if la in have]
    if not usable or (layers is not None and len(usable) < len(wanted)):
        warnings.warn(
            f"no familiarity model: the rows hold no last_prompt state of layers {wanted}; "
            "collect with last_prompt at those layers for one",
            stacklevel=2,
        )
        return None, (), []
    states = {la: rows.features(la, "last_prompt") for la in usable}
    groups = topic_groups(rows.items)
    return fit_familiarity(states, groups, setting=setting)


def choose_C(
    X: np.ndarray,
    y: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    grid: Sequence[float] = C_GRID,
    seed: int = 0,
) -> tuple[float, dict[float, float]]:
    """The logistic probe's inverse L2 strength with the best mean held-out-fold AUROC.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, d)
    y : numpy.ndarray, shape (n,)
    folds : list of (train_indices, held_out_indices)
        Normally grouped (:func:`howsure.probes.folds.group_folds`): the choice is for
        transfer, not fit. Folds whose held-out rows have one class are skipped.
    grid : sequence of float, default :data:`C_GRID`

    Returns
    -------
    C : float
        The best (the smaller, i.e. stronger regularisation, on ties).
    table : dict of float to float
        Mean held-out AUROC per candidate.
    """
    table = {}
    for C in grid:
        logits = oof_logits(X, y, folds, C=C, seed=seed)
        aucs = [
            auroc_or_nan(logits[held], y[held])
            for _, held in folds
            if 0 < y[held].sum() < len(held)
        ]
        table[float(C)] = float(np.mean(aucs)) if aucs else float("nan")
    best = max(table, key=lambda c: (table[c], -c))
    return best, table
