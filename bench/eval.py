"""Time ``howsure eval`` on 1,000 questions with the probe and the single-pass baselines.

Target (issue 5): under 20 minutes on the 2-core CPU with the embedded model. The run is
cold: a fresh collection cache, so every question is answered and read; the dequantised
model is reused from the normal cache (its one-time conversion, ~25 s, happens at the
first use of howsure, not per evaluation). The 1,000 questions are ``--split all
--limit 1000`` of the built-in set (round-robin over topics); this measures time, not
accuracy (part of them are the detector's own training questions).

    .venv/bin/python bench/eval.py [--detector howsure-out/train/detector] [--n 1000]

Writes ``bench/results/eval.json`` and ``eval.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from howsure.core.files import cache_dir

RESULTS = Path(__file__).parent / "results"
TARGET_MINUTES = 20.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detector", default="howsure-out/train/detector")
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args()
    models = cache_dir("models")
    with tempfile.TemporaryDirectory(prefix="howsure-bench-eval-") as tmp:
        cache = Path(tmp) / "cache"
        cache.mkdir()
        (cache / "models").symlink_to(models, target_is_directory=True)
        cmd = [sys.executable, "-m", "howsure", "eval", "--detector", args.detector]
        cmd += ["--dataset", "builtin", "--split", "all", "--limit", str(args.n)]
        cmd += ["--samples", "0", "--no-p-true", "--out", str(Path(tmp) / "out"), "--quiet"]
        env = {**os.environ, "HOWSURE_CACHE": str(cache)}
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - t0
        if proc.returncode:
            sys.exit(f"howsure eval failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        metrics = json.loads((Path(tmp) / "out" / "metrics.json").read_text())
    out = {
        "command": " ".join(["howsure", *cmd[3:-3]]),
        "n": metrics["n"],
        "seconds_total": seconds,
        "seconds_generation": metrics["seconds"]["generation"],
        "minutes_total": seconds / 60,
        "target_minutes": TARGET_MINUTES,
        "meets_target": seconds / 60 < TARGET_MINUTES,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "eval.json").write_text(json.dumps(out, indent=2) + "\n")
    text = (
        f"`{out['command']}` on {out['n']} questions, cold collection cache, "
        f"{out['cpu_count']} CPU cores: {out['minutes_total']:.1f} min in all "
        f"({out['seconds_generation']:.0f} s answering and reading; the rest is start-up, "
        f"bootstrap intervals and plots). Target < {TARGET_MINUTES:.0f} min: "
        f"{'met' if out['meets_target'] else 'MISSED'}."
    )
    (RESULTS / "eval.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
