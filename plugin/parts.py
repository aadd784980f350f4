"""The stored parts of a detector: its reader settings and its estimators' states.

:class:`ReaderSettings` says where and how a detector reads the model; the helpers turn
a probe and a calibrator (and the calibration rows) into safetensors arrays and JSON
entries and back. :class:`~howsure.plugin.detector.Detector` stores its own parts and
its sentence detector's with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from howsure.calibration.recalibrated import (
    RecalibratedCalibrator,
    any_calibrator_from_state,
    calibrator_kind,
)
from howsure.probes.linear import PROBES, probe_from_state
from howsure.probes.positions import POSITIONS
from howsure.probes.prompts import DEFAULT_INSTRUCTION

__all__ = [
    "PART_KEYS",
    "ReaderSettings",
    "parts_from",
    "parts_state",
    "prefixed",
    "with_recalibration",
]


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
    styles : tuple of str
        The prompt styles of its training rows (:mod:`howsure.probes.styles`); empty
        for the short style only (question + ``instruction``). A detector fitted on
        chat styles has ``instruction=""``: a bare question is sent as given, as the
        server sends messages, so every front end sends the same messages.
    """

    layer: int
    position: str
    instruction: str = DEFAULT_INSTRUCTION
    max_new_tokens: int = 32
    styles: tuple[str, ...] = ()

    @classmethod
    def for_collection(cls, meta: dict, *, layer: int, position: str) -> ReaderSettings:
        """Settings reading ``(layer, position)`` the way a collection with this ``meta``
        was collected (its instruction and answer length)."""
        styles = tuple(meta.get("styles") or ())
        return cls(
            layer=layer,
            position=position,
            instruction="" if styles else meta.get("instruction", DEFAULT_INSTRUCTION),
            max_new_tokens=int(meta.get("max_new_tokens", 32)),
            styles=styles,
        )

    def __post_init__(self) -> None:
        object.__setattr__(self, "styles", tuple(self.styles))
        if self.position not in POSITIONS:
            raise ValueError(f"unknown position {self.position!r}; use one of {POSITIONS}")


def _kind_of(obj: Any, registry: dict[str, type], what: str) -> str:
    for name, cls in registry.items():
        if type(obj) is cls:
            return name
    raise TypeError(f"unsupported {what} {type(obj).__name__}; use one of {sorted(registry)}")


def parts_state(
    probe: Any, calibrator: Any, scores: np.ndarray | None, labels: np.ndarray | None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The probe's, the calibrator's and the calibration rows' arrays (by tensor name)
    and their config entries."""
    probe_arrays, probe_params = probe.get_state()
    cal_arrays, cal_params = calibrator.get_state()
    tensors = {f"probe.{k}": np.ascontiguousarray(v) for k, v in probe_arrays.items()}
    tensors |= {f"calibrator.{k}": np.ascontiguousarray(v) for k, v in cal_arrays.items()}
    if scores is not None and labels is not None:
        tensors["calib.scores"] = np.ascontiguousarray(scores, np.float64)
        tensors["calib.labels"] = np.ascontiguousarray(labels, np.uint8)
    parts = {
        "probe": {"kind": _kind_of(probe, PROBES, "probe"), "params": probe_params},
        "calibrator": {"kind": calibrator_kind(calibrator), "params": cal_params},
    }
    return tensors, parts


PART_KEYS = {"probe", "calibrator", "reader", "inputs"}


def parts_from(config: dict, tensors: dict[str, np.ndarray]) -> tuple[Any, Any, Any, Any]:
    """Probe, calibrator, calibration scores and labels from their config entries and
    tensors (:func:`parts_state`); ``KeyError`` when something is missing."""
    probe = probe_from_state(
        config["probe"]["kind"], prefixed(tensors, "probe."), config["probe"]["params"]
    )
    calibrator = any_calibrator_from_state(
        config["calibrator"]["kind"],
        prefixed(tensors, "calibrator."),
        config["calibrator"]["params"],
    )
    scores, labels = tensors.get("calib.scores"), tensors.get("calib.labels")
    if (scores is None) != (labels is None) or (
        scores is not None and scores.shape != labels.shape
    ):
        raise KeyError("calib.scores and calib.labels do not match")
    return probe, calibrator, scores, None if labels is None else labels.astype(bool)


def with_recalibration(calibrator: Any, entry: Any, folder: Path) -> Any:
    """``calibrator``, chained with the recalibration map of an older detector folder.

    Folders saved before the recalibrated chain kept a recalibration as a separate
    ``recalibration_map`` entry of ``config.json`` (``{"slope", "intercept"}``); it
    becomes a :class:`~howsure.calibration.recalibrated.RecalibratedCalibrator` around
    the folder's calibrator, with the same scores. Without the entry (``None``),
    ``calibrator`` is returned as it is.
    """
    if entry is None:
        return calibrator
    try:
        slope, intercept = float(entry["slope"]), float(entry["intercept"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"corrupted recalibration in {folder}: {entry!r}; retrain it") from err
    return RecalibratedCalibrator.from_map(calibrator, slope=slope, intercept=intercept)


def prefixed(tensors: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
