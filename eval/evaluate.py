"""What ``howsure eval`` and ``howsure transfer`` do, as functions: plan, run, report.

Each command first plans (loads and validates every question; cheap, so bad input fails
before the model loads), then runs on the model, then writes its report::

    det = Detector.load("howsure-out/train/detector")
    split, items = plan_eval(det, "builtin")              # the detector's test split
    run = run_eval(det, model, tokenizer, items, dataset="builtin", split=split)
    write_eval_report(
        run, "howsure-out/eval", det=det, detector_path="howsure-out/train/detector",
        dataset="builtin",
    )

The expensive baselines (P(True), sampling consistency) are cached on disk, keyed by the
model, the questions, the answers and their settings, never the golds
(:func:`howsure.eval.baselines.cached_scores`).
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from howsure.core.checks import check_int
from howsure.eval import baselines
from howsure.eval.compare import evaluate_detectors
from howsure.eval.notes import small_set_notes
from howsure.eval.report import write_report
from howsure.eval.transfer import heldout_row, heldout_table
from howsure.plugin.detector import Detector
from howsure.plugin.rows import style_for
from howsure.probes.collect import Collection, collect
from howsure.qa.files import NoGold
from howsure.qa.items import QAItem, code_tests, dataset_fingerprint
from howsure.qa.load import load_qa

__all__ = [
    "EVAL_SPLITS",
    "MIN_EVAL_ROWS",
    "EvalRun",
    "EvalSplit",
    "collect_for",
    "describe_detector",
    "plan_eval",
    "plan_transfer",
    "run_eval",
    "run_transfer",
    "same_dataset",
    "write_eval_report",
    "write_transfer_report",
]

EvalSplit = Literal["auto", "train", "calibration", "test", "all"]
EVAL_SPLITS: tuple[str, ...] = ("auto", "train", "calibration", "test", "all")


MIN_EVAL_ROWS = 10
"""The fewest rows ``howsure eval`` scores: below it every metric's interval is noise."""


def same_dataset(a: Any, b: Any) -> bool:
    """Same dataset name, or the same local file however its path is spelled."""
    if str(a) == str(b):
        return True
    pa, pb = Path(str(a)), Path(str(b))
    return pa.is_file() and pb.is_file() and pa.resolve() == pb.resolve()


def describe_detector(det: Detector) -> str:
    """One line: where the detector reads and what it was trained on."""
    training = det.info.get("training", {})
    n_fit, n_cal = training.get("n_train", "?"), training.get("n_calibration")
    rows = (  # the split recipe's two counts, or the grouped recipe's one
        f"{n_fit} train / {n_cal} calibration questions"
        if n_cal is not None
        else f"{n_fit} rows of its train and calibration splits, calibrated on their "
        f"{training.get('folds', 'grouped')}-grouped out-of-fold scores"
    )
    return (
        f"layer {det.reader.layer}, {det.reader.position}, {training.get('probe', '?')} probe, "
        f"{training.get('calibrator', '?')} calibration, trained on "
        f"{training.get('dataset', '?')} ({rows})"
    )


def collect_for(
    det: Detector, model: Any, tokenizer: Any, items: Sequence[QAItem], **kw: Any
) -> Collection:
    """The answers and the detector's activations (one generation pass, disk-cached),
    the questions sent as the detector's QA rows were (:attr:`Detector.qa_style`), code
    tasks as its code rows were (:func:`~howsure.plugin.rows.code_style`)."""
    return collect(
        model,
        tokenizer,
        items,
        layers=[det.reader.layer],
        positions=[det.reader.position],
        **style_for(det, items),
        **kw,
    )


def plan_eval(
    det: Detector,
    dataset: str,
    *,
    split: EvalSplit = "auto",
    limit: int | None = None,
    on_no_gold: NoGold = "error",
) -> tuple[str, list[QAItem]]:
    """The split to score and its questions, every row validated (no model needed).

    ``split="auto"`` is the test split of a dataset the detector was trained on (its QA
    set or one of its code-task sets), and every row of any other dataset. Fewer than
    :data:`MIN_EVAL_ROWS` rows are refused (before any answer is generated).
    """
    if split not in EVAL_SPLITS:
        raise ValueError(f"split must be one of {EVAL_SPLITS}; got {split!r}")
    if split == "auto":
        training = det.info.get("training", {})
        code = (training.get("code") or {}).get("datasets", [])
        seen = [training.get("dataset"), *code]
        split = "test" if any(same_dataset(dataset, d) for d in seen) else "all"
    items = load_qa(dataset, split=split, limit=limit, on_no_gold=on_no_gold)
    if len(items) < MIN_EVAL_ROWS:
        raise ValueError(
            f"--dataset {dataset} has {len(items)} rows in split {split!r}; an evaluation "
            f"needs at least {MIN_EVAL_ROWS} (AUROC, calibration and their intervals mean "
            "nothing on fewer): add rows, raise --limit, or use --split all"
        )
    return split, items


@dataclass
class EvalRun:
    """One evaluation: the metrics (``metrics.json``'s content) and what the report draws.

    Attributes
    ----------
    metrics : dict
        :func:`howsure.eval.compare.evaluate_detectors`'s result without ``scores``, with
        ``samples`` and ``seconds``.
    scores : dict of str to numpy.ndarray, each shape (n,)
        Every method's scores.
    collection : Collection
        The ``n`` answers.
    uncalibrated : numpy.ndarray, shape (n,)
        The probe's score before calibration.
    notes : list of str
        What came from caches, what was left out.
    """

    metrics: dict
    scores: dict[str, np.ndarray]
    collection: Collection
    uncalibrated: np.ndarray
    notes: list[str] = field(default_factory=list)


def run_eval(
    det: Detector,
    model: Any,
    tokenizer: Any,
    items: Sequence[QAItem],
    *,
    dataset: str,
    split: str,
    samples: int = baselines.DEFAULT_K,
    p_true: bool = True,
    batch_size: int = 16,
    n_boot: int = 1000,
    seed: int = 0,
    cache: bool = True,
    progress: bool = True,
) -> EvalRun:
    """Answer ``items``, score them with the detector and every baseline, compare.

    Parameters
    ----------
    det : Detector
        Fitted on ``model`` (checked).
    model, tokenizer : transformers causal LM and its tokenizer
    items : sequence of QAItem
        From :func:`plan_eval`.
    dataset, split : str
        Recorded in the metrics.
    samples : int, default 5
        Sampled answers per question of the consistency baseline; 0 leaves it out.
    p_true : bool, default True
        Score P(True) (one extra forward pass per question).
    batch_size, n_boot, seed, cache, progress
        As the commands' flags.

    Returns
    -------
    EvalRun
    """
    samples = check_int(samples, "samples", min_val=0, hint="0 leaves consistency out")
    n_boot = check_int(n_boot, "n_boot", min_val=1)
    seed = check_int(seed, "seed", min_val=0)
    det.bind(model, tokenizer)
    t0 = time.perf_counter()
    coll = collect_for(
        det,
        model,
        tokenizer,
        items,
        batch_size=batch_size,
        dataset=str(dataset),
        split=split,
        cache=cache,
        progress=progress,
    )
    seconds = {"generation": time.perf_counter() - t0}
    questions = [it.question for it in coll.items]
    extra: dict[str, np.ndarray] = {}
    notes: list[str] = []
    if coll.meta.get("cached"):
        notes.append("Answers and activations from the collection cache.")
    base_key = {  # P(True) and consistency read questions and answers, never the golds
        "model": coll.meta["model"],
        "questions": dataset_fingerprint(coll.items, golds=False),
        "answers": hashlib.sha256(json.dumps(coll.answers).encode()).hexdigest(),
        "dtype": str(model.dtype),
    }

    def expensive(name: str, settings: dict, compute: Any) -> None:
        scores, secs, hit = baselines.cached_scores(
            name, {**base_key, **settings}, compute, cache=cache
        )
        extra[name], seconds[name] = scores, secs
        if hit:
            notes.append(f"{name} scores from the cache (computed earlier in {secs:.0f} s).")

    if p_true:
        words = {"yes_words": list(baselines.YES_WORDS), "no_words": list(baselines.NO_WORDS)}
        try:
            expensive(
                "p_true",
                {"template": baselines.P_TRUE_TEMPLATE, **words},
                lambda: baselines.p_true(
                    model,
                    tokenizer,
                    questions,
                    coll.answers,
                    batch_size=batch_size,
                    progress=progress,
                    **words,
                ),
            )
        except baselines.NoSingleTokenError as err:  # a tokenizer without one-token "yes"
            notes.append(f"P(True) left out: {err}.")
            warnings.warn(notes[-1], RuntimeWarning, stacklevel=2)
    if samples and code_tests(coll.items[0]) is not None:
        notes.append(
            "Sampling consistency left out: code answers agree or not by what their code "
            "does, not by their words (it would need every sample run in the sandbox)."
        )
        samples = 0
    if samples:
        expensive(
            "consistency",
            {
                "k": samples,
                "seed": seed,
                **det.qa_style,
                "batch_size": batch_size,  # the draws depend on the batching
                "judge": "MatchJudge",
            },
            lambda: baselines.sampling_consistency(
                model,
                tokenizer,
                questions,
                coll.answers,
                k=samples,
                seed=seed,
                batch_size=batch_size,
                progress=progress,
                **det.qa_style,
            ),
        )
    costs = baselines.costs_for(max(samples, 1), methods=["probe", *extra])
    with small_set_notes(notes):  # a small set's expected warnings: one report note each
        report = evaluate_detectors(
            {"probe": det}, coll, n_boot=n_boot, seed=seed, costs=costs, extra_scores=extra
        )
    scores = report.pop("scores")
    report["samples"] = samples
    report["seconds"] = seconds
    raw = det.probe.confidence(coll.features(det.reader.layer, det.reader.position))
    return EvalRun(metrics=report, scores=scores, collection=coll, uncalibrated=raw, notes=notes)


def write_eval_report(
    run: EvalRun, out: str | Path, *, det: Detector, detector_path: str, dataset: str
) -> tuple[list[str], list[Path]]:
    """Write the report folder of :func:`run_eval` (see :mod:`howsure.eval.report`).

    Returns
    -------
    (summary, files)
        The summary lines at the top of the report, and the files written.
    """
    metrics = {**run.metrics, "detector": str(detector_path)}
    split = metrics.get("split")
    summary = [
        f"Model: {det.fingerprint['name_or_path']}. Detector: {detector_path} "
        f"({describe_detector(det)}).",
        f"Dataset: {dataset}, split {split}: {metrics['n']} questions, the model answered "
        f"{metrics['accuracy']:.1%} correctly.",
        "Time: " + ", ".join(f"{k} {v:.0f} s" for k, v in metrics["seconds"].items()) + ".",
        *run.notes,
    ]
    files = write_report(
        out,
        metrics=metrics,
        scores=run.scores,
        collection=run.collection,
        uncalibrated=run.uncalibrated,
        sweep=det.info.get("sweep"),
        title=f"howsure evaluation: {dataset} ({split})",
        summary=summary,
    )
    return summary, files


def plan_transfer(
    det: Detector, to: Sequence[str], *, limit: int | None = None, on_no_gold: NoGold = "error"
) -> dict[tuple[str, str], list[QAItem]]:
    """The detector's own test split and every row of each dataset of ``to``, validated.

    Returns
    -------
    dict of (dataset, split) to list of QAItem
        The own dataset first (when the detector records it), in distribution.
    """
    source = det.info.get("training", {}).get("dataset")
    parts: list[tuple[str, str]] = []
    if source is not None:
        parts.append((str(source), "test"))
    parts += [(str(d), "all") for d in to if not same_dataset(d, source)]
    return {p: load_qa(p[0], split=p[1], limit=limit, on_no_gold=on_no_gold) for p in parts}


def run_transfer(
    det: Detector,
    model: Any,
    tokenizer: Any,
    parts: Mapping[tuple[str, str], Sequence[QAItem]],
    *,
    batch_size: int = 16,
    n_boot: int = 1000,
    seed: int = 0,
    progress: bool = True,
) -> list[dict]:
    """One :func:`howsure.eval.transfer.heldout_row` per dataset of :func:`plan_transfer`,
    each with ``dataset``, ``split`` and the in-distribution AUROC for comparison."""
    det.bind(model, tokenizer)
    source = det.info.get("training", {}).get("dataset")
    rows = []
    in_dist = float("nan")
    for (name, split), items in parts.items():
        coll = collect_for(
            det,
            model,
            tokenizer,
            items,
            batch_size=batch_size,
            dataset=name,
            split=split,
            progress=progress,
        )
        scores = det.assess_collection(coll).confidence
        row = heldout_row(scores, coll, label=f"dataset {name!r}", n_boot=n_boot, seed=seed)
        if split == "test" and same_dataset(name, source):
            in_dist = row["probe_auroc"]
        rows.append({"dataset": f"{name} ({split})", "split": split, **row})
    for r in rows:
        r["in_distribution_auroc"] = in_dist
    return rows


def write_transfer_report(
    rows: Sequence[dict], out: str | Path, *, det: Detector, detector_path: str
) -> str:
    """Write ``transfer.json`` and ``transfer.md`` to ``out``; returns the Markdown."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    source = det.info.get("training", {}).get("dataset")
    data = {"detector": str(detector_path), "trained_on": source, "datasets": list(rows)}
    (out / "transfer.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    text = "\n".join(
        [
            f"Transfer: detector {detector_path} ({describe_detector(det)}); the first row is "
            "its own dataset's test split, the others every row of a dataset it never saw",
            "",
            heldout_table(rows, key="dataset").markdown(),
        ]
    )
    (out / "transfer.md").write_text(text + "\n", encoding="utf-8")
    return text
