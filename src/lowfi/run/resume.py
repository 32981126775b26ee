"""Opening a run's journal: create it, or rebuild its optimizer from what it stores.

:func:`open_run` is what :func:`lowfi.minimize` and :class:`lowfi.Study` call to get a journal
and an optimizer in the state the journal describes; :func:`resume` continues a stored run.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import json
import numbers
import os
import warnings
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import cloudpickle

from lowfi.optimizers import Optimizer
from lowfi.optimizers import get as get_optimizer
from lowfi.storage.journal import (
    SNAPSHOT_EVERY,
    Journal,
    UntrustedJournalError,
    result_from_event,
    trial_from_event,
)

if TYPE_CHECKING:
    from lowfi.run.loop import RunResult

def _searches_networks(optimizer: Any) -> bool:
    """Whether a registered optimizer name proposes networks (LEMONADE: no space needed)."""
    from lowfi.optimizers import ALIASES, REGISTRY, _load

    name = ALIASES.get(optimizer, optimizer) if isinstance(optimizer, str) else None
    try:
        return name in REGISTRY and bool(getattr(_load(name), "searches_networks", False))
    except ValueError:
        return False


def _objective_ref(objective: Any) -> str | None:
    mod = getattr(objective, "__module__", None)
    qual = getattr(objective, "__qualname__", None)
    if not mod or not qual or mod == "__main__" or "<" in qual:
        return None
    try:
        obj = importlib.import_module(mod)
        for part in qual.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return f"{mod}:{qual}" if obj is objective else None


def _resolve_ref(ref: str) -> Any:
    mod, qual = ref.split(":")
    try:
        obj = importlib.import_module(mod)
        for part in qual.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"objective: the run stored its objective as {ref!r}, which cannot be "
                         f"imported here ({type(exc).__name__}: {exc}); pass the objective, or "
                         "run from the folder the module is found from") from exc
    return obj


def _jsonable_seed(seed: Any) -> Any:
    return seed if seed is None or isinstance(seed, int) else repr(seed)


def _new_optimizer(optimizer: Any, space: Any, min_budget: Any, max_budget: Any, eta: Any,
                   seed: Any, optimizer_kwargs: dict[str, Any] | None) -> Optimizer:
    if optimizer is None:
        from lowfi.optimizers import DEFAULT

        optimizer = DEFAULT
    if isinstance(optimizer, Optimizer):
        if optimizer.history.records or optimizer.history.pending:
            raise ValueError("optimizer: pass a fresh optimizer (this one has already been asked)")
        return optimizer
    if isinstance(optimizer, str):
        if space is None and not _searches_networks(optimizer):  # LEMONADE needs no space
            raise ValueError("space: got None; pass a ConfigurationSpace or dict shorthand")
        kwargs = dict(optimizer_kwargs or {})
        kwargs.update(min_budget=min_budget, max_budget=max_budget, seed=seed)
        from lowfi.optimizers import ALIASES, REGISTRY, _load

        name = ALIASES.get(optimizer, optimizer)
        if name in REGISTRY and getattr(_load(name), "multi_fidelity", False):
            kwargs["eta"] = eta
        return get_optimizer(optimizer, space, **kwargs)
    raise TypeError(f"optimizer: got {type(optimizer).__name__}; pass a name or a lowfi Optimizer")


def _opt_name(optimizer: Any, opt: Optimizer) -> str:
    from lowfi.optimizers import DEFAULT

    return optimizer if isinstance(optimizer, str) else (DEFAULT if optimizer is None
                                                         else type(opt).__name__)


#: what minimize uses when eta / seed are not given: a resumed run compares only other values
_DEFAULTS = {"eta": 3, "seed": 0}


def _check_settings(stored: dict[str, Any], optimizer: Any, min_budget: Any, max_budget: Any,
                    storage: Any, strict: bool, eta: Any = None, seed: Any = None,
                    optimizer_kwargs: Any = None) -> None:
    """Compare settings given for an existing run with those it was created with: an error
    when they differ (a resumed run keeps its settings; silently using the stored ones would
    make a user misread the results). ``strict`` (a Study) compares ``eta`` and ``seed`` even
    when left at their defaults; a resumed ``minimize`` only those given."""
    from lowfi.optimizers import ALIASES

    name = optimizer if isinstance(optimizer, str) else None
    if name is not None and ALIASES.get(name, name) == ALIASES.get(stored.get("optimizer"),
                                                                   stored.get("optimizer")):
        name = None
    given = {"optimizer": name, "min_budget": min_budget, "max_budget": max_budget}
    if strict or eta != _DEFAULTS["eta"]:
        given["eta"] = eta
    if strict or seed != _DEFAULTS["seed"]:
        given["seed"] = None if seed is None else _jsonable_seed(seed)
    if optimizer_kwargs:  # compared when given (their JSON form is what the run stored)
        given["optimizer_kwargs"] = _jsonable_kwargs(optimizer_kwargs)
    diffs = [f"{k}: got {v!r}, but the run was created with {stored.get(k)!r}"
             for k, v in given.items()
             if v is not None and k in stored and stored.get(k) is not None and v != stored[k]]
    if not diffs:
        return
    where = f"{'; '.join(diffs)} (run in {_display(storage)!r})"
    raise ValueError(f"{where}. Resume it without these settings (the stored ones apply), "
                     "or choose another path for a new run")


def _display(storage: Any) -> str:
    from lowfi.storage.journal import parse_storage

    try:
        return parse_storage(storage).display
    except ValueError:
        return repr(storage)


def _qualified_name(objective: Any) -> str | None:
    """``module:qualname`` of a function (of its class for other callables; of the wrapped
    function for a :func:`functools.partial`, whose bound arguments are not compared)."""
    while isinstance(objective, functools.partial):
        objective = objective.func
    obj = objective if hasattr(objective, "__qualname__") else type(objective)
    mod, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    return f"{mod}:{qual}" if mod and qual else None


def _same_name(a: str, b: str) -> bool:
    """Qualified names match; a script's ``__main__`` matches the same script imported."""
    if "functools:partial" in (a, b):  # how partials were named before they were unwrapped
        return True
    (ma, qa), (mb, qb) = a.split(":", 1), b.split(":", 1)
    ma, mb = (m.removeprefix("_lowfi_objective_") for m in (ma, mb))  # files the CLI loaded
    return qa == qb and (ma == mb or "__main__" in (ma, mb))


def _check_resumed(journal: Journal, objective: Any, space: Any) -> None:
    """A resumed run must get the space and the objective it was created with."""
    stored_space = journal.get_meta("space")
    if space is not None and stored_space is not None:
        from lowfi.space import Space

        if Space.from_any(space).to_json() != stored_space:
            raise ValueError(f"space: differs from the space the run in {journal.path!r} was "
                             "created with; resume it without a space (the stored one is used), "
                             "or choose another path for a new run")
    stored_name = journal.get_meta("objective_name")
    name = _qualified_name(objective) if objective is not None else None
    if name and stored_name and not _same_name(name, stored_name):
        raise ValueError(f"objective: got {name}, but the run in {journal.path!r} was created "
                         f"with {stored_name}; resume it with the same objective, or choose "
                         "another path for a new run")


# ---------------------------------------------------------------------- run-time options
_OPTIONS: ContextVar[dict[str, Any] | None] = ContextVar("lowfi_run_options", default=None)


@contextlib.contextmanager
def run_options(**options: Any) -> Iterator[None]:
    """Options for the :func:`open_run` calls made inside (``trust``, ``verify``,
    ``snapshot_every``), for callers that reach it through :func:`lowfi.minimize`."""
    token = _OPTIONS.set({**(_OPTIONS.get() or {}), **options})
    try:
        yield
    finally:
        _OPTIONS.reset(token)


def _option(name: str, value: Any, default: Any) -> Any:
    if value is not None:
        return value
    return (_OPTIONS.get() or {}).get(name, default)


# ---------------------------------------------------------------------- rebuilding
def _rebuildable(optimizer: Any, optimizer_kwargs: Any, seed: Any, prepared: bool) -> bool:
    if not (optimizer is None or isinstance(optimizer, str)) or prepared:
        return False
    if seed is not None and not isinstance(seed, int):
        return False
    try:
        return json.loads(json.dumps(optimizer_kwargs or {})) == (optimizer_kwargs or {})
    except (TypeError, ValueError):
        return False


def _rebuild(journal: Journal) -> Optimizer:
    """The pristine optimizer from the stored settings and space (JSON only)."""
    from lowfi.space import Space

    s = journal.get_meta("settings", {}) or {}
    space_json = journal.get_meta("space")
    if not s.get("rebuildable") or space_json is None:
        raise UntrustedJournalError(
            f"storage: {journal.path!r} was not written by this user (its optimizer has no valid "
            "signature from this user's key) and cannot be rebuilt from its settings alone; pass "
            "trust=True (lowfi resume --trust) only if you trust where the file comes from")
    return _new_optimizer(s["optimizer"], Space.from_json(space_json), s.get("min_budget"),
                          s.get("max_budget"), s.get("eta", 3), s.get("seed"),
                          s.get("optimizer_kwargs"))


def _pristine(journal: Journal) -> Optimizer:
    opt, state = journal.load_pickled("optimizer")
    if state in ("signed", "trusted"):
        return opt
    opt = _rebuild(journal)
    if state == "untrusted":
        warnings.warn(f"storage: {journal.path!r} was not written by this user (its optimizer "
                      "has no valid signature from this user's key): the optimizer is rebuilt "
                      "from the stored settings instead of unpickled", stacklevel=4)
    return opt


def _matches(opt: Optimizer, events: list[Any], upto: int) -> bool:
    """Whether a snapshot's history holds exactly the journal's results up to ``upto``."""
    told: set[int] = set()
    pending: set[int] = set()
    for e in events:
        if e.seq > upto:
            break
        if e.kind == "ask":
            pending.add(e.trial_id)
        elif e.kind == "tell" and e.trial_id in pending:
            pending.discard(e.trial_id)
            told.add(e.trial_id)
    h = opt.history
    return set(h.pending) == pending and \
        {r.trial_id for r in h.records if r.trial_id >= 0} == told


def _from_snapshot(journal: Journal, events: list[Any]) -> tuple[Optimizer, int] | None:
    from lowfi.storage.journal import gc_paused, verify

    for upto in journal.snapshot_seqs():  # newest first; an older one only if it fails
        blob = journal.snapshot_blob(upto)
        if blob is None:
            continue
        payload, ok = verify(blob)
        if not (ok or journal.trust):
            continue
        try:
            with gc_paused():  # many small objects: the collector would rescan them often
                opt = cloudpickle.loads(payload)
        except Exception:  # noqa: BLE001 - a damaged snapshot: try an older one, or replay all
            continue
        if _matches(opt, events, upto):
            return opt, upto
    return None


def _replay(opt: Optimizer, events: list[Any], after: int = 0) -> None:
    """Apply the ask/tell events with seq > ``after`` to ``opt``, checking every ask."""
    warned = opt.__dict__.get("_warned_tuple", False)
    opt._warned_tuple = True  # results told before: no warning about tuple losses again
    try:
        _replay_events(opt, events, after)
    finally:
        opt._warned_tuple = warned


def _replay_events(opt: Optimizer, events: list[Any], after: int) -> None:
    for e in events:
        if e.seq <= after:
            continue
        if e.kind == "ask":
            t = opt.ask()
            want = trial_from_event(e)
            if t is None or t.id != want.id or t.budget != want.budget or t.config != want.config:
                raise RuntimeError(
                    f"resume: the optimizer's ask #{e.trial_id} differs from the journal "
                    f"(journal {want.config} @ {want.budget}, replay "
                    f"{None if t is None else (t.config, t.budget)}); the optimizer is not "
                    "deterministic under its seed, or another process wrote to the journal "
                    "without taking its lock"
                )
        elif e.kind == "tell" and e.trial_id in opt.history.pending:
            opt.tell(opt.history.pending[e.trial_id], result_from_event(e.data, e.seq, e.where))


def _counts(events: list[Any], snapshot: tuple[Optimizer, int] | None = None) -> dict[str, Any]:
    """Trials asked, budget spent, trials failed and told: from the snapshot's history for
    the events it covers (their data is not decoded), from the events after it. The budget
    is summed as the run did: asked budgets in ask order, less what stopped trials did not
    use in tell order (``spent`` = ``asked_budget`` - ``refunded``)."""
    from lowfi.core.trial import unused_budget

    n_asked, asked_budget, refunded, n_failed, n_told = 0, 0.0, 0.0, 0, 0
    asked: dict[int, float] = {}  # running trials: id -> budget
    after = 0
    if snapshot is not None:
        opt, after = snapshot
        h = opt.history
        done = [r for r in h.records if r.trial_id >= 0]  # in tell order
        budgets = {r.trial_id: r.budget for r in done}
        budgets.update({tid: float(t.budget) for tid, t in h.pending.items()})
        for tid in sorted(budgets):  # in ask order, as the run added them up
            asked_budget += budgets[tid]
        for r in done:
            refunded += unused_budget(r.status, r.budget, r.result_info, r.curve)
        n_asked, n_told = len(budgets), len(done)
        n_failed = sum(1 for r in done if r.status == "failed")
        asked = {tid: float(t.budget) for tid, t in h.pending.items()}
    for e in events:
        if e.seq <= after:
            continue
        if e.kind == "ask":
            n_asked += 1
            budget = float(e.data["budget"])
            asked_budget += budget
            asked[e.trial_id] = budget
        elif e.kind == "tell" and e.trial_id in asked:
            budget = asked.pop(e.trial_id)
            n_told += 1
            d = e.data
            n_failed += d.get("status") == "failed"
            refunded += unused_budget(d.get("status"), budget, d.get("info"), d.get("curve"))
    return {"n_asked": n_asked, "spent": asked_budget - refunded, "asked_budget": asked_budget,
            "refunded": refunded, "n_failed": n_failed, "n_told": n_told}


def _state_key(opt: Optimizer) -> Any:
    h = opt.history
    return ([(r.trial_id, r.config_id, r.budget, repr(r.loss), str(r.status)) for r in h.records],
            sorted(h.pending))


def _restore(journal: Journal, events: list[Any], verify: bool,
             data_after: int = 0) -> tuple[Optimizer, dict, list[Any]]:
    """The optimizer in the state the journal describes: the latest valid snapshot plus the
    events after it, or (``verify``, or no usable snapshot) a full replay from the pristine
    optimizer; ``verify`` also checks the snapshot against the full replay. ``events`` may
    lack the data of those at or before ``data_after`` (the oldest snapshot); they are read
    again in full when a replay needs them. Returns the optimizer, the counts and the
    events."""
    snap = _from_snapshot(journal, events)
    if snap is not None and not verify and snap[1] >= data_after:
        opt, upto = snap
        counts = _counts(events, (opt, upto))  # before the replay moves the history on
        _replay(opt, events, after=upto)
        return opt, {"snapshot": upto, **counts}, events
    if data_after > 0:
        events = journal.events(("ask", "tell"))
    opt = _pristine(journal)
    _replay(opt, events)
    if snap is not None:
        other, upto = snap
        _replay(other, events, after=upto)
        a, b = copy.deepcopy(opt), copy.deepcopy(other)
        na, nb = a.ask(), b.ask()
        same_next = (na is None and nb is None) or (
            na is not None and nb is not None and (na.id, na.config, na.budget)
            == (nb.id, nb.config, nb.budget))
        if _state_key(opt) != _state_key(other) or not same_next:
            raise RuntimeError(f"resume(verify=True): the snapshot at event {upto} of "
                               f"{journal.path!r} does not match a full replay of the journal")
    return opt, {"snapshot": None, **_counts(events)}, events


def open_run(
    storage: str | os.PathLike | None,
    objective: Any,
    space: Any,
    optimizer: str | Optimizer,
    min_budget: float | None,
    max_budget: float | None,
    eta: float,
    seed: Any,
    resume: bool,
    optimizer_kwargs: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
    prepare: Callable[[Optimizer], None] | None = None,
    *,
    trust: bool | None = None,
    verify: bool | None = None,
    driver: bool = True,
    snapshot_every: int | None = None,
    strict: bool = False,
) -> tuple[Journal, Optimizer, dict[str, Any]]:
    """Open (or create) the journal of a run and bring its optimizer to the journal's state.

    A new journal stores the pristine optimizer (signed), the settings, the space and (when
    given) the objective. An existing one (``resume=True`` once it holds events) gives back
    its optimizer: the latest snapshot replayed through the later ``ask``/``tell`` events, or
    the pristine optimizer replayed through all of them (``verify=True`` does both and
    compares), so its state, generator included, is exactly the one the run had. Pickled
    parts are loaded only when this user's key signed them or ``trust=True``; otherwise the
    optimizer is rebuilt from the stored settings, or the run is refused.

    ``driver``: take the run's driver lease (one ``minimize`` at a time; another live driver
    is a :class:`lowfi.storage.DriverBusyError`). ``prepare`` is applied to a new optimizer
    before it is stored (warm start, initial configurations). ``strict``: settings that
    differ from the stored ones are an error instead of a warning. Returns ``(journal,
    optimizer, replay counts)``.
    """
    trust = bool(_option("trust", trust, False))
    verify = bool(_option("verify", verify, False))
    snapshot_every = _option("snapshot_every", snapshot_every, SNAPSHOT_EVERY)
    new_file = _new_sqlite_file(storage)
    new_folders = _missing_folders(new_file)
    journal = Journal(storage if storage is not None else ":memory:", trust=trust)
    try:
        if driver:
            journal.acquire_driver()
        # the events up to the oldest snapshot are needed without their data (a resume from
        # a snapshot replays only the later ones): much less to read from a long journal
        data_after = _oldest_snapshot(journal) if resume and not verify else 0
        replay_events = journal.events(("ask", "tell"), data_after=data_after)
        if replay_events and not resume:
            raise ValueError(
                f"storage: {journal.path!r} already holds a run with {len(replay_events)} "
                "events; pass resume=True to continue it, or choose another path")
        # a journal without events (a start that failed before its first trial, or a Study
        # not asked yet) is continued only with resume=True; otherwise it starts afresh
        existing = bool(replay_events) or (resume and journal.has_meta("settings")
                                           and journal.has_meta("optimizer"))
        if not existing:
            if space is None and (optimizer is None or isinstance(optimizer, str)) \
                    and storage is not None and not _searches_networks(optimizer):
                raise ValueError(f"space: got None, and {journal.path!r} holds no run to open; "
                                 "pass a ConfigurationSpace or dict shorthand to start a run "
                                 "there, or check the path")
            opt = _new_optimizer(optimizer, space, min_budget, max_budget, eta, seed,
                                 optimizer_kwargs)
            if prepare is not None:
                prepare(opt)
            settings = {"optimizer": _opt_name(optimizer, opt), "min_budget": min_budget,
                        "max_budget": max_budget, "eta": eta, "seed": _jsonable_seed(seed),
                        "optimizer_kwargs": _jsonable_kwargs(optimizer_kwargs),
                        "rebuildable": _rebuildable(optimizer, optimizer_kwargs, seed,
                                                    prepare is not None)}
            with journal.locked():
                # several processes may create one study at once: the first one wins
                existing = resume and journal.has_meta("settings") \
                    and journal.has_meta("optimizer")
                if not existing:
                    _store_new(journal, opt, settings, limits)
            if existing:
                replay_events = journal.events(("ask", "tell"))
            else:
                info = {"snapshot": None, **_counts(replay_events)}
        if existing:
            _check_settings(journal.get_meta("settings", {}) or {}, optimizer, min_budget,
                            max_budget, journal.path, strict=strict, eta=eta, seed=seed,
                            optimizer_kwargs=optimizer_kwargs)
            _check_resumed(journal, objective, space)
            opt, info, replay_events = _restore(journal, replay_events, verify, data_after)
        if objective is not None and journal.get_meta("objective_name") is None:
            _store_objective(journal, objective)
        if driver:
            journal.attach(opt, snapshot_every)
    except BaseException:
        _close_failed(journal, new_file, new_folders)
        raise
    return journal, opt, {"events": replay_events, **info}


def _oldest_snapshot(journal: Journal) -> int:
    """The event the oldest stored snapshot stands for (0 when there is none)."""
    snaps = journal.snapshot_seqs()
    return min(snaps) if snaps else 0


def _close_failed(journal: Journal, new_file: str | None, new_folders: list[str]) -> None:
    """Close the journal of a run that failed to open; remove the file (and the folders
    created for it, when empty) when this call created it and no run was stored in it (a
    run that never started leaves no file)."""
    stored = True
    if new_file is not None:
        with contextlib.suppress(Exception):
            stored = journal.has_meta("settings")
    journal.close()
    if new_file is not None and not stored:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.remove(new_file + suffix)
        for folder in new_folders:  # deepest first; a folder something else wrote to stays
            with contextlib.suppress(OSError):
                os.rmdir(folder)


def _new_sqlite_file(storage: Any) -> str | None:
    """The path of the SQLite file ``storage`` names when it does not exist yet (None for
    an existing file, memory or a database server)."""
    from lowfi.storage.journal import parse_storage

    if storage is None:
        return None
    try:
        target = parse_storage(storage)
    except Exception:  # noqa: BLE001 - Journal() raises the clear error
        return None
    if target.kind != "sqlite" or os.path.exists(target.location):
        return None
    return str(target.location)


def _missing_folders(path: str | None) -> list[str]:
    """The folders above ``path`` that do not exist yet, deepest first (the journal
    creates them; a run that never starts removes them again)."""
    out: list[str] = []
    if path is None:
        return out
    folder = os.path.dirname(os.path.abspath(path))
    while folder and not os.path.exists(folder):
        out.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return out


def _store_new(journal: Journal, opt: Optimizer, settings: dict[str, Any],
               limits: dict[str, Any] | None) -> None:
    """The meta entries of a new run (inside the journal's lock)."""
    journal.set_meta("optimizer", opt, pickled=True)
    journal.set_meta("settings", settings)
    # what `lowfi resume` continues to by default
    journal.set_meta("limits", {k: v for k, v in (limits or {}).items()
                                if v is not None})
    journal.set_meta("space", opt.space.to_json())
    journal.set_meta("objective_ref", None)
    journal.set_meta("objective_name", None)
    journal.set_meta("objective", None, pickled=True)


def _jsonable_kwargs(kwargs: Any) -> Any:
    try:
        return json.loads(json.dumps(kwargs or {}))
    except (TypeError, ValueError):
        return None


def _store_objective(journal: Journal, objective: Any) -> None:
    """Store the objective for `lowfi resume` (a Study created without one gets it on its
    first optimize): its import path (signed) and a signed pickle."""
    from lowfi.storage.journal import sign

    ref = _objective_ref(objective)
    with journal.locked():
        journal.set_meta("objective_name", _qualified_name(objective))
        journal.set_meta("objective_ref", ref)
        journal.set_meta("objective_ref_sig",
                         None if ref is None else sign(ref.encode()).decode("latin-1"))
        try:
            journal.set_meta("objective", objective, pickled=True)
        except Exception:  # noqa: BLE001 - some objectives cannot be pickled; resume then needs them passed
            journal.set_meta("objective", None, pickled=True)


def _stored_objective(journal: Journal) -> Any:
    """The objective a journal stored, only from parts this user signed (or ``trust``)."""
    from lowfi.storage.journal import verify

    ref = journal.get_meta("objective_ref")
    if ref:
        sig = journal.get_meta("objective_ref_sig")
        payload, ok = verify(sig.encode("latin-1")) if isinstance(sig, str) else (b"", False)
        if (ok and payload == ref.encode()) or journal.trust:
            return _resolve_ref(ref)
    obj, state = journal.load_pickled("objective")
    if state == "untrusted" or (ref and obj is None):
        raise UntrustedJournalError(
            f"objective: the run in {journal.path!r} was not written by this user (its objective "
            "has no valid signature from this user's key), so it is not loaded; pass the "
            "objective, or trust=True (lowfi resume --trust) only if you trust the file's origin")
    return obj


def _warm_data(warm_start: Any, direction: str | None) -> Any:
    """The warm-start results as the optimizer takes them: a journal path read as its trials
    frame; with ``direction="maximize"``, rows of scores negated (a journal's or trials
    frame's ``loss`` column already holds the negated score)."""
    data = warm_start
    if isinstance(data, str | os.PathLike):
        from lowfi.storage import JournalError, load_trials

        if "://" not in os.fspath(data) and not os.path.exists(data):
            raise ValueError(f"warm_start: got {os.fspath(data)!r}, which does not exist; "
                             "allowed are an earlier run's journal, its trials DataFrame or "
                             "(config, budget, loss) rows")
        try:
            return load_trials(data)
        except JournalError as exc:
            raise ValueError(f"warm_start: cannot read {os.fspath(warm_start)!r} as an "
                             f"earlier run's journal ({exc})") from exc
    if data is None or direction != "maximize" or hasattr(data, "columns"):
        return data
    from lowfi.core.trial import Result, negate
    from lowfi.optimizers.base import _result_rows

    try:
        rows = _result_rows(data)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"warm_start: {exc}") from exc
    return [(c, b, v if isinstance(v, Result) or v is None else negate(v)) for c, b, v in rows]


def _preparer(warm_start: Any, initial_configs: Any,
              direction: str | None = None) -> Callable[[Optimizer], None] | None:
    if warm_start is None and not initial_configs:
        return None
    if isinstance(initial_configs, dict):
        raise ValueError(f"initial_configs: got the dict {initial_configs!r}; pass a list of "
                         f"configurations, e.g. [{initial_configs!r}]")

    def prepare(opt: Optimizer) -> None:
        data = _warm_data(warm_start, direction)
        if data is not None:
            try:
                opt.warm_start(data)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"warm_start: {exc}") from exc
        for i, config in enumerate(initial_configs or []):
            try:
                opt.enqueue(config)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"initial_configs[{i}]: {exc}") from exc

    return prepare


#: the stop conditions a journal may store for :func:`resume`; any other stored key is
#: ignored (a journal is data and never sets options such as ``trust`` or ``executor``)
STORED_LIMITS = ("max_evaluations", "total_budget", "walltime", "max_failures")


def resume(storage: str | os.PathLike, objective: Callable | None = None, *,
           trust: bool = False, verify: bool = False, **kwargs: Any) -> RunResult:
    """Continue the run stored in ``storage`` (objective taken from the journal if not given).

    Other keyword arguments (stop conditions, executor, n_workers, progress) are those of
    :func:`minimize`; stop conditions count the trials already in the journal. Without any
    of ``max_evaluations``, ``total_budget``, ``walltime``, the run's stored limits apply;
    given ones replace them.

    ``trust``: load the journal's pickled parts (optimizer, objective, stopping rule) even
    when this user's key did not sign them; only for journals of known origin. ``verify``:
    replay every event from the pristine optimizer and check the latest snapshot against it
    (by default the snapshot is loaded and only the later events are replayed).
    """
    from lowfi.storage.journal import parse_storage

    target = parse_storage(storage)
    if target.kind == "memory":
        raise ValueError("storage: got ':memory:'; allowed is the path or URL of a stored run")
    path = target.location if target.kind == "sqlite" else os.fspath(storage)
    with Journal(path, create=False, trust=trust) as j:
        if objective is None:
            objective = _stored_objective(j)
        limits = j.get_meta("limits", {}) or {}
    if objective is None:
        raise ValueError(f"objective: the run in {target.display!r} did not store its "
                         "objective; pass it")
    stops = ("max_evaluations", "total_budget", "walltime")
    given = any(kwargs.get(k) is not None for k in stops)
    if not isinstance(limits, dict):
        limits = {}
    ignored = sorted(str(k) for k in limits if k not in STORED_LIMITS)
    if ignored:  # the journal is data: it sets stop conditions, never options such as trust
        warnings.warn(f"resume: ignored the stored limits {', '.join(map(repr, ignored))} of "
                      f"{target.display!r}; stored limits can only be {', '.join(STORED_LIMITS)}",
                      stacklevel=2)
    for k, v in limits.items():
        if k not in STORED_LIMITS or (k in stops and given):
            continue  # new stop conditions replace the stored ones
        if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
            raise ValueError(f"storage: {target.display!r} stores the limit {k}={v!r}; "
                             "allowed are numbers")
        kwargs.setdefault(k, v)
    from lowfi.run.loop import minimize

    with run_options(trust=trust, verify=verify):
        result = minimize(objective, storage=path, resume=True, **kwargs)
    if not result.stats.get("session_evaluations") and \
            result.stop_reason in ("max_evaluations", "total_budget"):
        limit = result.stop_reason
        warnings.warn(f"resume: nothing new ran: the run's {limit}={kwargs.get(limit)!r} is "
                      f"already reached; pass a larger {limit} to continue it", stacklevel=2)
    return result


def record_limits(storage: str | os.PathLike, **limits: Any) -> None:
    """Store the stop conditions of a run so that ``lowfi resume`` reuses them (any of
    :data:`STORED_LIMITS`)."""
    bad = sorted(set(limits) - set(STORED_LIMITS))
    if bad:
        raise ValueError(f"{bad[0]}: got {limits[bad[0]]!r}; the stored limits are "
                         f"{', '.join(STORED_LIMITS)}")
    j = Journal(storage, create=False, readonly=False)
    try:
        j.set_meta("limits", {k: v for k, v in limits.items() if v is not None})
    finally:
        j.close()


__all__ = ["open_run", "record_limits", "resume", "run_options"]
