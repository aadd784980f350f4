"""The plugin: any transformers chat model says "The model is N% sure." at no extra cost.

::

    import howsure

    model, tokenizer = howsure.load_model()
    chat = howsure.wrap(model, tokenizer, "bench/results/main-job/train/detector")
    out = chat.generate("What is the capital of Peru?")
    out.text        # 'The model is 88% sure. The capital of Peru is Lima.'
    out.confidence  # 0.8818..., calibrated P(answer correct)

    # or in one line from a pipeline
    chat = howsure.wrap(pipeline("text-generation", model=...), detector=det)

How the confidence is read
    A forward hook on the detector's layer (and on no other) records that block's output
    while ``model.generate`` runs: the prefill gives the ``last_prompt`` state, each
    decoding step the state of the token it feeds back (see
    :mod:`howsure.probes.activations`). The probe and calibrator turn it into the
    confidence. No second forward pass, no ``output_hidden_states``; the generated tokens
    are exactly those of a plain ``model.generate`` with the same settings. The hook is
    removed when generation ends, also on errors, ``KeyboardInterrupt`` and a stream
    closed early.

Prompts
    A question string becomes one user message with the detector's instruction appended
    (``"<question> Reply with just the answer."``, as :meth:`Detector.render` does); a
    list of ``{"role", "content"}`` messages is used as given. Both are rendered with
    the tokenizer's chat template. A tokenizer without one falls back to the message
    contents joined by newlines (:func:`howsure.probes.prompts.render_chat`);
    :func:`wrap` warns once when that happens.

Streaming
    :meth:`ConfidentModel.events` yields typed events (:mod:`howsure.plugin.events`):
    the confidence as soon as it is known, the answer's text pieces, the end with the
    full result. :meth:`ConfidentModel.stream` is the text view of the same events:

    * ``last_prompt`` detectors: the confidence is known after the prefill, so the
      prefix is the first piece, yielded before the first answer token (the hook scores
      the prefill while ``generate`` goes on in a background thread); the answer pieces
      follow, the first with a leading space. The pieces concatenate to ``text``.
    * Answer-position detectors (``last_answer``, ``mean_answer``, ``mean_last_answer``):
      the confidence needs the whole answer, so the answer pieces stream first and the
      last piece is ``"\\n" + prefix`` (just the prefix after an empty answer). With
      abstention in ``"replace"`` mode an answer must never be shown before it is known
      not to be replaced, so the answer is buffered and one piece, equal to ``text``,
      comes at the end.

    The generator's return value (``StopIteration.value``) and
    :attr:`ConfidentModel.last` hold the final :class:`ConfidentGeneration`. The worker
    thread holds the hook only while it generates: a stream that is abandoned (kept in
    a variable, never closed) still ends at ``max_new_tokens`` and leaves no hook.

Without a detector
    ``ConfidentModel(model, tokenizer)`` (no detector) generates and streams through the
    same path with no hook and no confidence: the demo uses it when no detector fits.

Abstention
    With ``abstain_below=t`` (or ``target_error=e``, which picks ``t`` from the
    detector's calibration scores, see :meth:`Detector.threshold_for`), an answer whose
    confidence is below ``t`` is replaced by ``abstain_message`` (``"replace"``:
    ``text`` is the prefix + the message, ``answer`` keeps the model's answer) or kept
    and marked ``flagged=True`` (``"flag"``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from howsure.calibration.selective import threshold_for_error_rate
from howsure.core.checks import check_choice, check_probability
from howsure.core.errors import SettingError
from howsure.plugin.checks import DtypeMismatch
from howsure.plugin.confident_model import ConfidentModel, Prompt
from howsure.plugin.defaults import shipped_detector_for
from howsure.plugin.detector import Detector
from howsure.plugin.generation import (
    DEFAULT_TEMPLATE,
    AbstainMode,
    ConfidentGeneration,
    check_model,
    check_template,
)
from howsure.probes.positions import resolve_layers

__all__ = [
    "DEFAULT_TEMPLATE",
    "ConfidentGeneration",
    "ConfidentModel",
    "Prompt",
    "threshold_for_error_rate",
    "wrap",
]


def _is_pipeline(obj: Any) -> bool:
    if isinstance(obj, torch.nn.Module) or not hasattr(obj, "model"):
        return False
    from transformers import Pipeline

    return isinstance(obj, Pipeline)


def wrap(
    model: Any,
    tokenizer: Any = None,
    detector: Detector | str | Path | None = None,
    *,
    template: str = DEFAULT_TEMPLATE,
    abstain_below: float | None = None,
    target_error: float | None = None,
    abstain_message: str = "I'm not sure.",
    abstain_mode: AbstainMode = "replace",
    on_dtype_mismatch: DtypeMismatch | None = None,
) -> ConfidentModel:
    """Wrap a chat model so that every answer says how sure the model is.

    Parameters
    ----------
    model : transformers causal LM, or a ``transformers`` text-generation ``Pipeline``
        A pipeline brings its own model and tokenizer: ``wrap(pipe, detector=det)``.
    tokenizer : transformers tokenizer
        Required with a model; leave it out with a pipeline.
    detector : Detector, or str or Path of a detector folder, optional
        Fitted on this model: its fingerprint is checked now (and the detector is bound
        to the model, see :meth:`Detector.bind`). Default: the detector shipped with
        howsure for this model (:func:`howsure.plugin.defaults.shipped_detector_for`;
        one ships for the embedded SmolLM2-135M-Instruct); other models need one
        trained with ``howsure train``.
    template : str, default ``"The model is {pct}% sure."``
        The prefix; ``{pct}`` is the confidence in whole percent (rounded half up),
        ``{confidence}`` the float.
    abstain_below : float in [0, 1], optional
        Threshold: answers whose confidence is below it abstain (see ``abstain_mode``).
    target_error : float in [0, 1), optional
        Instead of ``abstain_below``: use the lowest threshold whose accepted answers had
        an error rate at most ``target_error`` on the detector's calibration scores (its
        out-of-fold training scores; :meth:`Detector.threshold_for`).
    abstain_message : str, default "I'm not sure."
        Replaces the answer in ``text`` when abstaining in ``"replace"`` mode.
    abstain_mode : {"replace", "flag"}, default "replace"
        ``"replace"``: ``text`` says ``abstain_message`` (the answer stays in
        ``answer``); ``"flag"``: keep the answer and set ``flagged``.
    on_dtype_mismatch : {"warn", "error"}, optional
        The model runs in another dtype than the detector was fitted in (e.g. a float32
        detector on a bfloat16 model, whose confidences move by a few points): a
        ``UserWarning``, or a ``ValueError``. Default: the detector's own setting
        (``"warn"`` unless it was loaded or bound with another).

    Returns
    -------
    ConfidentModel

    Raises
    ------
    TypeError
        A missing or wrong-typed model, tokenizer or detector.
    ValueError
        A detector fitted on another model, a template without ``{pct}`` or with
        unknown fields, a threshold outside [0, 1], both ``abstain_below`` and
        ``target_error``, an unknown ``abstain_mode``.
    """
    if _is_pipeline(model):
        if tokenizer is not None:
            raise TypeError(
                "a pipeline brings its own tokenizer: pass the detector as detector=, "
                "e.g. wrap(pipe, detector=det)"
            )
        pipe = model
        model, tokenizer = pipe.model, pipe.tokenizer
        if tokenizer is None:
            raise TypeError(
                f"the pipeline {type(pipe).__name__} has no tokenizer; use a "
                "'text-generation' pipeline, or pass the model and tokenizer"
            )
    check_model(model, tokenizer)
    if detector is None:
        detector = shipped_detector_for(model)
        if detector is None:
            name = getattr(getattr(model, "config", None), "name_or_path", "?")
            raise ValueError(
                f"no detector given, and howsure ships none for this model ({name!r}); train "
                "one with `howsure train --model ...` and pass its folder, or use "
                "ConfidentModel(model, tokenizer) for answers without a confidence"
            )
    if isinstance(detector, (str, Path)):
        detector = Detector.load(
            detector,
            model=model,
            tokenizer=tokenizer,
            on_dtype_mismatch=on_dtype_mismatch or "warn",
        )
    elif isinstance(detector, Detector):
        detector.bind(model, tokenizer, on_dtype_mismatch=on_dtype_mismatch)
    else:
        raise TypeError(
            f"detector must be a howsure Detector or a detector folder, got {detector!r}; "
            "train one with `howsure train`"
        )
    resolve_layers(model, [detector.reader.layer])
    check_template(template)
    check_choice(abstain_mode, "abstain_mode", ("replace", "flag"))
    if not isinstance(abstain_message, str) or not abstain_message.strip():
        raise ValueError(f"abstain_message must be a non-empty str, got {abstain_message!r}")
    if abstain_below is not None and target_error is not None:
        raise SettingError(
            "abstain_below",
            "give {param} ({below!r}) or {target_error} ({target!r}), not both",
            below=abstain_below,
            target=target_error,
        )
    threshold = None
    if abstain_below is not None:
        threshold = check_probability(abstain_below, "abstain_below")
    elif target_error is not None:
        threshold = detector.threshold_for(target_error)
    if not getattr(tokenizer, "chat_template", None):
        warnings.warn(
            "the tokenizer has no chat template: prompts are rendered as plain text (the "
            "message contents joined by newlines), as the detector was trained; set "
            "tokenizer.chat_template for a chat model",
            UserWarning,
            stacklevel=2,
        )
    return ConfidentModel(
        model,
        tokenizer,
        detector,
        template=template,
        threshold=threshold,
        abstain_message=abstain_message,
        abstain_mode=abstain_mode,
    )
