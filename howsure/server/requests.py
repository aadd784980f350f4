"""Reading the JSON bodies of ``/v1/chat/completions`` and ``/v1/score``, strictly.

A field the server does not serve is refused with a 400 naming it and the fix, never
ignored: ``n`` above the server's cap (or ``n > 1`` with ``stream``), tools,
penalties, ``logit_bias``, non-text content, a JSON response format.
Sampling follows the wrapper, not OpenAI's default: greedy unless ``temperature`` > 0
(the detector was fitted on greedy answers).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from howsure.core.errors import ContextLengthError, SettingError
from howsure.plugin.stops import check_stop_strings
from howsure.server.errors import APIError, bad_request
from howsure.server.settings import ServerSettings

__all__ = [
    "REQUEST_FIELDS",
    "ChatRequest",
    "ScoreRequest",
    "parse_chat",
    "parse_json",
    "parse_score",
    "setting_error",
]

MAX_STOP = 4
"""The most stop strings a request may send (OpenAI's limit)."""

ROLES = ("system", "developer", "user", "assistant")
"""Message roles served (``developer`` is read as ``system``)."""

REQUEST_FIELDS: dict[str, str] = {
    "max_new_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "do_sample": "temperature",
}
"""The request field of each generation setting (the Python parameter of a
:class:`~howsure.core.errors.SettingError`), so an error names what the client sent."""


def setting_error(err: SettingError) -> APIError:
    """The 400 for a typed setting error from the wrapper, worded by ``err.param``.

    The parameter is said as the request field the client sent (:data:`REQUEST_FIELDS`:
    ``max_new_tokens`` -> ``max_tokens``); a :class:`~howsure.core.errors.ContextLengthError`
    is the conversation's fault (``param`` ``"messages"``, code
    ``context_length_exceeded``).

    Parameters
    ----------
    err : SettingError

    Returns
    -------
    APIError
    """
    if isinstance(err, ContextLengthError):
        message = err.render(REQUEST_FIELDS, prompt="the conversation")
        return bad_request(message, "messages", "context_length_exceeded")
    return bad_request(err.render(REQUEST_FIELDS), REQUEST_FIELDS.get(err.param, err.param))


# fields a client may send that change nothing here (bookkeeping on OpenAI's side)
_IGNORED = {"user", "metadata", "store", "service_tier", "safety_identifier", "prompt_cache_key"}
# fields that are fine at their "off" value and refused otherwise, with the reason
_OFF_ONLY: dict[str, tuple[tuple[Any, ...], str]] = {
    "tools": ((None, []), "tool calls are not served; leave tools out"),
    "tool_choice": ((None, "none"), "tool calls are not served; leave tool_choice out"),
    "parallel_tool_calls": ((None,), "tool calls are not served; leave it out"),
    "functions": ((None, []), "function calls are not served; leave functions out"),
    "function_call": ((None, "none"), "function calls are not served; leave it out"),
    "presence_penalty": ((None, 0, 0.0), "penalties are not served; leave it out or send 0"),
    "frequency_penalty": ((None, 0, 0.0), "penalties are not served; leave it out or send 0"),
    "logit_bias": ((None, {}), "logit_bias is not served; leave it out"),
    "modalities": ((None, ["text"]), "only text output is served"),
    "audio": ((None,), "audio output is not served; leave audio out"),
    "prediction": ((None,), "predicted outputs are not served; leave prediction out"),
    "reasoning_effort": ((None,), "reasoning effort is not served; leave it out"),
    "web_search_options": ((None,), "web search is not served; leave it out"),
}
_CHAT_FIELDS = {
    "model",
    "messages",
    "stream",
    "stream_options",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "seed",
    "response_format",
    "n",
    "stop",
    "logprobs",
    "top_logprobs",
    "howsure",
}
MAX_TOP_LOGPROBS = 20
"""The most ``top_logprobs`` a request may ask for (OpenAI's limit)."""


@dataclass(frozen=True)
class ChatRequest:
    """A checked ``/v1/chat/completions`` request.

    Attributes
    ----------
    model : str
    messages : list of dict
        ``{"role", "content"}`` with text content (``developer`` read as ``system``).
    max_tokens : int or None
        ``None``: the detector's answer length.
    temperature, top_p : float or None
        ``temperature`` > 0 samples; ``None`` or 0 is greedy.
    seed : int or None
        Sampling seed: a seeded row samples from its own generator (continuous
        batching) or runs alone after ``torch.manual_seed`` (static batching); either
        way the same seed gives the same answer.
    n : int
        How many choices (independent rows).
    stop : tuple of str
        Stop strings (up to 4): the answer ends right before the first one.
    top_logprobs : int or None
        ``None``: no log-probabilities (``logprobs`` false); else each answer token's
        log-probability and this many of each step's most likely tokens (0 to 20).
    stream, include_usage : bool
    prefix : bool
        Whether the content starts with "The model is N% sure.".
    """

    model: str
    messages: list[dict]
    max_tokens: int | None
    temperature: float | None
    top_p: float | None
    seed: int | None
    n: int
    stop: tuple[str, ...]
    top_logprobs: int | None
    stream: bool
    include_usage: bool
    prefix: bool

    @property
    def sampling(self) -> bool:
        """True when ``temperature`` > 0."""
        return bool(self.temperature)


@dataclass(frozen=True)
class ScoreRequest:
    """A checked ``/v1/score`` request: the conversation and the answer to score."""

    model: str
    messages: list[dict]
    answer: str


def parse_json(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 naming what is wrong."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise bad_request(
            f"the request body is not valid JSON ({err}); send a JSON object with "
            "Content-Type: application/json",
            code="invalid_json",
        ) from None
    if not isinstance(body, dict):
        raise bad_request(
            f"the request body must be a JSON object, got {type(body).__name__}",
            code="invalid_json",
        )
    return body


def _model(body: dict, names: tuple[str, ...]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request(f"model must be a model name (str); served: {names[0]!r}", "model")
    if model not in names:
        raise APIError(
            404,
            f"the model {model!r} is not served here; use {names[0]!r} (GET /v1/models)",
            param="model",
            code="model_not_found",
        )
    return model


def _content(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind != "text" or not isinstance(part.get("text"), str):
                raise bad_request(
                    f"{where}[{j}] is a {kind or type(part).__name__!s} part; only text "
                    'parts ({"type": "text", "text": ...}) are served',
                    f"{where}[{j}]",
                )
            texts.append(part["text"])
        return "".join(texts)
    raise bad_request(
        f"{where} must be a string or a list of text parts, got {type(content).__name__}",
        where,
    )


def _messages(body: dict, settings: ServerSettings) -> list[dict]:
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise bad_request(
            "messages must be a list of {'role', 'content'} objects, got "
            f"{type(messages).__name__}",
            "messages",
        )
    if not messages:
        raise bad_request(
            "messages is empty; send at least one message, e.g. "
            '[{"role": "user", "content": "What is the capital of Peru?"}]',
            "messages",
        )
    if len(messages) > settings.max_messages:
        raise bad_request(
            f"messages holds {len(messages)} messages, more than the {settings.max_messages} "
            "served; send fewer (or start the server with a larger --max-messages)",
            "messages",
        )
    out = []
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise bad_request(f"{where} must be an object, got {type(msg).__name__}", where)
        role = msg.get("role")
        if role not in ROLES:
            raise bad_request(
                f"{where}.role is {role!r}; served roles are {', '.join(ROLES)}",
                f"{where}.role",
            )
        extra = set(msg) - {"role", "content", "name"}
        if extra:
            raise bad_request(
                f"{where} has fields that are not served: {', '.join(sorted(extra))} "
                "(tool calls, audio, refusals); send role and content only",
                where,
            )
        text = _content(msg.get("content"), f"{where}.content")
        if not text.strip():
            raise bad_request(f"{where}.content is empty; every message needs text", where)
        out.append({"role": "system" if role == "developer" else role, "content": text})
    return out


def _number(body: dict, name: str, lo: float, hi: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not lo <= value <= hi:
        raise bad_request(f"{name} must be a number in [{lo:g}, {hi:g}]; got {value!r}", name)
    return float(value)


def _max_tokens(body: dict, settings: ServerSettings) -> int | None:
    given = {k: body[k] for k in ("max_tokens", "max_completion_tokens") if body.get(k) is not None}
    if len(set(map(repr, given.values()))) > 1:
        raise bad_request(
            f"max_tokens and max_completion_tokens differ ({given}); send one of them",
            "max_tokens",
        )
    if not given:
        return None
    name, value = next(iter(given.items()))
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise bad_request(f"{name} must be an integer >= 1; got {value!r}", name)
    if value > settings.max_tokens:
        raise bad_request(
            f"{name} is {value}, over this server's cap of {settings.max_tokens}; ask for "
            "fewer (or start the server with a larger --max-tokens)",
            name,
            code="max_tokens_exceeded",
        )
    return value


def _refuse_unserved(body: dict, fields: set[str]) -> None:
    for name, (off, why) in _OFF_ONLY.items():
        if name in body and body[name] not in off:
            raise bad_request(f"{name}={body[name]!r} is not supported: {why}", name, "unsupported")
    unknown = set(body) - fields - _IGNORED - set(_OFF_ONLY)
    if unknown:
        raise bad_request(
            f"unknown fields: {', '.join(sorted(unknown))}; see the README's server section "
            "for the fields served",
            sorted(unknown)[0],
            "unsupported",
        )


def _logprobs(body: dict) -> int | None:
    """``None`` when ``logprobs`` is off, else the ``top_logprobs`` asked for (0 to 20)."""
    on = body.get("logprobs")
    if on is not None and not isinstance(on, bool):
        raise bad_request(f"logprobs must be true or false; got {on!r}", "logprobs")
    top = body.get("top_logprobs")
    if top is None:
        return 0 if on else None
    if not isinstance(top, int) or isinstance(top, bool) or not 0 <= top <= MAX_TOP_LOGPROBS:
        raise bad_request(
            f"top_logprobs must be an integer in [0, {MAX_TOP_LOGPROBS}]; got {top!r}",
            "top_logprobs",
        )
    if not on:
        raise bad_request(
            "top_logprobs needs logprobs=true; send both, or leave top_logprobs out",
            "top_logprobs",
        )
    return top


def parse_chat(body: dict, settings: ServerSettings, names: tuple[str, ...]) -> ChatRequest:
    """Check a ``/v1/chat/completions`` body (400 or 404 :class:`APIError` on bad input).

    Parameters
    ----------
    body : dict
        The parsed JSON body.
    settings : ServerSettings
    names : tuple of str
        The model names served (the first is shown in errors).
    """
    _refuse_unserved(body, _CHAT_FIELDS)
    model = _model(body, names)
    messages = _messages(body, settings)
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise bad_request(f"stream must be true or false; got {stream!r}", "stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict) or set(options) - {"include_usage"}:
        raise bad_request(
            f'stream_options must be {{"include_usage": true|false}}; got {options!r}',
            "stream_options",
        )
    if options and not stream:
        raise bad_request("stream_options is only allowed with stream=true", "stream_options")
    fmt = body.get("response_format")
    if fmt is not None and fmt != {"type": "text"}:
        raise bad_request(
            f"response_format {fmt!r} is not served: only plain text answers are",
            "response_format",
            "unsupported",
        )
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise bad_request(f"seed must be an integer; got {seed!r}", "seed")
    n = body.get("n")
    n = 1 if n is None else n
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= settings.max_n:
        raise bad_request(
            f"n must be an integer in [1, {settings.max_n}] (this server's cap); got {n!r}",
            "n",
        )
    if n > 1 and stream:
        raise bad_request(
            "n > 1 is not served with stream=true; stream one choice per request, or send "
            "stream=false to get n choices at once",
            "n",
            "unsupported",
        )
    try:
        stop = check_stop_strings(body.get("stop"), max_count=MAX_STOP)
    except (TypeError, ValueError) as err:
        raise bad_request(
            f"{err}; send a string or a list of up to {MAX_STOP} non-empty strings", "stop"
        ) from None
    top_logprobs = _logprobs(body)
    ext = body.get("howsure") or {}
    if not isinstance(ext, dict) or set(ext) - {"prefix"}:
        raise bad_request(f'howsure must be {{"prefix": true|false}}; got {ext!r}', "howsure")
    prefix = ext.get("prefix", settings.prefix)
    if not isinstance(prefix, bool):
        raise bad_request(f"howsure.prefix must be true or false; got {prefix!r}", "howsure")
    return ChatRequest(
        model=model,
        messages=messages,
        max_tokens=_max_tokens(body, settings),
        temperature=_number(body, "temperature", 0.0, 2.0),
        top_p=_number(body, "top_p", 0.0, 1.0),
        seed=seed,
        n=n,
        stop=stop,
        top_logprobs=top_logprobs,
        stream=stream,
        include_usage=bool(options.get("include_usage", False)),
        prefix=prefix,
    )


def parse_score(body: dict, settings: ServerSettings, names: tuple[str, ...]) -> ScoreRequest:
    """Check a ``/v1/score`` body: ``{"model", "messages", "answer"}``."""
    unknown = set(body) - {"model", "messages", "answer"}
    if unknown:
        raise bad_request(
            f"unknown fields: {', '.join(sorted(unknown))}; /v1/score takes model, messages "
            "and answer",
            sorted(unknown)[0],
        )
    model = _model(body, names)
    messages = _messages(body, settings)
    answer = body.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        raise bad_request(
            f"answer must be the assistant's answer to score (a non-empty str), got {answer!r}",
            "answer",
        )
    return ScoreRequest(model=model, messages=messages, answer=answer)
