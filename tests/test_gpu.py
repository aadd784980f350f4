"""On a CUDA GPU: reading, wrapping and fingerprints with the model on the GPU, split
between the GPU and CPU memory, loaded quantized, and the NCCL gathering.

Skipped where torch sees no CUDA device (CI has none). On a GPU machine::

    .venv/bin/python -m pytest -m gpu tests/test_gpu.py

(the quantized tests also need ``pip install bitsandbytes``).
"""

from __future__ import annotations

import copy
import importlib.util
import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import plain_generate

import howsure
from howsure.cli import main
from howsure.probes.activations import generate_and_read
from howsure.probes.collect import collect
from howsure.probes.inputs import model_device
from howsure.probes.models import load_model, model_fingerprint
from howsure.probes.prompts import question_prompt
from howsure.qa.items import QAItem

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]
needs_bitsandbytes = pytest.mark.skipif(
    importlib.util.find_spec("bitsandbytes") is None, reason="needs pip install bitsandbytes"
)

QUESTIONS = ["What is 2 plus 3?", "What is the capital of France?", "What is 7 plus 8?"]
LAYERS = [1, 3]
SPLIT = {  # every other block's weights in CPU memory, brought to the GPU to run
    "model.embed_tokens": 0,
    "model.rotary_emb": 0,
    "model.layers.0": 0,
    "model.layers.1": "cpu",
    "model.layers.2": 0,
    "model.layers.3": "cpu",
    "model.norm": "cpu",
    "lm_head": 0,
}


@pytest.fixture(scope="module")
def detector(tiny):
    """Fitted on the CPU, in float32."""
    from conftest import fit_tiny_detectors

    return fit_tiny_detectors(*tiny)["mean_answer"]


def _items() -> list[QAItem]:
    return [
        QAItem(id=f"q{i}", question=q, answers=("5",), topic="t", difficulty=None, split="test")
        for i, q in enumerate(QUESTIONS)
    ]


def _read(model, tok):
    prompts = [question_prompt(tok, q) for q in QUESTIONS]
    return generate_and_read(model, tok, prompts, layers=LAYERS, max_new_tokens=5, progress=False)


def _assert_close(a, b, *, tol: float) -> None:
    assert a.answer_ids == b.answer_ids
    assert sorted(a.activations) == sorted(b.activations)
    for key in a.activations:
        np.testing.assert_allclose(a.activations[key], b.activations[key], atol=tol, rtol=tol)


def _wrapped_equals_plain(model, tok, det) -> list[float]:
    """Each wrapped answer has the tokens of one plain ``generate``; its confidences."""
    chat = howsure.wrap(model, tok, copy.deepcopy(det))
    out = []
    for q in QUESTIONS:
        gen = chat.generate(q, max_new_tokens=5)
        assert list(gen.token_ids) == plain_generate(model, tok, question_prompt(tok, q), 5)
        assert gen.text.startswith(f"The model is {round(gen.confidence * 100)}% sure.")
        out.append(gen.confidence)
    return out


def test_on_the_gpu_in_float32_as_on_the_cpu(tiny, tiny_dir, detector):
    model, tok = load_model(str(tiny_dir), device="cuda")
    assert model_device(model).type == "cuda"
    assert model_fingerprint(model)["weights"] == model_fingerprint(tiny[0])["weights"]
    _assert_close(_read(model, tok), _read(*tiny), tol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same weights in the same dtype: silent
        on_gpu = _wrapped_equals_plain(model, tok, detector)
    on_cpu = _wrapped_equals_plain(*tiny, detector)
    np.testing.assert_allclose(on_gpu, on_cpu, atol=1e-4)


def test_bfloat16_on_the_gpu_is_warned_and_wraps_exactly(tiny_dir, detector):
    model, tok = load_model(str(tiny_dir), device="cuda", dtype="bfloat16")
    assert model_fingerprint(model)["dtype"] == "bfloat16"
    with pytest.warns(UserWarning, match="fitted on the model in float32.*bfloat16"):
        confidences = _wrapped_equals_plain(model, tok, detector)
    assert all(0.0 <= c <= 1.0 for c in confidences)


def test_blocks_split_between_the_gpu_and_cpu_memory(tiny_dir, detector):
    whole, tok = load_model(str(tiny_dir), device="cuda")
    split, tok2 = load_model(str(tiny_dir), device_map=SPLIT)
    assert not all(p.device.type == "cuda" for p in split.parameters())
    assert model_device(split) == torch.device("cuda", 0)
    assert model_fingerprint(split)["weights"] == model_fingerprint(whole)["weights"]
    _assert_close(_read(split, tok2), _read(whole, tok), tol=1e-4)
    np.testing.assert_allclose(
        _wrapped_equals_plain(split, tok2, detector),
        _wrapped_equals_plain(whole, tok, detector),
        atol=1e-4,
    )
    coll = collect(split, tok2, _items(), layers=LAYERS, max_new_tokens=3, cache=False)
    assert len(coll) == 3 and np.isfinite(coll.features(3, "mean_answer")).all()


@needs_bitsandbytes
@pytest.mark.parametrize("bits", ["8bit", "4bit"])
def test_quantized_loading_reads_wraps_and_is_warned(tiny_dir, detector, bits):
    from howsure.plugin.checks import check_fingerprint

    model, tok = load_model(str(tiny_dir), quantization=bits)
    fp = model_fingerprint(model)
    assert fp["quantization"] == f"bitsandbytes-{bits}"
    with pytest.warns(UserWarning, match=f"bitsandbytes-{bits}.*Load the model unquantized"):
        confidences = _wrapped_equals_plain(model, tok, detector)
    assert all(0.0 <= c <= 1.0 for c in confidences)
    res = _read(model, tok)
    assert all(np.isfinite(v).all() for v in res.activations.values())
    with warnings.catch_warnings():  # a detector fitted on the quantized model: silent
        warnings.simplefilter("error")
        check_fingerprint(fp, model)


def test_cli_collects_with_a_device_map(tiny_dir, qa_jsonl, tmp_path, capsys):
    out = tmp_path / "coll"
    args = ["collect", "--model", str(tiny_dir), "--dataset", str(qa_jsonl), "--quiet"]
    args += ["--device-map", "auto", "--layers", "1,3", "--max-new-tokens", "3"]
    args += ["--store", "float16", "--out", str(out)]
    assert main(args) == 0
    assert "questions: 6" in capsys.readouterr().out
    assert (out / "activations.safetensors").exists()


NCCL = """
import os, sys
import numpy as np, torch
import torch.distributed as dist
from howsure.probes.activations import generate_and_read
from howsure.probes.distributed import all_gather_json, gather_arrays, generate_sharded
from howsure.probes.models import load_model
from howsure.probes.prompts import question_prompt

dist.init_process_group("nccl", rank=0, world_size=1)
torch.cuda.set_device(0)
model, tok = load_model(sys.argv[1], device="cuda")
prompts = [question_prompt(tok, f"What is {a} plus 2?") for a in range(10)]
kw = dict(layers=[1, 3], positions=["last_prompt", "mean_answer"], max_new_tokens=4)
ref = generate_and_read(model, tok, prompts, batch_size=4, progress=False, **kw)
got = generate_sharded(model, tok, prompts, names=[str(i) for i in range(10)], batch_size=4,
                       progress=False, store="float32", **kw)
assert got.answer_ids == ref.answer_ids
for key, value in ref.activations.items():
    np.testing.assert_array_equal(got.activations[key], value)
assert all_gather_json({"a": [1, "b"]}) == [{"a": [1, "b"]}]
half = np.arange(12, dtype=np.float16).reshape(3, 4)
np.testing.assert_array_equal(gather_arrays(half), half)
dist.destroy_process_group()
print("nccl ok")
"""


def test_nccl_gathering_on_the_gpu(tiny_dir, tmp_path):
    """The collectives on CUDA tensors (one process: a second one on the same GPU is not
    allowed by NCCL; several GPUs are the README's recipe)."""
    script = tmp_path / "nccl.py"
    script.write_text(NCCL)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, str(script), str(tiny_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "nccl ok" in done.stdout, done.stderr[-3000:]
