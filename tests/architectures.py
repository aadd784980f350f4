"""Tiny random-weight models of other architectures, saved to folders (test builders).

Multimodal chat models (Gemma-3, Qwen2-VL, LLaVA, Llama 3.2 Vision) whose language
model reads a text chat, and an encoder-decoder model (T5) that howsure refuses. Each
builder writes weights, config and a byte-level BPE tokenizer with a chat template; the
vocabulary is sized to the tokenizer and the image tokens are among its special tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import fit_tiny_detectors, make_chat_tokenizer

IMAGE_TOKENS = ["<image>", "<start_of_image>", "<end_of_image>", "<|video_pad|>", "<|image|>"]
"""Special tokens the multimodal configs point at (ids inside the vocabulary)."""


def make_tokenizer() -> Any:
    """A byte-level BPE tokenizer (about 400 tokens) with the chat template and the
    image tokens of :data:`IMAGE_TOKENS`."""
    return make_chat_tokenizer(tuple(IMAGE_TOKENS))


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
    activations with alternating labels and a fixed C (quick; the confidences vary but
    mean nothing)."""
    return fit_tiny_detectors(
        model,
        tokenizer,
        layer=layer,
        max_new_tokens=max_new_tokens,
        positions=("last_prompt", "mean_answer"),
        grid=(5, 4),
        labels="alternate",
        C=1.0,
    )
