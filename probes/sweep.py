"""Which layer and token position carry the factuality signal: a cross-validated sweep.

:func:`layer_sweep` fits one linear probe per ``(layer, position)`` activation matrix
and reports its cross-validated AUROC for telling correct answers from wrong ones
(higher = the probe's P(correct) ranks correct answers above wrong ones; 0.5 is
chance). With ``groups`` (e.g. question topics) it also reports the AUROC *within*
each group, so a probe that only recognises an easy topic, not whether this answer is
right, shows up as high overall but ~0.5 within groups.

:func:`plot_sweep` draws AUROC against layer, one line per position (needs matplotlib:
``pip install 'howsure[eval]'``).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Hashable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import column_or_1d
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from howsure.calibration.ranking import within_group_auroc
from howsure.core.checks import check_choice, check_int, check_real
from howsure.core.errors import SettingError
from howsure.core.figures import new_figure, save_figure
from howsure.probes.base import check_finite_rows
from howsure.probes.linear import PROBES, LogisticProbe, MassMeanProbe, ProbeKind
from howsure.probes.positions import Key
from howsure.probes.threads import check_n_jobs, map_in_order, n_workers

__all__ = ["SweepResult", "layer_sweep", "plot_sweep"]

_BLAS_THREADS: int | None = 1
"""BLAS threads per fit during the sweep (None: BLAS's own default; bench/sweep_scale.py
sets None to time the alternative policy, BLAS threads instead of worker threads)."""


@dataclass
class SweepResult:
    """Outcome of :func:`layer_sweep`.

    Attributes
    ----------
    rows : list of dict
        One per ``(layer, position)``, sorted by layer, then position (in the order the
        positions first appear in ``features``). Keys: ``layer`` (int), ``position``
        (str), ``auroc_mean`` and ``auroc_std`` (over the outer folds),
        ``auroc_within_mean`` and ``auroc_within_std`` (within-group AUROC, None without
        ``groups``), ``n`` (samples).
    best : tuple of (int, str)
        ``(layer, position)`` with the highest ``auroc_mean`` (the lower layer on ties).
    probe : str
        Probe kind, ``"logistic"`` or ``"mass_mean"``.
    cv : int
        Number of outer folds.
    random_state : int or None
        Seed of the fold shuffling.
    C : float or None
        Fixed inverse L2 strength of the logistic probes (None for ``mass_mean``).
    n_groups : int or None
        Number of distinct groups when ``groups`` was given.
    """

    rows: list[dict[str, Any]]
    best: Key
    probe: str = "logistic"
    cv: int = 5
    random_state: int | None = 0
    C: float | None = None
    n_groups: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def row(self, layer: int, position: str) -> dict[str, Any]:
        """The row of ``(layer, position)``; KeyError naming the known keys otherwise."""
        for r in self.rows:
            if r["layer"] == layer and r["position"] == position:
                return r
        known = [(r["layer"], r["position"]) for r in self.rows]
        raise KeyError(f"no row for {(layer, position)!r}; the sweep has {known}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (``json.dumps`` works on it); inverse of :meth:`from_dict`."""
        return {
            "rows": [dict(r) for r in self.rows],
            "best": [int(self.best[0]), str(self.best[1])],
            "probe": self.probe,
            "cv": int(self.cv),
            "random_state": self.random_state,
            "C": self.C,
            "n_groups": self.n_groups,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepResult:
        """Rebuild a result from :meth:`to_dict` output (e.g. loaded JSON)."""
        layer, position = data["best"]
        return cls(
            rows=[dict(r) for r in data["rows"]],
            best=(int(layer), str(position)),
            probe=data.get("probe", "logistic"),
            cv=int(data.get("cv", 5)),
            random_state=data.get("random_state"),
            C=data.get("C"),
            n_groups=data.get("n_groups"),
            meta=dict(data.get("meta", {})),
        )

    def table_markdown(self, *, digits: int = 3) -> str:
        """Markdown table of the rows; the best row's AUROC is in bold.

        Parameters
        ----------
        digits : int, default=3
            Decimals of the AUROC columns.

        Returns
        -------
        table : str
        """

        def fmt(value: float | None) -> str:
            return "–" if value is None else f"{value:.{digits}f}"

        within = self.n_groups is not None
        head = ["layer", "position", "AUROC", "± std"]
        if within:
            head += ["within-group AUROC", "± std"]
        head.append("n")
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        for r in self.rows:
            auroc = fmt(r["auroc_mean"])
            if (r["layer"], r["position"]) == tuple(self.best):
                auroc = f"**{auroc}**"
            cells = [str(r["layer"]), str(r["position"]), auroc, fmt(r["auroc_std"])]
            if within:
                cells += [fmt(r["auroc_within_mean"]), fmt(r["auroc_within_std"])]
            cells.append(str(r["n"]))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


# --------------------------------------------------------------------------- validation


def _check_keys(features: Mapping[Key, Any]) -> list[Key]:
    if not isinstance(features, Mapping):
        raise TypeError(
            f"features must be a mapping {{(layer, position): array}}; got "
            f"{type(features).__name__}"
        )
    if len(features) == 0:
        raise ValueError("features is empty; pass at least one (layer, position) array")
    keys: list[Key] = []
    for key in features:
        if (
            not isinstance(key, tuple)
            or len(key) != 2
            or not isinstance(key[0], numbers.Integral)
            or isinstance(key[0], bool)
            or not isinstance(key[1], str)
        ):
            raise TypeError(
                f"feature key {key!r} is not a (layer: int, position: str) tuple; key "
                "features like {(12, 'last_prompt'): array}"
            )
        keys.append(key)
    positions: dict[str, int] = {}
    for _, pos in keys:
        positions.setdefault(pos, len(positions))
    return sorted(keys, key=lambda k: (int(k[0]), positions[k[1]]))


def _check_y(y: Any) -> np.ndarray:
    if y is None:
        raise ValueError("y is None; pass labels with 1 = answer correct, 0 = answer wrong")
    y = column_or_1d(y)
    classes, encoded, counts = np.unique(y, return_inverse=True, return_counts=True)
    if classes.size == 1:
        label = classes.tolist()[0]
        raise ValueError(
            f"y has only one class ({label!r}, n={int(counts[0])}): need both correct and "
            "wrong answers; collect more questions."
        )
    if classes.size > 2:
        raise ValueError(
            f"y must be binary (1 = correct, 0 = wrong); got {classes.size} classes "
            f"{classes[:6].tolist()}. Map the labels to correct / wrong first."
        )
    return encoded.astype(np.int64)


def _group_codes(groups: Any, n: int) -> tuple[np.ndarray, int]:
    if isinstance(groups, np.ndarray):
        if groups.ndim != 1:
            raise ValueError(
                f"groups must be 1-D with one entry per sample; got shape {groups.shape}"
            )
        values = groups.tolist()
    elif isinstance(groups, str):
        raise TypeError("groups must be a sequence with one label per sample, not a str")
    else:
        values = list(groups)
    if len(values) != n:
        raise ValueError(
            f"groups has {len(values)} entries but y has {n}; give one group (e.g. topic) "
            "per sample."
        )
    mapping: dict[Hashable, int] = {}
    try:
        codes = np.array([mapping.setdefault(g, len(mapping)) for g in values], dtype=np.int64)
    except TypeError as exc:
        raise TypeError(f"groups must hold hashable labels (e.g. topic strings): {exc}") from exc
    return codes, len(mapping)


def _make_probe(
    probe: str, *, C: float | None, cv: int, random_state: int | None
) -> LogisticProbe | MassMeanProbe:
    if probe == "logistic":
        return LogisticProbe(C=C, cv=cv, random_state=random_state)
    return MassMeanProbe()


def _middle_key(keys: Sequence[Key]) -> Key:
    layers = sorted({int(k[0]) for k in keys})
    layer = layers[(len(layers) - 1) // 2]
    return next(k for k in keys if int(k[0]) == layer)


def _as_source(value: Any, key: Key) -> np.ndarray:
    """``features[key]`` as an array in its own dtype (no float64 copy), checked finite."""
    X = np.asarray(value)
    if X.dtype.kind == "O":
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"features[{key!r}]: {exc}") from exc
    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"features[{key!r}] has dtype {X.dtype}; expected real numbers, e.g. float16 or "
            "float32 activations"
        )
    if X.dtype.kind == "f":
        check_finite_rows(X, name=f"features[{key!r}]: X")
    return X


# --------------------------------------------------------------------------- sweep


def layer_sweep(
    features: Mapping[Key, np.ndarray],
    y: Any,
    *,
    probe: ProbeKind = "logistic",
    cv: int = 5,
    random_state: int | None = 0,
    groups: Sequence[Hashable] | np.ndarray | None = None,
    C: float | None = None,
    folds: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
    progress: bool = True,
    n_jobs: int | None = None,
) -> SweepResult:
    """Cross-validated AUROC of a linear probe at every ``(layer, position)``.

    For each key, a fresh probe is fitted on the training part of each of ``cv``
    stratified, shuffled folds (the same folds for every key) and scored on the held-out
    part by AUROC of its P(correct) (higher = better; 0.5 = chance). With ``groups``,
    the held-out AUROC is also computed inside each group that has both correct and
    wrong answers in that fold and averaged weighted by group size: a probe that only
    recognises the group (e.g. an easy topic with a high base rate) scores ~0.5 there.

    Parameters
    ----------
    features : mapping of (int, str) to ndarray of shape (n_samples, n_features)
        Activations per ``(layer, position)``, rows aligned with ``y``, in any real
        dtype (float16 / float32 are read as they are; only each fit's rows are
        converted to float64). Not modified.
    y : array-like of shape (n_samples,)
        1 = answer correct, 0 = answer wrong (any two labels: the larger is "correct").
    probe : {"logistic", "mass_mean"}, default="logistic"
        ``"logistic"``: :class:`~howsure.probes.linear.LogisticProbe` with a **fixed C**
        for speed. Unless ``C`` is given, C is chosen once by the probe's inner
        cross-validation (log-loss) on all samples of the middle layer (its first
        position) and then used for every key and fold; this reuses the outer data for
        one hyperparameter, a small optimistic bias shared by all keys.
        ``"mass_mean"``: :class:`~howsure.probes.linear.MassMeanProbe` (unwhitened).
    cv : int, default=5
        Number of outer folds; each class needs at least ``cv`` samples.
    random_state : int or None, default=0
        Seed of the fold shuffling (and of the inner C search).
    groups : array-like of shape (n_samples,), optional
        Group label per sample (e.g. topic) for the within-group AUROC.
    C : float, optional
        Fixed inverse L2 strength for ``probe="logistic"`` (skips the C search).
    folds : list of (train_indices, held_out_indices), optional
        Use these folds instead of ``cv`` stratified random ones, e.g. folds that hold
        out whole sources or topics (:func:`howsure.probes.folds.group_folds`), so the
        sweep chooses for transfer rather than fit. A held-out fold with one class only
        has no AUROC and is left out of the mean.
    progress : bool, default=True
        Show a tqdm progress bar.
    n_jobs : int or None, default=None
        Worker threads for the fits (each ``(key, fold)`` fit is one task; BLAS stays
        single-threaded in every worker, so the results do not depend on it). None
        chooses by size: 1 below 2048 features
        (:data:`~howsure.probes.threads.PARALLEL_MIN_FEATURES`), else one per core, at
        most 8; -1 is one per core.

    Returns
    -------
    SweepResult
        Rows sorted by layer then position, and the best key by mean AUROC.

    Raises
    ------
    ValueError
        For an empty mapping, an array that is not 2-D or whose rows do not match
        ``y``, NaN / inf in an array (naming the key), y that is not binary or has a
        class with fewer than ``cv`` samples, groups of the wrong length, or a bad
        ``probe``, ``cv``, ``C`` or ``n_jobs``.
    TypeError
        For a key that is not ``(int, str)``, or an ``n_jobs`` that is not an int.

    Notes
    -----
    Threads. BLAS stays single-threaded in every fit (threadpoolctl); with 2048
    features or more the ``(key, fold)`` fits run on worker threads instead (the
    default ``n_jobs=None``), each exactly as it would run alone, so the results equal
    a serial sweep's bit for bit. Measured by ``bench/sweep_scale.py`` on 2 shared
    cores (n = 3,000, 12 keys stored in float16, C = 0.01, 5 folds; wall time over one
    thread's; ``bench/results/sweep_scale.md``): d = 576: 2 BLAS threads 3.1x, 2 workers
    0.68x (11x and 1.22x in an earlier run on a loaded machine, so small sweeps, about
    0.14 s per key, stay serial); d = 2048: 1.78x / 0.60x; d = 4096: 1.34x / 0.58x;
    d = 8192: 1.11x / 0.54x, 1.4 s per key instead of 2.7, a full 32-layer ×
    3-position sweep in about 2.3 minutes instead of 4.3. Earlier measurement (30
    layers × 3 positions, n = 1800, d = 576, with the C search): about 13 s.

    Memory. Each key's matrix stays in its own dtype (e.g. float16): each fit copies
    only its training rows to float64 and standardises them in a second buffer, about
    2 × n_train × d × 8 bytes per worker (d = 8192, n = 3,000: the sweep adds about
    330 MB serially, 700 MB on 2 workers; a serial sweep used to add 660 MB, with a
    float64 copy of the whole matrix). The C search (``C=None`` only) runs once,
    serially, on a float64 copy of the middle layer (d = 8192: about 11 s).
    """
    check_choice(probe, "probe", sorted(PROBES))
    cv = check_int(cv, "cv", min_val=2)
    if random_state is not None:
        check_int(random_state, "random_state")
    if C is not None:
        C = check_real(C, "C", min_val=0.0, include_boundaries="neither", hint="or None")
    if C is not None and probe != "logistic":
        raise ValueError(f"C applies to probe='logistic' only; got probe={probe!r} with C={C!r}")
    n_jobs = check_n_jobs(n_jobs)
    keys = _check_keys(features)
    y01 = _check_y(y)
    n = y01.shape[0]
    counts = np.bincount(y01, minlength=2)
    if counts.min() < cv:
        which = "wrong" if counts[0] < counts[1] else "correct"
        raise SettingError(
            "cv",
            "only {k} {which} answers, fewer than {param}={n} folds; collect more questions "
            "or lower {param}.",
            k=int(counts.min()),
            which=which,
            n=cv,
        )
    for key in keys:
        shape = np.shape(features[key])
        if len(shape) != 2 or shape[0] != n:
            raise ValueError(
                f"features[{key!r}] has shape {shape}; expected (n_samples={n}, n_features) "
                "with one row per label in y."
            )
    codes: np.ndarray | None = None
    n_groups: int | None = None
    if groups is not None:
        codes, n_groups = _group_codes(groups, n)

    if folds is None:
        folds = list(
            StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state).split(
                np.zeros((n, 1)), y01
            )
        )
    else:
        folds = [(np.asarray(tr), np.asarray(te)) for tr, te in folds]
        if not any(np.unique(y01[te]).size == 2 for _, te in folds):
            raise ValueError(
                "no held-out fold has both correct and wrong answers, so no AUROC can be "
                "computed; use coarser folds or more questions"
            )
    eligible: list[list[int]] = []
    if codes is not None:
        for _, test in folds:
            ok = []
            for g in np.unique(codes[test]):
                yg = y01[test][codes[test] == g]
                if yg.min() != yg.max():
                    ok.append(int(g))
            eligible.append(ok)
        if not any(eligible):
            warnings.warn(
                "no group has both correct and wrong answers in any held-out fold, so the "
                "within-group AUROC is None; use coarser groups or more questions.",
                RuntimeWarning,
                stacklevel=2,
            )

    sources = {key: _as_source(features[key], key) for key in keys}
    n_tasks = len(keys) * len(folds)
    d_max = max(int(X.shape[1]) for X in sources.values())
    workers = n_workers(n_jobs, n_features=d_max, n_tasks=n_tasks)

    def fold_scores(i: int) -> np.ndarray:
        """Held-out scores of task ``i``: key ``i // len(folds)``, fold ``i % len(folds)``."""
        key = keys[i // len(folds)]
        train, test = folds[i % len(folds)]
        X = sources[key]
        est = _make_probe(probe, C=C, cv=cv, random_state=random_state)
        try:  # one float64 copy of the training rows, none of the whole matrix
            est.fit(np.asarray(X[train], dtype=np.float64), y01[train])
            return est.decision_function(np.asarray(X[test], dtype=np.float64))
        except ValueError as exc:
            raise ValueError(f"features[{key!r}]: {exc}") from exc

    rows: list[dict[str, Any]] = []
    with (
        threadpool_limits(limits=_BLAS_THREADS, user_api="blas"),
        warnings.catch_warnings(),
    ):
        warnings.filterwarnings(
            "ignore", message="MassMeanProbe: the 1-D read-out", category=RuntimeWarning
        )
        if probe == "logistic" and C is None:
            middle = _middle_key(keys)
            try:
                C = float(
                    LogisticProbe(cv=cv, random_state=random_state)
                    .fit(np.asarray(sources[middle], dtype=np.float64), y01)
                    .C_
                )
            except ValueError as exc:
                raise ValueError(f"features[{middle!r}]: {exc}") from exc
        bar = tqdm(keys, desc=f"{probe} probe sweep", unit="key", disable=not progress)
        best_so_far = -math.inf
        with closing(map_in_order(fold_scores, n_tasks, workers=workers)) as results:
            for key in bar:
                aucs: list[float] = []
                within: list[float] = []
                for k, (_, test) in enumerate(folds):
                    scores = next(results)
                    if np.unique(y01[test]).size == 2:
                        aucs.append(float(roc_auc_score(y01[test], scores)))
                    if codes is not None and eligible[k]:
                        w = within_group_auroc(scores, y01[test], codes[test])
                        if not math.isnan(w):
                            within.append(float(w))
                row = {
                    "layer": int(key[0]),
                    "position": str(key[1]),
                    "auroc_mean": float(np.mean(aucs)),
                    "auroc_std": float(np.std(aucs)),
                    "auroc_within_mean": float(np.mean(within)) if within else None,
                    "auroc_within_std": float(np.std(within)) if within else None,
                    "n": int(n),
                }
                rows.append(row)
                best_so_far = max(best_so_far, row["auroc_mean"])
                bar.set_postfix(best_auroc=f"{best_so_far:.3f}", refresh=False)
        bar.close()

    best_row = max(rows, key=lambda r: r["auroc_mean"])  # first (lowest layer) on ties
    return SweepResult(
        rows=rows,
        best=(best_row["layer"], best_row["position"]),
        probe=probe,
        cv=int(cv),
        random_state=None if random_state is None else int(random_state),
        C=C if probe == "logistic" else None,
        n_groups=n_groups,
        meta={"n_features": {f"{k[0]}/{k[1]}": int(np.shape(features[k])[1]) for k in keys}},
    )


# --------------------------------------------------------------------------- plot


def plot_sweep(result: SweepResult, path: str | Path, *, title: str | None = None) -> Path:
    """Draw cross-validated AUROC against layer, one line per position, as a PNG.

    Shaded bands are ± one std over folds; dashed lines are the within-group AUROC when
    the sweep had groups; the dotted line is chance (0.5); a star marks the best key.
    Uses matplotlib's Agg canvas directly (no pyplot, no global backend change).

    Parameters
    ----------
    result : SweepResult
    path : str or Path
        Where to write the PNG; parent folders are created.
    title : str, optional
        Figure title (default names the probe and fold count).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ImportError
        When matplotlib is missing, with the install hint.
    """
    fig = new_figure((8, 4.5), what="plot_sweep")
    ax = fig.add_subplot(1, 1, 1)
    positions: list[str] = []
    for r in result.rows:
        if r["position"] not in positions:
            positions.append(r["position"])
    for i, pos in enumerate(positions):
        rows = sorted((r for r in result.rows if r["position"] == pos), key=lambda r: r["layer"])
        layers = np.array([r["layer"] for r in rows])
        mean = np.array([r["auroc_mean"] for r in rows])
        std = np.array([r["auroc_std"] for r in rows])
        color = f"C{i}"
        ax.plot(layers, mean, marker="o", markersize=3, color=color, label=pos)
        ax.fill_between(layers, mean - std, mean + std, color=color, alpha=0.15, linewidth=0)
        within = [(r["layer"], r["auroc_within_mean"]) for r in rows]
        within = [(la, w) for la, w in within if w is not None]
        if within:
            wl, wv = zip(*within, strict=True)
            ax.plot(wl, wv, linestyle="--", color=color, label=f"{pos} (within group)")
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1, label="chance")
    best = result.row(*result.best)
    ax.plot(
        [best["layer"]],
        [best["auroc_mean"]],
        marker="*",
        markersize=14,
        color="black",
        linestyle="none",
        label=f"best: layer {best['layer']}, {best['position']} ({best['auroc_mean']:.3f})",
    )
    ax.set_xlabel("layer")
    ax.set_ylabel("cross-validated AUROC")
    ax.set_title(title or f"{result.probe} probe, {result.cv}-fold AUROC (correct vs wrong)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
