"""Command line: ``howsure <command> ...`` (see ``howsure --help``).

``common``
    Flags, their checks and output shared by every command.
``data``
    ``collect`` and ``train``.
``heldout``
    ``loto`` (leave one source or topic out) and ``recalibrate``.
``familiar``
    ``familiarity``: the familiarity flag on held-out kinds and sources.
``chat``
    ``chat``: a terminal chat rendered from the wrapper's stream events.
``demo``
    ``demo``: the web page.
``evaluate``
    ``eval`` and ``transfer``.
``serve``
    ``serve``: the OpenAI-compatible HTTP server.
``freeform``
    ``freeform``: chat-style answers, the sentence detector, held-out reports.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from howsure.cli import chat, data, demo, evaluate, familiar, freeform, heldout, serve
from howsure.cli.common import check_flags, error_text
from howsure.core.version import __version__

__all__ = ["build_parser", "main", "one_line_warning"]


def build_parser() -> argparse.ArgumentParser:
    """The ``howsure`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="howsure",
        description="Calibrated confidence for Hugging Face chat models.",
    )
    parser.add_argument("--version", action="version", version=f"howsure {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    data.add_parsers(sub)  # collect, train
    heldout.add_parsers(sub)  # loto, recalibrate
    familiar.add_parsers(sub)  # familiarity
    chat.add_parsers(sub)
    demo.add_parsers(sub)
    evaluate.add_parsers(sub)  # eval, transfer
    serve.add_parsers(sub)
    freeform.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 bad input or arguments).

    Bad arguments (argparse's own errors, and the numeric checks of
    :func:`howsure.cli.common.check_flags`) and every ``ValueError`` / ``TypeError`` of a
    command end with one line on stderr naming the flag and the fix, and exit code 2.
    Warnings show as one line, ``howsure <command>: warning: ...``, without Python's
    file and source line.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or an argparse error (already printed)
        return int(stop.code or 0)
    before = warnings.formatwarning
    warnings.formatwarning = one_line_warning(args.command)
    try:
        check_flags(args)
        return int(args.func(args))
    except (ValueError, TypeError) as err:
        sys.stderr.write(f"howsure {args.command}: error: {error_text(err, args)}\n")
        return 2
    finally:
        warnings.formatwarning = before


def one_line_warning(command: str) -> Callable[..., str]:
    """A ``warnings.formatwarning`` that writes ``howsure <command>: warning: <message>``
    on one line (no file, line number or source line)."""

    def format_warning(message: Warning | str, *args: Any, **kwargs: Any) -> str:
        text = " ".join(str(message).split())
        return f"howsure {command}: warning: {text}\n"

    return format_warning
