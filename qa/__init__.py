"""howsure.qa: question-answer sets and the judge of answers; knows nothing of models.

::

    from howsure.qa import load_qa, label
    items = load_qa("mix", split="test", limit=100)   # or "builtin", a .jsonl/.csv/.parquet file
    label("The capital of Peru is Lima.", ["Lima"])       # True

``items``
    :class:`QAItem`, the row schema, deterministic splits and row validation.
``files``
    Local files, the shipped built-in set (``qa/data/builtin_qa.jsonl``) and the training
    mixture (``qa/data/mix.jsonl``: five QA sets, every row with a ``source``).
``hub``
    Named Hugging Face Hub sets mapped to the schema (need ``datasets`` and a network).
``load``
    :func:`load_qa`, the one entry point.
``judge``
    :class:`MatchJudge` / :func:`label`: whether a free-text answer matches the golds.
``sentences``
    :func:`split_sentences` / :func:`complete_sentences`: a free-form answer cut into
    :class:`Span` s (sentences, list items, code blocks) with character offsets.
``longform``
    :func:`judge_long` / :func:`sentence_labels`: the judge of long chat answers
    (:class:`LongVerdict`: correct, wrong or abstain, and the answering sentence).
``builder``
    The generator of the built-in set (build time only; ``pip install 'howsure[build-data]'``).
"""

from __future__ import annotations

from howsure.core.lazy import lazy_exports

_EXPORTS = {
    "BUILTIN_NAME": "howsure.qa.files",
    "HUB_DATASETS": "howsure.qa.hub",
    "SPLITS": "howsure.qa.items",
    "HubSpec": "howsure.qa.hub",
    "Judge": "howsure.qa.judge",
    "LongJudge": "howsure.qa.longform",
    "LongLabel": "howsure.qa.longform",
    "LongVerdict": "howsure.qa.longform",
    "abstained": "howsure.qa.longform",
    "MatchJudge": "howsure.qa.judge",
    "NoGoldError": "howsure.qa.items",
    "QAItem": "howsure.qa.items",
    "Span": "howsure.qa.sentences",
    "SpanKind": "howsure.qa.sentences",
    "assign_split": "howsure.qa.items",
    "builtin_path": "howsure.qa.files",
    "complete_sentences": "howsure.qa.sentences",
    "dataset_fingerprint": "howsure.qa.items",
    "judge_long": "howsure.qa.longform",
    "judge_long_all": "howsure.qa.longform",
    "label": "howsure.qa.judge",
    "label_all": "howsure.qa.judge",
    "load_hub": "howsure.qa.hub",
    "load_items": "howsure.qa.files",
    "load_qa": "howsure.qa.load",
    "normalize_answer": "howsure.qa.judge",
    "sentence_labels": "howsure.qa.longform",
    "split_sentences": "howsure.qa.sentences",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
