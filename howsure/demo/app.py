"""The demo's state and callbacks, independent of the page (:mod:`howsure.demo.page`)."""

from __future__ import annotations

import copy
import shutil
import tempfile
import threading
import warnings
import weakref
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

from howsure.core.checks import check_choice, check_int, check_probability
from howsure.demo.batch import BatchResult, answer_batch, parse_batch
from howsure.demo.render import PENDING, Reply, esc, render_reply
from howsure.demo.report import load_report
from howsure.plugin.detector import Detector
from howsure.plugin.events import ConfidenceEvent, EndEvent, TextEvent
from howsure.plugin.generation import AbstainMode, ConfidentGeneration
from howsure.plugin.wrapper import ConfidentModel, wrap
from howsure.probes.prompts import question_messages

__all__ = ["Demo"]


class Demo:
    """The demo's state and callbacks, independent of the page; :func:`build_app` shows it.

    Parameters
    ----------
    chat_or_model : ConfidentModel or transformers causal LM
        A wrapped model (from :func:`howsure.wrap`), or a model to wrap with
        ``tokenizer`` and ``detector``.
    tokenizer : transformers tokenizer, optional
        Required with a model; leave it out with a ConfidentModel.
    detector : Detector, or str or Path of a detector folder, optional
        With a model: the detector to wrap it with. When it is missing, cannot be
        loaded or does not fit the model, the demo chats without a confidence and
        :attr:`note` (shown in the page, and warned) says why.
    report : str or Path, optional
        Report folder for the "how good" tab. Default: the parent folder of the detector
        folder (where ``howsure train --out OUT`` writes it), else (a detector shipped
        with howsure, or none) the detector's own report: the held-out metrics it saved
        and plots drawn from its stored calibration scores.
    max_new_tokens : int, optional
        Answer length limit. Default: the detector's (what it was trained with), else 32.
    abstain_below : float in [0, 1], optional
        The slider's starting threshold. Default: the ConfidentModel's threshold, else 0
        (never abstain).

    Attributes
    ----------
    chat : ConfidentModel or None
        None when there is no usable detector.
    generator : ConfidentModel
        What answers: :attr:`chat`, or the model without a detector (the same
        streaming path, no confidence).
    model, tokenizer
    note : str or None
        Why there is no confidence (None when there is one).
    report_folder : Path or None
    report : ReportView
    threshold : float
        The slider's starting threshold in [0, 1].
    lock : threading.Lock
        Held while the model generates: one generation at a time.

    Raises
    ------
    TypeError
        A wrong-typed model, tokenizer or detector (as :func:`howsure.wrap`).
    ValueError
        A bad ``max_new_tokens`` or ``abstain_below``.
    """

    def __init__(
        self,
        chat_or_model: ConfidentModel | Any,
        tokenizer: Any = None,
        *,
        detector: Detector | str | Path | None = None,
        report: str | Path | None = None,
        max_new_tokens: int | None = None,
        abstain_below: float | None = None,
    ) -> None:
        if max_new_tokens is not None:
            max_new_tokens = check_int(max_new_tokens, "max_new_tokens", min_val=1)
        if abstain_below is not None:
            abstain_below = check_probability(abstain_below, "abstain_below", hint="e.g. 0.5")
        self.note: str | None = None
        self.chat: ConfidentModel | None = None
        det_folder: Path | None = None
        if isinstance(chat_or_model, ConfidentModel):
            if tokenizer is not None or detector is not None:
                raise TypeError(
                    "a ConfidentModel brings its own tokenizer and detector: pass it alone, "
                    "or pass model, tokenizer and detector="
                )
            self.chat = chat_or_model if chat_or_model.detector is not None else None
            self.model, self.tokenizer = chat_or_model.model, chat_or_model.tokenizer
        else:
            self.model, self.tokenizer = chat_or_model, tokenizer
            if isinstance(detector, (str, Path)):
                det_folder = Path(detector)
            if detector is None:
                self.note = (
                    "No detector loaded: the model answers without a confidence. Train one "
                    "with `howsure train` and pass it with `--detector DIR`."
                )
            else:
                try:
                    self.chat = wrap(chat_or_model, tokenizer, detector)
                except ValueError as err:
                    self.note = (
                        f"The detector could not be used: {err}. The model answers without "
                        "a confidence."
                    )
        # the model that answers: the wrapped one, or the same model without a detector
        # (the same generation and streaming path, no hook, no confidence)
        self.generator = self.chat or ConfidentModel(self.model, self.tokenizer)
        if self.note is not None:
            warnings.warn(self.note, UserWarning, stacklevel=2)
        base = self.chat.threshold if self.chat is not None else None
        self.threshold = float(abstain_below if abstain_below is not None else (base or 0.0))
        self.max_new_tokens = max_new_tokens
        self.instruction = self.generator.instruction
        self._tmp = Path(tempfile.mkdtemp(prefix="howsure-demo-"))  # batch CSV files, plots
        weakref.finalize(self, shutil.rmtree, self._tmp, ignore_errors=True)
        if report is not None:
            self.report_folder: Path | None = Path(report)
        elif det_folder is not None and not _is_shipped(det_folder):
            self.report_folder = det_folder.parent
        else:  # a shipped detector's parent is the package's data, never a report
            self.report_folder = None
        self.report = load_report(
            self.report_folder,
            detector=self.chat.detector if self.chat is not None else None,
            detector_folder=det_folder,
            plot_dir=self._tmp / "report",
        )
        self.lock = threading.Lock()

    # -- chat ------------------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        return str(getattr(getattr(self.model, "config", None), "name_or_path", "model"))

    def header(self) -> str:
        """One Markdown line about the model and detector (and the note, if any)."""
        text = f"**Model:** `{self.model_name}`"
        if self.chat is not None:
            r = self.chat.detector.reader
            text += f" · **detector:** layer {r.layer}, {r.position}"
        if self.note:
            text += f'\n\n<div class="howsure-note">⚠ {esc(self.note)}</div>'
        return text

    def _generator_for(self, threshold: float, mode: AbstainMode) -> ConfidentModel:
        """The answering model with this request's abstention settings (a shallow copy)."""
        if self.chat is None:
            return self.generator
        chat = copy.copy(self.chat)
        chat.threshold = threshold if threshold > 0 else None
        chat.abstain_mode = mode
        return chat

    def respond(
        self,
        message: str,
        conversation: Sequence[Mapping] = (),
        *,
        threshold: float = 0.0,
        mode: AbstainMode = "replace",
    ) -> Generator[Reply, None, None]:
        """Stream the reply to ``message`` in the context of ``conversation``.

        Rendered from the wrapper's stream events (:mod:`howsure.plugin.events`): the
        badge as soon as the confidence is known, the answer as it grows.

        Parameters
        ----------
        message : str
            The user's question; the detector's instruction is appended.
        conversation : list of dict
            The model's context so far (``Reply.conversation`` of the previous turn).
        threshold : float in [0, 1], default 0
            Answers whose confidence is below it abstain (0: never).
        mode : {"replace", "flag"}, default "replace"
            Replace a low-confidence answer by "I'm not sure." or keep and flag it.

        Yields
        ------
        Reply
            Growing states of the reply; the last has ``done=True``. Generation holds
            :attr:`lock`.

        Raises
        ------
        ValueError
            An empty message, a threshold outside [0, 1], an unknown mode.
        """
        if not isinstance(message, str) or not message.strip():
            raise ValueError("type a question first")
        threshold = check_probability(threshold, "threshold", hint="the slider's value")
        check_choice(mode, "mode", ("replace", "flag"))
        history = [dict(m) for m in conversation]
        user = question_messages(message.strip(), instruction=self.instruction)[0]
        with self.lock:
            yield Reply(markdown=f"{PENDING} *thinking…*", conversation=history)
            try:
                events = self._generator_for(threshold, mode).events(
                    [*history, user], max_new_tokens=self.max_new_tokens
                )
            except ValueError as err:  # e.g. the conversation outgrew the context
                yield Reply(
                    markdown=f"⚠ {esc(str(err))}. Press *New conversation* to start over.",
                    done=True,
                    conversation=history,
                    error=str(err),
                )
                return
            text, conf = "", None
            result: ConfidentGeneration | None = None
            with events:  # leaving early (the page went away) stops the generation
                for event in events:
                    if isinstance(event, EndEvent):
                        result = event.result
                        break
                    if isinstance(event, ConfidenceEvent):
                        conf = event.confidence
                    elif isinstance(event, TextEvent):
                        text += event.text
                    yield Reply(
                        markdown=self._render(
                            text, confidence=conf, done=False, threshold=threshold
                        ),
                        answer=text,
                        confidence=conf,
                        conversation=history,
                    )
        if result is None:  # pragma: no cover - an event stream always ends with its result
            raise RuntimeError("the reply ended without a result")
        new = [*history, user, {"role": "assistant", "content": result.answer}]
        yield Reply(
            markdown=self._render(
                result.answer,
                confidence=result.confidence,
                done=True,
                threshold=threshold,
                abstained=result.abstained,
                flagged=result.flagged,
                unfamiliar=result.unfamiliar,
                sentences=result.sentences,
            ),
            done=True,
            answer=result.answer,
            confidence=result.confidence,
            abstained=result.abstained,
            flagged=result.flagged,
            unfamiliar=result.unfamiliar,
            sentences=result.sentences,
            conversation=new if result.answer else history,
        )

    def _render(self, answer: str, **state: Any) -> str:
        return render_reply(answer, chat=self.chat, **state)

    # -- batch -----------------------------------------------------------------------------
    def batch(self, text: str | None = None, file: str | Path | None = None) -> BatchResult:
        """Answer the questions of :func:`~howsure.demo.batch.parse_batch` (under
        :attr:`lock`).

        Returns
        -------
        BatchResult

        Raises
        ------
        ValueError
            Bad input (see :func:`~howsure.demo.batch.parse_batch`) or a question too long
            for the context.
        """
        items = parse_batch(text, file)
        with self.lock:
            return answer_batch(
                self.generator, items, max_new_tokens=self.max_new_tokens, folder=self._tmp
            )


def _is_shipped(folder: Path) -> bool:
    """Whether ``folder`` is a detector shipped inside the package."""
    from howsure.plugin.defaults import shipped_detectors

    try:
        return folder.resolve() in {p.resolve() for p in shipped_detectors().values()}
    except OSError:  # pragma: no cover - unreadable paths
        return False
