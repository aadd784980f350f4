"""Benchmark the wrapper's overhead over a plain ``model.generate`` (target: at most 1.03x;
1.05x with sentence confidences).

For the same questions (``--n`` of the training mixture's test split, round-robin over
topics) and the same greedy
settings, times

* plain: render the prompts, tokenize (left padding), ``model.generate``, decode;
* wrapper: ``howsure.wrap(model, tokenizer, detector).generate_batch(questions)``, which
  does the same plus the forward hook on the detector's layer and the probe + calibrator;

interleaved (the order alternates between repeats), after a warm-up, and reports the
minimum and median times and their ratios: wall-clock time by default, or with
``--clock cpu`` the process's CPU time (``time.process_time``: user + system time of
all its threads), which other processes on a shared machine disturb far less than the
wall clock (with ``--threads 1`` it counts the work done, not the waiting). It also
checks, and fails (exit code 1) otherwise, that

* the wrapper generates exactly the token ids plain ``generate`` does;
* with a sentence detector, each sentence's confidence equals the one computed from a
  collection's reading of the same answers (``generate_and_read(sentences=True)``);
* the wrapper's confidence equals :meth:`Detector.score` for the same prompts to 1e-5
  (for an answer-position detector: the detector's scores of the same greedy answers,
  read by :func:`generate_and_read`).

Results go to ``<out>/overhead.json`` and ``<out>/overhead.md`` (default
``bench/results``).

    .venv/bin/python bench/overhead.py [--detector DIR (default: the shipped one)] [--n 32]
        [--batch-size 16] [--repeats 5] [--model M] [--out DIR] [--name overhead]
        [--chat (questions as given)] [--max-new-tokens N] [--clock wall|cpu] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

from plain import plain_generate

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--detector",
        default=None,
        help="detector folder fitted on --model (default: the one shipped for the model)",
    )
    ap.add_argument("--model", default=None, help="model (default: the embedded SmolLM2-135M)")
    ap.add_argument("--n", type=int, default=32, help="questions from the test split")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=5, help="timed runs of each, interleaved")
    ap.add_argument(
        "--max-new-tokens",
        type=int,
        default=None,
        help="answer length limit (default: the detector's)",
    )
    ap.add_argument("--out", default=str(RESULTS), help="results folder")
    ap.add_argument("--name", default="overhead", help="results file name (default overhead)")
    ap.add_argument(
        "--chat",
        action="store_true",
        help="send the questions as given (no answer-format instruction), as a chat app "
        "does: longer answers, several sentences",
    )
    ap.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall: elapsed time (default); cpu: the process's CPU time (less disturbed by "
        "other work on a shared machine)",
    )
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = ap.parse_args()

    import numpy as np
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter

    from howsure.plugin.detector import Detector
    from howsure.plugin.wrapper import wrap
    from howsure.probes.activations import generate_and_read
    from howsure.probes.models import load_model
    from howsure.qa.load import load_qa

    model, tok = load_model(args.model, device="auto")
    if args.detector is None:
        from howsure.plugin.defaults import shipped_detector_for

        args.detector = shipped_detector_for(model)
    det = Detector.load(args.detector, model=model, tokenizer=tok)
    if args.chat:
        import dataclasses

        det.reader = dataclasses.replace(det.reader, instruction="")
    chat = wrap(model, tok, det)
    reader = det.reader
    n_new = args.max_new_tokens or reader.max_new_tokens
    questions = [it.question for it in load_qa("mix", split="test", limit=args.n)]
    device = next(model.parameters()).device

    def plain() -> list[list[int]]:
        return plain_generate(
            model, tok, det, questions, batch_size=args.batch_size, max_new_tokens=n_new
        )

    def wrapped() -> list:
        return chat.generate_batch(questions, batch_size=args.batch_size, max_new_tokens=n_new)

    def timed(fn) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = clock()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return clock() - t

    # warm-up, and the equality checks on the full set
    plain_ids = plain()
    gens = wrapped()
    same_tokens = [list(g.token_ids) for g in gens] == plain_ids
    conf = np.array([g.confidence for g in gens])
    if reader.position == "last_prompt":
        ref = det.score(questions, batch_size=args.batch_size)
    else:
        res = generate_and_read(
            model,
            tok,
            det.render(questions, tok),
            layers=[reader.layer],
            positions=reader.position,
            max_new_tokens=n_new,
            batch_size=args.batch_size,
            progress=False,
        )
        ref = det.score_features(res.activations[(reader.layer, reader.position)], res.stats)
    max_diff = float(np.max(np.abs(conf - ref)))
    sentence_diff, n_sentences = None, sum(len(g.sentences) for g in gens)
    if det.sentences is not None:  # each sentence's confidence, recomputed from collection
        layer = det.sentences.reader.layer
        table = generate_and_read(
            model,
            tok,
            det.render(questions, tok),
            layers=[layer],
            positions="mean_answer",
            max_new_tokens=n_new,
            batch_size=args.batch_size,
            progress=False,
            sentences=True,
        ).sentences
        again = det.sentences.score_features(table.states[layer], table.stats)
        served = np.array([s.confidence for g in gens for s in g.sentences])
        sentence_diff = (
            float(np.max(np.abs(served - again))) if len(served) == len(again) else float("inf")
        )

    plain_t, wrap_t = [], []
    for i in range(args.repeats):
        if i % 2 == 0:
            plain_t.append(timed(plain))
            wrap_t.append(timed(wrapped))
        else:
            wrap_t.append(timed(wrapped))
            plain_t.append(timed(plain))

    ratio_min = min(wrap_t) / min(plain_t)
    ratio_median = statistics.median(wrap_t) / statistics.median(plain_t)
    n_tokens = sum(len(ids) for ids in plain_ids)
    res = {
        "model": model.config.name_or_path,
        "detector": str(args.detector),
        "layer": reader.layer,
        "position": reader.position,
        "chat_style": args.chat,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, {device.type}",
        "torch": torch.__version__,
        "questions": len(questions),
        "generated_tokens": n_tokens,
        "batch_size": args.batch_size,
        "max_new_tokens": n_new,
        "repeats": args.repeats,
        "clock": args.clock,
        "plain_generate_s": {"min": min(plain_t), "median": statistics.median(plain_t)},
        "wrapper_s": {"min": min(wrap_t), "median": statistics.median(wrap_t)},
        "ratio_min": ratio_min,
        "ratio_median": ratio_median,
        "same_token_ids": same_tokens,
        "confidence_max_abs_diff_vs_detector_score": max_diff,
        "sentences": n_sentences,
        "sentence_confidence_max_abs_diff_vs_collection": sentence_diff,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(res, indent=2) + "\n")
    md = [
        "| measure | value | target |",
        "|---|---:|---:|",
        f"| plain `generate` ({args.clock} time, min / median of {args.repeats}) | "
        f"{min(plain_t):.2f} s / "
        f"{statistics.median(plain_t):.2f} s | |",
        f"| `howsure.wrap(...).generate_batch` (min / median) | {min(wrap_t):.2f} s / "
        f"{statistics.median(wrap_t):.2f} s | |",
        f"| wrapper / plain (min-based / median-based) | {ratio_min:.3f}x / "
        f"{ratio_median:.3f}x | ≤ {1.05 if n_sentences else 1.03}x |",
        f"| same generated token ids | {'yes' if same_tokens else 'NO'} | yes |",
        f"| max abs(confidence - `Detector.score`) | {max_diff:.1e} | ≤ 1e-5 |",
    ]
    if sentence_diff is not None:
        md.append(
            f"| sentence confidences ({n_sentences}): max abs difference from collection's "
            f"reading | {sentence_diff:.1e} | ≤ 1e-5 |"
        )
    (out / f"{args.name}.md").write_text("\n".join(md) + "\n")
    print(
        f"{len(questions)} questions, {n_tokens} generated tokens, batch size "
        f"{args.batch_size}, detector layer {reader.layer} {reader.position}"
    )
    print("\n".join(md))
    failures = []
    if not same_tokens:
        failures.append("the wrapper generated other token ids than plain generate")
    if not max_diff <= 1e-5:
        failures.append(f"confidence differs from Detector.score by {max_diff:.2e} (> 1e-5)")
    if sentence_diff is not None and not sentence_diff <= 1e-5:
        failures.append(f"sentence confidences differ by {sentence_diff:.2e} (> 1e-5)")
    if failures:
        raise SystemExit("FAILED: " + "; ".join(failures))


if __name__ == "__main__":
    main()
