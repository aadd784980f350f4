"""``howsure demo``: the web page (Gradio) where people chat with a model that says how sure
it is."""

from __future__ import annotations

import argparse
from typing import Any

from howsure.cli.common import (
    add_answer_length_arg,
    add_detector_arg,
    add_model_args,
    detector_folder,
    model_of,
    out,
    read_detector,
)

__all__ = ["add_parsers"]


def add_parsers(sub: Any) -> None:
    """Add ``demo`` to the CLI's subparsers."""
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
    add_model_args(de)
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
    add_answer_length_arg(de)
    de.add_argument(
        "--abstain-below",
        type=float,
        default=None,
        metavar="P",
        help="the threshold slider's starting value (0-1, e.g. 0.5; default 0: never abstain)",
    )
    de.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    """``howsure demo``: see :func:`add_parsers`."""
    import importlib.util

    from howsure import demo

    demo.check_port(args.port)
    # a missing default detector is not an error: the page says so and chats without one
    folder = detector_folder(args.detector, required=args.detector is not None, model=args.model)
    if importlib.util.find_spec("gradio") is None:
        raise ValueError(f"the demo needs gradio: {demo.INSTALL_HINT}")
    # A default detector that is missing, broken, or does not fit the model: the page says
    # why (and a warning here), and the model chats without a confidence. A --detector
    # given is read (its files checked) before the model loads: a broken one stops here.
    detector: Any = folder if folder.exists() else None
    if detector is not None:
        try:  # its files are checked now; the page names the folder for its report
            checked = read_detector(folder, args)
        except ValueError:
            if args.detector is not None:
                raise
        else:
            if args.strict_dtype:  # a refused dtype is one more reason the page gives
                detector = checked
    model, tokenizer = model_of(args)
    app = demo.build_app(
        model,
        tokenizer,
        detector=detector,
        report=args.report,
        max_new_tokens=args.max_new_tokens,
        abstain_below=args.abstain_below,
    )
    out("howsure demo: Ctrl-C stops the server")
    demo.launch(app, host=args.host, port=args.port)
    return 0
