"""Shared fixtures: an isolated cache, no hub access, and a tiny random-weight chat model."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Point the howsure cache at a per-session temporary folder."""
    path = tmp_path_factory.mktemp("howsure-cache")
    old = os.environ.get("HOWSURE_CACHE")
    os.environ["HOWSURE_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("HOWSURE_CACHE", None)
    else:
        os.environ["HOWSURE_CACHE"] = old


def make_chat_tokenizer(extra_specials: tuple[str, ...] = ()):
    """A byte-level BPE tokenizer (about 400 tokens) with the chat template; EOS and pad
    ``<|im_end|>``; ``extra_specials`` among its special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|im_end|>", "<|im_start|>", "<unk>", *extra_specials]
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


def make_tiny_chat_model(folder: Path, *, layers: int = 4, max_positions: int = 256) -> Path:
    """Write a random-weight Llama chat model (BPE tokenizer, chat template) to ``folder``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = make_chat_tokenizer()
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        eos_token_id=eos,
        pad_token_id=eos,
        bos_token_id=None,
        tie_word_embeddings=True,
        initializer_range=0.3,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = eos
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_chat_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny(tiny_dir: Path):
    """``(model, tokenizer)`` of the tiny model, loaded through ``howsure.load_model``."""
    from howsure.probes.models import load_model

    return load_model(str(tiny_dir), device="cpu")


@pytest.fixture
def qa_jsonl(tmp_path: Path) -> Path:
    """A small local QA file in the documented schema."""
    import json

    rows = [
        {"id": f"q{i}", "question": q, "answers": a, "topic": t}
        for i, (q, a, t) in enumerate(
            [
                ("What is the capital of France?", ["Paris"], "capital"),
                ("What is the capital of Peru?", ["Lima"], "capital"),
                ("What is the currency of Japan?", ["yen", "Japanese yen"], "currency"),
                ("What is 2 + 3?", ["5"], "arithmetic"),
                ("What is the capital of Italy?", ["Rome"], "capital"),
                ("What is 7 + 8?", ["15"], "arithmetic"),
            ]
        )
    ]
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_half_right_qa(model, tokenizer, folder: Path, *, n_questions: int) -> Path:
    """Write a QA file (three topics) where ``model`` is right about half the time.

    Random weights answer nonsense, so the gold answer of every other question is set to
    the model's own greedy answer: the labels then have both classes.
    """
    import json
    import re

    from howsure.probes.activations import generate_and_read
    from howsure.probes.prompts import question_prompt

    questions = [f"What is {a} plus {b}?" for a in range(16) for b in range(15)][:n_questions]
    prompts = [question_prompt(tokenizer, q) for q in questions]
    res = generate_and_read(model, tokenizer, prompts, layers=[0], max_new_tokens=4, progress=False)
    rows = []
    for i, (q, ans) in enumerate(zip(questions, res.answers, strict=True)):
        usable = bool(re.search(r"[A-Za-z0-9]", ans))
        gold = ans if (i % 2 == 0 and usable) else "zzzz"
        rows.append({"id": f"t{i}", "question": q, "answers": [gold], "topic": f"topic{i % 3}"})
    path = folder / "tiny_qa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def fit_tiny_detectors(
    model,
    tokenizer,
    *,
    layer: int = 2,
    max_new_tokens: int = 6,
    positions: tuple[str, ...] = ("last_prompt", "mean_answer", "mean_last_answer"),
    grid: tuple[int, int] = (6, 6),
    labels: str = "random",
    C: float | None = None,
) -> dict:
    """A detector per reading position in ``positions``, fitted on the model's own
    activations for the ``grid`` of "What is a plus b?" questions, with ``labels``
    ``"random"`` or ``"alternate"`` (fast; the confidences vary but mean nothing)."""
    import numpy as np

    from howsure.calibration.calibrators import PlattCalibrator
    from howsure.plugin.detector import Detector, ReaderSettings
    from howsure.probes.activations import generate_and_read
    from howsure.probes.linear import LogisticProbe
    from howsure.probes.models import model_fingerprint
    from howsure.probes.prompts import question_prompt

    questions = [f"What is {a} plus {b}?" for a in range(grid[0]) for b in range(grid[1])]
    res = generate_and_read(
        model,
        tokenizer,
        [question_prompt(tokenizer, q) for q in questions],
        layers=[layer],
        positions=list(positions),
        max_new_tokens=max_new_tokens,
        progress=False,
    )
    if labels == "random":
        y = np.random.default_rng(0).random(len(questions)) < 0.5
    else:
        y = np.arange(len(questions)) % 2 == 0
    out = {}
    for pos in positions:
        x = res.activations[(layer, pos)]
        probe = LogisticProbe(random_state=0, **({} if C is None else {"C": C})).fit(x, y)
        raw = probe.confidence(x)
        cal = PlattCalibrator().fit(raw, y.astype(int))
        out[pos] = Detector(
            probe=probe,
            calibrator=cal,
            reader=ReaderSettings(layer=layer, position=pos, max_new_tokens=max_new_tokens),
            fingerprint=model_fingerprint(model),
            calibration_scores=cal.confidence(raw),
            calibration_labels=y,
        )
    return out


def plain_generate(model, tok, prompt: str, max_new_tokens: int) -> list[int]:
    """Greedy answer token ids of one plain ``model.generate`` (to the first EOS)."""
    import torch

    from howsure.probes.inputs import model_device

    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    ids = ids.to(model_device(model))
    with torch.inference_mode():
        seqs = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tok.pad_token_id,
        )
    row = seqs[0, ids.shape[1] :].tolist()
    eos = tok.eos_token_id
    return row[: row.index(eos) + 1] if eos in row else row


@contextlib.contextmanager
def tiny_server(tiny, detector, *, key: str = "test-key", name: str = "tiny", **settings):
    """``(url, chat)`` of a ``howsure serve`` app on the tiny model with ``detector``,
    running in a thread for the ``with`` block (``settings``: :class:`ServerSettings`'s)."""
    import howsure
    from howsure.server import RunningServer, ServerSettings, create_app

    chat = howsure.wrap(*tiny, detector)
    app = create_app(chat, settings=ServerSettings(api_key=key, **settings), model_name=name)
    with RunningServer(app) as server:
        yield server.url, chat
