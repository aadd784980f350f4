"""Leave one source (or topic) out: how a detector does on questions it never saw.

For each group G (a QA set of a mixture, or a topic such as an EntityQuestions relation),
:func:`leave_one_group_out` fits the whole detector recipe
(:func:`howsure.plugin.grouped.fit_grouped_detector`: probe, grouped out-of-fold
calibration, familiarity) on every row *not* in G, scores every row of G, and reports
against G's best single-pass baseline: AUROC with the paired 95% interval of the margin,
ECE with its noise floor, Brier skill against G's own base rate, mean confidence against
accuracy, and familiarity. It then recalibrates on a few labelled rows of G
(:func:`howsure.plugin.recalibrate.recalibrate`) and reports the ECE on the rest.

The layer, position and regularisation are fixed for every fold (normally the default
detector's, chosen by grouped cross-validation on the training split).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from tqdm.auto import tqdm

from howsure.calibration.bootstrap import bootstrap_ci
from howsure.calibration.metrics import brier, ece, ece_noise_floor
from howsure.calibration.ranking import auroc_or_nan, paired_auroc_difference
from howsure.core.errors import SettingError
from howsure.eval.compare import BASELINES, baseline_scores
from howsure.eval.tables import Table
from howsure.plugin.detector import Assessment
from howsure.plugin.grouped import STACKED_INPUTS, fit_grouped_detector
from howsure.plugin.recalibrate import recalibrate
from howsure.probes.collect import Collection, concat
from howsure.probes.folds import FoldScheme

__all__ = [
    "ECE_TARGET",
    "RECALIBRATION_SIZES",
    "heldout_markdown",
    "heldout_metrics",
    "leave_one_group_out",
    "recalibration_rows",
]

ECE_TARGET = 0.10
"""The ECE a held-out group's confidence must not exceed (with no label from it)."""

RECALIBRATION_SIZES: tuple[int, ...] = (50, 100, 200)
"""Labelled rows of the held-out group used by the recalibration rows of the report."""


def heldout_metrics(
    found: Assessment,
    held: Collection,
    *,
    n_boot: int = 1000,
    n_bins: int = 15,
    seed: int = 0,
) -> dict[str, Any]:
    """A detector's confidences on one held-out group against its best baseline.

    Parameters
    ----------
    found : Assessment
        Confidences (and familiarity) of the group's ``n`` answers.
    held : Collection
        The group's answers: labels and baseline extras.
    n_boot : int, default 1000
        Bootstrap resamples of the intervals.
    n_bins : int, default 15
    seed : int, default 0

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``auroc`` and ``auroc_ci95``, ``baselines`` (name to AUROC),
        ``best_baseline``, ``best_baseline_auroc``, ``margin`` (AUROC minus the best
        baseline's) and ``margin_ci95`` (paired bootstrap), ``ece``,
        ``ece_noise_floor`` (mean) and ``ece_noise_floor_ci95``, ``brier``,
        ``brier_base_rate`` (always answering the group's accuracy), ``brier_skill``
        (``1 - brier / brier_base_rate``; > 0 says more than the usual rate),
        ``mean_confidence``, ``confidence_gap`` (mean confidence minus accuracy),
        ``familiarity_mean`` and ``unfamiliar_share`` (``None`` without familiarity).
        AUROCs and margins are nan when the group's answers are all right or all wrong.
    """
    y = np.asarray(held.labels).astype(int)
    conf = np.asarray(found.confidence, dtype=np.float64)
    both = 0 < y.sum() < len(y)
    base = {k: auroc_or_nan(v, y) for k, v in baseline_scores(held).items()}
    ranked = [k for k in BASELINES if not np.isnan(base[k])]
    best = max(ranked, key=lambda k: base[k]) if ranked else None
    nan2 = [float("nan"), float("nan")]
    auc_ci, margin, margin_ci = nan2, float("nan"), nan2
    if both:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            auc_ci = [float(v) for v in bootstrap_ci("auroc", conf, y, n_boot=n_boot, seed=seed)]
            best_scores = baseline_scores(held)[best]
            margin, lo, hi = paired_auroc_difference(conf, best_scores, y, n_boot=n_boot, seed=seed)
            margin_ci = [float(lo), float(hi)]
    accuracy = float(y.mean())
    floor, floor_lo, floor_hi = ece_noise_floor(conf, n_bins=n_bins, n_sim=n_boot, seed=seed)
    brier_value = float(brier(conf, y))
    brier_base = accuracy * (1.0 - accuracy)
    fam = found.familiarity
    return {
        "n": len(y),
        "accuracy": accuracy,
        "auroc": auroc_or_nan(conf, y),
        "auroc_ci95": auc_ci,
        "baselines": base,
        "best_baseline": best,
        "best_baseline_auroc": base[best] if best else float("nan"),
        "margin": float(margin),
        "margin_ci95": margin_ci,
        "ece": float(ece(conf, y, n_bins=n_bins)),
        "ece_noise_floor": floor,
        "ece_noise_floor_ci95": [floor_lo, floor_hi],
        "brier": brier_value,
        "brier_base_rate": brier_base,
        "brier_skill": 1.0 - brier_value / brier_base if brier_base > 0 else float("nan"),
        "mean_confidence": float(conf.mean()),
        "confidence_gap": float(conf.mean()) - accuracy,
        "familiarity_mean": None if fam is None else float(np.mean(fam)),
        "unfamiliar_share": None if fam is None else float(np.mean(found.unfamiliar)),
        "ece_by_flag": None if fam is None else _ece_by_flag(conf, y, found.unfamiliar, n_bins),
    }


def _ece_by_flag(conf: np.ndarray, y: np.ndarray, flagged: np.ndarray, n_bins: int) -> dict:
    """ECE and count of the flagged (unfamiliar) and unflagged answers (``None`` for a
    part with fewer than 10 answers)."""
    out = {}
    for name, mask in (("flagged", flagged), ("unflagged", ~flagged)):
        n = int(mask.sum())
        out[name] = {
            "n": n,
            "ece": float(ece(conf[mask], y[mask], n_bins=n_bins)) if n >= 10 else None,
        }
    return out


def recalibration_rows(n: int, size: int, *, seed: int = 0) -> np.ndarray | None:
    """``size`` row indices of ``n`` drawn at random to recalibrate on (the rest are
    evaluated), or ``None`` when fewer than 100 rows would be left to evaluate."""
    if n - size < 100:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _recalibrated(det: Any, held: Collection, sizes: Sequence[int], seed: int) -> list[dict]:
    out = []
    for size in sizes:
        picked = recalibration_rows(len(held), size, seed=seed)
        if picked is None:
            continue
        mask = np.zeros(len(held), dtype=bool)
        mask[picked] = True
        fit_rows, rest = held.subset(mask), held.subset(~mask)
        y_rest = np.asarray(rest.labels).astype(int)
        before = det.assess_collection(rest).confidence
        try:
            with warnings.catch_warnings():  # judged here on the other rows, not in sample
                warnings.simplefilter("ignore", RuntimeWarning)
                new = recalibrate(det, fit_rows)
            after = new.assess_collection(rest).confidence
        except ValueError as err:  # one class among the picked rows
            out.append({"n_labelled": size, "n_evaluated": len(rest), "error": str(err)})
            continue
        floor, lo, hi = ece_noise_floor(after, seed=seed)
        out.append(
            {
                "n_labelled": size,
                "n_evaluated": len(rest),
                "ece_before": float(ece(before, y_rest)),
                "ece_after": float(ece(after, y_rest)),
                "ece_noise_floor": floor,
                "ece_noise_floor_ci95": [lo, hi],
                "inside_noise_floor": bool(ece(after, y_rest) <= hi),
                "auroc_after": auroc_or_nan(after, y_rest),
            }
        )
    return out


def leave_one_group_out(
    collections: Mapping[str, Collection],
    *,
    by: Literal["source", "topic"] = "source",
    within: str | None = None,
    layer: int,
    position: str,
    C: float,
    inputs: Sequence[str] = STACKED_INPUTS,
    folds: FoldScheme = "auto",
    familiarity_setting: Mapping[str, Any] | None = None,
    recalibration_sizes: Sequence[int] = RECALIBRATION_SIZES,
    n_boot: int = 1000,
    seed: int = 0,
    progress: bool = True,
) -> list[dict]:
    """Per group G: fit the recipe on every other row, evaluate on all of G's rows.

    Parameters
    ----------
    collections : mapping of split name to Collection
        ``"train"`` and ``"calibration"`` (fitting rows) and normally ``"test"``; rows of
        every split of G are evaluated (G took no part in fitting).
    by : {"source", "topic"}, default "source"
        Hold out whole sources, or whole topics.
    within : str, optional
        With ``by="topic"``: hold out the topics of this source only (e.g. the
        EntityQuestions relations); the other sources always stay in training.
    layer, position, C, inputs, folds, familiarity_setting
        The recipe (see :func:`fit_grouped_detector`); the familiarity model reads the
        questions as the collections sent them.
    recalibration_sizes : sequence of int, default (50, 100, 200)
        Labelled rows of G for the recalibration rows of the report.
    n_boot, seed, progress

    Returns
    -------
    list of dict
        One per group: ``group``, ``n_fit`` and :func:`heldout_metrics`' keys, plus
        ``recalibrated`` (a list, one entry per size).

    Raises
    ------
    ValueError
        A row without a source (``by="source"``), fewer than 2 groups, an unknown
        ``within`` source.
    """
    if by not in ("source", "topic"):
        raise ValueError(f"by must be 'source' or 'topic'; got {by!r}")
    parts = {s: c for s, c in collections.items() if len(c)}
    everything = concat(list(parts.values()))
    sources = np.array([it.source or "" for it in everything.items])
    if by == "source" and not sources.all():
        raise ValueError(
            "leave-one-source-out needs a 'source' on every row; "
            f"{int((sources == '').sum())} rows have none"
        )
    if within is not None and within not in set(sources.tolist()):
        raise SettingError(
            "within",
            "{param}={value!r} is not a source of this dataset; its sources are {sources}",
            value=within,
            sources=sorted(set(sources.tolist())),
        )
    keys = (
        sources
        if by == "source"
        else np.array(
            [
                f"{s}:{it.topic}" if s else it.topic
                for s, it in zip(sources, everything.items, strict=True)
            ]
        )
    )
    eligible = sources == within if within is not None else np.ones(len(keys), dtype=bool)
    groups = sorted(set(keys[eligible].tolist()))
    if len(groups) < 2:
        raise ValueError(f"leave one {by} out needs at least 2 {by}s; found {groups}")
    fitting = np.array(
        [s in ("train", "calibration") for s, c in parts.items() for _ in range(len(c))]
    )
    rows = []
    for group in tqdm(groups, desc=f"leave one {by} out", unit=by, disable=not progress):
        fit_rows = everything.subset(fitting & (keys != group))
        held = everything.subset(keys == group)
        try:
            det, _ = fit_grouped_detector(
                fit_rows,
                layer=layer,
                position=position,
                C=C,
                inputs=inputs,
                folds=folds,
                seed=seed,
                familiarity_setting=familiarity_setting,
            )
        except SettingError as err:
            raise err.prefixed(f"fold without {by} {group!r}: ") from err
        except ValueError as err:
            raise ValueError(f"fold without {by} {group!r}: {err}") from err
        found = det.assess_collection(held)
        row = {"group": group, "n_fit": len(fit_rows)}
        row |= heldout_metrics(found, held, n_boot=n_boot, seed=seed)
        row["recalibrated"] = _recalibrated(det, held, recalibration_sizes, seed)
        rows.append(row)
    return rows


def _fmt(value: Any, spec: str = ".3f") -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and np.isnan(value))
        else format(value, spec)
    )


def _flag_ece(parts: Mapping[str, Any] | None) -> str:
    """``"0.120 (40) / 0.050 (200)"``: ECE (and n) of the flagged and unflagged answers."""
    if not parts:
        return "-"
    return " / ".join(
        f"{_fmt(p['ece'])} ({p['n']})" for p in (parts["flagged"], parts["unflagged"])
    )


def heldout_markdown(rows: Sequence[Mapping[str, Any]], *, key: str = "source") -> str:
    """Markdown tables of :func:`leave_one_group_out` rows: transfer, then recalibration."""
    main = []
    for r in rows:
        lo, hi = r["margin_ci95"]
        flo, fhi = r["ece_noise_floor_ci95"]
        main.append(
            [
                r["group"],
                str(r["n"]),
                f"{r['accuracy']:.1%}",
                f"{_fmt(r['auroc'])}",
                f"{r['best_baseline'] or '-'} {_fmt(r['best_baseline_auroc'])}",
                f"{_fmt(r['margin'], '+.3f')} [{_fmt(lo, '+.3f')}, {_fmt(hi, '+.3f')}]",
                f"{r['ece']:.3f} (floor {r['ece_noise_floor']:.3f}, {flo:.3f}-{fhi:.3f})",
                f"{_fmt(r['brier_skill'], '+.3f')}",
                f"{r['mean_confidence']:.1%}",
                _fmt(r["familiarity_mean"], ".2f"),
                _fmt(r["unfamiliar_share"], ".1%"),
                _flag_ece(r.get("ece_by_flag")),
            ]
        )
    headers = [
        f"held-out {key}",
        "n",
        "accuracy",
        "AUROC",
        "best baseline",
        "margin [paired 95% CI]",
        "ECE (noise floor mean, 95% range)",
        "Brier skill",
        "mean confidence",
        "familiarity",
        "unfamiliar",
        "ECE flagged / not (n)",
    ]
    text = Table(headers, main, align="lrrrllllrrrl").markdown()
    recal = []
    for r in rows:
        for e in r.get("recalibrated", []):
            if "error" in e:
                recal.append([r["group"], str(e["n_labelled"]), "-", "-", "-", e["error"]])
                continue
            lo, hi = e["ece_noise_floor_ci95"]
            recal.append(
                [
                    r["group"],
                    str(e["n_labelled"]),
                    str(e["n_evaluated"]),
                    f"{e['ece_before']:.3f}",
                    f"{e['ece_after']:.3f}",
                    f"{lo:.3f}-{hi:.3f} ({'inside' if e['inside_noise_floor'] else 'above'})",
                ]
            )
    if recal:
        headers = [
            f"held-out {key}",
            "labelled rows",
            "evaluated rows",
            "ECE before",
            "ECE after `recalibrate`",
            "noise floor 95% range",
        ]
        text += "\n\n" + Table(headers, recal, align="lrrrrl").markdown()
    return text
