"""``howsure freeform``: chat-style answers, their sentence detector, and held-out reports."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from howsure.cli.common import (
    add_dataset_args,
    add_detector_arg,
    add_model_args,
    add_report_args,
    detector_folder,
    layers_arg,
    model_of,
    no_gold,
    out,
    read_detector,
)

__all__ = ["add_parsers"]


def add_parsers(sub: Any) -> None:
    """Add ``freeform`` to the CLI's subparsers."""
    ff = sub.add_parser(
        "freeform",
        help="chat-style answers: fit the sentence detector and report held-out sources",
        description="Send --per-source questions of each source and split of --dataset as "
        "people send "
        "them (the chat styles of howsure.probes.styles: the question as given, with a "
        "system prompt, as a request, with chatter, after an earlier exchange, and the "
        "short instruction), answers to EOS or --max-new-tokens, judged by the long-answer "
        "judge; collect each answer's sentences (cached). Report leave one source out for "
        "the answer confidence (the --detector's recipe) and for sentence confidences, "
        "each against the best single-pass baseline on the same answers or sentences; fit "
        "the sentence detector on the rows outside the test split and save the detector "
        "with it to --out/detector. Writes freeform.json and freeform.md.",
    )
    add_model_args(ff)
    add_dataset_args(ff, limit_help="with --with-short: at most N short-style questions per split")
    ff.add_argument(
        "--per-source",
        type=int,
        default=24,
        help="questions per source and split (default 24: 72 per source; the same rows as "
        "howsure train --chat-per-source, one cache entry)",
    )
    ff.add_argument(
        "--max-new-tokens", type=int, default=256, help="answer length limit (default 256)"
    )
    ff.add_argument(
        "--layers",
        type=layers_arg,
        default="all",
        help="candidate layers of the sentence detector: 'all' (default) or e.g. 12,16,20",
    )
    ff.add_argument(
        "--with-short",
        action="store_true",
        help="also fit each fold on the other sources' short-style rows (howsure train's "
        "splits, cached) and report the held-out source's short-style rows too: one "
        "recipe for both styles",
    )
    ff.add_argument(
        "--short-splits",
        default="train,calibration,test",
        help="with --with-short: the short-style splits to collect (default all three); "
        "the sentence detector's answer-probe candidate fits on the train split",
    )
    ff.add_argument("--out", default="howsure-out/freeform", help="output folder")
    add_detector_arg(ff, what="detector whose recipe to evaluate and to add sentences to")
    add_report_args(ff, n_boot=1000)
    ff.set_defaults(func=cmd_freeform)


def cmd_freeform(args: argparse.Namespace) -> int:
    """``howsure freeform``: see :func:`add_parsers`."""
    import numpy as np

    from howsure.eval.freeform import chat_loso, sentence_loso
    from howsure.eval.heldout import heldout_markdown
    from howsure.plugin.rows import collect_chat_splits, collect_splits
    from howsure.plugin.sentences import answer_probe_rows, attach_sentence_detector
    from howsure.probes.collect import concat
    from howsure.probes.positions import resolve_layers
    from howsure.probes.styles import STYLES
    from howsure.qa.load import load_qa

    if args.per_source < 1:
        raise ValueError(f"--per-source must be >= 1, got {args.per_source}")
    sources = sorted({it.source or "" for it in load_qa(args.dataset, on_no_gold=no_gold(args))})
    if len(sources) < 2 or "" in sources:
        raise ValueError(
            f"--dataset {args.dataset} needs a 'source' on every row and at least 2 sources "
            f"for leave one source out; found {sources}. Use --dataset mix"
        )
    folder = detector_folder(args.detector, model=args.model)
    det = read_detector(folder, args)  # a broken detector is said before the model loads
    model, tokenizer = model_of(args)
    det.bind(model, tokenizer)
    # howsure train --chat-per-source collects the same rows (one cache entry serves both)
    chat = collect_chat_splits(
        model,
        tokenizer,
        dataset=args.dataset,
        per_source=args.per_source,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        progress=not args.quiet,
        on_no_gold=no_gold(args),
        drop_refusals=False,
    )
    if chat is None:
        return 0  # another process of a torchrun / accelerate launch reports
    coll = concat(list(chat.values()))
    training = det.info.get("training", {})
    recipe = {
        "layer": det.reader.layer,
        "position": det.reader.position,
        "C": float(training.get("C", 0.01)),
        "inputs": tuple(training.get("inputs", det.inputs)),
    }
    kw = {"n_boot": args.n_boot, "seed": args.seed, "progress": not args.quiet}
    short = None
    if args.with_short:
        splits = collect_splits(
            model,
            tokenizer,
            dataset=args.dataset,
            splits=tuple(s.strip() for s in args.short_splits.split(",") if s.strip()),
            limit=args.limit,
            layers=[det.reader.layer],
            positions=[det.reader.position],
            **det.qa_style,
            batch_size=args.batch_size,
            progress=not args.quiet,
            on_no_gold=no_gold(args),
        )
        short = concat([c for c in splits.values() if len(c)])
    answers = chat_loso(coll, short=short, **recipe, **kw)
    short_train = None
    if short is not None:
        short_train = short.subset(np.asarray([it.split == "train" for it in short.items]))
    probe_rows = answer_probe_rows(det, short_train)
    layers = resolve_layers(model, args.layers)
    sentences = sentence_loso(coll, layers=layers, **probe_rows, **kw)
    sent_det = attach_sentence_detector(
        det, coll, short_train=short_train, layers=layers, seed=args.seed
    ).sentences
    dest = Path(args.out)
    det.save(dest / "detector")
    style = np.asarray(coll.extras["style"])
    styles = {
        s: {
            "n": int((style == s).sum()),
            "accuracy": float(coll.labels[style == s].mean()),
            "mean_answer_tokens": float(coll.extras["n_answer_tokens"][style == s].mean()),
            "truncated": float(coll.extras["truncated"][style == s].mean()),
        }
        for s in STYLES
        if (style == s).any()
    }
    report = {
        "dataset": str(args.dataset),
        "detector": str(folder),
        "per_source": args.per_source,
        "max_new_tokens": args.max_new_tokens,
        "n": len(coll),
        "styles": styles,
        "recipe": {**recipe, "inputs": list(recipe["inputs"])},
        "answers": answers,
        "sentences": sentences,
        "sentence_detector": sent_det.info["training"],
    }
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "freeform.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    style_rows = "\n".join(
        f"| {s} | {v['n']} | {v['accuracy']:.1%} | {v['mean_answer_tokens']:.0f} | "
        f"{v['truncated']:.0%} |"
        for s, v in styles.items()
    )
    text = "\n".join(
        [
            f"Free-form answers: {len(coll)} questions of {args.dataset} ({args.per_source} per "
            f"source and split), answers to EOS or {args.max_new_tokens} tokens, judged by the "
            "long-answer judge.",
            "",
            "| style | n | accuracy | mean answer tokens | cut by the limit |",
            "|---|---:|---:|---:|---:|",
            style_rows,
            "",
            f"Answer confidence, leave one source out on chat-style answers (recipe of {folder}: "
            f"layer {recipe['layer']}, {recipe['position']}, C {recipe['C']:g}; refusals left "
            "out and counted in `abstained`):",
            "",
            heldout_markdown(answers),
            "",
            *(
                [
                    "The same folds (fitted on short-style and chat-style rows of the other "
                    "sources), scored on the held-out source's short-style rows:",
                    "",
                    heldout_markdown([r["short"] for r in answers]),
                    "",
                ]
                if short is not None
                else []
            ),
            "Sentence confidence, leave one source out on the sentences that state an answer "
            "(the probe chosen on the fitting sources' sentences by grouped AUROC: one fitted "
            "on the sentences, its layer and C chosen too, or, with --with-short, the answer "
            "probe fitted on the fitting sources' short-style train rows; per fold: "
            + ", ".join(f"{r['group']} {r['probe_from']} L{r['layer']}" for r in sentences)
            + "):",
            "",
            heldout_markdown(sentences),
            "",
            f"Sentence detector (rows outside the test split): probe from "
            f"{sent_det.info['training']['probe_from']}, layer {sent_det.reader.layer}, "
            f"{sent_det.info['training']['n_train']} sentences; saved with the detector in "
            f"{dest / 'detector'}",
        ]
    )
    (dest / "freeform.md").write_text(text + "\n", encoding="utf-8")
    out(f"{text}\n\nwrote {dest}/freeform.json, {dest}/freeform.md")
    return 0
