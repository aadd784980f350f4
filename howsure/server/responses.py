"""The JSON the server sends: OpenAI's chat-completion objects with a ``confidence`` field.

Each choice (and the stream chunk that carries it) has a ``confidence`` object::

    "confidence": {
        "value": 0.7479,              # calibrated P(answer correct), higher = surer
        "percent": 75,                # as in the prefix, rounded half up
        "prefix": "The model is 75% sure.",
        "layer": 22, "position": "mean_answer",
        "familiarity": 0.41,          # null without a familiarity model
        "unfamiliar": false,          # familiarity under 0.03: less reliable
        "abstained": false,           # below the threshold, answer replaced
        "flagged": false,             # below the threshold, answer kept and marked
        "sentences": [                # each sentence with its own confidence
            {"text": "The capital of Peru is Lima.", "start": 0, "end": 28, "value": 0.81}
        ]
    }

``sentences`` is there with a sentence detector (an empty list without one, or for an
empty answer); ``start``/``end`` are character offsets into the answer. Streamed, the
confidence chunk comes without it, and each sentence comes in a chunk of its own as soon
as it is finished and read (the last ones when the answer ends), with the same numbers:
``"confidence": {"sentences": [{...one sentence...}]}``.
"""

from __future__ import annotations

import functools
import json
import re
import time
import uuid
from typing import Any

from howsure.plugin.generation import percent

__all__ = [
    "chunk",
    "completion",
    "confidence_json",
    "new_id",
    "sse",
    "token_bytes",
    "usage",
]


def new_id(kind: str = "chatcmpl") -> str:
    """A fresh response id, e.g. ``"chatcmpl-3f2a..."``."""
    return f"{kind}-{uuid.uuid4().hex}"


def confidence_json(event: Any, *, layer: int | None, position: str | None) -> dict[str, Any]:
    """The ``confidence`` object of a :class:`~howsure.plugin.events.ConfidenceEvent` or a
    :class:`~howsure.plugin.generation.ConfidentGeneration` (they share the fields; a
    generation adds its ``sentences``)."""
    out = {
        "value": float(event.confidence),
        "percent": percent(event.confidence),
        "prefix": event.prefix,
        "layer": layer,
        "position": position,
        "familiarity": event.familiarity,
        "unfamiliar": bool(event.unfamiliar),
        "abstained": bool(event.abstained),
        "flagged": bool(event.flagged),
    }
    if hasattr(event, "sentences"):
        out["sentences"] = [s.to_dict() for s in event.sentences]
    return out


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """OpenAI's ``usage`` object."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


@functools.cache
def _byte_decoder() -> dict[str, int]:
    """Byte-level BPE's printable stand-in characters back to their bytes."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    return {char: byte for byte, char in bytes_to_unicode().items()}


def token_bytes(tokenizer: Any, tok: int) -> bytes:
    """The exact bytes of one token, as OpenAI's ``bytes`` field gives them: a token
    that holds part of a character (byte-level BPE's pieces of a multi-byte character,
    SentencePiece's ``<0xE2>`` fallbacks) gives its own bytes, not the UTF-8 of the
    replacement character its lone decoding shows; the tokens of an answer give its
    UTF-8 bytes when joined. Other tokenizers: the UTF-8 of the token's decoding."""
    piece = tokenizer.convert_ids_to_tokens(int(tok))
    if isinstance(piece, str):
        fallback = re.fullmatch(r"<0x([0-9A-Fa-f]{2})>", piece)
        if fallback:
            return bytes([int(fallback.group(1), 16)])
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if type(getattr(backend, "decoder", None)).__name__ == "ByteLevel":
            table = _byte_decoder()
            if piece and all(c in table for c in piece):
                return bytes(table[c] for c in piece)
    return tokenizer.decode([tok]).encode("utf-8")


def logprobs_json(items: list, tokenizer: Any) -> dict[str, Any]:
    """OpenAI's ``logprobs`` object of a choice (or chunk) from ``(token_id, logprob,
    top)`` items (:func:`howsure.plugin.batch.logprob_items`): each token's text, its
    UTF-8 bytes, its log-probability and its step's most likely tokens."""

    def one(tok: int, logprob: float) -> dict[str, Any]:
        text = tokenizer.decode([tok])
        return {
            "token": text,
            "logprob": float(logprob),
            "bytes": list(token_bytes(tokenizer, tok)),
        }

    content = [
        {**one(tok, lp), "top_logprobs": [one(t, v) for t, v in top]} for tok, lp, top in items
    ]
    return {"content": content, "refusal": None}


def choice(
    *,
    index: int,
    content: str,
    finish_reason: str,
    confidence: dict | None,
    logprobs: dict | None = None,
) -> dict[str, Any]:
    """One choice of a ``chat.completion`` object, with its own confidence (and its
    ``logprobs`` object from :func:`logprobs_json` when asked)."""
    out: dict[str, Any] = {
        "index": index,
        "message": {"role": "assistant", "content": content, "refusal": None},
        "logprobs": logprobs,
        "finish_reason": finish_reason,
    }
    if confidence is not None:
        out["confidence"] = confidence
    return out


def completion(
    *,
    rid: str,
    model: str,
    choices: list[dict[str, Any]],
    usage_: dict[str, int],
    fingerprint: str,
) -> dict[str, Any]:
    """A ``chat.completion`` object with its choices (from :func:`choice`)."""
    return {
        "id": rid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": fingerprint,
        "choices": choices,
        "usage": usage_,
    }


def chunk(
    *,
    rid: str,
    model: str,
    created: int,
    fingerprint: str,
    delta: dict[str, Any] | None = None,
    finish_reason: str | None = None,
    confidence: dict | None = None,
    usage_: dict[str, int] | None = None,
    logprobs: dict | None = None,
) -> dict[str, Any]:
    """A ``chat.completion.chunk``: one delta (or, with ``usage_``, the usage chunk with no
    choices, as OpenAI sends it); ``logprobs`` those of the delta's tokens."""
    out: dict[str, Any] = {
        "id": rid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": fingerprint,
        "choices": [],
    }
    if usage_ is not None:
        out["usage"] = usage_
        return out
    choice: dict[str, Any] = {
        "index": 0,
        "delta": delta or {},
        "logprobs": logprobs,
        "finish_reason": finish_reason,
    }
    if confidence is not None:
        choice["confidence"] = confidence
    out["choices"] = [choice]
    return out


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event: ``data: <json>`` and a blank line."""
    text = (
        data
        if isinstance(data, str)
        else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    )
    return f"data: {text}\n\n".encode()
