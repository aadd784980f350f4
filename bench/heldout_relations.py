"""Leave one EntityQuestions relation out, on more rows than the shipped mixture holds.

The mixture ships 60 rows per relation; at the embedded model's accuracy on them
(about 5%), that is three right answers a relation, too few for an AUROC or a Brier
skill. This bench adds ``--extra`` more rows per relation from the full
``../shared/qa/entityquestions.jsonl`` (rows not in the mixture, seed 0), used only to
*evaluate* (they take no part in fitting), and runs the leave-one-relation-out report of
``howsure loto --by topic --within entityquestions`` with the default detector's recipe.

    python bench/heldout_relations.py [--detector DIR] [--extra 140]

Writes ``bench/results/heldout_relations.{json,md}``. Skips (exit 0, a message) when the
shared data folder is absent.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "qa" / "entityquestions.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default=None, help="default: the shipped detector")
    parser.add_argument("--extra", type=int, default=140, help="extra rows per relation")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()
    if not SHARED.is_file():
        print(f"skipped: {SHARED} is absent (the shared QA data is not beside this clone)")
        return 0

    from howsure.eval.heldout import heldout_markdown, leave_one_group_out
    from howsure.plugin.defaults import shipped_detector_for
    from howsure.plugin.detector import Detector
    from howsure.plugin.rows import collect_splits
    from howsure.probes.collect import collect, concat
    from howsure.probes.models import load_model
    from howsure.qa.items import QAItem
    from howsure.qa.load import load_qa

    model, tok = load_model()
    folder = args.detector or shipped_detector_for(model)
    det = Detector.load(folder, model=model, tokenizer=tok)
    layer, position = det.reader.layer, det.reader.position
    shipped = {" ".join(it.question.lower().split()) for it in load_qa("mix")}
    rows = [json.loads(line) for line in SHARED.open(encoding="utf-8") if line.strip()]
    by_topic: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if " ".join(row["question"].lower().split()) not in shipped:
            by_topic[row["topic"]].append(row)
    rng = random.Random(0)
    extra = []
    for topic in sorted(by_topic):
        pool = by_topic[topic]
        rng.shuffle(pool)
        extra += [
            QAItem(
                id=f"eq-extra-{r['id']}",
                question=r["question"],
                answers=tuple(r["answers"]),
                topic=topic,
                split="test",
                source="entityquestions",
            )
            for r in pool[: args.extra]
        ]
    kw = dict(layers=[layer], positions=[position], **det.qa_style)
    colls = collect_splits(model, tok, dataset="mix", **kw)
    more = collect(model, tok, extra, dataset="entityquestions-extra", split="test", **kw)
    colls["test"] = concat([colls["test"], more])
    training = det.info["training"]
    rows_out = leave_one_group_out(
        colls,
        by="topic",
        within="entityquestions",
        layer=layer,
        position=position,
        C=float(training["C"]),
        inputs=tuple(training["inputs"]),
        n_boot=args.n_boot,
    )
    out = Path(args.out)
    report = {
        "detector": str(folder),
        "extra_rows_per_relation": args.extra,
        "n_extra": len(extra),
        "groups": rows_out,
    }
    (out / "heldout_relations.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    text = (
        f"Leave one EntityQuestions relation out: the shipped 60 rows per relation plus "
        f"{args.extra} more from the full set (evaluation only), recipe of the default "
        f"detector (layer {layer}, {position}).\n\n" + heldout_markdown(rows_out, key="relation")
    )
    (out / "heldout_relations.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
