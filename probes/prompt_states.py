"""The ``last_prompt`` states of many prompts, read once and kept in the disk cache.

A familiarity model (:mod:`howsure.probes.familiarity`) is fitted on the training
questions *as the detector's reader sends them*, and measured on other questions sent
the same way: only the prompts' last states are needed, one prefill each (no answer).
:func:`prompt_states` reads them with :func:`~howsure.probes.activations.read_activations`
(the reading core training and serving share) and caches them under
``$HOWSURE_CACHE/prompt-states``, keyed by the model's weights fingerprint, the prompt
texts and the layers, so a second run reads nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from howsure.core.files import cache_dir, staged_files
from howsure.probes.activations import read_activations
from howsure.probes.models import fingerprint_key, model_fingerprint
from howsure.probes.positions import resolve_layers

__all__ = ["prompt_states"]

_FILE = "states.safetensors"


def prompt_states(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    layers: Sequence[int],
    batch_size: int = 16,
    progress: bool = True,
    cache: bool = True,
) -> dict[int, np.ndarray]:
    """``last_prompt`` states of rendered prompts at ``layers``.

    Parameters
    ----------
    model, tokenizer : transformers causal LM and its tokenizer
    texts : sequence of str, length n
        Rendered prompts (chat template applied, e.g. by ``Detector.render``).
    layers : sequence of int
    batch_size, progress : as :func:`~howsure.probes.activations.read_activations`
    cache : bool, default True
        Read from / write to ``$HOWSURE_CACHE/prompt-states``.

    Returns
    -------
    dict of int to numpy.ndarray of float32, shape (n, hidden_size)
    """
    layer_ids = resolve_layers(model, list(layers))
    if not texts:
        raise ValueError("no prompts to read; pass at least one")
    key_src = [fingerprint_key(model_fingerprint(model)), list(texts), layer_ids]
    key = hashlib.sha256(json.dumps(key_src).encode()).hexdigest()[:24]
    folder = cache_dir("prompt-states") / key if cache else None
    if folder is not None and (folder / _FILE).exists():
        try:
            found = load_file(str(folder / _FILE))
            return {la: found[f"L{la}"] for la in layer_ids}
        except (SafetensorError, KeyError, OSError):
            pass  # a damaged entry is read again
    acts = read_activations(
        model,
        tokenizer,
        list(texts),
        layers=layer_ids,
        positions=["last_prompt"],
        batch_size=batch_size,
        progress=progress,
    )
    out = {
        la: np.ascontiguousarray(acts[(la, "last_prompt")], dtype=np.float32) for la in layer_ids
    }
    if folder is not None:
        with staged_files(folder) as tmp:
            save_file({f"L{la}": v for la, v in out.items()}, str(tmp / _FILE))
    return out
