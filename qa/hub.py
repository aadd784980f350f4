"""Named short-answer QA sets on the Hugging Face Hub, mapped to ``howsure``'s QA schema.

Each entry of :data:`HUB_DATASETS` says where a set lives on the Hub, how our splits
(``"train"``, ``"calibration"``, ``"test"``) map onto the hub's splits, and how one hub
example becomes one row of our schema (``question``, ``answers`` -- the gold answer and
its aliases --, ``id``, ``topic``; see :mod:`howsure.qa.items`).

When several of our splits map to the same hub split (e.g. TriviaQA's ``"train"`` gives
our ``"train"`` and ``"calibration"``), each question goes to one of them by a hash of its
text (:func:`howsure.qa.items.assign_split` with ``among=``), so the split of a
question is deterministic and our splits never share a question.

Examples without a usable gold answer (none, or none with letters or digits) are left
out, and counted in a warning, before anything is generated.

Loading needs the ``datasets`` package (``pip install 'howsure[eval]'``) and network
access to the Hub, or a copy already in the ``datasets`` cache (``HF_DATASETS_CACHE``).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from howsure.core.checks import check_int
from howsure.qa.items import (
    SPLITS,
    NoGoldError,
    QAItem,
    Split,
    assign_split,
    interleave_topics,
    item_from_row,
)
from howsure.qa.judge import normalize_answer

__all__ = [
    "HUB_DATASETS",
    "HubSpec",
    "Loader",
    "load_hub",
    "nq_open_row",
    "popqa_row",
    "sciq_row",
    "triviaqa_row",
    "truthfulqa_row",
]

INSTALL_HINT = "pip install 'howsure[eval]'"

Loader = Callable[..., Any]
"""A callable with ``datasets.load_dataset``'s signature: ``(path, name, *, split)``
returning an iterable of example dicts (e.g. a ``datasets.Dataset``)."""


@dataclass(frozen=True)
class HubSpec:
    """Where a QA set lives on the Hugging Face Hub and how to map it.

    Attributes
    ----------
    path : str
        Hub dataset id, passed to ``datasets.load_dataset`` as ``path``.
    config : str or None
        Hub configuration name (``name`` of ``datasets.load_dataset``), or None.
    splits : Mapping of str to str
        Our split (``"train"``, ``"calibration"``, ``"test"``) to the hub split it is
        read from. Our splits that share a hub split divide its questions by a hash of
        the question text.
    to_row : callable
        ``to_row(example) -> dict | None``: one hub example to one row of our schema
        (``question``, ``answers`` list, optional ``id``, ``topic``), or None for an
        example with no usable gold answer (skipped with a warning).
    description : str
        One line for listings and error messages.
    """

    path: str
    config: str | None
    splits: Mapping[str, str]
    to_row: Callable[[Mapping[str, Any]], dict | None]
    description: str = ""

    def __post_init__(self) -> None:
        if set(self.splits) != set(SPLITS):
            raise ValueError(
                f"HubSpec {self.path!r}: splits must map exactly {SPLITS}, "
                f"got {sorted(self.splits)}"
            )

    def hub_splits(self, split: Split) -> list[str]:
        """The distinct hub splits needed for our ``split`` (``"all"``: every one)."""
        ours = SPLITS if split == "all" else (split,)
        return list(dict.fromkeys(self.splits[s] for s in ours))

    def sharing(self, hub_split: str) -> tuple[str, ...]:
        """Our splits that are read from ``hub_split``, in ``SPLITS`` order."""
        return tuple(s for s in SPLITS if self.splits[s] == hub_split)


def _golds(*groups: Any) -> list[str]:
    """Non-empty strings from strings and lists of strings, first occurrence kept."""
    out: dict[str, None] = {}
    for group in groups:
        values = [group] if isinstance(group, str) else list(group or [])
        for v in values:
            if isinstance(v, str) and v.strip() and v.strip() != "<unk>":
                out.setdefault(v.strip(), None)
    return list(out)


def triviaqa_row(example: Mapping[str, Any]) -> dict | None:
    """Map one ``mandarjoshi/trivia_qa`` (``rc.nocontext``) example.

    Uses ``question``, ``question_id`` and ``answer`` (a struct with ``value``,
    ``aliases`` and ``normalized_aliases``; all three become golds). Examples of the
    hub's ``test`` split have no answers (empty alias lists, ``"<unk>"`` value) and map
    to None, which is why our ``"test"`` split reads the hub's ``validation`` split.
    """
    answer = example.get("answer") or {}
    golds = _golds(answer.get("value"), answer.get("aliases"), answer.get("normalized_aliases"))
    if not golds:
        return None
    return {
        "question": example.get("question"),
        "answers": golds,
        "id": f"triviaqa-{example['question_id']}" if example.get("question_id") else None,
        "topic": "trivia",
    }


def nq_open_row(example: Mapping[str, Any]) -> dict | None:
    """Map one ``google-research-datasets/nq_open`` example: ``question`` and
    ``answer`` (a list of acceptable short answers). There is no id field; ids are
    assigned from the hub split and row number."""
    golds = _golds(example.get("answer"))
    if not golds:
        return None
    return {"question": example.get("question"), "answers": golds, "topic": "general"}


def sciq_row(example: Mapping[str, Any]) -> dict | None:
    """Map one ``allenai/sciq`` example as open (not multiple-choice) QA:
    ``question`` and ``correct_answer``; the three distractors and the ``support``
    paragraph are ignored. Topic ``"science"``."""
    golds = _golds(example.get("correct_answer"))
    if not golds:
        return None
    return {"question": example.get("question"), "answers": golds, "topic": "science"}


def popqa_row(example: Mapping[str, Any]) -> dict | None:
    """Map one ``akariasai/PopQA`` example: ``question``, ``possible_answers`` (a
    JSON-encoded list of strings; an already decoded list is accepted too), ``prop``
    (the relation, e.g. ``"occupation"``) as topic and ``id``.

    Raises
    ------
    ValueError
        If ``possible_answers`` is a string that is not a JSON list.
    """
    raw = example.get("possible_answers")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as err:
            raise ValueError(
                f"PopQA example {example.get('id')!r}: possible_answers {raw!r} is not a "
                "JSON-encoded list"
            ) from err
        if isinstance(raw, str):
            raw = [raw]
    golds = _golds(raw)
    if not golds:
        return None
    return {
        "question": example.get("question"),
        "answers": golds,
        "id": f"popqa-{example['id']}" if example.get("id") is not None else None,
        "topic": str(example.get("prop") or "unknown"),
    }


def truthfulqa_row(example: Mapping[str, Any]) -> dict | None:
    """Map one ``truthfulqa/truthful_qa`` (``generation``) example: ``question``;
    ``best_answer`` and ``correct_answers`` as golds; ``category`` as topic.

    "I have no comment" is dropped from the golds: TruthfulQA counts that refusal as
    truthful, but here a gold is an answer that is *right*, and a detector should not
    learn that declining is a correct answer. Lexical matching is a weak judge for
    TruthfulQA: its gold answers are sentences, and its wrong answers often share words
    with them, so labels from string matching are noisy. Use it for robustness checks,
    not headline numbers.
    """
    golds = [
        g
        for g in _golds(example.get("best_answer"), example.get("correct_answers"))
        if normalize_answer(g) != "i have no comment"
    ]
    if not golds:
        return None
    return {
        "question": example.get("question"),
        "answers": golds,
        "topic": str(example.get("category") or "unknown"),
    }


HUB_DATASETS: dict[str, HubSpec] = {
    # TriviaQA's hub test split has no public answers: our "test" is its validation split.
    "triviaqa": HubSpec(
        path="mandarjoshi/trivia_qa",
        config="rc.nocontext",
        splits={"train": "train", "calibration": "train", "test": "validation"},
        to_row=triviaqa_row,
        description="TriviaQA (rc.nocontext); our test = hub validation (test has no answers)",
    ),
    # NQ-open has only train and validation.
    "nq_open": HubSpec(
        path="google-research-datasets/nq_open",
        config=None,
        splits={"train": "train", "calibration": "train", "test": "validation"},
        to_row=nq_open_row,
        description="Natural Questions, open-domain; our test = hub validation",
    ),
    "sciq": HubSpec(
        path="allenai/sciq",
        config=None,
        splits={"train": "train", "calibration": "validation", "test": "test"},
        to_row=sciq_row,
        description="SciQ as open QA (distractors ignored)",
    ),
    # PopQA has a single split ("test"); our three splits divide it by question hash.
    "popqa": HubSpec(
        path="akariasai/PopQA",
        config=None,
        splits={"train": "test", "calibration": "test", "test": "test"},
        to_row=popqa_row,
        description="PopQA; its one hub split divided by question hash",
    ),
    # TruthfulQA has a single split ("validation"); divided by question hash.
    "truthfulqa": HubSpec(
        path="truthfulqa/truthful_qa",
        config="generation",
        splits={"train": "validation", "calibration": "validation", "test": "validation"},
        to_row=truthfulqa_row,
        description="TruthfulQA (generation); lexical matching is a weak judge here",
    ),
}


def _is_offline_error(err: BaseException) -> bool:
    """True when ``err`` (or an exception it was raised from) says the Hub could not be
    reached: connection errors, timeouts, offline mode, "not cached"."""
    seen: set[int] = set()
    cur: BaseException | None = err
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, (ConnectionError, TimeoutError)):
            return True
        names = {cls.__name__ for cls in type(cur).__mro__}
        if names & {
            "ConnectError",
            "ConnectTimeout",
            "TransportError",
            "OfflineModeIsEnabled",
            "LocalEntryNotFoundError",
        }:
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def _default_loader() -> Loader:
    try:
        from datasets import load_dataset
    except ImportError as err:
        raise ImportError(
            f"loading Hugging Face Hub datasets needs the 'datasets' package; "
            f"install it with {INSTALL_HINT}"
        ) from err
    return load_dataset


def load_hub(
    name: str,
    *,
    split: Split,
    limit: int | None = None,
    loader: Loader | None = None,
) -> list[QAItem]:
    """Load a named hub QA set as validated :class:`QAItem` objects.

    Parameters
    ----------
    name : str
        A key of :data:`HUB_DATASETS` (``"triviaqa"``, ``"nq_open"``, ``"sciq"``,
        ``"popqa"``, ``"truthfulqa"``).
    split : {"train", "calibration", "test", "all"}
        Our split; read from the hub split(s) given by ``HubSpec.splits`` (e.g. TriviaQA's
        and NQ-open's ``"test"`` is the hub's ``validation`` split).
    limit : int, optional
        Keep ``limit`` items, round-robin over topics as in
        :func:`howsure.qa.load_qa`.
    loader : callable, optional
        Replaces ``datasets.load_dataset`` (same signature; called as
        ``loader(spec.path, spec.config, split=hub_split)``), e.g. for tests or local
        mirrors.

    Returns
    -------
    list of QAItem
        In hub order (or interleaved by topic with ``limit``), ``split`` set to ours.

    Raises
    ------
    ValueError
        Unknown ``name`` or ``split``; the Hub cannot be reached; an example that maps
        to an invalid row.
    ImportError
        ``datasets`` is not installed and no ``loader`` was given.

    Warns
    -----
    UserWarning
        With the number of examples skipped for having no gold answer, and of
        duplicate ids dropped.
    """
    if name not in HUB_DATASETS:
        raise ValueError(f"unknown hub dataset {name!r}; use one of {sorted(HUB_DATASETS)}")
    if split != "all" and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {(*SPLITS, 'all')}")
    if limit is not None:
        limit = check_int(limit, "limit", min_val=1)
    spec = HUB_DATASETS[name]
    load = loader if loader is not None else _default_loader()
    wanted = set(SPLITS) if split == "all" else {split}
    items: list[QAItem] = []
    seen: set[str] = set()
    skipped = duplicates = 0
    for hub_split in spec.hub_splits(split):
        try:
            examples = load(spec.path, spec.config, split=hub_split)
        except Exception as err:
            if _is_offline_error(err):
                raise ValueError(
                    f"dataset {name!r} ({spec.path}, split {hub_split!r}) could not be "
                    "downloaded from the Hugging Face Hub: this needs network access, or "
                    "a local copy in the datasets cache (set HF_DATASETS_CACHE to it); "
                    f"error: {err}"
                ) from err
            raise
        among = spec.sharing(hub_split)
        source = f"{name} ({spec.path}, {hub_split})"
        for index, example in enumerate(examples, 1):
            row = spec.to_row(example)
            if row is None:
                skipped += 1
                continue
            question = row.get("question")
            ours = assign_split(question, among=among) if isinstance(question, str) else among[0]
            if ours not in wanted:
                continue
            row = {**row, "split": ours, "id": row.get("id") or f"{name}-{hub_split}-{index}"}
            try:
                item = item_from_row(row, index=index, source=source)
            except NoGoldError:  # golds without letters or digits ("---")
                skipped += 1
                continue
            if item.id in seen:
                duplicates += 1
                continue
            seen.add(item.id)
            items.append(item)
    if skipped:
        warnings.warn(f"{name}: skipped {skipped} example(s) with no gold answer", stacklevel=2)
    if duplicates:
        warnings.warn(f"{name}: dropped {duplicates} example(s) with a duplicate id", stacklevel=2)
    if not items:
        raise ValueError(f"hub dataset {name!r} has no usable rows in split {split!r}")
    return interleave_topics(items)[:limit] if limit is not None else items
