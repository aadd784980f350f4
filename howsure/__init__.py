"""howsure: calibrated confidence for Hugging Face chat models.

Public API (imported lazily, so ``import howsure`` stays fast)::

    model, tokenizer = howsure.load_model()            # embedded SmolLM2-135M-Instruct
    items = howsure.load_qa("builtin", split="train")  # built-in QA set
    coll = howsure.collect(model, tokenizer, items)    # answers, labels, activations
    howsure.label("The capital is Paris.", ["Paris"])  # -> True
    result = howsure.train_detector(model, tokenizer, limit=100)  # sweep, probe, calibrator
    det = howsure.Detector.load("howsure-out/train/detector", model=model, tokenizer=tokenizer)
    det.score(["What is the capital of Peru?"])         # -> array([P(correct)])
    chat = howsure.wrap(model, tokenizer, det)          # the plugin
    chat.generate("What is the capital of Peru?").text  # -> 'The model is 88% sure. The ...'
    for event in chat.events("What is 7 times 8?"):     # Confidence-, Text-, Sentence-, EndEvent
        ...

The rooms, from the bottom up (each imports only from those below it): ``howsure.core``
(shared helpers), ``howsure.qa`` (QA sets, the judge) and ``howsure.calibration``
(scores to probabilities), ``howsure.probes`` (models, activations, probes),
``howsure.plugin`` (the Detector, training, the wrapper), ``howsure.eval`` (reports),
and this facade with ``howsure.cli``, ``howsure.demo`` and ``howsure.server`` (``howsure
serve``: the OpenAI-compatible HTTP server).
"""

from __future__ import annotations

from howsure.core.lazy import lazy_exports
from howsure.core.version import __version__

_EXPORTS = {
    "load_model": "howsure.probes.models",
    "model_fingerprint": "howsure.probes.models",
    "QAItem": "howsure.qa.items",
    "load_qa": "howsure.qa.load",
    "label": "howsure.qa.judge",
    "label_all": "howsure.qa.judge",
    "normalize_answer": "howsure.qa.judge",
    "MatchJudge": "howsure.qa.judge",
    "read_activations": "howsure.probes.activations",
    "generate_and_read": "howsure.probes.activations",
    "POSITIONS": "howsure.probes.positions",
    "Collection": "howsure.probes.collect",
    "collect": "howsure.probes.collect",
    "LogisticProbe": "howsure.probes.linear",
    "MassMeanProbe": "howsure.probes.linear",
    "layer_sweep": "howsure.probes.sweep",
    "Detector": "howsure.plugin.detector",
    "Assessment": "howsure.plugin.detector",
    "Familiarity": "howsure.probes.familiarity",
    "recalibrate": "howsure.plugin.recalibrate",
    "shipped_detector_for": "howsure.plugin.defaults",
    "train_detector": "howsure.plugin.train",
    "wrap": "howsure.plugin.wrapper",
    "ConfidentModel": "howsure.plugin.confident_model",
    "ConfidentGeneration": "howsure.plugin.generation",
    "ConfidenceEvent": "howsure.plugin.events",
    "TextEvent": "howsure.plugin.events",
    "EndEvent": "howsure.plugin.events",
    "SentenceEvent": "howsure.plugin.events",
    "SentenceConfidence": "howsure.plugin.generation",
    "threshold_for_error_rate": "howsure.calibration.selective",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
