"""howsure.eval: how far a detector can be trusted, against the usual baselines.

``baselines``
    P(True) and sampling consistency (extra forward passes), and their disk cache.
``compare``
    Every method's metrics with bootstrap intervals on the same answers.
``transfer``
    Held-out datasets: the transfer table (fit on one dataset, score others).
``heldout``
    Leave one source (or topic) out with the whole recipe refitted: AUROC against each
    group's best baseline (paired interval), ECE with its noise floor, Brier skill,
    familiarity, and recalibration on a few labelled rows.
``kinds`` / ``kinds_text``
    Prompts of kinds a detector was not trained on (code, other languages, arithmetic,
    instructions, small talk).
``familiarity``
    The familiarity flag measured: held-out kinds and sources against in-distribution
    questions (AUROC and share flagged, with intervals).
``freeform``
    Chat-style answers held out: answer and sentence confidences, leave one source out.
``evaluate``
    What ``howsure eval`` and ``howsure transfer`` do: plan, run, write the report.
``notes``
    Report notes: the warnings of metrics on a small or one-class set, and detectors
    below chance or a free baseline.
``report`` / ``plots`` / ``tables`` / ``schema``
    ``report.html`` (self-contained), ``report.md``, ``metrics.json`` (its schema) and
    the plots (need matplotlib, ``pip install 'howsure[eval]'``).
"""

from __future__ import annotations

from howsure.core.lazy import lazy_exports

_EXPORTS = {
    "cached_scores": "howsure.eval.baselines",
    "costs_for": "howsure.eval.baselines",
    "p_true": "howsure.eval.baselines",
    "sampling_consistency": "howsure.eval.baselines",
    "BASELINES": "howsure.eval.compare",
    "baseline_scores": "howsure.eval.compare",
    "compare_methods": "howsure.eval.compare",
    "evaluate_detectors": "howsure.eval.compare",
    "per_topic_auroc": "howsure.eval.compare",
    "topic_margins": "howsure.eval.compare",
    "heldout_row": "howsure.eval.transfer",
    "heldout_metrics": "howsure.eval.heldout",
    "leave_one_group_out": "howsure.eval.heldout",
    "KINDS": "howsure.eval.kinds",
    "held_out_kinds": "howsure.eval.kinds",
    "familiarity_markdown": "howsure.eval.familiarity",
    "familiarity_report": "howsure.eval.familiarity",
    "chat_loso": "howsure.eval.freeform",
    "sentence_loso": "howsure.eval.freeform",
    "EvalRun": "howsure.eval.evaluate",
    "plan_eval": "howsure.eval.evaluate",
    "plan_transfer": "howsure.eval.evaluate",
    "run_eval": "howsure.eval.evaluate",
    "run_transfer": "howsure.eval.evaluate",
    "write_eval_report": "howsure.eval.evaluate",
    "write_transfer_report": "howsure.eval.evaluate",
    "small_set_notes": "howsure.eval.notes",
    "weak_detector_notes": "howsure.eval.notes",
    "write_report": "howsure.eval.report",
    "validate_metrics": "howsure.eval.schema",
    "Table": "howsure.eval.tables",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
