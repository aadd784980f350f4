"""The state of one ``howsure serve`` app (``app.state.server``): the wrapped model, its
batcher, its metrics, names and settings, and the checks the routes share."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from howsure.core.errors import SettingError
from howsure.core.version import __version__
from howsure.probes.hooks import howsure_hooks
from howsure.probes.models import fingerprint_key, model_fingerprint
from howsure.server import responses as R
from howsure.server.batcher import Batcher, Job, QueueFull, continuous_for
from howsure.server.errors import APIError, bad_request
from howsure.server.metrics import Metrics
from howsure.server.requests import ChatRequest, parse_json, setting_error
from howsure.server.settings import ServerSettings

__all__ = ["ServerState", "served_name"]


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


class ServerState:
    """The wrapped model, its batcher and metrics, the names it answers to, the settings.

    Parameters
    ----------
    chat : ConfidentModel
        With a detector.
    settings : ServerSettings
    names : tuple of str
        The model ids accepted, the served one first.
    detector_path : str or Path, optional
        Shown by ``/health``.
    """

    def __init__(
        self, chat: Any, *, settings: ServerSettings, names: tuple[str, ...], detector_path: Any
    ) -> None:
        self.chat = chat
        self.settings = settings
        self.names = names
        self.detector_path = None if detector_path is None else str(detector_path)
        self.model_fingerprint = model_fingerprint(chat.model)
        self.fingerprint = f"howsure-{__version__}-{fingerprint_key(self.model_fingerprint)}"
        self.started = int(time.time())
        self.metrics = Metrics()
        self.worker_in_caller = False  # serve_forever runs the batcher in the main thread
        self.batcher = Batcher(
            chat,
            max_batch_size=settings.max_batch_size,
            max_queue=settings.max_queue,
            window_s=settings.batch_window_ms / 1000,
            continuous=continuous_for(chat, settings.batching),
            start=False,  # the app's startup starts it, unless the caller runs it
        )

    # -- checks ------------------------------------------------------------------------
    async def body(self, request: Any) -> dict:
        """The JSON body, read up to ``max_body_bytes`` within ``body_timeout_s`` (413
        above the size, 408 past the time, 400 not JSON)."""
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
        parts: list[bytes] = []

        async def read() -> None:
            size = 0
            async for part in request.stream():
                size += len(part)
                if size > limit:
                    raise too_big
                parts.append(part)

        timeout = self.settings.body_timeout_s
        try:
            await asyncio.wait_for(read(), timeout)
        except asyncio.TimeoutError:
            raise APIError(
                408,
                f"the request body did not arrive within {timeout:g} s; send it at once",
                code="request_timeout",
            ) from None
        return parse_json(b"".join(parts))

    def prepare(self, messages: list[dict], req: ChatRequest | None, n_new: int | None) -> Any:
        """The checked, tokenized request (400 on a prompt over the context window or a
        setting the wrapper refuses, named as the request field)."""
        sampling = req is not None and req.sampling
        try:
            return self.chat.prepare(
                messages,
                max_new_tokens=n_new,
                do_sample=sampling,
                temperature=req.temperature if sampling else None,
                top_p=req.top_p if sampling else None,
            )
        except SettingError as err:
            raise setting_error(err) from None
        except (ValueError, TypeError) as err:  # the messages themselves
            raise bad_request(str(err), "messages") from None

    def submit(self, job: Job) -> None:
        """Queue ``job`` (503, retryable, when the queue is full)."""
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
        """The ``confidence`` object of a result or event (counted in the metrics)."""
        reader = self.chat.detector.reader
        served = R.confidence_json(event, layer=reader.layer, position=reader.position)
        self.metrics.confidence(served.get("value"))
        return served

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
            "batching": "continuous" if b.continuous else "static",
            "steps": b.steps,
            "mean_occupancy": (b.step_rows / b.steps) if b.steps else None,
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
