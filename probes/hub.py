"""Hugging Face hub access for a model id, decided before ``from_pretrained`` runs.

Offline, ``from_pretrained`` of a hub id retries its requests for over a minute before it
gives up. :func:`hub_access` answers at once instead: a local path or a cached hub id
loads from disk (``local_files_only`` when the hub cannot be reached), and a hub id that
is neither local, nor cached, nor reachable is refused with an error that says
"no network" and how to fix it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["hub_access", "hub_endpoint", "hub_offline", "hub_reachable", "in_hub_cache"]

_TRUE = {"1", "ON", "YES", "TRUE"}
PROBE_TIMEOUT_S = 2.0
"""Seconds the reachability check waits for the hub endpoint to accept a connection."""


def hub_offline() -> bool:
    """Whether Hugging Face offline mode is on (``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE``
    now, or when ``huggingface_hub`` was imported)."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().upper() in _TRUE:
            return True
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        return False
    return bool(constants.HF_HUB_OFFLINE)


def hub_endpoint() -> str:
    """The hub URL: ``HF_ENDPOINT`` when set, else ``huggingface_hub``'s endpoint."""
    env = os.environ.get("HF_ENDPOINT", "").strip()
    if env:
        return env.rstrip("/")
    from huggingface_hub import constants

    return str(constants.ENDPOINT).rstrip("/")


def hub_reachable(endpoint: str | None = None, *, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the hub endpoint (or, with ``HTTPS_PROXY``/``HTTP_PROXY``
    set, to the proxy) opens within ``timeout`` seconds."""
    import urllib.request

    url = urlsplit(endpoint or hub_endpoint())
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if proxy and not urllib.request.proxy_bypass(url.hostname or ""):
        url = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if not url.hostname:
        return False
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def in_hub_cache(model_id: str) -> bool:
    """Whether the hub id's ``config.json`` is in the local Hugging Face cache."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover
        return False
    try:
        return isinstance(try_to_load_from_cache(model_id, "config.json"), str)
    except ValueError:  # not a valid repo id
        return False


def hub_access(source: str, *, label: str | None = None) -> dict:
    """``from_pretrained`` keywords for ``source``; refuse a hub id that cannot load.

    Parameters
    ----------
    source : str
        A local folder (loaded as is) or a Hugging Face model id.
    label : str, optional
        The name to report (default ``source``).

    Returns
    -------
    dict
        ``{}`` for a local folder or a reachable hub; ``{"local_files_only": True}`` for a
        cached hub id when offline mode is on or the hub cannot be reached.

    Raises
    ------
    ValueError
        "no network": the hub id is not cached and offline mode is on or the hub endpoint
        did not answer within a couple of seconds; the message names the fixes.
    """
    if Path(source).expanduser().exists():
        return {}
    offline = hub_offline()
    if in_hub_cache(source):
        return {"local_files_only": True} if offline or not hub_reachable() else {}
    if not offline and hub_reachable():
        return {}
    why = "Hugging Face offline mode is on" if offline else f"{hub_endpoint()} cannot be reached"
    raise ValueError(
        f"unknown model {label or source!r}: no network to download this Hugging Face model "
        f"id ({why}) and it is not in the local Hugging Face cache. Pass a local model folder "
        f"or .gguf file, download it first where there is network (`hf download {source}`; "
        "HF_HUB_OFFLINE=1 then loads the cached copy without asking the hub), or pass nothing "
        "for the embedded default model"
    )
