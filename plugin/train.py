"""Training a detector: collect, sweep layers and positions, fit, calibrate.

The three splits of a QA dataset each have one job:

* **train**: the layer/position sweep and the probe's regularisation (both by grouped
  cross-validation);
* **train and calibration** together: the probe's fit and its calibration on grouped
  out-of-fold scores (:func:`~howsure.plugin.grouped.fit_grouped_detector`);
* **test**: nothing here; it is held out for evaluation (:mod:`howsure.eval`).

With ``chat_per_source``, each split also gets chat-style rows
(:func:`~howsure.plugin.rows.collect_chat_splits`: questions as people send them,
answers to EOS), and the detector is chosen and fitted on both styles together: what
the server, the wrapper and the CLI send for a bare question (the message as given) is
then what it was trained on. With ``code``, code tasks labelled by their tests
(:func:`~howsure.plugin.rows.collect_code_splits`) join them as their own source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from howsure.calibration.calibrators import CALIBRATORS
from howsure.core.checks import check_choice
from howsure.core.errors import SettingError, SettingTypeError
from howsure.plugin.detector import Detector
from howsure.plugin.familiar import fit_reader_familiarity
from howsure.plugin.grouped import (
    STACKED_INPUTS,
    choose_C,
    collection_folds,
    fit_grouped_detector,
)
from howsure.plugin.rows import (
    collect_chat_splits,
    collect_code_splits,
    collect_splits,
    load_code_tasks,
    mixed_rows,
)
from howsure.plugin.sentences import attach_sentence_detector
from howsure.probes.collect import (
    Collection,
    StoreDtype,
    concat,
)
from howsure.probes.folds import FoldScheme
from howsure.probes.positions import (
    ANSWER_POSITIONS,
    POSITIONS,
    resolve_layers,
    resolve_positions,
)
from howsure.probes.prompts import DEFAULT_INSTRUCTION
from howsure.probes.styles import CODE_STYLES
from howsure.probes.sweep import SweepResult, layer_sweep
from howsure.qa.files import NoGold, check_sources
from howsure.qa.load import load_qa

__all__ = [
    "SWEEP_C",
    "CalibratorKind",
    "InputsKind",
    "TrainResult",
    "train_detector",
]

InputsKind = Literal["stacked", "probe"]
CalibratorKind = Literal["auto", "platt", "temperature", "isotonic", "histogram", "beta"]

SWEEP_C = 0.01
"""The probe's inverse L2 strength during the layer/position sweep (strong: a probe that
must transfer gains little from fitting the training sources closely)."""


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
        ``"train"``, ``"calibration"``, ``"test"``; with chat-style rows also
        ``"chat-train"``, ``"chat-calibration"``, ``"chat-test"``.
    calibration_table : dict
        Per detector (``"detector"``, ``"prompt_detector"``): ``folds``, the fold scheme
        of its grouped out-of-fold calibration, and ``C``, the grouped cross-validated
        AUROC of each candidate inverse L2 strength.
    """

    detector: Detector
    prompt_detector: Detector
    sweep: SweepResult
    collections: dict[str, Collection]
    calibration_table: dict = field(default_factory=dict)


def train_detector(
    model: Any,
    tokenizer: Any,
    *,
    dataset: str = "mix",
    calibrator: CalibratorKind = "auto",
    inputs: InputsKind = "stacked",
    folds: FoldScheme = "auto",
    layers: int | Sequence[int] | Literal["all"] = "all",
    positions: Sequence[str] = POSITIONS,
    limit: int | None = None,
    max_new_tokens: int = 32,
    batch_size: int = 16,
    cv: int = 5,
    seed: int = 0,
    progress: bool = True,
    on_no_gold: NoGold = "error",
    store: StoreDtype = "float32",
    chat_per_source: int = 0,
    chat_max_new_tokens: int = 256,
    code: Sequence[str] = (),
) -> TrainResult | None:
    """Collect, sweep, fit and calibrate a detector for ``model``, choosing for transfer.

    Every choice is made by *grouped* cross-validation on the training rows (folds that
    hold out whole sources, or whole topics; see :mod:`howsure.probes.folds`): the layer
    and position (sweep on the train split), then the probe's regularisation. The
    detector is then fitted on the train and calibration splits together, its
    calibration on grouped out-of-fold scores
    (:func:`howsure.plugin.grouped.fit_grouped_detector`); its familiarity model is fitted
    on the train and calibration questions as its reader sends them (one cached prefill
    each, :func:`howsure.plugin.familiar.fit_reader_familiarity`). The test split is not
    touched. Random-fold sweep AUROCs are kept beside the grouped ones
    (``sweep.meta["random_folds"]``) to show the difference.

    Parameters
    ----------
    model, tokenizer : transformers causal LM and its tokenizer
    dataset : str, default "mix"
        A dataset with train / calibration / test splits (see :func:`load_qa`); ``"mix"``
        is the shipped mixture of five QA sets, every row with a source.
    calibrator : {"auto", "platt", "temperature", "isotonic", "histogram", "beta"}
        The one-input calibrator of ``inputs="probe"`` detectors and of the prompt
        detector (``"auto"``: by cross-validated NLL).
    inputs : {"stacked", "probe"}, default "stacked"
        ``"stacked"``: calibrate the probe's log-odds together with the answer's token
        log-probabilities and entropy (:data:`~howsure.plugin.grouped.STACKED_INPUTS`);
        ``"probe"``: the probe alone. The prompt detector always reads the probe alone.
    folds : {"auto", "source", "topic", "random"}, default "auto"
        ``"auto"``: leave one source out with 3 or more sources, else topic folds.
    layers, positions : which activations the sweep considers.
    limit : int, optional
        At most this many questions per split (for quick runs).
    cv : int, default 5
        Folds of the topic and random schemes and of the calibrator choice.
    on_no_gold : {"error", "skip"}, default "error"
        Rows without a usable gold answer: refuse the dataset, or leave them out (see
        :func:`howsure.qa.load_qa`).
    store : {"float32", "float16"}, default "float32"
        Precision of the collected activations (``"float16"`` halves their memory).
    chat_per_source : int, default 0
        With N > 0, each split also gets N chat-style questions per source
        (:func:`collect_chat_splits`), and the sweep, the choice of C and the fit use
        the short-style and chat-style rows together (grouped folds over both). The
        detector then records the styles and sends a bare question as given, with
        answers up to ``chat_max_new_tokens``: it is calibrated for both the short
        format and messages as people send them, and gets a sentence detector
        (:func:`~howsure.plugin.sentences.attach_sentence_detector`, fitted on the chat
        train and calibration rows). The chat test rows are only collected.
    chat_max_new_tokens : int, default 256
        Answer length limit of the chat-style rows (answers end at EOS before it).
    code : sequence of str, default ()
        Code-task datasets to mix in (``("code",)``: the shipped code tasks; needs
        ``chat_per_source``): each split's tasks (:func:`collect_code_splits`, answers up
        to ``chat_max_new_tokens``, labelled by running their tests) join the chat rows as
        their own source(s), with their families as topics. The code test rows are only
        collected (``collections["code-test"]``).

    Returns
    -------
    TrainResult or None
        Under ``torchrun`` / ``accelerate launch`` the processes share the collection
        (:mod:`howsure.probes.distributed`); the main process trains and returns the
        result, the others return ``None`` once their shards are gathered.

    Notes
    -----
    With the defaults this is the whole main job's training: the embedded model
    answers all 3,064 questions of the mixture (about 17 minutes on 2 CPU cores the
    first time; the collection is cached). Pass ``limit=`` for a quick run.
    """
    check_choice(inputs, "inputs", ("stacked", "probe"))
    if calibrator != "auto" and calibrator not in CALIBRATORS:
        raise ValueError(f"unknown calibrator {calibrator!r}; use 'auto' or {sorted(CALIBRATORS)}")
    if isinstance(chat_per_source, bool) or not isinstance(chat_per_source, int):
        raise SettingTypeError(
            "chat_per_source", "{param} must be an int, got {value!r}", value=chat_per_source
        )
    if chat_per_source < 0:
        raise SettingError(
            "chat_per_source",
            "{param} must be >= 0 (0: no chat rows), got {value}",
            value=chat_per_source,
        )
    if isinstance(code, str):
        raise TypeError(f"code must be a sequence of dataset names, got the str {code!r}; wrap it")
    if code and not chat_per_source:
        raise ValueError(
            f"code={tuple(code)!r} needs chat_per_source >= 1: code answers are chat-style "
            "(sent as written, answered at length); give --chat-per-source too"
        )
    for name in code:  # a bad code dataset fails before any answer is generated
        load_code_tasks(name)
    if code:  # code tasks are a source of their own: the QA rows need theirs
        check_sources(
            load_qa(dataset, on_no_gold=on_no_gold),
            what=f"dataset {dataset!r} (code tasks join it as their own source)",
        )
    positions = resolve_positions(positions)
    if "last_prompt" not in positions:
        positions = ["last_prompt", *positions]
    # code first: the shortest collection, its accuracy known early
    coded = (
        collect_code_splits(
            model,
            tokenizer,
            datasets=code,
            limit=limit,
            layers=layers,
            positions=positions,
            max_new_tokens=chat_max_new_tokens,
            batch_size=batch_size,
            progress=progress,
            store=store,
        )
        if code
        else {}
    )
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
        store=store,
    )
    chat = (
        collect_chat_splits(
            model,
            tokenizer,
            dataset=dataset,
            per_source=chat_per_source,
            layers=layers,
            positions=positions,
            max_new_tokens=chat_max_new_tokens,
            batch_size=batch_size,
            progress=progress,
            on_no_gold=on_no_gold,
            store=store,
        )
        if chat_per_source
        else {}
    )
    if colls is None or chat is None or coded is None:
        return None  # another process of a torchrun / accelerate launch trains
    train, fitting = colls["train"], [colls["train"], colls["calibration"]]
    if chat:
        colls |= {f"chat-{split}": coll for split, coll in chat.items()}
        colls |= {f"code-{split}": coll for split, coll in coded.items()}
        long_train = [chat["train"], *([coded["train"]] if coded else [])]
        train = mixed_rows([train], long_train)
        fitting += [chat["train"], chat["calibration"]]
        fitting += [coded[s] for s in ("train", "calibration") if coded]
    fold_list, scheme = collection_folds(train, scheme=folds, cv=cv, seed=seed)
    topics = np.array([it.topic for it in train.items])
    features = train.feature_matrices(positions)
    kw = dict(probe="logistic", cv=cv, random_state=seed, groups=topics, C=SWEEP_C)
    sweep = layer_sweep(features, train.labels, folds=fold_list, progress=progress, **kw)
    sweep.meta["folds"] = scheme
    if scheme != "random":
        plain = layer_sweep(features, train.labels, progress=False, **kw)
        sweep.meta["random_folds"] = {
            f"{r['layer']}/{r['position']}": r["auroc_mean"] for r in plain.rows
        }
    y = np.asarray(train.labels, dtype=int)
    if chat_per_source:
        rows = mixed_rows(fitting[:2], fitting[2:])
    else:
        rows = concat(fitting)
    fitted = {}
    for kind, key in (("detector", sweep.best), ("prompt_detector", _best_prompt(sweep))):
        C, c_table = choose_C(features[key].astype(np.float64), y, fold_list, seed=seed)
        det, fit = fit_grouped_detector(
            rows,
            layer=key[0],
            position=key[1],
            C=C,
            inputs=STACKED_INPUTS
            if inputs == "stacked" and key[1] in ANSWER_POSITIONS
            else ("probe",),
            calibrator=calibrator,
            folds=folds,
            cv=cv,
            seed=seed,
            familiarity=False,  # fitted below on the questions as the reader sends them
        )
        det.info["training"]["C_table"] = c_table
        det.info["sweep"] = sweep.to_dict()
        fitted[kind] = (det, fit)
    if chat:  # how the short-style rows were sent (the reader records the chat styles')
        short_meta = colls["train"].meta
        for det, _ in fitted.values():
            det.info["training"]["short_style"] = {
                "instruction": short_meta.get("instruction", DEFAULT_INSTRUCTION),
                "max_new_tokens": int(short_meta.get("max_new_tokens", max_new_tokens)),
            }
            if coded:
                det.info["training"]["code"] = {
                    "datasets": list(code),
                    "styles": list(CODE_STYLES),
                    "max_new_tokens": int(chat_max_new_tokens),
                    "n_train": len(coded["train"]),
                    "n_calibration": len(coded["calibration"]),
                }
        # the sentence detector, on the chat rows outside the test split
        attach_sentence_detector(
            fitted["detector"][0],
            concat(list(chat.values())),
            short_train=colls["train"],
            layers=resolve_layers(model, layers),
            seed=seed,
            on_too_few="warn",
        )
    fit_reader_familiarity(
        [d for d, _ in fitted.values()],
        model,
        tokenizer,
        [it for coll in fitting for it in coll.items],
        batch_size=batch_size,
        progress=progress,
    )
    return TrainResult(
        detector=fitted["detector"][0],
        prompt_detector=fitted["prompt_detector"][0],
        sweep=sweep,
        collections=colls,
        calibration_table={
            k: {"folds": f.scheme, "C": d.info["training"]["C_table"]}
            for k, (d, f) in fitted.items()
        },
    )


def _best_prompt(sweep: SweepResult) -> tuple[int, str]:
    rows = [r for r in sweep.rows if r["position"] == "last_prompt"]
    best = max(rows, key=lambda r: r["auroc_mean"])
    return best["layer"], "last_prompt"
