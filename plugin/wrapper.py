"""The plugin: any transformers chat model says "The model is N% sure." at no extra cost.

::

    import howsure

    model, tokenizer = howsure.load_model()
    chat = howsure.wrap(model, tokenizer, "howsure-out/train/detector")
    out = chat.generate("What is the capital of Peru?")
    out.text        # 'The model is 92% sure. The capital of Peru is Lima.'
    out.confidence  # 0.916..., calibrated P(answer correct)

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

Streaming (:meth:`ConfidentModel.stream`)
    * ``last_prompt`` detectors: the confidence is known after the prefill, so the
      prefix is the first piece, yielded before the first answer token (the hook scores
      the prefill while ``generate`` goes on in a background thread); the answer pieces
      follow, the first with a leading space. The pieces concatenate to ``text``.
    * Answer-position detectors (``last_answer``, ``mean_answer``, ``mean_last_answer``):
      the confidence needs the whole answer, so the answer pieces stream first and the
      last piece is ``"\\n" + prefix``. With abstention in ``"replace"`` mode an answer
      must never be shown before it is known not to be replaced, so the answer is
      buffered and one piece, equal to ``text``, comes at the end.

    The generator's return value (``StopIteration.value``) and
    :attr:`ConfidentModel.last` hold the final :class:`ConfidentGeneration`.

Abstention
    With ``abstain_below=t`` (or ``target_error=e``, which picks ``t`` from the
    detector's calibration split, see :meth:`Detector.threshold_for`), an answer whose
    confidence is below ``t`` is replaced by ``abstain_message`` (``"replace"``:
    ``text`` is the prefix + the message, ``answer`` keeps the model's answer) or kept
    and marked ``flagged=True`` (``"flag"``).
"""

from __future__ import annotations

import copy
import math
import numbers
import queue
import threading
import warnings
from collections.abc import Generator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch

from howsure.calibration.selective import threshold_for_error_rate
from howsure.plugin.detector import Detector
from howsure.probes.activations import (
    LayerCapture,
    check_length,
    eos_ids,
    generation_features,
    model_device,
    resolve_layers,
    split_answers,
)
from howsure.probes.prompts import question_messages, render_chat

if TYPE_CHECKING:
    from transformers import GenerationConfig

__all__ = [
    "DEFAULT_TEMPLATE",
    "ConfidentGeneration",
    "ConfidentModel",
    "threshold_for_error_rate",
    "wrap",
]

DEFAULT_TEMPLATE = "The model is {pct}% sure."
"""Prefix template; ``{pct}`` is the confidence in whole percent (``{confidence}``, the
float in [0, 1], may be used too)."""

AbstainMode = Literal["replace", "flag"]
Prompt = str | Sequence[Mapping[str, Any]]
"""A question (str; the detector's instruction is appended) or a conversation (list of
``{"role", "content"}`` messages)."""

_POLL_S = 0.05


@dataclass(frozen=True)
class ConfidentGeneration:
    """One answer with the model's calibrated confidence in it.

    Attributes
    ----------
    text : str
        ``prefix + " " + answer``, or ``prefix + " " + abstain_message`` when the wrapper
        abstained; just the prefix when the answer is empty.
    answer : str
        The model's answer, decoded (special tokens skipped, stripped), also when it was
        replaced.
    confidence : float
        Calibrated P(answer correct) in [0, 1].
    layer : int
        The layer the detector read.
    position : str
        ``"last_prompt"``, ``"last_answer"``, ``"mean_answer"`` or ``"mean_last_answer"``.
    abstained : bool
        True when the confidence was below the threshold in ``"replace"`` mode.
    flagged : bool
        True when the confidence was below the threshold in ``"flag"`` mode.
    prefix : str
        The filled-in template, e.g. ``"The model is 83% sure."``.
    token_ids : tuple of int
        The tokens ``generate`` produced, up to and including the first EOS.
    truncated : bool
        True when ``max_new_tokens`` cut the answer (no EOS came).
    """

    text: str
    answer: str
    confidence: float
    layer: int
    position: str
    abstained: bool
    flagged: bool
    prefix: str
    token_ids: tuple[int, ...]
    truncated: bool

    def to_dict(self) -> dict:
        """JSON-ready dict of every field (``token_ids`` as a list)."""
        out = asdict(self)
        out["token_ids"] = list(self.token_ids)
        return out


class _TokenQueue:
    """``generate`` streamer that forwards new token ids to a queue (the prompt skipped)."""

    def __init__(self, events: queue.Queue) -> None:
        self.events = events
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate first puts the prompt
            self._prompt_seen = True
            return
        for tok in value.reshape(-1).tolist():
            self.events.put(("token", int(tok)))

    def end(self) -> None:
        pass


def stop_flag_criteria(flag: threading.Event) -> Any:
    """Stopping criteria for ``generate`` that end every row once ``flag`` is set."""
    from transformers import StoppingCriteria, StoppingCriteriaList

    class StopWhenSet(StoppingCriteria):
        """Stops every row once ``flag`` is set (a stream closed or interrupted)."""

        def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
            return torch.full(
                (input_ids.shape[0],), flag.is_set(), dtype=torch.bool, device=input_ids.device
            )

    return StoppingCriteriaList([StopWhenSet()])


def percent(confidence: float) -> int:
    """A confidence in [0, 1] as whole percent, rounded half up (0.915 -> 92)."""
    return math.floor(confidence * 100 + 0.5)


def _is_pipeline(obj: Any) -> bool:
    if isinstance(obj, torch.nn.Module) or not hasattr(obj, "model"):
        return False
    from transformers import Pipeline

    return isinstance(obj, Pipeline)


def _check_probability(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(
            f"{name} must be a probability in [0, 1] (e.g. 0.6 for 60%), got {value!r}"
        )
    return float(value)


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
) -> ConfidentModel:
    """Wrap a chat model so that every answer says how sure the model is.

    Parameters
    ----------
    model : transformers causal LM, or a ``transformers`` text-generation ``Pipeline``
        A pipeline brings its own model and tokenizer: ``wrap(pipe, detector=det)``.
    tokenizer : transformers tokenizer
        Required with a model; leave it out with a pipeline.
    detector : Detector, or str or Path of a detector folder
        Fitted on this model: its fingerprint is checked now (and the detector is bound
        to the model, see :meth:`Detector.bind`).
    template : str, default ``"The model is {pct}% sure."``
        The prefix; ``{pct}`` is the confidence in whole percent (rounded half up),
        ``{confidence}`` the float.
    abstain_below : float in [0, 1], optional
        Threshold: answers whose confidence is below it abstain (see ``abstain_mode``).
    target_error : float in [0, 1), optional
        Instead of ``abstain_below``: use the lowest threshold whose accepted answers had
        an error rate at most ``target_error`` on the detector's calibration split
        (:meth:`Detector.threshold_for`).
    abstain_message : str, default "I'm not sure."
        Replaces the answer in ``text`` when abstaining in ``"replace"`` mode.
    abstain_mode : {"replace", "flag"}, default "replace"
        ``"replace"``: ``text`` says ``abstain_message`` (the answer stays in
        ``answer``); ``"flag"``: keep the answer and set ``flagged``.

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
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "generate"):
        raise TypeError(
            "model must be a transformers causal LM (with .generate) or a text-generation "
            f"pipeline, got {type(model).__name__}"
        )
    if tokenizer is None or not callable(tokenizer) or not hasattr(tokenizer, "decode"):
        raise TypeError(
            f"tokenizer must be the model's transformers tokenizer, got {tokenizer!r}; "
            "pass wrap(model, tokenizer, detector)"
        )
    if isinstance(detector, (str, Path)):
        detector = Detector.load(detector, model=model, tokenizer=tokenizer)
    elif isinstance(detector, Detector):
        detector.bind(model, tokenizer)
    else:
        raise TypeError(
            f"detector must be a howsure Detector or a detector folder, got {detector!r}; "
            "train one with `howsure train`"
        )
    resolve_layers(model, [detector.reader.layer])
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
    if abstain_mode not in ("replace", "flag"):
        raise ValueError(f"abstain_mode must be 'replace' or 'flag', got {abstain_mode!r}")
    if not isinstance(abstain_message, str) or not abstain_message.strip():
        raise ValueError(f"abstain_message must be a non-empty str, got {abstain_message!r}")
    if abstain_below is not None and target_error is not None:
        raise ValueError(
            f"give abstain_below ({abstain_below!r}) or target_error ({target_error!r}), not both"
        )
    threshold = None
    if abstain_below is not None:
        threshold = _check_probability(abstain_below, "abstain_below")
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


class ConfidentModel:
    """A chat model whose answers carry a calibrated confidence; made by :func:`wrap`.

    Attributes
    ----------
    model, tokenizer : the wrapped transformers model and tokenizer
    detector : Detector
    template : str
    threshold : float or None
        Answers with a confidence below it abstain (``None``: never).
    abstain_message : str
    abstain_mode : {"replace", "flag"}
    last : ConfidentGeneration or None
        The result of the most recent :meth:`generate` or finished :meth:`stream`.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        detector: Detector,
        *,
        template: str,
        threshold: float | None,
        abstain_message: str,
        abstain_mode: AbstainMode,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.detector = detector
        self.template = template
        self.threshold = threshold
        self.abstain_message = abstain_message
        self.abstain_mode = abstain_mode
        self.last: ConfidentGeneration | None = None
        self._eos = eos_ids(model, tokenizer)
        pad = tokenizer.pad_token_id
        self._pad_id = int(pad if pad is not None else min(self._eos, default=0))

    def __repr__(self) -> str:
        r = self.detector.reader
        return (
            f"ConfidentModel({self.model.config.name_or_path!r}, layer={r.layer}, "
            f"position={r.position!r}, threshold={self.threshold!r})"
        )

    # -- prompts -----------------------------------------------------------------------
    def messages(self, prompt: Prompt) -> list[dict]:
        """The chat messages for a question or a conversation (validated)."""
        if isinstance(prompt, str):
            return question_messages(prompt, instruction=self.detector.reader.instruction)
        if not isinstance(prompt, (list, tuple)):
            raise TypeError(
                "expected a question (str) or a conversation (list of {'role', 'content'} "
                f"dicts), got {type(prompt).__name__}: {prompt!r}"
            )
        if len(prompt) == 0:
            raise ValueError(
                f"empty conversation {prompt!r}: pass at least one message, e.g. "
                "[{'role': 'user', 'content': 'What is the capital of Peru?'}]"
            )
        out = []
        for i, message in enumerate(prompt):
            if not isinstance(message, Mapping) or not {"role", "content"} <= set(message):
                raise TypeError(
                    f"message {i} must be a dict with 'role' and 'content', got {message!r}"
                )
            content = message["content"]
            if not isinstance(content, str):
                raise TypeError(
                    f"message {i} content must be a str, got {type(content).__name__}: {content!r}"
                )
            if not content.strip():
                raise ValueError(
                    f"message {i} ({message['role']!r}) has empty content {content!r}; "
                    "every message needs text"
                )
            out.append(dict(message))
        return out

    def render(self, prompt: Prompt) -> str:
        """The prompt text the model reads for a question or a conversation."""
        return render_chat(self.tokenizer, self.messages(prompt))

    def _encode(self, texts: Sequence[str], n_new: int) -> list[list[int]]:
        """Token ids of rendered prompts; refuses one that with ``n_new`` tokens does not
        fit the context window (naming its index)."""
        ids = [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        check_length(self.model, self.tokenizer, [len(x) for x in ids], n_new)
        return ids

    def _batch_tensors(self, ids: Sequence[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-padded ``input_ids`` and ``attention_mask`` on the model's device."""
        width = max(len(x) for x in ids)
        input_ids = torch.full((len(ids), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for b, row in enumerate(ids):
            input_ids[b, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[b, width - len(row) :] = 1
        device = model_device(self.model)
        return input_ids.to(device), mask.to(device)

    # -- generation settings -----------------------------------------------------------
    def _generation_config(
        self,
        max_new_tokens: int | None,
        do_sample: bool | None,
        temperature: float | None,
        top_p: float | None,
        generation_config: GenerationConfig | None,
    ) -> tuple[GenerationConfig, int]:
        from transformers import GenerationConfig

        if generation_config is not None and not isinstance(generation_config, GenerationConfig):
            raise TypeError(
                "generation_config must be a transformers.GenerationConfig, got "
                f"{type(generation_config).__name__}"
            )
        if max_new_tokens is not None and (
            isinstance(max_new_tokens, bool)
            or not isinstance(max_new_tokens, int)
            or max_new_tokens < 1
        ):
            raise ValueError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}")
        if do_sample is not None and not isinstance(do_sample, bool):
            raise TypeError(f"do_sample must be True, False or None, got {do_sample!r}")
        if temperature is not None and (
            isinstance(temperature, bool)
            or not isinstance(temperature, numbers.Real)
            or not temperature > 0
        ):
            raise ValueError(f"temperature must be a number > 0, got {temperature!r}")
        if top_p is not None and (
            isinstance(top_p, bool) or not isinstance(top_p, numbers.Real) or not 0 < top_p <= 1
        ):
            raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")
        cfg = copy.deepcopy(generation_config) if generation_config is not None else None
        if cfg is None:
            cfg = GenerationConfig(do_sample=False)  # greedy, as the detector was trained
        if max_new_tokens is None:
            max_new_tokens = cfg.max_new_tokens or self.detector.reader.max_new_tokens
        cfg.max_new_tokens = max_new_tokens
        if do_sample is not None:
            cfg.do_sample = do_sample
        if temperature is not None:
            cfg.temperature = float(temperature)
        if top_p is not None:
            cfg.top_p = float(top_p)
        if cfg.pad_token_id is None:
            cfg.pad_token_id = self._pad_id
        cfg.return_dict_in_generate = False
        cfg.output_hidden_states = False
        model_cfg = self.model.generation_config
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

    # -- results -----------------------------------------------------------------------
    def prefix(self, confidence: float) -> str:
        """The filled-in template for a confidence in [0, 1]."""
        return self.template.format(pct=percent(confidence), confidence=confidence)

    def _is_low(self, confidence: float) -> bool:
        return self.threshold is not None and confidence < self.threshold

    def _results(
        self, seqs: torch.Tensor, width: int, calls: dict[int, list[torch.Tensor]]
    ) -> list[ConfidentGeneration]:
        reader = self.detector.reader
        new = seqs[:, width:].cpu()
        answer_ids, truncated = split_answers(new, self._eos)
        lengths = [len(a) for a in answer_ids]
        feats = generation_features(calls, lengths, [reader.position])
        scores = self.detector.score_features(feats[(reader.layer, reader.position)])
        out = []
        for row, ids, cut, conf in zip(new.tolist(), answer_ids, truncated, scores, strict=True):
            conf = float(conf)
            answer = self.tokenizer.decode(ids, skip_special_tokens=True).strip()
            low = self._is_low(conf)
            abstained = low and self.abstain_mode == "replace"
            prefix = self.prefix(conf)
            body = self.abstain_message if abstained else answer
            out.append(
                ConfidentGeneration(
                    text=f"{prefix} {body}" if body else prefix,
                    answer=answer,
                    confidence=conf,
                    layer=reader.layer,
                    position=reader.position,
                    abstained=abstained,
                    flagged=low and self.abstain_mode == "flag",
                    prefix=prefix,
                    token_ids=tuple(row[: len(ids) + (0 if cut else 1)]),
                    truncated=cut,
                )
            )
        return out

    def _capture(self, on_record: Any = None) -> LayerCapture:
        reader = self.detector.reader
        return LayerCapture(
            self.model,
            [reader.layer],
            keep="last",
            max_calls=1 if reader.position == "last_prompt" else None,
            on_record=on_record,
        )

    def _run(self, ids: Sequence[list[int]], cfg: Any) -> list[ConfidentGeneration]:
        input_ids, mask = self._batch_tensors(ids)
        with self._capture() as cap, torch.inference_mode():
            seqs = self.model.generate(
                input_ids=input_ids, attention_mask=mask, generation_config=cfg
            )
        return self._results(seqs, input_ids.shape[1], cap.calls)

    # -- public API --------------------------------------------------------------------
    def generate(
        self,
        messages_or_prompt: Prompt,
        *,
        max_new_tokens: int | None = None,
        do_sample: bool | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        generation_config: GenerationConfig | None = None,
    ) -> ConfidentGeneration:
        """Answer one question or conversation, with the confidence from the same pass.

        Parameters
        ----------
        messages_or_prompt : str or list of dict
            A question (the detector's instruction is appended) or chat messages
            ``[{"role": ..., "content": ...}, ...]``.
        max_new_tokens : int, optional
            Answer length limit. Default: ``generation_config.max_new_tokens`` when given,
            else the detector's ``reader.max_new_tokens`` (what it was trained with).
        do_sample : bool, optional
            Default: ``generation_config.do_sample`` when given, else greedy (False).
        temperature, top_p : float, optional
            Sampling settings; default: ``generation_config``'s, else the model's.
        generation_config : transformers.GenerationConfig, optional
            Base settings (copied, never modified); the explicit arguments above win.
            Beam search and several return sequences are refused.

        Returns
        -------
        ConfidentGeneration

        Raises
        ------
        TypeError, ValueError
            Bad prompt (empty question, empty conversation or message, wrong type), a
            prompt that with ``max_new_tokens`` exceeds the context window, bad settings.
        """
        cfg, n_new = self._generation_config(
            max_new_tokens, do_sample, temperature, top_p, generation_config
        )
        ids = self._encode([self.render(messages_or_prompt)], n_new)
        result = self._run(ids, cfg)[0]
        self.last = result
        return result

    def generate_batch(
        self,
        conversations: Sequence[Prompt],
        *,
        batch_size: int = 8,
        max_new_tokens: int | None = None,
        do_sample: bool | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        generation_config: GenerationConfig | None = None,
    ) -> list[ConfidentGeneration]:
        """Answer several questions or conversations, ``batch_size`` at a time.

        Each batch is one left-padded ``generate`` call; each row gets its own
        confidence. Settings as in :meth:`generate`.

        Returns
        -------
        list of ConfidentGeneration, one per conversation, in order
        """
        if isinstance(conversations, (str, Mapping)) or not isinstance(
            conversations, (list, tuple)
        ):
            raise TypeError(
                "conversations must be a list of questions or conversations, got "
                f"{type(conversations).__name__}: {conversations!r}; for one, use generate()"
            )
        if len(conversations) == 0:
            raise ValueError("no conversations given; pass at least one")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        cfg, n_new = self._generation_config(
            max_new_tokens, do_sample, temperature, top_p, generation_config
        )
        texts = []
        for i, conv in enumerate(conversations):
            try:
                texts.append(self.render(conv))
            except (TypeError, ValueError) as err:
                raise type(err)(f"conversation {i}: {err}") from None
        ids = self._encode(texts, n_new)
        out: list[ConfidentGeneration] = []
        for start in range(0, len(ids), batch_size):
            out += self._run(ids[start : start + batch_size], cfg)
        return out

    def stream(
        self,
        messages_or_prompt: Prompt,
        *,
        max_new_tokens: int | None = None,
        do_sample: bool | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        generation_config: GenerationConfig | None = None,
    ) -> Generator[str, None, ConfidentGeneration]:
        """Stream the answer as text pieces; the prefix comes first when it can.

        ``last_prompt`` detectors: the prefix is yielded first, computed in the prefill
        before the first answer token; then the answer pieces (the first one with a
        leading space), or after the prefix ``" " + abstain_message`` when abstaining in
        ``"replace"`` mode (the answer is still generated, not shown, and kept in
        ``answer``). The pieces concatenate to ``text``.

        Answer-position detectors: the answer pieces, then ``"\\n" + prefix``; with a
        threshold in ``"replace"`` mode the answer is buffered and ``text`` comes as one
        piece at the end.

        The prompt and settings are checked when this is called; generation runs in a
        background thread once iteration starts. Closing the generator (or an
        exception, e.g. ``KeyboardInterrupt``, while it waits) stops generation after
        the current step and removes the hook. The final :class:`ConfidentGeneration`
        is the generator's return value and :attr:`last`.

        Parameters, raises: as :meth:`generate`.
        """
        cfg, n_new = self._generation_config(
            max_new_tokens, do_sample, temperature, top_p, generation_config
        )
        ids = self._encode([self.render(messages_or_prompt)], n_new)
        return self._stream(ids, cfg)

    def _stream(
        self, ids: Sequence[list[int]], cfg: Any
    ) -> Generator[str, None, ConfidentGeneration]:
        prompt_first = self.detector.reader.position == "last_prompt"
        buffered = not prompt_first and self.threshold is not None
        buffered = buffered and self.abstain_mode == "replace"
        input_ids, mask = self._batch_tensors(ids)
        events: queue.Queue = queue.Queue()
        stop = threading.Event()

        def on_record(layer: int, index: int, hidden: torch.Tensor) -> None:
            if prompt_first and index == 0:
                conf = float(self.detector.score_features(hidden.float().cpu().numpy())[0])
                events.put(("confidence", conf))

        def work() -> None:
            try:
                with torch.inference_mode():
                    seqs = self.model.generate(
                        input_ids=input_ids,
                        attention_mask=mask,
                        generation_config=cfg,
                        streamer=_TokenQueue(events),
                        stopping_criteria=stop_flag_criteria(stop),
                    )
                events.put(("done", seqs))
            except BaseException as err:  # handed to the consumer, re-raised there
                events.put(("error", err))

        answer_ids: list[int] = []
        shown = ""  # answer text yielded so far (stripped form)
        hide = buffered  # answer pieces are not shown
        eos_seen = False
        with self._capture(on_record) as cap:
            thread = threading.Thread(target=work, name="howsure-stream", daemon=True)
            thread.start()
            try:
                while True:
                    try:
                        kind, value = events.get(timeout=_POLL_S)
                    except queue.Empty:
                        continue
                    if kind == "error":
                        raise value
                    if kind == "confidence":
                        yield self.prefix(value)
                        if self._is_low(value) and self.abstain_mode == "replace":
                            hide = True
                            yield " " + self.abstain_message
                    elif kind == "token":
                        if eos_seen or value in self._eos:
                            eos_seen = True
                            continue
                        answer_ids.append(value)
                        if hide:
                            continue
                        text = self.tokenizer.decode(answer_ids, skip_special_tokens=True).strip()
                        if text.endswith("\ufffd") or not text.startswith(shown):
                            continue  # an incomplete character: wait for the next token
                        if len(text) > len(shown):
                            piece = text[len(shown) :]
                            yield (" " + piece) if prompt_first and not shown else piece
                            shown = text
                    else:  # "done"
                        result = self._results(value, input_ids.shape[1], cap.calls)[0]
                        break
            finally:
                stop.set()
                while thread.is_alive():
                    thread.join(_POLL_S)
        if buffered:
            yield result.text
        elif not hide:
            rest = result.answer[len(shown) :] if result.answer.startswith(shown) else ""
            if rest:
                yield (" " + rest) if prompt_first and not shown else rest
            if not prompt_first:
                yield "\n" + result.prefix
        self.last = result
        return result
