"""``lowfi.Study``: a durable run you can drive with :meth:`~Study.optimize` or ask/tell.

A study is one journal (a SQLite file or a PostgreSQL database). :meth:`Study.optimize` runs
:func:`lowfi.minimize` on it (and a second call continues the same run); :meth:`Study.ask` /
:meth:`Study.tell` journal every trial handed out and every result before acting on it, so a
loop of your own (a job array, a notebook, a cluster scheduler) survives restarts exactly like
``minimize`` does: open the study again and the optimizer is rebuilt from the journal.

Several processes, on one machine or several, may ask and tell on one study at the same
time: each ask and tell takes the journal's lock (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL
advisory lock), first brings this process's optimizer up to date with the events the others
wrote, then acts and commits, so no trial id or configuration is handed out twice and the
journal stays resumable. While a :meth:`Study.optimize` (or ``lowfi.minimize``) drives the
study, ask/tell from other processes is refused.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import socket
import threading
import time
import warnings
from typing import TYPE_CHECKING, Any

import pandas as pd

from lowfi.core.trial import Result, Status, Trial, TrialRecord, negate, unused_budget
from lowfi.optimizers import Optimizer
from lowfi.run.resume import _check_settings, _replay, open_run
from lowfi.storage.journal import DriverBusyError, Journal, parse_storage, trials_frame

if TYPE_CHECKING:
    from lowfi.run.loop import RunResult


def _check_positive(name: str, value: Any, integer: bool) -> None:
    if value is None:
        return
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0 \
        and math.isfinite(value) and (not integer or isinstance(value, numbers.Integral))
    if not ok:
        raise ValueError(f"{name}: got {value!r}; allowed are None or "
                         f"{'an int >= 1' if integer else 'a number > 0'}")


def _claim_key(trial_id: int) -> str:
    return f"claim:{trial_id}"


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (Linux, from /proc), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _claim() -> dict[str, Any]:
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "start": _process_start(pid),
            "beat": time.time()}


def _claim_alive(claim: dict[str, Any], grace: float) -> bool:
    """Whether the worker that claimed a trial may still be running it."""
    if claim.get("host") == socket.gethostname():
        pid = int(claim.get("pid", -1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # alive, another user's
        start = claim.get("start")
        return start is None or _process_start(pid) in (None, start)
    return time.time() - float(claim.get("beat", 0.0)) <= grace


class _Heartbeat:
    """While a worker evaluates a trial, refresh its claim's ``beat`` every ``interval``
    seconds (its own connection, in a thread)."""

    def __init__(self, storage: str, key: str, interval: float):
        self.storage, self.key, self.interval = storage, key, interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="lowfi-heartbeat")

    def _run(self) -> None:
        journal = None
        try:
            while not self._done.wait(self.interval):
                if journal is None:
                    journal = Journal(self.storage)
                with journal.locked():  # the claim's attempt count stays
                    old = journal.get_meta(self.key) or {}
                    journal.set_meta(self.key, {**_claim(), "attempt": old.get("attempt", 1)})
        except Exception:  # noqa: BLE001 - a missed beat only lets others retry sooner
            pass
        finally:
            if journal is not None:
                journal.close()

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._done.set()
        self._thread.join()


class Study:
    """Open the study in ``storage``, creating it with these settings if it is new.

    Parameters
    ----------
    storage
        Path of the SQLite journal, ``sqlite:///path`` or ``postgresql://user@host/db``. An
        existing study keeps its stored optimizer and settings: open it with the path alone
        (an optimizer, budgets, eta, seed or space that differ from the stored ones are an
        error).
    space, optimizer, min_budget, max_budget, eta, seed, optimizer_kwargs
        As in :func:`lowfi.minimize` (optimizer default ``lowfi.optimizers.DEFAULT``, eta 3,
        seed 0), for a new study.
    trust
        Load the journal's pickled optimizer even when this user's key did not sign it (a
        study someone else created); see the storage guide's trust model.
    snapshot_every
        Store a snapshot of the optimizer every this many results told from this process, so
        reopening replays only the events after it (None: never).
    direction
        ``"minimize"`` (default for a new study) or ``"maximize"``: told values are then
        scores (the optimizer sees their negation) and :attr:`best_loss` is the best score.
        None: the stored direction of an existing study.

    Examples
    --------
    >>> study = lowfi.Study("runs/mlp.db", space, "bohb", min_budget=1, max_budget=27)
    >>> trial = study.ask()
    >>> study.tell(trial, train(trial.config, trial.budget))
    >>> study.optimize(objective, max_evaluations=100, n_workers=4)   # continues the same run
    >>> study.best_config, study.trials
    """

    def __init__(self, storage: str | os.PathLike, space: Any = None,
                 optimizer: str | Optimizer | None = None, min_budget: float | None = None,
                 max_budget: float | None = None, eta: float | None = None, seed: Any = None,
                 optimizer_kwargs: dict[str, Any] | None = None, *, trust: bool = False,
                 snapshot_every: int | None = 50, direction: str | None = None):
        target = parse_storage(storage) if isinstance(storage, str | os.PathLike) else None
        if target is None or target.kind == "memory":
            raise ValueError(f"storage: got {storage!r}; allowed is a file path or a database "
                             "URL (a study is durable; use lowfi.minimize without storage for a "
                             "throwaway run)")
        if snapshot_every is not None and (not isinstance(snapshot_every, int)
                                           or isinstance(snapshot_every, bool) or snapshot_every < 1):
            raise ValueError(f"snapshot_every: got {snapshot_every!r}; allowed are None (no "
                             "snapshots) or an int >= 1 (results between snapshots)")
        if direction is not None and direction not in ("minimize", "maximize"):
            raise ValueError(f"direction: got {direction!r}; allowed are 'minimize', 'maximize' "
                             "or None (the stored direction)")
        self.storage = target.location if target.kind == "sqlite" else os.fspath(storage)
        self._target = target
        self._args = dict(space=space, optimizer=optimizer, min_budget=min_budget,
                          max_budget=max_budget, eta=eta, seed=seed,
                          optimizer_kwargs=optimizer_kwargs)
        self.trust = trust
        self.snapshot_every = snapshot_every
        self._journal: Journal | None = None
        self._open()
        # "minimize" or "maximize" (stored in the settings; None: the stored one)
        from lowfi.run.runner import settle_direction

        try:
            self.direction = settle_direction(self.journal, direction, self._seen > 0)
        except ValueError:
            self.close()
            raise

    def _open(self) -> None:
        a = self._args
        if self._target.kind != "sqlite" or os.path.exists(self.storage):
            self._check_existing()
        self._journal, self.optimizer, replayed = open_run(
            self.storage, None, a["space"], a["optimizer"], a["min_budget"], a["max_budget"],
            3 if a["eta"] is None else a["eta"], 0 if a["seed"] is None else a["seed"], True,
            a["optimizer_kwargs"], trust=self.trust, driver=False)
        events = replayed["events"]
        self._seen = events[-1].seq if events else 0
        self._n_asked, self._spent = replayed["n_asked"], replayed["spent"]
        self._tells = 0
        self._asked_at: dict[int, float] = {}

    def _check_existing(self) -> None:
        from lowfi.space import Space
        from lowfi.storage.journal import EmptyJournalError

        try:
            j = Journal(self.storage, create=False)
        except (FileNotFoundError, EmptyJournalError):
            return  # a new study (maybe being created by another process right now)
        try:
            stored = j.get_meta("settings", {}) or {}
            space_json = j.get_meta("space")
        finally:
            j.close()
        if not stored:
            return
        a = self._args
        _check_settings(stored, a["optimizer"], a["min_budget"], a["max_budget"],
                        self.storage, strict=True, eta=a["eta"], seed=a["seed"],
                        optimizer_kwargs=a["optimizer_kwargs"])
        if a["space"] is not None and space_json is not None \
                and Space.from_any(a["space"]).to_json() != space_json:
            raise ValueError(f"space: differs from the space the study in {self._target.display!r} "
                             "was created with; open it without a space, or choose another path")

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            raise ValueError(f"study: {self._target.display!r} is closed")
        return self._journal

    def _sync(self) -> None:
        """Inside the lock: refuse while another process drives the study, then apply the
        events other processes wrote since this one last looked."""
        j = self.journal
        holder = j.driven_by_other()
        if holder is not None:
            raise DriverBusyError(
                f"study: {self._target.display!r} is being driven by lowfi.minimize in pid "
                f"{holder['pid']} on {holder['host']}; ask/tell once it has stopped")
        news = j.events(("ask", "tell"), after=self._seen)
        if news:
            pending = {tid: float(t.budget) for tid, t in self.optimizer.history.pending.items()}
            _replay(self.optimizer, news)
            self._seen = news[-1].seq
            for e in news:
                if e.kind == "ask":
                    self._n_asked += 1
                    pending[e.trial_id] = float(e.data["budget"])
                    self._spent += pending[e.trial_id]
                elif e.trial_id in pending:  # a stopped trial gives back what it did not use
                    d = e.data
                    self._spent -= unused_budget(d.get("status"), pending.pop(e.trial_id),
                                                 d.get("info"), d.get("curve"))

    def _ask_locked(self) -> Trial | None:
        trial = self.optimizer.ask()
        if trial is not None:
            self._seen = self.journal.ask(trial)
            self._n_asked += 1
            self._spent += float(trial.budget)
            self._asked_at[trial.id] = time.time()
        return trial

    # ------------------------------------------------------------------ ask / tell
    def ask(self) -> Trial | None:
        """The next trial (journaled before it is returned), or None when the optimizer has
        to wait for results or is done. Atomic across processes sharing the study."""
        with self.journal.locked():
            self._sync()
            return self._ask_locked()

    def tell(self, trial: Trial | int, result: Any) -> None:
        """Record ``result`` (a loss, a tuple of losses or a :class:`lowfi.Result`) of ``trial``
        (the trial or its id; a trial another process asked works too), journaled before the
        optimizer learns it."""
        is_id = isinstance(trial, numbers.Integral) and not isinstance(trial, bool)
        tid = int(trial) if is_id else getattr(trial, "id", None)
        if not isinstance(tid, int) or isinstance(tid, bool):
            raise TypeError(f"trial: got {trial!r} of type {type(trial).__name__}; allowed are a "
                            "trial this study asked or its id (an int)")
        from lowfi.optimizers.base import _is_loss_like

        if not isinstance(result, Result) and not _is_loss_like(result):
            raise TypeError(f"result: got {result!r} of type {type(result).__name__}; allowed "
                            "are a number, a tuple of numbers, a lowfi.Result or "
                            "lowfi.Result.failed(reason)")
        res = Result.coerce(result, argument="result")
        if self.direction == "maximize" and res.status != Status.FAILED:
            # the optimizer minimizes the negated score (the caller's Result stays as it is)
            res = dataclasses.replace(res, loss=negate(res.loss))
        with self.journal.locked():
            self._sync()
            pending = self.optimizer.history.pending
            if tid not in pending:
                told = any(getattr(r, "trial_id", None) == tid
                           for r in self.optimizer.history.records)
                why = (f"trial {tid} was already told" if told else
                       f"no trial {tid} was asked in this study")
                raise ValueError(f"trial: got {trial!r}: {why}; allowed are the pending trials "
                                 f"of this study (ids {sorted(pending)})")
            if not is_id and (
                    getattr(trial, "config", None) != pending[tid].config
                    or getattr(trial, "budget", None) != pending[tid].budget):
                raise ValueError(f"trial: got trial {tid} with config {trial.config!r} at budget "
                                 f"{trial.budget!r}, but this study's trial {tid} is "
                                 f"{pending[tid].config!r} at budget {pending[tid].budget!r}: "
                                 "a trial another study asked?")
            end = time.time()
            self._seen = self.journal.tell(pending[tid], res, self._asked_at.pop(tid, end), end,
                                           f"{socket.gethostname()}:{os.getpid()}")
            self._spent -= unused_budget(res.status, float(pending[tid].budget), res.info,
                                         res.curve)
            self.optimizer.tell(pending[tid], res)
            self._tells += 1
            if self.snapshot_every and self._tells % self.snapshot_every == 0:
                try:  # a snapshot only speeds up reopening: its failure must not undo the tell
                    self.journal.snapshot(self.optimizer, upto=self._seen)
                except Exception as exc:  # noqa: BLE001
                    warnings.warn(f"snapshot_every: the optimizer snapshot failed ({exc!r}); the "
                                  "result is kept, and reopening replays the events instead",
                                  stacklevel=2)

    def refresh(self) -> None:
        """Bring this process's view up to date with what other processes told."""
        with self.journal.locked():
            self._sync()

    # ------------------------------------------------------------------ worker loop
    def work(self, objective: Any, *, max_evaluations: int | None = None,
             total_budget: float | None = None, walltime: float | None = None,
             poll: float = 0.5, heartbeat: float = 30.0, max_attempts: int = 2) -> int:
        """Join the study as a worker: ask, evaluate ``objective`` in this process, tell;
        until the study (all its processes together) has handed out ``max_evaluations``
        trials or spent ``total_budget``, ``walltime`` seconds of this call passed, or the
        optimizer is done. Start as many workers as you like (a job array, several machines
        on a PostgreSQL study). While the optimizer waits for results other workers are
        computing, this one checks every ``poll`` seconds. Returns the number of trials
        this process evaluated.

        Each trial a worker takes is claimed in the journal (host, process, a heartbeat
        every ``heartbeat`` seconds while it runs). A trial whose worker died before telling
        its result is run again by the next worker that looks, before any new trial: on the
        same host as soon as its process is gone, from another host once its heartbeat is
        older than ``4 * heartbeat`` seconds. A trial whose workers died ``max_attempts``
        times (a configuration that runs out of memory or crashes the interpreter) is recorded
        as failed instead, so one such configuration cannot stop the study. An objective that
        calls ``sys.exit`` fails its trial, not the worker. Trials taken with :meth:`ask` are
        never claimed, so they are never run again by a worker. Should a presumed-dead worker
        still tell its result, the first result told counts and the later one is dropped."""
        from lowfi.execution._worker import guarded_evaluate
        from lowfi.execution.base import check_objective

        check_objective(objective)
        for name, value, integer in (("max_evaluations", max_evaluations, True),
                                     ("total_budget", total_budget, False),
                                     ("walltime", walltime, False), ("poll", poll, False),
                                     ("heartbeat", heartbeat, False),
                                     ("max_attempts", max_attempts, True)):
            _check_positive(name, value, integer)
        t0, n = time.monotonic(), 0
        while walltime is None or time.monotonic() - t0 < walltime:
            dead: TrialRecord | None = None
            with self.journal.locked():
                self._sync()
                trial, attempts = self._orphan_locked(4 * heartbeat)
                if trial is not None and attempts >= max_attempts:
                    dead, trial = trial, None
                    self._claim_locked(dead.id, attempts)  # this worker records its failure
                if trial is None and dead is None:
                    if (max_evaluations is not None and self._n_asked >= max_evaluations) or \
                            (total_budget is not None and self._spent >= total_budget):
                        break
                    trial = self._ask_locked()
                if trial is not None:
                    self._claim_locked(trial.id, attempts + 1)
                waiting = trial is None and bool(self.optimizer.history.pending)
            if dead is not None:
                self._tell_if_untold(dead.id, Result.failed(
                    f"the worker process died {attempts} times running this trial (killed, "
                    "out of memory, or the interpreter crashed); it is failed so that the "
                    "study goes on"))
                continue
            if trial is None:
                if not waiting:
                    break  # the optimizer is done
                time.sleep(poll)
                continue
            with _Heartbeat(self.storage, _claim_key(trial.id), heartbeat):
                done = guarded_evaluate(objective, trial, catch=(SystemExit,))
            if self._tell_if_untold(trial.id, done.result):
                n += 1
        return n

    def _tell_if_untold(self, trial_id: int, result: Result) -> bool:
        """Tell a worker's result; False when another worker told this trial first."""
        try:
            self.tell(trial_id, result)
        except ValueError as exc:
            if "already told" not in str(exc):
                raise
            return False  # a worker presumed dead told it first
        return True

    def _claim_locked(self, trial_id: int, attempt: int = 1) -> None:
        self.journal.set_meta(_claim_key(trial_id), {**_claim(), "attempt": int(attempt)})

    def _orphan_locked(self, grace: float) -> tuple[TrialRecord | None, int]:
        """Inside the lock: a pending trial whose claiming worker is gone and how many
        workers took it so far, or ``(None, 0)``."""
        for tid, record in sorted(self.optimizer.history.pending.items()):
            claim = self.journal.get_meta(_claim_key(tid))
            if claim and not _claim_alive(claim, grace):
                return record, int(claim.get("attempt", 1))
        return None, 0

    # ------------------------------------------------------------------ run loop
    def optimize(self, objective: Any, **kwargs: Any) -> RunResult:
        """Run :func:`lowfi.minimize` on this study (``n_workers``, ``executor``, stop
        conditions, ``stopping``...: its keyword arguments). Stop conditions count the trials
        already in the study; pending trials from :meth:`ask` are evaluated first. Other
        processes cannot ask/tell while it runs."""
        from lowfi.run.loop import minimize
        from lowfi.run.resume import run_options

        for k in ("storage", "resume", "space", "optimizer"):
            if k in kwargs:
                raise TypeError(f"{k}: set by the study; pass it to lowfi.Study instead")
        self.journal.close()
        self._journal = None
        try:
            a = self._args
            with run_options(trust=self.trust):
                return minimize(objective, a["space"], a["optimizer"],
                                min_budget=a["min_budget"], max_budget=a["max_budget"],
                                eta=3 if a["eta"] is None else a["eta"],
                                seed=0 if a["seed"] is None else a["seed"],
                                optimizer_kwargs=a["optimizer_kwargs"], storage=self.storage,
                                resume=True, **kwargs)
        finally:
            self._open()  # the optimizer as the journal now has it

    # ------------------------------------------------------------------ views
    @property
    def trials(self) -> pd.DataFrame:
        """One row per trial asked so far, by any process (see
        :func:`lowfi.storage.load_trials`; with a ``score`` column when the study maximizes)."""
        from lowfi.storage.journal import with_scores

        frame = with_scores(trials_frame(self.journal.events()), self.direction)
        return self.optimizer.space.restore_choices(frame)

    def incumbent(self) -> tuple[dict[str, Any], Any] | None:
        """Best ``(config, loss)`` at the highest budget seen (None before any result); for a
        study that maximizes, ``(config, score)`` in the objective's own sign."""
        inc = self.optimizer.incumbent()
        if inc is None or self.direction != "maximize":
            return inc
        return inc[0], negate(inc[1])

    @property
    def best_config(self) -> dict[str, Any] | None:
        inc = self.incumbent()
        return None if inc is None else inc[0]

    @property
    def best_loss(self) -> Any:
        """The best loss (the best score for a study that maximizes)."""
        inc = self.incumbent()
        return None if inc is None else inc[1]

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Study({self._target.display!r}, trials={len(self.optimizer.history)} "
                f"finished, {len(self.optimizer.history.pending)} pending)")
