"""A detector's familiarity model, fitted on its training questions as its reader sends them.

At serving time the familiarity of a question is read from its ``last_prompt`` state in
the prefill of the answer (:mod:`howsure.probes.familiarity`), with the detector's own
rendering (for a chat detector: the message as given). :func:`fit_reader_familiarity`
fits the model on the training questions rendered the same way (one cached prefill each,
:func:`~howsure.probes.prompt_states.prompt_states`), choosing its layers, neighbour
count and metric on topic folds, so a question like the training ones is familiar
however the training rows were collected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from howsure.plugin.detector import Detector
from howsure.plugin.grouped import topic_groups
from howsure.probes.familiarity import candidate_layers, fit_familiarity
from howsure.probes.models import find_layers
from howsure.probes.prompt_states import prompt_states
from howsure.qa.items import QAItem

__all__ = ["fit_reader_familiarity", "reader_states"]


def _unique(items: Sequence[QAItem]) -> list[QAItem]:
    seen: dict[str, QAItem] = {}
    for it in items:
        seen.setdefault(it.question, it)
    return list(seen.values())


def reader_states(
    detector: Detector,
    model: Any,
    tokenizer: Any,
    questions: Sequence[str],
    *,
    layers: Sequence[int],
    batch_size: int = 16,
    progress: bool = True,
) -> dict[int, Any]:
    """``last_prompt`` states of ``questions`` as ``detector`` sends them, per layer
    (cached; see :func:`~howsure.probes.prompt_states.prompt_states`)."""
    texts = detector.render(list(questions), tokenizer)
    return prompt_states(
        model, tokenizer, texts, layers=layers, batch_size=batch_size, progress=progress
    )


def fit_reader_familiarity(
    detectors: Sequence[Detector],
    model: Any,
    tokenizer: Any,
    items: Sequence[QAItem],
    *,
    setting: Mapping[str, Any] | None = None,
    batch_size: int = 16,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Give each detector a familiarity model of ``items``' questions, as it sends them.

    Parameters
    ----------
    detectors : sequence of Detector
        Detectors with the same reader rendering (e.g. a training run's answer and
        prompt detectors); they share one fitted model (each saves it tied to its
        own probe).
    model, tokenizer : the model the detectors read
    items : sequence of QAItem
        The training questions (duplicates read once); their ``source`` and ``topic``
        make the folds of the choice.
    setting : dict, optional
        ``layers``, ``n_neighbors``, ``metric`` to use with no choice.

    Returns
    -------
    list of dict
        The choice's candidates and their mean held-out-topic AUROC (empty when
        ``setting`` was given); also kept in each detector's
        ``info["training"]["familiarity"]``.
    """
    if not detectors:
        raise ValueError("no detectors to give a familiarity model; pass at least one")
    rows = _unique(items)
    layers = (
        list(setting["layers"])
        if setting is not None
        else candidate_layers(len(find_layers(model)))
    )
    states = reader_states(
        detectors[0],
        model,
        tokenizer,
        [it.question for it in rows],
        layers=layers,
        batch_size=batch_size,
        progress=progress,
    )
    groups = topic_groups(rows)
    fam, fam_layers, table = fit_familiarity(states, groups, setting=setting)
    for det in detectors:  # one fitted model, read-only, shared
        det.familiarity, det.familiarity_layers = fam, fam_layers
        det.info.setdefault("training", {})["familiarity"] = {
            "questions": len(rows),
            "sent_as": "the reader sends them",
            "layers": list(fam_layers),
            "n_neighbors": fam.n_neighbors,
            "metric": fam.metric,
            "choice": table,
        }
    return table
