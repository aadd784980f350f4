"""Familiarity: how far a question, as sent, lies from the training questions.

A probe's confidence is only as good as the questions it was fitted on: on a question
unlike any of them (code, another language, an instruction, small talk) its score says
less. :class:`Familiarity` measures that from the *question*: the state of the last
prompt token (``last_prompt``) at one or more layers, read in the same prefill that
starts the answer, so it costs no forward pass and is known before the first answer
token.

The distance of a question is one minus the cosine similarity of its centred state to
its ``n_neighbors``-th nearest training question (each layer's block normalised on its
own, then the blocks weighted equally). Familiarity is where that distance falls among
the training questions' own *leave-one-out* distances (each to its nearest *other*
training question)::

    familiarity(x) = fraction of training questions at least as far from the rest as x

so a question like the training ones has familiarity spread evenly over [0, 1] and about
``UNFAMILIAR_BELOW`` of them fall under the flag's cut, while a question farther out than
every training question has 0. It is a rank, not a probability of being correct.

Which layers and how many neighbours are chosen on grouped folds of the training
questions (:func:`choose_familiarity`: each topic held out in turn), never on test rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from scipy.stats import rankdata
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from howsure.core.checks import check_choice, check_int
from howsure.core.state import attribute_state, restore_attributes

__all__ = [
    "FAMILIARITY_LAYER_CANDIDATES",
    "METRICS",
    "UNFAMILIAR_BELOW",
    "UNFAMILIAR_NOTE",
    "Familiarity",
    "candidate_layers",
    "choose_familiarity",
    "familiarity_setting",
    "fit_familiarity",
]

UNFAMILIAR_BELOW = 0.03
"""Familiarity under which a question is called unfamiliar: farther from the training
questions than 97% of them are from each other (so about 3% of questions like the
training ones are flagged; at most 5% is the aim)."""

UNFAMILIAR_NOTE = "unfamiliar question: this confidence is less reliable"
"""What the CLI chat and the demo show beside the confidence of an unfamiliar question."""

FAMILIARITY_LAYER_CANDIDATES: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
"""Depths (fractions of the layer count) whose ``last_prompt`` states, alone and in
adjacent pairs, :func:`choose_familiarity` compares."""

_ARRAYS = ("mean_", "scale_", "index_", "reference_")
Metric = Literal["cosine", "euclidean"]
METRICS: tuple[str, ...] = ("cosine", "euclidean")
_MIN_GROUP = 10


def _block_scale(X: np.ndarray, mean: np.ndarray, n_blocks: int) -> np.ndarray:
    """Root mean square norm of each centred block over the rows, shape (n_blocks,)."""
    norms = np.linalg.norm((X - mean).reshape(X.shape[0], n_blocks, -1), axis=2)
    return np.maximum(np.sqrt(np.mean(norms**2, axis=0)), 1e-12)


def _blocks(X: np.ndarray, mean: np.ndarray, scale: np.ndarray, metric: str) -> np.ndarray:
    """Centre; per block, normalise each row (``"cosine"``) or divide by the block's
    typical norm (``"euclidean"``); weight the blocks equally. float32."""
    Z = (X - mean).reshape(X.shape[0], len(scale), -1)
    if metric == "cosine":
        Z = Z / np.maximum(np.linalg.norm(Z, axis=2, keepdims=True), 1e-12)
    else:
        Z = Z / scale[None, :, None]
    return (Z.reshape(X.shape[0], -1) / np.sqrt(len(scale))).astype(np.float32)


def _distances(A: np.ndarray, B: np.ndarray, metric: str) -> np.ndarray:
    """Distances between the rows of two :func:`_blocks` outputs, shape (len(A), len(B))."""
    if metric == "cosine":
        return 1.0 - A @ B.T
    sq = np.sum(A * A, axis=1)[:, None] + np.sum(B * B, axis=1)[None, :] - 2.0 * (A @ B.T)
    return np.sqrt(np.maximum(sq, 0.0))


def _kth(dist: np.ndarray, k: int) -> np.ndarray:
    """Each row's ``k``-th smallest distance (``k`` counted from 1)."""
    k = min(k, dist.shape[1])
    return np.partition(dist, k - 1, axis=1)[:, k - 1]


class Familiarity(BaseEstimator):
    """Nearest-neighbour distance of a question's state, ranked among the training rows'.

    Parameters
    ----------
    n_neighbors : int, default 1
        The distance is to the ``n_neighbors``-th nearest training question.
    metric : {"cosine", "euclidean"}, default "euclidean"
        ``"cosine"``: one minus the cosine similarity of the centred blocks (direction
        only); ``"euclidean"``: the distance after dividing each centred block by its
        typical norm (direction and length: a state far out along a familiar direction
        is far).
    n_blocks : int, default 1
        The features are this many equal blocks (one per layer), each normalised alone.
    n_reference : int, default 512
        Quantiles of the training questions' leave-one-out distances kept to rank new
        distances.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    scale_ : ndarray of shape (n_blocks,)
        Root mean square norm of each centred block over the training questions.
    index_ : ndarray of float16, shape (n_samples, n_features)
        The training questions, centred and block-normalised.
    reference_ : ndarray of shape (m,)
        Sorted quantiles of the training questions' leave-one-out distances.
    n_features_in_ : int
    """

    def __init__(
        self,
        *,
        n_neighbors: int = 1,
        metric: Metric = "euclidean",
        n_blocks: int = 1,
        n_reference: int = 512,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.n_blocks = n_blocks
        self.n_reference = n_reference

    def fit(self, X: Any, y: Any = None) -> Familiarity:
        """Keep the training questions and rank their leave-one-out distances.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``n_features`` a multiple of ``n_blocks``.
        y : ignored

        Returns
        -------
        self
        """
        check_int(self.n_neighbors, "n_neighbors", min_val=1)
        check_int(self.n_blocks, "n_blocks", min_val=1)
        check_int(self.n_reference, "n_reference", min_val=2)
        check_choice(self.metric, "metric", METRICS)
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=self.n_neighbors + 2)
        if X.shape[1] % self.n_blocks:
            raise ValueError(
                f"X has {X.shape[1]} features, not a multiple of n_blocks={self.n_blocks}; "
                "pass one equal block per layer"
            )
        self.mean_ = X.mean(axis=0)
        self.scale_ = _block_scale(X, self.mean_, self.n_blocks)
        Z = _blocks(X, self.mean_, self.scale_, self.metric)
        dist = _distances(Z, Z, self.metric)
        np.fill_diagonal(dist, np.inf)  # leave each row out of its own neighbours
        loo = _kth(dist, self.n_neighbors)
        qs = np.linspace(0.0, 1.0, min(self.n_reference, X.shape[0]))
        self.reference_ = np.quantile(loo, qs)
        self.index_ = Z.astype(np.float16)
        return self

    def distance(self, X: Any) -> np.ndarray:
        """Distance to the ``n_neighbors``-th nearest training question (see ``metric``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            0 for a training question itself.
        """
        check_is_fitted(self, "reference_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        Z = _blocks(X, self.mean_, self.scale_, self.metric)
        index = self.index_.astype(np.float32)
        return _kth(_distances(Z, index, self.metric), self.n_neighbors)

    def score(self, X: Any) -> np.ndarray:
        """Familiarity in [0, 1]: the fraction of training questions at least as far out.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            1 = closer than any training question is to the others, 0 = farther out
            than all of them; questions like the training ones spread evenly.
        """
        dist = self.distance(X)
        ref = self.reference_
        below = np.searchsorted(ref, dist, side="left")
        return 1.0 - below / len(ref)

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays and JSON-able parameters (the format of :mod:`howsure.core.state`)."""
        check_is_fitted(self, "reference_")
        arrays, params = attribute_state(self, "familiarity-knn", _ARRAYS)
        arrays["index_"] = np.asarray(self.index_, dtype=np.float16)  # half the file
        return arrays, params

    @classmethod
    def from_state(cls, arrays: Mapping[str, Any], params: Mapping[str, Any]) -> Familiarity:
        """Rebuild a fitted :class:`Familiarity` from :meth:`get_state` output."""
        out = restore_attributes(cls, arrays, params, kind="familiarity-knn", names=_ARRAYS)
        out.index_ = np.asarray(out.index_, dtype=np.float16)
        return out


def _group_auroc(dist_in: np.ndarray, dist_out: np.ndarray) -> float:
    """AUROC of telling ``dist_out`` (held out) from ``dist_in`` by distance (ties half)."""
    ranks = rankdata(np.concatenate([dist_in, dist_out]))
    n_in, n_out = len(dist_in), len(dist_out)
    return float((ranks[n_in:].sum() - n_out * (n_out + 1) / 2) / (n_in * n_out))


def choose_familiarity(
    states: Mapping[int, np.ndarray],
    groups: Sequence[str],
    *,
    neighbors: Sequence[int] = (1, 5),
    metrics: Sequence[str] = METRICS,
    min_group: int = _MIN_GROUP,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The layers and neighbour count whose familiarity best finds held-out groups.

    Each group (a topic of the training questions) is held out in turn: the others'
    questions are the index, and the held-out group's questions must lie farther from it
    than the others' leave-one-out distances. Candidates are each layer of ``states`` and
    each pair of consecutive ones; the best mean AUROC over groups wins.

    Parameters
    ----------
    states : dict of int to ndarray of shape (n, d)
        ``last_prompt`` states of the training questions, per layer.
    groups : sequence of str, length n
    neighbors : sequence of int, default (1, 5)
    min_group : int, default 10
        Groups with fewer questions are never held out (they stay in every index).

    Returns
    -------
    best : dict
        The winning candidate: ``layers`` (list of int), ``n_neighbors``, ``metric``,
        ``mean_auroc``.
    table : list of dict
        Every candidate, in the same form.

    Raises
    ------
    ValueError
        Fewer than two groups of ``min_group`` questions, or no layer given.
    """
    groups = np.asarray([str(g) for g in groups])
    names, counts = np.unique(groups, return_counts=True)
    held = [g for g, c in zip(names, counts, strict=True) if c >= min_group]
    if len(held) < 2:
        raise ValueError(
            f"familiarity needs 2 or more groups (topics) of {min_group}+ questions to choose "
            f"its layers, got {dict(zip(names.tolist(), counts.tolist(), strict=True))}"
        )
    layers = sorted(states)
    if not layers:
        raise ValueError("no layer states given to choose familiarity from")
    candidates = [(la,) for la in layers] + list(itertools.pairwise(layers))
    table = []
    for cand in candidates:
        X = np.hstack([np.asarray(states[la], dtype=np.float64) for la in cand])
        mean = X.mean(axis=0)
        scale = _block_scale(X, mean, len(cand))
        for metric in metrics:
            Z = _blocks(X, mean, scale, check_choice(metric, "metric", METRICS))
            dist = _distances(Z, Z, metric)
            np.fill_diagonal(dist, np.inf)
            aurocs: dict[int, list[float]] = {k: [] for k in neighbors}
            for g in held:
                out = groups == g
                d_in, d_out = dist[np.ix_(~out, ~out)], dist[np.ix_(out, ~out)]
                for k in neighbors:
                    aurocs[k].append(_group_auroc(_kth(d_in, k), _kth(d_out, k)))
            table += [
                {
                    "layers": list(cand),
                    "n_neighbors": int(k),
                    "metric": metric,
                    "mean_auroc": float(np.mean(aurocs[k])),
                }
                for k in neighbors
            ]
    return max(table, key=lambda r: r["mean_auroc"]), table


def candidate_layers(n_layers: int) -> list[int]:
    """The layer indices of :data:`FAMILIARITY_LAYER_CANDIDATES` for a model of
    ``n_layers`` blocks (distinct, sorted)."""
    n_layers = check_int(n_layers, "n_layers", min_val=1)
    return sorted({round(f * (n_layers - 1)) for f in FAMILIARITY_LAYER_CANDIDATES})


def fit_familiarity(
    states: Mapping[int, np.ndarray],
    groups: Sequence[str],
    *,
    setting: Mapping[str, Any] | None = None,
) -> tuple[Familiarity, tuple[int, ...], list[dict[str, Any]]]:
    """A :class:`Familiarity` model on training questions' ``last_prompt`` states.

    Parameters
    ----------
    states : dict of int to ndarray of shape (n, d)
        Per layer, the training questions' ``last_prompt`` states (the candidates).
    groups : sequence of str, length n
        Each question's group (topic) for :func:`choose_familiarity`.
    setting : dict, optional
        ``layers``, ``n_neighbors`` and ``metric`` to use with no choice (e.g. every fold
        of a leave-one-group-out report uses the default detector's; see
        :func:`familiarity_setting`). By default :func:`choose_familiarity` picks them,
        or, with fewer than two groups to hold out, the middle layer's nearest
        neighbour.

    Returns
    -------
    familiarity : Familiarity
    layers : tuple of int
    table : list of dict
        The choice's candidates (empty when no choice was made).
    """
    table: list[dict[str, Any]] = []
    if setting is None:
        _, counts = np.unique(np.asarray([str(g) for g in groups]), return_counts=True)
        if (counts >= _MIN_GROUP).sum() >= 2:
            setting, table = choose_familiarity(states, groups)
        else:  # nothing to hold out
            setting = {"layers": [sorted(states)[len(states) // 2]], "n_neighbors": 1}
    layers = tuple(int(la) for la in setting["layers"])
    missing = [la for la in layers if la not in states]
    if missing:
        raise ValueError(
            f"familiarity reads the last_prompt states of layers {list(layers)}; missing "
            f"{missing} (read them too)"
        )
    X = np.hstack([np.asarray(states[la], dtype=np.float64) for la in layers])
    fam = Familiarity(
        n_neighbors=int(setting["n_neighbors"]),
        metric=setting.get("metric", "euclidean"),
        n_blocks=len(layers),
    ).fit(X)
    return fam, layers, table


def familiarity_setting(familiarity: Familiarity, layers: Sequence[int]) -> dict[str, Any]:
    """The ``setting`` of :func:`fit_familiarity` that refits ``familiarity`` as it is."""
    return {
        "layers": [int(la) for la in layers],
        "n_neighbors": familiarity.n_neighbors,
        "metric": familiarity.metric,
    }
