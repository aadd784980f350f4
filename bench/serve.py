"""Load test of ``howsure serve`` on loopback: throughput, latency, failures, hooks, memory.

Starts ``howsure serve`` (the embedded model and its shipped detector, by default) in a
subprocess on a free loopback port and drives it from client threads in this process
over HTTP, with questions of the training mixture's test split:

1. **one at a time**: 1 client, ``--n-single`` plain requests in a row;
2. **8 clients**: 8 clients, ``--n-batch`` plain requests in all;
3. **offline**: plain ``model.generate`` in this process over the same questions as (2)
   in batches of 8 (as many as the clients of (2)) and of 16 (the ceiling of the load
   test), greedy, the same ``max_new_tokens``
   (the server is idle meanwhile);
4. **mixed lengths**: 8 clients, ``--n-mixed`` requests, every other one with
   ``max_tokens`` 4 among ones with 64 (what continuous batching is for);
5. **load**: ``--clients`` (16) clients, ``--n-load`` (>= 300) requests, every other one
   streamed; every ``--disconnect-every``-th streamed request leaves after its first
   piece of content (deliberately). Any other failure counts.

It reports throughput (answers per second) of each, the ratios the issue sets (8
clients >= 3x one at a time; >= 0.8x offline; every client is ready before the clock
starts), p50/p95 latency (plain: the whole
answer; streamed: to the first content and to the end), the server's resident memory
before, during and after the load (from ``/proc``), and ``/health``'s hook count and
queue afterwards. Results: ``<out>/serve.json`` and ``<out>/serve.md``; exit code 1
when a target or a check fails.

    .venv/bin/python bench/serve.py [--model M] [--detector DIR] [--clients 16]
        [--n-load 320] [--n-single 24] [--n-batch 96] [--max-batch-size 16]
        [--batching auto|continuous|static] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from plain import plain_generate

RESULTS = Path(__file__).parent / "results"
MIXED = {"short": 4, "long": 64}
"""The mixed-length phase's answer limits: short requests among long ones."""
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MiB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    return float(statistics.quantiles(values, n=100, method="inclusive")[q - 1]) if values else 0.0


class Client:
    """Requests to the server, timed; failures kept."""

    def __init__(self, url: str, model: str, max_tokens: int) -> None:
        import httpx

        self.url = url
        self.model = model
        self.max_tokens = max_tokens
        self.http = httpx.Client(timeout=300)

    def plain(self, question: str, *, max_tokens: int | None = None, kind: str = "plain") -> dict:
        t0 = time.perf_counter()
        r = self.http.post(
            self.url + "/v1/chat/completions",
            json={
                "model": self.model,
                "messages": [{"role": "user", "content": question}],
                "max_tokens": max_tokens or self.max_tokens,
            },
        )
        dt = time.perf_counter() - t0
        ok = r.status_code == 200 and "confidence" in r.json()["choices"][0]
        return {"kind": kind, "ok": ok, "status": r.status_code, "latency": dt}

    def streamed(self, question: str, *, leave_early: bool) -> dict:
        t0 = time.perf_counter()
        first = None
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": question}],
            "stream": True,
            "max_tokens": self.max_tokens,
        }
        conf = done = False
        with self.http.stream("POST", self.url + "/v1/chat/completions", json=body) as r:
            if r.status_code != 200:
                return {"kind": "stream", "ok": False, "status": r.status_code, "latency": 0.0}
            for line in r.iter_lines():
                if line == "data: [DONE]":
                    done = True
                    break
                if not line.startswith("data: {"):
                    continue
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    break
                choice = (chunk["choices"] or [{}])[0]
                conf = conf or "confidence" in choice
                if choice.get("delta", {}).get("content") and first is None:
                    first = time.perf_counter() - t0
                    if leave_early:
                        return {"kind": "left", "ok": True, "status": 200, "latency": first}
        dt = time.perf_counter() - t0
        return {
            "kind": "stream",
            "ok": done and conf,
            "status": r.status_code,
            "latency": dt,
            "first": first if first is not None else dt,
        }


def run_clients(
    url: str, model: str, jobs: list[tuple[str, str]], clients: int, max_tokens: int
) -> tuple:
    """Run ``(kind, question)`` jobs from ``clients`` threads, each with its own
    connection, taking the next job as soon as it has its answer; the clock starts once
    every client is ready (a barrier), as an offline batch's would. Returns (results in
    job order, wall seconds)."""
    todo: queue.Queue = queue.Queue()
    for i, job in enumerate(jobs):
        todo.put((i, job))
    results: list[dict] = [{}] * len(jobs)
    ready = threading.Barrier(clients + 1)

    def work() -> None:
        client = Client(url, model, max_tokens)
        ready.wait()
        while True:
            try:
                i, (kind, q) = todo.get_nowait()
            except queue.Empty:
                return
            try:
                if kind == "plain":
                    results[i] = client.plain(q)
                elif kind in MIXED:
                    results[i] = client.plain(q, max_tokens=MIXED[kind], kind=kind)
                else:
                    results[i] = client.streamed(q, leave_early=kind == "leave")
            except Exception as err:  # counted as a failure
                results[i] = {"kind": kind, "ok": False, "status": repr(err), "latency": 0.0}

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return results, time.perf_counter() - t0


def offline(questions: list[str], batch_sizes: list[int], n_new: int) -> dict[int, float]:
    """Seconds for plain batched ``model.generate`` over the questions (after a warm-up),
    per batch size."""
    from howsure.plugin.defaults import shipped_detector_for
    from howsure.plugin.detector import Detector
    from howsure.probes.models import load_model

    model, tok = load_model(ARGS.model, device="cpu")
    det = Detector.load(ARGS.detector or shipped_detector_for(model))

    out = {}
    for batch_size in batch_sizes:
        plain_generate(
            model, tok, det, questions[:batch_size], batch_size=batch_size, max_new_tokens=n_new
        )  # warm-up
        t0 = time.perf_counter()
        plain_generate(model, tok, det, questions, batch_size=batch_size, max_new_tokens=n_new)
        out[batch_size] = time.perf_counter() - t0
    return out


def main() -> int:
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model (default: the embedded SmolLM2-135M)")
    ap.add_argument("--detector", default=None, help="detector folder (default: the shipped one)")
    ap.add_argument("--clients", type=int, default=16, help="clients in the load phase")
    ap.add_argument("--n-load", type=int, default=320, help="requests in the load phase")
    ap.add_argument("--n-single", type=int, default=24, help="requests one at a time")
    ap.add_argument("--n-batch", type=int, default=96, help="requests from 8 clients")
    ap.add_argument("--max-batch-size", type=int, default=16)
    ap.add_argument("--batching", default="auto", choices=["auto", "continuous", "static"])
    ap.add_argument(
        "--max-new-tokens",
        type=int,
        default=32,
        help="answer length limit of every request and of the offline generate (default 32; "
        "without it the server would use the detector's own, 256 for the shipped one)",
    )
    ap.add_argument(
        "--n-mixed", type=int, default=48, help="requests from 8 clients, short and long mixed"
    )
    ap.add_argument("--disconnect-every", type=int, default=8, help="every k-th stream leaves")
    ap.add_argument("--out", default=str(RESULTS), help="results folder")
    ARGS = args = ap.parse_args()

    import httpx

    from howsure.qa.load import load_qa

    n_questions = max(args.n_load, args.n_batch, args.n_single)
    questions = [it.question for it in load_qa("mix", split="test", limit=n_questions)]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "howsure", "serve", "--port", str(port)]
    cmd += ["--max-batch-size", str(args.max_batch_size), "--max-queue", "64"]
    cmd += ["--batching", args.batching]
    if args.model:
        cmd += ["--model", args.model]
    if args.detector:
        cmd += ["--detector", args.detector]
    Path(args.out).mkdir(parents=True, exist_ok=True)
    log = open(Path(args.out) / "serve-server.log", "w")
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                health = httpx.get(url + "/health", timeout=5).json()
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the server did not start; see serve-server.log") from None
                time.sleep(0.5)
        model = health["model"]
        # warm-up (also the batched path)
        run_clients(url, model, [("plain", q) for q in questions[:16]], 8, args.max_new_tokens)
        rss = {"after_warmup": rss_mb(server.pid)}

        single, t_single = run_clients(
            url, model, [("plain", q) for q in questions[: args.n_single]], 1, args.max_new_tokens
        )
        batch_q = questions[: args.n_batch]
        h0 = httpx.get(url + "/health", timeout=5).json()
        eight, t_eight = run_clients(
            url, model, [("plain", q) for q in batch_q], 8, args.max_new_tokens
        )
        h1 = httpx.get(url + "/health", timeout=5).json()
        eight_batches = h1["batches"] - h0["batches"]
        n_new = args.max_new_tokens
        # batches as large as the 8 clients, and as the load's 16: its throughput ceiling
        t_offline, t_offline16 = offline(batch_q, [8, 16], n_new).values()

        # mixed lengths: every other request short (a quick question among long answers)
        mixed_jobs = [
            ("short" if i % 2 else "long", q) for i, q in enumerate(questions[: args.n_mixed])
        ]
        mixed, t_mixed = run_clients(url, model, mixed_jobs, 8, args.max_new_tokens)

        jobs = []
        for i, q in enumerate(questions[: args.n_load]):
            if i % 2 == 0:
                jobs.append(("plain", q))
            else:
                streamed = i // 2
                leave = streamed % args.disconnect_every == args.disconnect_every - 1
                jobs.append(("leave" if leave else "stream", q))
        samples: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append(rss_mb(server.pid))
                time.sleep(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        h2 = httpx.get(url + "/health", timeout=5).json()
        load, t_load = run_clients(url, model, jobs, args.clients, args.max_new_tokens)
        stop.set()
        sampler.join()
        time.sleep(1.0)
        rss["after_load"] = rss_mb(server.pid)
        rss["peak_during_load"] = max(samples) if samples else float("nan")
        third = max(1, len(samples) // 3)
        rss["first_third_mean"] = statistics.mean(samples[:third]) if samples else float("nan")
        rss["last_third_mean"] = statistics.mean(samples[-third:]) if samples else float("nan")
        after = httpx.get(url + "/health", timeout=5).json()
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()

    def rate(results: list[dict], seconds: float) -> float:
        return sum(r["ok"] for r in results) / seconds

    r1, r8, r_off = rate(single, t_single), rate(eight, t_eight), len(batch_q) / t_offline
    failed = [r for r in load if not r["ok"]] + [r for r in single + eight + mixed if not r["ok"]]
    short_lat = [r["latency"] for r in mixed if r["kind"] == "short" and r["ok"]]
    long_lat = [r["latency"] for r in mixed if r["kind"] == "long" and r["ok"]]
    plain_lat = [r["latency"] for r in load if r["kind"] == "plain" and r["ok"]]
    stream_lat = [r["latency"] for r in load if r["kind"] == "stream" and r["ok"]]
    first_lat = [r["first"] for r in load if r["kind"] == "stream" and r["ok"]]
    growth = rss["last_third_mean"] - rss["first_third_mean"]
    single_p50 = pct([r["latency"] for r in single if r["ok"]], 50)
    res = {
        "model": model,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "max_batch_size": args.max_batch_size,
        "batching": after.get("batching", "static"),
        "max_new_tokens": n_new,
        "one_at_a_time": {"requests": len(single), "seconds": t_single, "per_s": r1},
        "eight_clients": {
            "requests": len(eight),
            "seconds": t_eight,
            "per_s": r8,
            "batches": eight_batches,
            "mean_batch_size": len(eight) / eight_batches,
        },
        "offline_generate": {"requests": len(batch_q), "seconds": t_offline, "per_s": r_off},
        "offline_generate_batch16": {
            "requests": len(batch_q),
            "seconds": t_offline16,
            "per_s": len(batch_q) / t_offline16,
        },
        # closed-loop clients wait clients / throughput on average: with the offline
        # batch-16 throughput as the ceiling, the least mean latency 16 clients can see
        "clients16_latency_floor_s": args.clients * t_offline16 / len(batch_q),
        "clients16_latency_floor_ratio": args.clients * t_offline16 / len(batch_q) / single_p50,
        "ratio_8_vs_1": r8 / r1,
        "ratio_8_vs_offline": r8 / r_off,
        # issue 23's names for the same measurements (16 clients = the load test)
        "single_p50_s": single_p50,
        "clients16_plain_p50_s": pct(plain_lat, 50),
        "clients16_plain_p95_s": pct(plain_lat, 95),
        "clients16_ttft_p50_s": pct(first_lat, 50),
        "clients8_throughput_ratio_sequential": r8 / r1,
        "clients8_throughput_ratio_offline": r8 / r_off,
        "failed": len(failed),
        "load": {
            "clients": args.clients,
            "requests": len(load),
            "plain": sum(r["kind"] == "plain" for r in load),
            "streamed": sum(r["kind"] == "stream" for r in load),
            "left_mid_stream": sum(r["kind"] == "left" for r in load),
            "failed": len(failed),
            "failures": failed[:10],
            "seconds": t_load,
            "per_s": len(load) / t_load,
            "plain_p50_s": pct(plain_lat, 50),
            "plain_p95_s": pct(plain_lat, 95),
            "stream_first_content_p50_s": pct(first_lat, 50),
            "stream_first_content_p95_s": pct(first_lat, 95),
            "stream_end_p50_s": pct(stream_lat, 50),
            "stream_end_p95_s": pct(stream_lat, 95),
        },
        "mixed_lengths": {
            "clients": 8,
            "requests": len(mixed),
            "max_tokens": MIXED,
            "seconds": t_mixed,
            "short_p50_s": pct(short_lat, 50),
            "short_p95_s": pct(short_lat, 95),
            "long_p50_s": pct(long_lat, 50),
            "long_p95_s": pct(long_lat, 95),
        },
        "server_rss_mib": rss,
        "rss_growth_during_load_mib": growth,
        "health_after": {k: after[k] for k in ("hooks", "queue_depth", "running", "batches")},
        "load_batches": after["batches"] - h2["batches"],
        "mean_occupancy": after.get("mean_occupancy"),  # rows a decoding step, whole run
    }
    checks = {
        "no failed request (besides the deliberate disconnects)": not failed,
        "no hook left on the model": after["hooks"] == 0,
        "queue empty, nothing running": after["queue_depth"] == 0 and after["running"] == 0,
        "memory flat (last third within 5% of the first third of the load)": growth
        <= 0.05 * rss["first_third_mean"],
        "8 clients >= 3x one at a time": r8 / r1 >= 3.0,
        "8 clients >= 0.8x offline batched generate": r8 / r_off >= 0.8,
        f"load test >= 300 requests from {args.clients} clients": len(load) >= 300,
        "issue 23: plain p50 under load <= 2.0x one request's p50": pct(plain_lat, 50)
        <= 2.0 * single_p50,
        "issue 23: plain p95 under load <= 3.0x one request's p50": pct(plain_lat, 95)
        <= 3.0 * single_p50,
        "issue 23: 8 clients >= 0.9x offline batched generate": r8 / r_off >= 0.9,
    }
    res["checks"] = checks
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "serve.json").write_text(json.dumps(res, indent=2) + "\n")
    L = res["load"]
    md = [
        "# howsure serve: load test on loopback",
        "",
        f"`.venv/bin/python bench/serve.py` — model {model}, {os.cpu_count()} CPUs, "
        f"--max-batch-size {args.max_batch_size}, {res['batching']} batching, "
        f"max_new_tokens {n_new}.",
        "",
        "| run | requests | seconds | answers/s |",
        "|---|---:|---:|---:|",
        f"| one at a time (1 client) | {len(single)} | {t_single:.1f} | {r1:.2f} |",
        f"| 8 clients | {len(eight)} | {t_eight:.1f} | {r8:.2f} |",
        f"| offline batched `model.generate` (batch 8) | {len(batch_q)} "
        f"| {t_offline:.1f} | {r_off:.2f} |",
        "",
        f"8 clients vs one at a time: **{r8 / r1:.2f}x** (target >= 3x); vs offline batched "
        f"generate: **{r8 / r_off:.2f}x** (target >= 0.8x). Mean batch size with 8 "
        f"clients {len(eight) / eight_batches:.2f}; the ceiling, offline batched against "
        f"one at a time, is {r_off / r1:.2f}x.",
        "",
        f"Load: {L['clients']} clients, {L['requests']} requests ({L['plain']} plain, "
        f"{L['streamed']} streamed to the end, {L['left_mid_stream']} left mid-stream on "
        f"purpose) in {L['seconds']:.1f} s ({L['per_s']:.2f}/s, "
        f"{len(load) / max(1, res['load_batches']):.2f} requests a batch); failed: "
        f"**{L['failed']}**.",
        "",
        "| latency under load | p50 (s) | p95 (s) |",
        "|---|---:|---:|",
        f"| plain, whole answer | {L['plain_p50_s']:.2f} | {L['plain_p95_s']:.2f} |",
        f"| streamed, first content | {L['stream_first_content_p50_s']:.2f} "
        f"| {L['stream_first_content_p95_s']:.2f} |",
        f"| streamed, to the end | {L['stream_end_p50_s']:.2f} | {L['stream_end_p95_s']:.2f} |",
        "",
        f"One request alone: p50 {single_p50:.2f} s. Closed-loop clients wait about clients / "
        f"throughput: at offline batch-16 `generate`'s "
        f"{res['offline_generate_batch16']['per_s']:.2f} answers/s (the ceiling here) "
        f"{L['clients']} clients would wait {res['clients16_latency_floor_s']:.2f} s, "
        f"{res['clients16_latency_floor_ratio']:.2f}x one request's p50; the load's plain p50 "
        f"is {L['plain_p50_s'] / single_p50:.2f}x.",
        "",
        f"Mixed lengths, 8 clients, {len(mixed)} requests, every other one with max_tokens "
        f"{MIXED['short']} among ones with {MIXED['long']}: short p50 "
        f"{res['mixed_lengths']['short_p50_s']:.2f} s / p95 "
        f"{res['mixed_lengths']['short_p95_s']:.2f} s, long p50 "
        f"{res['mixed_lengths']['long_p50_s']:.2f} s, in {t_mixed:.1f} s.",
        "",
        f"Server memory (RSS, MiB): after warm-up {rss['after_warmup']:.0f}, first third of "
        f"the load {rss['first_third_mean']:.0f}, last third {rss['last_third_mean']:.0f}, "
        f"peak {rss['peak_during_load']:.0f}, after {rss['after_load']:.0f}. Hooks on the "
        f"model afterwards: {after['hooks']}.",
        "",
        "| check | |",
        "|---|---|",
        *[f"| {name} | {'yes' if ok else '**NO**'} |" for name, ok in checks.items()],
        "",
    ]
    (out / "serve.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0 if all(checks.values()) else 1


ARGS: argparse.Namespace

if __name__ == "__main__":
    raise SystemExit(main())
