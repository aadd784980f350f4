"""The wrapped chat model: answers with their confidence, whole or streamed as events.

:class:`ConfidentModel` is what :func:`howsure.wrap <howsure.plugin.wrapper.wrap>` returns
(see :mod:`howsure.plugin.wrapper` for how the confidence is read, streamed and used to
abstain). Without a detector it answers through the same paths, with no hook and no
confidence.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from howsure.core.checks import check_choice, check_int, check_probability
from howsure.plugin.batch import Prepared, Row, run_rows
from howsure.plugin.detector import Detector
from howsure.plugin.events import ConfidenceEvent, EventStream, TextView
from howsure.plugin.generation import (
    DEFAULT_TEMPLATE,
    AbstainMode,
    ConfidentGeneration,
    check_model,
    check_template,
    generation_config,
    percent,
)
from howsure.plugin.sentences import sentence_confidences
from howsure.probes.familiarity import UNFAMILIAR_BELOW
from howsure.probes.generate import RowReading, reading_features, reading_stats
from howsure.probes.inputs import check_length, eos_ids, pad_token_id
from howsure.probes.prompts import (
    DEFAULT_INSTRUCTION,
    check_messages,
    question_messages,
    render_chat,
)

if TYPE_CHECKING:
    from transformers import GenerationConfig

__all__ = ["DEFAULT_MAX_NEW_TOKENS", "ConfidentModel", "Prompt"]

Prompt = str | Sequence[Mapping[str, Any]]
"""A question (str; the detector's instruction is appended) or a conversation (list of
``{"role", "content"}`` messages)."""

DEFAULT_MAX_NEW_TOKENS = 32
"""Answer length limit without a detector (with one: what it was trained with)."""


class ConfidentModel:
    """A chat model whose answers carry a calibrated confidence; made by :func:`wrap`.

    ``ConfidentModel(model, tokenizer)`` without a detector answers through the same
    paths (:meth:`generate`, :meth:`events`, :meth:`stream`) with no hook and no
    confidence.

    Attributes
    ----------
    model, tokenizer : the wrapped transformers model and tokenizer
    detector : Detector or None
    template : str
    threshold : float or None
        Answers with a confidence below it abstain (``None``: never).
    abstain_message : str
    abstain_mode : {"replace", "flag"}
    instruction : str
        Appended to a question (the detector's; without one, the default).
    eos_ids : set of int
        Token ids that end an answer.
    last : ConfidentGeneration or None
        The result of the most recent :meth:`generate` or finished :meth:`stream`.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        detector: Detector | None = None,
        *,
        template: str = DEFAULT_TEMPLATE,
        threshold: float | None = None,
        abstain_message: str = "I'm not sure.",
        abstain_mode: AbstainMode = "replace",
    ) -> None:
        check_model(model, tokenizer)
        if detector is not None and not isinstance(detector, Detector):
            raise TypeError(f"detector must be a howsure Detector or None, got {detector!r}")
        if threshold is not None:
            threshold = check_probability(threshold, "threshold")
        check_choice(abstain_mode, "abstain_mode", ("replace", "flag"))
        if not isinstance(abstain_message, str) or not abstain_message.strip():
            raise ValueError(f"abstain_message must be a non-empty str, got {abstain_message!r}")
        self.model = model
        self.tokenizer = tokenizer
        self.detector = detector
        self.template = check_template(template)
        self.threshold = threshold
        self.abstain_message = abstain_message
        self.abstain_mode = abstain_mode
        self.last: ConfidentGeneration | None = None
        self.eos_ids = eos_ids(model, tokenizer)
        self.pad_id = pad_token_id(model, tokenizer)

    def __repr__(self) -> str:
        name = self.model.config.name_or_path
        if self.detector is None:
            return f"ConfidentModel({name!r}, no detector)"
        r = self.detector.reader
        return (
            f"ConfidentModel({name!r}, layer={r.layer}, "
            f"position={r.position!r}, threshold={self.threshold!r})"
        )

    # -- what the detector needs ---------------------------------------------------------
    @property
    def instruction(self) -> str:
        """Appended to a bare question: the detector's, else the default."""
        return self.detector.reader.instruction if self.detector else DEFAULT_INSTRUCTION

    @property
    def scores_before_answer(self) -> bool:
        """True for a ``last_prompt`` detector: the confidence comes before the answer."""
        return self.detector is not None and self.detector.reader.position == "last_prompt"

    @property
    def withholds_answer(self) -> bool:
        """True when an answer may be withheld but its confidence comes only after it (an
        answer-position detector with a threshold in ``"replace"`` mode): streams then
        keep the answer back until the confidence is known."""
        return (
            self.detector is not None
            and not self.scores_before_answer
            and self.threshold is not None
            and self.abstain_mode == "replace"
        )

    @property
    def default_max_new_tokens(self) -> int:
        """The answer length limit when none is given: the detector's (what it was
        trained with), else :data:`DEFAULT_MAX_NEW_TOKENS`."""
        return self.detector.reader.max_new_tokens if self.detector else DEFAULT_MAX_NEW_TOKENS

    # -- prompts -------------------------------------------------------------------------
    def messages(self, prompt: Prompt) -> list[dict]:
        """The chat messages for a question or a conversation (validated)."""
        if isinstance(prompt, str):
            return question_messages(prompt, instruction=self.instruction)
        return check_messages(prompt)

    def render(self, prompt: Prompt) -> str:
        """The prompt text the model reads for a question or a conversation."""
        return render_chat(self.tokenizer, self.messages(prompt))

    def _encode(self, texts: Sequence[str], n_new: int) -> list[list[int]]:
        """Token ids of rendered prompts; refuses one that with ``n_new`` tokens does not
        fit the context window (naming its index)."""
        ids = [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        check_length(self.model, self.tokenizer, [len(x) for x in ids], n_new)
        return ids

    def _config(self, *settings: Any) -> tuple[GenerationConfig, int]:
        max_new_tokens, do_sample, temperature, top_p, base = settings
        return generation_config(
            self.model,
            default_max_new_tokens=self.default_max_new_tokens,
            pad_token_id=self.pad_id,
            max_new_tokens=max_new_tokens,
            do_sample=do_sample,
            temperature=temperature,
            top_p=top_p,
            base=base,
        )

    # -- results -------------------------------------------------------------------------
    def prefix(self, confidence: float) -> str:
        """The filled-in template for a confidence in [0, 1]."""
        return self.template.format(pct=percent(confidence), confidence=confidence)

    def confidence_event(
        self, confidence: float, familiarity: float | None = None
    ) -> ConfidenceEvent:
        """The :class:`ConfidenceEvent` of a confidence, with this model's abstention."""
        low = self.threshold is not None and confidence < self.threshold
        return ConfidenceEvent(
            confidence=confidence,
            prefix=self.prefix(confidence),
            abstained=low and self.abstain_mode == "replace",
            flagged=low and self.abstain_mode == "flag",
            familiarity=familiarity,
            unfamiliar=familiarity is not None and familiarity < UNFAMILIAR_BELOW,
        )

    def results(self, readings: Sequence[RowReading]) -> list[ConfidentGeneration]:
        """One :class:`ConfidentGeneration` per row read by
        :func:`~howsure.probes.generate.generate_rows` (with this detector's layer)."""
        scores: list[float | None] = [None] * len(readings)
        familiar: list[float | None] = [None] * len(readings)
        if self.detector is not None:
            reader = self.detector.reader
            feats = reading_features(readings, reader.layer, [reader.position])
            read = reading_stats(readings) if self.detector.stats else None
            prompt = self.detector.prompt_features(
                {
                    la: reading_features(readings, la, ["last_prompt"])[la, "last_prompt"]
                    for la in self.detector.layers
                }
            )
            found = self.detector.assess_features(
                feats[reader.layer, reader.position], read, prompt=prompt
            )
            scores = [float(c) for c in found.confidence]
            if found.familiarity is not None:
                familiar = [float(f) for f in found.familiarity]
        out = []
        sentence_detector = None if self.detector is None else self.detector.sentences
        for reading, conf, fam in zip(readings, scores, familiar, strict=True):
            answer = self.tokenizer.decode(reading.answer_ids, skip_special_tokens=True).strip()
            token_ids, cut = reading.token_ids, reading.truncated
            sentences = ()
            if sentence_detector is not None:
                sentences = sentence_confidences(
                    sentence_detector, reading, self.tokenizer, text=answer
                )
            if conf is None:
                out.append(
                    ConfidentGeneration(
                        text=answer,
                        answer=answer,
                        confidence=None,
                        layer=None,
                        position=None,
                        abstained=False,
                        flagged=False,
                        prefix="",
                        token_ids=token_ids,
                        truncated=cut,
                    )
                )
                continue
            event = self.confidence_event(conf, fam)
            body = self.abstain_message if event.abstained else answer
            out.append(
                ConfidentGeneration(
                    text=f"{event.prefix} {body}" if body else event.prefix,
                    answer=answer,
                    confidence=conf,
                    layer=self.detector.reader.layer,
                    position=self.detector.reader.position,
                    abstained=event.abstained,
                    flagged=event.flagged,
                    prefix=event.prefix,
                    token_ids=token_ids,
                    truncated=cut,
                    familiarity=fam,
                    unfamiliar=event.unfamiliar,
                    sentences=sentences,
                )
            )
        return out

    def prepare(
        self,
        messages_or_prompt: Prompt,
        *,
        max_new_tokens: int | None = None,
        do_sample: bool | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        generation_config: GenerationConfig | None = None,
    ) -> Prepared:
        """Check, render and tokenize one request, before any generation work.

        Parameters, raises: as :meth:`generate`.

        Returns
        -------
        Prepared
            For :meth:`events` here, or :func:`howsure.plugin.batch.run_rows` together
            with other requests of the same ``key`` (``howsure serve``).
        """
        cfg, n_new = self._config(max_new_tokens, do_sample, temperature, top_p, generation_config)
        ids = self._encode([self.render(messages_or_prompt)], n_new)[0]
        return Prepared(ids=tuple(ids), config=cfg, max_new_tokens=n_new, key=_settings_key(cfg))

    def _run(self, ids: Sequence[list[int]], cfg: Any) -> list[ConfidentGeneration]:
        """One batch through :func:`~howsure.plugin.batch.run_rows`, nobody listening."""
        n_new, key = int(cfg.max_new_tokens), _settings_key(cfg)
        rows = [
            Row(Prepared(ids=tuple(x), config=cfg, max_new_tokens=n_new, key=key), _ignore)
            for x in ids
        ]
        return run_rows(self, rows)

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
        prepared = self.prepare(
            messages_or_prompt,
            max_new_tokens=max_new_tokens,
            do_sample=do_sample,
            temperature=temperature,
            top_p=top_p,
            generation_config=generation_config,
        )
        result = run_rows(self, [Row(prepared, _ignore)])[0]
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
        batch_size = check_int(batch_size, "batch_size", min_val=1)
        cfg, n_new = self._config(max_new_tokens, do_sample, temperature, top_p, generation_config)
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

    def events(
        self,
        messages_or_prompt: Prompt,
        *,
        max_new_tokens: int | None = None,
        do_sample: bool | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        generation_config: GenerationConfig | None = None,
    ) -> EventStream:
        """Typed events of one answer: the confidence when it is known, text, the end.

        See :mod:`howsure.plugin.events` for the events and their order. The prompt and
        settings are checked now; generation starts with the first ``next()``. Use the
        stream as a context manager (or call ``close()``) to stop it early.

        Parameters, raises: as :meth:`generate`.

        Returns
        -------
        EventStream
            An iterator of :class:`~howsure.plugin.events.ConfidenceEvent`,
            :class:`~howsure.plugin.events.TextEvent` and
            :class:`~howsure.plugin.events.EndEvent`.
        """
        prepared = self.prepare(
            messages_or_prompt,
            max_new_tokens=max_new_tokens,
            do_sample=do_sample,
            temperature=temperature,
            top_p=top_p,
            generation_config=generation_config,
        )
        return EventStream(self, prepared)

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

        The text view of :meth:`events`. The prompt and settings are checked when this is
        called; generation runs in a background thread once iteration starts. Closing
        the generator (or an exception, e.g. ``KeyboardInterrupt``, while it waits)
        stops generation after the current step and removes the hook; an abandoned
        generator's generation ends at ``max_new_tokens`` and removes it too. The final
        :class:`ConfidentGeneration` is the generator's return value and :attr:`last`.

        Parameters, raises: as :meth:`generate`.
        """
        events = self.events(
            messages_or_prompt,
            max_new_tokens=max_new_tokens,
            do_sample=do_sample,
            temperature=temperature,
            top_p=top_p,
            generation_config=generation_config,
        )
        return self._text_view(events)

    def _text_view(self, events: EventStream) -> Generator[str, None, ConfidentGeneration]:
        """The text pieces of :meth:`stream` from the events (:class:`TextView`)."""
        view = TextView(self)
        with events:
            for event in events:
                yield from view.pieces(event)
        if events.result is None:  # pragma: no cover - an EventStream always ends with it
            raise RuntimeError("the stream ended without a result")
        return events.result


def _ignore(kind: str, value: Any) -> None:
    """A sink for rows nobody streams."""


def _settings_key(cfg: Any) -> tuple:
    """What rows generated together must share: the generation config, its length aside."""
    settings = cfg.to_dict()
    settings.pop("max_new_tokens", None)
    return tuple(sorted((k, repr(v)) for k, v in settings.items()))
