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
    detector has them, the calibration split's calibrated (out-of-fold) scores and
    labels (``calib.scores``, ``calib.labels``), from which :meth:`Detector.threshold_for`
    picks an abstention threshold. Folders without them (older ones) still load.

Loading checks the format version, the tensor file's checksum and, when a model is
given, that it matches the fingerprint, so a detector never scores a model it was not
fitted on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from howsure.calibration.calibrators import CALIBRATORS, calibrator_from_state
from howsure.calibration.selective import threshold_for_error_rate
from howsure.core.files import staged_files
from howsure.core.state import json_default
from howsure.core.version import __version__
from howsure.probes.activations import generate_and_read, read_activations
from howsure.probes.linear import PROBES, probe_from_state
from howsure.probes.models import model_fingerprint
from howsure.probes.positions import ANSWER_POSITIONS, POSITIONS
from howsure.probes.prompts import DEFAULT_INSTRUCTION, question_messages, render_chat

__all__ = [
    "CONFIG_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "TENSORS_FILE",
    "Detector",
    "Prompt",
    "ReaderSettings",
    "check_fingerprint",
    "check_prompts",
]

FORMAT = "howsure-detector"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
TENSORS_FILE = "tensors.safetensors"
_STRICT_FIELDS = ("model_type", "hidden_size", "num_layers", "vocab_size")

Prompt = str | Sequence[dict]
"""A question (str; the instruction is appended and the chat template applied) or a
conversation (list of ``{"role", "content"}`` messages)."""


def check_prompts(prompts: Any) -> list[Prompt]:
    """``prompts`` as a list, each a question (str) or a conversation (list of messages).

    Raises
    ------
    TypeError
        ``prompts`` is not a list (a single str or ``None`` included), or an entry is
        neither a str nor a list, naming its index.
    ValueError
        An empty list.
    """
    if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)):
        raise TypeError(
            "prompts must be a list of questions (str) or conversations (lists of "
            f"{{'role', 'content'}} messages), got {type(prompts).__name__}: {prompts!r}; "
            "wrap a single question in a list"
        )
    if len(prompts) == 0:
        raise ValueError("no prompts given; pass at least one question or conversation")
    for i, p in enumerate(prompts):
        if not isinstance(p, (str, list, tuple)):
            raise TypeError(
                f"prompt {i} must be a question (str) or a conversation (list of "
                f"{{'role', 'content'}} messages), got {type(p).__name__}: {p!r}"
            )
    return list(prompts)


@dataclass(frozen=True)
class ReaderSettings:
    """Where and how the detector reads the model.

    Attributes
    ----------
    layer : int
        Transformer block whose output is read (``0 .. n_layers-1``).
    position : {"last_prompt", "last_answer", "mean_answer", "mean_last_answer"}
    instruction : str
        Appended to a bare question before the chat template (see
        :mod:`howsure.probes.prompts`).
    max_new_tokens : int
        Answer length limit used when the detector generates answers itself.
    """

    layer: int
    position: str
    instruction: str = DEFAULT_INSTRUCTION
    max_new_tokens: int = 32

    def __post_init__(self) -> None:
        if self.position not in POSITIONS:
            raise ValueError(f"unknown position {self.position!r}; use one of {POSITIONS}")


def _kind_of(obj: Any, registry: dict[str, type], what: str) -> str:
    for name, cls in registry.items():
        if type(obj) is cls:
            return name
    raise TypeError(f"unsupported {what} {type(obj).__name__}; use one of {sorted(registry)}")


def _same_name(a: str, b: str) -> bool:
    """Same model name: equal, or the same last path component (hub id vs local copy)."""
    if a == b:
        return True
    tail_a, tail_b = a.rstrip("/").rsplit("/", 1)[-1], b.rstrip("/").rsplit("/", 1)[-1]
    return bool(tail_a) and tail_a.lower() == tail_b.lower()


def check_fingerprint(expected: dict, model: Any) -> None:
    """Raise ``ValueError`` when ``model`` does not match the ``expected`` fingerprint.

    Model type, hidden size, layer count and vocabulary size must be equal; names must be
    equal or share their last path component (a hub id and a local copy of it).
    """
    actual = model_fingerprint(model)
    diffs = [
        f"{k}: detector {expected.get(k)!r}, model {actual[k]!r}"
        for k in _STRICT_FIELDS
        if expected.get(k) != actual[k]
    ]
    if not _same_name(str(expected.get("name_or_path", "")), actual["name_or_path"]):
        diffs.append(
            f"name_or_path: detector {expected.get('name_or_path')!r}, "
            f"model {actual['name_or_path']!r}"
        )
    if diffs:
        raise ValueError(
            "this detector was fitted on another model (" + "; ".join(diffs) + "). Load the "
            "model it was fitted on, or train a detector for this model with `howsure train`"
        )


@dataclass
class Detector:
    """Probe + calibrator + reader settings: calibrated P(answer correct) for a model.

    Attributes
    ----------
    probe : fitted probe from :mod:`howsure.probes.linear`
    calibrator : fitted calibrator from :mod:`howsure.calibration`
    reader : ReaderSettings
    fingerprint : dict
        :func:`howsure.probes.models.model_fingerprint` of the model it was fitted on.
    info : dict
        Training-data summary, metrics and anything else JSON-able worth keeping.
    calibration_scores : numpy.ndarray of float64, shape (m,), optional
        Calibrated scores of the calibration split (out-of-fold, see
        :func:`howsure.plugin.train.fit_detector`); ``None`` for detectors saved
        without them.
    calibration_labels : numpy.ndarray of bool, shape (m,), optional
        Their correctness labels.
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

    def __post_init__(self) -> None:
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

    def score_features(self, features: np.ndarray) -> np.ndarray:
        """Calibrated P(correct) from activations.

        Parameters
        ----------
        features : numpy.ndarray, shape (n, hidden_size)
            Activations at the detector's layer and position (``(n, 2 * hidden_size)``
            for ``mean_last_answer``).

        Returns
        -------
        numpy.ndarray, shape (n,)
            Calibrated probability that each answer is correct (higher = surer).
        """
        raw = self.probe.confidence(np.asarray(features, dtype=np.float64))
        return np.asarray(self.calibrator.predict(raw), dtype=np.float64)

    def threshold_for(self, target_error: float) -> float:
        """Abstention threshold for an error rate of at most ``target_error``.

        The lowest confidence threshold whose accepted answers (``confidence >=
        threshold``) had an error rate at most ``target_error`` on the calibration
        split (see :func:`howsure.calibration.selective.threshold_for_error_rate`).

        Raises
        ------
        ValueError
            When the detector has no calibration scores (saved by an older howsure;
            retrain it), or the target is unreachable on the calibration split.
        """
        if self.calibration_scores is None or self.calibration_labels is None:
            raise ValueError(
                "this detector has no calibration scores (it was saved by an older howsure); "
                "retrain it with `howsure train`, or give the threshold itself (abstain_below=)"
            )
        return threshold_for_error_rate(
            self.calibration_scores, self.calibration_labels, target_error
        )

    def bind(self, model: Any, tokenizer: Any = None) -> Detector:
        """Attach a model (and tokenizer) after checking it matches; returns self."""
        check_fingerprint(self.fingerprint, model)
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
        check_fingerprint(self.fingerprint, model)
        texts = self.render(prompts, tokenizer)
        kw = dict(layers=[self.reader.layer], positions=[self.reader.position])
        if self.needs_answer and answers is None:
            acts = generate_and_read(
                model,
                tokenizer,
                texts,
                max_new_tokens=self.reader.max_new_tokens,
                batch_size=batch_size,
                progress=progress,
                **kw,
            ).activations
        else:
            acts = read_activations(
                model,
                tokenizer,
                texts,
                answers if self.needs_answer else None,
                batch_size=batch_size,
                progress=progress,
                **kw,
            )
        return self.score_features(acts[(self.reader.layer, self.reader.position)])

    # -- files -------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write ``config.json`` and ``tensors.safetensors`` to ``folder``.

        Both files are written to a temporary folder first and then moved into place,
        so a crash never leaves a half-written detector.
        """
        from safetensors.numpy import save_file

        probe_arrays, probe_params = self.probe.get_state()
        cal_arrays, cal_params = self.calibrator.get_state()
        tensors = {f"probe.{k}": np.ascontiguousarray(v) for k, v in probe_arrays.items()}
        tensors |= {f"calibrator.{k}": np.ascontiguousarray(v) for k, v in cal_arrays.items()}
        if self.calibration_scores is not None and self.calibration_labels is not None:
            tensors["calib.scores"] = np.ascontiguousarray(self.calibration_scores, np.float64)
            tensors["calib.labels"] = np.ascontiguousarray(self.calibration_labels, np.uint8)
        folder = Path(folder)
        with staged_files(folder) as tmp:
            save_file(tensors, str(tmp / TENSORS_FILE), metadata={"format": FORMAT})
            digest = hashlib.sha256((tmp / TENSORS_FILE).read_bytes()).hexdigest()
            config = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "howsure_version": __version__,
                "model": self.fingerprint,
                "reader": asdict(self.reader),
                "probe": {"kind": _kind_of(self.probe, PROBES, "probe"), "params": probe_params},
                "calibrator": {
                    "kind": _kind_of(self.calibrator, CALIBRATORS, "calibrator"),
                    "params": cal_params,
                },
                "tensors_sha256": digest,
                **self.info,
            }
            text = json.dumps(config, indent=2, default=json_default)
            (tmp / CONFIG_FILE).write_text(text, encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path, *, model: Any = None, tokenizer: Any = None) -> Detector:
        """Read a detector folder; with ``model``, refuse it unless it matches.

        Raises
        ------
        ValueError
            Missing, corrupted or truncated files; a newer format version; a model that
            does not match the fingerprint.
        """
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        folder = Path(folder)
        config_path, tensors_path = folder / CONFIG_FILE, folder / TENSORS_FILE
        if not folder.is_dir():
            raise ValueError(f"detector folder {str(folder)!r} does not exist")
        missing = [p.name for p in (config_path, tensors_path) if not p.is_file()]
        if missing:
            raise ValueError(
                f"{str(folder)!r} is not a complete detector: missing {missing}; "
                "train it again with `howsure train`"
            )
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"corrupted {config_path}: not valid JSON ({err})") from err
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            raise ValueError(f"{config_path} is not a howsure detector config")
        version = config.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValueError(
                f"{folder} has detector format version {version!r}, but this howsure "
                f"({__version__}) reads up to {FORMAT_VERSION}; upgrade howsure"
            )
        blob = tensors_path.read_bytes()
        if hashlib.sha256(blob).hexdigest() != config.get("tensors_sha256"):
            raise ValueError(
                f"{tensors_path} is corrupted or truncated (checksum differs from config.json); "
                "copy the detector folder again or retrain it"
            )
        try:
            tensors = load_file(str(tensors_path))
            probe = probe_from_state(
                config["probe"]["kind"],
                _prefixed(tensors, "probe."),
                config["probe"]["params"],
            )
            calibrator = calibrator_from_state(
                config["calibrator"]["kind"],
                _prefixed(tensors, "calibrator."),
                config["calibrator"]["params"],
            )
            reader = ReaderSettings(**config["reader"])
            fingerprint = dict(config["model"])
            calib_scores = tensors.get("calib.scores")
            calib_labels = tensors.get("calib.labels")
            if (calib_scores is None) != (calib_labels is None) or (
                calib_scores is not None and calib_scores.shape != calib_labels.shape
            ):
                raise KeyError("calib.scores and calib.labels do not match")
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
        }
        info = {k: v for k, v in config.items() if k not in known}
        det = cls(
            probe=probe,
            calibrator=calibrator,
            reader=reader,
            fingerprint=fingerprint,
            calibration_scores=calib_scores,
            calibration_labels=None if calib_labels is None else calib_labels.astype(bool),
        )
        det.info = info
        if model is not None:
            det.bind(model, tokenizer)
        return det


def _prefixed(tensors: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
