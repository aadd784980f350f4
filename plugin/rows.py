"""The rows detectors are trained and measured on: each split of a QA set in the short
style (:func:`collect_splits`), chat-style rows (:func:`collect_chat_splits`), code tasks
labelled by their tests (:func:`collect_code_splits`), and both styles as one collection
(:func:`mixed_rows`). Every one is disk-cached (:func:`~howsure.probes.collect.collect`),
so training, ``eval``, ``loto`` and ``freeform`` share what was collected once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from howsure.plugin.detector import Detector
from howsure.probes.collect import (
    Collection,
    StoreDtype,
    check_questions_fit,
    collect,
    concat,
)
from howsure.probes.positions import POSITIONS
from howsure.probes.prompts import DEFAULT_INSTRUCTION
from howsure.probes.styles import CODE_STYLES, STYLES, chat_items
from howsure.qa.files import NoGold
from howsure.qa.items import SPLITS, QAItem, code_tests
from howsure.qa.load import load_qa
from howsure.qa.longform import LongJudge, abstained

__all__ = [
    "code_style",
    "collect_chat_splits",
    "collect_code_splits",
    "collect_splits",
    "load_code_tasks",
    "mixed_rows",
    "style_for",
]


def _each_split(
    model: Any, tokenizer: Any, items: dict[str, list[QAItem]], **settings: Any
) -> dict[str, Collection] | None:
    """:func:`~howsure.probes.collect.collect` of each split's items with the same
    ``settings``; ``None`` on every process but the main one of a multi-process launch
    (every process takes part in every split)."""
    out = {
        split: collect(model, tokenizer, rows, split=split, **settings)
        for split, rows in items.items()
    }
    if any(coll is None for coll in out.values()):
        return None  # another process of the launch has the collections
    return out


def collect_splits(
    model: Any,
    tokenizer: Any,
    *,
    dataset: str = "builtin",
    splits: Sequence[str] = SPLITS,
    limit: int | None = None,
    layers: int | Sequence[int] | Literal["all"] = "all",
    positions: Sequence[str] = POSITIONS,
    max_new_tokens: int = 32,
    batch_size: int = 16,
    instruction: str = DEFAULT_INSTRUCTION,
    progress: bool = True,
    on_no_gold: NoGold = "error",
    store: StoreDtype = "float32",
) -> dict[str, Collection] | None:
    """Collect each split of ``dataset`` (disk-cached; ``limit`` applies per split).

    Every split's rows are loaded and validated, and every question's length checked
    against the context window, before the first answer is generated. ``store`` is the
    activations' precision (see :func:`howsure.probes.collect.collect`). Under a
    multi-process launch, ``None`` on every process but the main one (which gathered
    the shards).
    """
    items = {s: load_qa(dataset, split=s, limit=limit, on_no_gold=on_no_gold) for s in splits}
    check_questions_fit(
        model,
        tokenizer,
        [it for split_items in items.values() for it in split_items],
        instruction=instruction,
        max_new_tokens=max_new_tokens,
    )
    return _each_split(
        model,
        tokenizer,
        items,
        layers=layers,
        positions=positions,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        instruction=instruction,
        dataset=str(dataset),
        progress=progress,
        store=store,
    )


def collect_chat_splits(
    model: Any,
    tokenizer: Any,
    *,
    dataset: str = "builtin",
    per_source: int,
    splits: Sequence[str] = SPLITS,
    layers: int | Sequence[int] | Literal["all"] = "all",
    positions: Sequence[str] = POSITIONS,
    max_new_tokens: int = 256,
    batch_size: int = 16,
    progress: bool = True,
    on_no_gold: NoGold = "error",
    store: StoreDtype = "float32",
    drop_refusals: bool = True,
) -> dict[str, Collection] | None:
    """Chat-style rows of each split of ``dataset`` (disk-cached), with their sentences.

    ``per_source`` questions of each source of the split
    (:func:`~howsure.probes.styles.chat_items`), each sent in one of
    :data:`~howsure.probes.styles.STYLES` (the question as given, with a system prompt,
    inside a request, with chatter, after an earlier exchange, or with the short-answer
    instruction), answered greedily up to ``max_new_tokens`` and labelled by
    :class:`~howsure.qa.longform.LongJudge`, each answer's sentences kept
    (``sentences=True``, for the sentence detector). Refusals are neither right nor
    wrong: they are left out, their count kept in ``meta["abstained"]`` (with
    ``drop_refusals=False`` they stay, for a report that counts them itself). ``howsure
    train --chat-per-source`` and ``howsure freeform`` collect through here, so one
    cached collection serves both.

    Returns
    -------
    dict of str to Collection or None
        Per split; ``meta["styles"]`` lists the styles. ``None`` on every process but
        the main one of a multi-process launch.

    Raises
    ------
    ValueError
        ``per_source`` below 1; the dataset's rows fail validation (every split is
        loaded before the first answer is generated).
    """
    items = {
        s: chat_items(load_qa(dataset, split=s, on_no_gold=on_no_gold), per_source) for s in splits
    }
    colls = _each_split(  # every process of a launch takes part in every split
        model,
        tokenizer,
        items,
        layers=layers,
        positions=positions,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        judge=LongJudge(),
        dataset=f"{dataset}-chat",
        progress=progress,
        store=store,
        styles=STYLES,
        sentences=True,
    )
    if colls is None:
        return None  # another process of the launch has the collections
    if not drop_refusals:
        return colls
    out = {}
    for split, coll in colls.items():
        refused = abstained(coll.answers, coll.items)
        out[split] = coll.subset(~refused)
        out[split].meta["abstained"] = int(refused.sum())
    return out


def load_code_tasks(name: str, *, split: str = "all", limit: int | None = None) -> list[QAItem]:
    """The code tasks of dataset ``name`` (:func:`~howsure.qa.load.load_qa`).

    Raises
    ------
    ValueError
        As :func:`~howsure.qa.load.load_qa`, or rows with gold answers instead of tests
        (the dataset is not a code-task set; named, with the first such row).
    """
    rows = load_qa(name, split=split, limit=limit)
    plain = [it.describe() for it in rows if code_tests(it) is None]
    if plain:
        raise ValueError(
            f"dataset {name!r} is not a code-task set: {len(plain)} rows have gold answers "
            f"instead of tests (first {plain[0]}); give code tasks (rows with 'tests') or "
            "leave it out of the code datasets"
        )
    return rows


def collect_code_splits(
    model: Any,
    tokenizer: Any,
    *,
    datasets: Sequence[str] = ("code",),
    splits: Sequence[str] = SPLITS,
    limit: int | None = None,
    layers: int | Sequence[int] | Literal["all"] = "all",
    positions: Sequence[str] = POSITIONS,
    max_new_tokens: int = 256,
    batch_size: int = 16,
    progress: bool = True,
    store: StoreDtype = "float32",
) -> dict[str, Collection] | None:
    """Code-task rows of each split (disk-cached), labelled by running their tests.

    Every task of each split of ``datasets`` (``"code"``: the shipped code tasks;
    ``"humaneval"``; a local code-task file), sent as written, alone or after a system
    prompt (:data:`~howsure.probes.styles.CODE_STYLES`), answered greedily up to
    ``max_new_tokens``; the code in each answer is run against the task's tests in the
    sandbox (:mod:`howsure.coding`), each run's outcome kept in
    ``extras["code_outcome"]``; each answer's sentences kept, as for chat rows.
    ``limit``: at most this many tasks per dataset and split (every family kept).

    Returns
    -------
    dict of str to Collection or None
        Per split. ``None`` on every process but the main one of a multi-process launch.

    Raises
    ------
    ValueError
        A dataset whose rows are not code tasks (named), or that fails validation (every
        split is loaded before the first answer is generated).
    """
    items: dict[str, list] = {}
    for split in splits:
        items[split] = []
        for name in datasets:
            items[split] += load_code_tasks(name, split=split, limit=limit)
    return _each_split(
        model,
        tokenizer,
        items,
        layers=layers,
        positions=positions,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        dataset="+".join(map(str, datasets)),
        progress=progress,
        store=store,
        styles=CODE_STYLES,
        sentences=True,
    )


def mixed_rows(short: Sequence[Collection], chat: Sequence[Collection]) -> Collection:
    """Short-style and chat-style rows as one collection that records both styles.

    The rows of ``short`` then ``chat`` (:func:`~howsure.probes.collect.concat`); its
    ``meta`` is the chat rows' (``styles``, their answer length), so a detector fitted on
    it sends a bare question as given (:class:`~howsure.plugin.parts.ReaderSettings`).
    """
    rows = concat([*short, *chat])
    rows.meta = dict(rows.meta, styles=list(chat[0].meta["styles"]))
    rows.meta["max_new_tokens"] = int(chat[0].meta["max_new_tokens"])
    return rows


def code_style(det: Detector) -> dict[str, Any]:
    """How code tasks are sent when ``det`` is evaluated on them (``howsure eval --dataset
    code``, ``loto``): ``{"sentences", "styles", "max_new_tokens"}``, as
    :func:`collect_code_splits` collected its code rows: as written, alone or after a
    system prompt
    (:data:`~howsure.probes.styles.CODE_STYLES`), answers as long as its code rows' (a
    detector trained without code: its reader's length, at least 256 tokens)."""
    code = det.info.get("training", {}).get("code") or {}
    return {  # sentences: as collected for training, so its cache entry serves
        "sentences": True,
        "styles": tuple(code.get("styles", CODE_STYLES)),
        "max_new_tokens": int(code.get("max_new_tokens", max(int(det.reader.max_new_tokens), 256))),
    }


def style_for(det: Detector, items: Sequence[QAItem]) -> dict[str, Any]:
    """:func:`code_style` for code tasks, :attr:`Detector.qa_style` for questions.

    Raises
    ------
    ValueError
        ``items`` mixes code tasks and questions (evaluate each set on its own).
    """
    code = [code_tests(it) is not None for it in items]
    if any(code) and not all(code):
        raise ValueError(
            f"{sum(code)} of {len(code)} rows are code tasks and the rest questions: "
            "evaluate code tasks and questions as separate datasets"
        )
    return code_style(det) if code and all(code) else dict(det.qa_style)
