"""The dashboard's Starlette application: the page, its static files and a JSON API.

``GET /``                 the page
``GET /api/runs``         the runs found (re-scanned on every call, so new journals appear)
``GET /api/runs/{id}``    one run's view (see :class:`lowfi.dashboard.state.RunWatcher`)
``GET /static/...``       the page's script, style and the vendored uPlot
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lowfi.dashboard.state import RunWatcher, find_runs

STATIC = Path(__file__).parent / "static"


class Runs:
    """The journals under the dashboard's paths and one watcher per journal."""

    def __init__(self, paths: Sequence[str | os.PathLike]):
        self.paths = [Path(p) for p in paths]
        self.watchers: dict[str, RunWatcher] = {}
        self._by_path: dict[Path, str] = {}
        self._lock = threading.Lock()

    def scan(self) -> list[RunWatcher]:
        with self._lock:
            for root in self.paths:
                for p in find_runs(root):
                    p = p.resolve() if p.exists() else p.absolute()
                    if p not in self._by_path:
                        rid = str(len(self._by_path))
                        self._by_path[p] = rid
                        self.watchers[rid] = RunWatcher(p, rid)
            return list(self.watchers.values())

    def close(self) -> None:
        for w in self.watchers.values():
            w.close()


def allowed_hosts(host: str) -> list[str]:
    """Host names a request may carry: the served interface and the local names (any for a
    server on all interfaces)."""
    if host in ("0.0.0.0", "::", ""):
        return ["*"]
    return sorted({host, f"[{host}]" if ":" in host else host, "localhost", "127.0.0.1",
                   "[::1]", "::1"})


def build_app(paths: Sequence[str | os.PathLike] | str | os.PathLike,
              host: str = "127.0.0.1") -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise ValueError("paths: got none; give a run journal (RUN.db) or a folder of runs")
    for p in paths:
        if not isinstance(p, str | os.PathLike):
            raise TypeError(f"paths: got {p!r}; allowed are journal paths and folders")
        if not Path(p).exists() and Path(p).suffix != ".db":
            raise FileNotFoundError(f"paths: {os.fspath(p)!r} does not exist (a journal that "
                                    "does not exist yet must end in .db)")
    runs = Runs(paths)

    async def index(request: Any) -> Any:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    def list_runs(request: Any) -> Any:
        out = []
        for w in runs.scan():
            v = w.snapshot()
            out.append({k: v.get(k) for k in ("id", "name", "path", "seq", "n_trials", "counts",
                                               "best", "stop_reason", "settings", "error",
                                               "links")})
        return JSONResponse(out, headers={"Cache-Control": "no-store"})

    def one_run(request: Any) -> Any:
        rid = request.path_params["rid"]
        runs.scan()
        w = runs.watchers.get(rid)
        if w is None:
            return JSONResponse({"error": f"no run {rid!r}"}, status_code=404)
        return JSONResponse(w.snapshot(), headers={"Cache-Control": "no-store"})

    async def no_icon(request: Any) -> Any:
        from starlette.responses import Response

        return Response(status_code=204)

    app = Starlette(routes=[
        Route("/", index),
        Route("/favicon.ico", no_icon),
        Route("/api/runs", list_runs),
        Route("/api/runs/{rid}", one_run),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ], middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(host))])
    app.state.runs = runs
    app.state.close = runs.close
    return app
