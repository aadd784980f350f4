"""``howsure eval`` and ``howsure transfer``: reports on how far a detector can be trusted.

The work is :mod:`howsure.eval.evaluate`'s; this module parses flags and prints.
"""

from __future__ import annotations

import argparse
from typing import Any

from howsure.cli.common import (
    add_dataset_args,
    add_detector_arg,
    add_model_args,
    add_no_gold_arg,
    add_report_args,
    detector_folder,
    detector_label,
    dtype_policy,
    model_of,
    no_gold,
    out,
)

__all__ = ["add_parsers"]

EVAL_SPLITS = ("auto", "train", "calibration", "test", "all")


def add_parsers(sub: Any) -> None:
    """Add the ``eval`` and ``transfer`` subcommands to the CLI's subparsers."""
    e = sub.add_parser(
        "eval",
        help="evaluation report: the detector against the baselines, with plots",
        description="Answer the dataset's questions greedily (cached), score each answer "
        "with the detector and with every baseline (token log-probabilities and entropy "
        "from the same pass; P(True) and sampling consistency at their extra cost), and "
        "write report.html (self-contained), report.md, metrics.json and the plots to --out. "
        "Consistency samples --samples answers per question (default 5): each costs a "
        "generation, so --samples 0 is much faster.",
    )
    add_model_args(e)
    add_detector_arg(e)
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
        "one row per dataset (AUROC with 95% interval, best baseline, ECE, mean "
        "confidence) and write transfer.json and transfer.md to --out.",
    )
    add_model_args(t)
    add_detector_arg(t)
    t.add_argument(
        "--to",
        nargs="+",
        required=True,
        metavar="DATASET",
        help="datasets to evaluate on: local .jsonl/.json/.csv/.parquet files or hub names",
    )
    t.add_argument("--limit", type=int, default=None, help="at most N questions per dataset")
    t.add_argument("--batch-size", type=int, default=16, help="questions per batch (default 16)")
    add_no_gold_arg(t)
    t.add_argument("--out", default="howsure-out/transfer", help="output folder")
    add_report_args(t, n_boot=1000)
    t.set_defaults(func=cmd_transfer)


def _open_detector(args: argparse.Namespace) -> Any:
    from howsure.plugin.detector import Detector

    folder = detector_folder(args.detector, model=args.model)
    return Detector.load(folder, on_dtype_mismatch=dtype_policy(args))


def cmd_eval(args: argparse.Namespace) -> int:
    """``howsure eval``: see :func:`add_parsers`."""
    from howsure.eval.compare import methods_markdown
    from howsure.eval.evaluate import plan_eval, run_eval, write_eval_report

    det = _open_detector(args)
    split, items = plan_eval(
        det, args.dataset, split=args.split, limit=args.limit, on_no_gold=no_gold(args)
    )
    model, tokenizer = model_of(args)
    run = run_eval(
        det,
        model,
        tokenizer,
        items,
        dataset=args.dataset,
        split=split,
        samples=args.samples,
        p_true=not args.no_p_true,
        batch_size=args.batch_size,
        n_boot=args.n_boot,
        seed=args.seed,
        cache=not args.no_cache,
        progress=not args.quiet,
    )
    summary, files = write_eval_report(
        run, args.out, det=det, detector_path=detector_label(args), dataset=args.dataset
    )
    out("\n".join(summary))
    out()
    out(methods_markdown(run.metrics["methods"]))
    out()
    out(f"wrote {args.out}/: " + ", ".join(p.name for p in files))
    return 0


def cmd_transfer(args: argparse.Namespace) -> int:
    """``howsure transfer``: see :func:`add_parsers`."""
    from howsure.eval.evaluate import plan_transfer, run_transfer, write_transfer_report

    det = _open_detector(args)
    parts = plan_transfer(det, args.to, limit=args.limit, on_no_gold=no_gold(args))  # errors first
    model, tokenizer = model_of(args)
    rows = run_transfer(
        det,
        model,
        tokenizer,
        parts,
        batch_size=args.batch_size,
        n_boot=args.n_boot,
        seed=args.seed,
        progress=not args.quiet,
    )
    text = write_transfer_report(rows, args.out, det=det, detector_path=detector_label(args))
    out(f"{text}\n\nwrote {args.out}/transfer.json, {args.out}/transfer.md")
    return 0
