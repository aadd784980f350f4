"""Other architectures on tiny random-weight models built here: multimodal chat models
read through their language model, encoder-decoder models refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from architectures import fit_detectors, make_tiny_model
from conftest import plain_generate

import howsure
from howsure.plugin.wrapper import ConfidentModel, wrap
from howsure.probes.activations import generate_and_read, read_activations
from howsure.probes.collect import collect
from howsure.probes.models import check_decoder_only, find_layers, model_fingerprint
from howsure.probes.prompts import question_prompt
from howsure.qa.load import load_qa

MULTIMODAL = {
    "gemma3": "Gemma3ForConditionalGeneration",
    "qwen2_vl": "Qwen2VLForConditionalGeneration",
    "llava": "LlavaForConditionalGeneration",
    "mllama": "MllamaForConditionalGeneration",
}
QUESTIONS = [
    "What is 3 plus 4?",
    "Peru",
    "What is the capital of France? Reply with just the answer, please, now.",
]
POSITIONS = ["last_prompt", "last_answer", "mean_answer"]
ENC_DEC = "encoder-decoder model .*decoder-only .*separate decoder.*Use a decoder-only"


@pytest.fixture(scope="module", params=list(MULTIMODAL))
def multimodal(request, tmp_path_factory):
    """``(kind, model, tokenizer)`` of a tiny multimodal chat model, saved to a folder and
    loaded through ``howsure.load_model``."""
    folder = make_tiny_model(request.param, tmp_path_factory.mktemp(request.param))
    model, tok = howsure.load_model(str(folder), device="cpu")
    return request.param, model, tok


@pytest.fixture(scope="module")
def detectors(multimodal):
    _, model, tok = multimodal
    return fit_detectors(model, tok, layer=1, max_new_tokens=4)


@pytest.fixture(scope="module")
def t5(tmp_path_factory):
    """``(folder, model, tokenizer)`` of a tiny T5, built by hand."""
    from transformers import AutoTokenizer, T5ForConditionalGeneration

    folder = make_tiny_model("t5", tmp_path_factory.mktemp("t5"))
    model = T5ForConditionalGeneration.from_pretrained(folder).eval()
    return folder, model, AutoTokenizer.from_pretrained(folder)


def block_states(model, ids: list[int]) -> list[torch.Tensor]:
    """Per block, the states ``(T, d)`` of one unpadded row from ``output_hidden_states``
    (the last block's before the final norm, read from the norm's input)."""
    decoder = model.get_decoder()
    seen = []
    handle = decoder.norm.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    try:
        with torch.inference_mode():
            hs = model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states
    finally:
        handle.remove()
    assert len(hs) == len(find_layers(model)) + 1
    torch.testing.assert_close(decoder.norm(seen[0]), hs[-1])  # the norm's input is the last
    return [h[0].float() for h in (*hs[1:-1], seen[0])]


def expected(states: list[torch.Tensor], n_prompt: int, n_answer: int, pos: str, layer: int):
    hidden = states[layer]
    if pos == "last_prompt" or n_answer == 0:
        return hidden[n_prompt - 1].numpy()
    if pos == "last_answer":
        return hidden[n_prompt + n_answer - 1].numpy()
    return hidden[n_prompt : n_prompt + n_answer].mean(0).numpy()


# -- multimodal chat models ------------------------------------------------------------


def test_loads_and_finds_the_language_models_blocks(multimodal):
    kind, model, tok = multimodal
    assert type(model).__name__ == MULTIMODAL[kind] and not model.training
    text = model.config.get_text_config()
    skipped = set(getattr(text, "cross_attention_layers", None) or ())  # Llama 3.2 Vision
    blocks = find_layers(model)
    decoder_layers = list(model.get_decoder().layers)
    assert [id(b) for b in blocks] == [
        id(b) for i, b in enumerate(decoder_layers) if i not in skipped
    ]
    assert len(blocks) == text.num_hidden_layers - len(skipped) == 3
    vision = {id(m) for name, m in model.named_modules() if "vision" in name or "visual" in name}
    assert not vision & {id(m) for b in blocks for m in b.modules()}
    image = getattr(model.config, "image_token_id", None)  # inside the vocabulary
    assert image is not None and tok.convert_ids_to_tokens(image) in ("<image>", "<|image|>")
    fp = model_fingerprint(model)
    assert (fp["hidden_size"], fp["num_layers"], fp["vocab_size"]) == (32, 3, len(tok))


def test_the_fallback_scan_counts_the_text_configs_layers(multimodal):
    """Blocks under names no known path reaches, after a vision tower, no top-level layer
    count: found by the language model's ``num_hidden_layers``."""
    _, model, _ = multimodal
    assert getattr(model.config, "num_hidden_layers", None) is None

    class Unknown(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.config = model.config
            self.tower = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(2)])
            self.stack = torch.nn.ModuleList(model.get_decoder().layers)

    odd = Unknown()
    assert [id(b) for b in find_layers(odd)] == [id(b) for b in find_layers(model)]


@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_reader_equals_the_language_models_hidden_states(multimodal, padding_side):
    """Padded batches read what an unpadded single row gives as ``hidden_states[i + 1]``
    (Qwen2-VL's 3-D rope positions included)."""
    _, model, tok = multimodal
    prompts = [question_prompt(tok, q) for q in QUESTIONS]
    answers = ["7", "", "Paris is the capital"]
    acts = read_activations(
        model,
        tok,
        prompts,
        answers,
        layers="all",
        positions=POSITIONS,
        padding_side=padding_side,
        batch_size=3,
        progress=False,
    )
    for b, (p, a) in enumerate(zip(prompts, answers, strict=True)):
        p_ids = tok(p, add_special_tokens=False)["input_ids"]
        a_ids = tok(a, add_special_tokens=False)["input_ids"] if a else []
        states = block_states(model, p_ids + a_ids)
        for (layer, pos), value in acts.items():
            want = expected(states, len(p_ids), len(a_ids), pos, layer)
            np.testing.assert_allclose(value[b], want, atol=1e-4, rtol=1e-4)


def test_collect_reads_the_language_model(multimodal, qa_jsonl):
    """Batched greedy generation: the same answers as one plain ``generate`` per question,
    and activations equal to the language model's hidden states of those tokens."""
    _, model, tok = multimodal
    items = load_qa(qa_jsonl)[:4]
    n_new = 4
    coll = collect(
        model,
        tok,
        items,
        layers="all",
        positions=POSITIONS,
        max_new_tokens=n_new,
        batch_size=4,
        cache=False,
        progress=False,
    )
    assert set(coll.activations) == {(la, p) for la in range(3) for p in POSITIONS}
    eos = tok.eos_token_id
    for b, item in enumerate(items):
        prompt = question_prompt(tok, item.question)
        tokens = plain_generate(model, tok, prompt, n_new)
        answer = [t for t in tokens if t != eos]
        assert coll.answers[b] == tok.decode(answer, skip_special_tokens=True).strip()
        seen = answer if eos in tokens else answer[:-1]  # a cut answer's last token is unread
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        states = block_states(model, p_ids + seen)
        for (layer, pos), value in coll.activations.items():
            want = expected(states, len(p_ids), len(seen), pos, layer)
            np.testing.assert_allclose(value[b], want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("position", ["last_prompt", "mean_answer"])
def test_wrapped_tokens_equal_plain_generate(multimodal, detectors, position):
    _, model, tok = multimodal
    det = detectors[position]
    chat = wrap(model, tok, det)
    for q in QUESTIONS:
        gen = chat.generate(q, max_new_tokens=5)
        assert list(gen.token_ids) == plain_generate(model, tok, question_prompt(tok, q), 5)
        assert gen.prefix == f"The model is {round(gen.confidence * 100)}% sure."
        assert gen.text.startswith(gen.prefix) and gen.layer == 1
        if position == "last_prompt":
            np.testing.assert_allclose(
                gen.confidence, det.score([q], model=model, tokenizer=tok)[0], atol=1e-5
            )
    batch = chat.generate_batch(QUESTIONS, max_new_tokens=5)
    assert [g.token_ids for g in batch] == [
        chat.generate(q, max_new_tokens=5).token_ids for q in QUESTIONS
    ]


# -- encoder-decoder models -------------------------------------------------------------


def test_load_model_refuses_an_encoder_decoder_model_from_its_config(t5, tmp_path):
    folder, _, _ = t5
    with pytest.raises(ValueError, match=ENC_DEC):
        howsure.load_model(str(folder), device="cpu")
    # refused before any weight is read: a folder without weights gives the same answer
    bare = tmp_path / "t5-config-only"
    bare.mkdir()
    for f in folder.iterdir():
        if not f.name.endswith(".safetensors"):
            (bare / f.name).write_bytes(f.read_bytes())
    with pytest.raises(ValueError, match=ENC_DEC):
        howsure.load_model(str(bare), device="cpu")


def test_an_encoder_decoder_model_by_hand_is_refused_everywhere(
    t5, multimodal, detectors, qa_jsonl
):
    _, model, tok = t5
    prompts = [question_prompt(tok, "What is 2 plus 2?")]
    det = detectors["last_prompt"]
    calls = {
        "find_layers": lambda: find_layers(model),
        "wrap": lambda: wrap(model, tok, det),
        "ConfidentModel": lambda: ConfidentModel(model, tok),
        "collect": lambda: collect(model, tok, load_qa(qa_jsonl), cache=False, progress=False),
        "generate_and_read": lambda: generate_and_read(model, tok, prompts, progress=False),
        "read_activations": lambda: read_activations(model, tok, prompts, progress=False),
        "Detector.score": lambda: det.score(["What is 2 plus 2?"], model=model, tokenizer=tok),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match=ENC_DEC):
            call()
        assert sum(len(m._forward_hooks) for m in model.modules()) == 0, name


def test_check_decoder_only_reads_the_config():
    from transformers import BartConfig, Blip2Config, LlamaConfig, T5Config

    for config in (BartConfig(), T5Config(), Blip2Config(text_config=T5Config().to_dict())):
        with pytest.raises(ValueError, match="encoder-decoder"):
            check_decoder_only(config, name="x")
    check_decoder_only(LlamaConfig())
