"""Running the app: :func:`run` with uvicorn until interrupted, :func:`serve_in_thread` for tests.

Nothing here imports the web framework at module level, so the command line can name the install
command (:func:`require_extra`) when the optional ``serve`` extra is missing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import threading
from collections.abc import Iterator
from typing import Any

from annotate.errors import AnnotateError
from annotate.serve.backend import Backend

__all__ = ["LOOPBACK", "require_extra", "run", "serve_in_thread"]

log = logging.getLogger("annotate.serve")

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def require_extra(*modules: str) -> None:
    """Name the install command when a module of the optional ``serve`` extra is missing.

    ``modules``: default uvicorn and starlette, checked in that order.
    """
    for module in modules or ("uvicorn", "starlette"):
        if importlib.util.find_spec(module) is None:
            raise AnnotateError(
                f"`annotate serve` needs {module}, which is not installed", hint="pip install 'annotate[serve]'"
            )


def run(
    backend: Backend,
    *,
    host: str = "127.0.0.1",
    port: int = 9090,
    basic_auth: tuple[str, str] | str | None = None,
    log_level: str = "info",
) -> None:
    """Serve ``backend`` with uvicorn until interrupted (see :func:`annotate.serve.app.create_app`)."""
    require_extra()
    import uvicorn

    from annotate.serve.app import create_app

    app = create_app(backend, basic_auth=basic_auth)
    if host not in LOOPBACK and basic_auth is None:
        log.warning("serving on %s without credentials: anyone who can reach it can read predictions", host)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


@contextlib.contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0, timeout: float = 30) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread (tests, benchmarks); yield its URL; stop on exit.

    ``port=0`` picks a free port.
    """
    import time

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="annotate-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start on {host}:{port}")
        time.sleep(0.02)
    sock = server.servers[0].sockets[0].getsockname()
    try:
        yield f"http://{host}:{sock[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout)
