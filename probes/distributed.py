"""Collection sharded over processes started by ``torchrun`` or ``accelerate launch``.

Nothing here starts processes: the launchers do (one process per GPU, on one machine or
several), and set ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK`` and ``MASTER_ADDR``. Under
such a launch, :func:`howsure.probes.collect.collect` gives each process a contiguous
run of whole batches (the same batches as one process would answer, so the same
padding and the same numbers), and the main process gathers the shards into one
collection; the other processes then stop (``collect`` returns ``None`` there).

Everything crosses between processes as tensors and JSON through ``torch.distributed``
collectives (gloo on CPU, NCCL on GPUs); nothing is pickled. A process that fails tells
the others before any gathering, so every process raises the same error naming the
failed shard, and no cache entry is written.
"""

from __future__ import annotations

import atexit
import json
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import torch

from howsure.probes.activations import ANSWER_STATS, GenerationResult, generate_and_read

__all__ = [
    "Shard",
    "ShardError",
    "all_gather_json",
    "backend_for",
    "check_all_ok",
    "gather_arrays",
    "generate_sharded",
    "is_main_process",
    "launched_world",
    "setup",
    "shard_of",
]

TIMEOUT = timedelta(minutes=30)
"""How long a process waits for the others at a collective before failing."""


class ShardError(RuntimeError):
    """A process of a distributed collection failed; the message names its shard."""


@dataclass(frozen=True)
class Shard:
    """The rows ``start .. stop - 1`` that process ``index`` of ``count`` answers."""

    index: int
    count: int
    start: int
    stop: int

    def describe(self) -> str:
        """E.g. ``"shard 1 of 2 (rows 48-95)"``."""
        rows = f"rows {self.start}-{self.stop - 1}" if self.stop > self.start else "no rows"
        return f"shard {self.index} of {self.count} ({rows})"


def launched_world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process: from the initialised process group, else
    from the launcher's ``RANK`` and ``WORLD_SIZE`` (``(0, 1)`` when not launched)."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def is_main_process() -> bool:
    """True in a single process, and in the process of rank 0 of a launch."""
    return launched_world()[0] == 0


def setup(device: torch.device | str | None = None) -> bool:
    """Join the launch's process group (once); False when there is no multi-process launch.

    Uses NCCL when this process's model runs on a CUDA ``device`` (the process's own GPU),
    else gloo (a model on the CPU, also on a machine with GPUs); with ``device=None``,
    NCCL when CUDA is available. A group the user (or accelerate) already initialised is
    used as it is.

    Raises
    ------
    ValueError
        ``WORLD_SIZE`` > 1 without the rendezvous variables a launcher sets.
    """
    dist = torch.distributed
    world = launched_world()[1]
    if world <= 1:
        return False
    if not dist.is_available():
        raise ValueError("WORLD_SIZE > 1 but this torch has no torch.distributed")
    if not dist.is_initialized():
        missing = [v for v in ("MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
        if missing:
            raise ValueError(
                f"WORLD_SIZE={world} but {missing} are not set: start the processes with "
                "torchrun or accelerate launch, or unset WORLD_SIZE"
            )
        backend = backend_for(device)
        if backend == "nccl":  # this process's GPU: the model's, else its LOCAL_RANK's
            local = int(os.environ.get("LOCAL_RANK", 0))
            torch.cuda.set_device(torch.device(device) if device is not None else local)
        dist.init_process_group(backend=backend, timeout=TIMEOUT)
        atexit.register(_leave)  # before the interpreter tears down the group's threads
    return True


def backend_for(device: torch.device | str | None) -> str:
    """``"nccl"`` for a model on a CUDA device (or, with ``None``, when CUDA is
    available), else ``"gloo"``."""
    if device is None:
        return "nccl" if torch.cuda.is_available() else "gloo"
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def _leave() -> None:
    """Destroy the process group :func:`setup` joined (local: no peer is waited for).

    A process that exits with its group alive can abort in teardown ("terminate called
    without an active exception"), e.g. a non-main process done with its shard."""
    dist = torch.distributed
    if dist.is_initialized():
        dist.destroy_process_group()


def shard_of(n: int, batch_size: int) -> Shard:
    """This process's rows of ``n``: a contiguous run of whole batches of ``batch_size``.

    Batch ``b`` of ``ceil(n / batch_size)`` goes to process ``b * world // n_batches``,
    so the batches are the ones a single process would form.
    """
    rank, world = launched_world()
    n_batches = -(-n // batch_size)
    first = next((b for b in range(n_batches) if b * world // n_batches == rank), n_batches)
    last = next((b for b in range(n_batches) if b * world // n_batches > rank), n_batches)
    return Shard(rank, world, min(first * batch_size, n), min(last * batch_size, n))


def _device() -> torch.device:
    if torch.distributed.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _all_gather_bytes(data: bytes) -> list[bytes]:
    dist = torch.distributed
    world = dist.get_world_size()
    device = _device()
    size = torch.tensor([len(data)], dtype=torch.long, device=device)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    width = max(int(s.item()) for s in sizes)
    buf = torch.zeros(max(width, 1), dtype=torch.uint8, device=device)
    if data:
        buf[: len(data)] = torch.frombuffer(bytearray(data), dtype=torch.uint8).to(device)
    bufs = [torch.zeros_like(buf) for _ in range(world)]
    dist.all_gather(bufs, buf)
    return [bytes(b[: int(s.item())].cpu().numpy()) for b, s in zip(bufs, sizes, strict=True)]


def all_gather_json(value: Any) -> list[Any]:
    """Every process's JSON-able ``value``, in rank order, on every process."""
    parts = _all_gather_bytes(json.dumps(value).encode("utf-8"))
    return [json.loads(p.decode("utf-8")) for p in parts]


def check_all_ok(shard: Shard, error: BaseException | None) -> None:
    """Tell every process whether this one's shard succeeded; raise :class:`ShardError`
    on every process when one failed, naming each failed shard and its error."""
    mine = None if error is None else f"{type(error).__name__}: {error}"
    reports = all_gather_json({"shard": shard.describe(), "error": mine})
    failed = [r for r in reports if r["error"] is not None]
    if failed:
        raise ShardError(
            "distributed collection failed in "
            + "; ".join(f"{r['shard']}: {r['error']}" for r in failed)
            + ". Nothing was cached; fix the cause and launch again"
        ) from error


def gather_arrays(array: np.ndarray) -> np.ndarray | None:
    """Rows of every process's ``array`` stacked in rank order, on the main process
    (``None`` on the others). Shapes ``(n_k, ...)`` with equal trailing dimensions and
    dtype; the result is ``(sum n_k, ...)``."""
    dist = torch.distributed
    rank, world = dist.get_rank(), dist.get_world_size()
    device = _device()
    array = np.ascontiguousarray(array)
    rows = all_gather_json(int(array.shape[0]))
    width = max(max(rows), 1)
    tensor = torch.zeros((width, *array.shape[1:]), dtype=torch.from_numpy(array).dtype)
    tensor[: array.shape[0]] = torch.from_numpy(array)
    tensor = tensor.to(device)
    parts = [torch.zeros_like(tensor) for _ in range(world)] if rank == 0 else None
    dist.gather(tensor, parts, dst=0)
    if parts is None:
        return None
    return np.concatenate([p[:n].cpu().numpy() for p, n in zip(parts, rows, strict=True)])


def generate_sharded(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    *,
    names: list[str],
    batch_size: int,
    progress: bool,
    **settings: Any,
) -> GenerationResult | None:
    """:func:`~howsure.probes.activations.generate_and_read` over the processes of a
    launch: each answers its :func:`shard_of` the prompts; the main process returns the
    whole result, in prompt order, equal to a single process's; the others ``None``.

    ``settings`` are ``generate_and_read``'s ``layers``, ``positions``,
    ``max_new_tokens`` and ``store`` (validated, base positions only).

    Raises
    ------
    ShardError
        On every process, when any process's shard failed (naming it).
    """
    shard = shard_of(len(prompts), batch_size)
    part: GenerationResult | None = None
    error: BaseException | None = None
    try:
        if shard.stop > shard.start:
            part = generate_and_read(
                model,
                tokenizer,
                prompts[shard.start : shard.stop],
                names=names[shard.start : shard.stop],
                batch_size=batch_size,
                progress=progress and is_main_process(),
                **settings,
            )
    except Exception as err:  # every process must hear of it before anyone gathers
        error = err
    check_all_ok(shard, error)
    text = all_gather_json(
        None if part is None else [part.answers, part.answer_ids, part.truncated.tolist()]
    )
    text = [t for t in text if t is not None]
    keys = [(la, p) for la in settings["layers"] for p in settings["positions"]]
    width = int(model.config.get_text_config().hidden_size)
    dtypes = all_gather_json(
        {}
        if part is None
        else {f"{k[0]}/{k[1]}": str(v.dtype) for k, v in part.activations.items()}
    )
    acts: dict[Any, np.ndarray | None] = {}
    for key in keys:
        kinds = [d[f"{key[0]}/{key[1]}"] for d in dtypes if d]
        dtype = np.result_type(*kinds)  # float32 where any shard's float16 overflowed
        mine = part.activations[key] if part is not None else np.zeros((0, width))
        acts[key] = gather_arrays(mine.astype(dtype, copy=False))
    stats = {
        k: gather_arrays(getattr(part, k) if part is not None else np.zeros(0))
        for k in ANSWER_STATS
    }
    if not is_main_process():
        return None
    return GenerationResult(
        answers=[a for t in text for a in t[0]],
        answer_ids=[ids for t in text for ids in t[1]],
        truncated=np.asarray([c for t in text for c in t[2]], dtype=bool),
        **stats,
        activations=acts,
    )
