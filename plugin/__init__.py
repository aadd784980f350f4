"""howsure.plugin: the Detector artefact, its training, and the wrapper that uses it.

::

    import howsure
    model, tokenizer = howsure.load_model()
    chat = howsure.wrap(model, tokenizer)   # the detector shipped for the embedded model
    chat.generate("What is the capital of Peru?").text   # 'The model is 75% sure. The ...'
    for event in chat.events("What is 7 times 8?"):      # typed stream events
        ...

``detector``
    :class:`Detector`: probe + calibrator + reader settings, saved as safetensors + JSON.
``parts``
    The detector's stored parts: :class:`ReaderSettings` and its estimators' states.
``checks``
    What a detector checks and returns: prompts, fingerprints, inputs, :class:`Assessment`.
``rows``
    :func:`collect_splits`, :func:`collect_chat_splits`, :func:`collect_code_splits`:
    the short-style, chat-style and code-task rows of each split (disk-cached).
``train``
    :func:`train_detector`: collect, grouped sweep, fit, calibrate.
``grouped``
    :func:`fit_grouped_detector`: the probe, calibrated on grouped out-of-fold scores
    (stacked with the answer's token statistics), and a familiarity model.
``familiar``
    :func:`fit_reader_familiarity`: the familiarity model fitted on the training
    questions as the detector's reader sends them.
``folder``
    A detector folder's files: written atomically, read with every check first.
``sentences``
    Sentence confidences: the sentence detector's training rows and fit, and each
    sentence of an answer with its calibrated confidence.
``recalibrate``
    :func:`recalibrate`: refit only the calibration on a user's own labelled rows.
``defaults``
    The detectors shipped in the package (:func:`shipped_detector_for`).
``generation``
    :class:`ConfidentGeneration` and the generation settings the wrapper accepts.
``batch``
    :func:`run_rows`: one ``generate`` for several :class:`Prepared` requests, each
    :class:`Row` with its own sink, stop flag and length (the wrapper's one generation
    path; ``howsure serve`` batches through it).
``continuous``
    :class:`RunningRows`: the wrapper's rows joining and leaving one running
    generation (continuous batching, ``howsure serve``), read as :func:`run_rows` reads.
``events``
    Typed stream events (:class:`ConfidenceEvent`, :class:`TextEvent`,
    :class:`SentenceEvent`, :class:`EndEvent`),
    the :class:`EventDecoder` every consumer renders them with, and :class:`TextView`.
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
    "ReaderSettings": "howsure.plugin.parts",
    "check_fingerprint": "howsure.plugin.detector",
    "Assessment": "howsure.plugin.detector",
    "STACKED_INPUTS": "howsure.plugin.grouped",
    "fit_grouped_detector": "howsure.plugin.grouped",
    "fit_reader_familiarity": "howsure.plugin.familiar",
    "recalibrate": "howsure.plugin.recalibrate",
    "shipped_detector_for": "howsure.plugin.defaults",
    "shipped_detectors": "howsure.plugin.defaults",
    "TrainResult": "howsure.plugin.train",
    "collect_chat_splits": "howsure.plugin.rows",
    "collect_code_splits": "howsure.plugin.rows",
    "collect_splits": "howsure.plugin.rows",
    "mixed_rows": "howsure.plugin.rows",
    "train_detector": "howsure.plugin.train",
    "DEFAULT_TEMPLATE": "howsure.plugin.generation",
    "ConfidentGeneration": "howsure.plugin.generation",
    "SentenceConfidence": "howsure.plugin.generation",
    "attach_sentence_detector": "howsure.plugin.sentences",
    "fit_sentence_detector": "howsure.plugin.sentences",
    "sentence_collection": "howsure.plugin.sentences",
    "sentence_confidences": "howsure.plugin.sentences",
    "percent": "howsure.plugin.generation",
    "Prepared": "howsure.plugin.batch",
    "Row": "howsure.plugin.batch",
    "run_rows": "howsure.plugin.batch",
    "RunningRows": "howsure.plugin.continuous",
    "ConfidenceEvent": "howsure.plugin.events",
    "EventDecoder": "howsure.plugin.events",
    "TextView": "howsure.plugin.events",
    "EndEvent": "howsure.plugin.events",
    "SentenceEvent": "howsure.plugin.events",
    "EventStream": "howsure.plugin.events",
    "StreamEvent": "howsure.plugin.events",
    "TextEvent": "howsure.plugin.events",
    "ConfidentModel": "howsure.plugin.confident_model",
    "wrap": "howsure.plugin.wrapper",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
