"""Build the shipped training mixture ``qa/data/mix.jsonl`` from ``../shared/qa``.

The mixture is the built-in templated set plus samples of four public QA sets (TriviaQA,
EntityQuestions, FreebaseQA, Mintaka; licenses and attribution in ``qa/data/README.md``),
every row with a ``source`` and a ``topic``. Deterministic: the same inputs give the same
file, byte for byte.

    python scripts/build_mix.py [--shared ../shared/qa] [--out qa/data/mix.jsonl]

Sampling (seed 0): per source, per topic, a fixed number of rows; a question whose
normalised text is already in the mixture (FreebaseQA re-uses TriviaQA questions) is
skipped. Splits: the built-in rows keep theirs; the others get train / calibration /
test in the proportions 50 / 25 / 25, stratified by topic.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# rows per topic; EntityQuestions' 16 relations and Mintaka's 8 categories are topics
PER_TOPIC = {
    "builtin": 64,  # 11 topics -> 704 rows
    "triviaqa": 500,  # one topic, "general"
    "freebaseqa": 500,  # one topic, "general"
    "mintaka": 50,  # 8 categories -> 400 rows
    "entityquestions": 60,  # 16 relations -> 960 rows
}
SPLIT_SHARES = (("train", 2), ("calibration", 1), ("test", 1))
KEEP = ("id", "question", "answers", "topic", "source", "split")


def _norm(question: str) -> str:
    return " ".join("".join(c for c in question.lower() if c.isalnum() or c.isspace()).split())


def _read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def build(shared: Path) -> list[dict]:
    rng = random.Random(0)
    seen: set[str] = set()
    out: list[dict] = []
    builtin = _read(ROOT / "qa" / "data" / "builtin_qa.jsonl")
    for row in builtin:
        row["source"] = "builtin"
    sources = {"builtin": builtin}
    for name in ("triviaqa", "entityquestions", "freebaseqa", "mintaka"):
        sources[name] = _read(shared / f"{name}.jsonl")
    for name, rows in sources.items():
        by_topic: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            by_topic[row["topic"]].append(row)
        for topic in sorted(by_topic):
            pool = list(by_topic[topic])
            rng.shuffle(pool)
            picked = []
            for row in pool:
                key = _norm(row["question"])
                if key in seen:
                    continue
                seen.add(key)
                picked.append(row)
                if len(picked) == PER_TOPIC[name]:
                    break
            if name != "builtin":
                cycle = [s for s, share in SPLIT_SHARES for _ in range(share)]
                for i, row in enumerate(picked):
                    row["split"] = cycle[i % len(cycle)]
            out.extend({k: row[k] for k in KEEP} for row in picked)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(ROOT.parent / "shared" / "qa"))
    parser.add_argument("--out", default=str(ROOT / "qa" / "data" / "mix.jsonl"))
    args = parser.parse_args()
    rows = build(Path(args.shared))
    with open(args.out, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row["source"]] += 1
    print(f"{len(rows)} rows -> {args.out}: {dict(counts)}")


if __name__ == "__main__":
    main()
