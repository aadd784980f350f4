"""``howsure serve``: an OpenAI-compatible HTTP server whose answers carry their confidence.

``app``
    The Starlette app: routes, the key, the body limit, streaming (:func:`create_app`).
``requests``
    Strict reading of the request bodies (what is served and what is refused).
``responses``
    The JSON sent: OpenAI's objects with a ``confidence`` field.
``batcher``
    Continuous (or static) batching in one worker, with a bounded queue.
``state``
    What the routes share (``app.state.server``): the model, batcher, metrics, settings.
``auth``
    The API key, checked by a middleware on every ``/v1`` path.
``metrics``
    ``GET /metrics`` in Prometheus' text format.
``settings``, ``errors``
    The server's limits; OpenAI-style errors.
``run``
    uvicorn in the foreground or in a thread.

Starlette and uvicorn are imported only when a server is made (``pip install
'howsure[serve]'``; Gradio brings them too).
"""

from __future__ import annotations

from howsure.core.lazy import lazy_exports

_EXPORTS = {
    "create_app": "howsure.server.app",
    "served_name": "howsure.server.app",
    "APIError": "howsure.server.errors",
    "Metrics": "howsure.server.metrics",
    "Batcher": "howsure.server.batcher",
    "ServerSettings": "howsure.server.settings",
    "RunningServer": "howsure.server.run",
    "serve_forever": "howsure.server.run",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
