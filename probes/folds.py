"""Cross-validation folds that hold out whole sources and topics.

A probe fitted and validated on random folds of one kind of question learns that kind
as much as it learns truth; its random-fold AUROC says little about a question from
elsewhere. Choosing layers, positions and regularisation by *grouped* folds (each fold
holds out whole QA sets, or whole topics) chooses for transfer instead of fit.

Schemes
    ``"source"``: leave one source out (one fold per source; needs at least 3).
    ``"topic"``: ``cv`` folds of whole ``source:topic`` groups (needs at least ``cv``).
    ``"random"``: stratified random folds, for comparison.
    ``"auto"``: ``"source"`` with 3 or more sources, else ``"topic"`` with at least ``cv``
    topics, else ``"random"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from sklearn.model_selection import GroupKFold, StratifiedKFold

from howsure.core.checks import check_choice, check_int
from howsure.core.errors import SettingError

__all__ = ["FOLD_SCHEMES", "FoldScheme", "Folds", "group_folds", "resolve_scheme"]

FoldScheme = Literal["auto", "source", "topic", "random"]
FOLD_SCHEMES: tuple[str, ...] = ("auto", "source", "topic", "random")
Folds = list[tuple[np.ndarray, np.ndarray]]
"""``[(train_indices, held_out_indices), ...]``."""


def _labels(values: Sequence[str] | np.ndarray | None, n: int, what: str) -> np.ndarray | None:
    if values is None:
        return None
    out = np.asarray([str(v) for v in values])
    if out.shape != (n,):
        raise ValueError(f"{what} has {out.size} entries for {n} labels; give one per row")
    return out


def resolve_scheme(
    scheme: FoldScheme,
    *,
    sources: Sequence[str] | np.ndarray | None,
    topics: Sequence[str] | np.ndarray | None,
    cv: int = 5,
) -> str:
    """The concrete scheme ``"auto"`` stands for with these groups (others unchanged)."""
    check_choice(scheme, "folds", FOLD_SCHEMES)
    if scheme != "auto":
        return scheme
    if sources is not None and len(set(map(str, sources))) >= 3:
        return "source"
    if topics is not None and len(set(map(str, topics))) >= cv:
        return "topic"
    return "random"


def group_folds(
    y: Sequence[int] | np.ndarray,
    *,
    scheme: FoldScheme = "auto",
    sources: Sequence[str] | np.ndarray | None = None,
    topics: Sequence[str] | np.ndarray | None = None,
    cv: int = 5,
    random_state: int = 0,
) -> Folds:
    """Cross-validation folds of ``scheme`` (see the module docstring).

    Parameters
    ----------
    y : array-like of shape (n,)
        Labels (1 = correct); stratify the random folds.
    scheme : {"auto", "source", "topic", "random"}, default "auto"
    sources, topics : array-like of str, shape (n,), optional
        Each row's QA set and topic. Topics are grouped within their source.
    cv : int, default 5
        Folds of the ``"topic"`` and ``"random"`` schemes.
    random_state : int, default 0
        Shuffles the assignment of groups (or rows) to folds.

    Returns
    -------
    list of (ndarray, ndarray)
        ``(train_indices, held_out_indices)`` per fold; every row is held out once.

    Raises
    ------
    ValueError
        An unknown scheme, groups of the wrong length, or too few groups for the scheme
        (naming how many there are and what to do).
    """
    y = np.asarray(y)
    n = y.shape[0]
    cv = check_int(cv, "cv", min_val=2)
    src = _labels(sources, n, "sources")
    top = _labels(topics, n, "topics")
    concrete = resolve_scheme(scheme, sources=src, topics=top, cv=cv)
    index = np.arange(n)
    if concrete == "source":
        if src is None or len(np.unique(src)) < 3:
            found = 0 if src is None else len(np.unique(src))
            raise ValueError(
                f"folds='source' needs rows from at least 3 sources; found {found}. Use a "
                "mixture with a 'source' on every row, or folds='topic'"
            )
        return [(index[src != s], index[src == s]) for s in np.unique(src)]
    if concrete == "topic":
        if top is None:
            raise ValueError("folds='topic' needs a topic per row; use folds='random'")
        groups = np.char.add(np.char.add(src, ":"), top) if src is not None else top
        if len(np.unique(groups)) < cv:
            raise SettingError(
                "cv",
                "{folds}='topic' with {param}={n} needs at least {n} topics; found {found}. "
                "Lower {param} or use {folds}='random'",
                n=cv,
                found=len(np.unique(groups)),
            )
        splitter = GroupKFold(n_splits=cv, shuffle=True, random_state=random_state)
        return [(tr, te) for tr, te in splitter.split(index, y, groups)]
    splitter = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    return [(tr, te) for tr, te in splitter.split(index, y)]
