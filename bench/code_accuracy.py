"""The embedded model on the code tasks: pass rate per family and kind, and each run's
outcome (passed, failed, error, timeout, refused), from the same cached collection as
``howsure train --code code`` (the shipped detector's settings: answers up to 256 tokens,
every layer read):

    .venv/bin/python bench/code_accuracy.py               # the shipped code tasks
    .venv/bin/python bench/code_accuracy.py --humaneval   # also HumanEval (164 answers)

Writes ``bench/results/code_accuracy.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from howsure.plugin.rows import collect_code_splits
from howsure.probes.collect import concat
from howsure.probes.models import load_model
from howsure.probes.positions import POSITIONS

RESULTS = Path(__file__).parent / "results"


def table(coll) -> tuple[dict, list[str]]:
    y = np.asarray(coll.labels, dtype=bool)
    topics = np.array([it.topic for it in coll.items])
    outcome = np.array([o.split(":", 1)[0] for o in coll.extras["code_outcome"]])
    rows, lines = {}, []
    lines.append("| family | n | right | pass rate | failed | error | timeout | refused |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for topic in [*sorted(set(topics.tolist())), "overall"]:
        m = np.ones(len(y), bool) if topic == "overall" else topics == topic
        counts = Counter(outcome[m].tolist())
        rows[topic] = {"n": int(m.sum()), "right": int(y[m].sum()), "accuracy": float(y[m].mean())}
        rows[topic] |= {k: counts.get(k, 0) for k in ("failed", "error", "timeout", "refused")}
        name = f"**{topic}**" if topic == "overall" else topic
        r = rows[topic]
        lines.append(
            f"| {name} | {r['n']} | {r['right']} | {r['accuracy']:.0%} | {r['failed']} | "
            f"{r['error']} | {r['timeout']} | {r['refused']} |"
        )
    return rows, lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--humaneval", action="store_true")
    args = parser.parse_args()
    model, tok = load_model()
    positions = ["last_prompt", *POSITIONS]
    report, text = {}, []
    for name in ["code", *(["humaneval"] if args.humaneval else [])]:
        colls = collect_code_splits(model, tok, datasets=(name,), positions=positions)
        everything = concat(list(colls.values()))
        rows, lines = table(everything)
        report[name] = rows
        text += [f"### `{name}` (all splits, {len(everything)} answers)", "", *lines, ""]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "code_accuracy.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "code_accuracy.md").write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
