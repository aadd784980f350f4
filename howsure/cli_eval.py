"""``howsure eval`` and ``howsure transfer``: reports on how far a detector can be trusted."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

EVAL_SPLITS = ("auto", "train", "calibration", "test", "all")


def add_parsers(sub: Any) -> None:
    """Add the ``eval`` and ``transfer`` subcommands to the CLI's subparsers."""
    from howsure.cli import (
        DEFAULT_DETECTOR,
        _add_model_args,
        add_dataset_args,
        add_detector_arg,
        add_report_args,
    )

    e = sub.add_parser(
        "eval",
        help="evaluation report: the detector against the baselines, with plots",
        description="Answer the dataset's questions greedily (cached), score each answer "
        "with the detector and with every baseline (token log-probabilities and entropy "
        "from the same pass; P(True) and sampling consistency at their extra cost), and "
        "write report.html (self-contained), report.md, metrics.json and the plots to --out.",
    )
    _add_model_args(e)
    add_detector_arg(e, default=DEFAULT_DETECTOR)
    add_dataset_args(e, limit_help="N questions, round-robin over topics")
    e.add_argument(
        "--split",
        default="auto",
        choices=EVAL_SPLITS,
        help="'auto' (default): the test split when --dataset is the one the detector was "
        "trained on, else every row",
    )
    e.add_argument("--out", default="howsure-out/eval", help="output folder")
    e.add_argument(
        "--samples",
        type=int,
        default=5,
        help="sampled answers per question of the consistency baseline (each costs a "
        "generation; 0 leaves the baseline out; default 5)",
    )
    e.add_argument(
        "--no-p-true",
        action="store_true",
        help="leave out the P(True) baseline (one extra forward pass per question)",
    )
    e.add_argument(
        "--no-cache",
        action="store_true",
        help="answer and score everything again: neither read nor write the caches of the "
        "answers, activations and expensive baselines",
    )
    add_report_args(e, n_boot=1000)
    e.set_defaults(func=cmd_eval)

    t = sub.add_parser(
        "transfer",
        help="how a detector does on datasets it was not trained on",
        description="Score the detector on its own dataset's test split (in distribution) "
        "and on every row of each --to dataset, against the single-pass baselines; print "
        "one row per dataset (AUROC with 95%% interval, best baseline, ECE, mean "
        "confidence) and write transfer.json and transfer.md to --out.",
    )
    _add_model_args(t)
    add_detector_arg(t, default=DEFAULT_DETECTOR)
    t.add_argument(
        "--to",
        nargs="+",
        required=True,
        metavar="DATASET",
        help="datasets to evaluate on: local .jsonl/.json/.csv/.parquet files or hub names",
    )
    t.add_argument("--limit", type=int, default=None, help="at most N questions per dataset")
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--out", default="howsure-out/transfer", help="output folder")
    add_report_args(t, n_boot=1000)
    t.set_defaults(func=cmd_transfer)


def _check_counts(args: argparse.Namespace) -> None:
    samples = getattr(args, "samples", 0)
    if samples < 0:
        raise ValueError(f"--samples must be 0 (no consistency baseline) or more, got {samples}")
    if args.n_boot < 1:
        raise ValueError(f"--n-boot must be 1 or more (bootstrap resamples), got {args.n_boot}")


def _open_detector(folder: str) -> Any:
    from howsure.cli import detector_folder
    from howsure.plugin.detector import Detector

    return Detector.load(detector_folder(folder))


def _same_dataset(a: str, b: Any) -> bool:
    """Same dataset name, or the same local file however its path is spelled."""
    if str(a) == str(b):
        return True
    pa, pb = Path(str(a)), Path(str(b))
    return pa.is_file() and pb.is_file() and pa.resolve() == pb.resolve()


def _collect_for(det: Any, model: Any, tokenizer: Any, items: list, **kw: Any) -> Any:
    """The answers and the detector's activations (one generation pass, disk-cached)."""
    from howsure.probes.collect import collect

    return collect(
        model,
        tokenizer,
        items,
        layers=[det.reader.layer],
        positions=[det.reader.position],
        max_new_tokens=det.reader.max_new_tokens,
        instruction=det.reader.instruction,
        **kw,
    )


def _describe(det: Any) -> str:
    training = det.info.get("training", {})
    return (
        f"layer {det.reader.layer}, {det.reader.position}, {training.get('probe', '?')} probe, "
        f"{training.get('calibrator', '?')} calibration, trained on "
        f"{training.get('dataset', '?')} ({training.get('n_train', '?')} train / "
        f"{training.get('n_calibration', '?')} calibration questions)"
    )


def cmd_eval(args: argparse.Namespace) -> int:
    """``howsure eval``: see :func:`add_parsers`."""
    import hashlib
    import time
    import warnings

    from howsure.cli import _out
    from howsure.eval import baselines
    from howsure.eval.baselines import costs_for, p_true, sampling_consistency
    from howsure.eval.compare import evaluate_detectors, methods_markdown
    from howsure.eval.report import write_report
    from howsure.probes.models import load_model
    from howsure.probes.qa_data import dataset_fingerprint, load_qa

    _check_counts(args)
    det = _open_detector(args.detector)
    split = args.split
    if split == "auto":
        trained_on = det.info.get("training", {}).get("dataset")
        split = "test" if _same_dataset(args.dataset, trained_on) else "all"
    items = load_qa(args.dataset, split=split, limit=args.limit)
    model, tokenizer = load_model(args.model, device=args.device, dtype=args.dtype)
    det.bind(model, tokenizer)
    t0 = time.perf_counter()
    coll = _collect_for(
        det,
        model,
        tokenizer,
        items,
        batch_size=args.batch_size,
        dataset=str(args.dataset),
        split=split,
        cache=not args.no_cache,
        progress=not args.quiet,
    )
    seconds = {"generation": time.perf_counter() - t0}
    questions = [it.question for it in coll.items]
    extra: dict = {}
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
            name, {**base_key, **settings}, compute, cache=not args.no_cache
        )
        extra[name], seconds[name] = scores, secs
        if hit:
            notes.append(f"{name} scores from the cache (computed earlier in {secs:.0f} s).")

    if not args.no_p_true:
        words = {"yes_words": list(baselines.YES_WORDS), "no_words": list(baselines.NO_WORDS)}
        try:
            expensive(
                "p_true",
                {"template": baselines.P_TRUE_TEMPLATE, **words},
                lambda: p_true(
                    model,
                    tokenizer,
                    questions,
                    coll.answers,
                    batch_size=args.batch_size,
                    progress=not args.quiet,
                    **words,
                ),
            )
        except baselines.NoSingleTokenError as err:  # a tokenizer without one-token "yes"
            notes.append(f"P(True) left out: {err}.")
            warnings.warn(notes[-1], RuntimeWarning, stacklevel=2)
    if args.samples:
        expensive(
            "consistency",
            {
                "k": args.samples,
                "seed": args.seed,
                "max_new_tokens": det.reader.max_new_tokens,
                "instruction": det.reader.instruction,
                "batch_size": args.batch_size,  # the draws depend on the batching
                "judge": "MatchJudge",
            },
            lambda: sampling_consistency(
                model,
                tokenizer,
                questions,
                coll.answers,
                k=args.samples,
                max_new_tokens=det.reader.max_new_tokens,
                seed=args.seed,
                batch_size=args.batch_size,
                progress=not args.quiet,
                instruction=det.reader.instruction,
            ),
        )
    costs = costs_for(max(args.samples, 1), methods=["probe", *extra])
    report = evaluate_detectors(
        {"probe": det},
        coll,
        n_boot=args.n_boot,
        seed=args.seed,
        costs=costs,
        extra_scores=extra,
    )
    scores = report.pop("scores")
    report["detector"] = str(args.detector)
    report["samples"] = args.samples
    report["seconds"] = seconds
    out = Path(args.out)
    summary = [
        f"Model: {det.fingerprint['name_or_path']}. Detector: {args.detector} ({_describe(det)}).",
        f"Dataset: {args.dataset}, split {split}: {len(coll)} questions, the model answered "
        f"{report['accuracy']:.1%} correctly.",
        "Time: " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()) + ".",
        *notes,
    ]
    raw = det.probe.confidence(coll.features(det.reader.layer, det.reader.position))
    files = write_report(
        out,
        metrics=report,
        scores=scores,
        collection=coll,
        uncalibrated=raw,
        sweep=det.info.get("sweep"),
        title=f"howsure evaluation: {args.dataset} ({split})",
        summary=summary,
    )
    _out("\n".join(summary))
    _out()
    _out(methods_markdown(report["methods"]))
    _out()
    _out(f"wrote {out}/: " + ", ".join(p.name for p in files))
    return 0


def cmd_transfer(args: argparse.Namespace) -> int:
    """``howsure transfer``: see :func:`add_parsers`."""
    from howsure.cli import _out
    from howsure.eval.transfer import heldout_row, heldout_table
    from howsure.probes.models import load_model
    from howsure.probes.qa_data import load_qa

    _check_counts(args)
    det = _open_detector(args.detector)
    source = det.info.get("training", {}).get("dataset")
    parts: list[tuple[str, str]] = []
    if source is not None:
        parts.append((str(source), "test"))
    parts += [(str(d), "all") for d in args.to if not _same_dataset(d, source)]
    items = {p: load_qa(p[0], split=p[1], limit=args.limit) for p in parts}  # errors first
    model, tokenizer = load_model(args.model, device=args.device, dtype=args.dtype)
    det.bind(model, tokenizer)
    rows = []
    in_dist = float("nan")
    for (name, split), its in items.items():
        coll = _collect_for(
            det,
            model,
            tokenizer,
            its,
            batch_size=args.batch_size,
            dataset=name,
            split=split,
            progress=not args.quiet,
        )
        scores = det.score_features(coll.features(det.reader.layer, det.reader.position))
        row = heldout_row(
            scores, coll, label=f"dataset {name!r}", n_boot=args.n_boot, seed=args.seed
        )
        if split == "test" and _same_dataset(name, source):
            in_dist = row["probe_auroc"]
        rows.append({"dataset": f"{name} ({split})", "split": split, **row})
    for r in rows:
        r["in_distribution_auroc"] = in_dist
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = {"detector": str(args.detector), "trained_on": source, "datasets": rows}
    (out / "transfer.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    text = "\n".join(
        [
            f"Transfer: detector {args.detector} ({_describe(det)}); the first row is its own "
            "dataset's test split, the others every row of a dataset it never saw",
            "",
            heldout_table(rows, key="dataset").markdown(),
        ]
    )
    (out / "transfer.md").write_text(text + "\n", encoding="utf-8")
    _out(f"{text}\n\nwrote {out}/transfer.json, {out}/transfer.md")
    return 0
