"""Collect chat-style answers (answers to EOS or 256 tokens) with their sentences.

Takes ``--per-source`` questions of each source of the training mixture (a fixed hash
order, every split), sends each in one of the chat styles of
:mod:`howsure.probes.styles`, labels whole answers with the long-answer judge
(:class:`howsure.qa.longform.LongJudge`) and keeps each answer's sentences with their
features, in the collection cache. Prints where the collection is::

    .venv/bin/python bench/chat_collect.py --per-source 72 --out howsure-out/chat
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

from howsure.probes.collect import collect
from howsure.probes.models import load_model
from howsure.probes.styles import STYLES
from howsure.qa.load import load_qa
from howsure.qa.longform import LongJudge


def chat_items(per_source: int, *, dataset: str = "mix") -> list:
    """``per_source`` questions of each source, in a fixed hash order."""
    items = load_qa(dataset, split="all")
    by_source: dict[str, list] = {}
    for it in sorted(items, key=lambda it: hashlib.sha256(it.id.encode()).hexdigest()):
        by_source.setdefault(it.source or "unknown", []).append(it)
    return [it for src in sorted(by_source) for it in by_source[src][:per_source]]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-source", type=int, default=72)
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--layers", default="all")
    p.add_argument("--out", default="howsure-out/chat")
    args = p.parse_args(argv)
    model, tok = load_model(None, device="cpu")
    items = chat_items(args.per_source)
    layers = "all" if args.layers == "all" else [int(x) for x in args.layers.split(",")]
    t0 = time.perf_counter()
    coll = collect(
        model,
        tok,
        items,
        layers=layers,
        positions=("last_prompt", "mean_answer"),
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        judge=LongJudge(),
        dataset="mix-chat",
        styles=STYLES,
        sentences=True,
    )
    out = Path(args.out)
    coll.save(out / "collection")
    summary = {
        "n": len(coll),
        "seconds": round(time.perf_counter() - t0, 1),
        "accuracy": coll.accuracy,
        "sentences": len(coll.sentences),
        "truncated": float(coll.extras["truncated"].mean()),
        "mean_answer_tokens": float(coll.extras["n_answer_tokens"].mean()),
        "cached": coll.meta.get("cached"),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
