"""howsure: calibrated confidence for Hugging Face chat models.

Public API (imported lazily, so ``import howsure`` stays fast)::

    model, tokenizer = howsure.load_model()            # embedded SmolLM2-135M-Instruct
    items = howsure.load_qa("builtin", split="train")  # built-in QA set
    coll = howsure.collect(model, tokenizer, items)    # answers, labels, activations
    howsure.label("The capital is Paris.", ["Paris"])  # -> True
    result = howsure.train_detector(model, tokenizer)   # sweep, probe, calibrator
    det = howsure.Detector.load("howsure-out/train/detector", model=model, tokenizer=tokenizer)
    det.score(["What is the capital of Peru?"])         # -> array([P(correct)])
    chat = howsure.wrap(model, tokenizer, det)          # the plugin
    chat.generate("What is the capital of Peru?").text  # -> 'The model is 83% sure. Lima'
"""

from __future__ import annotations

import importlib
from typing import Any

from howsure._version import __version__

_EXPORTS = {
    "load_model": "howsure.probes.models",
    "model_fingerprint": "howsure.probes.models",
    "QAItem": "howsure.probes.qa_data",
    "load_qa": "howsure.probes.qa_data",
    "label": "howsure.probes.labels",
    "label_all": "howsure.probes.labels",
    "normalize_answer": "howsure.probes.labels",
    "MatchJudge": "howsure.probes.labels",
    "read_activations": "howsure.probes.activations",
    "generate_and_read": "howsure.probes.activations",
    "POSITIONS": "howsure.probes.activations",
    "Collection": "howsure.probes.collect",
    "collect": "howsure.probes.collect",
    "LogisticProbe": "howsure.probes.linear",
    "MassMeanProbe": "howsure.probes.linear",
    "layer_sweep": "howsure.probes.sweep",
    "Detector": "howsure.plugin.detector",
    "train_detector": "howsure.plugin.train",
    "wrap": "howsure.plugin.wrapper",
    "ConfidentModel": "howsure.plugin.wrapper",
    "ConfidentGeneration": "howsure.plugin.wrapper",
    "threshold_for_error_rate": "howsure.calibration.selective",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'howsure' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
