"""``howsure loto`` and ``howsure recalibrate``: confidence on questions never seen."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from howsure.cli.common import (
    add_answer_length_arg,
    add_dataset_args,
    add_detector_arg,
    add_model_args,
    add_report_args,
    detector_folder,
    model_of,
    no_gold,
    out,
    read_detector,
)

__all__ = ["add_parsers"]


def add_parsers(sub: Any) -> None:
    """Add ``loto`` and ``recalibrate`` to the CLI's subparsers."""
    lo = sub.add_parser(
        "loto",
        help="leave one source (or topic) out: the detector on questions it never saw",
        description="Collect the splits (cached, as `howsure train` does); for each source "
        "(--by source) or topic (--by topic, optionally only the topics of --within SOURCE), "
        "fit the --detector's recipe (layer, position, regularisation, stacked inputs, "
        "grouped out-of-fold calibration) on every other row, and score every row of the "
        "held-out group against its best single-pass baseline: AUROC with the paired 95% "
        "interval of the margin, ECE with its noise floor, Brier skill against the group's "
        "own base rate, mean confidence against accuracy, familiarity; then recalibrate on "
        "50/100/200 labelled rows of the group and report the ECE on the rest. Writes "
        "loto.json and loto.md to --out.",
    )
    add_model_args(lo)
    add_dataset_args(lo, limit_help="at most N questions per split")
    add_answer_length_arg(lo)
    lo.add_argument("--out", default="howsure-out/loto", help="output folder")
    add_detector_arg(lo, what="detector whose recipe to refit per fold")
    lo.add_argument(
        "--by",
        default="source",
        choices=["source", "topic"],
        help="hold out whole sources (default) or whole topics",
    )
    lo.add_argument(
        "--within",
        default=None,
        help="with --by topic: hold out only this source's topics, e.g. entityquestions",
    )
    lo.add_argument(
        "--code",
        action="append",
        default=None,
        metavar="DATASET",
        help="also the code tasks of DATASET (code, humaneval or a code-task file; "
        "repeatable), sent as written and labelled by running their tests, as one more "
        "source (default: the code datasets the detector was trained with; --code none "
        "for none)",
    )
    add_report_args(lo, n_boot=1000)
    lo.set_defaults(func=cmd_loto)

    re = sub.add_parser(
        "recalibrate",
        help="refit a detector's calibration on a few labelled rows of your own domain",
        description="Answer the labelled questions of --dataset (at least 20; 100-200 work "
        "well), judge the answers, and refit only the calibration of --detector on them: "
        "a two-parameter map on top of its confidence, so the probe, its layer and its "
        "familiarity model stay as they are. Writes the new detector to --out (default: "
        "next to the old one, with '-recalibrated' appended) and prints the ECE before (the "
        "detector as given, an earlier recalibration included) and after (in sample; hold "
        "rows out to measure it honestly, as `howsure loto` does); when the refit does not "
        "lower it, it says so: recalibrate on more rows, or keep the detector you have.",
    )
    add_model_args(re)
    add_dataset_args(re, limit_help="use at most N rows")
    re.add_argument(
        "--split",
        default="all",
        choices=["train", "calibration", "test", "all"],
        help="rows of this split only (default all)",
    )
    add_answer_length_arg(re)
    add_detector_arg(re, what="detector to recalibrate")
    re.add_argument(
        "--out",
        default=None,
        help="output folder (default: DETECTOR-recalibrated next to it; for the detector "
        "shipped with howsure, howsure-out/recalibrated/detector)",
    )
    re.add_argument("--quiet", action="store_true", help="no progress bar")
    re.set_defaults(func=cmd_recalibrate)


def cmd_loto(args: argparse.Namespace) -> int:
    """``howsure loto``: see :func:`add_parsers`."""
    from howsure.eval.heldout import heldout_markdown, leave_one_group_out
    from howsure.plugin.rows import (
        code_style,
        collect_code_splits,
        collect_splits,
        load_code_tasks,
    )
    from howsure.probes.collect import concat
    from howsure.probes.familiarity import familiarity_setting
    from howsure.qa.load import load_qa

    if args.within is not None and args.by != "topic":
        raise ValueError(f"--within {args.within} holds out topics: add --by topic")
    load_qa(args.dataset, limit=1, on_no_gold=no_gold(args))  # a bad dataset fails first
    for name in [c for c in args.code or () if c != "none"]:
        load_code_tasks(name)
    folder = detector_folder(args.detector, model=args.model)  # its recipe, refitted per fold
    det = read_detector(folder, args)  # a broken detector is said before the model loads
    model, tokenizer = model_of(args)
    det.bind(model, tokenizer)
    layer, position = det.reader.layer, det.reader.position
    training = det.info.get("training", {})
    code = (training.get("code") or {}).get("datasets", []) if args.code is None else args.code
    code = [c for c in code if c != "none"]
    colls = collect_splits(
        model,
        tokenizer,
        dataset=args.dataset,
        limit=args.limit,
        layers=det.layers,  # and the familiarity model's question states
        positions=[position, "last_prompt"],
        max_new_tokens=args.max_new_tokens or det.qa_style["max_new_tokens"],
        instruction=det.qa_style["instruction"],
        batch_size=args.batch_size,
        progress=not args.quiet,
        on_no_gold=no_gold(args),
    )
    if code:  # one more source: the code tasks, sent as the detector's code rows were
        style = code_style(det)
        coded = collect_code_splits(
            model,
            tokenizer,
            datasets=code,
            layers=det.layers,
            positions=[position, "last_prompt"],
            max_new_tokens=style["max_new_tokens"],
            batch_size=args.batch_size,
            progress=not args.quiet,
        )
        colls = {s: concat([colls[s], coded[s]]) for s in colls}
    recipe = {
        "layer": layer,
        "position": position,
        "C": float(training.get("C", 0.01)),
        "inputs": tuple(training.get("inputs", det.inputs)),
        "folds": training.get("folds", "auto"),
        "familiarity_setting": None
        if det.familiarity is None
        else familiarity_setting(det.familiarity, det.familiarity_layers),
    }
    rows = leave_one_group_out(
        colls,
        by=args.by,
        within=args.within,
        n_boot=args.n_boot,
        seed=args.seed,
        progress=not args.quiet,
        **recipe,
    )
    dest = Path(args.out)
    dest.mkdir(parents=True, exist_ok=True)
    what = f"{args.by}" + (f" of {args.within}" if args.within else "")
    report = {
        "dataset": str(args.dataset),
        "code": code,
        "detector": str(folder),
        "by": args.by,
        "within": args.within,
        "recipe": {**recipe, "inputs": list(recipe["inputs"])},
        "groups": rows,
    }
    (dest / "loto.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    text = "\n".join(
        [
            f"Leave one {what} out: dataset {args.dataset}"
            f"{' and code tasks of ' + ', '.join(code) if code else ''}, recipe of {folder} "
            f"(layer {layer}, "
            f"{position}, C {recipe['C']:g}, inputs {', '.join(recipe['inputs'])}); each "
            "group scored by a detector fitted without any of its rows",
            "",
            heldout_markdown(rows, key=args.by),
        ]
    )
    (dest / "loto.md").write_text(text + "\n", encoding="utf-8")
    out(f"{text}\n\nwrote {dest}/loto.json, {dest}/loto.md")
    return 0


def cmd_recalibrate(args: argparse.Namespace) -> int:
    """``howsure recalibrate``: see :func:`add_parsers`."""
    from howsure.plugin.defaults import shipped_detectors
    from howsure.plugin.recalibrate import check_recalibration_rows, recalibrate
    from howsure.probes.collect import collect
    from howsure.qa.load import load_qa

    folder = detector_folder(args.detector, model=args.model)
    items = load_qa(args.dataset, split=args.split, limit=args.limit, on_no_gold=no_gold(args))
    check_recalibration_rows(len(items), what=f"--dataset {args.dataset}")  # before the model
    dest = Path(args.out) if args.out else folder.with_name(folder.name + "-recalibrated")
    if args.out is None and folder.resolve() in {p.resolve() for p in shipped_detectors().values()}:
        dest = Path("howsure-out/recalibrated/detector")  # never write into the package
    det = read_detector(folder, args)  # a broken detector is said before the model loads
    model, tokenizer = model_of(args)
    det.bind(model, tokenizer)
    rows = collect(
        model,
        tokenizer,
        items,
        layers=[det.reader.layer],
        positions=[det.reader.position],
        max_new_tokens=args.max_new_tokens or det.qa_style["max_new_tokens"],
        instruction=det.qa_style["instruction"],
        batch_size=args.batch_size,
        dataset=str(args.dataset),
        split=args.split,
        progress=not args.quiet,
    )
    new = recalibrate(det, rows, dataset=args.dataset)
    new.save(dest)
    info = new.info["recalibration"]
    out(
        f"recalibrated {folder} on {info['n']} rows of {args.dataset} (model right on "
        f"{info['accuracy']:.1%}): mean confidence {info['mean_confidence_before']:.1%} -> "
        f"{info['mean_confidence_after']:.1%}, ECE {info['ece_before']:.3f} -> "
        f"{info['ece_after_in_sample']:.3f} (in sample"
        + ("" if info["improved"] else ", not lower: too few rows to do better")
        + f")\nwrote {dest}"
        + ("" if info["improved"] else f"; {folder} is unchanged, keep it if in doubt")
    )
    return 0
