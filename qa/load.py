"""One entry point for every QA set: the built-in one, local files and named hub sets."""

from __future__ import annotations

from pathlib import Path

from howsure.core.checks import check_int
from howsure.qa.files import (
    BUILTIN_NAME,
    CODE_NAME,
    FILE_SUFFIXES,
    HUMANEVAL_NAME,
    MIX_NAME,
    NoGold,
    builtin_path,
    check_sources,
    code_path,
    humaneval_path,
    load_items,
    mix_path,
)
from howsure.qa.hub import HUB_DATASETS, load_hub
from howsure.qa.items import QAItem, Split, interleave_topics, select_split

__all__ = ["load_qa"]


def load_qa(
    dataset: str | Path = BUILTIN_NAME,
    *,
    split: Split = "all",
    limit: int | None = None,
    on_no_gold: NoGold = "error",
) -> list[QAItem]:
    """Load a QA dataset.

    Parameters
    ----------
    dataset : str or Path, default ``"builtin"``
        ``"builtin"`` for the shipped templated set; ``"mix"`` for the shipped training
        mixture (the built-in set and samples of TriviaQA, EntityQuestions, FreebaseQA
        and Mintaka, every row with a ``source``; see ``qa/data/README.md``);
        ``"code"`` for the shipped code tasks (small Python functions in 8 families and
        debugging tasks, judged by running their tests in a sandbox; see
        :mod:`howsure.coding`) or ``"humaneval"`` (OpenAI's HumanEval, MIT); a named
        Hugging Face Hub set (``"triviaqa"``, ``"nq_open"``, ``"sciq"``, ``"popqa"``,
        ``"truthfulqa"``; see :data:`howsure.qa.hub.HUB_DATASETS`; needs ``datasets``
        and network access or a cached copy); or a local
        ``.jsonl``/``.json``/``.csv``/``.parquet`` file. An existing file wins over a
        hub name.
    split : {"train", "calibration", "test", "all"}, default "all"
        For hub sets, our splits map onto the hub's (see ``HubSpec.splits``).
    limit : int, optional
        Keep ``limit`` items of the split, taken round-robin over topics and in a fixed
        pseudo-random order (a hash of the id) within each topic, so a small sample
        covers every topic and every difficulty. Deterministic.
    on_no_gold : {"error", "skip"}, default "error"
        A local file's rows without a usable gold answer: refuse the file, or leave them
        out with a warning (see :func:`howsure.qa.files.load_items`). Hub sets always
        leave them out, with a warning.

    Returns
    -------
    list of QAItem
        Every row validated: nothing is found wrong later, after generation started.
    """
    if limit is not None:
        limit = check_int(limit, "limit", min_val=1)
    name = str(dataset)
    if name == BUILTIN_NAME:
        items = select_split(load_items(builtin_path()), split)
    elif name == MIX_NAME:
        mixture = load_items(mix_path())
        check_sources(mixture, what=f"the {MIX_NAME!r} mixture")
        items = select_split(mixture, split)
    elif name in (CODE_NAME, HUMANEVAL_NAME):
        path = code_path() if name == CODE_NAME else humaneval_path()
        items = select_split(load_items(path), split)
    elif Path(dataset).is_dir():
        raise ValueError(
            f"dataset {name!r} is a folder; give a {'/'.join(FILE_SUFFIXES)} file in it"
        )
    elif Path(dataset).exists():
        items = select_split(load_items(Path(dataset), on_no_gold=on_no_gold), split)
    elif name in HUB_DATASETS:
        items = load_hub(name, split=split)
    else:
        known = ", ".join(
            repr(n) for n in (BUILTIN_NAME, MIX_NAME, CODE_NAME, HUMANEVAL_NAME, *HUB_DATASETS)
        )
        raise ValueError(
            f"unknown dataset {name!r}: not a known name and no such file; "
            f"use one of {known}, or the path of a local "
            f"{'/'.join(FILE_SUFFIXES)} file"
        )
    if not items:
        raise ValueError(
            f"dataset {str(dataset)!r} has no rows in split {split!r}: give it rows of that "
            "split, or leave out the 'split' column to divide the rows by a hash of the "
            "question"
        )
    return interleave_topics(items)[:limit] if limit is not None else items
