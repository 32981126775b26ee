"""One stored or in-memory run, whatever form it comes in, for plots, reports and the dashboard.

:func:`load_run_data` accepts a journal path (``RUN.db``), a trials table saved as ``.jsonl``
or ``.csv``, a :class:`lowfi.run.loop.RunResult`, a :class:`lowfi.Study` or a trials
DataFrame, and returns a :class:`RunData`: the trials, the search space where it is known, the
run's settings and why it stopped.

Journals are opened read-only (SQLite ``mode=ro`` URI): reading never writes to a run and takes
no lock that would slow a run writing to it (the journal is in WAL mode, where readers and the
writer do not block each other).
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["JournalReader", "RunData", "budget_reached", "load_run_data"]

#: the statuses a trial can have (``lowfi.core.trial.Status`` compares equal to these)
STATUSES = ("ok", "stopped", "failed", "running", "cancelled")


@dataclass
class RunData:
    """A run's trials and what is known about it.

    Attributes
    ----------
    trials
        One row per trial (see :func:`lowfi.storage.trials_frame`): ``trial_id``, ``budget``,
        ``loss``, ``status``, ``config.<name>`` columns, and where known ``curve``, ``info``,
        ``start``, ``end``, ``bracket``, ``rung``, ``error``.
    space
        The :class:`lowfi.space.Space` searched, or None (axes are then inferred from values).
    settings
        ``optimizer``, ``min_budget``, ``max_budget``, ``eta``, ``seed`` where stored.
    stop_reason
        Why the run stopped (``"max_evaluations"``, ``"walltime"``, ...), ``""`` if unknown or
        still running.
    name
        A label for titles (the journal's file name, or ``"run"``).
    """

    trials: pd.DataFrame
    space: Any = None
    settings: dict[str, Any] = field(default_factory=dict)
    stop_reason: str = ""
    name: str = "run"

    @property
    def max_budget(self) -> float:
        """The run's highest budget (from its settings, else the highest budget asked)."""
        mb = self.settings.get("max_budget")
        if mb is not None:
            return float(mb)
        if len(self.trials) and "budget" in self.trials:
            return float(pd.to_numeric(self.trials["budget"], errors="coerce").max())
        return 1.0

    @property
    def param_names(self) -> list[str]:
        """Hyperparameter names: the space's order where known, else the ``config.`` columns."""
        if self.space is not None:
            return list(self.space.names)
        return [c[7:] for c in self.trials.columns if str(c).startswith("config.")]


def connect_readonly(path: str | os.PathLike) -> sqlite3.Connection:
    """A read-only SQLite connection to a run journal (``file:...?mode=ro``) that sees what a
    run appends later: it never writes, and an idle reader takes no lock, so it does not slow
    the run (the journal is in WAL mode, where readers and the writer do not block each other).

    Raises FileNotFoundError naming the path when it does not exist.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path: no run journal at {str(p)!r}")
    quoted = str(p.resolve()).replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    conn = sqlite3.connect(f"file:{quoted}?mode=ro", uri=True, timeout=5,
                           check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA query_only=ON")
    return conn


def _check_tables(conn: sqlite3.Connection, path: str) -> None:
    """A clear error for a file that holds no run (yet) or is not a lowfi journal."""
    from lowfi.storage.journal import JournalError, check_journal_tables

    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        check_journal_tables(names, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise JournalError(f"storage: {path!r} is not a lowfi run journal (not a SQLite "
                           "database, or a damaged one)") from exc
    except JournalError:
        conn.close()
        raise


class JournalReader:
    """Reads a run journal without writing to it, and sees what the run appends later.

    SQLite journals (a path or ``sqlite:///path``) through :func:`connect_readonly`; other
    storage URLs (``postgresql://...``) through ``lowfi.storage.Journal`` opened read-only.
    ``follow=False`` (one read, as for a report or a plot) opens a journal no writer has open
    as immutable, which leaves no files beside it."""

    def __init__(self, path: str | os.PathLike, follow: bool = True):
        self.path = os.fspath(path)
        self._journal: Any = None
        self._conn: sqlite3.Connection | None = None
        if "://" in self.path and not self.path.startswith("sqlite:///"):
            from lowfi.storage import Journal

            self._journal = Journal(self.path, create=False, readonly=True)
        else:
            local = self.path[len("sqlite:///"):] if self.path.startswith("sqlite:///") \
                else self.path
            if follow:
                self._conn = connect_readonly(local)
            else:  # one read: immutable when no writer has it open (no -shm/-wal left beside it)
                from lowfi.storage.journal import connect_readonly as read_once

                if not Path(local).is_file():
                    raise FileNotFoundError(f"path: no run journal at {local!r}")
                self._conn = read_once(local)
                _check_tables(self._conn, local)

    def events(self, after: int = 0) -> list[Any]:
        """Events with sequence number greater than ``after``, oldest first."""
        if self._journal is not None:
            return self._journal.events(after=after)
        from lowfi.storage.journal import Event

        rows = self._conn.execute("SELECT seq, kind, trial_id, data, t FROM events WHERE seq > ? "
                                  "ORDER BY seq", (int(after),)).fetchall()
        return [Event(s, k, tid, json.loads(d), t) for s, k, tid, d, t in rows]

    def meta(self) -> dict[str, Any]:
        """The JSON-valued meta entries (``settings``, ``space``, ``limits``)."""
        out: dict[str, Any] = {}
        for key in ("settings", "space", "limits"):
            try:
                if self._journal is not None:
                    value = self._journal.get_meta(key)
                else:
                    row = self._conn.execute("SELECT value FROM meta WHERE key = ?",
                                             (key,)).fetchone()
                    value = None if row is None else json.loads(row[0])
            except Exception:  # noqa: BLE001 - a missing or odd entry only costs styling
                value = None
            if value is not None:
                out[key] = value
        return out

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
        if self._conn is not None:
            self._conn.close()

    def __enter__(self) -> JournalReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def stop_reason_of(events: list[Any]) -> str:
    """The reason of the last ``stop`` session event, or ``""`` if the run did not stop
    cleanly (still running, killed) or a resume started after it."""
    reason = ""
    for e in events:
        if e.kind == "session":
            kind = e.data.get("kind")
            if kind == "stop":
                reason = str(e.data.get("reason") or "")
            elif kind in ("resume", "start"):
                reason = ""
    return reason


def space_from_json(text: Any) -> Any:
    if not text:
        return None
    try:
        from lowfi.space import Space

        return Space.from_json(text)
    except Exception:  # noqa: BLE001 - an unreadable space only costs the axis styling
        return None


def _read_journal(path: str | os.PathLike) -> RunData:
    from lowfi.storage.journal import trials_frame

    with JournalReader(path, follow=False) as reader:
        events = reader.events()
        meta = reader.meta()
    return RunData(trials_frame(events), space_from_json(meta.get("space")),
                   dict(meta.get("settings") or {}), stop_reason_of(events),
                   Path(os.fspath(path)).name)


def load_run_data(run: Any, space: Any = None) -> RunData:
    """Turn any form of a run into a :class:`RunData`.

    Parameters
    ----------
    run
        A journal path (``str`` or ``os.PathLike``; ``.jsonl`` and ``.csv`` trials tables too),
        a ``RunResult`` (what :func:`lowfi.minimize` returns), a :class:`lowfi.Study`, a trials
        ``pandas.DataFrame``, or a :class:`RunData`.
    space
        Overrides the space (a ``lowfi.space.Space``, a ``ConfigurationSpace`` or its dict
        shorthand); needed for log axes and category order when ``run`` is a DataFrame.
    """
    if isinstance(run, RunData):
        data = run
    elif isinstance(run, str) and "://" in run:  # sqlite:///x.db, postgresql://...
        data = _read_journal(run)
    elif isinstance(run, str | os.PathLike):
        p = Path(run)
        if not p.exists():
            raise FileNotFoundError(f"run: {str(p)!r} does not exist")
        if p.is_dir():
            raise ValueError(f"run: {str(p)!r} is a folder; pass one run's journal (RUN.db), "
                             "a trials table (.jsonl, .csv), a RunResult, a Study or a DataFrame")
        if p.suffix in (".jsonl", ".csv"):
            from lowfi.analysis.report import load_run

            table = load_run(p)  # a maximized run's saved trials carry its score column
            data = RunData(table, settings={"direction": "maximize"}
                           if "score" in table.columns else {}, name=p.name)
        else:
            data = _read_journal(p)
    elif isinstance(run, pd.DataFrame):
        # a maximized run's trials (res.trials, load_trials) carry a score column
        data = RunData(run.copy(), settings={"direction": "maximize"} if "score" in run.columns
                       else {})
    elif hasattr(run, "trials") and hasattr(run, "optimizer") and not callable(run.trials):
        opt = run.optimizer  # a RunResult
        settings = {"max_budget": getattr(opt, "max_budget", None),
                    "min_budget": getattr(opt, "min_budget", None),
                    "optimizer": getattr(opt, "name", type(opt).__name__)}
        settings = {k: v for k, v in settings.items() if v is not None}
        if "score" in run.trials.columns:  # a maximized run: loss is the negated score
            settings["direction"] = "maximize"
        name = Path(run.storage).name if getattr(run, "storage", None) else "run"
        data = RunData(run.trials.copy(), getattr(opt, "space", None), settings,
                       str(getattr(run, "stop_reason", "") or ""), name)
    elif hasattr(run, "storage") and callable(getattr(run, "trials", None)):
        p = Path(run.storage)  # a Study
        data = _read_journal(p) if p.exists() else RunData(run.trials())
        if data.space is None:
            data.space = getattr(getattr(run, "optimizer", None), "space", None)
    else:
        raise TypeError(f"run: got {type(run).__name__}; allowed are a journal path, a "
                        "RunResult, a Study, a trials DataFrame or a RunData")
    if space is not None:
        from lowfi.space import Space

        data.space = Space.from_any(space)
        have = {c[7:] for c in data.trials.columns if str(c).startswith("config.")}
        missing = [n for n in data.space.names if n not in have]
        if have and missing:
            raise ValueError(f"space: its parameters {missing} are not the run's "
                             f"({sorted(have)}); give the space the run searched, or none")
    return data


def budget_used(df: pd.DataFrame) -> np.ndarray:
    """Budget each trial actually trained: the budget it reached (:func:`budget_reached`)
    less the step it continued from when it resumed from a checkpoint of an earlier rung
    (``info["resumed_from"]``). Reports, plots, the dashboard and ``lowfi show`` count this."""
    out = budget_reached(df)
    if "info" in df.columns and len(df):
        start = np.array([float(i["resumed_from"]) if isinstance(i, dict)
                          and isinstance(i.get("resumed_from"), int | float) else 0.0
                          for i in df["info"]])
        out = np.maximum(out - np.minimum(start, out), 0.0)
    return out


def budget_reached(df: pd.DataFrame) -> np.ndarray:
    """Budget each trial actually used: its ``budget_reached`` where the run recorded it, the
    last reported step for trials a stopping rule ended (or still running), else its budget."""
    n = len(df)
    out = pd.to_numeric(df["budget"], errors="coerce").to_numpy(float) if n else np.zeros(0)
    out = out.copy()
    rec = (pd.to_numeric(df["budget_reached"], errors="coerce").to_numpy(float)
           if "budget_reached" in df.columns else np.full(n, np.nan))
    status = df["status"].astype(str).to_numpy() if "status" in df.columns else np.full(n, "ok")
    curves = df["curve"].to_numpy() if "curve" in df.columns else np.full(n, None)
    infos = df["info"].to_numpy() if "info" in df.columns else np.full(n, None)
    for i in range(n):
        if np.isfinite(rec[i]):
            out[i] = rec[i]
            continue
        info = infos[i] if isinstance(infos[i], dict) else {}
        if info.get("budget_reached") is not None:
            try:
                out[i] = float(info["budget_reached"])
                continue
            except (TypeError, ValueError):
                pass
        if status[i] in ("stopped", "running", "cancelled", "failed"):
            c = curves[i]
            if isinstance(c, list | tuple | np.ndarray) and len(c):
                out[i] = min(out[i], float(c[-1][0]))
            elif status[i] in ("running", "cancelled", "failed"):
                out[i] = 0.0 if status[i] != "failed" else out[i]
    return out


def status_of(df: pd.DataFrame) -> np.ndarray:
    """Trial statuses as plain strings (works with the ``Status`` enum and old strings)."""
    if "status" not in df.columns:
        return np.full(len(df), "ok", dtype=object)
    return np.array([getattr(s, "value", s) for s in df["status"]], dtype=object).astype(str)
