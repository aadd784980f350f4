"""Audit the long-answer judge against two independent readings by hand.

0. (To read more questions than a collection holds) answer new ones, chat styles only::

       .venv/bin/python bench/long_judge_audit.py collect --per-source 40 \
           --skip audit/read-before.jsonl --out audit/more

1. Export the answers to read (no verdict in the file, so the readers are not swayed)::

       .venv/bin/python bench/long_judge_audit.py export COLLECTION_DIR... \
           --out audit/answers.jsonl [--skip audit/read-before.jsonl]

   ``COLLECTION_DIR`` is a chat-style collection (``howsure train --chat-per-source`` and
   ``howsure freeform`` keep one per split in the cache; ``Collection.save`` writes one).
   Every chat-style answer (not the short style), at most ``--per-source`` per source;
   ``--skip`` leaves out the questions of an earlier sample.

2. Each reader writes one JSON line per answer: ``{"id": ..., "label": "correct" | "wrong"
   | "abstain"}`` (the rules read by hand: what does the answer claim is the answer to
   the question? a refusal or "I don't know" is an abstention).

3. Score the judge against the readings (the verdicts are recomputed from the answers
   file; several answers files are joined with ``cat``)::

       .venv/bin/python bench/long_judge_audit.py score audit/answers.jsonl \
           audit/reader1.jsonl audit/reader2.jsonl --out bench/results

   Writes ``long_judge_audit.json`` and ``.md``: per source, the readers' agreement, and
   where they agree, how often the judge differs (error rate, with a Wilson 95% interval)
   and how (wrong "right", wrong "wrong", abstentions missed or invented).
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

from howsure.probes.collect import Collection, concat
from howsure.qa.longform import judge_long


def _chat(coll: Collection, per_source: int) -> list[int]:
    style = np.asarray(coll.extras["style"])
    counts: Counter = Counter()
    rows = []
    for i, it in enumerate(coll.items):
        if style[i] == "short" or counts[it.source] >= per_source:
            continue
        counts[it.source] += 1
        rows.append(i)
    return rows


def _read_ids(path: str | None) -> set[str]:
    if not path:
        return set()
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return {json.loads(x)["id"] for x in lines if x.strip()}


def collect_more(args: argparse.Namespace) -> None:
    from howsure.probes.collect import collect
    from howsure.probes.models import load_model
    from howsure.probes.styles import STYLES, chat_items
    from howsure.qa.load import load_qa
    from howsure.qa.longform import LongJudge

    skip = _read_ids(args.skip)
    items = [it for it in load_qa(args.dataset) if it.id not in skip]
    chosen = chat_items(items, args.per_source)
    model, tokenizer = load_model(args.model)
    coll = collect(
        model,
        tokenizer,
        chosen,
        layers=[0],
        positions=["last_prompt"],
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        judge=LongJudge(),
        dataset=f"{args.dataset}-chat-audit",
        styles=[s for s in STYLES if s != "short"],
    )
    coll.save(args.out)
    print(f"wrote {args.out}: {len(coll)} answers")


def export(args: argparse.Namespace) -> None:
    skip = _read_ids(args.skip)  # answers already read: their questions are left out
    coll = concat([Collection.load(c) for c in args.collection])
    coll = coll.subset(np.asarray([it.id not in skip for it in coll.items]))
    dest = Path(args.answers)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("w", encoding="utf-8") as fh:
        for i in _chat(coll, args.per_source):
            it = coll.items[i]
            row = {
                "id": it.id,
                "source": it.source,
                "question": it.question,
                "golds": list(it.answers),
                "answer": coll.answers[i],
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {dest}")


def _wilson(k: int, n: int) -> list[float]:
    if n == 0:
        return [float("nan"), float("nan")]
    z, p = 1.96, k / n
    if not 0 <= p <= 1:
        raise ValueError(f"{k} of {n}")
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [max(0.0, mid - half), min(1.0, mid + half)]


def score(args: argparse.Namespace) -> None:
    answers = [json.loads(x) for x in Path(args.answers).read_text().splitlines() if x.strip()]
    readings = []
    for path in args.readings:
        rows = [json.loads(x) for x in Path(path).read_text().splitlines() if x.strip()]
        readings.append({r["id"]: r["label"] for r in rows})
    per: dict[str, Counter] = {}
    disagreements = []
    for a in answers:
        verdict = judge_long(a["answer"], a["golds"], question=a["question"]).label
        labels = [r.get(a["id"]) for r in readings]
        c = per.setdefault(a["source"], Counter())
        c["n"] += 1
        if None in labels:
            c["unread"] += 1
            continue
        if len(set(labels)) > 1:
            c["readers_disagree"] += 1
            disagreements.append({**a, "judge": verdict, "readings": labels})
            continue
        truth = labels[0]
        c["agreed"] += 1
        c[f"true_{truth}"] += 1
        c[f"verdict_{verdict}"] += 1
        if verdict != truth:
            c["errors"] += 1
            c[f"{verdict}_for_{truth}"] += 1
            disagreements.append({**a, "judge": verdict, "readings": labels})
    table = {}
    for source, c in sorted(per.items()):
        table[source] = {
            **dict(c),
            "reader_agreement": c["agreed"] / max(1, c["agreed"] + c["readers_disagree"]),
            "judge_error_rate": c["errors"] / max(1, c["agreed"]),
            "judge_error_ci95": _wilson(c["errors"], c["agreed"]),
        }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"answers": len(answers), "readers": len(readings), "sources": table}
    report["differences"] = disagreements
    (out / "long_judge_audit.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    lines = [
        "| source | answers read | readers agree | true right / wrong / abstain | judge error "
        "[95% CI] | wrong 'right' | wrong 'wrong' | abstention missed | abstention invented |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for source, t in table.items():
        lo, hi = t["judge_error_ci95"]
        missed = sum(t.get(f"{v}_for_abstain", 0) for v in ("correct", "wrong"))
        invented = sum(t.get(f"abstain_for_{v}", 0) for v in ("correct", "wrong"))
        lines.append(
            f"| {source} | {t['n']} | {t['reader_agreement']:.0%} | "
            f"{t.get('true_correct', 0)} / {t.get('true_wrong', 0)} / {t.get('true_abstain', 0)} "
            f"| {t['judge_error_rate']:.1%} [{lo:.1%}, {hi:.1%}] | "
            f"{t.get('correct_for_wrong', 0)} | {t.get('wrong_for_correct', 0)} | {missed} | "
            f"{invented} |"
        )
    (out / "long_judge_audit.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export")
    ex.add_argument("collection", nargs="+", help="collection folders (e.g. one per split)")
    ex.add_argument("--out", dest="answers", required=True, help="the answers file to write")
    ex.add_argument("--per-source", type=int, default=100)
    ex.add_argument("--skip", default=None, help="an answers file whose questions to leave out")
    ex.set_defaults(func=export)
    co = sub.add_parser("collect", help="chat-style answers to questions not yet read")
    co.add_argument("--dataset", default="mix")
    co.add_argument("--per-source", type=int, default=40)
    co.add_argument("--skip", default=None, help="an answers file whose questions to leave out")
    co.add_argument("--model", default=None)
    co.add_argument("--max-new-tokens", type=int, default=256)
    co.add_argument("--batch-size", type=int, default=16)
    co.add_argument("--out", required=True, help="the collection folder to write")
    co.set_defaults(func=collect_more)
    sc = sub.add_parser("score")
    sc.add_argument("answers")
    sc.add_argument("readings", nargs="+")
    sc.add_argument("--out", default="bench/results")
    sc.set_defaults(func=score)
    args = p.parse_args(argv)
    args.func(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
