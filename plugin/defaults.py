"""Detectors shipped inside the package, so a fresh install needs no training.

``plugin/data/detectors/<name>/`` holds one detector folder per model (safetensors +
JSON, as :meth:`Detector.save` writes them). :func:`shipped_detector_for` finds the one
whose fingerprint matches a loaded model; :func:`howsure.wrap`, ``howsure chat`` and
``howsure demo`` use it when no detector is given. ``bash scripts/main.sh`` re-creates
the embedded model's (``DEFAULT_DETECTOR_NAME``) and says whether its numbers match.
"""

from __future__ import annotations

import json
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

from howsure.plugin.detector import CONFIG_FILE, check_fingerprint

__all__ = ["DEFAULT_DETECTOR_NAME", "shipped_detector_for", "shipped_detectors"]

DEFAULT_DETECTOR_NAME = "smollm2-135m-instruct"
"""The shipped detector of the embedded default model."""


def shipped_detectors() -> dict[str, Path]:
    """Name to folder of every detector shipped with howsure."""
    root = Path(str(resources.files("howsure.plugin").joinpath("data", "detectors")))
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if (p / CONFIG_FILE).is_file()}


def shipped_detector_for(model: Any) -> Path | None:
    """The shipped detector folder fitted on ``model`` (matching fingerprint), or None."""
    for folder in shipped_detectors().values():
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        try:
            with warnings.catch_warnings():  # a dtype warning comes when it is bound
                warnings.simplefilter("ignore")
                check_fingerprint(config.get("model", {}), model)
        except ValueError:
            continue
        return folder
    return None
