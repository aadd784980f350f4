"""Familiarity as a detector of "not like the training rows", for the shipped detector.

Runs :func:`howsure.eval.familiarity.familiarity_report` (held-out kinds and held-out
sources against the in-distribution test questions, all sent as the reader sends them)
and, on the code tasks (which the shipped detector was not trained on; their answers and
labels come from the cached collections of ``howsure train --code code``), compares
calibration of flagged and unflagged answers. Writes ``bench/results/familiarity.json``
and ``.md``::

    .venv/bin/python bench/familiarity.py [--detector DIR] [--out bench/results/familiarity]

With ``--refit`` it first refits the detector's familiarity model (only that) on the
mixture's train and calibration questions as its reader sends them, and saves the
detector in place: how the shipped detector's familiarity was made.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from howsure.calibration.metrics import ece, ece_noise_floor
from howsure.eval.familiarity import familiarity_markdown, familiarity_report, wilson_ci
from howsure.plugin.defaults import shipped_detector_for
from howsure.plugin.detector import Detector
from howsure.plugin.familiar import fit_reader_familiarity
from howsure.plugin.rows import collect_code_splits
from howsure.probes.collect import concat
from howsure.probes.models import load_model
from howsure.qa.load import load_qa


def code_calibration(det: Detector, model, tok) -> dict:
    """ECE of the detector's confidence on code answers, flagged against not flagged."""
    splits = collect_code_splits(
        model, tok, datasets=("code",), max_new_tokens=det.reader.max_new_tokens, progress=True
    )
    rows = concat(list(splits.values()))
    found = det.assess_collection(rows)
    y = rows.labels.astype(bool)
    out = {}
    for name, mask in (("flagged", found.unfamiliar), ("not flagged", ~found.unfamiliar)):
        n = int(mask.sum())
        if n == 0:
            out[name] = {"n": 0}
            continue
        conf = found.confidence[mask]
        _, lo, hi = ece_noise_floor(conf, seed=0)
        out[name] = {
            "n": n,
            "accuracy": float(y[mask].mean()),
            "mean_confidence": float(conf.mean()),
            "ece": float(ece(conf, y[mask])),
            "ece_noise_floor_ci95": [float(lo), float(hi)],
        }
    k = int(found.unfamiliar.sum())
    out["flagged_share"] = k / len(y)
    out["flagged_ci95"] = wilson_ci(k, len(y))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--detector", default=None, help="detector folder (default: the shipped one)")
    p.add_argument("--dataset", default="mix")
    p.add_argument("--out", default="bench/results/familiarity")
    p.add_argument("--refit", action="store_true", help="refit the familiarity and save it")
    p.add_argument("--n-boot", type=int, default=1000)
    args = p.parse_args(argv)
    model, tok = load_model(None)
    folder = Path(args.detector) if args.detector else shipped_detector_for(model)
    det = Detector.load(folder, model=model, tokenizer=tok)
    if args.refit:
        rows = [it for it in load_qa(args.dataset) if it.split != "test"]
        fit_reader_familiarity([det], model, tok, rows)
        det.save(folder)
        det = Detector.load(folder, model=model, tokenizer=tok)
    report = familiarity_report(det, model, tok, dataset=args.dataset, n_boot=args.n_boot)
    report["detector"] = str(folder)
    report["code_calibration"] = code_calibration(det, model, tok)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    md = familiarity_markdown(report)
    cc = report["code_calibration"]
    md += "\n\nCode answers (all 320 tasks; the shipped detector never saw code):\n\n"
    for name in ("flagged", "not flagged"):
        r = cc[name]
        if r["n"]:
            lo, hi = r["ece_noise_floor_ci95"]
            md += (
                f"- {name}: n={r['n']}, accuracy {r['accuracy']:.1%}, mean confidence "
                f"{r['mean_confidence']:.1%}, ECE {r['ece']:.3f} (noise floor 95% range "
                f"[{lo:.3f}, {hi:.3f}])\n"
            )
    out.with_suffix(".md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
