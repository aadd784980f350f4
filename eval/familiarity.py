"""Does the familiarity flag find the questions unlike the training rows?

:func:`familiarity_report` measures a detector's familiarity model as a detector of "not
like the training rows": each held-out kind of :mod:`howsure.eval.kinds` (code, other
languages, arithmetic, instructions, small talk) and each source of the training mixture
held out in turn (the familiarity model refitted without it, with the detector's own
layers, neighbour count and metric) against the in-distribution test questions, all sent
as the detector's reader sends them. Per group: AUROC of ``1 - familiarity`` with its
bootstrap 95% interval, and the share flagged unfamiliar with its Wilson 95% interval.

A kind that has same-kind topics in the training mixture (``arithmetic``; see
:data:`~howsure.eval.kinds.TRAINING_TWINS`) is measured with those topics left out of
the fit and of the in-distribution rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import binomtest

from howsure.calibration.ranking import auroc
from howsure.eval.kinds import TRAINING_TWINS, held_out_kinds
from howsure.eval.tables import Table
from howsure.plugin.detector import Detector
from howsure.plugin.familiar import reader_states
from howsure.probes.familiarity import UNFAMILIAR_BELOW, familiarity_setting, fit_familiarity
from howsure.probes.models import context_length
from howsure.qa.load import load_qa

__all__ = ["familiarity_markdown", "familiarity_report", "flag_row", "wilson_ci"]


def wilson_ci(k: int, n: int) -> list[float]:
    """Wilson 95% interval of a share of ``k`` in ``n``, as ``[low, high]``."""
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return [float(ci.low), float(ci.high)]


def flag_row(
    familiar_in: np.ndarray, familiar_out: np.ndarray, *, n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """AUROC of telling ``familiar_out`` from ``familiar_in`` by ``1 - familiarity``, with
    its stratified bootstrap 95% interval, and the share of ``familiar_out`` flagged.

    Parameters
    ----------
    familiar_in : ndarray of shape (n_in,)
        Familiarity of in-distribution questions.
    familiar_out : ndarray of shape (n_out,)
        Familiarity of the held-out group's questions.

    Returns
    -------
    dict
        ``n``, ``auroc``, ``auroc_ci95``, ``flagged``, ``flagged_ci95``.
    """
    inside, out = np.asarray(familiar_in, float), np.asarray(familiar_out, float)
    y = np.r_[np.zeros(len(inside)), np.ones(len(out))]
    rng = np.random.default_rng(seed)
    boot = [  # stratified: each resample keeps both groups' sizes
        auroc(1.0 - np.r_[rng.choice(inside, len(inside)), rng.choice(out, len(out))], y)
        for _ in range(n_boot)
    ]
    k = int(np.sum(out < UNFAMILIAR_BELOW))
    return {
        "n": len(out),
        "auroc": auroc(1.0 - np.r_[inside, out], y),
        "auroc_ci95": [float(v) for v in np.quantile(boot, [0.025, 0.975])],
        "flagged": k / len(familiar_out),
        "flagged_ci95": wilson_ci(k, len(familiar_out)),
    }


def familiarity_report(
    detector: Detector,
    model: Any,
    tokenizer: Any,
    *,
    dataset: str = "mix",
    kinds: Mapping[str, Sequence[str]] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    batch_size: int = 16,
    progress: bool = True,
) -> dict[str, Any]:
    """Flag rates and AUROCs of ``detector``'s familiarity on held-out kinds and sources.

    Parameters
    ----------
    detector : Detector
        With a familiarity model, fitted on ``dataset``'s train and calibration
        questions as its reader sends them.
    model, tokenizer : the detector's model
    dataset : str, default "mix"
        The training dataset: its train and calibration questions refit the familiarity
        model without a source (or a kind's twin topics), its test questions are the
        in-distribution rows.
    kinds : dict of str to list of str, optional
        Held-out prompts by kind; default :func:`~howsure.eval.kinds.held_out_kinds`.
    n_boot, seed : bootstrap resamples and seed

    Returns
    -------
    dict
        ``in_distribution`` (``n``, ``flagged``, ``flagged_ci95``), ``kinds`` and
        ``sources`` (group name to :func:`flag_row`; a kind also has ``too_long``, its
        prompts left out for not fitting the model's context, and a kind with none
        left is left out), ``cut`` (``UNFAMILIAR_BELOW``),
        ``setting`` (the familiarity's layers, neighbours and metric).

    Raises
    ------
    ValueError
        The detector has no familiarity model, or ``dataset`` has no test split.
    """
    if detector.familiarity is None:
        raise ValueError(
            "this detector has no familiarity model (saved by an older howsure?); retrain "
            "it with `howsure train` for one"
        )
    items = load_qa(dataset)
    fit_rows = list({it.question: it for it in items if it.split != "test"}.values())
    test_rows = [it for it in items if it.split == "test"]
    if not test_rows:
        raise ValueError(f"dataset {dataset!r} has no test split to measure familiarity on")
    kinds = held_out_kinds() if kinds is None else {k: list(v) for k, v in kinds.items()}
    setting = familiarity_setting(detector.familiarity, detector.familiarity_layers)
    layers = setting["layers"]

    limit = context_length(model, tokenizer)

    def fitting(prompts: Sequence[str]) -> list[str]:
        """The prompts that fit the model's context as the reader sends them."""
        if limit is None:
            return list(prompts)
        texts = detector.render(list(prompts), tokenizer)
        sizes = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
        return [p for p, n in zip(prompts, sizes, strict=True) if n <= limit]

    def states(questions: Sequence[str]) -> np.ndarray:
        found = reader_states(
            detector,
            model,
            tokenizer,
            questions,
            layers=layers,
            batch_size=batch_size,
            progress=progress,
        )
        return detector.prompt_features(found)

    X_fit = states([it.question for it in fit_rows])
    X_test = states([it.question for it in test_rows])
    fit_src = np.array([it.source or "unknown" for it in fit_rows])
    fit_top = np.array([it.topic for it in fit_rows])
    test_src = np.array([it.source or "unknown" for it in test_rows])
    test_top = np.array([it.topic for it in test_rows])

    def refit(keep: np.ndarray) -> Any:
        per_layer = np.split(X_fit[keep], len(layers), axis=1)
        groups = fit_top[keep]
        return fit_familiarity(dict(zip(layers, per_layer, strict=True)), groups, setting=setting)[
            0
        ]

    fam_test = detector.familiarity.score(X_test)
    k = int(np.sum(fam_test < UNFAMILIAR_BELOW))
    out: dict[str, Any] = {
        "dataset": dataset,
        "cut": UNFAMILIAR_BELOW,
        "setting": setting,
        "in_distribution": {
            "n": len(test_rows),
            "flagged": k / len(test_rows),
            "flagged_ci95": wilson_ci(k, len(test_rows)),
        },
        "kinds": {},
        "sources": {},
    }
    for name, given in kinds.items():
        prompts = fitting(given)
        if not prompts:
            continue
        twins = list(TRAINING_TWINS.get(name, ()))
        fam, base = detector.familiarity, np.ones(len(test_rows), dtype=bool)
        if twins and np.isin(fit_top, twins).any():
            fam, base = refit(~np.isin(fit_top, twins)), ~np.isin(test_top, twins)
        row = flag_row(
            fam.score(X_test[base]), fam.score(states(prompts)), n_boot=n_boot, seed=seed
        )
        out["kinds"][name] = row | {"left_out_of_fit": twins, "too_long": len(given) - len(prompts)}
    for source in sorted(set(fit_src.tolist())):
        if (test_src == source).sum() < 2 or len(set(fit_src.tolist())) < 2:
            continue
        fam = refit(fit_src != source)
        inside, held = fam.score(X_test[test_src != source]), fam.score(X_test[test_src == source])
        out["sources"][source] = flag_row(inside, held, n_boot=n_boot, seed=seed)
    return out


def _ci(v: Sequence[float], fmt: str) -> str:
    return f"[{format(v[0], fmt)}, {format(v[1], fmt)}]"


def familiarity_markdown(report: Mapping[str, Any]) -> str:
    """The report as a Markdown table (one row per held-out kind and source)."""
    ind = report["in_distribution"]
    rows = []
    for what in ("kinds", "sources"):
        for name, r in report[what].items():
            label = name if what == "kinds" else f"source `{name}`"
            if r.get("left_out_of_fit"):
                label += f" (fit without {', '.join(r['left_out_of_fit'])})"
            rows.append(
                [
                    label,
                    str(r["n"]),
                    f"{r['auroc']:.3f}",
                    _ci(r["auroc_ci95"], ".3f"),
                    f"{r['flagged']:.0%}",
                    _ci(r["flagged_ci95"], ".0%"),
                ]
            )
    table = Table(["held out", "n", "AUROC", "95% CI", "flagged", "95% CI"], rows)
    s = report["setting"]
    head = (
        f"Familiarity on layers {s['layers']} ({s['metric']}, neighbour {s['n_neighbors']}); "
        f"flagged below {report['cut']}. In-distribution test questions of "
        f"`{report['dataset']}`: {ind['n']}, {ind['flagged']:.1%} flagged "
        f"{_ci(ind['flagged_ci95'], '.1%')}.\n\n"
    )
    return head + table.markdown()
