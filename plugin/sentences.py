"""Sentence confidences: each sentence of a free-form answer with its own calibrated
confidence, read from the generation that produced it.

Training rows are the sentences that state an answer (:func:`sentence_collection`),
labelled by the long-answer judge (:func:`howsure.qa.longform.sentence_labels`: the
answering sentence gets the answer's verdict, a later sentence naming a gold after a
right answer is right; chatter, refusals, background and code get no label and are not
trained on). A sentence's features are its tokens' mean hidden state at one layer and
its tokens' statistics (:mod:`howsure.probes.spans`); the sentence detector is an
ordinary :class:`~howsure.plugin.detector.Detector` (probe + stacked calibrator on
grouped out-of-fold scores) over those rows, its layer and regularisation chosen by
grouped cross-validation (whole sources held out), and is saved inside the answer
detector (:attr:`Detector.sentences <howsure.plugin.detector.Detector.sentences>`).

Serving: :func:`sentence_confidences` reads every sentence of an answer (not only the
ones that state an answer: a user sees them all) through the same
:func:`~howsure.probes.spans.sentence_reads` that collection used.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from threadpoolctl import threadpool_limits

from howsure.calibration.ranking import auroc_or_nan
from howsure.calibration.stacked import StackedCalibrator
from howsure.core.checks import check_choice
from howsure.plugin.detector import Detector, ReaderSettings
from howsure.plugin.generation import SentenceConfidence
from howsure.plugin.grouped import (
    C_GRID,
    STACKED_INPUTS,
    GroupedFit,
    choose_C,
    collection_folds,
    fit_grouped_detector,
)
from howsure.probes.activations import forced_readings
from howsure.probes.collect import Collection
from howsure.probes.folds import FoldScheme
from howsure.probes.linear import LogisticProbe
from howsure.probes.spans import SENTENCE_STATS, sentence_reads, sentence_tokens, token_ends
from howsure.qa.longform import sentence_labels

__all__ = [
    "SentenceStream",
    "attach_sentence_detector",
    "fit_sentence_detector",
    "score_sentences",
    "sentence_collection",
    "sentence_confidences",
]

POSITION = "mean_answer"
"""Where a sentence detector reads: the mean state of the sentence's tokens."""


def sentence_collection(collection: Collection) -> Collection:
    """One row per sentence that states an answer, labelled by the long-answer judge.

    Parameters
    ----------
    collection : Collection
        Collected with ``sentences=True`` (:func:`howsure.probes.collect.collect`).

    Returns
    -------
    Collection
        ``m`` rows: each sentence's question (its item, so grouped folds hold out its
        source or topic with it), the sentence's text as the answer, its label,
        ``activations[(layer, "mean_answer")]`` of shape (m, d) for every layer
        collected, the sentence's token statistics as extras (and its answer's
        ``style``), and ``extras["answer_row"]``: the answer it came from.

    Raises
    ------
    ValueError
        The collection has no sentences, or none of them states an answer.
    """
    table = collection.sentences
    if table is None:
        raise ValueError(
            "this collection has no sentences; collect it with collect(..., sentences=True)"
        )
    keep, labels = [], []
    for i, item in enumerate(collection.items):
        rows = np.flatnonzero(table.row == i)
        answer = collection.answers[i]
        marks = sentence_labels(answer, item.answers, question=item.question) if answer else []
        if len(marks) != len(rows):
            raise ValueError(
                f"question {item.describe()}: the collection holds {len(rows)} sentences for "
                f"its answer but the judge finds {len(marks)}; collect it again"
            )
        for r, mark in zip(rows, marks, strict=True):
            if mark is not None:
                keep.append(r)
                labels.append(mark)
    if not keep:
        raise ValueError(
            f"none of the {len(table)} sentences of {len(collection)} answers states an answer "
            "the judge can label; collect more questions"
        )
    idx = np.asarray(keep, dtype=np.int64)
    answer_rows = table.row[idx]
    extras = {k: table.stats[k][idx] for k in SENTENCE_STATS}
    extras["answer_row"] = answer_rows
    if "style" in collection.extras:
        extras["style"] = np.asarray(collection.extras["style"])[answer_rows]
    return Collection(
        items=[collection.items[r] for r in answer_rows],
        answers=[
            collection.answers[r][s:e]
            for r, s, e in zip(answer_rows, table.start[idx], table.end[idx], strict=True)
        ],
        labels=np.asarray(labels, dtype=bool),
        activations={(la, POSITION): v[idx] for la, v in table.states.items()},
        extras=extras,
        meta=dict(collection.meta, unit="sentence", positions=[POSITION]),
    )


def fit_sentence_detector(
    collection: Collection,
    *,
    layers: Sequence[int] | None = None,
    answers: Collection | None = None,
    answer_layer: int | None = None,
    answer_C: float = 0.003,
    folds: FoldScheme = "auto",
    cv: int = 5,
    seed: int = 0,
) -> tuple[Detector, GroupedFit | None]:
    """Fit the sentence detector on a collection's sentences that state an answer.

    Candidates for the probe, compared by their mean held-out AUROC on grouped folds of
    the sentence rows: a probe fitted on the sentences at each of ``layers`` (with its
    regularisation chosen the same way), and, with ``answers``, the probe of the answer
    detector's recipe fitted on those (short-style) answers at ``answer_layer`` (many
    more labelled rows; a one-sentence answer is a sentence that states an answer). The
    calibration is stacked on the chosen probe's log-odds and the sentence's token
    statistics (grouped out-of-fold log-odds for a probe fitted on the sentences).

    Parameters
    ----------
    collection : Collection
        Collected with ``sentences=True``.
    layers : sequence of int, optional
        Candidate layers; default every collected one.
    answers : Collection, optional
        Labelled answers with activations at ``(answer_layer, "mean_answer")`` (e.g.
        ``howsure train``'s train split), none of them from a held-out group.
    answer_layer : int, optional
        Required with ``answers``.
    answer_C : float, default 0.003
        The answer probe's inverse L2 strength (the answer detector's).
    folds : {"auto", "source", "topic", "random"}, default "auto"
    cv : int, default 5
    seed : int, default 0

    Returns
    -------
    detector : Detector
        Reads ``(layer, "mean_answer")`` of each sentence; ``info["training"]`` records
        the unit ("sentence"), where its probe came from (``probe_from``: "sentences" or
        "answers"), the candidates' AUROC and the counts.
    fit : GroupedFit or None
        The grouped fit of a probe fitted on the sentences (None for the answer probe).
    """
    rows = sentence_collection(collection)
    have = sorted({k[0] for k in rows.activations})
    layers = have if layers is None else [int(la) for la in layers]
    missing = sorted(set(layers) - set(have))
    if missing:
        raise ValueError(f"layers {missing} were not collected; collected: {have}")
    y = rows.labels.astype(int)
    if y.min() == y.max():
        raise ValueError(
            f"all {len(y)} answer-stating sentences are {'right' if y[0] else 'wrong'}; the "
            "sentence detector needs both. Collect more questions"
        )

    fold_list, _ = collection_folds(rows, scheme=folds, cv=cv, seed=seed)
    table = {}
    for layer in layers:
        X = rows.features(layer, POSITION).astype(np.float64)
        C, by_c = choose_C(X, y, fold_list, grid=C_GRID, seed=seed)
        table[layer] = (C, by_c[C])
    layer = max(table, key=lambda la: (table[la][1], -la))
    candidates = {f"sentences L{la}": round(v[1], 4) for la, v in table.items()}
    answer_probe, answer_auc = None, float("-inf")
    answer_y = None if answers is None else np.asarray(answers.labels, dtype=int)
    if answer_y is not None and (len(answer_y) == 0 or answer_y.min() == answer_y.max()):
        answers = None  # one class: no answer probe to offer
    if answers is not None:
        if answer_layer is None or answer_layer not in have:
            raise ValueError(
                f"answer_layer must be one of the collected layers {have}; got {answer_layer!r}"
            )
        with threadpool_limits(limits=1, user_api="blas"):
            answer_probe = LogisticProbe(C=answer_C, random_state=seed).fit(
                answers.features(answer_layer, POSITION).astype(np.float64), answer_y
            )
        logits = answer_probe.decision_function(rows.features(answer_layer, POSITION))
        aucs = [auroc_or_nan(logits[h], y[h]) for _, h in fold_list if 0 < y[h].sum() < len(h)]
        answer_auc = float(np.mean(aucs)) if aucs else float("nan")
        candidates[f"answers L{answer_layer}"] = round(answer_auc, 4)
    info = {
        "unit": "sentence",
        "n_answers": len(collection),
        "candidates_auroc": candidates,
    }
    if answer_probe is not None and answer_auc > table[layer][1]:
        inputs = np.column_stack(
            [answer_probe.decision_function(rows.features(answer_layer, POSITION))]
            + [np.asarray(rows.extras[k], dtype=np.float64) for k in SENTENCE_STATS]
        )
        calibrator = StackedCalibrator().fit(inputs, y)
        detector = Detector(
            probe=answer_probe,
            calibrator=calibrator,
            reader=ReaderSettings.for_collection(rows.meta, layer=answer_layer, position=POSITION),
            fingerprint=dict(rows.meta["model"]),
            info={
                "training": {
                    **info,
                    "probe_from": "answers",
                    "C": answer_C,
                    "n_train": len(rows),
                    "n_answers_probe": len(answers),
                }
            },
            calibration_scores=calibrator.confidence(inputs),
            calibration_labels=y.astype(bool),
            inputs=STACKED_INPUTS,
        )
        return detector, None
    detector, fit = fit_grouped_detector(
        rows,
        layer=layer,
        position=POSITION,
        C=table[layer][0],
        inputs=STACKED_INPUTS,
        folds=folds,
        cv=cv,
        seed=seed,
        familiarity=False,
    )
    detector.info["training"].update(info, probe_from="sentences")
    return detector, fit


def answer_probe_rows(detector: Detector, short_train: Collection | None) -> dict[str, Any]:
    """The answer detector's probe recipe as :func:`fit_sentence_detector`'s ``answers``,
    ``answer_layer`` and ``answer_C`` (empty without ``short_train`` or when the answer
    detector does not read ``"mean_answer"``)."""
    if short_train is None or detector.reader.position != POSITION:
        return {}
    return {
        "answers": short_train,
        "answer_layer": detector.reader.layer,
        "answer_C": float(detector.info.get("training", {}).get("C", 0.003)),
    }


def attach_sentence_detector(
    detector: Detector,
    chat: Collection,
    *,
    short_train: Collection | None = None,
    layers: Sequence[int] | None = None,
    seed: int = 0,
    on_too_few: Literal["error", "warn"] = "error",
) -> Detector:
    """Fit a sentence detector for ``detector`` on chat-style rows and attach it.

    The one recipe ``howsure train --chat-per-source`` and ``howsure freeform`` share:
    :func:`fit_sentence_detector` on the rows of ``chat`` outside the test split, with
    the answer detector's own probe recipe (its layer and C, fitted on ``short_train``)
    as one more candidate when the answer detector reads ``"mean_answer"``.

    Parameters
    ----------
    detector : Detector
        The answer detector; its :attr:`~Detector.sentences` is set (and returned).
    chat : Collection
        Chat-style rows collected with ``sentences=True``; every row's item has a split.
    short_train : Collection, optional
        Short-style training rows with ``(detector.reader.layer, "mean_answer")``.
    layers : sequence of int, optional
        Candidate layers of the sentence probe; default every collected one.
    seed : int, default 0
    on_too_few : {"error", "warn"}, default "error"
        When the fitting rows' answer-stating sentences are all right or all wrong, or
        fewer than the stacked calibrator's ``min_samples``: raise, or warn and leave
        ``detector`` without a sentence detector.

    Returns
    -------
    Detector
        ``detector``, with its sentence detector (unless warned).

    Raises
    ------
    ValueError
        ``chat`` has no sentences; too few with ``on_too_few="error"``.
    """
    check_choice(on_too_few, "on_too_few", ("error", "warn"))
    if chat.sentences is None:
        raise ValueError(
            "the chat rows were collected without sentences; collect with sentences=True"
        )
    probe_rows = answer_probe_rows(detector, short_train)
    fitting = chat.subset(np.asarray([it.split != "test" for it in chat.items]))
    y = sentence_collection(fitting).labels
    least = StackedCalibrator().min_samples
    if len(y) < least or y.min() == y.max():
        why = (
            f"no sentence detector: the {len(fitting)} chat-style fitting rows have "
            f"{len(y)} answer-stating sentences ({int(y.sum())} right); it needs both kinds "
            f"and at least {least}. Collect more questions (e.g. a larger --chat-per-source)"
        )
        if on_too_few == "error":
            raise ValueError(why)
        warnings.warn(why, stacklevel=2)
        return detector
    detector.sentences, _ = fit_sentence_detector(fitting, layers=layers, seed=seed, **probe_rows)
    return detector


def sentence_confidences(
    detector: Detector, reading: Any, tokenizer: Any, *, text: str
) -> tuple[SentenceConfidence, ...]:
    """Every sentence of one generated answer with its calibrated confidence.

    Parameters
    ----------
    detector : Detector
        A sentence detector (:attr:`Detector.sentences`).
    reading : RowReading
        From :func:`~howsure.probes.generate.generate_rows`, its layers including the
        sentence detector's, statistics recorded.
    tokenizer : transformers tokenizer
    text : str
        The answer as shown (decoded, stripped).

    Returns
    -------
    tuple of SentenceConfidence
        In order; empty for an empty answer.
    """
    reads = sentence_reads(reading, tokenizer, [detector.reader.layer], text=text)
    return _confidences(detector, reads)


def _confidences(detector: Detector, reads: Sequence[Any]) -> tuple[SentenceConfidence, ...]:
    """The sentence detector's confidence of each :class:`SentenceRead`."""
    if not reads:
        return ()
    layer = detector.reader.layer
    X = np.stack([r.states[layer] for r in reads])
    stats = {k: np.asarray([r.stats[k] for r in reads]) for k in SENTENCE_STATS}
    conf = detector.score_features(X, stats)
    return tuple(
        SentenceConfidence(r.span.text, r.span.start, r.span.end, float(c))
        for r, c in zip(reads, conf, strict=True)
    )


class SentenceStream:
    """Sentence confidences while an answer streams: each sentence as soon as it is
    finished (:func:`~howsure.qa.sentences.complete_sentences`) and its tokens have been
    read, with the numbers the finished answer gives it.

    Parameters
    ----------
    detector : Detector
        A sentence detector.
    tokenizer : transformers tokenizer
    """

    def __init__(self, detector: Detector, tokenizer: Any) -> None:
        self.detector, self.tokenizer = detector, tokenizer
        self.states: list[Any] = []
        self.logprob: list[float] = []
        self.entropy: list[float] = []
        self.sent = 0  # sentences sent so far

    def read(self, value: tuple[Any, float, float]) -> None:
        """One answer token's ``"read"`` item: its state and statistics."""
        state, logprob, entropy = value
        self.states.append(state)
        self.logprob.append(logprob)
        self.entropy.append(entropy)

    def finished(self, ids: Sequence[int], text: str) -> list[SentenceConfidence]:
        """The sentences of the answer so far (``ids``, shown as ``text``) that are
        finished and fully read, not sent before."""
        import torch

        from howsure.probes.generate import RowReading
        from howsure.qa.sentences import complete_sentences

        spans = complete_sentences(text, final=False)[self.sent :]
        if not spans:
            return []
        ends = token_ends(self.tokenizer, ids)
        ready = []
        for span in spans:  # in order: stop at the first whose tokens are not all read
            if sentence_tokens(ends, span)[1] > len(self.states):
                break
            ready.append(span)
        if not ready:
            return []
        layer = self.detector.reader.layer
        n = len(self.states)
        reading = RowReading(
            answer_ids=list(ids),
            token_ids=tuple(ids),
            truncated=False,
            prompt_state={},
            token_states={layer: torch.stack(self.states)},
            logprob=torch.tensor(self.logprob[:n] or [0.0], dtype=torch.float32),
            entropy=torch.tensor(self.entropy[:n] or [0.0], dtype=torch.float32),
        )
        out = list(
            _confidences(
                self.detector,
                sentence_reads(reading, self.tokenizer, [layer], text=text, spans=ready),
            )
        )
        self.sent += len(out)
        return out


def score_sentences(
    detector: Detector,
    prompts: Sequence[str],
    answers: Sequence[str],
    *,
    model: Any,
    tokenizer: Any,
    batch_size: int = 16,
) -> list[tuple[SentenceConfidence, ...]]:
    """Sentence confidences of given answers (``/v1/score``): one teacher-forced pass
    per batch reads what generating them would have read.

    Parameters
    ----------
    detector : Detector
        A sentence detector (:attr:`Detector.sentences`).
    prompts : list of str, length n
        Rendered prompts.
    answers : list of str, length n
    model, tokenizer : the model the detector was fitted on
    batch_size : int, default 16

    Returns
    -------
    list of tuple of SentenceConfidence, length n
        Offsets into each answer as its tokens decode (the answer stripped, normally).
    """
    readings = forced_readings(
        model, tokenizer, prompts, answers, layers=[detector.reader.layer], batch_size=batch_size
    )
    return [
        sentence_confidences(
            detector,
            r,
            tokenizer,
            text=tokenizer.decode(r.answer_ids, skip_special_tokens=True).strip(),
        )
        for r in readings
    ]
