"""Leave one source out with *every* choice made without the held-out source.

``howsure loto --by source`` refits the default detector's recipe per held-out source,
but the recipe's layer, position and C were chosen on the train split of all five
sources. Here each fold makes those choices again, as ``howsure train`` does, on the
other four sources only (grouped sweep of every layer and position on their train rows,
then C by grouped cross-validation), fits the stacked detector on their train +
calibration rows, and scores every row of the held-out source.

    python bench/nested_loso.py

Writes ``bench/results/nested_loso.{json,md}``. Needs the mixture's collection with every
layer (``bash scripts/main.sh`` makes it; cached).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    from howsure.eval.heldout import heldout_markdown, heldout_metrics
    from howsure.plugin.grouped import (
        STACKED_INPUTS,
        choose_C,
        collection_folds,
        fit_grouped_detector,
    )
    from howsure.plugin.rows import collect_splits
    from howsure.plugin.train import SWEEP_C
    from howsure.probes.collect import concat
    from howsure.probes.models import load_model
    from howsure.probes.positions import POSITIONS, resolve_positions
    from howsure.probes.sweep import layer_sweep

    t0 = time.perf_counter()
    model, tok = load_model()
    positions = resolve_positions(POSITIONS)
    colls = collect_splits(model, tok, dataset="mix", positions=positions, progress=False)
    everything = concat([colls[s] for s in ("train", "calibration", "test")])
    src = np.array([it.source for it in everything.items])
    split = np.array([it.split for it in everything.items])
    rows = []
    for held_out in sorted(set(src.tolist())):
        train = everything.subset((src != held_out) & (split == "train"))
        folds, _ = collection_folds(train, scheme="source")
        feats = train.feature_matrices(positions)
        sweep = layer_sweep(
            feats, train.labels, folds=folds, C=SWEEP_C, progress=False, random_state=0
        )
        layer, position = sweep.best
        y = np.asarray(train.labels, dtype=int)
        C, _ = choose_C(feats[sweep.best].astype(np.float64), y, folds)
        fit_rows = everything.subset((src != held_out) & (split != "test"))
        det, _ = fit_grouped_detector(
            fit_rows,
            layer=layer,
            position=position,
            C=C,
            inputs=STACKED_INPUTS if position != "last_prompt" else ("probe",),
        )
        held = everything.subset(src == held_out)
        row = {"group": held_out, "layer": layer, "position": position, "C": C}
        row |= heldout_metrics(det.assess_collection(held), held)
        rows.append(row)
        print(f"{held_out}: layer {layer} {position} C {C:g} AUROC {row['auroc']:.3f}", flush=True)
    out = ROOT / "bench" / "results"
    report = {"groups": rows, "seconds": time.perf_counter() - t0}
    (out / "nested_loso.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    choices = "\n".join(
        f"| {r['group']} | {r['layer']} | {r['position']} | {r['C']:g} |" for r in rows
    )
    margins = [r["margin"] for r in rows if not np.isnan(r["margin"])]
    text = (
        "Leave one source out, every choice made without the held-out source (layer, "
        "position and C chosen on the other four sources' train rows by leave-one-source-"
        "out; the stacked detector fitted on their train + calibration rows).\n\n"
        "| held-out source | layer | position | C |\n|---|---:|---|---:|\n"
        + choices
        + "\n\n"
        + heldout_markdown(rows).split("\n\n")[0]
        + f"\n\nMean margin over the held-out sources: {np.mean(margins):+.3f}."
    )
    (out / "nested_loso.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
