"""The ASGI app of ``howsure serve`` (Starlette): routes, key, body limit, streaming.

Routes
    ``POST /v1/chat/completions`` (plain and ``stream=true``), ``POST /v1/score``,
    ``GET /v1/models``, ``GET /health``, ``GET /metrics`` (Prometheus text,
    :mod:`howsure.server.metrics`). Every ``/v1`` path needs ``Authorization: Bearer
    <key>`` when the server has a key (:class:`~howsure.server.auth.APIKeyMiddleware`);
    ``/health`` and ``/metrics`` never do (for load balancers and scrapers; they tell no
    secrets).

Shape
    The routes are module-level functions reading ``request.app.state.server`` (a
    :class:`~howsure.server.state.ServerState`: the model, settings, batcher, metrics).
    A refusal is an :class:`~howsure.server.errors.APIError`, raised anywhere and
    turned into OpenAI's error object by one exception handler; a typed
    :class:`~howsure.core.errors.SettingError` from the wrapper becomes one by its
    ``param`` (:func:`~howsure.server.requests.setting_error`).

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
    otherwise.

Disconnects
    Once a request's body is read, a listener task waits for the ``http.disconnect``
    ASGI message, raced against the generation: when it comes, the request's ``stop``
    flag is set (its row ends after the current step, or it is dropped from the queue)
    and the route stops waiting. No polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from howsure.core.errors import SettingError
from howsure.plugin.events import (
    ConfidenceEvent,
    EndEvent,
    EventDecoder,
    SentenceEvent,
    TextEvent,
    TextView,
)
from howsure.server import responses as R
from howsure.server.auth import APIKeyMiddleware
from howsure.server.batcher import Job
from howsure.server.errors import APIError
from howsure.server.metrics import CONTENT_TYPE
from howsure.server.requests import ChatRequest, parse_chat, parse_score, setting_error
from howsure.server.settings import ServerSettings
from howsure.server.state import ServerState, served_name

__all__ = ["INSTALL_HINT", "create_app", "served_name", "web_stack"]

INSTALL_HINT = "pip install 'howsure[serve]'"
"""How to install the server's dependencies (Starlette and uvicorn)."""

_MODEL_PATHS = ("/v1/chat/completions", "/v1/score")  # counted in howsure_requests_total
_GONE = "gone"  # the queue item the disconnect listener sends


def web_stack() -> None:
    """Import Starlette and uvicorn, or raise ImportError with the install hint."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as err:
        raise ImportError(f"howsure serve needs starlette and uvicorn: {INSTALL_HINT}") from err


def _json(body: Any, status: int = 200, headers: dict | None = None) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse(body, status_code=status, headers=headers)


def _server(request: Any) -> ServerState:
    return request.app.state.server


# -- generation news and disconnects -----------------------------------------------------


def _sink(
    loop: asyncio.AbstractEventLoop, q: asyncio.Queue, server: ServerState, *, tokens: bool = True
) -> Any:
    """``emit`` for a job: hands the worker's news to the request's coroutine (without
    the token items when ``tokens`` is False: a plain request needs only the result),
    counting tokens and the time to the first one."""
    metrics, start, first = server.metrics, time.monotonic(), [True]

    def emit(kind: str, value: Any) -> None:
        if kind == "token":
            metrics.token()
            if first[0]:
                first[0] = False
                metrics.first_token(time.monotonic() - start)
        if kind in ("token", "read", "logprob") and not tokens:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
            loop.call_soon_threadsafe(q.put_nowait, (kind, value))

    return emit


async def _listen(receive: Any, job: Job | list[Job], q: asyncio.Queue) -> None:
    """Wait for the client's ``http.disconnect``; then stop the job's row (each job's,
    for a list) and tell the route (a :data:`_GONE` item in its queue). Started once the
    body has been read."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            for one in job if isinstance(job, list) else [job]:
                one.stop.set()
            q.put_nowait((_GONE, None))
            return


def _failure(err: BaseException) -> APIError:
    return APIError(500, f"the generation failed: {type(err).__name__}: {err}", type="server_error")


async def _result(request: Any, job: Job, q: asyncio.Queue) -> Any:
    """A plain request's result, raced against its client's disconnect; ``None`` when
    the client went away (its row is stopped)."""
    listener = asyncio.create_task(_listen(request.receive, job, q))
    try:
        while True:
            kind, value = await q.get()
            if kind == "error":
                raise _failure(value)
            if kind == "done":
                return value
            if kind == _GONE:
                return None
    finally:
        listener.cancel()
        job.stop.set()  # ends the row at once if it still runs


def _tagged(emit: Any, index: int) -> Any:
    """``emit`` for choice ``index`` of a request: its values as ``(index, value)``."""

    def tagged(kind: str, value: Any) -> None:
        emit(kind, (index, value))

    return tagged


async def _results(request: Any, jobs: list[Job], q: asyncio.Queue) -> tuple | None:
    """The results of a request's choices (their sinks :func:`_tagged` into one queue)
    and their log-probability items (``None`` each where not asked), raced against its
    client's disconnect; ``None`` when the client went away."""
    listener = asyncio.create_task(_listen(request.receive, jobs, q))
    found: dict[int, Any] = {}
    logprobs: dict[int, Any] = {}
    try:
        while len(found) < len(jobs):
            kind, value = await q.get()
            if kind == _GONE:
                return None
            if kind == "error":
                raise _failure(value[1])
            if kind == "logprobs":
                logprobs[value[0]] = value[1]
            if kind == "done":
                found[value[0]] = value[1]
        return [found[i] for i in range(len(jobs))], [logprobs.get(i) for i in range(len(jobs))]
    finally:
        listener.cancel()
        for job in jobs:
            job.stop.set()  # ends the rows at once if they still run


def _cancelled(server: ServerState) -> Any:
    server.metrics.request("cancelled")
    return _json({}, 499)


# -- routes ------------------------------------------------------------------------------


async def health(request: Any) -> Any:
    return _json(_server(request).health())


async def metrics(request: Any) -> Any:
    from starlette.responses import Response

    server = _server(request)
    return Response(server.metrics.render(server.batcher), media_type=CONTENT_TYPE)


async def models(request: Any) -> Any:
    return _json(_server(request).models())


async def score(request: Any) -> Any:
    server = _server(request)
    chat = server.chat
    req = parse_score(await server.body(request), server.settings, server.names)
    n_answer = len(chat.tokenizer(req.answer, add_special_tokens=False)["input_ids"])
    prepared = server.prepare(req.messages, None, n_answer + 1)
    q: asyncio.Queue = asyncio.Queue()
    sink = _sink(asyncio.get_running_loop(), q, server)
    job = Job(emit=sink, score=(req.messages, req.answer))
    server.submit(job)
    found = await _result(request, job, q)
    if found is None:
        return _cancelled(server)
    confidence, familiarity, sentences = found
    served = server.confidence(chat.confidence_event(confidence, familiarity))
    if chat.detector.sentences is not None:
        served["sentences"] = [s.to_dict() for s in sentences]
    server.metrics.request("ok")
    return _json(
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
    server = _server(request)
    req = parse_chat(await server.body(request), server.settings, server.names)
    prepared = server.prepare(req.messages, req, req.max_tokens)
    q: asyncio.Queue = asyncio.Queue()
    sink = _sink(asyncio.get_running_loop(), q, server, tokens=req.stream)
    rid = R.new_id()
    if req.stream:
        job = Job(
            emit=sink,
            prepared=prepared,
            seed=req.seed,
            stop_strings=req.stop,
            top_logprobs=req.top_logprobs,
            streamed=True,
        )
        server.submit(job)
        return _EventStream(server, req, job, q, rid=rid, n_prompt=len(prepared.ids))
    jobs = [
        Job(
            emit=_tagged(sink, i),
            prepared=prepared,
            seed=None if req.seed is None else req.seed + i,
            stop_strings=req.stop,
            top_logprobs=req.top_logprobs,
        )
        for i in range(req.n)
    ]
    try:
        for job in jobs:
            server.submit(job)
    except APIError:
        for job in jobs:
            job.stop.set()  # the choices already queued are dropped
        raise
    found = await _results(request, jobs, q)
    if found is None:
        return _cancelled(server)
    results, logprobs = found
    tok = server.chat.tokenizer
    choices = [
        R.choice(
            index=i,
            content=result.text if req.prefix else _bare(server.chat, result),
            finish_reason="length" if result.truncated else "stop",
            confidence=server.confidence(result),
            logprobs=None if items is None else R.logprobs_json(items, tok),
        )
        for i, (result, items) in enumerate(zip(results, logprobs, strict=True))
    ]
    n_answer = sum(len(result.token_ids) for result in results)
    body = R.completion(
        rid=rid,
        model=req.model,
        choices=choices,
        usage_=R.usage(len(prepared.ids), n_answer),
        fingerprint=server.fingerprint,
    )
    server.metrics.request("ok")
    return _json(body)


_ROUTES = (
    ("/health", health, "GET"),
    ("/metrics", metrics, "GET"),
    ("/v1/models", models, "GET"),
    ("/v1/chat/completions", completions, "POST"),
    ("/v1/score", score, "POST"),
)


# -- errors ------------------------------------------------------------------------------


async def api_error(request: Any, exc: Exception) -> Any:
    """The exception handler: an :class:`APIError` (or a typed setting error, named by
    its ``param``) as OpenAI's error object with its status."""
    err = setting_error(exc) if isinstance(exc, SettingError) else exc
    if request.url.path in _MODEL_PATHS:
        _server(request).metrics.request("error")
    return _json(err.body(), err.status, err.headers)


async def not_found(request: Any, exc: Any) -> Any:
    """Starlette's 404 and 405, in OpenAI's error shape."""
    status = getattr(exc, "status_code", 404)
    what = "method" if status == 405 else "path"
    served = ", ".join(f"{m} {p}" for p, _, m in _ROUTES)
    err = APIError(
        status,
        f"no such {what}: {request.method} {request.url.path}; served: {served}",
        code="not_found" if status == 404 else "method_not_allowed",
    )
    return _json(err.body(), err.status)


# -- the app -----------------------------------------------------------------------------


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
        ``app.state.server`` is its :class:`~howsure.server.state.ServerState`, whose
        ``batcher`` (:class:`~howsure.server.batcher.Batcher`) is closed when the app
        shuts down.
    """
    web_stack()
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.routing import Route

    if chat.detector is None:
        raise ValueError("howsure serve needs a detector: wrap the model with one")
    settings = settings or ServerSettings()
    name = model_name or served_name(chat.model)
    names = tuple(dict.fromkeys([name, str(chat.model.config.name_or_path)]))
    server = ServerState(chat, settings=settings, names=names, detector_path=detector_path)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        if not server.worker_in_caller:
            server.batcher.start()  # in a thread of its own
        yield
        await asyncio.to_thread(server.batcher.close)

    key = Middleware(APIKeyMiddleware, key=settings.api_key, on_refused=server.metrics.refused_key)
    app = Starlette(
        routes=[Route(path, route, methods=[method]) for path, route, method in _ROUTES],
        middleware=[key],
        exception_handlers={
            APIError: api_error,
            SettingError: api_error,
            HTTPException: not_found,
        },
        lifespan=lifespan,
    )
    app.state.server = server
    return app


def _bare(chat: Any, result: Any) -> str:
    """The content without the prefix: the answer, or the abstain message instead."""
    return chat.abstain_message if result.abstained else result.answer


class _EventStream:
    """The ASGI response of a streamed request: its server-sent events, raced against
    the client's disconnect; the row ends however the response ends (done, the client
    gone, cancelled), and the request is counted by its outcome."""

    def __init__(
        self,
        server: ServerState,
        req: ChatRequest,
        job: Job,
        q: asyncio.Queue,
        *,
        rid: str,
        n_prompt: int,
    ) -> None:
        self.server, self.req, self.job, self.q = server, req, job, q
        self.rid, self.n_prompt = rid, n_prompt
        self.outcome = "cancelled"  # until the stream ends with [DONE] or an error

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        listener = asyncio.create_task(_listen(receive, self.job, self.q))
        body = self.events()
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream; charset=utf-8"),
                        (b"cache-control", b"no-cache"),
                    ],
                }
            )
            async for part in body:
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the client went away while we sent
            self.outcome = "cancelled" if self.outcome == "ok" else self.outcome
        finally:
            listener.cancel()
            self.job.stop.set()
            await body.aclose()
            self.server.metrics.request(self.outcome)

    async def events(self) -> AsyncIterator[bytes]:
        """The server-sent events of the request, until ``[DONE]``, an error, or the
        client's disconnect."""
        server, req, chat = self.server, self.req, self.server.chat
        meta = {"rid": self.rid, "model": req.model, "created": int(time.time())}
        meta["fingerprint"] = server.fingerprint
        decoder, view = EventDecoder(chat), TextView(chat, prefix=req.prefix)
        yield R.sse(R.chunk(**meta, delta={"role": "assistant", "content": ""}))
        pending: list = []  # "logprob" items of tokens not yet in a chunk

        def logprobs(text: str) -> dict | None:
            """The ``logprobs`` of a chunk with ``text`` (none without it): the pending
            tokens' (taken)."""
            if req.top_logprobs is None or not text:
                return None
            items = pending[:]
            pending.clear()
            return R.logprobs_json(items, chat.tokenizer)

        while True:
            kind, value = await self.q.get()
            if kind == _GONE:
                return
            if kind == "error":
                self.outcome = "error"
                yield R.sse(_failure(value).body())
                return
            if kind in ("logprob", "logprobs"):
                if kind == "logprob":
                    pending.append(value)
                continue
            events = decoder.finish(value) if kind == "done" else decoder.feed(kind, value)
            for event in events:
                text = "".join(view.pieces(event))
                delta = {"content": text} if text else {}
                if isinstance(event, ConfidenceEvent):
                    yield R.sse(
                        R.chunk(
                            **meta,
                            delta=delta,
                            confidence=server.confidence(event),
                            logprobs=logprobs(text),
                        )
                    )
                elif isinstance(event, TextEvent) and text:
                    yield R.sse(R.chunk(**meta, delta=delta, logprobs=logprobs(text)))
                elif isinstance(event, SentenceEvent):
                    one = {"sentences": [event.sentence.to_dict()]}
                    yield R.sse(R.chunk(**meta, confidence=one))
                elif isinstance(event, EndEvent):
                    if text:
                        yield R.sse(R.chunk(**meta, delta=delta, logprobs=logprobs(text)))
                    result = event.result
                    reason = "length" if result.truncated else "stop"
                    last = logprobs("end") if pending else None
                    yield R.sse(R.chunk(**meta, finish_reason=reason, logprobs=last))
                    if req.include_usage:
                        used = R.usage(self.n_prompt, len(result.token_ids))
                        yield R.sse(R.chunk(**meta, usage_=used))
                    self.outcome = "ok"
                    yield R.sse("[DONE]")
                    return
