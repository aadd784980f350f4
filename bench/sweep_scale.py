"""Benchmark `layer_sweep` at large hidden sizes: time, peak memory and threads per policy.

Synthetic activations stand in for a large model's: ``--n`` questions (default 3,000),
``--layers`` x ``--positions`` keys (default 4 x 3 = 12) at each hidden size of
``--sizes`` (default 576, 2048, 4096, 8192), stored in float16 as a collection stores
them, with a planted linear signal (stronger in the middle layers) so the AUROCs mean
something. The sweep runs as ``howsure train`` runs it: fixed C = 0.01 (``SWEEP_C``),
5 stratified folds (about 2,400 training rows per fit), topic groups for the
within-group AUROC. Three thread policies, each in a fresh subprocess (so peak memory is
per configuration), interleaved over ``--repeats`` rounds:

* ``serial``: ``n_jobs=1``, BLAS on 1 thread (the sweep's only policy before issue 14);
* ``blas``: ``n_jobs=1``, BLAS on all cores (the alternative, by patching
  ``howsure.probes.sweep._BLAS_THREADS``);
* ``threads``: ``n_jobs=-1``, one worker thread per core, BLAS on 1 thread each.

The default ``n_jobs=None`` picks ``serial`` below 2,048 features and ``threads`` from
there. Per configuration: wall time (min over rounds), time per key, CPU time / wall
time (cores kept busy), peak RSS during the sweep over the RSS before it (the input
arrays excluded; ``/proc/self/clear_refs`` resets the peak) and the process's peak RSS,
the worker threads and BLAS threads seen while it ran (threadpoolctl, sampled), and the
largest AUROC difference from ``serial``. A second, short run per size and policy
(``--trace-keys`` keys) measures the peak of numpy's allocations with tracemalloc.
Results go to ``bench/results/sweep_scale.json`` and ``sweep_scale.md``, with the time
of a full 32-layer x 3-position sweep extrapolated from the time per key.

    .venv/bin/python bench/sweep_scale.py [--sizes 576 2048 4096 8192] [--n 3000]
        [--layers 4] [--positions 3] [--repeats 2] [--trace-keys 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
POLICIES = ("serial", "blas", "threads")
POSITION_NAMES = ("last_prompt", "last_answer", "mean_answer")
FULL_KEYS = 32 * 3
SWEEP_C = 0.01  # howsure.plugin.train.SWEEP_C, what `howsure train` sweeps with


# --------------------------------------------------------------------------- child


def synthetic(n: int, d: int, layers: int, positions: int, seed: int = 0):
    """Float16 activations {(layer, position): (n, d)}, labels (n,), topics (n,)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.45).astype(np.int64)
    topics = rng.integers(0, 5, size=n).astype(str)
    scale = rng.lognormal(0.0, 0.5, size=d).astype(np.float32)  # anisotropic, like LMs
    v = rng.normal(size=d).astype(np.float32)
    v /= np.linalg.norm(v)
    idx = np.linspace(2, 30, layers).round().astype(int)
    features = {}
    for i, layer in enumerate(idx):
        for j in range(positions):
            strength = 0.4 + 1.2 * (1 - abs(i - (layers - 1) / 2) / max(layers / 2, 1)) - 0.2 * j
            r = np.random.default_rng([seed, int(layer), j])
            X = r.standard_normal((n, d), dtype=np.float32)
            X *= scale
            X += (strength * (2 * y - 1))[:, None].astype(np.float32) * (v * scale)
            features[(int(layer), POSITION_NAMES[j % len(POSITION_NAMES)])] = X.astype(np.float16)
            del X
    return features, y, topics


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def child(cfg: dict) -> dict:
    """Run one sweep configuration in this (fresh) process; return its measurements."""
    import tracemalloc

    from threadpoolctl import threadpool_info

    from howsure.probes import sweep
    from howsure.probes.threads import n_workers

    features, y, topics = synthetic(cfg["n"], cfg["d"], cfg["layers"], cfg["positions"])
    n_jobs = 1 if cfg["policy"] in ("serial", "blas") else -1
    if cfg["policy"] == "blas":
        sweep._BLAS_THREADS = None  # leave BLAS at its default, all cores
    blas_default = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    seen = {"workers": 0, "blas_threads": Counter(), "os_threads": 0}
    done = threading.Event()

    def monitor() -> None:
        while not done.wait(0.2):
            names = [t.name for t in threading.enumerate() if t.name.startswith("howsure-fit")]
            seen["workers"] = max(seen["workers"], len(names))
            seen["os_threads"] = max(seen["os_threads"], status_kb("Threads"))
            for info in threadpool_info():
                if info["user_api"] == "blas":
                    seen["blas_threads"][info["num_threads"]] += 1

    rss_before = status_kb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS to the current
        reset = True
    except OSError:
        reset = False
    if cfg["trace"]:
        tracemalloc.start()
    watcher = threading.Thread(target=monitor, daemon=True)
    watcher.start()
    cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    result = sweep.layer_sweep(
        features, y, C=cfg["C"], groups=topics, cv=5, progress=False, n_jobs=n_jobs
    )
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    traced = tracemalloc.get_traced_memory()[1] if cfg["trace"] else None
    done.set()
    watcher.join()
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "keys": len(features),
        "input_mb": sum(X.nbytes for X in features.values()) / 2**20,
        "rss_before_mb": rss_before / 1024,
        "sweep_peak_rss_mb": status_kb("VmHWM") / 1024 if reset else None,
        "process_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tracemalloc_peak_mb": None if traced is None else traced / 2**20,
        "workers": max(1, seen["workers"]),
        "auto_workers": n_workers(None, n_features=cfg["d"], n_tasks=5 * len(features)),
        # samples per BLAS thread count (before the fits start, BLAS is at its default)
        "blas_threads_samples": {str(k): v for k, v in sorted(seen["blas_threads"].items())},
        "blas_threads_during": seen["blas_threads"].most_common(1)[0][0]
        if seen["blas_threads"]
        else None,
        "blas_threads_default": blas_default,
        "os_threads_max": seen["os_threads"],
        "auroc": [r["auroc_mean"] for r in result.rows],
        "best": list(result.best),
    }


# --------------------------------------------------------------------------- parent


def run_child(cfg: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(cfg)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"configuration {cfg} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> dict:
    import numpy  # noqa: F401  (load BLAS, so threadpool_info sees it)
    import sklearn.linear_model  # noqa: F401  (and scikit-learn's OpenMP)
    from threadpoolctl import threadpool_info

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    blas = sorted({f"{i['internal_api']} {i['version']}" for i in threadpool_info()})
    return {
        "cpu": model,
        "cores": len(os.sched_getaffinity(0)),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "thread_libraries": blas,
    }


def summarise(d: int, policy: str, runs: list[dict], trace: dict | None) -> dict:
    best = min(runs, key=lambda r: r["wall_s"])
    keys = best["keys"]
    return {
        "d": d,
        "policy": policy,
        "keys": keys,
        "wall_s": [round(r["wall_s"], 3) for r in runs],
        "wall_min_s": best["wall_s"],
        "per_key_s": best["wall_s"] / keys,
        "cpu_over_wall": best["cpu_s"] / best["wall_s"],
        "workers": best["workers"],
        "auto_workers": best["auto_workers"],
        "blas_threads_during": best["blas_threads_during"],
        "blas_threads_samples": best["blas_threads_samples"],
        "blas_threads_default": best["blas_threads_default"],
        "os_threads_max": best["os_threads_max"],
        "input_mb": best["input_mb"],
        "rss_before_mb": best["rss_before_mb"],
        "sweep_peak_rss_mb": best["sweep_peak_rss_mb"],
        "sweep_extra_rss_mb": (
            max(r["sweep_peak_rss_mb"] - r["rss_before_mb"] for r in runs)
            if best["sweep_peak_rss_mb"] is not None
            else None
        ),
        "process_peak_rss_mb": max(r["process_peak_rss_mb"] for r in runs),
        "tracemalloc_peak_mb": None if trace is None else trace["tracemalloc_peak_mb"],
        "tracemalloc_keys": None if trace is None else trace["keys"],
        "full_sweep_min": best["wall_s"] / keys * FULL_KEYS / 60,
        "auroc": best["auroc"],
        "best": best["best"],
    }


def markdown(res: dict) -> str:
    lines = [
        f"`layer_sweep` on synthetic float16 activations: n = {res['n']} questions, "
        f"{res['keys_per_size']} keys ({res['layers']} layers x {res['positions']} "
        f"positions), 5 folds, C = {res['C']}, topic groups; {res['machine']['cores']} "
        f"cores ({res['machine']['cpu']}); best of {res['repeats']} rounds. `auto` "
        "(`n_jobs=None`, the default) is `serial` below 2,048 features and `threads` "
        "from there.",
        "",
        "| d | policy | workers x BLAS threads | wall | per key | vs serial | CPU / wall "
        "| sweep peak RSS over before | tracemalloc peak | full 96-key sweep | "
        "max abs(ΔAUROC) vs serial |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in res["configs"]:
        ratio = res["ratios"][str(c["d"])][c["policy"]]
        blas = c["blas_threads_during"] or "?"
        extra = "–" if c["sweep_extra_rss_mb"] is None else f"{c['sweep_extra_rss_mb']:.0f} MB"
        traced = "–" if c["tracemalloc_peak_mb"] is None else f"{c['tracemalloc_peak_mb']:.0f} MB"
        picked = "threads" if c["auto_workers"] > 1 else "serial"
        auto = " (auto)" if c["policy"] == picked else ""
        lines.append(
            f"| {c['d']} | {c['policy']}{auto} | {c['workers']} x {blas} | "
            f"{c['wall_min_s']:.1f} s | {c['per_key_s']:.2f} s | {ratio:.2f}x | "
            f"{c['cpu_over_wall']:.2f} | {extra} | {traced} | {c['full_sweep_min']:.1f} min | "
            f"{c['max_abs_auroc_diff_vs_serial']:.1e} |"
        )
    lines += [
        "",
        "vs serial: wall time over the serial policy's in the same run (below 1 = faster). "
        "Sweep peak RSS over before: what the sweep adds to the process (the input arrays "
        f"are {res['configs'][-1]['input_mb']:.0f} MB at the largest size). tracemalloc: "
        f"peak of the sweep's numpy allocations, {res['trace_keys']} keys. Full sweep: 32 "
        "layers x 3 positions at the measured time per key (input: "
        + ", ".join(f"{d} -> {96 * res['n'] * d * 2 / 2**30:.1f} GB float16" for d in res["sizes"])
        + ").",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[576, 2048, 4096, 8192])
    ap.add_argument("--n", type=int, default=3000, help="questions (rows)")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--positions", type=int, default=3, choices=[1, 2, 3])
    ap.add_argument("--repeats", type=int, default=2, help="rounds of every configuration")
    ap.add_argument("--trace-keys", type=int, default=2, help="keys of the tracemalloc runs")
    ap.add_argument("--out", default=str(RESULTS), help="results folder")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(child(json.loads(args.child))))
        return

    t_start = time.perf_counter()
    base = {"n": args.n, "C": SWEEP_C, "trace": False}
    configs = []
    ratios: dict[str, dict[str, float]] = {}
    for d in args.sizes:
        runs: dict[str, list[dict]] = {p: [] for p in POLICIES}
        for r in range(args.repeats):
            order = POLICIES if r % 2 == 0 else POLICIES[::-1]
            for policy in order:
                cfg = {**base, "d": d, "policy": policy}
                cfg |= {"layers": args.layers, "positions": args.positions}
                runs[policy].append(run_child(cfg))
                w = runs[policy][-1]["wall_s"]
                print(f"d={d} {policy} round {r + 1}: {w:.1f} s", flush=True)
        traces = {}
        if args.trace_keys:
            layers, positions = max(1, args.trace_keys // args.positions), args.positions
            if args.trace_keys < args.positions:
                layers, positions = 1, args.trace_keys
            for policy in ("serial", "threads"):
                cfg = {**base, "d": d, "policy": policy, "trace": True}
                cfg |= {"layers": layers, "positions": positions}
                traces[policy] = run_child(cfg)
        rows = {p: summarise(d, p, runs[p], traces.get(p)) for p in POLICIES}
        rows["blas"]["tracemalloc_peak_mb"] = None  # same allocations as serial
        serial = rows["serial"]
        ratios[str(d)] = {p: rows[p]["wall_min_s"] / serial["wall_min_s"] for p in POLICIES}
        for p in POLICIES:
            diffs = [abs(a - b) for a, b in zip(rows[p]["auroc"], serial["auroc"], strict=True)]
            rows[p]["max_abs_auroc_diff_vs_serial"] = max(diffs)
            configs.append(rows[p])
    res = {
        "command": "bench/sweep_scale.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "n": args.n,
        "n_train_per_fold": args.n - args.n // 5,
        "layers": args.layers,
        "positions": args.positions,
        "keys_per_size": args.layers * args.positions,
        "sizes": args.sizes,
        "storage_dtype": "float16",
        "C": SWEEP_C,
        "cv": 5,
        "repeats": args.repeats,
        "trace_keys": args.trace_keys,
        "configs": configs,
        "ratios": ratios,
        "bench_wall_s": time.perf_counter() - t_start,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep_scale.json").write_text(json.dumps(res, indent=2) + "\n")
    md = markdown(res)
    (out / "sweep_scale.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
