"""Per-topic AUROC of the probe against the baselines, cross-validated on train + calibration.

The test split has 34-136 questions a topic, so a per-topic AUROC there moves by ±0.1 from
sampling alone. This bench pools the train and calibration splits (2,329 questions,
126-408 a topic), scores every question out of fold (5-fold stratified, two shuffles,
averaged), and compares the probe with each topic's best single-pass baseline by a paired
bootstrap. The test split is not touched. Reads the collection cache of a `howsure train`
run:

    HOWSURE_CACHE=... .venv/bin/python bench/topic_cv.py [--detector DIR | --layer L]

The layer and the answer settings (instruction, ``max_new_tokens``) are the detector's
(default ``howsure-out/train/detector``, the main job's); ``--layer`` picks another
layer. The sweep chose that layer and position on the train split, which is part of
the pool here, so the probe's margins lean slightly in its favour.

Writes ``bench/results/topic_cv.md`` and ``topic_cv.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from howsure.calibration.ranking import auroc, paired_auroc_difference
from howsure.plugin.rows import collect_splits
from howsure.probes.linear import LogisticProbe
from howsure.probes.models import load_model
from howsure.probes.prompts import DEFAULT_INSTRUCTION

RESULTS = Path(__file__).parent / "results"
POSITIONS = ("mean_answer", "mean_last_answer")
SEEDS = (0, 1)


def out_of_fold(X: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Log-odds of a LogisticProbe fitted on the other four folds, for every row."""
    out = np.zeros(len(y))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    with threadpool_limits(limits=1, user_api="blas"):
        for fit_rows, held_out in folds.split(X, y):
            probe = LogisticProbe(random_state=seed).fit(X[fit_rows], y[fit_rows])
            out[held_out] = probe.decision_function(X[held_out])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default="howsure-out/train/detector")
    parser.add_argument("--layer", type=int, default=None, help="default: the detector's")
    args = parser.parse_args()
    config = Path(args.detector) / "config.json"
    reader = json.loads(config.read_text(encoding="utf-8"))["reader"] if config.is_file() else {}
    if args.layer is None:
        if not reader:
            parser.error(f"no detector at {args.detector}: run `howsure train`, or give --layer")
        args.layer = int(reader["layer"])
    t0 = time.perf_counter()
    model, tok = load_model()
    colls = collect_splits(
        model,
        tok,
        dataset="builtin",
        splits=("train", "calibration"),
        layers=[args.layer],
        positions=list(POSITIONS),
        max_new_tokens=int(reader.get("max_new_tokens", 32)),
        instruction=reader.get("instruction", DEFAULT_INSTRUCTION),
        progress=False,
    )
    parts = [colls["train"], colls["calibration"]]
    y = np.concatenate([c.labels for c in parts]).astype(int)
    topics = np.array([it.topic for c in parts for it in c.items])

    def extra(name: str) -> np.ndarray:
        return np.concatenate([c.extras[name] for c in parts]).astype(float)

    scores = {
        f"probe_{pos}": np.mean(
            [
                out_of_fold(np.concatenate([c.features(args.layer, pos) for c in parts]), y, s)
                for s in SEEDS
            ],
            axis=0,
        )
        for pos in POSITIONS
    }
    baselines = {
        "logprob_mean": extra("logprob_mean"),
        "logprob_min": extra("logprob_min"),
        "entropy": -extra("entropy_mean"),
    }
    rows = []
    for topic in sorted(set(topics)):
        m = topics == topic
        row = {"topic": topic, "n": int(m.sum()), "accuracy": float(y[m].mean())}
        row |= {k: auroc(v[m], y[m]) for k, v in {**scores, **baselines}.items()}
        best = max(baselines, key=lambda k: row[k])
        row["best_baseline"] = best
        for pos in POSITIONS:
            d, lo, hi = paired_auroc_difference(scores[f"probe_{pos}"][m], baselines[best][m], y[m])
            row[f"margin_{pos}"] = [d, lo, hi]
        rows.append(row)
    overall = {k: auroc(v, y) for k, v in {**scores, **baselines}.items()}

    RESULTS.mkdir(exist_ok=True)
    payload = {
        "layer": args.layer,
        "n": len(y),
        "folds": 5,
        "seeds": list(SEEDS),
        "overall": overall,
        "topics": rows,
        "seconds": time.perf_counter() - t0,
    }
    (RESULTS / "topic_cv.json").write_text(json.dumps(payload, indent=2) + "\n")
    names = [*scores, *baselines]
    lines = [
        f"Out-of-fold AUROC on train + calibration ({len(y)} questions, 5 folds x "
        f"{len(SEEDS)} shuffles), layer {args.layer}; the test split is not used.",
        "",
        "| topic | n | accuracy | "
        + " | ".join(names)
        + " | best baseline | "
        + " | ".join(f"{p} − best [95% CI]" for p in POSITIONS)
        + " |",
        "|---|---:|---:|" + "---:|" * len(names) + "---|" + "---|" * len(POSITIONS),
    ]
    for r in rows:
        margins = ["{:+.3f} [{:+.3f}, {:+.3f}]".format(*r[f"margin_{p}"]) for p in POSITIONS]
        lines.append(
            f"| {r['topic']} | {r['n']} | {r['accuracy']:.1%} | "
            + " | ".join(f"{r[k]:.3f}" for k in names)
            + f" | {r['best_baseline']} | "
            + " | ".join(margins)
            + " |"
        )
    lines.append(
        "| overall | "
        + f"{len(y)} | {y.mean():.1%} | "
        + " | ".join(f"{overall[k]:.3f}" for k in names)
        + " | | "
        + " | ".join("" for _ in POSITIONS)
        + " |"
    )
    (RESULTS / "topic_cv.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
