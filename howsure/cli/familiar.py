"""``howsure familiarity``: does the detector's familiarity flag find unlike questions?"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from howsure.cli.common import (
    add_detector_arg,
    add_model_args,
    add_report_args,
    detector_folder,
    model_of,
    read_detector,
)

__all__ = ["add_parsers", "cmd_familiarity"]


def add_parsers(sub: Any) -> None:
    """Add ``familiarity`` to the CLI's subparsers."""
    p = sub.add_parser(
        "familiarity",
        help="measure the familiarity flag: held-out kinds and sources against in-distribution",
        description="Send the --dataset's test questions (in distribution), the held-out kinds "
        "(code, 14 other languages, arithmetic in new phrasings, instructions, small talk) "
        "and each source of the dataset held out in turn, as the --detector's reader sends "
        "them (one cached prefill each, no answer), and report per group the AUROC of "
        "telling it from the in-distribution questions by 1 - familiarity (95%% bootstrap "
        "interval) and the share flagged unfamiliar (95%% Wilson interval). The detector's "
        "familiarity model must have been fitted on the dataset's train and calibration "
        "questions (`howsure train --dataset` it). Writes familiarity.json and "
        "familiarity.md to --out.",
    )
    add_model_args(p)
    p.add_argument(
        "--dataset",
        default="mix",
        help="the detector's training dataset, with train / calibration / test splits "
        "(default mix)",
    )
    p.add_argument("--batch-size", type=int, default=16, help="prompts per forward pass")
    p.add_argument("--out", default="howsure-out/familiarity", help="output folder")
    add_detector_arg(p)
    add_report_args(p, n_boot=1000)
    p.set_defaults(func=cmd_familiarity)


def cmd_familiarity(args: argparse.Namespace) -> int:
    """``howsure familiarity``: see :func:`add_parsers`."""
    from howsure.eval.familiarity import familiarity_markdown, familiarity_report
    from howsure.qa.load import load_qa

    load_qa(args.dataset, limit=1)  # a bad dataset fails before the model loads
    folder = detector_folder(args.detector, model=args.model)
    det = read_detector(folder, args)
    if det.familiarity is None:
        raise ValueError(
            f"the detector in {folder} has no familiarity model (saved by an older howsure?); "
            "retrain it with `howsure train` for one"
        )
    model, tokenizer = model_of(args)
    det.bind(model, tokenizer)
    report = familiarity_report(
        det,
        model,
        tokenizer,
        dataset=args.dataset,
        n_boot=args.n_boot,
        seed=args.seed,
        batch_size=args.batch_size,
        progress=not args.quiet,
    )
    report["detector"] = str(folder)
    dest = Path(args.out)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "familiarity.json").write_text(json.dumps(report, indent=2) + "\n")
    text = familiarity_markdown(report)
    (dest / "familiarity.md").write_text(text + "\n")
    print(text)
    print(f"\nwrote {dest / 'familiarity.json'}, {dest / 'familiarity.md'}")
    return 0
