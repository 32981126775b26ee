"""The journal: every trial event of a run, written before it is acted on.

A run lives in one SQLite file (``path`` or ``sqlite:///path``, WAL mode) or in a PostgreSQL
database (``postgresql://user@host/db``, through SQLAlchemy and psycopg); both have the same
tables. ``meta`` holds what resuming needs (the settings, the space, the optimizer as it was
before its first ask, the objective); ``events`` is append-only: ``ask`` (a trial was handed
out), ``tell`` (its result), ``curve`` (points a running trial reported), ``session`` (a run
or resume started or stopped). ``snapshots`` holds the optimizer every so many results, so a
resume replays only the events after the latest one; ``leases`` names the process driving
the run.

Journals are data. Every pickled blob (optimizer, objective, stopping rule, snapshot) is
signed with an HMAC under a key private to this user (``~/.config/lowfi/journal.key``, or the
file named by ``LOWFI_JOURNAL_KEY_FILE``); a blob is unpickled only when its signature is
valid or the caller passed ``trust=True``. Everything else (settings, space, events) is JSON.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import hmac
import json
import math
import os
import pickle
import re
import secrets
import socket
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd

from lowfi.core.trial import STATUSES, Result, TrialLike, TrialRecord

FORMAT_VERSION = 1
#: a driver whose lease was not renewed for this many seconds is taken to be dead
LEASE_STALE_SECONDS = 30.0
#: seconds between two renewals of a driver's lease
LEASE_HEARTBEAT_SECONDS = 5.0
#: default number of results between two optimizer snapshots
SNAPSHOT_EVERY = 50

_SIG_PREFIX = b"lowfi-hmac-sha256:"
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_SCHEME_LIKE = re.compile(r"^(sqlite|postgres|postgresql|mysql|file|https?)(\+[a-z0-9]+)?:", re.I)


class JournalError(ValueError):
    """A journal that cannot be opened or written (one line, naming the file)."""


class EmptyJournalError(JournalError):
    """A database without tables: a run that is being created, or none."""


class UntrustedJournalError(JournalError):
    """A journal whose executable parts were not written by this user."""


class DriverBusyError(JournalError):
    """Another live process is driving the run."""


# ---------------------------------------------------------------------- JSON helpers
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


def _point(p: Any) -> tuple:
    """A stored curve point: non-finite values were written as their repr ('nan', 'inf')."""
    return tuple(float(v) if isinstance(v, str) and v in ("nan", "inf", "-inf") else v
                 for v in p)


def dumps(o: Any) -> str:
    return json.dumps(_nan_safe(o), default=_default)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Cyclic garbage collection off inside: for blocks that create many objects and free
    none (unpickling a large optimizer, decoding a journal's events), over which CPython's
    collector would otherwise walk the growing heap again and again (several times the
    block's own cost for 100,000 trials). Restores the collector's previous state."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# ---------------------------------------------------------------------- signing
def key_path() -> str:
    """Where this user's journal key lives (``LOWFI_JOURNAL_KEY_FILE`` overrides)."""
    env = os.environ.get("LOWFI_JOURNAL_KEY_FILE")
    if env:
        return os.path.expanduser(env)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "lowfi", "journal.key")


def _read_key(create: bool) -> bytes | None:
    path = key_path()
    try:
        with open(path, "rb") as fh:
            key = fh.read().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    if not create:
        return None
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, mode=0o700, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_hex(32).encode())
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # atomic: the first process to get here wins, with its content
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    with open(path, "rb") as fh:
        return fh.read().strip()


def _dumps(obj: Any) -> bytes:
    """``obj`` pickled (protocol 5) by the C pickler when everything in it is importable by
    reference, which is many times faster on large object graphs than cloudpickle's (whose
    hook runs in Python for every object); by cloudpickle otherwise (lambdas, local classes,
    anything from ``__main__``, which a plain pickle would refer to by a name that another
    process does not have)."""
    try:
        blob = pickle.dumps(obj, protocol=5)
    except Exception:  # noqa: BLE001 - not picklable by reference: by value
        return cloudpickle.dumps(obj, protocol=5)
    return cloudpickle.dumps(obj, protocol=5) if b"__main__" in blob else blob


def sign(payload: bytes) -> bytes:
    """``payload`` with an HMAC under this user's key in front."""
    key = _read_key(create=True)
    assert key is not None
    mac = hmac.new(key, payload, hashlib.sha256).hexdigest().encode()
    return _SIG_PREFIX + mac + b":" + payload


def verify(blob: bytes) -> tuple[bytes, bool]:
    """``(payload, signed_by_this_user)`` of a stored blob (unsigned blobs are not)."""
    blob = bytes(blob)
    if not blob.startswith(_SIG_PREFIX):
        return blob, False
    rest = blob[len(_SIG_PREFIX):]
    mac, payload = rest[:64], rest[65:]
    key = _read_key(create=False)
    if key is None or rest[64:65] != b":":
        return payload, False
    good = hmac.new(key, payload, hashlib.sha256).hexdigest().encode()
    return payload, hmac.compare_digest(mac, good)


# ---------------------------------------------------------------------- storage targets
@dataclass(frozen=True)
class Target:
    """Where a journal lives: ``kind`` is ``"sqlite"``, ``"memory"`` or ``"postgresql"``."""

    kind: str
    location: str  # the file path, ":memory:" or the database URL
    display: str  # for messages: the path, or the URL without its password

    @property
    def is_file(self) -> bool:
        return self.kind == "sqlite"


def _redact(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


def parse_storage(storage: Any) -> Target:
    """Interpret ``storage``: a file path, ``sqlite:///path``, ``postgresql://...`` or
    ``":memory:"`` (None too). Anything else is a ValueError naming the value."""
    if storage is None:
        return Target("memory", ":memory:", ":memory:")
    if not isinstance(storage, str | os.PathLike):
        raise ValueError(f"storage: got {type(storage).__name__} {storage!r}; allowed are a file "
                         "path, 'sqlite:///path', 'postgresql://user@host/db', ':memory:' or None")
    s = os.fspath(storage)
    if not isinstance(s, str):
        s = os.fsdecode(s)
    if s.strip() == "":
        raise ValueError("storage: got an empty string; allowed are a file path, "
                         "'sqlite:///path', 'postgresql://user@host/db', ':memory:' or None")
    if s == ":memory:":
        return Target("memory", s, s)
    m = _URL.match(s)
    if m is None:
        if _SCHEME_LIKE.match(s):  # 'sqlite:/x.db', 'postgresql:x': a mistyped URL, not a path
            raise ValueError(f"storage: got {_redact(s)!r}, which looks like a URL without '//'; "
                             "allowed are a file path, 'sqlite:///path', "
                             "'postgresql://user@host/db' and ':memory:'")
        if s.endswith(("/", os.sep)) or os.path.isdir(s):
            raise JournalError(f"storage: {s!r} is a folder; allowed is the path of a journal "
                               "file in it, e.g. " + repr(os.path.join(s, "run.db")))
        return Target("sqlite", s, s)
    scheme = m.group(1).lower()
    if scheme == "sqlite":
        rest = s[m.end():]
        if rest in ("", "/:memory:"):
            return Target("memory", ":memory:", ":memory:")
        if not rest.startswith("/"):
            raise ValueError(f"storage: got {s!r}; a SQLite URL is 'sqlite:///relative/path.db' "
                             "or 'sqlite:////absolute/path.db' (no host)")
        path = rest[1:]
        if os.path.isdir(path):
            raise JournalError(f"storage: {path!r} is a folder; allowed is the path of a "
                               "journal file")
        return Target("sqlite", path, path)
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        url = "postgresql+psycopg" + s[m.end(1):] if scheme in ("postgresql", "postgres") else s
        return Target("postgresql", url, _redact(s))
    raise ValueError(f"storage: unknown scheme {scheme!r} in {_redact(s)!r}; allowed are a file "
                     "path, 'sqlite:///path', 'postgresql://user@host/db' and ':memory:'")


def check_journal_tables(names: set, path: Any) -> None:
    """Raise the error for a database whose tables ``names`` are not a lowfi journal's:
    :class:`EmptyJournalError` when it has none (a run just created), else
    :class:`JournalError`."""
    if not names:
        raise EmptyJournalError(f"storage: {path!r} holds no run yet (an empty database)")
    if not {"meta", "events"} <= set(names):
        raise JournalError(f"storage: {path!r} is not a lowfi run journal (no meta and events "
                           "tables)")


def connect_readonly(path: str | os.PathLike) -> sqlite3.Connection:
    """A read-only connection to a SQLite journal: ``file:...?mode=ro``, falling back to
    ``immutable=1`` where the folder cannot be written (a read-only mount); it never switches
    the file to WAL, creates tables or writes anything."""
    p = os.path.abspath(os.fspath(path))
    if os.path.isdir(p):
        raise JournalError(f"storage: {os.fspath(path)!r} is a folder, not a run journal")
    if not os.path.exists(p):
        raise FileNotFoundError(f"storage: no run journal at {os.fspath(path)!r}")
    quoted = p.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    last: Exception | None = None
    # without a -wal file no writer has the journal open (the last one to close removes it):
    # read it as immutable, which creates no -shm/-wal files beside it; with one, read the
    # live journal through it
    modes = ("&immutable=1",) if not os.path.exists(p + "-wal") else ("", "&immutable=1")
    for extra in modes:
        try:
            conn = sqlite3.connect(f"file:{quoted}?mode=ro{extra}", uri=True, timeout=30,
                                   check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:  # pragma: no cover - connect is lazy
            last = exc
            continue
        try:
            conn.execute("PRAGMA query_only=ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.DatabaseError as exc:
            conn.close()
            last = exc
            if "not a database" in str(exc) or "malformed" in str(exc):
                break
    raise JournalError(f"storage: cannot read {os.fspath(path)!r} as a run journal ({last})")


# ---------------------------------------------------------------------- database access
_SCHEMA = {
    "sqlite": [
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB)",
        "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT "
        "NOT NULL, trial_id INTEGER, data TEXT NOT NULL, t REAL NOT NULL)",
        "CREATE TABLE IF NOT EXISTS snapshots (upto INTEGER PRIMARY KEY, value BLOB)",
        "CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, host TEXT, pid INTEGER, "
        "token TEXT, heartbeat REAL)",
    ],
    "postgresql": [
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BYTEA)",
        "CREATE TABLE IF NOT EXISTS events (seq BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, "
        "trial_id BIGINT, data TEXT NOT NULL, t DOUBLE PRECISION NOT NULL)",
        "CREATE TABLE IF NOT EXISTS snapshots (upto BIGINT PRIMARY KEY, value BYTEA)",
        "CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, host TEXT, pid BIGINT, "
        "token TEXT, heartbeat DOUBLE PRECISION)",
    ],
}
#: the advisory lock that serializes writers of a PostgreSQL journal
_PG_LOCK = 0x6C6F7766  # "lowf"


class _DB:
    """A connection to one journal database with ``?`` placeholders on both backends."""

    def __init__(self, target: Target, readonly: bool):
        self.target, self.readonly, self.kind = target, readonly, target.kind
        self.in_tx = False
        if target.kind == "postgresql":
            try:
                import sqlalchemy
            except ImportError as exc:  # pragma: no cover - optional dependency
                raise ImportError("storage: a postgresql:// journal needs SQLAlchemy and psycopg: "
                                  "pip install 'lowfi[postgres]'") from exc
            from sqlalchemy.pool import NullPool

            self.engine = sqlalchemy.create_engine(target.location, poolclass=NullPool,
                                                   isolation_level="AUTOCOMMIT")
            try:
                self.conn = self.engine.connect()
            except Exception as exc:
                raise JournalError(f"storage: cannot connect to {target.display} "
                                   f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from exc
            if readonly:
                self.conn.exec_driver_sql("SET default_transaction_read_only = on")
        elif readonly:
            self.conn = connect_readonly(target.location)
        else:
            loc = target.location
            if target.kind == "sqlite":
                folder = os.path.dirname(os.path.abspath(loc))
                os.makedirs(folder, exist_ok=True)
            self.conn = sqlite3.connect(loc, timeout=60, isolation_level=None,
                                        check_same_thread=False)

    def run(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.kind == "postgresql":
            res = self.conn.exec_driver_sql(sql.replace("?", "%s"), params)
            return [tuple(r) for r in res.fetchall()] if res.returns_rows else []
        return self.conn.execute(sql, params).fetchall()

    def begin(self) -> None:
        if self.kind == "postgresql":
            self.conn.exec_driver_sql("BEGIN")
            self.conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
        else:
            self.conn.execute("BEGIN IMMEDIATE")
        self.in_tx = True

    def commit(self) -> None:
        self.in_tx = False
        self.run("COMMIT")

    def rollback(self) -> None:
        self.in_tx = False
        with contextlib.suppress(Exception):
            self.run("ROLLBACK")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        if self.kind == "postgresql":
            self.engine.dispose()


def _db_errors() -> tuple[type[BaseException], ...]:
    errs: list[type[BaseException]] = [sqlite3.Error]
    try:
        import sqlalchemy.exc

        errs.append(sqlalchemy.exc.SQLAlchemyError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errs)


class Event:
    """One journal event: ``seq``, ``kind``, ``trial_id``, ``data`` (a dict), ``t``. ``data``
    may be given as its JSON text; it is then decoded when first read."""

    __slots__ = ("seq", "kind", "trial_id", "_data", "t", "where")

    def __init__(self, seq: int, kind: str, trial_id: int | None, data: dict | str, t: float,
                 where: str | None = None):
        self.seq, self.kind, self.trial_id, self._data, self.t = seq, kind, trial_id, data, t
        self.where = where  #: the journal it was read from (for messages)

    @property
    def data(self) -> dict:
        if self._data is None:
            raise JournalError(f"storage: event {self.seq} was read without its data")
        if isinstance(self._data, str | bytes):
            try:
                self._data = json.loads(self._data)
            except ValueError as exc:
                raise JournalError(f"storage: event {self.seq} of the journal "
                                   f"{self.where or ''} is damaged ({exc})".replace("  ", " ")
                                   ) from exc
        return self._data  # type: ignore[return-value]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and (self.seq, self.kind, self.trial_id, self.data,
                                             self.t) == (other.seq, other.kind, other.trial_id,
                                                         other.data, other.t)

    def __repr__(self) -> str:
        return (f"Event(seq={self.seq}, kind={self.kind!r}, trial_id={self.trial_id}, "
                f"data={self.data!r}, t={self.t})")


class Journal:
    """Append-only event log of one run (a SQLite file or a PostgreSQL database).

    ``create=False`` opens an existing journal; ``readonly`` (default: ``not create``) opens
    it without writing anything (SQLite ``mode=ro``: no WAL switch, no table creation), which
    also works on read-only mounts. ``trust``: unpickle blobs that this user's key did not
    sign (only for journals of known origin).
    """

    def __init__(self, path: Any, *, create: bool = True, readonly: bool | None = None,
                 trust: bool = False):
        self.target = parse_storage(path)
        self.path = self.target.location if self.target.kind != "postgresql" else \
            self.target.display
        self.readonly = (not create) if readonly is None else readonly
        self.trust = trust
        self.last_seq = 0
        self._snap_opt: Any = None
        self._snap_every = SNAPSHOT_EVERY
        self._tells_since_snapshot = 0
        self._snap_cost = 0.0
        self._snap_time = 0.0
        self._lease: _Lease | None = None
        if self.target.kind == "memory" and not create:
            raise FileNotFoundError("storage: ':memory:' holds no stored run")
        if self.target.kind == "sqlite" and not create and not os.path.exists(self.path):
            raise FileNotFoundError(f"storage: no run journal at {self.path!r}")
        try:
            self._db = _DB(self.target, self.readonly)
        except sqlite3.Error as exc:
            raise JournalError(f"storage: cannot open {self.path!r} ({exc})") from exc
        try:
            if self.readonly:
                self._check_is_journal()
            else:
                self._init_schema()
            row = self._q("SELECT max(seq) FROM events")
            self.last_seq = int(row[0][0] or 0)
        except BaseException:
            self._db.close()
            raise

    # ------------------------------------------------------------------ low level
    def _q(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            return self._db.run(sql, params)
        except _db_errors() as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "full" in msg:
                msg += "; free space on that disk, then resume"
            raise JournalError(f"storage: {self.path!r}: {msg}") from exc

    @property
    def conn(self) -> Any:
        """The underlying DB-API connection (SQLite) or SQLAlchemy connection."""
        return self._db.conn

    def _init_schema(self) -> None:
        if self.target.kind != "postgresql":
            try:
                mode = self._q("PRAGMA journal_mode")[0][0]
                if mode != "wal" and self.target.kind == "sqlite":
                    self._q("PRAGMA journal_mode=WAL")
                self._q("PRAGMA synchronous=NORMAL")
            except JournalError as exc:
                if "not a database" in str(exc) or "malformed" in str(exc):
                    raise JournalError(f"storage: {self.path!r} is not a lowfi run journal "
                                       "(not a SQLite database, or a damaged one)") from exc
                raise
        with self.locked():
            for sql in _SCHEMA["postgresql" if self.target.kind == "postgresql" else "sqlite"]:
                self._q(sql)
            if not self._q("SELECT 1 FROM meta WHERE key = ?", ("format_version",)):
                self.set_meta("format_version", FORMAT_VERSION)

    def _check_is_journal(self) -> None:
        try:
            if self.target.kind == "postgresql":
                rows = self._q("SELECT table_name FROM information_schema.tables "
                               "WHERE table_schema = current_schema()")
            else:
                rows = self._q("SELECT name FROM sqlite_master WHERE type = 'table'")
        except JournalError as exc:
            raise JournalError(f"storage: {self.path!r} is not a lowfi run journal "
                               "(not a SQLite database, or a damaged one)") from exc
        check_journal_tables({r[0] for r in rows}, self.path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """An exclusive write transaction: SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory
        lock. Re-entrant; everything inside commits together."""
        if self._db.in_tx or self.target.kind == "memory" and self.readonly:
            yield
            return
        try:
            self._db.begin()
        except _db_errors() as exc:
            raise JournalError(f"storage: {self.path!r}: {str(exc).splitlines()[0]}") from exc
        try:
            yield
        except BaseException:
            self._db.rollback()
            raise
        try:
            self._db.commit()
        except _db_errors() as exc:
            self._db.rollback()
            raise JournalError(f"storage: {self.path!r}: {str(exc).splitlines()[0]}") from exc

    # ------------------------------------------------------------------ meta
    def set_meta(self, key: str, value: Any, *, pickled: bool = False) -> None:
        if pickled:
            blob: Any = sign(cloudpickle.dumps(value))
        else:
            text = dumps(value)
            blob = text.encode() if self.target.kind == "postgresql" else text
        self._q("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                "SET value = excluded.value", (key, blob))

    def _meta_raw(self, key: str) -> Any:
        row = self._q("SELECT value FROM meta WHERE key = ?", (key,))
        return None if not row else row[0][0]

    def has_meta(self, key: str) -> bool:
        return self._meta_raw(key) is not None

    def load_pickled(self, key: str, *, trust: bool | None = None) -> tuple[Any, str]:
        """``(value, state)`` of a pickled entry; ``state`` is ``"missing"``, ``"signed"``
        (this user's key), ``"trusted"`` (unsigned, loaded because of ``trust``) or
        ``"untrusted"`` (not loaded: value None)."""
        raw = self._meta_raw(key)
        if raw is None:
            return None, "missing"
        payload, ok = verify(raw)
        if ok:
            return cloudpickle.loads(payload), "signed"
        if self.trust if trust is None else trust:
            return cloudpickle.loads(payload), "trusted"
        return None, "untrusted"

    def get_meta(self, key: str, default: Any = None, *, pickled: bool = False) -> Any:
        if pickled:
            value, state = self.load_pickled(key)
            if state == "untrusted":
                warnings.warn(f"storage: {self.path!r}: the stored {key!r} was not written by "
                              "this user (no valid signature) and is not loaded; pass trust=True "
                              "if you trust the journal's origin", stacklevel=2)
                return default
            return default if state == "missing" else value
        raw = self._meta_raw(key)
        if raw is None:
            return default
        if isinstance(raw, bytes | bytearray | memoryview):
            raw = bytes(raw).decode()
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise JournalError(f"storage: {self.path!r}: meta entry {key!r} is damaged") from exc

    # ------------------------------------------------------------------ events
    def _append(self, kind: str, trial_id: int | None, data: dict) -> int:
        row = self._q("INSERT INTO events (kind, trial_id, data, t) VALUES (?, ?, ?, ?) "
                      "RETURNING seq", (kind, trial_id, dumps(data), time.time()))
        self.last_seq = int(row[0][0])
        return self.last_seq

    def ask(self, trial: TrialLike) -> int:
        return self._append("ask", trial.id, {"config": trial.config, "budget": trial.budget,
                                              "config_id": trial.config_id, "info": trial.info})

    def tell(self, trial: TrialLike, result: Result, start: float, end: float, worker: str) -> int:
        if self._snap_opt is not None:
            self._maybe_snapshot()
        seq = self._append("tell", trial.id, {
            "status": result.status, "loss": result.loss, "cost": result.cost,
            "info": result.info, "error": result.error, "curve": result.curve,
            "start": start, "end": end, "worker": worker,
        })
        self._tells_since_snapshot += 1
        return seq

    def curve(self, trial_id: int, points: list[tuple[float, float]]) -> None:
        if points:
            self._append("curve", trial_id, {"points": points})

    def session(self, **data: Any) -> None:
        if data.get("kind") == "stop" and self._snap_opt is not None \
                and self._tells_since_snapshot:
            self.snapshot(self._snap_opt)
        self._append("session", None, data)

    def events(self, kinds: tuple[str, ...] | None = None, after: int = 0, *,
               data_after: int = 0) -> list[Event]:
        """The events with seq > ``after`` (of ``kinds``), in order. Those at or before
        ``data_after`` come without their data (only seq, kind, trial id and time), which
        is faster for a long journal when only the later events' data is needed."""
        q = "SELECT seq, kind, trial_id, {}, t FROM events WHERE seq > ?".format(
            "CASE WHEN seq > ? THEN data END" if data_after > 0 else "data")
        if kinds:
            q += " AND kind IN ({})".format(",".join("?" * len(kinds)))
        q += " ORDER BY seq"
        params = (*((int(data_after),) if data_after > 0 else ()), int(after), *(kinds or ()))
        with gc_paused():
            rows = self._q(q, params)
            where = self.target.display
            return [Event(int(s), k, tid, d, t, where) for s, k, tid, d, t in rows]  # decoded lazily

    # ------------------------------------------------------------------ snapshots
    def attach(self, optimizer: Any, every: int | None = SNAPSHOT_EVERY) -> None:
        """Snapshot ``optimizer`` every ``every`` results journaled from here on and at a
        clean stop (None: never). The optimizer must have seen every ask/tell event of this
        journal (a single driver)."""
        self._snap_opt = optimizer if every else None
        self._snap_every = int(every or 0)
        self._tells_since_snapshot = 0

    def _maybe_snapshot(self) -> None:
        if self._tells_since_snapshot < self._snap_every:
            return
        # keep snapshots under ~10 % of the driver's time when the optimizer is large
        if time.monotonic() - self._snap_time < 10 * self._snap_cost:
            return
        self.snapshot(self._snap_opt)

    def snapshot(self, optimizer: Any, upto: int | None = None) -> None:
        """Store ``optimizer`` as the state after every ask/tell event up to seq ``upto``
        (default: the last event this journal saw). Keeps the two latest."""
        upto = self.last_seq if upto is None else upto
        t0 = time.monotonic()
        history = getattr(optimizer, "history", None)
        curves = getattr(history, "running_curves", None)
        try:
            if curves:  # partial curves of running trials are not replayed either
                history.running_curves = {}
            blob = sign(_dumps(optimizer))
        except Exception as exc:  # noqa: BLE001 - an optimizer that cannot be pickled
            warnings.warn(f"storage: optimizer snapshots disabled ({type(exc).__name__}: {exc}); "
                          "resume replays every event", stacklevel=3)
            self._snap_opt = None
            return
        finally:
            if curves:
                history.running_curves = curves
        with self.locked():
            self._q("INSERT INTO snapshots (upto, value) VALUES (?, ?) ON CONFLICT (upto) DO "
                    "UPDATE SET value = excluded.value", (int(upto), blob))
            self._q("DELETE FROM snapshots WHERE upto NOT IN (SELECT upto FROM snapshots "
                    "ORDER BY upto DESC LIMIT 2)")
        self._tells_since_snapshot = 0
        self._snap_time = time.monotonic()
        self._snap_cost = self._snap_time - t0

    def snapshots(self) -> list[tuple[int, bytes]]:
        """Stored snapshots, newest first, as ``(upto, blob)``."""
        try:
            rows = self._q("SELECT upto, value FROM snapshots ORDER BY upto DESC")
        except JournalError:
            return []  # a journal written before snapshots existed
        return [(int(u), bytes(v)) for u, v in rows]

    def snapshot_seqs(self) -> list[int]:
        """The ``upto`` of the stored snapshots, newest first (their blobs are not read)."""
        try:
            return [int(r[0]) for r in self._q("SELECT upto FROM snapshots ORDER BY upto DESC")]
        except JournalError:
            return []

    def snapshot_blob(self, upto: int) -> bytes | None:
        """The stored snapshot at ``upto`` (None when there is none)."""
        rows = self._q("SELECT value FROM snapshots WHERE upto = ?", (int(upto),))
        return bytes(rows[0][0]) if rows else None

    # ------------------------------------------------------------------ trials table
    def trials_table(self) -> TrialsTable:
        """The trials table of every event so far (see :func:`trials_frame`): the one stored
        by :meth:`store_trials_table` (when it is intact and this user's key signed it, or
        ``trust``) extended with the later events, else built from all of them."""
        table = self._stored_table() or TrialsTable()
        with gc_paused():
            rows = self._q("SELECT seq, kind, trial_id, data, t FROM events WHERE seq > ? "
                           "ORDER BY seq", (table.upto,))
            return table.apply(rows, where=self.target.display)

    def store_trials_table(self, table: TrialsTable) -> None:
        """Keep ``table`` (signed) so that the next :meth:`trials_table` decodes only the
        events after it; it replaces the one kept before. The driver stores it at a clean
        stop, when no other process writes."""
        if table.upto <= 0:
            return
        state = {"upto": table.upto, "check": self._table_check(table.upto), "table": table}
        self._q("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                "SET value = excluded.value",
                ("trials_table", sign(pickle.dumps(state, protocol=5))))

    def _table_check(self, upto: int) -> list:
        """What must still hold for a stored table to stand for the events up to ``upto``:
        their number, and the kind and time of the last one."""
        n = self._q("SELECT count(*) FROM events WHERE seq <= ?", (int(upto),))[0][0]
        last = self._q("SELECT kind, t FROM events WHERE seq = ?", (int(upto),))
        return [int(n), *(list(last[0]) if last else [None, None])]

    def _stored_table(self) -> TrialsTable | None:
        raw = self._meta_raw("trials_table")
        if raw is None:
            return None
        payload, ok = verify(raw)
        if not (ok or self.trust):
            return None
        try:
            with gc_paused():
                state = pickle.loads(payload)
            table = state["table"]
            if not isinstance(table, TrialsTable) or table.upto != state["upto"] or \
                    self._table_check(table.upto) != state["check"]:
                return None
        except Exception:  # noqa: BLE001 - a damaged or foreign entry: build from the events
            return None
        return table

    # ------------------------------------------------------------------ driver lease
    def acquire_driver(self, *, stale_after: float = LEASE_STALE_SECONDS) -> None:
        """Become the one process driving this run, or raise :class:`DriverBusyError`
        naming the live holder. A lease not renewed for ``stale_after`` seconds (or whose
        process on this host is gone) is taken over."""
        if self.target.kind == "memory" or self._lease is not None:
            return
        me = _Lease(self, stale_after)
        with self.locked():
            holder = self.driver()
            if holder is not None and not _stale(holder, stale_after):
                raise DriverBusyError(
                    f"storage: the run in {self.path!r} is being driven by pid {holder['pid']} "
                    f"on {holder['host']} (lease renewed {time.time() - holder['heartbeat']:.0f} s "
                    "ago); wait for it to stop, or share the run between processes with "
                    "lowfi.Study(path).work(objective) / ask / tell")
            self._q("INSERT INTO leases (name, host, pid, token, heartbeat) VALUES "
                    "('driver', ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET host = excluded.host, "
                    "pid = excluded.pid, token = excluded.token, heartbeat = excluded.heartbeat",
                    (me.host, me.pid, me.token, time.time()))
        self._lease = me
        me.start()

    def driver(self) -> dict[str, Any] | None:
        """The process holding this run's driver lease (None when none)."""
        try:
            rows = self._q("SELECT host, pid, token, heartbeat FROM leases WHERE name = 'driver'")
        except JournalError:
            return None
        if not rows:
            return None
        host, pid, token, hb = rows[0]
        return {"host": host, "pid": int(pid), "token": token, "heartbeat": float(hb)}

    def driven_by_other(self, stale_after: float = LEASE_STALE_SECONDS) -> dict[str, Any] | None:
        """The live driver of this run if it is another process, else None."""
        holder = self.driver()
        if holder is None or _stale(holder, stale_after):
            return None
        if self._lease is not None and holder["token"] == self._lease.token:
            return None
        return holder

    def release_driver(self) -> None:
        lease, self._lease = self._lease, None
        if lease is None:
            return
        lease.stop()
        with contextlib.suppress(JournalError):
            self._q("DELETE FROM leases WHERE name = 'driver' AND token = ?", (lease.token,))

    def close(self) -> None:
        try:
            self.release_driver()
        finally:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _stale(holder: dict[str, Any], stale_after: float) -> bool:
    if holder["host"] == socket.gethostname():
        try:
            os.kill(holder["pid"], 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
    return time.time() - holder["heartbeat"] > stale_after


class _Lease:
    """The driver lease of one process, renewed by a daemon thread on its own connection."""

    def __init__(self, journal: Journal, stale_after: float):
        self.target = journal.target
        self.host, self.pid, self.token = socket.gethostname(), os.getpid(), secrets.token_hex(8)
        self.every = min(LEASE_HEARTBEAT_SECONDS, stale_after / 3)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._beat, name="lowfi-lease", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        db = None
        try:
            db = _DB(self.target, readonly=False)
            while not self._stop.wait(self.every):
                db.run("UPDATE leases SET heartbeat = ? WHERE name = 'driver' AND token = ?",
                       (time.time(), self.token))
        except Exception:  # noqa: BLE001 - a missed heartbeat only makes the lease go stale
            pass
        finally:
            if db is not None:
                db.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def check_tell(seq: int, data: dict, where: str | None = None) -> None:
    """Raise :class:`JournalError` naming the journal and the event when a result event's
    status or loss is not one lowfi writes (a status of ``STATUSES``; a number, null or a list
    of numbers), so that a damaged or edited journal is never read as a finished result."""
    status, loss = data.get("status"), data.get("loss")
    bad = None
    if status not in STATUSES:
        bad = f"status {status!r} (allowed: {', '.join(STATUSES)})"
    elif not (loss is None or _is_number(loss) or (
            isinstance(loss, list) and loss and all(_is_number(v) for v in loss))):
        bad = f"loss {loss!r} (allowed: a number, null or a list of numbers)"
    if bad:
        raise JournalError(f"storage: event {seq} of the journal {where or ''} is damaged: "
                           f"its result has {bad}".replace("  ", " "))


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def result_from_event(data: dict, seq: int = 0, where: str | None = None) -> Result:
    check_tell(seq, data, where)
    loss = data["loss"]
    if isinstance(loss, list):
        loss = tuple(loss)
    return Result(loss=loss, cost=data["cost"], info=data.get("info") or {}, status=data["status"],
                  error=data.get("error"), curve=[_point(p) for p in data.get("curve") or []])


def trial_from_event(e: Event) -> TrialRecord:
    d = e.data
    b = d["budget"]
    budget = b if isinstance(b, int) and not isinstance(b, bool) else float(b)  # int budgets stay ints
    return TrialRecord(e.trial_id, d["config"], budget, d["config_id"], d.get("info") or {})


_FRAME_FIXED = ("trial_id", "config_id", "budget", "loss", "status", "cost", "start", "end",
                "worker", "bracket", "rung", "error", "info", "asked")
_ABSENT = object()  # a config key a row does not have (NaN in the frame, as pandas fills it)
_SCAN = json.decoder.JSONDecoder().scan_once
_SESSION_STATUS = {"stop": ("running", "cancelled"), "resume": ("cancelled", "running")}


def _decode(seq: int, data: Any, where: str | None = None) -> dict:
    """An event's data: its JSON text decoded by the C scanner (one call per event), with
    :attr:`Event.data`'s checks and error when the text is not one plain JSON value."""
    if isinstance(data, str):
        try:
            value, end = _SCAN(data, 0)
            if end == len(data):
                return value
        except (StopIteration, ValueError):
            pass
    elif isinstance(data, bytes | bytearray | memoryview):
        data = bytes(data)
    else:
        return data
    return Event(seq, "", None, data, 0.0, where).data


class TrialsTable:
    """The rows of :func:`trials_frame`, built column by column from journal events in seq
    order. It can be pickled and extended later with the events after :attr:`upto`, which
    gives the same table as building it from every event."""

    def __init__(self) -> None:
        self.upto = 0  # the last event applied
        self.row: dict[int, int] = {}  # trial_id -> row
        self.cols: dict[str, list] = {k: [] for k in _FRAME_FIXED}
        self.configs: list[dict] = []
        self.curves: dict[int, list] = {}

    def __len__(self) -> int:
        return len(self.configs)

    def apply(self, rows: Any, *, skip_seen: bool = True, where: str | None = None) -> TrialsTable:
        """Apply events given as ``(seq, kind, trial_id, data, t)`` tuples (``data`` a dict
        or its JSON text), in seq order; with ``skip_seen``, events at or before
        :attr:`upto` are skipped."""
        cols, index, curves, configs = self.cols, self.row, self.curves, self.configs
        upto = self.upto
        c_status, c_loss, c_cost = cols["status"], cols["loss"], cols["cost"]
        c_start, c_end, c_worker = cols["start"], cols["end"], cols["worker"]
        c_error, c_info = cols["error"], cols["info"]
        nan = np.nan
        for seq, kind, tid, data, t in rows:
            if seq <= upto:
                if skip_seen:
                    continue
            else:
                upto = seq
            if kind == "tell":
                i = index.get(tid)
                if i is None:
                    continue
                d = _decode(seq, data, where)
                check_tell(seq, d, where)
                loss = d["loss"]
                c_loss[i] = tuple(loss) if isinstance(loss, list) else (
                    nan if loss is None else loss)
                c_status[i], c_cost[i] = d["status"], d["cost"]
                c_start[i], c_end[i], c_worker[i] = d["start"], d["end"], d["worker"]
                c_error[i], c_info[i] = d.get("error"), d.get("info") or {}
                if d.get("curve"):
                    curves[tid] = [_point(p) for p in d["curve"]]
            elif kind == "ask":
                d = _decode(seq, data, where)
                info = d["info"]
                values = (tid, d["config_id"], d["budget"], nan, "running", nan, nan, nan, None,
                          info.get("bracket"), info.get("rung"), None, {}, t)
                i = index.get(tid)
                if i is None:
                    index[tid] = len(configs)
                    configs.append(d["config"])
                    for k, v in zip(_FRAME_FIXED, values, strict=True):
                        cols[k].append(v)
                else:  # asked again: the new ask replaces the row
                    configs[i] = d["config"]
                    for k, v in zip(_FRAME_FIXED, values, strict=True):
                        cols[k][i] = v
            elif kind == "curve":
                d = _decode(seq, data, where)
                curves.setdefault(tid, []).extend(_point(p) for p in d["points"])
            elif kind == "session":
                # a run that ended cleanly cancels its running trials (a resume runs them
                # again); a killed run leaves them "running" until it is resumed
                old, new = _SESSION_STATUS.get(_decode(seq, data, where).get("kind"), (None, None))
                if old is not None and old in c_status:
                    cols["status"] = c_status = [new if s == old else s for s in c_status]
        self.upto = upto
        return self

    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame (see :func:`trials_frame`)."""
        n = len(self.configs)
        from lowfi.core.trial import budget_reached  # the budget a stopped trial reached

        if not n:  # nothing asked yet (e.g. a walltime spent starting a cluster): same columns
            df = pd.DataFrame(columns=[*_FRAME_FIXED, "curve"])  # (object dtype)
            df["budget_reached"] = []
            return df
        # columns in the order pandas gives a list of row dicts: the fixed ones, then each
        # row's config keys and (when it has one) its curve, in order of first appearance
        ids = self.cols["trial_id"]
        curves = {i: self.curves[t] for i, t in enumerate(ids) if t in self.curves}
        order: dict[str, None] = {}
        seen: set[tuple] = set()
        for i, config in enumerate(self.configs):
            keys = (*config, i in curves)
            if keys in seen:
                continue
            seen.add(keys)
            order.update(dict.fromkeys(f"config.{k}" for k in config))
            if i in curves:
                order["curve"] = None
        data: dict[str, Any] = {k: self.cols[k] for k in _FRAME_FIXED}
        for name in order:
            if name == "curve":
                data[name] = [curves.get(i, np.nan) for i in range(n)]
            else:
                k = name[len("config."):]
                col = [c.get(k, _ABSENT) for c in self.configs]
                data[name] = [np.nan if v is _ABSENT else v for v in col] \
                    if any(v is _ABSENT for v in col) else col
        if "curve" not in data:  # last, when no row has one
            data["curve"] = [None] * n
        infos = data.get("info", [None] * n)
        data["budget_reached"] = [budget_reached(s, b, c, i) for s, b, c, i
                                  in zip(data["status"], data["budget"], data["curve"], infos,
                                         strict=True)]
        return pd.DataFrame(data)


def trials_frame(events: list[Event]) -> pd.DataFrame:
    """One row per asked trial: config, budget, loss, status, cost, times, worker, curve.

    ``status`` is ``"ok"``, ``"failed"``, ``"stopped"`` (by a stopping rule), ``"running"``
    (no result yet) or ``"cancelled"`` (still running when the run stopped, e.g. at its
    walltime; ``lowfi.resume`` evaluates it again). ``budget_reached`` is the budget for
    finished trials, the last reported step for stopped ones, None otherwise."""
    with gc_paused():
        where = events[0].where if events else None
        return TrialsTable().apply(((e.seq, e.kind, e.trial_id, e._data, e.t) for e in events),
                                   skip_seen=False, where=where).frame()


def load_trials(path: Any) -> pd.DataFrame:
    """The trials of a stored run as a DataFrame (see :func:`trials_frame`). Opens the
    journal read-only: nothing is written, and a read-only mount works."""
    with Journal(path, create=False) as j:
        frame = j.trials_table().frame()
        settings = j.get_meta("settings", {}) or {}
    return with_scores(frame, settings.get("direction"))


def with_scores(frame: pd.DataFrame, direction: str | None) -> pd.DataFrame:
    """``frame`` with a ``score`` column (the objective's own values) for a maximized run: the
    journal stores the negated score, the ``loss`` the optimizer minimized."""
    if direction == "maximize" and len(frame) and "loss" in frame:
        frame["score"] = frame["loss"].map(
            lambda v: v if v is None or (isinstance(v, float) and math.isnan(v))
            else (tuple(-x for x in v) if isinstance(v, tuple | list) else -v))
    return frame


def checkpoint_root(storage: Any) -> str | None:
    """The folder for the checkpoints of a run stored in ``storage``: ``<file>.checkpoints``
    beside a SQLite journal; None (use a temporary folder, or pass ``checkpoint_dir``) for
    ``":memory:"``, None and database URLs."""
    target = parse_storage(storage)
    return target.location + ".checkpoints" if target.kind == "sqlite" else None
