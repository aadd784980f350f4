"""A web demo: chat with a model that says how sure it is (``howsure demo``).

::

    import howsure
    from howsure.demo import build_app, launch

    model, tokenizer = howsure.load_model()
    app = build_app(model, tokenizer, detector="howsure-out/train/detector")
    launch(app, port=7860)  # http://127.0.0.1:7860

The page (a `Gradio <https://www.gradio.app>`_ app; ``pip install 'howsure[demo]'``)
has three tabs:

Chat
    Multi-turn chat: each question is answered in the context of the conversation so
    far (the detector's instruction is appended to it, as ``howsure chat`` does). The
    answer streams in with a confidence badge, red below 50%, amber below 80%, green
    otherwise, and the line "The model is N% sure.". A slider sets the abstention
    threshold: answers below it are replaced by "I'm not sure." or flagged
    (:func:`howsure.wrap`'s ``abstain_below`` and ``abstain_mode``).
How good is this number?
    The detector's saved report (:func:`load_report`): key metrics (AUROC, ECE, Brier,
    accuracy, n) against the baselines, and the report's images (reliability diagram,
    ROC, risk-coverage, histogram, layer sweep) that exist.
Batch
    Questions pasted one per line (optionally followed by gold answers after a tab or
    ``|``) or uploaded as CSV / JSONL (:func:`parse_batch`): a table of answers,
    confidences and, with gold answers, correctness, downloadable as CSV.

Without a detector, or with one fitted on another model, the page says so and the
model still chats, without a confidence.

Generation is serialised (one at a time: Gradio's queue with a concurrency limit of 1
shared by the chat and batch events, and a lock), so other sessions wait in the queue
while the page stays responsive. Gradio is imported lazily, with analytics off, no
share link, no server-side rendering and no MCP server: the demo never reaches the
network.

Modules: ``app`` (:class:`Demo`, the state and callbacks; the chat renders the
wrapper's stream events), ``render`` (badges and replies), ``report`` (the report tab),
``batch`` (the batch tab), ``page`` (:func:`build_app`) and ``serving`` (:func:`launch`).
"""

from __future__ import annotations

from howsure.core.lazy import lazy_exports

_EXPORTS = {
    "Demo": "howsure.demo.app",
    "BatchResult": "howsure.demo.batch",
    "MAX_BATCH": "howsure.demo.batch",
    "parse_batch": "howsure.demo.batch",
    "INSTALL_HINT": "howsure.demo.serving",
    "check_port": "howsure.demo.serving",
    "launch": "howsure.demo.serving",
    "build_app": "howsure.demo.page",
    "LEVELS": "howsure.demo.render",
    "Reply": "howsure.demo.render",
    "badge": "howsure.demo.render",
    "level": "howsure.demo.render",
    "REPORT_IMAGES": "howsure.demo.report",
    "ReportView": "howsure.demo.report",
    "load_report": "howsure.demo.report",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
