"""Which thread steps the model: the main thread against another, on the embedded model.

Once the main thread has run parallel torch work (loading the model does), torch's
OpenMP pool steps the model slower in any other thread. This measures it two ways:

1. a 16-row decoding step of :class:`~howsure.probes.stepping.StepBatch` in the main
   thread, then in a new thread (mean of 20 steps each, after a warm-up);
2. one 48-token answer through ``ConfidentModel.generate`` (the calling thread) and
   through ``ConfidentModel.events`` (a worker thread), as ``howsure chat`` streams it.

Why ``howsure serve`` runs the model in the main thread (``serve_forever``). Results:
``bench/results/threads.{json,md}``.

    .venv/bin/python bench/threads.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def step_ms(model, tok, ids: list[list[int]], cfg, pad: int) -> float:
    """Mean milliseconds of 20 decoding steps of a 16-row batch, in this thread."""
    from howsure.probes.generate import GenRow
    from howsure.probes.stepping import StepBatch

    with StepBatch(model, eos=set(), pad_token_id=pad, layers=[12]) as batch:
        batch.add([GenRow(i, 64) for i in ids], configs=[cfg] * len(ids))
        batch.step()  # warm-up
        t0 = time.perf_counter()
        for _ in range(20):
            batch.step()
        return (time.perf_counter() - t0) / 20 * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(RESULTS), help="results folder")
    args = ap.parse_args()

    import howsure
    from howsure.probes.generate import generation_config
    from howsure.qa.load import load_qa

    model, tok = howsure.load_model()
    chat = howsure.wrap(model, tok)
    pad = chat.pad_id
    questions = [it.question for it in load_qa("mix", split="test", limit=16)]
    ids = [list(chat.prepare(q).ids) for q in questions]  # as the server renders them
    cfg, _ = generation_config(model, default_max_new_tokens=64, pad_token_id=pad)
    main_ms = step_ms(model, tok, ids, cfg, pad)
    other: list[float] = []
    worker = threading.Thread(target=lambda: other.append(step_ms(model, tok, ids, cfg, pad)))
    worker.start()
    worker.join()

    messages = [{"role": "user", "content": "Tell me about the history of Paris in detail."}]
    chat.generate(messages, max_new_tokens=8)  # warm-up
    gen_s, ev_s = [], []
    for _ in range(2):
        t0 = time.perf_counter()
        answer = chat.generate(messages, max_new_tokens=48)
        gen_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with chat.events(messages, max_new_tokens=48) as events:
            for _event in events:
                pass
        ev_s.append(time.perf_counter() - t0)
    res = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "step16_main_thread_ms": main_ms,
        "step16_other_thread_ms": other[0],
        "step16_ratio": other[0] / main_ms,
        "answer_tokens": len(answer.token_ids),
        "generate_calling_thread_s": min(gen_s),
        "events_worker_thread_s": min(ev_s),
        "events_ratio": min(ev_s) / min(gen_s),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "threads.json").write_text(json.dumps(res, indent=2) + "\n")
    md = [
        "# Which thread steps the model",
        "",
        f"`.venv/bin/python bench/threads.py` — embedded model, {os.cpu_count()} CPUs.",
        "",
        "| | main thread | another thread | ratio |",
        "|---|---:|---:|---:|",
        f"| 16-row decoding step (ms) | {main_ms:.1f} | {other[0]:.1f} "
        f"| {res['step16_ratio']:.2f}x |",
        f"| {res['answer_tokens']}-token answer: `generate` / `events` (s, best of 2) "
        f"| {res['generate_calling_thread_s']:.2f} | {res['events_worker_thread_s']:.2f} "
        f"| {res['events_ratio']:.2f}x |",
        "",
    ]
    (out / "threads.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
