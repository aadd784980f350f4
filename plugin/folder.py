"""A detector folder's two files, written atomically and read with every check first.

``config.json`` (format, version, model fingerprint, reader, parts, metrics; the sha256
of the tensor file) and ``tensors.safetensors`` (the arrays; never pickle).
:func:`read_folder` does every check a folder allows without a model (present, valid
JSON, a howsure detector, a version this howsure reads, the checksum, the tensors
parse), so a broken detector is reported before any model is loaded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from howsure.core.files import staged_files
from howsure.core.state import json_default
from howsure.core.version import __version__

__all__ = ["CONFIG_FILE", "FORMAT", "FORMAT_VERSION", "TENSORS_FILE", "read_folder", "write_folder"]

FORMAT = "howsure-detector"
FORMAT_VERSION = 4
"""Version 2 added the optional stacked calibrator (``inputs``) and familiarity model;
version 3 the sentence detector (``sentences``) and the reader's ``styles``; version 4
the recalibrated calibrator (kind ``"recalibrated"``: a recalibration is the calibrator
chain's last link, where version 3 kept a separate ``recalibration_map``) and the
familiarity model read from the question (``familiarity.layers``; an older, answer-based
one is left out with a warning). Older folders still load."""
CONFIG_FILE = "config.json"
TENSORS_FILE = "tensors.safetensors"


def write_folder(folder: str | Path, tensors: Mapping[str, np.ndarray], config: Mapping) -> Path:
    """Write ``tensors`` and ``config`` (plus format, versions and the tensors' sha256)
    to a temporary folder, then move both into ``folder``: a crash never leaves a
    half-written detector."""
    from safetensors.numpy import save_file

    folder = Path(folder)
    with staged_files(folder) as tmp:
        save_file(dict(tensors), str(tmp / TENSORS_FILE), metadata={"format": FORMAT})
        digest = hashlib.sha256((tmp / TENSORS_FILE).read_bytes()).hexdigest()
        head = {"format": FORMAT, "format_version": FORMAT_VERSION, "howsure_version": __version__}
        full = head | {k: v for k, v in config.items() if k not in head}
        full["tensors_sha256"] = digest
        text = json.dumps(full, indent=2, default=json_default)
        (tmp / CONFIG_FILE).write_text(text, encoding="utf-8")
    return folder


def read_folder(folder: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(config, tensors)`` of a detector folder, after every check that needs no model.

    Raises
    ------
    ValueError
        Missing folder or files, a config that is not valid JSON or not a howsure
        detector's, a newer format version, a checksum that differs (truncated or
        changed tensors), or tensors that do not parse; each names the file and the fix.
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
    except SafetensorError as err:
        raise ValueError(f"corrupted detector in {folder}: {err!r}; retrain it") from err
    return config, tensors
