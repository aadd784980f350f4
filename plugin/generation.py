"""One answer with its confidence, and the generation settings the wrapper accepts.

:class:`ConfidentGeneration` is what
:class:`~howsure.plugin.confident_model.ConfidentModel` returns; :func:`generation_config`
checks and fills the settings of one call (greedy by default, as the detector was
trained); :func:`check_model` refuses what is not a transformers causal LM with its
tokenizer.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch

from howsure.core.checks import check_int, check_real
from howsure.probes.models import check_decoder_only

if TYPE_CHECKING:
    from transformers import GenerationConfig

__all__ = [
    "DEFAULT_TEMPLATE",
    "AbstainMode",
    "ConfidentGeneration",
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

    def to_dict(self) -> dict:
        """JSON-ready dict of every field (``token_ids`` as a list)."""
        out = asdict(self)
        out["token_ids"] = list(self.token_ids)
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


def generation_config(
    model: Any,
    *,
    default_max_new_tokens: int,
    pad_token_id: int,
    max_new_tokens: int | None = None,
    do_sample: bool | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    base: GenerationConfig | None = None,
) -> tuple[GenerationConfig, int]:
    """The ``GenerationConfig`` of one wrapper call, checked, and its ``max_new_tokens``.

    Parameters
    ----------
    model : transformers model
        Its own generation config is read for beam and return-sequence settings.
    default_max_new_tokens : int
        Used when neither ``max_new_tokens`` nor ``base`` sets it (the detector's).
    pad_token_id : int
        Set when ``base`` has none.
    max_new_tokens, do_sample, temperature, top_p : optional
        Explicit settings; they win over ``base``.
    base : transformers.GenerationConfig, optional
        Copied, never modified. Default: greedy (``do_sample=False``).

    Returns
    -------
    (GenerationConfig, int)

    Raises
    ------
    TypeError
        ``base`` is not a GenerationConfig, ``do_sample`` not a bool.
    ValueError
        A bad number; beam search, several return sequences or prompt lookup (the
        confidence is read from the one sequence the model generates).
    """
    from transformers import GenerationConfig

    if base is not None and not isinstance(base, GenerationConfig):
        raise TypeError(
            f"generation_config must be a transformers.GenerationConfig, got {type(base).__name__}"
        )
    if max_new_tokens is not None:
        max_new_tokens = check_int(max_new_tokens, "max_new_tokens", min_val=1)
    if do_sample is not None and not isinstance(do_sample, bool):
        raise TypeError(f"do_sample must be True, False or None, got {do_sample!r}")
    if temperature is not None:
        temperature = check_real(
            temperature, "temperature", min_val=0.0, include_boundaries="neither"
        )
    if top_p is not None:
        top_p = check_real(top_p, "top_p", min_val=0.0, max_val=1.0, include_boundaries="right")
    cfg = copy.deepcopy(base) if base is not None else GenerationConfig(do_sample=False)
    if max_new_tokens is None:
        max_new_tokens = cfg.max_new_tokens or default_max_new_tokens
    cfg.max_new_tokens = max_new_tokens
    if do_sample is not None:
        cfg.do_sample = do_sample
    if temperature is not None:
        cfg.temperature = temperature
    if top_p is not None:
        cfg.top_p = top_p
    if cfg.pad_token_id is None:
        cfg.pad_token_id = pad_token_id
    cfg.return_dict_in_generate = False
    cfg.output_hidden_states = False
    model_cfg = model.generation_config
    for name in ("num_beams", "num_return_sequences"):
        value = getattr(cfg, name, None) or getattr(model_cfg, name, None) or 1
        if value != 1:
            raise ValueError(
                f"{name}={value} is not supported: the confidence is read from the one "
                f"sequence the model generates; set {name}=1"
            )
    if getattr(cfg, "prompt_lookup_num_tokens", None):
        raise ValueError(
            "prompt_lookup_num_tokens is not supported: it feeds several tokens per "
            "forward pass; leave it unset"
        )
    return cfg, int(max_new_tokens)


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
