"""``howsure chat``: a terminal chat whose answers say how sure the model is."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from howsure.cli.common import (
    abstain_settings,
    add_abstain_args,
    add_answer_length_arg,
    add_detector_arg,
    add_model_args,
    detector_folder,
    model_of,
    out,
    read_detector,
)

__all__ = ["add_parsers", "chat_loop", "print_reply"]

_FLAGS = {"max_new_tokens": "--max-new-tokens"}  # how chat names a setting of an error


def add_parsers(sub: Any) -> None:
    """Add ``chat`` to the CLI's subparsers."""
    ch = sub.add_parser(
        "chat",
        help="chat with a model that says how sure it is",
        description="A terminal chat: each line you type is a question (the detector's "
        "instruction is appended), answered in the context of the conversation so far; "
        "the reply is the line 'The model is N% sure.' and then the answer, read from "
        "the same forward pass (a score-before-answering detector's answer streams in as it "
        "is generated). /reset clears the conversation; /quit or end of input (Ctrl-D) "
        "ends. With --json: read one prompt from stdin, print one JSON object (text, "
        "answer, confidence, familiarity, layer, position, abstained, flagged, sentences, "
        "truncated and finish_reason: 'length' when the answer was cut at "
        "--max-new-tokens, else 'stop') and exit.",
    )
    add_model_args(ch)
    add_detector_arg(ch)
    ch.add_argument("--json", action="store_true", help="one prompt from stdin, one JSON line")
    add_answer_length_arg(ch)
    add_abstain_args(ch)
    ch.set_defaults(func=cmd_chat)


def cmd_chat(args: argparse.Namespace) -> int:
    """``howsure chat``: see :func:`add_parsers`."""
    from howsure.plugin.wrapper import wrap

    abstain = abstain_settings(args)
    det = read_detector(detector_folder(args.detector, model=args.model), args)  # before the model
    prompt = None
    if args.json:
        prompt = sys.stdin.read().strip()
        if not prompt:
            raise ValueError(
                "--json reads one prompt from stdin, but stdin was empty; e.g. "
                "echo 'What is the capital of Peru?' | howsure chat --json"
            )
    model, tokenizer = model_of(args)
    chat = wrap(model, tokenizer, det, **abstain)
    if prompt is not None:
        gen = chat.generate(prompt, max_new_tokens=args.max_new_tokens)
        internal = ("prefix", "token_ids")
        shown = {k: v for k, v in gen.to_dict().items() if k not in internal}
        # OpenAI's word for why the answer ended: at --max-new-tokens ("length") or not
        shown["finish_reason"] = "length" if gen.truncated else "stop"
        out(json.dumps(shown, ensure_ascii=False))
        return 0
    return chat_loop(chat, max_new_tokens=args.max_new_tokens)


def print_reply(chat: Any, messages: list[dict], *, max_new_tokens: int | None) -> Any:
    """Print one reply from the wrapper's stream events: the prefix line (with a note when
    flagged) as soon as the confidence is known, then the answer, as it streams when the
    confidence came first, and, for an answer of several sentences with sentence
    confidences, the least sure one. Returns the :class:`ConfidentGeneration`."""
    from howsure.plugin.events import ConfidenceEvent, EndEvent, TextEvent
    from howsure.plugin.generation import percent
    from howsure.probes.familiarity import UNFAMILIAR_NOTE

    held: list[str] = []  # answer text that arrived before the confidence
    known = False
    with chat.events(messages, max_new_tokens=max_new_tokens) as events:
        for event in events:
            if isinstance(event, ConfidenceEvent):
                notes = [
                    *(["below the confidence threshold"] if event.flagged else []),
                    *([UNFAMILIAR_NOTE] if event.unfamiliar else []),
                ]
                out(event.prefix + (f" ({'; '.join(notes)})" if notes else ""))
                known = True
                if event.abstained:
                    sys.stdout.write(chat.abstain_message)
                sys.stdout.write("".join(held))
                held = []
            elif isinstance(event, TextEvent):
                if known:
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                else:
                    held.append(event.text)
            elif isinstance(event, EndEvent):
                out("".join(held))
                result = event.result
                if len(result.sentences) > 1 and not result.abstained:
                    low = min(result.sentences, key=lambda s: s.confidence)
                    text = low.text if len(low.text) <= 80 else low.text[:77] + "..."
                    out(f"(least sure sentence, {percent(low.confidence)}%: {text})")
                return result
    raise RuntimeError("the stream ended without a result")  # pragma: no cover


def _lines(stream: Any) -> Any:
    """The lines of ``stream``; on a terminal, each asked for with a ``> `` marker."""
    tty = stream.isatty()
    while True:
        if tty:
            sys.stdout.write("> ")
            sys.stdout.flush()
        line = stream.readline()
        if not line:
            return
        yield line


def chat_loop(chat: Any, *, max_new_tokens: int | None) -> int:
    """Read lines from stdin until /quit or end of input (with a ``> `` marker on a
    terminal); answer each in context."""
    from howsure.core.errors import ContextLengthError
    from howsure.probes.prompts import question_messages

    reader = chat.detector.reader
    out(
        f"howsure chat ({chat.model.config.name_or_path}, detector layer {reader.layer}, "
        f"{reader.position}). Type a question; /reset clears the conversation, /quit ends."
    )
    conversation: list[dict] = []
    try:
        for line in _lines(sys.stdin):
            text = line.strip()
            if not text:
                continue
            if text in ("/quit", "/exit"):
                break
            if text == "/reset":
                conversation = []
                out("(conversation cleared)")
                continue
            if text.startswith("/"):
                out(f"unknown command {text!r}: use /reset or /quit")
                continue
            user = question_messages(text, instruction=chat.instruction)[0]
            try:
                gen = print_reply(chat, [*conversation, user], max_new_tokens=max_new_tokens)
            except ContextLengthError as err:  # the conversation outgrew the context
                what, fix = ("the question", "Ask a shorter question.")
                if conversation:
                    what, fix = ("the conversation", "Type /reset to start a new one.")
                out(f"error: {err.render(_FLAGS, prompt=what)}. {fix}")
                continue
            if gen.answer:  # the model's own answer stays in its context
                conversation += [user, {"role": "assistant", "content": gen.answer}]
    except KeyboardInterrupt:
        out()
        return 130
    return 0
