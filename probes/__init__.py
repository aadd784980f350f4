"""howsure.probes: read a causal LM's hidden activations and fit linear probes on them.

::

    from howsure.probes import load_model, collect, layer_sweep, LogisticProbe
    model, tokenizer = load_model()                       # the embedded SmolLM2-135M
    coll = collect(model, tokenizer, items, layers=[10, 20])   # answers, labels, activations
    sweep = layer_sweep(coll.feature_matrices(), coll.labels)  # which layer and position
    probe = LogisticProbe().fit(coll.features(*sweep.best), coll.labels)

``models``
    Loading a model (the embedded GGUF, a folder, a hub id) and describing it.
``prompts``
    How a question or conversation becomes the prompt (one place for every reader).
``styles``
    The ways people send a question in a chat (system prompt, request, small talk, an
    earlier exchange), assigned to items balanced and deterministic.
``positions``
    Layers and token positions (``last_prompt``, ``last_answer``, ``mean_answer``,
    ``mean_last_answer``).
``hooks``
    Forward hooks on chosen blocks, removed on exit.
``distributed`` / ``threads``
    Collection sharded over ``torchrun`` / ``accelerate launch`` processes; the sweep's
    worker threads.
``inputs``
    Prompts checked, batches padded (also without a pad token), inputs on the input
    embedding's device.
``generate``
    The one generate-and-read core (:func:`generate_rows`): answers, per-token states
    and statistics from the same forward passes, for collection and serving alike.
``stepping``
    Continuous batching's step loop (:class:`StepBatch`): rows join a running
    generation between decoding steps and leave when they end, each read as alone
    (:func:`steppable` says which models it can step).
``spans``
    Sentences located in an answer's tokens, with their features (:func:`sentence_reads`).
``activations``
    Reading while generating (:func:`generate_and_read`) or teacher-forced
    (:func:`read_activations`).
``collect``
    :class:`Collection`: answers to a QA set, their labels and activations, cached.
``base`` / ``linear``
    The probes (:class:`LogisticProbe`, :class:`MassMeanProbe`), scikit-learn estimators.
``sweep``
    :func:`layer_sweep`: cross-validated AUROC at every layer and position.
``folds``
    :func:`group_folds`: folds that hold out whole sources or topics (choose for transfer).
``familiarity``
    :class:`Familiarity`: how far a question, as sent, lies from the training questions
    (its ``last_prompt`` state), and :func:`choose_familiarity` (layers chosen on topic
    folds).
``prompt_states``
    :func:`~howsure.probes.prompt_states.prompt_states`: cached prompt-only reads of
    ``last_prompt`` states.
"""

from __future__ import annotations

from howsure.core.lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_MODEL": "howsure.probes.models",
    "check_decoder_only": "howsure.probes.models",
    "context_length": "howsure.probes.models",
    "find_layers": "howsure.probes.models",
    "load_model": "howsure.probes.models",
    "model_fingerprint": "howsure.probes.models",
    "weights_fingerprint": "howsure.probes.models",
    "DEFAULT_INSTRUCTION": "howsure.probes.prompts",
    "ROLES": "howsure.probes.prompts",
    "check_messages": "howsure.probes.prompts",
    "question_messages": "howsure.probes.prompts",
    "question_prompt": "howsure.probes.prompts",
    "render_chat": "howsure.probes.prompts",
    "GenRow": "howsure.probes.generate",
    "RowReading": "howsure.probes.generate",
    "generate_rows": "howsure.probes.generate",
    "StepBatch": "howsure.probes.stepping",
    "steppable": "howsure.probes.stepping",
    "SENTENCE_STATS": "howsure.probes.spans",
    "SentenceTable": "howsure.probes.spans",
    "sentence_reads": "howsure.probes.spans",
    "forced_readings": "howsure.probes.activations",
    "CHAT_STYLES": "howsure.probes.styles",
    "CHATTER_TEMPLATES": "howsure.probes.styles",
    "REQUEST_TEMPLATES": "howsure.probes.styles",
    "STYLES": "howsure.probes.styles",
    "SYSTEM_PROMPTS": "howsure.probes.styles",
    "Style": "howsure.probes.styles",
    "assign_styles": "howsure.probes.styles",
    "chat_items": "howsure.probes.styles",
    "check_styles": "howsure.probes.styles",
    "style_messages": "howsure.probes.styles",
    "styled_conversations": "howsure.probes.styles",
    "ANSWER_POSITIONS": "howsure.probes.positions",
    "BASE_POSITIONS": "howsure.probes.positions",
    "POSITIONS": "howsure.probes.positions",
    "resolve_layers": "howsure.probes.positions",
    "resolve_positions": "howsure.probes.positions",
    "LayerCapture": "howsure.probes.hooks",
    "no_hooks_left": "howsure.probes.hooks",
    "GenerationResult": "howsure.probes.activations",
    "generate_and_read": "howsure.probes.activations",
    "read_activations": "howsure.probes.activations",
    "ANSWER_STATS": "howsure.probes.activations",
    "model_device": "howsure.probes.inputs",
    "pad_token_id": "howsure.probes.inputs",
    "Familiarity": "howsure.probes.familiarity",
    "UNFAMILIAR_BELOW": "howsure.probes.familiarity",
    "choose_familiarity": "howsure.probes.familiarity",
    "fit_familiarity": "howsure.probes.familiarity",
    "FOLD_SCHEMES": "howsure.probes.folds",
    "group_folds": "howsure.probes.folds",
    "Collection": "howsure.probes.collect",
    "concat": "howsure.probes.collect",
    "PROBES": "howsure.probes.linear",
    "LogisticProbe": "howsure.probes.linear",
    "MassMeanProbe": "howsure.probes.linear",
    "probe_from_state": "howsure.probes.linear",
    "SweepResult": "howsure.probes.sweep",
    "layer_sweep": "howsure.probes.sweep",
    "plot_sweep": "howsure.probes.sweep",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
