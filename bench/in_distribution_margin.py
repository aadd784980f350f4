"""The detector's AUROC margin over each single-pass baseline on the mixture's test split,
with the paired bootstrap 95% interval (both methods scored on the same resamples).

    python bench/in_distribution_margin.py [--detector DIR] [--n-boot 2000]

Writes ``bench/results/main-job/in_distribution_margin.json``. Reads the cached
collection of the test split (``bash scripts/main.sh`` makes it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default=None, help="default: the shipped detector")
    parser.add_argument("--n-boot", type=int, default=2000)
    args = parser.parse_args()

    from howsure.calibration.ranking import auroc, paired_auroc_difference
    from howsure.eval.compare import baseline_scores
    from howsure.plugin.defaults import shipped_detector_for
    from howsure.plugin.detector import Detector
    from howsure.plugin.rows import collect_splits
    from howsure.probes.models import load_model

    model, tok = load_model()
    folder = args.detector or shipped_detector_for(model)
    det = Detector.load(folder, model=model)
    test = collect_splits(
        model,
        tok,
        dataset="mix",
        splits=["test"],
        layers=[det.reader.layer],
        positions=[det.reader.position],
        progress=False,
    )["test"]
    conf = det.assess_collection(test).confidence
    y = test.labels.astype(int)
    shown = Path(folder).resolve()
    shown = shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown
    out = {"detector": str(shown), "n": len(y), "accuracy": float(y.mean())}
    out["auroc"] = float(auroc(conf, y))
    for name, scores in baseline_scores(test).items():
        diff, lo, hi = paired_auroc_difference(conf, scores, y, n_boot=args.n_boot)
        out[name] = {"auroc": float(auroc(scores, y)), "margin": diff, "ci95": [lo, hi]}
    path = ROOT / "bench" / "results" / "main-job" / "in_distribution_margin.json"
    path.write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
