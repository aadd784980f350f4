"""Command line: ``howsure <command> ...`` (see ``howsure --help``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from howsure._version import __version__


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _layers_arg(text: str) -> str | list[int]:
    if text == "all":
        return "all"
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid --layers {text!r}: use 'all' or comma-separated integers like 5,10,-1"
        ) from None


def _positions_arg(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default=None,
        help="model: local folder, .gguf file or Hugging Face id (default: embedded SmolLM2-135M)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, mps (default auto)")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="howsure",
        description="Calibrated confidence for Hugging Face chat models.",
    )
    parser.add_argument("--version", action="version", version=f"howsure {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    c = sub.add_parser(
        "collect",
        help="answer QA questions, label the answers, read activations",
        description="Answer every question greedily, label the answers against the gold "
        "answers, and read hidden activations; write them to --out.",
    )
    _add_model_args(c)
    c.add_argument("--dataset", default="builtin", help="'builtin' or a .jsonl/.json/.csv file")
    c.add_argument("--split", default="all", choices=["train", "calibration", "test", "all"])
    c.add_argument("--limit", type=int, default=None, help="first N questions of the split")
    c.add_argument("--out", default="howsure-out/collect", help="output folder")
    c.add_argument("--layers", type=_layers_arg, default="all", help="'all' or e.g. 5,10,-1")
    c.add_argument(
        "--positions",
        type=_positions_arg,
        default=["last_prompt", "last_answer", "mean_answer"],
        help="comma-separated: last_prompt, last_answer, mean_answer (default: all)",
    )
    c.add_argument("--batch-size", type=int, default=16)
    c.add_argument("--max-new-tokens", type=int, default=32)
    c.add_argument("--no-cache", action="store_true", help="ignore and do not write the cache")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=_cmd_collect)
    return parser


def _cmd_collect(args: argparse.Namespace) -> int:
    from howsure.probes.collect import collect
    from howsure.probes.models import load_model
    from howsure.probes.qa_data import load_qa

    items = load_qa(args.dataset, split=args.split, limit=args.limit)
    model, tokenizer = load_model(args.model, device=args.device, dtype=args.dtype)
    coll = collect(
        model,
        tokenizer,
        items,
        layers=args.layers,
        positions=args.positions,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        dataset=str(args.dataset),
        split=args.split,
        cache=not args.no_cache,
        progress=not args.quiet,
    )
    out = coll.save(Path(args.out))
    _out(
        f"model: {coll.meta['model']['name_or_path']}  questions: {len(coll)}  "
        f"({'from cache' if coll.meta.get('cached') else 'collected'})"
    )
    _out(_accuracy_table(coll))
    n_cut = int(coll.extras["truncated"].sum()) if "truncated" in coll.extras else 0
    if n_cut:
        _out(f"{n_cut} answers were cut at --max-new-tokens {args.max_new_tokens}")
    _out(
        f"wrote {out}/records.jsonl, activations.safetensors "
        f"({len(coll.activations)} matrices), meta.json"
    )
    return 0


def _accuracy_table(coll) -> str:
    lines = ["| topic | n | accuracy |", "|---|---:|---:|"]
    for topic, (n, acc) in coll.topic_accuracy().items():
        lines.append(f"| {topic} | {n} | {acc:.1%} |")
    lines.append(f"| **overall** | {len(coll)} | {coll.accuracy:.1%} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, TypeError) as err:
        sys.stderr.write(f"howsure {args.command}: error: {err}\n")
        return 2
