"""``GET /metrics``: the server's counters in Prometheus' text exposition format (0.0.4).

Written by hand (a few lines; no ``prometheus_client`` needed). What is counted:

``howsure_requests_total{outcome}``
    Completed ``/v1/chat/completions`` and ``/v1/score`` requests: ``ok``, ``error``
    (refused or failed), ``cancelled`` (the client went away).
``howsure_unauthorized_requests_total``
    ``/v1`` requests refused for a missing or wrong key (before any work).
``howsure_queue_depth``, ``howsure_batch_rows``, ``howsure_max_batch_size``
    Requests waiting; rows in the running batch (its occupancy) and its bound.
``howsure_batches_total``, ``howsure_batch_rows_total``
    Batches run and the rows they held (their ratio: the mean batch size).
``howsure_decode_steps_total``, ``howsure_step_rows_total``
    Decoding steps of the continuous batch and the rows they carried (their ratio: the
    mean occupancy).
``howsure_generated_tokens_total``
    Answer tokens generated (``rate()`` of it: tokens per second).
``howsure_time_to_first_token_seconds``
    Histogram: from the request's place in the queue to its first answer token.
``howsure_served_confidence``
    Histogram of the confidences served (buckets 0.1 to 1.0).

Nothing in it comes from a request or the settings: no key, no prompt, no path.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["CONTENT_TYPE", "OUTCOMES", "Histogram", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The media type of Prometheus' text format."""

OUTCOMES = ("ok", "error", "cancelled")
"""The outcomes ``howsure_requests_total`` counts."""

TTFT_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def _number(value: float) -> str:
    """A sample value or bucket bound as Prometheus writes it."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else f"{float(value):.1f}"


class Histogram:
    """Cumulative buckets, sum and count of observed values (not thread-safe alone).

    Parameters
    ----------
    bounds : sequence of float
        The upper bounds, increasing; ``+Inf`` is added.
    """

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(float(b) for b in bounds)
        if list(self.bounds) != sorted(set(self.bounds)):
            raise ValueError(f"bounds must increase strictly, got {bounds!r}")
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Count ``value`` in the first bucket whose bound it does not exceed."""
        i = next((i for i, b in enumerate(self.bounds) if value <= b), len(self.bounds))
        self.counts[i] += 1
        self.sum += value

    def lines(self, name: str) -> list[str]:
        """The ``_bucket``, ``_sum`` and ``_count`` samples."""
        out, total = [], 0
        for bound, n in zip((*self.bounds, math.inf), self.counts, strict=True):
            total += n
            out.append(f'{name}_bucket{{le="{_number(bound)}"}} {total}')
        out += [f"{name}_sum {_number(self.sum)}", f"{name}_count {total}"]
        return out


class Metrics:
    """The counters of one server; safe to update from the worker thread and the loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = dict.fromkeys(OUTCOMES, 0)
        self.unauthorized = 0
        self.tokens = 0
        self.ttft = Histogram(TTFT_BUCKETS)
        self.confidences = Histogram(CONFIDENCE_BUCKETS)

    def request(self, outcome: str) -> None:
        """Count one finished request by ``outcome`` (one of :data:`OUTCOMES`)."""
        if outcome not in self.requests:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        with self._lock:
            self.requests[outcome] += 1

    def refused_key(self) -> None:
        """Count one request refused for its key."""
        with self._lock:
            self.unauthorized += 1

    def token(self) -> None:
        """Count one generated answer token."""
        with self._lock:
            self.tokens += 1

    def first_token(self, seconds: float) -> None:
        """Observe one request's time to its first token."""
        with self._lock:
            self.ttft.observe(seconds)

    def confidence(self, value: Any) -> None:
        """Observe one served confidence (ignored when not a finite number)."""
        if isinstance(value, (int, float)) and math.isfinite(value):
            with self._lock:
                self.confidences.observe(float(value))

    def render(self, batcher: Any) -> str:
        """The exposition text, with the batcher's queue and batch read now."""
        with self._lock:
            requests = [
                f'howsure_requests_total{{outcome="{o}"}} {n}' for o, n in self.requests.items()
            ]
            ttft = self.ttft.lines("howsure_time_to_first_token_seconds")
            conf = self.confidences.lines("howsure_served_confidence")
            unauthorized, tokens = self.unauthorized, self.tokens
        families = [
            ("howsure_requests_total", "counter", "Finished model requests by outcome.", requests),
            (
                "howsure_unauthorized_requests_total",
                "counter",
                "Requests refused for a missing or wrong API key.",
                [f"howsure_unauthorized_requests_total {unauthorized}"],
            ),
            (
                "howsure_queue_depth",
                "gauge",
                "Requests waiting for a batch.",
                [f"howsure_queue_depth {batcher.depth}"],
            ),
            (
                "howsure_batch_rows",
                "gauge",
                "Rows in the running batch.",
                [f"howsure_batch_rows {batcher.running}"],
            ),
            (
                "howsure_max_batch_size",
                "gauge",
                "Rows a batch holds at most.",
                [f"howsure_max_batch_size {batcher.max_batch_size}"],
            ),
            (
                "howsure_batches_total",
                "counter",
                "Batches run.",
                [f"howsure_batches_total {batcher.batches}"],
            ),
            (
                "howsure_batch_rows_total",
                "counter",
                "Rows in the batches run.",
                [f"howsure_batch_rows_total {batcher.batch_rows}"],
            ),
            (
                "howsure_decode_steps_total",
                "counter",
                "Decoding steps of the continuous batch.",
                [f"howsure_decode_steps_total {batcher.steps}"],
            ),
            (
                "howsure_step_rows_total",
                "counter",
                "Rows carried by those steps (divide by the steps for the mean occupancy).",
                [f"howsure_step_rows_total {batcher.step_rows}"],
            ),
            (
                "howsure_generated_tokens_total",
                "counter",
                "Answer tokens generated.",
                [f"howsure_generated_tokens_total {tokens}"],
            ),
            (
                "howsure_time_to_first_token_seconds",
                "histogram",
                "Seconds from a request's place in the queue to its first answer token.",
                ttft,
            ),
            ("howsure_served_confidence", "histogram", "Confidences served.", conf),
        ]
        out = []
        for name, kind, text, samples in families:
            out += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", *samples]
        return "\n".join(out) + "\n"
