"""What every ``howsure`` command shares: flags, their checks, output, the detector folder.

Flags are checked here, by their flag names, before any command starts work
(:func:`check_flags`); a :class:`~howsure.core.errors.SettingError` from deeper down,
which knows the Python parameter it is about, is worded with the command's flags
(:func:`error_text`, :func:`flag_names`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_DETECTOR",
    "abstain_settings",
    "accuracy_table",
    "add_abstain_args",
    "add_answer_length_arg",
    "add_data_args",
    "add_dataset_args",
    "add_detector_arg",
    "add_model_args",
    "add_no_gold_arg",
    "add_report_args",
    "add_store_arg",
    "check_flags",
    "detector_folder",
    "detector_label",
    "dtype_policy",
    "error_text",
    "flag_names",
    "model_of",
    "no_gold",
    "out",
    "read_detector",
]

DEFAULT_DETECTOR = "howsure-out/train/detector"
"""Where ``howsure train`` saves its detector (with the default ``--out``)."""


def out(text: str = "") -> None:
    """Write a line to stdout now (commands report progress as they go)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def detector_folder(arg: str | None, *, required: bool = True, model: str | None = None) -> Path:
    """The ``--detector`` folder; unset: :data:`DEFAULT_DETECTOR` when ``howsure train``
    made one here, else (for the embedded model, ``model`` None) the detector shipped with
    howsure for it.

    Raises
    ------
    ValueError
        ``required`` and the folder does not exist, naming it and the fix.
    """
    if model is not None:  # an impossible model name is said first, before any detector
        from howsure.probes.models import check_model_name

        check_model_name(model)
    if arg is None and model is None and not Path(DEFAULT_DETECTOR).exists():
        from howsure.plugin.defaults import DEFAULT_DETECTOR_NAME, shipped_detectors

        shipped = shipped_detectors().get(DEFAULT_DETECTOR_NAME)
        if shipped is not None:
            return shipped
    folder = Path(arg if arg is not None else DEFAULT_DETECTOR)
    if required and not folder.exists() and arg is None and model is not None:
        raise ValueError(
            f"no detector for model {model!r}: train one with `howsure train --model "
            f"{model}` (it writes {DEFAULT_DETECTOR}), or pass --detector DIR"
        )
    if required and not folder.exists():
        raise ValueError(
            f"no detector at {folder}: run `howsure train` first to make one, or pass "
            "--detector DIR"
        )
    return folder


def detector_label(args: argparse.Namespace) -> str:
    """How reports name the ``--detector`` in use: its path, or "the shipped detector for
    NAME" when none was given and the package's own serves."""
    from howsure.plugin.defaults import shipped_detectors

    folder = detector_folder(args.detector, model=getattr(args, "model", None))
    for name, path in shipped_detectors().items():
        if folder.resolve() == Path(path).resolve():
            return f"the shipped detector for {name}"
    return str(folder)


def read_detector(folder: Path, args: argparse.Namespace) -> Any:
    """The detector in ``folder``, read without a model: its files are checked (format
    version, checksum, config JSON, tensors) before the model loads, so a broken folder is
    said at once; ``bind`` it to the model (or pass it to ``wrap``) afterwards."""
    from howsure.plugin.detector import Detector

    return Detector.load(folder, on_dtype_mismatch=dtype_policy(args))


def model_of(args: argparse.Namespace) -> tuple[Any, Any]:
    """The model and tokenizer of ``--model``, ``--device``, ``--dtype``,
    ``--device-map``, ``--quantization`` and ``--offload-folder``."""
    from howsure.probes.models import load_model

    return load_model(
        args.model,
        device=args.device,
        dtype=args.dtype,
        device_map=args.device_map,
        quantization=args.quantization,
        offload_folder=args.offload_folder,
    )


def dtype_policy(args: argparse.Namespace) -> str:
    """``on_dtype_mismatch`` from ``--strict-dtype``."""
    return "error" if getattr(args, "strict_dtype", False) else "warn"


def no_gold(args: argparse.Namespace) -> str:
    """``on_no_gold`` of the QA loaders from ``--skip-no-gold``."""
    return "skip" if args.skip_no_gold else "error"


# -- flag checks ---------------------------------------------------------------------------
# dest -> (kind, keyword arguments of the howsure.core.checks function), checked lazily so
# that `howsure --help` does not import scikit-learn
_CHECKS: dict[str, tuple[str, dict[str, Any]]] = {
    "limit": ("int", {"min_val": 1}),
    "batch_size": ("int", {"min_val": 1}),
    "max_new_tokens": ("int", {"min_val": 1}),
    "n_boot": ("int", {"min_val": 1}),
    "cv": ("int", {"min_val": 2}),
    "seed": ("int", {"min_val": 0}),
    "samples": ("int", {"min_val": 0, "hint": "0 leaves it out"}),
    "abstain_below": ("probability", {"hint": "e.g. 0.5"}),
    "target_error": (
        "real",
        {"min_val": 0.0, "max_val": 1.0, "include_boundaries": "left", "hint": "e.g. 0.2"},
    ),
}


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def check_flags(args: argparse.Namespace) -> None:
    """Check the numeric flags a command was given, naming each by its flag.

    Raises
    ------
    ValueError, TypeError
        e.g. ``"--limit must be an int >= 1; got 0"``.
    """
    from howsure.core import checks

    for dest, (kind, kw) in _CHECKS.items():
        value = getattr(args, dest, None)
        if value is not None:
            getattr(checks, f"check_{kind}")(value, _flag(dest), **kw)


def flag_names(args: argparse.Namespace) -> dict[str, str]:
    """This command's flags by the Python parameter each sets: ``{"abstain_below":
    "--abstain-below", ...}``."""
    return {d: _flag(d) for d in vars(args) if d not in ("func", "command")}


def error_text(err: BaseException, args: argparse.Namespace) -> str:
    """``err`` as this command says it: a :class:`~howsure.core.errors.SettingError`
    names its parameters by the command's flags (``--max-new-tokens``, not
    ``max_new_tokens``); any other error is said as it is."""
    from howsure.core.errors import SettingError

    if isinstance(err, SettingError):
        return err.render(flag_names(args))
    return str(err)


# -- flag declarations ---------------------------------------------------------------------
def layers_arg(text: str) -> str | list[int]:
    """``--layers``: ``all`` or comma-separated integers."""
    if text == "all":
        return "all"
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid --layers {text!r}: use 'all' or comma-separated integers like 5,10,-1"
        ) from None


def positions_arg(text: str) -> list[str]:
    """``--positions``: comma-separated names (checked by the reader)."""
    return [p.strip() for p in text.split(",") if p.strip()]


def add_model_args(p: argparse.ArgumentParser) -> None:
    """``--model``, ``--device`` and ``--dtype``."""
    p.add_argument(
        "--model",
        default=None,
        help="model: local folder, .gguf file or Hugging Face id (default: embedded SmolLM2-135M)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, mps (default auto)")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    p.add_argument(
        "--device-map",
        default=None,
        choices=["auto", "balanced", "balanced_low_0", "sequential"],
        help="spread a model too large for one device over the GPUs, then CPU memory, "
        "then disk (accelerate); leave --device at auto",
    )
    p.add_argument(
        "--quantization",
        default="none",
        choices=["none", "8bit", "4bit"],
        help="load the weights quantized with bitsandbytes (CUDA GPU; pip install "
        "bitsandbytes) (default none)",
    )
    p.add_argument(
        "--offload-folder",
        default=None,
        help="where --device-map may offload weights to disk (default: the howsure cache)",
    )


def add_abstain_args(p: argparse.ArgumentParser) -> None:
    """``--abstain-below``, ``--target-error`` and ``--flag``."""
    p.add_argument(
        "--abstain-below",
        type=float,
        default=None,
        metavar="P",
        help='answer "I\'m not sure." when the confidence is below P (0-1, e.g. 0.5)',
    )
    p.add_argument(
        "--target-error",
        type=float,
        default=None,
        metavar="E",
        help="instead of --abstain-below: the threshold that kept the error rate of the "
        "answers given at most E on the detector's out-of-fold training scores",
    )
    p.add_argument(
        "--flag",
        action="store_true",
        help="keep low-confidence answers and mark them instead of replacing them",
    )


def abstain_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The abstention keywords of :func:`howsure.wrap` from :func:`add_abstain_args`' flags.

    Raises
    ------
    ValueError
        ``--flag`` without a threshold.
    """
    if args.flag and args.abstain_below is None and args.target_error is None:
        raise ValueError(
            "--flag marks the answers below a confidence threshold: give one with "
            "--abstain-below P or --target-error E"
        )
    return {
        "abstain_below": args.abstain_below,
        "target_error": args.target_error,
        "abstain_mode": "flag" if args.flag else "replace",
    }


def add_no_gold_arg(p: argparse.ArgumentParser) -> None:
    """``--skip-no-gold``: leave out rows without a usable gold answer."""
    p.add_argument(
        "--skip-no-gold",
        action="store_true",
        help="leave out rows whose answers have no letters or digits (e.g. '---'), with a "
        "warning naming them; by default such rows are an error, before anything runs",
    )


def add_dataset_args(p: argparse.ArgumentParser, *, limit_help: str) -> None:
    """``--dataset``, ``--limit``, ``--batch-size`` and ``--skip-no-gold``."""
    p.add_argument(
        "--dataset",
        default="mix",
        help="'mix' (default: the shipped training mixture of five QA sets), 'builtin' (the "
        "templated set alone), a local .jsonl/.json/.csv/.parquet file, or a hub dataset "
        "name: triviaqa, nq_open, sciq, popqa, truthfulqa (needs network)",
    )
    p.add_argument("--limit", type=int, default=None, help=limit_help)
    p.add_argument("--batch-size", type=int, default=16, help="questions per batch (default 16)")
    add_no_gold_arg(p)


def add_data_args(p: argparse.ArgumentParser, *, limit_help: str) -> None:
    """:func:`add_dataset_args` plus ``--layers`` and ``--max-new-tokens``."""
    add_dataset_args(p, limit_help=limit_help)
    p.add_argument("--layers", type=layers_arg, default="all", help="'all' or e.g. 5,10,-1")
    p.add_argument(
        "--max-new-tokens", type=int, default=32, help="answer length limit (default 32)"
    )


def add_store_arg(p: argparse.ArgumentParser) -> None:
    """``--store``: the precision collected activations are kept in."""
    p.add_argument(
        "--store",
        default="float32",
        choices=["float32", "float16"],
        help="precision of the collected activations in memory and on disk; float16 "
        "halves them, for large models (default float32)",
    )


def add_detector_arg(
    p: argparse.ArgumentParser, *, default: str | None = None, what: str = "detector folder"
) -> None:
    """``--detector`` (unset: :data:`DEFAULT_DETECTOR`, where ``howsure train`` saves it,
    else the detector shipped for the embedded model)."""
    p.add_argument(
        "--detector",
        default=default,
        help=f"{what} (default: {DEFAULT_DETECTOR}, written by `howsure train`, if it "
        "exists, else the detector shipped with howsure for the embedded model)",
    )
    p.add_argument(
        "--strict-dtype",
        action="store_true",
        help="refuse a model loaded in another dtype than the detector was fitted in "
        "(default: a warning)",
    )


def add_answer_length_arg(p: argparse.ArgumentParser) -> None:
    """``--max-new-tokens`` defaulting to the detector's."""
    p.add_argument(
        "--max-new-tokens",
        type=int,
        default=None,
        help="answer length limit (default: the detector's, what it was trained with)",
    )


def add_report_args(p: argparse.ArgumentParser, *, n_boot: int) -> None:
    """``--n-boot``, ``--seed`` and ``--quiet`` of the commands that report metrics."""
    p.add_argument(
        "--n-boot",
        type=int,
        default=n_boot,
        help=f"bootstrap resamples for the 95%% intervals (default {n_boot})",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def accuracy_table(coll: Any) -> str:
    """Markdown table of a collection's accuracy per topic, and overall."""
    lines = ["| topic | n | accuracy |", "|---|---:|---:|"]
    for topic, (n, acc) in coll.topic_accuracy().items():
        lines.append(f"| {topic} | {n} | {acc:.1%} |")
    lines.append(f"| **overall** | {len(coll)} | {coll.accuracy:.1%} |")
    return "\n".join(lines)
