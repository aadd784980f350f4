"""A short-style detector against one trained on both styles, on short and chat test rows.

Both detectors score the same held-out answers of the test split: the short-style rows
(question + the instruction, 32 tokens) that ``howsure train`` collected, and the
chat-style rows that ``howsure train --chat-per-source N`` collected (messages as people
send them, answers to EOS or 256 tokens, refusals left out). Both collections come from
the cache; nothing is generated when they are cached. Per style and detector: AUROC,
its margin over the best single-pass baseline on the same answers (paired bootstrap),
ECE with its noise floor, Brier skill; and the paired AUROC difference of the two
detectors::

    .venv/bin/python bench/styles_ab.py --mixed howsure-out/train-mixed/detector \
        [--short-only plugin/data/detectors/smollm2-135m-instruct] [--chat-per-source 24] \
        [--out bench/results/styles_ab]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from howsure.calibration.ranking import paired_auroc_difference
from howsure.eval.heldout import heldout_markdown, heldout_metrics
from howsure.plugin.defaults import shipped_detector_for
from howsure.plugin.detector import Detector
from howsure.plugin.rows import collect_chat_splits, collect_splits
from howsure.probes.models import load_model


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mixed", required=True, help="detector trained with --chat-per-source")
    p.add_argument("--short-only", default=None, help="default: the shipped detector")
    p.add_argument("--dataset", default="mix")
    p.add_argument("--chat-per-source", type=int, default=24)
    p.add_argument("--limit", type=int, default=None, help="as given to howsure train")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--out", default="bench/results/styles_ab")
    args = p.parse_args(argv)
    model, tokenizer = load_model()
    short_only = args.short_only or shipped_detector_for(model)
    dets = {
        "short-only": Detector.load(short_only, model=model, tokenizer=tokenizer),
        "both styles": Detector.load(args.mixed, model=model, tokenizer=tokenizer),
    }
    layers = sorted({d.reader.layer for d in dets.values()})
    positions = sorted({d.reader.position for d in dets.values()} | {"last_prompt"})
    mixed = dets["both styles"]
    short = collect_splits(
        model,
        tokenizer,
        dataset=args.dataset,
        splits=("test",),
        limit=args.limit,
        layers=layers,
        positions=positions,
        max_new_tokens=dets["short-only"].reader.max_new_tokens,
    )["test"]
    chat = collect_chat_splits(
        model,
        tokenizer,
        dataset=args.dataset,
        per_source=args.chat_per_source,
        splits=("test",),
        layers=layers,
        positions=positions,
        max_new_tokens=mixed.reader.max_new_tokens,
    )["test"]
    result, text = {}, []
    for style, held in (("short", short), ("chat", chat)):
        rows, found = [], {}
        for name, det in dets.items():
            found[name] = det.assess_collection(held)
            rows.append({"group": name} | heldout_metrics(found[name], held, n_boot=args.n_boot))
        diff, lo, hi = paired_auroc_difference(
            found["both styles"].confidence,
            found["short-only"].confidence,
            held.labels.astype(int),
            n_boot=args.n_boot,
        )
        result[style] = {"rows": rows, "auroc_difference": [diff, lo, hi]}
        text += [
            f"Test split, {style}-style rows ({len(held)} answers"
            + (f", {held.meta.get('abstained', 0)} refusals left out" if style == "chat" else "")
            + "):",
            "",
            heldout_markdown(rows, key="detector"),
            "",
            f"AUROC both styles - short-only: {diff:+.3f} [{lo:+.3f}, {hi:+.3f}] (paired)",
            "",
        ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {k: str(v) for k, v in vars(args).items()} | {"short_only": str(short_only)}
    (out / "styles_ab.json").write_text(
        json.dumps({"args": meta, "result": result}, indent=2), encoding="utf-8"
    )
    (out / "styles_ab.md").write_text("\n".join(text), encoding="utf-8")
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
