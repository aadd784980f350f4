"""Free-form answers held out: answer and sentence confidences on chat-style prompts.

A chat-style collection (:func:`howsure.probes.collect.collect` with ``styles`` and
``sentences=True``, labelled by :class:`howsure.qa.longform.LongJudge`) is evaluated
leave one source out, with no label from the held-out source:

:func:`chat_loso`
    The answer detector's recipe (fixed layer, position and C, chosen elsewhere) fitted
    on the other sources' chat answers, scored on the held-out source's chat answers
    against that source's best single-pass baseline on the same answers. Refusals
    (the long judge's ``"abstain"``) are neither right nor wrong: counted per source and
    left out of the metrics.
:func:`sentence_loso`
    The sentence detector (:func:`howsure.plugin.sentences.fit_sentence_detector`,
    its layer and C chosen by grouped cross-validation on the fitting sources only)
    scored on the held-out source's answer-stating sentences, against the best
    token-statistics baseline of the same sentence (its mean and minimum token
    log-probability, its mean entropy).

Both return rows of :func:`howsure.eval.heldout.heldout_metrics` (render them with
:func:`howsure.eval.heldout.heldout_markdown`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from howsure.eval.heldout import heldout_metrics
from howsure.plugin.grouped import STACKED_INPUTS, fit_grouped_detector
from howsure.plugin.sentences import POSITION, fit_sentence_detector, sentence_collection
from howsure.probes.collect import Collection, concat
from howsure.qa.longform import abstained

__all__ = ["chat_loso", "sentence_loso"]


def _sources(collection: Collection) -> np.ndarray:
    sources = np.asarray([it.source or "" for it in collection.items])
    if not sources.all():
        raise ValueError(
            f"leave one source out needs a 'source' on every row; {int((sources == '').sum())} "
            "rows have none"
        )
    return sources


def chat_loso(
    collection: Collection,
    *,
    short: Collection | None = None,
    layer: int,
    position: str,
    C: float,
    inputs: Sequence[str] = STACKED_INPUTS,
    n_boot: int = 1000,
    seed: int = 0,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Leave one source out on chat-style answers (refusals left out).

    Parameters
    ----------
    collection : Collection
        Collected with ``styles`` (its ``"short"`` rows are not used).
    short : Collection, optional
        Short-style rows of the same sources (``howsure train``'s splits; activations
        at ``(layer, position)``): each fold then also fits on the other sources'
        train and calibration rows of it, and the held-out source's short rows (every
        split) are scored too (``short_*`` keys): one recipe for both styles.
    layer, position, C, inputs
        The answer detector's recipe (see :func:`fit_grouped_detector`).
    n_boot, seed, progress

    Returns
    -------
    list of dict
        Per source: ``group``, ``n_fit``, ``abstained`` (refusals left out) and
        :func:`heldout_metrics`' keys; with ``short``, also ``short``: the metrics of
        the held-out source's short-style rows.
    """
    everything = collection.subset(np.asarray(collection.extras["style"]) != "short")
    refused = abstained(everything.answers, everything.items)
    sources = _sources(everything)
    if short is not None:
        short_sources = _sources(short)
        fitting = np.asarray([it.split in ("train", "calibration") for it in short.items])
    rows = []
    for group in tqdm(
        sorted(set(sources.tolist())), desc="chat: leave one source out", disable=not progress
    ):
        fit = everything.subset((sources != group) & ~refused)
        if short is not None:
            fit = concat([short.subset(fitting & (short_sources != group)), fit])
        held = everything.subset((sources == group) & ~refused)
        det, _ = fit_grouped_detector(
            fit, layer=layer, position=position, C=C, inputs=inputs, seed=seed
        )
        row = {"group": group, "n_fit": len(fit)}
        row["abstained"] = int(((sources == group) & refused).sum())
        row |= heldout_metrics(det.assess_collection(held), held, n_boot=n_boot, seed=seed)
        if short is not None:
            held_short = short.subset(short_sources == group)
            found = det.assess_collection(held_short)
            row["short"] = {"group": group, "n_fit": len(fit)} | heldout_metrics(
                found, held_short, n_boot=n_boot, seed=seed
            )
        rows.append(row)
    return rows


def sentence_loso(
    collection: Collection,
    *,
    layers: Sequence[int] | None = None,
    answers: Collection | None = None,
    answer_layer: int | None = None,
    answer_C: float = 0.003,
    n_boot: int = 1000,
    seed: int = 0,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Leave one source out on answer-stating sentences of chat-style answers.

    Parameters
    ----------
    collection : Collection
        Collected with ``styles`` and ``sentences=True``.
    layers : sequence of int, optional
        Candidate layers of the sentence detector (default: every collected one).
    answers, answer_layer, answer_C
        Short-style answers for the answer-probe candidate (see
        :func:`fit_sentence_detector`); each fold uses the other sources' rows only.
    n_boot, seed, progress

    Returns
    -------
    list of dict
        Per source: ``group``, ``n_fit``, ``layer`` and ``probe_from`` (chosen on the
        fitting sources) and :func:`heldout_metrics`' keys over the held-out source's
        labelled sentences.
    """
    chat = collection.subset(np.asarray(collection.extras["style"]) != "short")
    sources = _sources(chat)
    labelled = sentence_collection(chat)
    held_sources = np.asarray([it.source for it in labelled.items])
    rows = []
    for group in tqdm(
        sorted(set(sources.tolist())), desc="sentences: leave one source out", disable=not progress
    ):
        extra = {}
        if answers is not None:
            answer_sources = _sources(answers)
            extra = {
                "answers": answers.subset(answer_sources != group),
                "answer_layer": answer_layer,
                "answer_C": answer_C,
            }
        det, _ = fit_sentence_detector(
            chat.subset(sources != group), layers=layers, seed=seed, **extra
        )
        held = labelled.subset(held_sources == group)
        layer = det.reader.layer
        found = det.assess_features(held.features(layer, POSITION), held.extras)
        training = det.info["training"]
        row = {"group": group, "n_fit": int(training["n_train"]), "layer": layer}
        row["probe_from"] = training["probe_from"]
        row |= heldout_metrics(found, held, n_boot=n_boot, seed=seed)
        rows.append(row)
    return rows
