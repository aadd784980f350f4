"""One answer with its confidence, and the generation settings the wrapper accepts.

:class:`ConfidentGeneration` is what
:class:`~howsure.plugin.confident_model.ConfidentModel` returns; :func:`generation_config`
checks and fills the settings of one call (greedy by default, as the detector was
trained); :func:`check_model` refuses what is not a transformers causal LM with its
tokenizer.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch

from howsure.probes.generate import generation_config
from howsure.probes.models import check_decoder_only

if TYPE_CHECKING:
    pass

__all__ = [
    "DEFAULT_TEMPLATE",
    "AbstainMode",
    "ConfidentGeneration",
    "SentenceConfidence",
    "check_model",
    "check_template",
    "generation_config",
    "percent",
]

DEFAULT_TEMPLATE = "The model is {pct}% sure."
"""Prefix template; ``{pct}`` is the confidence in whole percent (``{confidence}``, the
float in [0, 1], may be used too)."""

AbstainMode = Literal["replace", "flag"]


@dataclass(frozen=True)
class SentenceConfidence:
    """One sentence of an answer with its own calibrated confidence.

    Attributes
    ----------
    text : str
        The sentence, ``answer[start:end]``.
    start, end : int
        Character offsets into the answer.
    confidence : float
        Calibrated P(the sentence is right), for a sentence that states an answer (what
        the sentence detector was calibrated on); higher = surer.
    """

    text: str
    start: int
    end: int
    confidence: float

    def to_dict(self) -> dict:
        """``{"text", "start", "end", "value"}``, as the server sends it."""
        return {"text": self.text, "start": self.start, "end": self.end, "value": self.confidence}


@dataclass(frozen=True)
class ConfidentGeneration:
    """One answer with the model's calibrated confidence in it.

    Attributes
    ----------
    text : str
        ``prefix + " " + answer``, or ``prefix + " " + abstain_message`` when the wrapper
        abstained; just the prefix when the answer is empty; just the answer without a
        detector.
    answer : str
        The model's answer, decoded (special tokens skipped, stripped), also when it was
        replaced.
    confidence : float or None
        Calibrated P(answer correct) in [0, 1]; ``None`` without a detector.
    layer : int or None
        The layer the detector read (``None`` without a detector).
    position : str or None
        ``"last_prompt"``, ``"last_answer"``, ``"mean_answer"`` or ``"mean_last_answer"``
        (``None`` without a detector).
    abstained : bool
        True when the confidence was below the threshold in ``"replace"`` mode.
    flagged : bool
        True when the confidence was below the threshold in ``"flag"`` mode.
    prefix : str
        The filled-in template, e.g. ``"The model is 83% sure."`` (``""`` without a
        detector).
    token_ids : tuple of int
        The tokens ``generate`` produced, up to and including the first EOS.
    truncated : bool
        True when ``max_new_tokens`` cut the answer (no EOS came).
    familiarity : float or None
        How familiar the question looks to the detector: the fraction of its training
        rows whose activations lie at least as far out (1 = typical, 0 = farther than
        all); ``None`` without a detector or familiarity model.
    unfamiliar : bool
        Familiarity under :data:`~howsure.probes.familiarity.UNFAMILIAR_BELOW`: this
        confidence is less reliable.
    sentences : tuple of SentenceConfidence
        Each sentence of the answer with its confidence, read from the same generation
        (empty without a sentence detector, or for an empty answer).
    """

    text: str
    answer: str
    confidence: float | None
    layer: int | None
    position: str | None
    abstained: bool
    flagged: bool
    prefix: str
    token_ids: tuple[int, ...]
    truncated: bool
    familiarity: float | None = None
    unfamiliar: bool = False
    sentences: tuple[SentenceConfidence, ...] = ()

    def to_dict(self) -> dict:
        """JSON-ready dict of every field (``token_ids`` as a list, each sentence as
        :meth:`SentenceConfidence.to_dict`)."""
        out = asdict(self)
        out["token_ids"] = list(self.token_ids)
        out["sentences"] = [s.to_dict() for s in self.sentences]
        return out


def percent(confidence: float) -> int:
    """A confidence in [0, 1] as whole percent, rounded half up (0.915 -> 92)."""
    return math.floor(confidence * 100 + 0.5)


def check_model(model: Any, tokenizer: Any) -> None:
    """``TypeError`` unless ``model`` is a torch module with ``.generate`` and ``tokenizer``
    a callable tokenizer with ``.decode``, naming what was given and the fix;
    ``ValueError`` for an encoder-decoder model (:func:`check_decoder_only`)."""
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "generate"):
        raise TypeError(
            "model must be a transformers causal LM (with .generate) or a text-generation "
            f"pipeline, got {type(model).__name__}"
        )
    check_decoder_only(model)
    if tokenizer is None or not callable(tokenizer) or not hasattr(tokenizer, "decode"):
        raise TypeError(
            f"tokenizer must be the model's transformers tokenizer, got {tokenizer!r}; "
            "pass wrap(model, tokenizer, detector)"
        )


def check_template(template: Any) -> str:
    """``template`` when it has ``{pct}`` and formats; ``ValueError`` with an example otherwise."""
    if not isinstance(template, str) or "{pct}" not in template:
        raise ValueError(
            f"template must be a str containing '{{pct}}', got {template!r}; "
            "e.g. 'The model is {pct}% sure.'"
        )
    try:
        template.format(pct=50, confidence=0.5)
    except (KeyError, IndexError, ValueError) as err:
        raise ValueError(
            f"template {template!r} does not format ({err!r}); use only the fields "
            "{pct} and {confidence}, and double literal braces"
        ) from None
    return template
