"""Command line: ``howsure <command> ...`` (see ``howsure --help``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from howsure._version import __version__

DEFAULT_DETECTOR = "howsure-out/train/detector"
"""Where ``howsure train`` saves its detector (with the default ``--out``)."""


def detector_folder(arg: str | None, *, required: bool = True) -> Path:
    """The ``--detector`` folder (default :data:`DEFAULT_DETECTOR`).

    Raises
    ------
    ValueError
        ``required`` and the folder does not exist, naming it and the fix.
    """
    folder = Path(arg if arg is not None else DEFAULT_DETECTOR)
    if required and not folder.exists():
        raise ValueError(
            f"no detector at {folder}: run `howsure train` first to make one, or pass "
            "--detector DIR"
        )
    return folder


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


def add_dataset_args(p: argparse.ArgumentParser, *, limit_help: str) -> None:
    """``--dataset``, ``--limit`` and ``--batch-size``."""
    p.add_argument(
        "--dataset",
        default="builtin",
        help="'builtin', a local .jsonl/.json/.csv/.parquet file, or a hub dataset name: "
        "triviaqa, nq_open, sciq, popqa, truthfulqa (needs network)",
    )
    p.add_argument("--limit", type=int, default=None, help=limit_help)
    p.add_argument("--batch-size", type=int, default=16)


def _add_data_args(p: argparse.ArgumentParser, *, limit_help: str) -> None:
    add_dataset_args(p, limit_help=limit_help)
    p.add_argument("--layers", type=_layers_arg, default="all", help="'all' or e.g. 5,10,-1")
    p.add_argument("--max-new-tokens", type=int, default=32)


def add_detector_arg(
    p: argparse.ArgumentParser, *, default: str | None = None, what: str = "detector folder"
) -> None:
    """``--detector`` (unset: :data:`DEFAULT_DETECTOR`, where ``howsure train`` saves it)."""
    p.add_argument(
        "--detector",
        default=default,
        help=f"{what} (default: {DEFAULT_DETECTOR}, written by `howsure train`)",
    )


def _add_answer_length_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-new-tokens",
        type=int,
        default=None,
        help="answer length limit (default: the detector's, what it was trained with)",
    )


def add_report_args(p: argparse.ArgumentParser, *, n_boot: int) -> None:
    """``--n-boot``, ``--seed`` and ``--quiet`` of the commands that report metrics."""
    p.add_argument("--n-boot", type=int, default=n_boot, help="bootstrap resamples for the CIs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")


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
    _add_data_args(c, limit_help="N questions of the split, round-robin over topics")
    c.add_argument("--split", default="all", choices=["train", "calibration", "test", "all"])
    c.add_argument("--out", default="howsure-out/collect", help="output folder")
    c.add_argument(
        "--positions",
        type=_positions_arg,
        default=["last_prompt", "last_answer", "mean_answer"],
        help="comma-separated: last_prompt, last_answer, mean_answer, mean_last_answer "
        "(stored as its two parts) (default: the first three)",
    )
    c.add_argument("--no-cache", action="store_true", help="ignore and do not write the cache")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=_cmd_collect)

    t = sub.add_parser(
        "train",
        help="collect, sweep layers, fit a probe, calibrate, save a detector, report",
        description="Collect the train / calibration / test splits (cached), pick the layer "
        "and position by cross-validated AUROC on train, fit the probe, choose and fit the "
        "calibrator on the calibration split, save the detector, and print held-out metrics "
        "on the test split against the single-pass baselines.",
    )
    _add_model_args(t)
    _add_data_args(t, limit_help="at most N questions per split")
    t.add_argument("--out", default="howsure-out/train", help="output folder")
    t.add_argument("--probe", default="logistic", choices=["logistic", "mass_mean"])
    t.add_argument(
        "--calibrator",
        default="auto",
        choices=["auto", "platt", "temperature", "isotonic", "histogram", "beta"],
    )
    t.add_argument("--cv", type=int, default=5, help="cross-validation folds")
    add_report_args(t, n_boot=1000)
    t.set_defaults(func=_cmd_train)

    ch = sub.add_parser(
        "chat",
        help="chat with a model that says how sure it is",
        description="A terminal chat: each line you type is a question (the detector's "
        "instruction is appended), answered in the context of the conversation so far; "
        "the reply is the line 'The model is N% sure.' and then the answer, read from "
        "the same forward pass. /reset clears the conversation; /quit or end of input "
        "(Ctrl-D) ends. With --json: read one prompt from stdin, print one JSON object "
        "(text, answer, confidence, layer, position, abstained, flagged) and exit.",
    )
    _add_model_args(ch)
    add_detector_arg(ch)
    ch.add_argument("--json", action="store_true", help="one prompt from stdin, one JSON line")
    _add_answer_length_arg(ch)
    ch.add_argument(
        "--abstain-below",
        type=float,
        default=None,
        metavar="P",
        help='answer "I\'m not sure." when the confidence is below P (0-1, e.g. 0.5)',
    )
    ch.add_argument(
        "--target-error",
        type=float,
        default=None,
        metavar="E",
        help="instead of --abstain-below: the threshold that kept the error rate of the "
        "answers given at most E on the detector's calibration split",
    )
    ch.add_argument(
        "--flag",
        action="store_true",
        help="keep low-confidence answers and mark them instead of replacing them",
    )
    ch.set_defaults(func=_cmd_chat)

    de = sub.add_parser(
        "demo",
        help="web demo: chat with a model that shows how sure it is (needs gradio)",
        description="Serve a local web page (Gradio; pip install 'howsure[demo]'): a chat "
        "whose answers stream in with a coloured confidence badge and an abstention "
        "threshold slider; the detector's report (reliability diagram, ROC, key metrics "
        "against the baselines); and batch answering of pasted or uploaded questions, "
        "downloadable as CSV. Without a usable detector the page says why and the model "
        "chats without a confidence. One generation runs at a time; Ctrl-C stops.",
    )
    _add_model_args(de)
    add_detector_arg(de)
    de.add_argument(
        "--report",
        default=None,
        help="report folder with metrics.json and plots (default: the detector folder's "
        "parent, where `howsure train --out` writes them)",
    )
    de.add_argument("--host", default="127.0.0.1", help="address to listen on (default local)")
    de.add_argument(
        "--port",
        type=int,
        default=None,
        help="port (default: the first free one from 7860; 0: any free port)",
    )
    _add_answer_length_arg(de)
    de.add_argument(
        "--abstain-below",
        type=float,
        default=None,
        metavar="P",
        help="the threshold slider's starting value (0-1, e.g. 0.5; default 0: never abstain)",
    )
    de.set_defaults(func=_cmd_demo)

    lo = sub.add_parser(
        "loto",
        help="leave one topic out: how the detector does on topics it never saw",
        description="Collect the splits (cached, as `howsure train` does); for each topic, fit "
        "a detector on the other topics' train rows at the --detector's layer and position, "
        "calibrate it on their calibration rows, and score every row of the held-out topic "
        "against the single-pass baselines. Writes loto.json and loto.md to --out.",
    )
    _add_model_args(lo)
    _add_data_args(lo, limit_help="at most N questions per split")
    lo.add_argument("--out", default="howsure-out/loto", help="output folder")
    add_detector_arg(lo, what="detector whose layer and position to use")
    lo.add_argument("--cv", type=int, default=5, help="cross-validation folds")
    add_report_args(lo, n_boot=200)
    lo.set_defaults(func=_cmd_loto)

    from howsure.cli_eval import add_parsers  # eval, transfer

    add_parsers(sub)
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


def _cmd_train(args: argparse.Namespace) -> int:
    from howsure.eval.compare import evaluate_detectors, methods_markdown, topics_markdown
    from howsure.eval.report import write_report
    from howsure.plugin.train import train_detector
    from howsure.probes.models import load_model

    out = Path(args.out)
    model, tokenizer = load_model(args.model, device=args.device, dtype=args.dtype)
    res = train_detector(
        model,
        tokenizer,
        dataset=args.dataset,
        probe=args.probe,
        calibrator=args.calibrator,
        layers=args.layers,
        limit=args.limit,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        cv=args.cv,
        seed=args.seed,
        progress=not args.quiet,
    )
    detectors = {"probe": res.detector, "probe_last_prompt": res.prompt_detector}
    test = res.collections["test"]
    report = evaluate_detectors(detectors, test, n_boot=args.n_boot, seed=args.seed)
    scores = report.pop("scores")
    for name, det in detectors.items():
        det.info["metrics"] = {"test": report["methods"][name], "n_test": report["n"]}
    res.detector.save(out / "detector")
    res.prompt_detector.save(out / "detector-prompt")
    report["detector"] = str(out / "detector")
    y = test.labels.astype(int)
    det = res.detector
    summary = [
        f"model: {det.fingerprint['name_or_path']}  dataset: {args.dataset}  "
        f"train/calibration/test: {len(res.collections['train'])}/"
        f"{len(res.collections['calibration'])}/{len(test)}  test accuracy: {y.mean():.1%}",
        f"detector: layer {det.reader.layer}, {det.reader.position}, {args.probe} probe, "
        f"{det.info['training']['calibrator']} calibration "
        f"(sweep AUROC {_sweep_auroc(res.sweep, det):.3f})",
        f"prompt detector: layer {res.prompt_detector.reader.layer}, last_prompt, "
        f"{res.prompt_detector.info['training']['calibrator']} calibration",
    ]
    files = write_report(
        out,
        metrics=report,
        scores=scores,
        collection=test,
        detectors=list(detectors),
        uncalibrated=det.probe.confidence(test.features(det.reader.layer, det.reader.position)),
        sweep=res.sweep,
        title=f"howsure train: held-out test split of {args.dataset}",
        summary=summary,
    )
    lines = [
        *summary,
        "",
        "Held-out test split, bootstrap 95% intervals:",
        methods_markdown(report["methods"]),
        "",
        "AUROC within each topic:",
        topics_markdown(report["topics"], list(report["methods"])),
        "",
        f"wrote {out}/detector, {out}/detector-prompt, " + ", ".join(p.name for p in files),
    ]
    _out("\n".join(lines))
    return 0


def _cmd_loto(args: argparse.Namespace) -> int:
    import json

    from howsure.eval.transfer import leave_one_topic_out, loto_markdown
    from howsure.plugin.detector import Detector
    from howsure.plugin.train import collect_splits
    from howsure.probes.activations import POSITIONS
    from howsure.probes.models import load_model

    folder = detector_folder(args.detector)  # leave-one-topic-out uses its layer and position
    model, tokenizer = load_model(args.model, device=args.device, dtype=args.dtype)
    det = Detector.load(folder, model=model, tokenizer=tokenizer)
    layer, position = det.reader.layer, det.reader.position
    colls = collect_splits(
        model,
        tokenizer,
        dataset=args.dataset,
        limit=args.limit,
        layers=args.layers,
        positions=POSITIONS,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        progress=not args.quiet,
    )
    training = det.info.get("training", {})
    rows = leave_one_topic_out(
        colls,
        layer=layer,
        position=position,
        probe=training.get("probe", "logistic"),
        cv=args.cv,
        seed=args.seed,
        n_boot=args.n_boot,
        detector=det,
        progress=not args.quiet,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "dataset": args.dataset,
        "detector": str(folder),
        "layer": layer,
        "position": position,
        "topics": rows,
    }
    (out / "loto.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    text = "\n".join(
        [
            f"Leave one topic out: dataset {args.dataset}, layer {layer}, {position} "
            f"(from {folder}); each topic scored by a detector fitted without it",
            "",
            loto_markdown(rows),
        ]
    )
    (out / "loto.md").write_text(text + "\n", encoding="utf-8")
    _out(f"{text}\n\nwrote {out}/loto.json, {out}/loto.md")
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    import json

    from howsure.plugin.wrapper import wrap
    from howsure.probes.models import load_model

    folder = detector_folder(args.detector)
    prompt = None
    if args.json:
        prompt = sys.stdin.read().strip()
        if not prompt:
            raise ValueError(
                "--json reads one prompt from stdin, but stdin was empty; e.g. "
                "echo 'What is the capital of Peru?' | howsure chat --json"
            )
    model, tokenizer = load_model(args.model, device=args.device, dtype=args.dtype)
    chat = wrap(
        model,
        tokenizer,
        folder,
        abstain_below=args.abstain_below,
        target_error=args.target_error,
        abstain_mode="flag" if args.flag else "replace",
    )
    if prompt is not None:
        gen = chat.generate(prompt, max_new_tokens=args.max_new_tokens)
        keys = ("text", "answer", "confidence", "layer", "position", "abstained", "flagged")
        _out(json.dumps({k: getattr(gen, k) for k in keys}, ensure_ascii=False))
        return 0
    return _chat_loop(chat, max_new_tokens=args.max_new_tokens)


def _chat_loop(chat, *, max_new_tokens: int | None) -> int:
    """Read lines from stdin until /quit or end of input; answer each in context."""
    from howsure.probes.prompts import question_messages

    instruction = chat.detector.reader.instruction
    reader = chat.detector.reader
    _out(
        f"howsure chat ({chat.model.config.name_or_path}, detector layer {reader.layer}, "
        f"{reader.position}). Type a question; /reset clears the conversation, /quit ends."
    )
    conversation: list[dict] = []
    try:
        for line in sys.stdin:
            text = line.strip()
            if not text:
                continue
            if text in ("/quit", "/exit"):
                break
            if text == "/reset":
                conversation = []
                _out("(conversation cleared)")
                continue
            if text.startswith("/"):
                _out(f"unknown command {text!r}: use /reset or /quit")
                continue
            user = question_messages(text, instruction=instruction)[0]
            try:
                gen = chat.generate([*conversation, user], max_new_tokens=max_new_tokens)
            except ValueError as err:  # e.g. the conversation outgrew the context
                _out(f"error: {err}. Type /reset to start a new conversation.")
                continue
            _out(gen.prefix + (" (below the confidence threshold)" if gen.flagged else ""))
            _out(chat.abstain_message if gen.abstained else gen.answer)
            if gen.answer:  # the model's own answer stays in its context
                conversation += [user, {"role": "assistant", "content": gen.answer}]
    except KeyboardInterrupt:
        _out()
        return 130
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    import importlib.util

    from howsure import demo
    from howsure.probes.models import load_model

    demo.check_port(args.port)
    if args.max_new_tokens is not None and args.max_new_tokens < 1:
        raise ValueError(f"--max-new-tokens must be a positive integer, got {args.max_new_tokens}")
    if args.abstain_below is not None and not 0 <= args.abstain_below <= 1:
        raise ValueError(f"--abstain-below must be in [0, 1] (e.g. 0.5), got {args.abstain_below}")
    # a missing default detector is not an error: the page says so and chats without one
    folder = detector_folder(args.detector, required=args.detector is not None)
    if importlib.util.find_spec("gradio") is None:
        raise ValueError(f"the demo needs gradio: {demo.INSTALL_HINT}")
    model, tokenizer = load_model(args.model, device=args.device, dtype=args.dtype)
    # A default detector that is missing, or one that does not fit the model: the page
    # says why (and a warning here), and the model chats without a confidence.
    app = demo.build_app(
        model,
        tokenizer,
        detector=folder if folder.exists() else None,
        report=args.report,
        max_new_tokens=args.max_new_tokens,
        abstain_below=args.abstain_below,
    )
    _out("howsure demo: Ctrl-C stops the server")
    demo.launch(app, host=args.host, port=args.port)
    return 0


def _sweep_auroc(sweep, det) -> float:
    for row in sweep.rows:
        if (row["layer"], row["position"]) == (det.reader.layer, det.reader.position):
            return float(row["auroc_mean"])
    return float("nan")


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
