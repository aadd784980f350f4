"""howsure.plugin: the Detector artefact, its training, and the wrapper that uses it.

::

    import howsure
    model, tokenizer = howsure.load_model()
    chat = howsure.wrap(model, tokenizer, "howsure-out/train/detector")
    chat.generate("What is the capital of Peru?").text   # 'The model is 88% sure. The ...'
    for event in chat.events("What is 7 times 8?"):      # typed stream events
        ...

``detector``
    :class:`Detector`: probe + calibrator + reader settings, saved as safetensors + JSON.
``train``
    :func:`train_detector`: collect, sweep, fit, calibrate.
``generation``
    :class:`ConfidentGeneration` and the generation settings the wrapper accepts.
``events``
    Typed stream events (:class:`ConfidenceEvent`, :class:`TextEvent`, :class:`EndEvent`).
``confident_model``
    :class:`ConfidentModel`: answers with their confidence from the same forward pass,
    whole or streamed (also without a detector).
``wrapper``
    :func:`wrap`: a model (or pipeline) and a detector into a :class:`ConfidentModel`.
"""

from __future__ import annotations

from howsure.core.lazy import lazy_exports

_EXPORTS = {
    "Detector": "howsure.plugin.detector",
    "ReaderSettings": "howsure.plugin.detector",
    "check_fingerprint": "howsure.plugin.detector",
    "TrainResult": "howsure.plugin.train",
    "collect_splits": "howsure.plugin.train",
    "fit_detector": "howsure.plugin.train",
    "train_detector": "howsure.plugin.train",
    "DEFAULT_TEMPLATE": "howsure.plugin.generation",
    "ConfidentGeneration": "howsure.plugin.generation",
    "percent": "howsure.plugin.generation",
    "ConfidenceEvent": "howsure.plugin.events",
    "EndEvent": "howsure.plugin.events",
    "EventStream": "howsure.plugin.events",
    "StreamEvent": "howsure.plugin.events",
    "TextEvent": "howsure.plugin.events",
    "ConfidentModel": "howsure.plugin.confident_model",
    "wrap": "howsure.plugin.wrapper",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
