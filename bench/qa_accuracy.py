"""The embedded model's accuracy on the built-in QA set, per topic and split.

Uses the same collection as `howsure train` (so it reads the cache after a train run):

    HOWSURE_CACHE=... .venv/bin/python bench/qa_accuracy.py

Writes ``bench/results/qa_accuracy.md`` (the README's table) and ``qa_accuracy.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from howsure.plugin.rows import collect_splits
from howsure.probes.models import load_model

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    model, tok = load_model()
    colls = collect_splits(model, tok, dataset="builtin", progress=True)
    topics = sorted({it.topic for c in colls.values() for it in c.items})
    rows, lines = {}, []
    lines.append("| topic | n | accuracy | train | calibration | test | easy | medium | hard |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    all_y, all_t, all_d = [], [], []
    for c in colls.values():
        all_y += c.labels.tolist()
        all_t += [it.topic for it in c.items]
        all_d += [it.difficulty for it in c.items]
    y, t, d = np.array(all_y), np.array(all_t), np.array(all_d)
    for topic in [*topics, "overall"]:
        m = np.ones_like(y, bool) if topic == "overall" else t == topic
        per_split = {
            s: float(c.labels[[it.topic == topic or topic == "overall" for it in c.items]].mean())
            for s, c in colls.items()
        }
        per_diff = {
            k: float(y[m & (d == k)].mean()) if (m & (d == k)).any() else float("nan")
            for k in ("easy", "medium", "hard")
        }
        rows[topic] = {"n": int(m.sum()), "accuracy": float(y[m].mean()), **per_split, **per_diff}
        name = f"**{topic}**" if topic == "overall" else topic
        cells = " | ".join(f"{v:.0%}" for v in [*per_split.values(), *per_diff.values()])
        lines.append(f"| {name} | {m.sum()} | {y[m].mean():.1%} | {cells} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "qa_accuracy.json").write_text(json.dumps(rows, indent=2) + "\n")
    (RESULTS / "qa_accuracy.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
