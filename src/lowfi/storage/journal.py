"""The SQLite journal: every trial event of a run, written before it is acted on.

One file per run, WAL mode. Table ``meta`` holds what resuming needs (the optimizer as it was
before its first ask, the objective, the run settings); table ``events`` is append-only:
``ask`` (a trial was handed out), ``tell`` (its result), ``curve`` (points a running trial
reported), ``session`` (a run or resume started). Replaying the ask/tell events through a
fresh copy of the optimizer rebuilds its exact state, generator included.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd

from lowfi.core.trial import Result, Trial

FORMAT_VERSION = 1


def _default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, set | frozenset):
        return sorted(o, key=repr)
    return repr(o)


def _nan_safe(o: Any) -> Any:
    if isinstance(o, float) and not math.isfinite(o):
        return repr(o)
    if isinstance(o, dict):
        return {str(k): _nan_safe(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_nan_safe(v) for v in o]
    return o


def dumps(o: Any) -> str:
    return json.dumps(_nan_safe(o), default=_default)


@dataclass
class Event:
    seq: int
    kind: str
    trial_id: int | None
    data: dict
    t: float


class Journal:
    """Append-only event log of one run in an SQLite file."""

    def __init__(self, path: str | os.PathLike, *, create: bool = True):
        self.path = os.fspath(path)
        if not create and not os.path.exists(self.path):
            raise FileNotFoundError(f"storage: no run journal at {self.path!r}")
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB)")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT "
            "NOT NULL, trial_id INTEGER, data TEXT NOT NULL, t REAL NOT NULL)"
        )
        if self.get_meta("format_version") is None:
            self.set_meta("format_version", FORMAT_VERSION)

    # ------------------------------------------------------------------ meta
    def set_meta(self, key: str, value: Any, *, pickled: bool = False) -> None:
        blob = cloudpickle.dumps(value) if pickled else dumps(value)
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, blob))

    def get_meta(self, key: str, default: Any = None, *, pickled: bool = False) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            return default
        return cloudpickle.loads(row[0]) if pickled else json.loads(row[0])

    # ------------------------------------------------------------------ events
    def _append(self, kind: str, trial_id: int | None, data: dict) -> None:
        self.conn.execute("INSERT INTO events (kind, trial_id, data, t) VALUES (?, ?, ?, ?)",
                          (kind, trial_id, dumps(data), time.time()))

    def ask(self, trial: Trial) -> None:
        self._append("ask", trial.id, {"config": trial.config, "budget": trial.budget,
                                       "config_id": trial.config_id, "info": trial.info})

    def tell(self, trial: Trial, result: Result, start: float, end: float, worker: str) -> None:
        self._append("tell", trial.id, {
            "status": result.status, "loss": result.loss, "cost": result.cost,
            "info": result.info, "error": result.error, "curve": result.curve,
            "start": start, "end": end, "worker": worker,
        })

    def curve(self, trial_id: int, points: list[tuple[float, float]]) -> None:
        if points:
            self._append("curve", trial_id, {"points": points})

    def session(self, **data: Any) -> None:
        self._append("session", None, data)

    def events(self, kinds: tuple[str, ...] | None = None) -> list[Event]:
        q = "SELECT seq, kind, trial_id, data, t FROM events"
        if kinds:
            q += " WHERE kind IN ({})".format(",".join("?" * len(kinds)))
        q += " ORDER BY seq"
        rows = self.conn.execute(q, kinds or ()).fetchall()
        return [Event(s, k, tid, json.loads(d), t) for s, k, tid, d, t in rows]

    def close(self) -> None:
        self.conn.close()


def result_from_event(data: dict) -> Result:
    loss = data["loss"]
    if isinstance(loss, list):
        loss = tuple(loss)
    return Result(loss=loss, cost=data["cost"], info=data.get("info") or {}, status=data["status"],
                  error=data.get("error"), curve=[tuple(p) for p in data.get("curve") or []])


def trial_from_event(e: Event) -> Trial:
    d = e.data
    return Trial(e.trial_id, d["config"], float(d["budget"]), d["config_id"], d.get("info") or {})


def trials_frame(events: list[Event]) -> pd.DataFrame:
    """One row per asked trial: config, budget, loss, status, cost, times, worker, curve.

    ``status`` is ``"ok"``, ``"failed"``, ``"stopped"`` (by a stopping rule), ``"running"``
    (no result yet) or ``"cancelled"`` (still running when the run stopped, e.g. at its
    walltime; ``lowfi.resume`` evaluates it again)."""
    rows: dict[int, dict] = {}
    order: list[int] = []
    curves: dict[int, list] = {}
    for e in events:
        if e.kind == "ask":
            d = e.data
            row = {"trial_id": e.trial_id, "config_id": d["config_id"], "budget": d["budget"],
                   "loss": np.nan, "status": "running", "cost": np.nan, "start": np.nan,
                   "end": np.nan, "worker": None, "bracket": d["info"].get("bracket"),
                   "rung": d["info"].get("rung"), "error": None, "info": {}, "asked": e.t}
            row.update({f"config.{k}": v for k, v in d["config"].items()})
            if e.trial_id not in rows:
                order.append(e.trial_id)
            rows[e.trial_id] = row
        elif e.kind == "session":
            # a run that ended cleanly cancels its running trials (a resume runs them again);
            # a killed run leaves them "running" until it is resumed
            old, new = {"stop": ("running", "cancelled"),
                        "resume": ("cancelled", "running")}.get(e.data.get("kind"), (None, None))
            for row in rows.values():
                if row["status"] == old:
                    row["status"] = new
        elif e.kind == "curve":
            curves.setdefault(e.trial_id, []).extend(tuple(p) for p in e.data["points"])
        elif e.kind == "tell" and e.trial_id in rows:
            d = e.data
            loss = d["loss"]
            rows[e.trial_id].update(
                loss=(tuple(loss) if isinstance(loss, list) else (np.nan if loss is None else loss)),
                status=d["status"], cost=d["cost"], start=d["start"], end=d["end"],
                worker=d["worker"], error=d.get("error"), info=d.get("info") or {})
            if d.get("curve"):
                curves[e.trial_id] = [tuple(p) for p in d["curve"]]
    for tid, pts in curves.items():
        if tid in rows:
            rows[tid]["curve"] = pts
    df = pd.DataFrame([rows[t] for t in order])
    if "curve" not in df and len(df):
        df["curve"] = [None] * len(df)
    return df


def load_trials(path: str | os.PathLike) -> pd.DataFrame:
    """The trials of a stored run as a DataFrame (see :func:`trials_frame`)."""
    j = Journal(path, create=False)
    try:
        return trials_frame(j.events())
    finally:
        j.close()
