"""``howsure collect`` and ``howsure train``: from a QA set to a detector."""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

from howsure.cli.common import (
    accuracy_table,
    add_data_args,
    add_model_args,
    add_report_args,
    add_store_arg,
    model_of,
    no_gold,
    out,
    positions_arg,
)

__all__ = ["add_parsers"]


def add_parsers(sub: Any) -> None:
    """Add ``collect`` and ``train`` to the CLI's subparsers."""
    c = sub.add_parser(
        "collect",
        help="answer QA questions, label the answers, read activations",
        description="Answer every question greedily, label the answers against the gold "
        "answers, and read hidden activations; write them to --out.",
    )
    add_model_args(c)
    add_data_args(c, limit_help="N questions of the split, round-robin over topics")
    c.add_argument("--split", default="all", choices=["train", "calibration", "test", "all"])
    c.add_argument("--out", default="howsure-out/collect", help="output folder")
    c.add_argument(
        "--positions",
        type=positions_arg,
        default=["last_prompt", "last_answer", "mean_answer"],
        help="comma-separated: last_prompt, last_answer, mean_answer, mean_last_answer "
        "(stored as its two parts) (default: the first three)",
    )
    c.add_argument("--no-cache", action="store_true", help="ignore and do not write the cache")
    add_store_arg(c)
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=cmd_collect)

    t = sub.add_parser(
        "train",
        help="collect, sweep layers, fit a probe, calibrate, save a detector, report",
        description="Collect the train / calibration / test splits (cached); choose the layer "
        "and position, then the probe's regularisation, by grouped cross-validation on train "
        "(folds that hold out whole sources or topics: chosen for transfer, not fit); fit "
        "the probe on train + calibration and its calibration on grouped out-of-fold "
        "scores, stacked with the answer's token statistics; fit a familiarity model; save "
        "the detector and print metrics on the untouched test split against the "
        "single-pass baselines. On the default mixture this is the main job's training: "
        "about 17 minutes on 2 CPU cores the first time (--limit N for a quick run).",
    )
    add_model_args(t)
    add_data_args(t, limit_help="at most N questions per split (default: all)")
    add_store_arg(t)
    t.add_argument("--out", default="howsure-out/train", help="output folder")
    t.add_argument(
        "--inputs",
        default="stacked",
        choices=["stacked", "probe"],
        help="stacked (default): calibrate the probe together with the answer's token "
        "log-probabilities and entropy; probe: the probe alone",
    )
    t.add_argument(
        "--folds",
        default="auto",
        choices=["auto", "source", "topic", "random"],
        help="how choices are cross-validated: auto (default) = leave one source out with 3+ "
        "sources, else whole-topic folds; random only for comparison",
    )
    t.add_argument(
        "--calibrator",
        default="auto",
        choices=["auto", "platt", "temperature", "isotonic", "histogram", "beta"],
        help="one-input calibrator of --inputs probe and of the prompt detector (default: "
        "auto, by cross-validated NLL)",
    )
    t.add_argument("--cv", type=int, default=5, help="cross-validation folds (default 5)")
    t.add_argument(
        "--chat-per-source",
        type=int,
        default=0,
        metavar="N",
        help="also N chat-style questions per source and split (the question as given, "
        "with a system prompt, as a request, with chatter, after an earlier exchange; "
        "answers to EOS), judged by the long-answer judge, refusals left out: the detector "
        "is chosen and fitted on both styles and sends a bare question as given; the test "
        "split's chat rows are reported beside the short ones (default 0: short style only)",
    )
    t.add_argument(
        "--chat-max-new-tokens",
        type=int,
        default=256,
        metavar="N",
        help="answer length limit of the chat-style rows (default 256)",
    )
    t.add_argument(
        "--code",
        action="append",
        default=[],
        metavar="DATASET",
        help="also the code tasks of DATASET (code: the shipped ones; humaneval; or a "
        "code-task file; repeatable; needs --chat-per-source), sent as written, answered "
        "to EOS and labelled by running their tests in the sandbox: they join the chat "
        "rows as their own source, families as topics; the code test rows are reported "
        "beside the others",
    )
    add_report_args(t, n_boot=1000)
    t.set_defaults(func=cmd_train)


def cmd_collect(args: argparse.Namespace) -> int:
    """``howsure collect``: see :func:`add_parsers`."""
    from howsure.probes.collect import collect
    from howsure.qa.load import load_qa

    items = load_qa(args.dataset, split=args.split, limit=args.limit, on_no_gold=no_gold(args))
    model, tokenizer = model_of(args)
    coll = collect(  # every question's length is checked before the first is answered
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
        store=args.store,
    )
    if coll is None:
        return 0  # another process of a torchrun / accelerate launch gathered the shards
    folder = coll.save(Path(args.out))
    out(
        f"model: {coll.meta['model']['name_or_path']}  questions: {len(coll)}  "
        f"({'from cache' if coll.meta.get('cached') else 'collected'})"
    )
    out(accuracy_table(coll))
    n_cut = int(coll.extras["truncated"].sum()) if "truncated" in coll.extras else 0
    if n_cut:
        out(f"{n_cut} answers were cut at --max-new-tokens {args.max_new_tokens}")
    out(
        f"wrote {folder}/records.jsonl, activations.safetensors "
        f"({len(coll.activations)} matrices), meta.json"
    )
    return 0


def _sweep_auroc(sweep: Any, det: Any) -> float:
    for row in sweep.rows:
        if (row["layer"], row["position"]) == (det.reader.layer, det.reader.position):
            return float(row["auroc_mean"])
    return float("nan")


def _random_auroc(sweep: Any, det: Any) -> str:
    plain = sweep.meta.get("random_folds", {}).get(f"{det.reader.layer}/{det.reader.position}")
    return "" if plain is None else f"; {plain:.3f} on random folds"


def _split_table(
    detectors: dict[str, Any], coll: Any, args: argparse.Namespace, *, name: str, heading: str
) -> list[str]:
    """One more test table (chat-style rows, code tasks): ``heading``, the methods'
    metrics with intervals (also ``DIR/{name}-metrics.json``); one class: a line."""
    from howsure.eval.compare import evaluate_detectors, methods_markdown

    if len(coll) == 0 or coll.labels.all() or not coll.labels.any():
        return [f"{heading.split(' (')[0]}: {len(coll)} rows, one class only: no metrics", ""]
    report = evaluate_detectors(detectors, coll, n_boot=args.n_boot, seed=args.seed)
    report.pop("scores")
    (Path(args.out) / f"{name}-metrics.json").write_text(
        json.dumps(report["methods"], indent=2), encoding="utf-8"
    )
    return [heading, methods_markdown(report["methods"]), ""]


def _chat_lines(res: Any, detectors: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """The chat-style test rows' table (beside the short-style one), if collected."""
    chat = res.collections.get("chat-test")
    if chat is None:
        return []
    heading = (
        f"Held-out test split, chat-style rows ({len(chat)} answers to EOS or "
        f"{args.chat_max_new_tokens} tokens, {chat.meta.get('abstained', 0)} refusals left "
        f"out; accuracy {chat.labels.mean():.1%}), bootstrap 95% intervals:"
    )
    return [
        *_split_table(detectors, chat, args, name="chat", heading=heading),
        *_sentence_lines(res.detector, chat, args),
    ]


def _code_lines(res: Any, detectors: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """The code test rows' table, if code tasks were mixed in."""
    code = res.collections.get("code-test")
    if code is None:
        return []
    heading = (
        f"Held-out test split, code tasks ({len(code)} answers of {', '.join(args.code)}, "
        f"labelled by running their tests; {code.labels.mean():.1%} pass), bootstrap 95% "
        "intervals:"
    )
    return _split_table(detectors, code, args, name="code", heading=heading)


def _sentence_lines(det: Any, chat: Any, args: argparse.Namespace) -> list[str]:
    """The sentence detector and its test on the chat test rows' answer-stating sentences."""
    from howsure.eval.heldout import heldout_metrics
    from howsure.plugin.sentences import POSITION, sentence_collection

    sent = det.sentences
    if sent is None:
        return []
    training = sent.info["training"]
    line = (
        f"Sentence detector: probe from {training['probe_from']}, layer {sent.reader.layer}, "
        f"fitted on {training['n_train']} answer-stating sentences of the chat train and "
        "calibration rows"
    )
    labelled = sentence_collection(chat)
    y = labelled.labels
    if len(y) == 0 or y.all() or not y.any():
        return [f"{line}; the chat test rows' {len(y)} labelled sentences are one class.", ""]
    found = sent.assess_features(labelled.features(sent.reader.layer, POSITION), labelled.extras)
    m = heldout_metrics(found, labelled, n_boot=args.n_boot, seed=args.seed)
    (Path(args.out) / "sentence-metrics.json").write_text(json.dumps(m, indent=2), encoding="utf-8")
    lo, hi = m["auroc_ci95"]
    return [
        f"{line}. On the chat test rows' {m['n']} answer-stating sentences: AUROC "
        f"{m['auroc']:.3f} [{lo:.3f}, {hi:.3f}], best token-statistics baseline "
        f"{m['best_baseline']} {m['best_baseline_auroc']:.3f}, ECE {m['ece']:.3f} (noise floor "
        f"{m['ece_noise_floor']:.3f}), Brier skill {m['brier_skill']:+.3f}",
        "",
    ]


def cmd_train(args: argparse.Namespace) -> int:
    """``howsure train``: see :func:`add_parsers`."""
    from howsure.eval.compare import evaluate_detectors, methods_markdown, topics_markdown
    from howsure.eval.notes import weak_detector_notes
    from howsure.eval.report import write_report
    from howsure.plugin.rows import load_code_tasks
    from howsure.plugin.train import train_detector
    from howsure.qa.load import load_qa

    load_qa(args.dataset, limit=1, on_no_gold=no_gold(args))  # a bad dataset fails first
    for flag, value, least in (
        ("--chat-per-source", args.chat_per_source, 0),
        ("--chat-max-new-tokens", args.chat_max_new_tokens, 1),
    ):
        if value < least:
            raise ValueError(f"{flag} must be >= {least}, got {value}")
    if args.code and not args.chat_per_source:
        raise ValueError(
            f"--code {' --code '.join(args.code)} needs --chat-per-source N (N >= 1): code "
            "answers are chat-style rows"
        )
    for name in args.code:  # a bad code dataset fails before the model loads
        load_code_tasks(name)
    folder = Path(args.out)
    model, tokenizer = model_of(args)
    res = train_detector(
        model,
        tokenizer,
        dataset=args.dataset,
        inputs=args.inputs,
        folds=args.folds,
        calibrator=args.calibrator,
        layers=args.layers,
        limit=args.limit,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        cv=args.cv,
        seed=args.seed,
        progress=not args.quiet,
        on_no_gold=no_gold(args),
        store=args.store,
        chat_per_source=args.chat_per_source,
        chat_max_new_tokens=args.chat_max_new_tokens,
        code=tuple(args.code),
    )
    if res is None:
        return 0  # another process of a torchrun / accelerate launch trains
    detectors = {"probe": res.detector, "probe_last_prompt": res.prompt_detector}
    test = res.collections["test"]
    report = evaluate_detectors(detectors, test, n_boot=args.n_boot, seed=args.seed)
    scores = report.pop("scores")
    for name, det in detectors.items():
        det.info["metrics"] = {"test": report["methods"][name], "n_test": report["n"]}
    res.detector.save(folder / "detector")
    res.prompt_detector.save(folder / "detector-prompt")
    report["detector"] = str(folder / "detector")
    y = test.labels.astype(int)
    det = res.detector
    summary = [
        f"model: {det.fingerprint['name_or_path']}  dataset: {args.dataset}  "
        f"train/calibration/test: {len(res.collections['train'])}/"
        f"{len(res.collections['calibration'])}/{len(test)}  test accuracy: {y.mean():.1%}",
        f"detector: layer {det.reader.layer}, {det.reader.position}, logistic probe (C "
        f"{det.info['training']['C']:g}), {det.info['training']['calibrator']} calibration "
        f"of {', '.join(det.inputs)} on {res.sweep.meta.get('folds', '?')}-grouped "
        f"out-of-fold scores (sweep AUROC {_sweep_auroc(res.sweep, det):.3f} on held-out "
        f"{res.sweep.meta.get('folds', '?')} folds{_random_auroc(res.sweep, det)})",
        f"prompt detector: layer {res.prompt_detector.reader.layer}, last_prompt, "
        f"{res.prompt_detector.info['training']['calibrator']} calibration",
    ]
    if det.reader.styles:
        chat = [res.collections[f"chat-{s}"] for s in ("train", "calibration", "test")]
        summary.append(
            f"styles: short and chat ({', '.join(det.reader.styles)}); chat-style "
            f"train/calibration/test: {'/'.join(str(len(c)) for c in chat)}; a bare question "
            f"is sent as given, answers up to {det.reader.max_new_tokens} tokens"
        )
    files = write_report(
        folder,
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
        *_chat_lines(res, detectors, args),
        *_code_lines(res, detectors, args),
        f"wrote {folder}/detector, {folder}/detector-prompt, " + ", ".join(p.name for p in files),
    ]
    out("\n".join(lines))
    saved = {
        "probe": f"the saved detector {folder}/detector",
        "probe_last_prompt": f"the saved prompt detector {folder}/detector-prompt",
    }
    for note in weak_detector_notes(report["methods"], saved):  # never saved silently
        warnings.warn(note, UserWarning, stacklevel=1)
    return 0
