"""Collection sharded over processes: 2 CPU processes (gloo) under ``torchrun`` against one.

The processes run with one thread each, and so does the single-process reference: the
same batches on the same kernels give the same numbers, bit for bit.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from howsure.probes.distributed import Shard, backend_for, launched_world, shard_of


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(HOWSURE_CACHE=str(cache), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    return env


def _run(args: list[str], *, cache: Path, nproc: int = 1) -> subprocess.CompletedProcess:
    """``howsure ARGS`` in one process, or under torchrun with ``nproc`` processes."""
    launch = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}"]
    launch += [f"--master_port={_free_port()}"]
    cmd = [*launch, "-m", *args] if nproc > 1 else [sys.executable, "-m", *args]
    return subprocess.run(cmd, env=_env(cache), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def qa(tiny, tmp_path_factory) -> Path:
    from conftest import write_half_right_qa

    model, tok = tiny
    return write_half_right_qa(model, tok, tmp_path_factory.mktemp("distqa"), n_questions=90)


def _collection(folder: Path) -> tuple[list[dict], dict[str, np.ndarray]]:
    from safetensors.numpy import load_file

    rows = [json.loads(x) for x in (folder / "records.jsonl").read_text().splitlines()]
    return rows, load_file(str(folder / "activations.safetensors"))


def test_shards_are_whole_batches_covering_every_row(monkeypatch):
    for n, batch, world in [(10, 4, 2), (90, 16, 2), (5, 2, 4), (3, 4, 3), (100, 7, 8)]:
        shards = []
        for rank in range(world):
            monkeypatch.setenv("RANK", str(rank))
            monkeypatch.setenv("WORLD_SIZE", str(world))
            assert launched_world() == (rank, world)
            shards.append(shard_of(n, batch))
        assert shards[0].start == 0 and shards[-1].stop == n
        for a, b in itertools.pairwise(shards):
            assert a.stop == b.start  # contiguous, in rank order
        assert all(s.start % batch == 0 or s.start == n for s in shards)  # whole batches
        batches = [-(-(s.stop - s.start) // batch) for s in shards]
        assert max(batches) - min(batches) <= 1  # balanced to a batch
    assert Shard(1, 2, 48, 96).describe() == "shard 1 of 2 (rows 48-95)"


def test_the_backend_follows_the_models_device(monkeypatch):
    from howsure.probes.models import _resolve_device

    assert backend_for("cpu") == "gloo" and backend_for(torch.device("cuda", 1)) == "nccl"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert backend_for(None) == "nccl" and backend_for("cpu") == "gloo"
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert _resolve_device("auto") == torch.device("cuda", 0)
    monkeypatch.setenv("LOCAL_RANK", "1")  # two processes on a one-GPU machine
    with pytest.raises(ValueError, match=r"LOCAL_RANK=1.*1 CUDA device.*--nproc_per_node 1"):
        _resolve_device("auto")
    with pytest.raises(ValueError, match=r"'cuda:3'.*1 CUDA device"):
        _resolve_device("cuda:3")


def test_two_processes_collect_what_one_does(tiny_dir, qa, tmp_path):
    args = ["howsure", "collect", "--model", str(tiny_dir), "--dataset", str(qa), "--device", "cpu"]
    args += ["--layers", "1,3", "--max-new-tokens", "4", "--batch-size", "8", "--quiet"]
    one = _run([*args, "--out", str(tmp_path / "one")], cache=tmp_path / "c1")
    assert one.returncode == 0, one.stderr[-3000:]
    two = _run([*args, "--out", str(tmp_path / "two")], cache=tmp_path / "c2", nproc=2)
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("questions: 90") == 1  # the main process reports, alone
    rows1, acts1 = _collection(tmp_path / "one")
    rows2, acts2 = _collection(tmp_path / "two")
    assert rows1 == rows2 and len(rows1) == 90
    assert {r["correct"] for r in rows1} == {True, False}
    assert (
        sorted(acts1)
        == sorted(acts2)
        == sorted(
            f"L{la}.{p}" for la in (1, 3) for p in ("last_prompt", "last_answer", "mean_answer")
        )
    )
    for name in acts1:
        np.testing.assert_array_equal(acts1[name], acts2[name])  # exactly
    # the gathered collection is cached once, by the main process; a second launch reads it
    entries = list((tmp_path / "c2" / "collections").iterdir())
    assert len(entries) == 1
    again = _run([*args, "--out", str(tmp_path / "again")], cache=tmp_path / "c2", nproc=2)
    assert again.returncode == 0 and "from cache" in again.stdout


def test_two_processes_train_the_same_detector(tiny_dir, qa, tmp_path):
    from howsure.plugin.detector import Detector
    from howsure.probes.models import load_model

    args = ["howsure", "train", "--model", str(tiny_dir), "--dataset", str(qa), "--quiet"]
    args += ["--device", "cpu"]  # gloo processes on the CPU, also on a machine with GPUs
    args += ["--layers", "1,3", "--max-new-tokens", "4", "--batch-size", "8", "--cv", "3"]
    args += ["--n-boot", "50"]
    one = _run([*args, "--out", str(tmp_path / "one")], cache=tmp_path / "c1")
    assert one.returncode == 0, one.stderr[-3000:]
    two = _run([*args, "--out", str(tmp_path / "two")], cache=tmp_path / "c2", nproc=2)
    assert two.returncode == 0, two.stderr[-3000:]
    model, tok = load_model(str(tiny_dir), device="cpu")
    questions = ["What is 3 plus 4?", "What is 11 plus 2?", "What is the capital of Peru?"]
    for name in ("detector", "detector-prompt"):
        a = Detector.load(tmp_path / "one" / name, model=model, tokenizer=tok)
        b = Detector.load(tmp_path / "two" / name, model=model, tokenizer=tok)
        assert a.reader == b.reader
        sa, sb = a.score(questions, progress=False), b.score(questions, progress=False)
        np.testing.assert_array_equal(sa, sb)
        cfg = [
            json.loads((t / name / "config.json").read_text())
            for t in (tmp_path / "one", tmp_path / "two")
        ]
        assert cfg[0]["tensors_sha256"] == cfg[1]["tensors_sha256"]


FAILING = """
import sys
from pathlib import Path

from howsure.probes.collect import collect
from howsure.probes.distributed import ShardError, launched_world
from howsure.probes.models import load_model
from howsure.qa.load import load_qa

model, tok = load_model(sys.argv[1], device="cpu")
rank = launched_world()[0]
if rank == 1:
    def boom(module, args):
        raise RuntimeError("out of memory, on purpose")
    model.model.layers[0].register_forward_pre_hook(boom)
try:
    collect(model, tok, load_qa(sys.argv[2]), layers=[1], max_new_tokens=3, batch_size=8,
            progress=False)
except ShardError as err:  # each process writes its own file: their stdout interleaves
    Path(sys.argv[3], f"rank{rank}.txt").write_text(str(err))
    sys.exit(3)
Path(sys.argv[3], f"rank{rank}.txt").write_text("no error")
"""


def test_a_failing_process_names_its_shard_and_caches_nothing(tiny_dir, qa, tmp_path):
    script = tmp_path / "failing.py"
    script.write_text(FAILING)
    launch = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    launch += [f"--master_port={_free_port()}", str(script), str(tiny_dir), str(qa), str(tmp_path)]
    done = subprocess.run(
        launch, env=_env(tmp_path / "cache"), capture_output=True, text=True, timeout=600
    )
    assert done.returncode != 0
    for rank in (0, 1):  # every process raised the same error, naming the failed shard
        report = tmp_path / f"rank{rank}.txt"
        assert report.exists(), done.stderr[-3000:]
        line = report.read_text()
        assert "shard 1 of 2 (rows 48-89)" in line and "out of memory, on purpose" in line
        assert "shard 0 of 2" not in line and "Nothing was cached" in line
    collections = tmp_path / "cache" / "collections"
    assert not collections.exists() or not any(collections.iterdir())
