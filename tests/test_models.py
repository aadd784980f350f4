"""Model loading, fingerprints and layer discovery (fast, offline)."""

from __future__ import annotations

import pytest

from howsure.probes.models import (
    find_layers,
    load_model,
    model_fingerprint,
    num_layers,
)


def test_load_local_folder(tiny, tiny_dir):
    model, tok = tiny
    assert not model.training
    assert model.config.name_or_path == str(tiny_dir)
    assert tok.pad_token_id is not None
    assert num_layers(model) == 4 and len(find_layers(model)) == 4
    fp = model_fingerprint(model)
    assert {k: v for k, v in fp.items() if k != "weights"} == {
        "model_type": "llama",
        "architecture": "LlamaForCausalLM",
        "hidden_size": 32,
        "num_layers": 4,
        "vocab_size": model.config.vocab_size,
        "name_or_path": str(tiny_dir),
        "dtype": "float32",
    }
    assert len(fp["weights"]["sha256"]) == 64 and len(set(fp["weights"]["sample"])) > 10


def test_unknown_model_name_is_a_clear_error():
    with pytest.raises(
        ValueError, match=r"unknown model 'no-such-org/no-such-model'.*Hugging Face"
    ):
        load_model("no-such-org/no-such-model", device="cpu")


def test_missing_gguf_file(tmp_path):
    with pytest.raises(ValueError, match=r"unknown model .*missing\.gguf.*no such \.gguf file"):
        load_model(str(tmp_path / "missing.gguf"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [(dict(dtype="float8"), "unknown dtype 'float8'"), (dict(device="gpu7"), "unknown device")],
)
def test_bad_device_and_dtype(tiny_dir, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_model(str(tiny_dir), **kwargs)


def test_find_layers_rejects_non_transformers():
    import torch

    with pytest.raises(TypeError, match="cannot find the transformer blocks of Linear"):
        find_layers(torch.nn.Linear(2, 2))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda tmp: "./doesnotexist", r"unknown model './doesnotexist': no such file or folder"),
        (lambda tmp: str(tmp / "a" / "b"), r"no such file or folder"),
        (lambda tmp: "models/a/b", r"no such file or folder"),
        (lambda tmp: _touch(tmp / "data.jsonl"), r"is a file but not a \.gguf file: not a model"),
        (lambda tmp: _mkdir(tmp / "empty"), r"is a folder without config\.json"),
    ],
)
def test_impossible_model_names_are_refused_before_loading(tmp_path, make, match):
    from howsure.probes.models import check_model_name

    name = make(tmp_path)
    with pytest.raises(ValueError, match=match):
        check_model_name(name)
    with pytest.raises(ValueError, match=match):  # load_model says the same, at once
        load_model(name)
    check_model_name(None)  # the embedded model, a hub id: nothing to say yet
    check_model_name("org/name")


def _touch(path):
    path.write_text("{}")
    return str(path)


def _mkdir(path):
    path.mkdir()
    return str(path)
