"""What a detector checks and returns: prompts, model fingerprints, calibrator inputs,
familiarity models, and :class:`Assessment` (confidence with familiarity)."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from howsure.probes.activations import ANSWER_STATS
from howsure.probes.familiarity import UNFAMILIAR_BELOW
from howsure.probes.models import SAMPLE_PER_TENSOR, model_fingerprint

__all__ = [
    "Assessment",
    "DtypeMismatch",
    "Prompt",
    "check_calibrator_inputs",
    "check_familiarity",
    "check_fingerprint",
    "check_inputs",
    "check_prompts",
    "input_columns",
    "probe_id",
]

_STRICT_FIELDS = ("model_type", "hidden_size", "num_layers", "vocab_size")

DtypeMismatch = Literal["warn", "error"]
"""What a detector does on a model whose dtype differs from the one it was fitted in."""

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


def _same_name(a: str, b: str) -> bool:
    """Same model name: equal, or the same last path component (hub id vs local copy)."""
    if a == b:
        return True
    tail_a, tail_b = a.rstrip("/").rsplit("/", 1)[-1], b.rstrip("/").rsplit("/", 1)[-1]
    return bool(tail_a) and tail_a.lower() == tail_b.lower()


def _same_values(expected: Sequence[float], actual: Sequence[float], dtypes: Sequence[str]) -> bool:
    """The weight samples agree to the precision of the coarser of two dtypes."""
    eps = max(
        float(torch.finfo(getattr(torch, d)).eps)
        if getattr(torch, d, None) is not None and getattr(torch, d).is_floating_point
        else 1e-2
        for d in dtypes
    )
    a, b = np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=eps, atol=1e-6))


def check_fingerprint(
    expected: dict, model: Any, *, on_dtype_mismatch: DtypeMismatch = "warn"
) -> None:
    """Raise ``ValueError`` when ``model`` is not the model of the ``expected`` fingerprint.

    Model type, hidden size, layer count and vocabulary size must be equal, and the
    weights the fingerprint hashed (:func:`howsure.probes.models.weights_fingerprint`)
    the same: under any name or path. The same weights in another dtype (a float32
    detector on a bfloat16 model) move the confidences a little: a ``UserWarning``, or
    with ``on_dtype_mismatch="error"`` a ``ValueError``. So do the weights quantized at
    loading (bitsandbytes 8- or 4-bit), whose quantized tensors cannot be compared: the
    input embedding matrix (never quantized) must then match. A fingerprint without weights
    (saved by an older howsure) is matched by name: equal, or the same last path
    component (a hub id and a local copy of it).
    """
    if on_dtype_mismatch not in ("warn", "error"):
        raise ValueError(f"on_dtype_mismatch must be 'warn' or 'error', got {on_dtype_mismatch!r}")
    actual = model_fingerprint(model)
    diffs = [
        f"{k}: detector {expected.get(k)!r}, model {actual[k]!r}"
        for k in _STRICT_FIELDS
        if expected.get(k) != actual[k]
    ]
    weights = expected.get("weights")
    dtypes = (str(expected.get("dtype", actual["dtype"])), actual["dtype"])
    quantized = (expected.get("quantization"), actual.get("quantization"))
    other_dtype = dtypes[0] != dtypes[1] or quantized[0] != quantized[1]
    runs = [d if q is None else f"{d} ({q})" for d, q in zip(dtypes, quantized, strict=True)]
    if not diffs and isinstance(weights, dict):
        mine = actual["weights"]["sample"]
        if quantized[0] != quantized[1]:  # quantized tensors differ: the embedding alone
            same = _same_values(
                weights.get("sample", [])[:SAMPLE_PER_TENSOR], mine[:SAMPLE_PER_TENSOR], dtypes
            )
        elif other_dtype:
            same = _same_values(weights.get("sample", []), mine, dtypes)
        else:
            same = weights.get("sha256") == actual["weights"]["sha256"]
        if not same:
            diffs.append(
                f"weights: the detector's model ({expected.get('name_or_path')!r}, "
                f"{runs[0]}) has other weights than this one "
                f"({actual['name_or_path']!r}, {runs[1]})"
            )
    elif not diffs and not _same_name(
        str(expected.get("name_or_path", "")), actual["name_or_path"]
    ):
        diffs.append(
            f"name_or_path: detector {expected.get('name_or_path')!r}, "
            f"model {actual['name_or_path']!r}"
        )
    if diffs:
        raise ValueError(
            "this detector was fitted on another model (" + "; ".join(diffs) + "). Load the "
            "model it was fitted on, or train a detector for this model with `howsure train`"
        )
    if other_dtype and "dtype" in expected:
        load = f"with dtype={dtypes[0]!r} (--dtype {dtypes[0]})"
        if quantized[0] != quantized[1]:
            load = "unquantized" if quantized[0] is None else f"quantized {quantized[0]}"
        message = (
            f"this detector was fitted on the model in {runs[0]}, and the model now runs "
            f"in {runs[1]}: its confidences may move by several points. Load the model "
            f"{load}, or train a detector on the model as it runs now"
        )
        if on_dtype_mismatch == "error":
            raise ValueError(message)
        warnings.warn(message, UserWarning, stacklevel=3)


def check_inputs(inputs: Sequence[str], position: str) -> tuple[str, ...]:
    """``inputs`` as a tuple, checked: ``"probe"`` first, then answer statistics
    (:data:`~howsure.probes.activations.ANSWER_STATS`), which a score-before-answering
    (``last_prompt``) detector cannot read."""
    inputs = tuple(inputs)
    if not inputs or inputs[0] != "probe" or any(k not in ANSWER_STATS for k in inputs[1:]):
        raise ValueError(f"inputs must be 'probe' followed by any of {ANSWER_STATS}; got {inputs}")
    if position == "last_prompt" and len(inputs) > 1:
        raise ValueError(
            f"a last_prompt detector scores before the answer exists, so it cannot read the "
            f"answer's statistics {list(inputs[1:])}; use inputs=('probe',)"
        )
    return inputs


def check_calibrator_inputs(calibrator: Any, inputs: Sequence[str]) -> None:
    """``ValueError`` unless ``calibrator`` reads one column per name of ``inputs``."""
    n_in = getattr(calibrator, "n_features_in_", len(inputs))
    if n_in != len(inputs):
        raise ValueError(
            f"inputs {tuple(inputs)!r} are {len(inputs)} column(s), but the calibrator "
            f"({type(calibrator).__name__}) reads {n_in}; several inputs need a "
            "StackedCalibrator, the probe alone a one-input calibrator"
        )


def input_columns(
    probe: Any, inputs: Sequence[str], features: np.ndarray, stats: dict | None
) -> np.ndarray:
    """What a detector's calibrator reads, shape (n, len(inputs)): one column per input.

    The inputs decide the columns: ``"probe"`` is the probe's P(correct) when it is the
    only input (a one-input calibrator's score), its log-odds when answer statistics are
    stacked with it; each statistic (``stats[name]``, shape (n,)) is its own column.

    Raises
    ------
    ValueError
        A statistic of ``inputs`` is missing from ``stats``.
    """
    X = np.asarray(features, dtype=np.float64)
    missing = [k for k in inputs[1:] if stats is None or k not in stats]
    if missing:
        raise ValueError(
            f"this detector also reads the answer's token statistics {list(inputs[1:])}; "
            f"missing {missing}. Score through Detector.score or the wrapper, which read "
            "them from the same generation"
        )
    read = probe.confidence if len(inputs) == 1 else probe.decision_function
    columns = [np.asarray(read(X), dtype=np.float64).ravel()]
    columns += [np.asarray(stats[k], dtype=np.float64).ravel() for k in inputs[1:]]
    return np.column_stack(columns)


@dataclass(frozen=True)
class Assessment:
    """Confidences of several answers, with how familiar each question looks.

    Attributes
    ----------
    confidence : numpy.ndarray of float64, shape (n,)
        Calibrated P(answer correct), higher = surer.
    familiarity : numpy.ndarray of float64, shape (n,), or None
        Rank of the question's distance from the training rows among theirs (1 =
        typical, 0 = farther out than all of them; see
        :mod:`howsure.probes.familiarity`); ``None`` for a detector without a
        familiarity model.
    """

    confidence: np.ndarray
    familiarity: np.ndarray | None

    @property
    def unfamiliar(self) -> np.ndarray:
        """Boolean, shape (n,): familiarity under ``UNFAMILIAR_BELOW`` (all False without
        a familiarity model): the confidence is less reliable there."""
        if self.familiarity is None:
            return np.zeros(self.confidence.shape, dtype=bool)
        return self.familiarity < UNFAMILIAR_BELOW


def probe_id(probe: Any) -> str:
    """Short sha256 of a fitted probe's arrays: what a familiarity model is tied to."""
    arrays, _ = probe.get_state()
    h = hashlib.sha256()
    for name in sorted(arrays):
        h.update(name.encode())
        h.update(np.ascontiguousarray(arrays[name], dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def check_familiarity(expected_probe_id: Any, probe: Any, where: Any) -> None:
    """``ValueError`` unless a familiarity model was fitted with this very probe.

    A familiarity model ranks distances among the training rows of *its* detector; moved
    into another detector's folder it would rank against the wrong rows.
    """
    actual = probe_id(probe)
    if expected_probe_id != actual:
        raise ValueError(
            f"the familiarity model in {where} belongs to another detector (probe "
            f"{expected_probe_id!r}, this detector's probe is {actual!r}); copy the whole "
            "detector folder, or refit it with `howsure train`"
        )
