"""The expensive baselines against the probe on the built-in test split.

Loads the main job's detector and the test split's collection (cached by `howsure
train`), computes P(True) (one extra forward pass per question) and sampling consistency
(k sampled answers per question), and compares every method on the same answers with
bootstrap 95% intervals and their cost in forward passes per question.

    HOWSURE_CACHE=... .venv/bin/python bench/baselines.py [--detector DIR] [--k 5] [--limit N]

Writes ``bench/results/baselines.json`` and ``baselines.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from howsure.eval.baselines import costs_for, p_true, sampling_consistency
from howsure.eval.compare import baseline_scores, compare_methods, methods_markdown
from howsure.plugin.detector import Detector
from howsure.plugin.train import collect_splits
from howsure.probes.models import load_model

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detector", default="howsure-out/train/detector")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    model, tok = load_model()
    det = Detector.load(args.detector, model=model, tokenizer=tok)
    test = collect_splits(model, tok, splits=["test"], limit=args.limit)["test"]
    questions = [it.question for it in test.items]
    t0 = time.perf_counter()
    pt = p_true(model, tok, questions, test.answers)
    t1 = time.perf_counter()
    cons = sampling_consistency(model, tok, questions, test.answers, k=args.k)
    t2 = time.perf_counter()
    scores = {
        "probe": det.score_features(test.features(det.reader.layer, det.reader.position)),
        **baseline_scores(test),
        "p_true": pt,
        "consistency": cons,
    }
    y = test.labels.astype(int)
    topics = [it.topic for it in test.items]
    res = compare_methods(scores, y, topics, costs=costs_for(args.k, methods=scores))
    out = {
        "n": len(test),
        "accuracy": float(y.mean()),
        "k": args.k,
        "seconds": {"p_true": t1 - t0, "consistency": t2 - t1},
        "methods": res,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "baselines.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = [
        methods_markdown(res),
        "",
        "| method | forward passes per question |",
        "|---|---:|",
        *(f"| {m} | {r['forward_passes_per_question']:g} |" for m, r in res.items()),
        "",
        f"n = {len(test)} test questions; P(True) took {t1 - t0:.0f} s, "
        f"consistency (k={args.k}) {t2 - t1:.0f} s.",
    ]
    (RESULTS / "baselines.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
