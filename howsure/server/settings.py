"""The limits and options of one ``howsure serve``, checked before the model loads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from howsure.core.checks import check_int, check_real
from howsure.core.errors import SettingError, SettingTypeError

__all__ = ["Batching", "ServerSettings"]

Batching = Literal["auto", "continuous", "static"]


@dataclass(frozen=True)
class ServerSettings:
    """What ``howsure serve`` accepts and how it batches.

    Attributes
    ----------
    max_batch_size : int, default 16
        Requests generated together at most (rows of the running batch).
    batching : {"auto", "continuous", "static"}, default "auto"
        ``"continuous"``: a request joins the running generation at its next step and
        leaves it when done (:mod:`howsure.plugin.continuous`); ``"static"``: requests
        that arrived together are generated as one batch, which a later request waits
        out; ``"auto"``: continuous for every model that can be stepped row by row
        (:func:`howsure.probes.stepping.steppable`), static for the others.
    max_queue : int, default 64
        Requests waiting for a batch at most; one more is refused at once with a
        retryable 503.
    batch_window_ms : float, default 50
        How long the oldest waiting request waits for others to join its batch at most;
        it stops waiting once none has arrived for a fifth of it (10 ms by default).
    max_tokens : int, default 512
        The largest ``max_tokens`` a request may ask for (400 above it).
    max_n : int, default 8
        The most choices (``n``) one request may ask for (400 above it).
    max_messages : int, default 64
        The most messages in one conversation.
    max_body_bytes : int, default 1_000_000
        The largest request body (413 above it).
    body_timeout_s : float, default 10
        How long reading a request's body may take at most (408 after it): a client that
        stalls mid-body is cut off before it gets near the queue.
    api_key : str, optional
        When set, every ``/v1`` request needs ``Authorization: Bearer <api_key>``.
    prefix : bool, default True
        Whether the content starts with "The model is N% sure." when the request does
        not say (``"howsure": {"prefix": ...}``).
    """

    max_batch_size: int = 16
    batching: Batching = "auto"
    max_queue: int = 64
    batch_window_ms: float = 50.0
    max_tokens: int = 512
    max_messages: int = 64
    max_n: int = 8
    max_body_bytes: int = 1_000_000
    body_timeout_s: float = 10.0
    api_key: str | None = None
    prefix: bool = True

    def __post_init__(self) -> None:
        check_int(self.max_batch_size, "max_batch_size", min_val=1)
        check_int(self.max_queue, "max_queue", min_val=1)
        if self.batching not in get_args(Batching):
            raise SettingError(
                "batching",
                "{param} must be one of 'auto', 'continuous', 'static', got {value!r}",
                value=self.batching,
            )
        check_real(self.batch_window_ms, "batch_window_ms", min_val=0.0, max_val=10_000.0)
        check_int(self.max_tokens, "max_tokens", min_val=1)
        check_int(self.max_messages, "max_messages", min_val=1)
        check_int(self.max_n, "max_n", min_val=1)
        check_int(self.max_body_bytes, "max_body_bytes", min_val=1_000)
        check_real(
            self.body_timeout_s,
            "body_timeout_s",
            min_val=0.0,
            max_val=3600.0,
            include_boundaries="right",
        )
        if self.api_key is not None and (
            not isinstance(self.api_key, str) or not self.api_key.strip()
        ):
            raise SettingError(
                "api_key",
                "{param} must be a non-empty str or None, got {value!r}; leave it out to "
                "serve without a key",
                value=self.api_key,
            )
        if not isinstance(self.prefix, bool):
            raise SettingTypeError(
                "prefix", "{param} must be True or False, got {value!r}", value=self.prefix
            )
