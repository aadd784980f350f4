"""Do two detectors give the same scores on the same answers? (A refactoring check.)

Loads the cached collection of a dataset's split (no generation when the collection is
cached) and scores it with each detector folder given; prints the largest absolute
difference between the first and each other, and writes it to a JSON file::

    HOWSURE_CACHE=<cache> .venv/bin/python bench/same_scores.py OLD_DETECTOR NEW_DETECTOR \
        [--dataset builtin] [--split test] [--out bench/results/same_scores.json]

With ``--shipped NEW_DETECTOR`` the reference is the detector shipped in the package for
the model (what ``scripts/main.sh`` uses to say whether it re-created it). Exit code 1
when a difference exceeds --tol (default 1e-6).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from howsure.eval.evaluate import collect_for
from howsure.plugin.defaults import shipped_detector_for
from howsure.plugin.detector import Detector
from howsure.probes.models import load_model
from howsure.qa.judge import label_all
from howsure.qa.load import load_qa


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("detectors", nargs="*", help="detector folders; the first is the reference")
    p.add_argument("--shipped", default=None, help="compare this detector with the shipped one")
    p.add_argument("--limit", type=int, default=None, help="at most N questions")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--dataset", default="builtin")
    p.add_argument("--split", default="test")
    p.add_argument("--model", default=None)
    p.add_argument("--tol", type=float, default=1e-6)
    p.add_argument("--out", default=None, help="JSON file for the result")
    args = p.parse_args(argv)
    model, tokenizer = load_model(args.model, device=args.device, dtype=args.dtype)
    if args.shipped is not None:
        shipped = shipped_detector_for(model)
        if shipped is None:
            print(f"no detector ships for {args.model or 'the embedded model'}: nothing to compare")
            return 0
        args.detectors = [str(shipped), args.shipped]
    if len(args.detectors) < 2:
        p.error("give two or more detector folders, or --shipped DETECTOR")
    items = load_qa(args.dataset, split=args.split, limit=args.limit)
    dets = [Detector.load(d, model=model, tokenizer=tokenizer) for d in args.detectors]
    ref = dets[0]
    coll = collect_for(ref, model, tokenizer, items, dataset=args.dataset, split=args.split)
    relabelled = label_all(
        coll.answers,
        [it.answers for it in coll.items],
        questions=[it.question for it in coll.items],
    )
    scores = []
    for det in dets:
        c = (
            coll
            if det.reader == ref.reader
            else collect_for(det, model, tokenizer, items, dataset=args.dataset, split=args.split)
        )
        scores.append(det.assess_collection(c).confidence)
    diffs = [float(np.max(np.abs(s - scores[0]))) for s in scores[1:]]
    result = {
        "dataset": args.dataset,
        "split": args.split,
        "n": len(coll),
        "reference": str(args.detectors[0]),
        "compared": [str(d) for d in args.detectors[1:]],
        "max_abs_difference": diffs,
        "tolerance": args.tol,
        "labels_unchanged": bool(np.array_equal(relabelled, coll.labels)),
        "from_cache": bool(coll.meta.get("cached")),
    }
    ref_r, new_r = dets[0].reader, dets[-1].reader
    same = all(d <= args.tol for d in diffs)
    recipe = lambda d: (d.reader.layer, d.reader.position, d.info.get("training", {}).get("C"))  # noqa: E731
    result["same_recipe"] = all(recipe(d) == recipe(ref) for d in dets[1:])
    text = json.dumps(result, indent=2)
    print(text)
    print(
        f"{'MATCH' if same else 'DIFFERS'}: {args.detectors[-1]} against {args.detectors[0]}: "
        f"layer {new_r.layer}/{ref_r.layer}, {new_r.position}/{ref_r.position}, max |difference "
        f"in confidence| {max(diffs):.2g} on the {len(coll)} {args.split} answers of "
        f"{args.dataset}"
    )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0 if all(d <= args.tol for d in diffs) else 1


if __name__ == "__main__":
    sys.exit(main())
