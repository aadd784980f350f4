"""Which levers make the confidence transfer? Grouped validation on the training rows.

Every lever is scored on the training mixture's train + calibration rows (the test split
is not read) three ways: leaving one *source* out (the grouping the default is chosen
by), leaving whole *topics* out (5 folds of source:topic groups), and random folds (what
a notebook would report). A full recipe (probe, grouped out-of-fold calibration) is
refitted inside every outer fold, so its calibration is measured too: ECE and Brier
skill on each held-out source. Levers that change only the features (low rank, several
layers, per-source centering) are scored by the probe's AUROC.

    python bench/levers.py [--detector DIR]

Writes ``bench/results/levers.{json,md}``. Needs the mixture's collection with every
layer (``bash scripts/main.sh`` makes it; cached).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default=None, help="default: the shipped detector")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()

    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    from howsure.calibration.metrics import brier, ece
    from howsure.calibration.ranking import auroc_or_nan
    from howsure.calibration.stacked import StackedCalibrator
    from howsure.plugin.defaults import shipped_detector_for
    from howsure.plugin.detector import Detector
    from howsure.plugin.grouped import STACKED_INPUTS, collection_folds, fit_grouped_detector
    from howsure.plugin.rows import collect_splits
    from howsure.probes.activations import ANSWER_STATS
    from howsure.probes.collect import concat
    from howsure.probes.familiarity import Familiarity
    from howsure.probes.models import load_model

    warnings.filterwarnings("ignore", category=RuntimeWarning)
    t0 = time.perf_counter()
    model, tok = load_model()
    det = Detector.load(args.detector or shipped_detector_for(model), model=model)
    layer, position = det.reader.layer, det.reader.position
    C_best = float(det.info["training"]["C"])
    colls = collect_splits(model, tok, dataset="mix", progress=False)
    rows = concat([colls["train"], colls["calibration"]])
    y = rows.labels.astype(int)
    src = np.array([it.source for it in rows.items])
    schemes = {s: collection_folds(rows, scheme=s)[0] for s in ("source", "topic", "random")}
    X = rows.features(layer, position).astype(np.float64)
    stats = np.column_stack([rows.extras[k] for k in ANSWER_STATS])

    def fold_aucs(scores: list[np.ndarray], folds) -> list[float]:
        return [auroc_or_nan(s, y[held]) for s, (_, held) in zip(scores, folds, strict=True)]

    def recipe(inputs, C, scheme):
        """Per outer fold: the full recipe fitted on the rest, scored on the held-out rows."""
        per = []
        for fit_rows, held in schemes[scheme]:
            d, _ = fit_grouped_detector(
                rows.subset(np.isin(np.arange(len(y)), fit_rows)),
                layer=layer,
                position=position,
                C=C,
                inputs=inputs,
                folds=scheme,
                familiarity=False,
            )
            per.append(
                d.assess_collection(rows.subset(np.isin(np.arange(len(y)), held))).confidence
            )
        return per

    def features_only(make, Xf, scheme, center=False):
        per = []
        for fit_rows, held in schemes[scheme]:
            Xa, Xb = Xf[fit_rows].copy(), Xf[held].copy()
            if center:  # each source centred on its own mean (needs the new source's rows)
                for s in np.unique(src[fit_rows]):
                    Xa[src[fit_rows] == s] -= Xa[src[fit_rows] == s].mean(0)
                for s in np.unique(src[held]):
                    Xb[src[held] == s] -= Xb[src[held] == s].mean(0)
            per.append(make().fit(Xa, y[fit_rows]).decision_function(Xb))
        return per

    def logistic(C):
        return lambda: make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))

    def low_rank(k):
        return lambda: make_pipeline(
            StandardScaler(), PCA(k, random_state=0), LogisticRegression(C=0.1, max_iter=2000)
        )

    def familiarity_stack(scheme):
        """The stacked recipe plus the familiarity distance and its product with the probe:
        lets the calibrator pull unfamiliar questions toward the base rate."""
        per = []
        for fit_rows, held in schemes[scheme]:
            part = rows.subset(np.isin(np.arange(len(y)), fit_rows))
            inner, _ = collection_folds(part, scheme=scheme)
            Xa, ya = X[fit_rows], y[fit_rows]
            z, dist = np.zeros(len(ya)), np.zeros(len(ya))
            for a, b in inner:
                z[b] = logistic(C_best)().fit(Xa[a], ya[a]).decision_function(Xa[b])
                dist[b] = np.log(Familiarity().fit(Xa[a]).distance(Xa[b]))
            zh = logistic(C_best)().fit(Xa, ya).decision_function(X[held])
            dh = np.log(Familiarity().fit(Xa).distance(X[held]))
            feats = lambda z_, d_, st: np.column_stack([z_, st, d_, z_ * d_])  # noqa: E731
            cal = StackedCalibrator().fit(feats(z, dist, stats[fit_rows]), ya)
            per.append(cal.confidence(feats(zh, dh, stats[held])))
        return per

    levers = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for name, inputs, C in [
            ("single-layer logistic probe, C 0.01 (the sweep's)", ("probe",), 0.01),
            (
                f"single-layer logistic probe, C {C_best:g} (chosen by grouped CV)",
                ("probe",),
                C_best,
            ),
            ("strongly regularised probe, C 0.001", ("probe",), 0.001),
            ("weakly regularised probe, C 0.1", ("probe",), 0.1),
            (
                "probe stacked with token log-probabilities and entropy (default)",
                STACKED_INPUTS,
                C_best,
            ),
        ]:
            levers[name] = {
                "scores": {s: recipe(inputs, C, s) for s in schemes},
                "calibrated": True,
            }
        levers["stacked + familiarity (pull unfamiliar toward the base rate)"] = {
            "scores": {s: familiarity_stack(s) for s in ("source", "topic")},
            "calibrated": True,
        }
        levers["token statistics alone, stacked (no probe)"] = {
            "scores": {
                s: [
                    StackedCalibrator().fit(stats[a], y[a]).confidence(stats[b])
                    for a, b in schemes[s]
                ]
                for s in schemes
            },
            "calibrated": True,
        }
        three = sorted(
            {max(layer - 6, 0), layer, min(layer + 6, det.fingerprint["num_layers"] - 1)}
        )
        X3 = np.concatenate([rows.features(la, position) for la in three], 1).astype(np.float64)
        for name, make, Xf, center in [
            ("low rank: PCA 16 then logistic", low_rank(16), X, False),
            ("low rank: PCA 64 then logistic", low_rank(64), X, False),
            (f"several layers: {three} concatenated", logistic(C_best / 3), X3, False),
            ("per-source centering (needs the new source's rows)", logistic(C_best), X, True),
        ]:
            levers[name] = {
                "scores": {s: features_only(make, Xf, s, center) for s in schemes},
                "calibrated": False,
            }

    table = []
    for name, lever in levers.items():
        entry = {"lever": name}
        for scheme, per in lever["scores"].items():
            aucs = fold_aucs(per, schemes[scheme])
            entry[f"auroc_{scheme}"] = float(np.nanmean(aucs))
            entry[f"auroc_{scheme}_folds"] = aucs
        if lever["calibrated"]:
            eces, skills = {}, {}
            for p, (_, held) in zip(lever["scores"]["source"], schemes["source"], strict=True):
                s, yh = src[held][0], y[held]
                eces[s] = float(ece(p, yh))
                skills[s] = 1 - float(brier(p, yh)) / (yh.mean() * (1 - yh.mean()))
            entry["ece_by_source"], entry["brier_skill_by_source"] = eces, skills
        table.append(entry)
    sources = [src[h][0] for _, h in schemes["source"]]
    report = {
        "layer": layer,
        "position": position,
        "C": C_best,
        "n": len(y),
        "accuracy": float(y.mean()),
        "sources": sources,
        "levers": table,
        "seconds": time.perf_counter() - t0,
    }
    out = Path(args.out)
    (out / "levers.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    lines = [
        f"Levers on the mixture's train + calibration rows (n = {len(y)}, accuracy "
        f"{y.mean():.1%}), layer {layer}, {position}; AUROC is the mean over held-out folds; "
        "ECE and Brier skill are the worst over the 5 held-out sources (calibrated levers).",
        "",
        "| lever | held-out source AUROC | held-out topic AUROC | random-fold AUROC | "
        "worst held-out-source ECE | worst held-out-source Brier skill |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for e in table:
        worst_ece = max(e["ece_by_source"].values()) if "ece_by_source" in e else None
        worst_bss = (
            min(e["brier_skill_by_source"].values()) if "brier_skill_by_source" in e else None
        )
        lines.append(
            f"| {e['lever']} | {e['auroc_source']:.3f} | {e['auroc_topic']:.3f} | "
            + (f"{e['auroc_random']:.3f}" if "auroc_random" in e else "-")
            + " | "
            + ("-" if worst_ece is None else f"{worst_ece:.3f}")
            + " | "
            + ("-" if worst_bss is None else f"{worst_bss:+.3f}")
            + " |"
        )
    text = "\n".join(lines)
    (out / "levers.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
