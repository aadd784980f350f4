"""Tiny random-weight models of other architectures, saved to folders (test builders).

Multimodal chat models (Gemma-3, Qwen2-VL, LLaVA, Llama 3.2 Vision) whose language
model reads a text chat, and an encoder-decoder model (T5) that howsure refuses. Each
builder writes weights, config and a byte-level BPE tokenizer with a chat template; the
vocabulary is sized to the tokenizer and the image tokens are among its special tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import CHAT_TEMPLATE

IMAGE_TOKENS = ["<image>", "<start_of_image>", "<end_of_image>", "<|video_pad|>", "<|image|>"]
"""Special tokens the multimodal configs point at (ids inside the vocabulary)."""


def make_tokenizer() -> Any:
    """A byte-level BPE tokenizer (about 400 tokens) with the chat template and the
    image tokens of :data:`IMAGE_TOKENS`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|im_end|>", "<|im_start|>", "<unk>", *IMAGE_TOKENS]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [
        "What is the capital of France? Reply with just the answer.",
        "The capital of Peru is Lima. The currency of Japan is the yen.",
        "user assistant system 0 1 2 3 4 5 6 7 8 9 + - plus minus times",
    ] * 20
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|im_end|>", unk_token="<unk>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _ids(tokenizer: Any) -> dict[str, int]:
    return {t: tokenizer.convert_tokens_to_ids(t) for t in ["<|im_end|>", *IMAGE_TOKENS]}


def _text(tokenizer: Any, **extra: Any) -> dict:
    """The text model's settings shared by every builder (hidden 32, 3 layers)."""
    eos = tokenizer.eos_token_id
    base = dict(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        eos_token_id=eos,
        pad_token_id=eos,
        bos_token_id=None,
        initializer_range=0.3,
    )
    return {**base, **extra}


def _vision(**extra: Any) -> dict:
    """A one-layer vision tower of width 32."""
    return dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        **extra,
    )


def _config(kind: str, tokenizer: Any) -> Any:
    import transformers as tf

    ids = _ids(tokenizer)
    if kind == "gemma3":
        return tf.Gemma3Config(
            text_config=tf.Gemma3TextConfig(**_text(tokenizer, head_dim=8, sliding_window=16)),
            vision_config=tf.SiglipVisionConfig(**_vision(image_size=28, patch_size=14)),
            mm_tokens_per_image=4,
            image_token_index=ids["<image>"],
            boi_token_index=ids["<start_of_image>"],
            eoi_token_index=ids["<end_of_image>"],
            tie_word_embeddings=True,
        )
    if kind == "qwen2_vl":
        text = _text(tokenizer, rope_scaling={"type": "mrope", "mrope_section": [1, 1, 2]})
        return tf.Qwen2VLConfig(
            text_config=tf.Qwen2VLTextConfig(**text),
            vision_config=dict(
                depth=1, embed_dim=32, hidden_size=32, num_heads=2, patch_size=14, in_channels=3
            ),
            image_token_id=ids["<image>"],
            video_token_id=ids["<|video_pad|>"],
            vision_start_token_id=ids["<start_of_image>"],
            vision_end_token_id=ids["<end_of_image>"],
            tie_word_embeddings=True,
        )
    if kind == "llava":
        return tf.LlavaConfig(
            text_config=tf.LlamaConfig(**_text(tokenizer)),
            vision_config=tf.CLIPVisionConfig(**_vision(image_size=28, patch_size=14)),
            image_token_index=ids["<image>"],
            projector_hidden_act="gelu",
            vision_feature_layer=-1,
            image_seq_length=4,
        )
    if kind == "mllama":
        text = _text(tokenizer, num_hidden_layers=4, cross_attention_layers=[1], bos_token_id=0)
        return tf.MllamaConfig(
            text_config=tf.MllamaTextConfig(**text),
            vision_config=tf.MllamaVisionConfig(
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=1,
                num_global_layers=1,
                num_attention_heads=2,
                image_size=28,
                patch_size=14,
                vision_output_dim=64,
                intermediate_layers_indices=[0],
                max_num_tiles=1,
                supported_aspect_ratios=[[1, 1]],
            ),
            image_token_index=ids["<|image|>"],
        )
    if kind == "t5":
        return tf.T5Config(
            vocab_size=len(tokenizer),
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_decoder_layers=2,
            num_heads=4,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.eos_token_id,
        )
    raise ValueError(f"unknown architecture {kind!r}")


ARCHITECTURES = ("gemma3", "qwen2_vl", "llava", "mllama", "t5")
"""What :func:`make_tiny_model` builds."""


def make_tiny_model(kind: str, folder: Path) -> Path:
    """Write a random-weight model of architecture ``kind`` (one of
    :data:`ARCHITECTURES`) and its tokenizer to ``folder``."""
    import torch
    import transformers as tf

    tokenizer = make_tokenizer()
    config = _config(kind, tokenizer)
    cls = {
        "gemma3": tf.Gemma3ForConditionalGeneration,
        "qwen2_vl": tf.Qwen2VLForConditionalGeneration,
        "llava": tf.LlavaForConditionalGeneration,
        "mllama": tf.MllamaForConditionalGeneration,
        "t5": tf.T5ForConditionalGeneration,
    }[kind]
    torch.manual_seed(0)
    model = cls(config)
    eos = tokenizer.eos_token_id
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = eos
    model.generation_config.bos_token_id = None
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def fit_detectors(model: Any, tokenizer: Any, *, layer: int = 1, max_new_tokens: int = 4) -> dict:
    """A ``last_prompt`` and a ``mean_answer`` detector fitted on the model's own
    activations with random labels and a fixed C (quick; the confidences vary but mean
    nothing)."""
    import numpy as np

    from howsure.calibration.calibrators import PlattCalibrator
    from howsure.plugin.detector import Detector, ReaderSettings
    from howsure.probes.activations import generate_and_read
    from howsure.probes.linear import LogisticProbe
    from howsure.probes.models import model_fingerprint
    from howsure.probes.prompts import question_prompt

    positions = ["last_prompt", "mean_answer"]
    questions = [f"What is {a} plus {b}?" for a in range(5) for b in range(4)]
    res = generate_and_read(
        model,
        tokenizer,
        [question_prompt(tokenizer, q) for q in questions],
        layers=[layer],
        positions=positions,
        max_new_tokens=max_new_tokens,
        progress=False,
    )
    y = np.arange(len(questions)) % 2 == 0
    out = {}
    for pos in positions:
        x = res.activations[(layer, pos)]
        probe = LogisticProbe(C=1.0, random_state=0).fit(x, y)
        raw = probe.confidence(x)
        cal = PlattCalibrator().fit(raw, y.astype(int))
        out[pos] = Detector(
            probe=probe,
            calibrator=cal,
            reader=ReaderSettings(layer=layer, position=pos, max_new_tokens=max_new_tokens),
            fingerprint=model_fingerprint(model),
            calibration_scores=cal.predict(raw),
            calibration_labels=y,
        )
    return out
