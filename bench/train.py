"""Benchmark `howsure train` end to end on the embedded model and the full built-in set.

Runs the CLI in-process twice against one fresh cache folder: the first run pays for
everything (GGUF conversion, generation and activation reading over all three splits,
sweep, fits, bootstrap), the second reads the collection cache. Wall times go to
``bench/results/train.json`` / ``train.md``; the run's own outputs (detector, metrics,
plots, report) go to ``howsure-out/bench-train/`` (the README quotes the main job's
copy of them in ``bench/results/main-job/``).

    .venv/bin/python bench/train.py [--limit N] [--keep-cache]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="questions per split (default all)")
    ap.add_argument(
        "--cache", default=None, help="cache folder (default: a fresh temporary one, cold start)"
    )
    args = ap.parse_args()
    os.environ["HOWSURE_CACHE"] = args.cache or tempfile.mkdtemp(prefix="howsure-bench-")

    import torch

    from howsure.cli import main as cli

    out = Path("howsure-out/bench-train")
    argv = ["train", "--out", str(out), "--quiet"]
    if args.limit:
        argv += ["--limit", str(args.limit)]
    times = []
    for _ in range(2):
        t = time.perf_counter()
        code = cli(argv)
        times.append(time.perf_counter() - t)
        if code != 0:
            raise SystemExit(f"howsure train failed with exit code {code}")
    metrics = json.loads((out / "metrics.json").read_text())
    res = {
        "command": "howsure " + " ".join(argv),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads "
        f"{torch.get_num_threads()}, CPU only",
        "first_run_s": times[0],
        "second_run_s (collection cache)": times[1],
        "n_test": metrics["n"],
        "test_accuracy": metrics["accuracy"],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "train.json").write_text(json.dumps(res, indent=2) + "\n")
    md = [
        "| run | wall time | target |",
        "|---|---:|---:|",
        f"| `howsure train`, cold cache (model conversion + collection of all splits) | "
        f"{times[0] / 60:.1f} min | ≤ 30 min |",
        f"| `howsure train` again (collection cache) | {times[1]:.0f} s | seconds |",
    ]
    (RESULTS / "train.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
