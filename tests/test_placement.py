"""Weight fingerprints, tokenizers without a pad token, and offloaded embeddings."""

from __future__ import annotations

import copy
import shutil
import warnings

import numpy as np
import pytest
import torch

from howsure.probes.activations import generate_and_read
from howsure.probes.collect import collect
from howsure.probes.inputs import model_device
from howsure.probes.models import load_model, model_fingerprint
from howsure.probes.prompts import question_prompt
from howsure.qa.items import QAItem

QUESTIONS = ["What is 2 plus 3?", "What is the capital of France?", "What is 7 plus 8?"]


@pytest.fixture(scope="module")
def detector(tiny):
    from conftest import fit_tiny_detectors

    model, tok = tiny
    return fit_tiny_detectors(model, tok)["last_prompt"]


def _items() -> list[QAItem]:
    return [
        QAItem(id=f"q{i}", question=q, answers=("5",), topic="t", difficulty=None, split="test")
        for i, q in enumerate(QUESTIONS)
    ]


def test_same_weights_under_a_new_path_are_accepted(tiny, tiny_dir, tmp_path, detector):
    import howsure

    shutil.copytree(tiny_dir, tmp_path / "renamed")
    model, tok = load_model(str(tmp_path / "renamed"), device="cpu")
    assert model_fingerprint(model)["weights"] == model_fingerprint(tiny[0])["weights"]
    np.testing.assert_array_equal(
        detector.score(QUESTIONS, model=model, tokenizer=tok, progress=False),
        detector.score(QUESTIONS, model=tiny[0], tokenizer=tiny[1], progress=False),
    )
    howsure.wrap(model, tok, detector)  # no error


def test_changed_weights_under_the_same_path_are_refused_and_not_cached(
    tiny_dir, tmp_path, detector
):
    import howsure

    folder = tmp_path / "m"
    shutil.copytree(tiny_dir, folder)
    model, tok = load_model(str(folder), device="cpu")
    first = collect(model, tok, _items(), layers=[3], max_new_tokens=3, progress=False)
    with torch.no_grad():  # a fine-tune of the last block, saved in place
        for p in model.model.layers[-1].parameters():
            p.add_(0.05)
    model.save_pretrained(folder)
    changed, tok = load_model(str(folder), device="cpu")
    with pytest.raises(ValueError, match="other weights"):
        howsure.wrap(changed, tok, detector)
    again = collect(changed, tok, _items(), layers=[3], max_new_tokens=3, progress=False)
    assert first.meta["cached"] is False and again.meta["cached"] is False
    assert not np.array_equal(first.features(3, "last_prompt"), again.features(3, "last_prompt"))


def test_a_dtype_mismatch_is_warned_or_refused(tiny, detector):
    import howsure

    half = copy.deepcopy(tiny[0]).to(torch.bfloat16)
    with pytest.warns(UserWarning, match="fitted on the model in float32.*bfloat16"):
        howsure.wrap(half, tiny[1], copy.deepcopy(detector))
    with pytest.raises(ValueError, match="bfloat16"):
        howsure.wrap(half, tiny[1], copy.deepcopy(detector), on_dtype_mismatch="error")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        howsure.wrap(tiny[0], tiny[1], copy.deepcopy(detector))  # same dtype: silent


def test_a_tokenizer_without_a_pad_token_works_and_is_not_changed(tiny, detector):
    import howsure

    model, tok = tiny
    bare = copy.deepcopy(tok)
    bare.pad_token = None
    assert bare.pad_token_id is None
    prompts = [question_prompt(tok, q) for q in QUESTIONS]
    a = generate_and_read(model, tok, prompts, layers=[1], max_new_tokens=4, progress=False)
    b = generate_and_read(model, bare, prompts, layers=[1], max_new_tokens=4, progress=False)
    assert a.answer_ids == b.answer_ids
    np.testing.assert_array_equal(
        a.activations[(1, "mean_answer")], b.activations[(1, "mean_answer")]
    )
    coll = collect(model, bare, _items(), layers=[1], max_new_tokens=3, cache=False, progress=False)
    assert len(coll) == 3
    scores = detector.score(QUESTIONS, model=model, tokenizer=bare, progress=False)
    assert scores.shape == (3,)
    assert howsure.wrap(model, bare, detector).generate_batch(QUESTIONS)[0].text
    assert bare.pad_token_id is None  # never set on the user's tokenizer


def test_offloaded_embeddings_read_and_wrap_like_the_whole_model(
    tiny, tiny_dir, tmp_path, detector
):
    import howsure

    device_map = {
        "model.embed_tokens": "disk",
        "model.layers.0": "cpu",
        "model.layers.1": "disk",
        "model.layers.2": "cpu",
        "model.layers.3": "cpu",
        "model.norm": "cpu",
        "model.rotary_emb": "cpu",
        "lm_head": "disk",
    }
    model, tok = load_model(str(tiny_dir), device_map=device_map, offload_folder=tmp_path)
    assert model.model.embed_tokens.weight.device.type == "meta"
    assert model_device(model) == torch.device("cpu")
    assert model_fingerprint(model)["weights"] == model_fingerprint(tiny[0])["weights"]
    prompts = [question_prompt(tok, q) for q in QUESTIONS]
    a = generate_and_read(
        tiny[0], tiny[1], prompts, layers=[1, 3], max_new_tokens=5, progress=False
    )
    b = generate_and_read(model, tok, prompts, layers=[1, 3], max_new_tokens=5, progress=False)
    assert a.answer_ids == b.answer_ids
    for key in a.activations:
        np.testing.assert_allclose(a.activations[key], b.activations[key], atol=1e-5)
    plain = howsure.wrap(tiny[0], tiny[1], copy.deepcopy(detector)).generate_batch(QUESTIONS)
    off = howsure.wrap(model, tok, copy.deepcopy(detector)).generate_batch(QUESTIONS)
    assert [g.token_ids for g in plain] == [g.token_ids for g in off]
    np.testing.assert_allclose(
        [g.confidence for g in plain], [g.confidence for g in off], atol=1e-6
    )


def test_placement_flags_are_checked_before_loading(tiny_dir):
    with pytest.raises(ValueError, match="give one placement"):
        load_model(str(tiny_dir), device="cpu", device_map="auto")
    with pytest.raises(ValueError, match="unknown quantization"):
        load_model(str(tiny_dir), quantization="3bit")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"bitsandbytes|CUDA"):
            load_model(str(tiny_dir), quantization="4bit")


def test_activations_stored_in_half_precision(tiny, tmp_path):
    from howsure.probes.collect import Collection

    model, tok = tiny
    kw = dict(layers=[1, 3], max_new_tokens=3, cache=False, progress=False)
    full = collect(model, tok, _items(), **kw)
    half = collect(model, tok, _items(), store="float16", **kw)
    assert half.answers == full.answers and half.meta["store"] == "float16"
    assert all(v.dtype == np.float16 for v in half.activations.values())
    assert half.features(3, "mean_last_answer").dtype == np.float32
    for key, value in full.activations.items():
        np.testing.assert_allclose(half.activations[key], value, rtol=1e-3, atol=1e-3)
    back = Collection.load(half.save(tmp_path / "half"))
    assert all(v.dtype == np.float16 for v in back.activations.values())
    with pytest.raises(ValueError, match="store"):
        collect(model, tok, _items(), store="int8", **kw)


def _quantized_copy(model, *, embedding_shift: float = 0.0):
    """``model`` as bitsandbytes' 8-bit loading leaves it, on the CPU: the last block's
    linear weights int8 (row-wise absmax), the config's ``quantization_config`` set."""
    from transformers.utils.quantization_config import QuantizationMethod

    q = copy.deepcopy(model)
    method = QuantizationMethod.BITS_AND_BYTES  # an enum, as transformers records it
    q.config.quantization_config = {"quant_method": method, "load_in_8bit": True}
    with torch.no_grad():
        q.get_input_embeddings().weight.add_(embedding_shift)
        for module in q.model.layers[-1].modules():
            if isinstance(module, torch.nn.Linear):
                w = module.weight
                scale = w.abs().amax(dim=1, keepdim=True) / 127
                module.weight = torch.nn.Parameter(
                    torch.round(w / scale).to(torch.int8), requires_grad=False
                )
    return q


def test_a_quantized_model_is_matched_on_its_embedding_and_warned(tiny, detector):
    from howsure.plugin.checks import check_fingerprint
    from howsure.probes.models import fingerprint_key, model_quantization

    model = tiny[0]
    quantized = _quantized_copy(model)
    assert model_quantization(model) is None and model_quantization(quantized) == (
        "bitsandbytes-8bit"
    )
    fp = model_fingerprint(quantized)
    assert fp["quantization"] == "bitsandbytes-8bit" and "quantization" not in detector.fingerprint
    assert fingerprint_key(fp) != fingerprint_key(model_fingerprint(model))  # cached apart
    with pytest.warns(UserWarning, match=r"float32, and the model now runs in float32 \("):
        check_fingerprint(detector.fingerprint, quantized)
    with pytest.raises(ValueError, match=r"bitsandbytes-8bit.*Load the model unquantized"):
        check_fingerprint(detector.fingerprint, quantized, on_dtype_mismatch="error")
    with pytest.raises(ValueError, match="other weights"):  # another model, quantized
        check_fingerprint(detector.fingerprint, _quantized_copy(model, embedding_shift=0.01))
    with warnings.catch_warnings():  # a detector fitted on the quantized model: silent
        warnings.simplefilter("error")
        check_fingerprint(fp, _quantized_copy(model))
