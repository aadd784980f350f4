"""The API key, checked by an ASGI middleware on every ``/v1`` path before any routing.

A request without ``Authorization: Bearer <key>`` (compared in constant time) gets a 401
in OpenAI's error shape and costs no parsing and no model work; ``/health`` and
``/metrics`` stay open (they tell no secrets).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from howsure.server.errors import APIError

__all__ = ["APIKeyMiddleware", "guarded"]


def guarded(path: str) -> bool:
    """Whether ``path`` needs the key: ``/v1`` and everything under it."""
    return path == "/v1" or path.startswith("/v1/")


class APIKeyMiddleware:
    """Refuse ``/v1`` requests without the server's key (pure ASGI).

    Parameters
    ----------
    app : ASGI app
    key : str, optional
        The key; ``None`` lets every request through.
    on_refused : callable, optional
        Called once per refused request (the metrics count them).
    """

    def __init__(
        self, app: Any, *, key: str | None, on_refused: Callable[[], None] | None = None
    ) -> None:
        self.app = app
        self.key = None if key is None else key.encode()
        self.on_refused = on_refused

    def allowed(self, headers: list[tuple[bytes, bytes]]) -> tuple[bool, bool]:
        """``(ok, given)``: whether the headers carry the key, and whether any was sent."""
        given = b""
        for name, value in headers:
            if name.lower() == b"authorization":
                given = value
                break
        scheme, _, token = given.partition(b" ")
        ok = scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.key)
        return ok, bool(given)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if self.key is None or scope["type"] != "http" or not guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        ok, given = self.allowed(scope.get("headers", []))
        if ok:
            await self.app(scope, receive, send)
            return
        if self.on_refused is not None:
            self.on_refused()
        what = "the API key is wrong" if given else "no API key was given"
        err = APIError(
            401,
            f"{what}: send the header 'Authorization: Bearer <key>' with the key the "
            "server was started with (--api-key or HOWSURE_API_KEY)",
            code="invalid_api_key",
        )
        from starlette.responses import JSONResponse

        response = JSONResponse(err.body(), status_code=err.status, headers=err.headers)
        await response(scope, receive, send)
