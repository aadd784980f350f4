"""Training a detector: collect, sweep layers and positions, fit, calibrate.

The three splits of a QA dataset each have one job:

* **train**: the layer/position sweep (cross-validated AUROC) and the probe's fit;
* **calibration**: choosing the calibrator by cross-validation and fitting it;
* **test**: nothing here; it is held out for evaluation (:mod:`howsure.eval`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from howsure.calibration.calibrators import CALIBRATORS
from howsure.calibration.select import select_calibrator
from howsure.plugin.detector import Detector, ReaderSettings
from howsure.probes.collect import Collection, check_questions_fit, collect
from howsure.probes.linear import PROBES
from howsure.probes.positions import POSITIONS, resolve_positions
from howsure.probes.prompts import DEFAULT_INSTRUCTION
from howsure.probes.sweep import SweepResult, layer_sweep
from howsure.qa.files import NoGold
from howsure.qa.items import SPLITS
from howsure.qa.load import load_qa

__all__ = [
    "CalibratorKind",
    "ProbeKind",
    "TrainResult",
    "collect_splits",
    "fit_detector",
    "train_detector",
]

ProbeKind = Literal["logistic", "mass_mean"]
CalibratorKind = Literal["auto", "platt", "temperature", "isotonic", "histogram", "beta"]


@dataclass
class TrainResult:
    """What :func:`train_detector` produced.

    Attributes
    ----------
    detector : Detector
        The best layer and position over all positions.
    prompt_detector : Detector
        The best layer at ``last_prompt``: a score before the model answers.
    sweep : SweepResult
        Cross-validated AUROC of every (layer, position) on the train split.
    collections : dict of str to Collection
        ``"train"``, ``"calibration"``, ``"test"``.
    calibration_table : dict
        Per position kind (``"detector"``, ``"prompt_detector"``), the calibrator
        candidates' cross-validated scores.
    """

    detector: Detector
    prompt_detector: Detector
    sweep: SweepResult
    collections: dict[str, Collection]
    calibration_table: dict = field(default_factory=dict)


def collect_splits(
    model: Any,
    tokenizer: Any,
    *,
    dataset: str = "builtin",
    splits: Sequence[str] = SPLITS,
    limit: int | None = None,
    layers: int | Sequence[int] | Literal["all"] = "all",
    positions: Sequence[str] = POSITIONS,
    max_new_tokens: int = 32,
    batch_size: int = 16,
    instruction: str = DEFAULT_INSTRUCTION,
    progress: bool = True,
    on_no_gold: NoGold = "error",
) -> dict[str, Collection]:
    """Collect each split of ``dataset`` (disk-cached; ``limit`` applies per split).

    Every split's rows are loaded and validated, and every question's length checked
    against the context window, before the first answer is generated.
    """
    items = {s: load_qa(dataset, split=s, limit=limit, on_no_gold=on_no_gold) for s in splits}
    check_questions_fit(
        model,
        tokenizer,
        [it for split_items in items.values() for it in split_items],
        instruction=instruction,
        max_new_tokens=max_new_tokens,
    )
    out = {}
    for split in splits:
        out[split] = collect(
            model,
            tokenizer,
            items[split],
            layers=layers,
            positions=positions,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            instruction=instruction,
            dataset=str(dataset),
            split=split,
            progress=progress,
        )
    return out


def fit_detector(
    train: Collection,
    calibration: Collection,
    *,
    layer: int,
    position: str,
    probe: ProbeKind = "logistic",
    calibrator: CalibratorKind = "auto",
    cv: int = 5,
    seed: int = 0,
) -> tuple[Detector, dict]:
    """Fit a probe on ``train`` at (layer, position) and a calibrator on ``calibration``.

    Returns
    -------
    detector : Detector
        With ``calibration_scores`` / ``calibration_labels``: the calibration split's
        out-of-fold calibrated scores (the chosen calibrator refitted on the other
        ``cv - 1`` folds, the folds of the calibrator choice) and labels, from which
        :meth:`Detector.threshold_for` picks an abstention threshold.
    calibration_table : dict
        The candidates' cross-validated scores on the calibration split.
    """
    if probe not in PROBES:
        raise ValueError(f"unknown probe {probe!r}; use one of {sorted(PROBES)}")
    if calibrator != "auto" and calibrator not in CALIBRATORS:
        raise ValueError(f"unknown calibrator {calibrator!r}; use 'auto' or {sorted(CALIBRATORS)}")
    # single-threaded BLAS: these fits are small, and BLAS threads fighting torch's idle
    # OpenMP threads for the same cores made them many times slower
    with threadpool_limits(limits=1, user_api="blas"):
        fitted = PROBES[probe](random_state=seed).fit(train.features(layer, position), train.labels)
    raw = fitted.confidence(calibration.features(layer, position))
    candidates = (
        tuple(k for k in CALIBRATORS if k != "identity") if calibrator == "auto" else (calibrator,)
    )
    chosen = select_calibrator(
        raw, calibration.labels, candidates=candidates, cv=cv, random_state=seed
    )
    y_cal = np.asarray(calibration.labels, dtype=bool)
    oof = np.empty(len(raw), dtype=np.float64)
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for fit_rows, held_out in folds.split(raw[:, None], y_cal):
            est = clone(chosen.calibrator).fit(raw[fit_rows], y_cal[fit_rows].astype(int))
            oof[held_out] = est.predict(raw[held_out])
    meta = train.meta
    detector = Detector(
        probe=fitted,
        calibrator=chosen.calibrator,
        reader=ReaderSettings(
            layer=layer,
            position=position,
            instruction=meta.get("instruction", DEFAULT_INSTRUCTION),
            max_new_tokens=int(meta.get("max_new_tokens", 32)),
        ),
        fingerprint=dict(meta["model"]),
        info={
            "training": {
                "dataset": meta.get("dataset"),
                "probe": probe,
                "calibrator": chosen.name,
                "n_train": len(train),
                "n_calibration": len(calibration),
                "train_accuracy": train.accuracy,
                "calibration_accuracy": calibration.accuracy,
                "topics": sorted({it.topic for it in train.items}),
            }
        },
        calibration_scores=oof,
        calibration_labels=y_cal,
    )
    return detector, {"chosen": chosen.name, "candidates": chosen.table}


def train_detector(
    model: Any,
    tokenizer: Any,
    *,
    dataset: str = "builtin",
    probe: ProbeKind = "logistic",
    calibrator: CalibratorKind = "auto",
    layers: int | Sequence[int] | Literal["all"] = "all",
    positions: Sequence[str] = POSITIONS,
    limit: int | None = None,
    max_new_tokens: int = 32,
    batch_size: int = 16,
    cv: int = 5,
    seed: int = 0,
    progress: bool = True,
    on_no_gold: NoGold = "error",
) -> TrainResult:
    """Collect, sweep, fit and calibrate a detector for ``model``.

    Parameters
    ----------
    model, tokenizer : transformers causal LM and its tokenizer
    dataset : str, default "builtin"
        A dataset with train / calibration / test splits (see :func:`load_qa`).
    probe : {"logistic", "mass_mean"}
    calibrator : {"auto", "platt", "temperature", "isotonic", "histogram", "beta"}
        ``"auto"`` picks by cross-validated NLL on the calibration split.
    layers, positions : which activations the sweep considers.
    limit : int, optional
        At most this many questions per split (for quick runs).
    cv : int, default 5
        Folds of the sweep and of the calibrator choice.
    on_no_gold : {"error", "skip"}, default "error"
        Rows without a usable gold answer: refuse the dataset, or leave them out (see
        :func:`howsure.qa.load_qa`).

    Returns
    -------
    TrainResult

    Notes
    -----
    With the defaults this is the whole main job's training: the embedded model
    answers all 3,176 built-in questions (about 20 minutes on 2 CPU cores the first
    time; the collection is cached). Pass ``limit=`` for a quick run.
    """
    positions = resolve_positions(positions)
    if "last_prompt" not in positions:
        positions = ["last_prompt", *positions]
    colls = collect_splits(
        model,
        tokenizer,
        dataset=dataset,
        limit=limit,
        layers=layers,
        positions=positions,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        progress=progress,
        on_no_gold=on_no_gold,
    )
    train = colls["train"]
    topics = np.array([it.topic for it in train.items])
    sweep = layer_sweep(
        train.feature_matrices(positions),
        train.labels,
        probe=probe,
        cv=cv,
        random_state=seed,
        groups=topics,
        progress=progress,
    )
    best = sweep.best
    prompt_rows = [r for r in sweep.rows if r["position"] == "last_prompt"]
    best_prompt = max(prompt_rows, key=lambda r: r["auroc_mean"])
    kw = dict(probe=probe, calibrator=calibrator, cv=cv, seed=seed)
    detector, table = fit_detector(
        train, colls["calibration"], layer=best[0], position=best[1], **kw
    )
    prompt_detector, prompt_table = fit_detector(
        train, colls["calibration"], layer=best_prompt["layer"], position="last_prompt", **kw
    )
    for det in (detector, prompt_detector):
        det.info["sweep"] = sweep.to_dict()
    return TrainResult(
        detector=detector,
        prompt_detector=prompt_detector,
        sweep=sweep,
        collections=colls,
        calibration_table={"detector": table, "prompt_detector": prompt_table},
    )
