"""Running the app with uvicorn: in the foreground (``howsure serve``) or in a thread
(tests, ``bench/serve.py``)."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from howsure.core.checks import check_int
from howsure.server.app import web_stack

__all__ = ["RunningServer", "check_port", "serve_forever"]


def check_port(port: Any) -> int:
    """A port in 0-65535 (0: any free port), or ValueError naming the value."""
    return check_int(port, "port", min_val=0, max_val=65535, hint="0 picks any free port")


def serve_forever(app: Any, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``app`` until interrupted (Ctrl-C or SIGTERM), with uvicorn's access log.

    The model runs in this (main) thread and uvicorn in another: once the main thread
    has run parallel torch work (loading the model does), torch's OpenMP pool steps the
    model slower in any other thread (see :meth:`howsure.server.batcher.Batcher.run`).
    """
    web_stack()
    import uvicorn

    config = uvicorn.Config(app, host=host, port=check_port(port), log_level="info", lifespan="on")
    server = uvicorn.Server(config)  # in a thread it leaves the signals to this one
    state = app.state.server
    state.worker_in_caller = True
    http = threading.Thread(target=server.run, name="howsure-http", daemon=True)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    http.start()
    try:
        while not server.started:  # the port is open (or uvicorn failed) before work
            if not http.is_alive():
                raise RuntimeError(f"the server did not start on {host}:{port} (port in use?)")
            time.sleep(0.02)
        state.batcher.run()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.should_exit = True
        state.batcher.close()
        http.join(timeout=60)


class RunningServer:
    """``app`` served by uvicorn in a background thread; a context manager.

    Parameters
    ----------
    app : ASGI app (:func:`howsure.server.create_app`)
    host : str, default "127.0.0.1"
    port : int, default 0
        0 picks a free port; :attr:`url` tells which.

    Attributes
    ----------
    url : str
        ``http://host:port`` once started.
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        web_stack()
        import uvicorn

        config = uvicorn.Config(
            app, host=host, port=check_port(port), log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="howsure-http", daemon=True)
        self.host = host
        self.url = ""

    def start(self, *, timeout_s: float = 60.0) -> str:
        """Start serving; returns :attr:`url` once the port is open."""
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start on {self.host} (port in use?)")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{port}"
        return self.url

    def stop(self) -> None:
        """Stop serving (the app's batcher closes with it) and wait."""
        self.server.should_exit = True
        self.thread.join(timeout=60)

    def __enter__(self) -> RunningServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
