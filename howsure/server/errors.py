"""OpenAI-style errors: ``{"error": {"message", "type", "param", "code"}}`` with a status.

Every refusal of ``howsure serve`` is an :class:`APIError`; the official ``openai``
client turns the body into its own exception classes (``BadRequestError``,
``AuthenticationError``, ``NotFoundError``, ...) and retries the retryable ones (429,
503).
"""

from __future__ import annotations

from typing import Any

__all__ = ["APIError", "bad_request"]


class APIError(Exception):
    """A request the server refuses, with the HTTP status and the OpenAI error fields.

    Parameters
    ----------
    status : int
        HTTP status: 400 bad input, 401 key, 404 unknown model or path, 413 body too
        large, 503 queue full (retryable), 500 the generation failed.
    message : str
        What was wrong, naming the value, and the fix.
    type : str, default "invalid_request_error"
    param : str, optional
        The request field at fault, e.g. ``"messages[1].role"``.
    code : str, optional
        A stable machine-readable code, e.g. ``"context_length_exceeded"``.
    headers : dict of str to str, optional
        Sent with the response, e.g. ``{"Retry-After": "1"}``.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body: ``{"error": {"message", "type", "param", "code"}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def bad_request(message: str, param: str | None = None, code: str | None = None) -> APIError:
    """A 400 ``invalid_request_error``."""
    return APIError(400, message, param=param, code=code)
