"""Serving the demo page locally: Gradio imported lazily with its analytics off, no share
link, no server-side rendering and no MCP server, so the demo never reaches the network."""

from __future__ import annotations

import os
import socket
import sys
from typing import TYPE_CHECKING, Any

from howsure.core.errors import SettingError

if TYPE_CHECKING:
    import gradio as gr

__all__ = ["INSTALL_HINT", "check_port", "gradio", "launch"]

INSTALL_HINT = "pip install 'howsure[demo]'"
"""How to install the demo's dependency (Gradio)."""

CSS = """
.howsure-badge {border-radius: 999px; padding: 1px 9px; color: #fff; font-weight: 700;}
.howsure-note {border-left: 4px solid #b45309; padding: 4px 10px; background: #fef3c7;
  color: #3b2f10;}
"""
"""The page's own styles (badges, notes)."""


def gradio() -> Any:
    """Import gradio with its analytics off, or raise ImportError with the install hint."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        import gradio
    except ImportError as err:
        raise ImportError(f"the demo needs gradio: {INSTALL_HINT}") from err
    return gradio


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_port(port: Any) -> int | None:
    """Validate a port: ``None`` (Gradio picks one from 7860), 0 (any free port) or
    1-65535; raises ValueError otherwise."""
    if port is None:
        return None
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise SettingError(
            "port",
            "{param} must be an integer in 0-65535 (0: any free port), got {value!r}",
            value=port,
        )
    return port


def launch(
    app: gr.Blocks,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    block: bool = True,
    quiet: bool = False,
) -> str:
    """Serve the page from :func:`build_app` (locally: no share link, no analytics).

    Parameters
    ----------
    app : gradio.Blocks
    host : str, default "127.0.0.1"
        Address to listen on (``"0.0.0.0"``: every interface).
    port : int, optional
        ``None``: the first free port from 7860; 0: any free port.
    block : bool, default True
        Serve until interrupted (Ctrl-C); False: return once the server is up (call
        ``app.close()`` to stop it).
    quiet : bool, default False
        Do not write the URL to stdout.

    Returns
    -------
    str
        The page's URL.

    Raises
    ------
    ValueError
        A bad port, or one that is taken.
    """
    port = check_port(port)
    if not isinstance(host, str) or not host:
        raise SettingError("host", "{param} must be a non-empty str, got {value!r}", value=host)
    if port == 0:
        port = _free_port(host)
    gr = gradio()
    kwargs: dict[str, Any] = dict(
        server_name=host,
        server_port=port,
        share=False,
        inbrowser=False,
        prevent_thread_lock=True,
        quiet=True,
        show_error=True,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        footer_links=["gradio"],
        css=CSS,
        theme=gr.themes.Default(),
    )
    try:
        app.launch(**kwargs)
    except OSError as err:  # the port is taken
        raise ValueError(f"cannot listen on {host}:{port}: {err}") from err
    url = app.local_url
    if not quiet:
        sys.stdout.write(f"howsure demo: serving {url}\n")
        sys.stdout.flush()
    if block:
        try:
            app.block_thread()
        finally:
            app.close()
    return url
