"""``lowfi dashboard``: a local web page that follows runs while they go.

It serves, on ``127.0.0.1`` by default, one page per set of journals: for each run the
incumbent against budget used, the trials table (status, budget reached, epochs trained), the
budget per rung, the learning curves of running trials, the failures with their tracebacks,
and links to the run's Dask or Ray dashboard where the run recorded one. Several runs (a
folder of journals, or several paths) are shown side by side. The page polls the server once
a second and updates in place.

The dashboard never writes: journals are opened read-only (SQLite ``mode=ro``), and only the
events appended since the last poll are read, so a run being watched is not slowed.

Built on Starlette (a small ASGI framework) served by uvicorn, and uPlot (a 50 KB canvas
charting library, MIT licence) shipped inside this package, so the page works without a
network. Install with ``pip install lowfi[dashboard]``.

>>> from lowfi.dashboard import serve
>>> serve(["runs/"], port=8765)          # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["DashboardServer", "create_app", "serve", "serve_app"]


def _check_host_port(host: Any, port: Any) -> None:
    if not isinstance(host, str) or not host:
        raise ValueError(f"host: got {host!r}; allowed is an interface address such as "
                         "'127.0.0.1'")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ValueError(f"port: got {port!r}; allowed is an int in 0..65535 (0: any free port)")


def _require() -> None:
    """The dashboard's web stack, or an error that says how to install it."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"lowfi.dashboard needs the 'dashboard' extra ({exc}); "
                          "pip install 'lowfi[dashboard]'") from exc


def create_app(paths: Sequence[str | os.PathLike] | str | os.PathLike,
               host: str = "127.0.0.1", port: int = 0) -> Any:
    """The dashboard's ASGI application for these journals or folders of journals.

    ``port`` is only checked here; ``host`` is the interface it will be served on: requests
    must name it (or ``localhost``) in their ``Host`` header, so that a web page the browser
    visits cannot read the runs through a DNS name pointed at this machine. Served on all
    interfaces (``0.0.0.0``, ``::``) any host name is accepted."""
    _check_host_port(host, port)
    _require()
    from lowfi.dashboard.app import build_app

    return build_app(paths, host=host)


class DashboardServer:
    """A dashboard served from a background thread (for notebooks and tests).

    ``url`` is set once the server listens; :meth:`stop` shuts it down.

    >>> srv = DashboardServer(["runs/x.db"]).start()   # doctest: +SKIP
    >>> srv.url, srv.stop()                               # doctest: +SKIP
    """

    def __init__(self, paths: Sequence[str | os.PathLike] | str | os.PathLike,
                 host: str = "127.0.0.1", port: int = 0):
        _check_host_port(host, port)
        _require()
        import uvicorn

        self.app = create_app(paths, host=host)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host=host, port=port,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, name="lowfi-dashboard",
                                       daemon=True)
        self.url: str | None = None

    def start(self, timeout: float = 30.0) -> DashboardServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:  # uvicorn sets it once its sockets listen
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("dashboard: the server did not start (port in use?)")
            time.sleep(0.02)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        self.url = url_of(host, port)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.app.state.close()

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def url_of(host: str, port: int) -> str:
    """The page's address (an IPv6 address in brackets)."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve_app(app: Any, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve an app made by :func:`create_app` until interrupted."""
    _require()
    import uvicorn

    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="off")
    finally:
        app.state.close()


def serve(paths: Sequence[str | os.PathLike] | str | os.PathLike, host: str = "127.0.0.1",
          port: int = 8765) -> None:
    """Serve the dashboard for ``paths`` (journals or folders) until interrupted."""
    serve_app(create_app(paths, host, port), host, port)
