"""The Detector artefact: probe + calibrator + reader settings + metadata, no pickle.

A detector folder holds two files:

``config.json``
    ``format`` (``"howsure-detector"``), ``format_version``, ``howsure_version``, the
    model fingerprint (model type, hidden size, layer count, vocab size, name or path),
    the reader settings (layer, position, instruction, max_new_tokens), the probe's and
    calibrator's kinds and JSON parameters, a training-data summary, metrics, and the
    sha256 of the tensor file.
``tensors.safetensors``
    The probe's and calibrator's arrays (``probe.*``, ``calibrator.*``) and, when the
    detector has them, its calibration scores (calibrated and out-of-fold; for ``howsure
    train``, the grouped out-of-fold scores of the train and calibration splits) and
    labels (``calib.scores``, ``calib.labels``), from which :meth:`Detector.threshold_for`
    picks an abstention threshold. Folders without them (older ones) still load.

Loading checks the format version, the tensor file's checksum and, when a model is
given, that it matches the fingerprint, so a detector never scores a model it was not
fitted on.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from howsure.calibration.selective import threshold_for_error_rate
from howsure.core.errors import SettingError
from howsure.plugin.checks import (
    Assessment,
    DtypeMismatch,
    Prompt,
    check_calibrator_inputs,
    check_familiarity,
    check_fingerprint,
    check_inputs,
    check_prompts,
    input_columns,
    probe_id,
)
from howsure.plugin.folder import (
    CONFIG_FILE,
    FORMAT,
    FORMAT_VERSION,
    TENSORS_FILE,
    read_folder,
    write_folder,
)
from howsure.plugin.parts import (
    PART_KEYS,
    ReaderSettings,
    parts_from,
    parts_state,
    prefixed,
    with_recalibration,
)
from howsure.probes.activations import generate_and_read, read_activations
from howsure.probes.familiarity import Familiarity
from howsure.probes.positions import ANSWER_POSITIONS
from howsure.probes.prompts import question_messages, render_chat

__all__ = [
    "CONFIG_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "TENSORS_FILE",
    "Assessment",
    "Detector",
    "Prompt",
    "ReaderSettings",
    "check_familiarity",
    "check_fingerprint",
    "check_inputs",
    "check_prompts",
    "probe_id",
]


@dataclass
class Detector:
    """Probe + calibrator + reader settings: calibrated P(answer correct) for a model.

    Attributes
    ----------
    probe : fitted probe from :mod:`howsure.probes.linear`
    calibrator : fitted calibrator from :mod:`howsure.calibration`
        Anything with ``confidence(X)``, ``X`` of shape (n, len(inputs)) as
        :meth:`calibrator_input` builds it: a one-input calibrator, a
        :class:`~howsure.calibration.stacked.StackedCalibrator`, or either followed by a
        recalibration on the user's own rows
        (:class:`~howsure.calibration.recalibrated.RecalibratedCalibrator`, see
        :func:`howsure.plugin.recalibrate.recalibrate`).
    reader : ReaderSettings
    fingerprint : dict
        :func:`howsure.probes.models.model_fingerprint` of the model it was fitted on.
    info : dict
        Training-data summary, metrics and anything else JSON-able worth keeping.
    calibration_scores : numpy.ndarray of float64, shape (m,), optional
        Calibrated out-of-fold scores of the rows the calibration was fitted on (see
        :func:`howsure.plugin.grouped.fit_grouped_detector`); ``None`` for detectors
        saved without them.
    calibration_labels : numpy.ndarray of bool, shape (m,), optional
        Their correctness labels.
    inputs : tuple of str, default ("probe",)
        What the calibrator reads. ``("probe",)``: the probe's P(correct), through a
        one-input calibrator. More names: a :class:`StackedCalibrator` over the probe's
        log-odds and the answer's token statistics named (``"logprob_mean"``,
        ``"logprob_min"``, ``"entropy_mean"``), all read from the same generation.
    familiarity : Familiarity, optional
        Fitted on the training questions' ``last_prompt`` states at
        ``familiarity_layers`` (the question as the reader sends it, before the answer);
        gives each score a familiarity (:meth:`assess`). No forward pass of its own: the
        states come from the same prefill.
    familiarity_layers : tuple of int
        The layers whose ``last_prompt`` states, side by side, the familiarity model
        reads (required with one).
    on_dtype_mismatch : {"warn", "error"}, default "warn"
        A model with the same weights in another dtype than the detector was fitted in:
        a warning, or a refusal (see :func:`check_fingerprint`).
    sentences : Detector, optional
        The sentence detector: calibrated P(a sentence that states an answer is right)
        from the sentence's mean token state and token statistics (see
        :mod:`howsure.plugin.sentences`); saved in the same folder.
    """

    probe: Any
    calibrator: Any
    reader: ReaderSettings
    fingerprint: dict
    info: dict = field(default_factory=dict)
    model: Any = field(default=None, repr=False, compare=False)
    tokenizer: Any = field(default=None, repr=False, compare=False)
    calibration_scores: np.ndarray | None = field(default=None, repr=False, compare=False)
    calibration_labels: np.ndarray | None = field(default=None, repr=False, compare=False)
    inputs: tuple[str, ...] = ("probe",)
    familiarity: Familiarity | None = field(default=None, repr=False, compare=False)
    familiarity_layers: tuple[int, ...] = field(default=(), repr=False, compare=False)
    on_dtype_mismatch: DtypeMismatch = field(default="warn", repr=False, compare=False)
    sentences: Detector | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.inputs = check_inputs(self.inputs, self.reader.position)
        if self.sentences is not None and self.sentences.reader.position != "mean_answer":
            raise ValueError(
                "a sentence detector reads the mean state of each sentence's tokens; its "
                f"position must be 'mean_answer', got {self.sentences.reader.position!r}"
            )
        check_calibrator_inputs(self.calibrator, self.inputs)
        self.familiarity_layers = tuple(int(la) for la in self.familiarity_layers)
        if self.familiarity is not None and (
            len(self.familiarity_layers) != self.familiarity.n_blocks
        ):
            raise ValueError(
                f"the familiarity model reads {self.familiarity.n_blocks} layer(s) but "
                f"familiarity_layers is {self.familiarity_layers!r}; give one layer per block"
            )
        scores, labels = self.calibration_scores, self.calibration_labels
        if (scores is None) != (labels is None):
            raise ValueError(
                "give both calibration_scores and calibration_labels, or neither; got "
                f"{'scores' if labels is None else 'labels'} only"
            )
        if scores is not None:
            scores = np.asarray(scores, dtype=np.float64).ravel()
            labels = np.asarray(labels).astype(bool).ravel()
            if scores.shape != labels.shape:
                raise ValueError(
                    f"calibration_scores has {scores.size} entries but calibration_labels has "
                    f"{labels.size}; pass one label per score"
                )
            self.calibration_scores, self.calibration_labels = scores, labels

    # -- scoring -----------------------------------------------------------------------
    @property
    def needs_answer(self) -> bool:
        """True when the score needs the answer's tokens (answer positions)."""
        return self.reader.position in ANSWER_POSITIONS

    @property
    def layers(self) -> list[int]:
        """The layers a generation must read for this detector: its own first, then its
        sentence detector's and its familiarity model's (each once)."""
        out = [self.reader.layer]
        more = [] if self.sentences is None else [self.sentences.reader.layer]
        more += list(self.familiarity_layers) if self.familiarity is not None else []
        out += [la for la in dict.fromkeys(more) if la != self.reader.layer]
        return out

    @property
    def qa_style(self) -> dict[str, Any]:
        """How a QA set's questions are sent when this detector is evaluated on them
        (``howsure eval``, ``loto``, ``transfer``): ``{"instruction", "max_new_tokens"}``.

        The reader's own, except for a detector fitted on short-style and chat-style rows
        together (``howsure train --chat-per-source``): its reader sends a bare question
        as given, and a QA evaluation uses the short style its QA rows were collected in
        (``info["training"]["short_style"]``), so the training collection's cache serves
        it. Chat-style evaluation is ``howsure freeform``'s.
        """
        short = self.info.get("training", {}).get("short_style") or {}
        return {
            "instruction": str(short.get("instruction", self.reader.instruction)),
            "max_new_tokens": int(short.get("max_new_tokens", self.reader.max_new_tokens)),
        }

    @property
    def stats(self) -> tuple[str, ...]:
        """The answer statistics the calibrator reads besides the probe (may be empty)."""
        return self.inputs[1:]

    def score_features(
        self, features: np.ndarray, stats: dict[str, np.ndarray] | None = None
    ) -> np.ndarray:
        """Calibrated P(correct) from activations (and answer statistics).

        Parameters
        ----------
        features : numpy.ndarray, shape (n, hidden_size)
            Activations at the detector's layer and position (``(n, 2 * hidden_size)``
            for ``mean_last_answer``).
        stats : dict of str to numpy.ndarray of shape (n,), optional
            The answers' token statistics named in :attr:`stats` (``logprob_mean``...);
            required when the detector stacks them.

        Returns
        -------
        numpy.ndarray, shape (n,)
            Calibrated probability that each answer is correct (higher = surer).
        """
        X = self.calibrator_input(features, stats)
        return np.asarray(self.calibrator.confidence(X), dtype=np.float64)

    def calibrator_input(
        self, features: np.ndarray, stats: dict[str, np.ndarray] | None = None
    ) -> np.ndarray:
        """What the calibrator reads, shape (n, len(inputs)), from the arguments of
        :meth:`score_features` (see :func:`~howsure.plugin.checks.input_columns`)."""
        return input_columns(self.probe, self.inputs, features, stats)

    def prompt_features(self, states: Mapping[int, Any]) -> np.ndarray | None:
        """The familiarity model's input from per-layer ``last_prompt`` states.

        Parameters
        ----------
        states : dict of int to array of shape (n, hidden_size)
            ``last_prompt`` states by layer (at least :attr:`familiarity_layers`).

        Returns
        -------
        numpy.ndarray of shape (n, len(familiarity_layers) * hidden_size), or None
            ``None`` without a familiarity model.
        """
        if self.familiarity is None:
            return None
        layers = self.familiarity_layers
        return np.hstack([np.asarray(states[la], dtype=np.float64) for la in layers])

    def familiarity_of(self, prompt: np.ndarray | None) -> np.ndarray | None:
        """Familiarity of each question (shape (n,)) from :meth:`prompt_features`, or
        ``None`` without a familiarity model or prompt features (see
        :mod:`howsure.probes.familiarity`)."""
        if self.familiarity is None or prompt is None:
            return None
        return self.familiarity.score(np.asarray(prompt, dtype=np.float64))

    def assess_features(
        self,
        features: np.ndarray,
        stats: dict[str, np.ndarray] | None = None,
        *,
        prompt: np.ndarray | None = None,
    ) -> Assessment:
        """:class:`Assessment` from activations: the confidence from ``features`` (and
        ``stats``, as :meth:`score_features`), the familiarity from ``prompt``
        (:meth:`prompt_features`; ``None`` gives no familiarity)."""
        return Assessment(self.score_features(features, stats), self.familiarity_of(prompt))

    def assess_collection(self, collection: Any) -> Assessment:
        """:class:`Assessment` of a :class:`~howsure.probes.collect.Collection`'s answers,
        from its activations and answer statistics; the familiarity of each question as
        the collection sent it (when it holds the ``last_prompt`` states)."""
        feats = collection.features(self.reader.layer, self.reader.position)
        have = set(collection.activations)
        prompt = None
        if all((la, "last_prompt") in have for la in self.familiarity_layers):
            prompt = self.prompt_features(
                {la: collection.features(la, "last_prompt") for la in self.familiarity_layers}
            )
        return self.assess_features(feats, collection.extras, prompt=prompt)

    def threshold_for(self, target_error: float) -> float:
        """Abstention threshold for an error rate of at most ``target_error``.

        The lowest confidence threshold whose accepted answers (``confidence >=
        threshold``) had an error rate at most ``target_error`` on the calibration
        split (see :func:`howsure.calibration.selective.threshold_for_error_rate`).

        Raises
        ------
        ValueError
            When the detector has no calibration scores (saved by an older howsure;
            retrain it), or the target is unreachable on those scores.
        """
        if self.calibration_scores is None or self.calibration_labels is None:
            raise SettingError(
                "target_error",
                "this detector has no calibration scores for {param} (it was saved by an "
                "older howsure); retrain it with `howsure train`, or give the threshold "
                "itself ({abstain_below}=...)",
            )
        return threshold_for_error_rate(
            self.calibration_scores, self.calibration_labels, target_error
        )

    def bind(
        self, model: Any, tokenizer: Any = None, *, on_dtype_mismatch: DtypeMismatch | None = None
    ) -> Detector:
        """Attach a model (and tokenizer) after checking it matches; returns self.
        ``on_dtype_mismatch`` (default: the detector's) sets what a dtype other than the
        detector's does, now and on every later score."""
        if on_dtype_mismatch is not None:
            self.on_dtype_mismatch = on_dtype_mismatch
        check_fingerprint(self.fingerprint, model, on_dtype_mismatch=self.on_dtype_mismatch)
        self.model, self.tokenizer = model, tokenizer
        return self

    def render(self, prompts: Sequence[Prompt], tokenizer: Any) -> list[str]:
        """Render questions or conversations to prompt strings, as the detector reads them.

        Raises
        ------
        TypeError, ValueError
            As :func:`check_prompts` and :func:`howsure.probes.prompts.check_messages`,
            naming the prompt's index.
        """
        out = []
        for i, p in enumerate(check_prompts(prompts)):
            try:
                messages = (
                    question_messages(p, instruction=self.reader.instruction)
                    if isinstance(p, str)
                    else p
                )
                out.append(render_chat(tokenizer, messages))
            except (TypeError, ValueError) as err:
                raise type(err)(f"prompt {i}: {err}") from None
        return out

    def score(
        self,
        prompts: Sequence[Prompt],
        answers: Sequence[str] | None = None,
        *,
        model: Any = None,
        tokenizer: Any = None,
        batch_size: int = 16,
        progress: bool = False,
    ) -> np.ndarray:
        """Calibrated P(correct) for questions (or conversations).

        Parameters
        ----------
        prompts : list of str or list of message lists, length n
        answers : list of str, length n, optional
            The answers to score. For answer positions, when omitted, the model's own
            greedy answers are generated and scored.
        model, tokenizer : optional
            Default: those given to :meth:`bind` / :meth:`load`.

        Returns
        -------
        numpy.ndarray, shape (n,)
        """
        return self.assess(
            prompts,
            answers,
            model=model,
            tokenizer=tokenizer,
            batch_size=batch_size,
            progress=progress,
        ).confidence

    def assess(
        self,
        prompts: Sequence[Prompt],
        answers: Sequence[str] | None = None,
        *,
        model: Any = None,
        tokenizer: Any = None,
        batch_size: int = 16,
        progress: bool = False,
    ) -> Assessment:
        """Like :meth:`score`, with each question's familiarity too.

        Returns
        -------
        Assessment
            ``confidence`` and ``familiarity``, each shape (n,).
        """
        model = model if model is not None else self.model
        tokenizer = tokenizer if tokenizer is not None else self.tokenizer
        prompts = check_prompts(prompts)
        if answers is not None:
            if isinstance(answers, str) or not isinstance(answers, (list, tuple)):
                raise TypeError(f"answers must be a list of str, one per prompt, got {answers!r}")
            if len(answers) != len(prompts) or not all(isinstance(a, str) for a in answers):
                raise ValueError(
                    f"answers must hold one str per prompt ({len(prompts)}), got {answers!r}"
                )
        if model is None or tokenizer is None:
            raise ValueError("no model bound: pass model= and tokenizer=, or call bind() first")
        check_fingerprint(self.fingerprint, model, on_dtype_mismatch=self.on_dtype_mismatch)
        texts = self.render(prompts, tokenizer)
        positions = list(dict.fromkeys([self.reader.position, "last_prompt"]))
        kw = dict(layers=self.layers, positions=positions)
        if self.needs_answer and answers is None:
            result = generate_and_read(
                model,
                tokenizer,
                texts,
                max_new_tokens=self.reader.max_new_tokens,
                batch_size=batch_size,
                progress=progress,
                **kw,
            )
            acts, stats = result.activations, result.stats
        else:
            acts, stats = read_activations(
                model,
                tokenizer,
                texts,
                answers if self.needs_answer else None,
                batch_size=batch_size,
                progress=progress,
                with_stats=True,
                **kw,
            )
        prompt = self.prompt_features({la: acts[(la, "last_prompt")] for la in self.layers})
        return self.assess_features(
            acts[(self.reader.layer, self.reader.position)], stats, prompt=prompt
        )

    # -- files -------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write ``config.json`` and ``tensors.safetensors`` to ``folder``.

        Both files are written to a temporary folder first and then moved into place,
        so a crash never leaves a half-written detector.
        """
        tensors, parts = self._parts_state()
        extra: dict[str, Any] = {"inputs": list(self.inputs)}
        if self.sentences is not None:
            s_tensors, s_parts = self.sentences._parts_state()
            tensors |= {f"sentences.{k}": v for k, v in s_tensors.items()}
            extra["sentences"] = {
                **s_parts,
                "reader": asdict(self.sentences.reader),
                "inputs": list(self.sentences.inputs),
                **self.sentences.info,
            }
        if self.familiarity is not None:
            fam_arrays, fam_params = self.familiarity.get_state()
            tensors |= {f"familiarity.{k}": np.ascontiguousarray(v) for k, v in fam_arrays.items()}
            extra["familiarity"] = {
                "params": fam_params,
                "probe_id": probe_id(self.probe),
                "layers": list(self.familiarity_layers),
            }
        config = {"model": self.fingerprint, "reader": asdict(self.reader), **parts, **extra}
        return write_folder(folder, tensors, config | self.info)

    def _parts_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return parts_state(
            self.probe, self.calibrator, self.calibration_scores, self.calibration_labels
        )

    @classmethod
    def load(
        cls,
        folder: str | Path,
        *,
        model: Any = None,
        tokenizer: Any = None,
        on_dtype_mismatch: DtypeMismatch = "warn",
    ) -> Detector:
        """Read a detector folder; with ``model``, refuse it unless it matches (see
        :meth:`bind` for ``on_dtype_mismatch``).

        Raises
        ------
        ValueError
            Missing, corrupted or truncated files; a newer format version; a model that
            does not match the fingerprint.
        """
        from safetensors import SafetensorError

        folder = Path(folder)
        config, tensors = read_folder(folder)  # every file check, before any model
        try:
            probe, calibrator, calib_scores, calib_labels = parts_from(config, tensors)
            calibrator = with_recalibration(calibrator, config.get("recalibration_map"), folder)
            familiarity, familiarity_layers = None, ()
            if "familiarity" in config and "layers" in config["familiarity"]:
                familiarity = Familiarity.from_state(
                    prefixed(tensors, "familiarity."), config["familiarity"]["params"]
                )
                familiarity_layers = tuple(config["familiarity"]["layers"])
                check_familiarity(config["familiarity"].get("probe_id"), probe, folder)
            elif "familiarity" in config:
                warnings.warn(
                    f"the detector in {folder} has a familiarity model of an older kind "
                    "(read from the answer, not the question); it is left out. Retrain the "
                    "detector for a familiarity flag",
                    stacklevel=2,
                )
            reader = ReaderSettings(**config["reader"])
            fingerprint = dict(config["model"])
            sentences = None
            if "sentences" in config:
                entry = config["sentences"]
                s_parts = parts_from(entry, prefixed(tensors, "sentences."))
                sentences = cls(
                    probe=s_parts[0],
                    calibrator=s_parts[1],
                    reader=ReaderSettings(**entry["reader"]),
                    fingerprint=fingerprint,
                    info={k: v for k, v in entry.items() if k not in PART_KEYS},
                    calibration_scores=s_parts[2],
                    calibration_labels=s_parts[3],
                    inputs=tuple(entry.get("inputs", ("probe",))),
                )
        except (SafetensorError, KeyError, TypeError) as err:
            raise ValueError(f"corrupted detector in {folder}: {err!r}; retrain it") from err
        known = {
            "format",
            "format_version",
            "howsure_version",
            "model",
            "reader",
            "probe",
            "calibrator",
            "tensors_sha256",
            "inputs",
            "familiarity",
            "recalibration_map",
            "sentences",
        }
        info = {k: v for k, v in config.items() if k not in known}
        det = cls(
            probe=probe,
            calibrator=calibrator,
            reader=reader,
            fingerprint=fingerprint,
            calibration_scores=calib_scores,
            calibration_labels=calib_labels,
            inputs=tuple(config.get("inputs", ("probe",))),
            familiarity=familiarity,
            familiarity_layers=familiarity_layers,
            sentences=sentences,
        )
        det.info = info
        det.on_dtype_mismatch = on_dtype_mismatch
        if model is not None:
            det.bind(model, tokenizer)
        return det
