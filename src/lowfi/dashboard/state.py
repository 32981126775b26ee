"""What the dashboard shows of a run, read incrementally and read-only from its journal."""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["RunWatcher", "find_runs"]

#: learning curves sent per run: every running trial, then the most recent finished ones
MAX_FINISHED_CURVES = 20


def find_runs(path: str | os.PathLike) -> list[Path]:
    """The journals under ``path``: the file itself, or every ``*.db`` in a folder and its
    subfolders (sorted)."""
    p = Path(path)
    if p.is_dir():
        return sorted(q for q in p.rglob("*.db") if q.is_file())
    return [p]


def _clean(o: Any) -> Any:
    """JSON-safe copy: NaN and infinities become None, numpy scalars Python numbers."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple | np.ndarray):
        return [_clean(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if o is pd.NA or o is pd.NaT:
        return None
    return o


class RunWatcher:
    """Follows one journal: each :meth:`snapshot` reads only the events appended since the
    last one (through a read-only connection) and rebuilds the view when there were any."""

    def __init__(self, path: str | os.PathLike, run_id: str):
        self.path = Path(path)
        self.id = run_id
        self._reader: Any = None
        self._events: list[Any] = []
        self._seq = 0
        self._view: dict[str, Any] | None = None
        self._meta: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.error: str | None = None
        self._file: tuple[int, int] | None = None  # (device, inode) of the file being read
        self._still: tuple[int, int] | None = None  # (size, mtime) of a journal read at rest
        self._size = 0

    def _reset(self) -> None:
        """Forget the journal read so far (it was removed, or replaced by a new run)."""
        if self._reader is not None:
            self._reader.close()
        self._reader, self._events, self._seq, self._view, self._meta = None, [], 0, None, {}
        self._file = self._still = None

    def _open(self) -> None:
        """Open the journal: as an immutable file while no run writes it (no -wal beside
        it; nothing is created next to it), else live, to see what the run appends."""
        from lowfi.analysis.rundata import JournalReader

        st = os.stat(self.path)
        at_rest = not os.path.exists(str(self.path) + "-wal")
        self._reader = JournalReader(self.path, follow=not at_rest)
        self._file = (st.st_dev, st.st_ino)
        self._still = (st.st_size, st.st_mtime_ns) if at_rest else None

    def _refresh(self) -> bool:
        try:
            st = os.stat(self.path)
        except OSError:
            st = None
        shrunk = st is not None and st.st_size < self._size  # a journal only grows: a new
        self._size = st.st_size if st is not None else 0     # run under a reused inode
        if st is None or shrunk or (self._file is not None
                                    and (st.st_dev, st.st_ino) != self._file):
            changed = self._file is not None
            self._reset()  # removed, or a new run in its place: start over
            if st is None:
                self.error = "waiting for the journal to be created"
                return changed
        elif self._still is not None and (
                (st.st_size, st.st_mtime_ns) != self._still
                or os.path.exists(str(self.path) + "-wal")):
            self._reader.close()  # a run writes it again: read it live from here on
            self._reader, self._still = None, None
        if self._reader is None:
            try:
                self._open()
            except Exception as exc:  # noqa: BLE001 - shown on the page, retried next poll
                self.error = f"cannot open the journal yet ({exc})"
                return False
        try:
            new = self._reader.events(after=self._seq)
            if not self._meta or new:
                self._meta = self._reader.meta()
        except Exception as exc:  # noqa: BLE001
            self.error = f"cannot read the journal ({exc})"
            return False
        self.error = None
        if new:
            self._events.extend(new)
            self._seq = new[-1].seq
        return bool(new) or self._view is None

    def snapshot(self) -> dict[str, Any]:
        """The run's view as JSON-ready data (see :meth:`_build`)."""
        with self._lock:
            if self._refresh() or self._view is None:
                self._view = self._build()
            view = dict(self._view)
            view["error"] = self.error
            return view

    def close(self) -> None:
        with self._lock:
            self._reset()

    # ------------------------------------------------------------------ the view
    def _build(self) -> dict[str, Any]:
        from lowfi import plot as lp
        from lowfi.analysis.report import trials_table
        from lowfi.analysis.rundata import RunData, space_from_json, status_of, stop_reason_of
        from lowfi.storage.journal import trials_frame

        df = trials_frame(self._events) if self._events else pd.DataFrame()
        data = RunData(df, space_from_json(self._meta.get("space")),
                       dict(self._meta.get("settings") or {}),
                       stop_reason_of(self._events), self.path.name)
        view: dict[str, Any] = {
            "id": self.id, "name": self.path.name, "path": str(self.path), "seq": self._seq,
            "settings": data.settings, "stop_reason": data.stop_reason,
            "links": self._links(), "counts": {}, "n_trials": len(df), "best": None,
            "value_name": lp._loss_label(data).split()[0],
            "incumbent": {"budget": [], "time": [], "best_full": [], "best_any": []},
            "trials": [], "columns": [], "rungs": [], "curves": [], "failures": [],
            "started": self._events[0].t if self._events else None,
        }
        if not len(df):
            return _clean(view)
        st = status_of(df)
        view["counts"] = {s: int((st == s).sum()) for s in
                          ("ok", "stopped", "failed", "running", "cancelled")}
        inc = lp.incumbent_curve(data, "budget")
        sign = lp._sign(data)  # a run that maximized is shown in its scores
        view["incumbent"]["budget"] = inc["x"].tolist()
        view["incumbent"]["best_full"] = (sign * inc["best_full"]).tolist()
        view["incumbent"]["best_any"] = (sign * inc["best_any"]).tolist()
        try:
            view["incumbent"]["time"] = lp.incumbent_curve(data, "time")["x"].tolist()
        except ValueError:
            view["incumbent"]["time"] = []
        tid, below = lp.incumbent_trial(data)  # below max_budget: the best so far, marked
        if tid is not None:
            row = df[df["trial_id"] == tid].iloc[0]
            view["best"] = {"trial": tid, "loss": sign * lp._scalar(row["loss"]),
                            "below_max_budget": below,
                            "budget": row["budget"],
                            "config": {c[7:]: row[c] for c in df.columns
                                       if c.startswith("config.") and not (
                                           isinstance(row[c], float) and math.isnan(row[c]))}}
        tab = trials_table(data)
        view["columns"] = [str(c) for c in tab.columns]
        view["trials"] = [list(r) for r in tab.itertuples(index=False)]
        alloc = lp.budget_allocation(data)
        rungs = []
        for b, g in alloc.groupby("budget"):
            r = {"budget": b, "trials": int(g["trials"].sum()),
                 "budget_used": float(g["budget_used"].sum())}
            r.update({s: int(g.loc[g["status"] == s, "trials"].sum())
                      for s in ("ok", "stopped", "failed", "running", "cancelled")})
            rungs.append(r)
        view["rungs"] = rungs
        view["curves"] = self._curves(df, st, sign)
        if "error" in df.columns:
            fails = df[st == "failed"]
            view["failures"] = [{"trial": r["trial_id"], "budget": r["budget"],
                                 "error": str(r["error"] or "")} for _, r in fails.iterrows()]
        return _clean(view)

    def _curves(self, df: pd.DataFrame, st: np.ndarray, sign: float) -> list[dict[str, Any]]:
        if "curve" not in df.columns:
            return []
        has = df["curve"].map(lambda c: isinstance(c, list | tuple) and len(c) > 0).to_numpy()
        running = np.flatnonzero(has & (st == "running"))
        done = np.flatnonzero(has & (st != "running"))[-MAX_FINISHED_CURVES:]
        out = []
        for i in list(running) + list(done):
            row = df.iloc[i]
            out.append({"trial": row["trial_id"], "status": st[i], "budget": row["budget"],
                        "points": [[float(s), sign * float(v)] for s, v in row["curve"]]})
        return out

    def _links(self) -> list[dict[str, str]]:
        """Dashboards of the run's cluster (Dask, Ray) where its sessions recorded them."""
        links: list[dict[str, str]] = []
        for e in self._events:
            if e.kind != "session":
                continue
            url = e.data.get("dashboard") or e.data.get("dashboard_link")
            if isinstance(url, str) and url.lower().startswith(("http://", "https://")) \
                    and url not in [d["url"] for d in links]:  # never javascript: and the like
                name = f"{e.data.get('executor') or 'cluster'} dashboard"
                links.append({"url": url, "name": name})
        return links
