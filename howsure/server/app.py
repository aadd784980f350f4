"""The ASGI app of ``howsure serve`` (Starlette): routes, key, body limit, streaming.

Routes
    ``POST /v1/chat/completions`` (plain and ``stream=true``), ``POST /v1/score``,
    ``GET /v1/models``, ``GET /health``. Every ``/v1`` route needs ``Authorization:
    Bearer <key>`` when the server has a key; ``/health`` never does (for load
    balancers; it tells no secrets).

Order of checks, cheapest first and all before any model work: the key (401), the body
size (413), JSON (400), the fields (400, or 404 for an unknown model), the prompt's
tokens against the context window (400 ``context_length_exceeded``), a place in the
queue (503, retryable, with ``Retry-After``).

Streaming
    Server-sent events in OpenAI's chunk format, rendered from the wrapper's typed
    events (:class:`~howsure.plugin.events.EventDecoder`, :class:`~howsure.plugin.events.TextView`),
    the path the CLI chat and the demo use. The chunk that carries the confidence has a
    ``confidence`` field on its choice (:mod:`howsure.server.responses`): it comes first
    for a ``last_prompt`` detector (with the prefix as its content), after the answer
    otherwise. A client that disconnects ends its row of the batch after the current
    step.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from howsure.core.errors import ContextLengthError, SettingError
from howsure.core.version import __version__
from howsure.plugin.events import (
    ConfidenceEvent,
    EndEvent,
    EventDecoder,
    SentenceEvent,
    TextEvent,
    TextView,
)
from howsure.probes.hooks import howsure_hooks
from howsure.probes.models import fingerprint_key, model_fingerprint
from howsure.server import responses as R
from howsure.server.batcher import Batcher, Job, QueueFull
from howsure.server.errors import APIError, bad_request
from howsure.server.requests import (
    REQUEST_FIELDS,
    ChatRequest,
    parse_chat,
    parse_json,
    parse_score,
)
from howsure.server.settings import ServerSettings

__all__ = ["INSTALL_HINT", "create_app", "served_name", "web_stack"]

INSTALL_HINT = "pip install 'howsure[serve]'"
"""How to install the server's dependencies (Starlette and uvicorn)."""

_POLL_S = 0.2  # how often a plain request checks that its client is still there


def web_stack() -> None:
    """Import Starlette and uvicorn, or raise ImportError with the install hint."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as err:
        raise ImportError(f"howsure serve needs starlette and uvicorn: {INSTALL_HINT}") from err


def served_name(model: Any) -> str:
    """The default model id: the last part of the model's name or path (``.gguf`` off)."""
    name = Path(str(model.config.name_or_path).rstrip("/\\")).name or "model"
    return name.removesuffix(".gguf")


def _hash_only(fingerprint: dict) -> dict:
    """A model fingerprint with its weights' hash but not their sample values (the check
    values that detectors keep; in ``/health`` they would be kilobytes of numbers)."""
    weights = fingerprint.get("weights")
    if not isinstance(weights, dict):
        return dict(fingerprint)
    return {**fingerprint, "weights": {"sha256": weights.get("sha256")}}


class _Server:
    """The state of one app: the wrapped model, its batcher, names and settings."""

    def __init__(
        self, chat: Any, settings: ServerSettings, names: tuple[str, ...], detector_path: Any
    ) -> None:
        self.chat = chat
        self.settings = settings
        self.names = names
        self.detector_path = None if detector_path is None else str(detector_path)
        self.model_fingerprint = model_fingerprint(chat.model)
        self.fingerprint = f"howsure-{__version__}-{fingerprint_key(self.model_fingerprint)}"
        self.started = int(time.time())
        self.batcher = Batcher(
            chat,
            max_batch_size=settings.max_batch_size,
            max_queue=settings.max_queue,
            window_s=settings.batch_window_ms / 1000,
        )

    # -- checks ------------------------------------------------------------------------
    def check_key(self, request: Any) -> None:
        key = self.settings.api_key
        if key is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), key.encode()
        ):
            what = "no API key was given" if not given else "the API key is wrong"
            raise APIError(
                401,
                f"{what}: send the header 'Authorization: Bearer <key>' with the key the "
                "server was started with (--api-key or HOWSURE_API_KEY)",
                type="invalid_request_error",
                code="invalid_api_key",
            )

    async def body(self, request: Any) -> dict:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        too_big = APIError(
            413,
            f"the request body is over this server's limit of {limit} bytes; send less "
            "(or start the server with a larger --max-body-bytes)",
            code="request_too_large",
        )
        if declared.isdigit() and int(declared) > limit:
            raise too_big
        parts, size = [], 0
        async for part in request.stream():
            size += len(part)
            if size > limit:
                raise too_big
            parts.append(part)
        return parse_json(b"".join(parts))

    def prepare(self, messages: list[dict], req: ChatRequest | None, n_new: int | None) -> Any:
        """The checked, tokenized request (400 on a prompt over the context window)."""
        sampling = req is not None and req.sampling
        try:
            return self.chat.prepare(
                messages,
                max_new_tokens=n_new,
                do_sample=sampling,
                temperature=req.temperature if sampling else None,
                top_p=req.top_p if sampling else None,
            )
        except ContextLengthError as err:
            raise bad_request(
                err.render(REQUEST_FIELDS, prompt="the conversation"),
                "messages",
                "context_length_exceeded",
            ) from None
        except SettingError as err:
            raise bad_request(
                err.render(REQUEST_FIELDS), REQUEST_FIELDS.get(err.param, err.param)
            ) from None
        except (ValueError, TypeError) as err:  # the messages themselves
            raise bad_request(str(err), "messages") from None

    def submit(self, job: Job) -> None:
        try:
            self.batcher.submit(job)
        except QueueFull as err:
            raise APIError(
                503,
                f"the server is busy ({err}; --max-queue {self.settings.max_queue}); retry "
                "in a moment",
                type="server_error",
                code="queue_full",
                headers={"Retry-After": "1"},
            ) from None

    # -- what the routes send --------------------------------------------------------
    def confidence(self, event: Any) -> dict:
        reader = self.chat.detector.reader
        return R.confidence_json(event, layer=reader.layer, position=reader.position)

    def health(self) -> dict:
        det = self.chat.detector
        b = self.batcher
        return {
            "status": "ok",
            "version": __version__,
            "model": self.names[0],
            "model_fingerprint": _hash_only(self.model_fingerprint),
            "system_fingerprint": self.fingerprint,
            "detector": {
                "path": self.detector_path,
                "layer": det.reader.layer,
                "position": det.reader.position,
                "inputs": det.inputs,
                "fingerprint": _hash_only(det.fingerprint),
            },
            "hooks": howsure_hooks(self.chat.model),
            "queue_depth": b.depth,
            "running": b.running,
            "max_batch_size": b.max_batch_size,
            "max_queue": b.max_queue,
            "batches": b.batches,
            "mean_batch_size": (b.batch_rows / b.batches) if b.batches else None,
        }

    def models(self) -> dict:
        return {
            "object": "list",
            "data": [
                {
                    "id": self.names[0],
                    "object": "model",
                    "created": self.started,
                    "owned_by": "howsure",
                }
            ],
        }


def _sink(loop: asyncio.AbstractEventLoop, q: asyncio.Queue, *, tokens: bool = True) -> Any:
    """``emit`` for a job: hands the worker's news to the request's coroutine (without
    the token items when ``tokens`` is False: a plain request needs only the result)."""

    def emit(kind: str, value: Any) -> None:
        if kind in ("token", "read") and not tokens:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
            loop.call_soon_threadsafe(q.put_nowait, (kind, value))

    return emit


def _failure(err: BaseException) -> APIError:
    return APIError(500, f"the generation failed: {type(err).__name__}: {err}", type="server_error")


async def _result(request: Any, job: Job, q: asyncio.Queue) -> Any:
    """Wait for a plain request's result, checking every ``_POLL_S`` that its client is
    still there; ``None`` when it went away (its row is stopped)."""
    loop = asyncio.get_running_loop()
    checked = loop.time()
    try:
        while True:
            try:
                kind, value = await asyncio.wait_for(q.get(), _POLL_S)
            except TimeoutError:
                kind, value = "wait", None
            if kind == "error":
                raise _failure(value)
            if kind == "done":
                return value
            if loop.time() - checked >= _POLL_S:
                checked = loop.time()
                if await request.is_disconnected():
                    return None
    finally:
        job.stop.set()  # ends the row at once if it still runs


def create_app(
    chat: Any,
    *,
    settings: ServerSettings | None = None,
    model_name: str | None = None,
    detector_path: str | Path | None = None,
) -> Any:
    """The Starlette app serving ``chat`` (a :class:`~howsure.plugin.confident_model.ConfidentModel`
    with a detector).

    Parameters
    ----------
    chat : ConfidentModel
    settings : ServerSettings, optional
    model_name : str, optional
        The model id clients send; default :func:`served_name`. The model's full
        ``name_or_path`` is accepted too.
    detector_path : str or Path, optional
        Shown by ``/health``.

    Returns
    -------
    starlette.applications.Starlette
        ``app.state.server.batcher`` is its :class:`~howsure.server.batcher.Batcher`,
        closed when the app shuts down.
    """
    web_stack()
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    if chat.detector is None:
        raise ValueError("howsure serve needs a detector: wrap the model with one")
    settings = settings or ServerSettings()
    name = model_name or served_name(chat.model)
    names = tuple(dict.fromkeys([name, str(chat.model.config.name_or_path)]))
    server = _Server(chat, settings, names, detector_path)

    def error_response(err: APIError) -> Any:
        return JSONResponse(err.body(), status_code=err.status, headers=err.headers)

    async def health(request: Any) -> Any:
        return JSONResponse(server.health())

    async def models(request: Any) -> Any:
        try:
            server.check_key(request)
        except APIError as err:
            return error_response(err)
        return JSONResponse(server.models())

    async def score(request: Any) -> Any:
        try:
            server.check_key(request)
            req = parse_score(await server.body(request), settings, names)
            n_answer = len(chat.tokenizer(req.answer, add_special_tokens=False)["input_ids"])
            prepared = server.prepare(req.messages, None, n_answer + 1)
            q: asyncio.Queue = asyncio.Queue()
            job = Job(emit=_sink(asyncio.get_running_loop(), q), score=(req.messages, req.answer))
            server.submit(job)
            found = await _result(request, job, q)
        except APIError as err:
            return error_response(err)
        if found is None:
            return JSONResponse({}, status_code=499)
        confidence, familiarity, sentences = found
        event = chat.confidence_event(confidence, familiarity)
        served = server.confidence(event)
        if chat.detector.sentences is not None:
            served["sentences"] = [s.to_dict() for s in sentences]
        return JSONResponse(
            {
                "id": R.new_id("score"),
                "object": "score",
                "created": int(time.time()),
                "model": req.model,
                "system_fingerprint": server.fingerprint,
                "confidence": served,
                "usage": R.usage(len(prepared.ids), n_answer),
            }
        )

    async def completions(request: Any) -> Any:
        try:
            server.check_key(request)
            req = parse_chat(await server.body(request), settings, names)
            prepared = server.prepare(req.messages, req, req.max_tokens)
            q: asyncio.Queue = asyncio.Queue()
            sink = _sink(asyncio.get_running_loop(), q, tokens=req.stream)
            job = Job(emit=sink, prepared=prepared, seed=req.seed)
            server.submit(job)
        except APIError as err:
            return error_response(err)
        rid = R.new_id()
        if req.stream:
            body = _stream(server, req, job, q, rid, len(prepared.ids))
            return _StopOnClose(job, body, media_type="text/event-stream")
        try:
            result = await _result(request, job, q)
        except APIError as err:
            return error_response(err)
        if result is None:
            return JSONResponse({}, status_code=499)
        content = result.text if req.prefix else _bare(chat, result)
        return JSONResponse(
            R.completion(
                rid=rid,
                model=req.model,
                content=content,
                finish_reason="length" if result.truncated else "stop",
                confidence=server.confidence(result),
                usage_=R.usage(len(prepared.ids), len(result.token_ids)),
                fingerprint=server.fingerprint,
            )
        )

    class _StopOnClose(StreamingResponse):
        """A streaming response that ends its row however the response ends (done, the
        client gone, cancelled)."""

        def __init__(self, job: Job, body: AsyncIterator[bytes], **kw: Any) -> None:
            super().__init__(body, **kw)
            self.job = job

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            try:
                await super().__call__(scope, receive, send)
            finally:
                self.job.stop.set()
                await self.body_iterator.aclose()

    async def not_found(request: Any, exc: Any) -> Any:
        status = getattr(exc, "status_code", 404)
        what = "method" if status == 405 else "path"
        err = APIError(
            status,
            f"no such {what}: {request.method} {request.url.path}; served: POST "
            "/v1/chat/completions, POST /v1/score, GET /v1/models, GET /health",
            code="not_found" if status == 404 else "method_not_allowed",
        )
        return error_response(err)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(server.batcher.close)

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/v1/score", score, methods=["POST"]),
        ],
        exception_handlers={HTTPException: not_found},
        lifespan=lifespan,
    )
    app.state.server = server
    return app


def _bare(chat: Any, result: Any) -> str:
    """The content without the prefix: the answer, or the abstain message instead."""
    return chat.abstain_message if result.abstained else result.answer


async def _stream(
    server: _Server, req: ChatRequest, job: Job, q: asyncio.Queue, rid: str, n_prompt: int
) -> AsyncIterator[bytes]:
    """The server-sent events of one streamed request."""
    chat = server.chat
    meta = {"rid": rid, "model": req.model, "created": int(time.time())}
    meta["fingerprint"] = server.fingerprint
    decoder, view = EventDecoder(chat), TextView(chat, prefix=req.prefix)
    yield R.sse(R.chunk(**meta, delta={"role": "assistant", "content": ""}))
    try:
        while True:
            kind, value = await q.get()
            if kind == "error":
                yield R.sse(_failure(value).body())
                return
            events = decoder.finish(value) if kind == "done" else decoder.feed(kind, value)
            for event in events:
                text = "".join(view.pieces(event))
                delta = {"content": text} if text else {}
                if isinstance(event, ConfidenceEvent):
                    yield R.sse(R.chunk(**meta, delta=delta, confidence=server.confidence(event)))
                elif isinstance(event, TextEvent) and text:
                    yield R.sse(R.chunk(**meta, delta=delta))
                elif isinstance(event, SentenceEvent):
                    one = {"sentences": [event.sentence.to_dict()]}
                    yield R.sse(R.chunk(**meta, confidence=one))
                elif isinstance(event, EndEvent):
                    if text:
                        yield R.sse(R.chunk(**meta, delta=delta))
                    result = event.result
                    reason = "length" if result.truncated else "stop"
                    yield R.sse(R.chunk(**meta, finish_reason=reason))
                    if req.include_usage:
                        used = R.usage(n_prompt, len(result.token_ids))
                        yield R.sse(R.chunk(**meta, usage_=used))
                    yield R.sse("[DONE]")
                    return
    finally:
        job.stop.set()
