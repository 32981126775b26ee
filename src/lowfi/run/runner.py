"""The run loop in parts: a small :class:`Runner` that joins optimizer, executor and journal.

One pass of the loop::

    schedule()   ask -> journal.ask -> executor.submit     while a worker is free
    collect()    executor.wait -> journal.tell -> optimizer.tell -> callbacks
    stop_condition()                                        limits, or run.stop(reason)

Every event reaches the journal before it is acted on, so ``resume`` rebuilds the optimizer
from the journal and continues exactly where the run stopped. The runner reads the optimizer
only through its public methods (``ask``, ``tell``, ``pending_trials``, ``report_curve``,
``incumbent``); progress display, overhead timing, logging and publishing the stopping rule's
shared state are callbacks (:mod:`lowfi.run.callbacks`).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lowfi.core.trial import Status, StoppingRule, Trial, TrialRecord, negate, unused_budget
from lowfi.execution.base import Executor, Finished
from lowfi.optimizers import Optimizer
from lowfi.storage.journal import Journal

#: seconds between flushes of a running trial's reported curve to the journal
CURVE_FLUSH_SECONDS = 1.0
#: how a run stopped by :attr:`Limits.fail_fast` says why (its stop reason starts with it)
FAIL_FAST_REASON = "every trial of this session failed"


@dataclass
class Limits:
    """Stop conditions of a run (None: no limit)."""

    max_evaluations: int | None = None
    total_budget: float | None = None
    walltime: float | None = None
    max_failures: int | None = None
    #: stop once this many trials of this session have finished and every one failed (a
    #: broken objective is reported at once instead of filling the journal); None: never
    fail_fast: int | None = None

    @property
    def bounded(self) -> bool:
        """Whether a limit ends the run even if the optimizer never stops asking."""
        return any(v is not None for v in (self.max_evaluations, self.total_budget,
                                           self.walltime))


@dataclass
class RunState:
    """Counters of a run (trials of earlier sessions of a resumed run included)."""

    n_asked: int = 0
    n_told: int = 0
    n_failed: int = 0
    #: the sum of the asked budgets, in ask order
    asked_budget: float = 0.0
    #: the budgets stopped trials did not use (:func:`lowfi.core.trial.unused_budget`), in
    #: tell order
    refunded: float = 0.0
    t_start: float = field(default_factory=time.monotonic)
    stop_reason: str = ""
    #: set by :meth:`Runner.stop` (a callback): no new trials are asked
    requested_stop: str = ""
    #: tracebacks of the first and the last trial that failed in this session
    first_error: str | None = None
    last_error: str | None = None
    #: seconds the optimizer's last ``tell`` took
    last_tell_seconds: float = 0.0
    #: results of this session: successful (ok or stopped) and failed
    session_ok: int = 0
    session_failed: int = 0

    @property
    def spent(self) -> float:
        """Budget spent: asked budgets less what stopped trials did not use (``total_budget``
        counts this)."""
        return self.asked_budget - self.refunded

    @property
    def failed_fast(self) -> bool:
        """Whether the run stopped because its first trials all failed."""
        return self.stop_reason.startswith(FAIL_FAST_REASON)

    def elapsed(self) -> float:
        return time.monotonic() - self.t_start


def settle_direction(journal: Journal, direction: str | None, resumed: bool) -> str:
    """The run's direction, kept in the journal's settings (``settings["direction"]``): None
    takes the stored one (``"minimize"`` for a run that stored none); a resumed run cannot
    change it."""
    if direction is not None and direction not in ("minimize", "maximize"):
        raise ValueError(f"direction: got {direction!r}; allowed are 'minimize' and 'maximize'")
    settings = journal.get_meta("settings", {}) or {}
    stored = settings.get("direction")
    if direction is None:
        direction = stored or "minimize"
    elif resumed and stored is not None and direction != stored:
        raise ValueError(f"direction: got {direction!r}, but the run was created with "
                         f"{stored!r}; open it without direction or with {stored!r}")
    if stored != direction:
        settings["direction"] = direction
        journal.set_meta("settings", settings)
    return str(direction)


class Runner:
    """Drives one session of a run: ``Runner(...).run()`` returns its :class:`RunState`.

    Parameters
    ----------
    optimizer, executor, journal
        The three parts the runner joins (the executor not yet started).
    objective
        What the executor runs.
    limits
        The stop conditions.
    stopping
        The run's stopping rule (a snapshot per trial goes to the worker), or None.
    checkpoint_dir
        Folder holding one sub-folder per configuration (``config_<config_id>``).
    callbacks
        Called after each finished trial (see :mod:`lowfi.run.callbacks`).
    state
        Counters to continue from (a resumed run), default zeros.
    direction
        ``"minimize"`` or ``"maximize"``: the objective's values are negated for the
        optimizer when maximizing (losses stay on the minimized scale inside).
    """

    def __init__(self, optimizer: Optimizer, executor: Executor, journal: Journal, *,
                 objective: Callable[..., Any], limits: Limits | None = None,
                 stopping: StoppingRule | None = None, checkpoint_dir: str | None = None,
                 callbacks: Sequence[Any] = (), state: RunState | None = None,
                 direction: str = "minimize"):
        self.optimizer = optimizer
        optimizer._warned_tuple = True  # the run loop says it once, at the end of the run
        self.executor = executor
        self.journal = journal
        self.objective = objective
        self.limits = limits or Limits()
        self.stopping = stopping
        self.checkpoint_dir = checkpoint_dir
        self.callbacks = list(callbacks)
        self._after_trial = [cb for cb in self.callbacks if callable(cb)]
        self.state = state or RunState()
        self.direction = direction
        self.maximize = direction == "maximize"

    # ------------------------------------------------------------------ what callbacks use
    @property
    def value_name(self) -> str:
        """How results are called in messages: ``"loss"`` or ``"score"`` (maximized)."""
        return "score" if self.maximize else "loss"

    def user_value(self, loss: Any) -> Any:
        """A loss of the optimizer on the user's scale (negated back when maximizing)."""
        return negate(loss) if self.maximize else loss

    def stop(self, reason: str = "stopped by a callback") -> None:
        """End the run: no new trials are asked; running ones finish and are recorded."""
        self.state.requested_stop = reason or "stopped by a callback"

    # ------------------------------------------------------------------ the loop
    def run(self) -> RunState:
        """Run until a stop condition holds and nothing is running; returns the state."""
        self._begin()
        try:
            while True:
                self.schedule()
                if self.executor.running == 0:
                    self.state.stop_reason = self.stop_condition() or "optimizer finished"
                    break
                self.collect()
                if self._walltime_over():
                    self.state.stop_reason = "walltime"
                    break
        finally:
            self._end()
        return self.state

    def _begin(self) -> None:
        self.executor.start(self.objective)
        link = getattr(self.executor, "dashboard_link", None)
        if link:  # the cluster's own dashboard (Dask, Ray), for `lowfi dashboard` to link
            self.journal.session(kind="executor", executor=self.executor.name, dashboard=link)
        if self.executor.in_process:  # trials run here: reported points are journaled and
            self.executor.channel = self.curve  # reach the optimizer while the trial runs
        self._hook("on_start")
        for record in self.optimizer.pending_trials():  # unfinished before an interruption
            self.executor.submit(self.handle(record))

    def _end(self) -> None:
        try:
            self._hook("on_end")
        finally:
            try:
                self.executor.cancel_all()
            finally:
                self.executor.close()
                if self.executor.in_process:  # the run's journal is closed: an executor the
                    self.executor.channel = None  # user made holds nothing of it (picklable)
                self.executor.objective = None  # type: ignore[assignment]

    def stop_condition(self) -> str:
        """The first stop condition that holds ("" when none does)."""
        s, lim = self.state, self.limits
        if s.requested_stop:
            return s.requested_stop
        if lim.max_evaluations is not None and s.n_asked >= lim.max_evaluations:
            return "max_evaluations"
        if lim.total_budget is not None and s.spent >= lim.total_budget:
            return "total_budget"
        if self._walltime_over():
            return "walltime"
        if lim.max_failures is not None and s.n_failed >= lim.max_failures:
            return "max_failures"
        if lim.fail_fast is not None and s.session_ok == 0 \
                and s.session_failed >= lim.fail_fast:
            return f"{FAIL_FAST_REASON} (the first {s.session_failed})"
        return ""

    def _walltime_over(self) -> bool:
        return self.limits.walltime is not None and self.state.elapsed() >= self.limits.walltime

    # ------------------------------------------------------------------ scheduling
    def schedule(self) -> None:
        """Ask and submit while a worker is free and no stop condition holds."""
        while self.executor.free > 0 and not self.stop_condition():
            record = self._ask()
            if record is None:
                return
            self.journal.ask(record)
            self.state.n_asked += 1
            self.state.asked_budget += record.budget
            self.executor.submit(self.handle(record))

    def _ask(self) -> TrialRecord | None:
        t0 = time.perf_counter()
        record = self.optimizer.ask()
        self._hook("on_ask", record, time.perf_counter() - t0)
        return record

    def handle(self, record: TrialRecord) -> Trial:
        """The worker-side handle of ``record``: checkpoint folder and the rule's snapshot."""
        # the handle gets its own config and info dicts: an objective that changes them
        # (inline, in this process) leaves the optimizer's record as it was asked
        return Trial.from_record(record.detached(), checkpoint_dir=self._checkpoint_dir(record),
                                 rule=(None if self.stopping is None else
                                       self.stopping.for_trial(record, self.optimizer.history)),
                                 flush_interval=CURVE_FLUSH_SECONDS, maximize=self.maximize,
                                 reached=self.optimizer.budget_reached(record.config_id))

    def _checkpoint_dir(self, record: TrialRecord) -> str | None:
        if self.checkpoint_dir is None:
            return None
        path = os.path.join(self.checkpoint_dir, f"config_{record.config_id}")
        # made by the handle when the objective first asks for it, except when inheriting
        src = record.info.get("inherit_config_id")  # weight inheritance (PBT's exploit)
        if src is not None and not (os.path.isdir(path) and os.listdir(path)):
            src_dir = os.path.join(self.checkpoint_dir, f"config_{src}")
            if os.path.isdir(src_dir):
                shutil.copytree(src_dir, path, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("*.tmp*"))
        return path

    # ------------------------------------------------------------------ collecting results
    def collect(self) -> list[Finished]:
        """Wait for finished trials, journal and tell them, and call the callbacks."""
        finished = self.executor.wait(timeout=self._wait_timeout())
        curves = self.executor.drain()
        for tid, points in curves:
            self.curve(tid, points)
        for f in finished:
            self._record(f)
            for cb in self._after_trial:
                cb(self, f)
        self._hook("on_batch", finished, curves)
        return finished

    def curve(self, trial_id: int, points: list) -> None:
        """Points a running trial reported: journaled, then given to the optimizer."""
        self.journal.curve(trial_id, points)
        self.optimizer.report_curve(trial_id, points)

    def _wait_timeout(self) -> float:
        timeout = 4 * CURVE_FLUSH_SECONDS
        if self.limits.walltime is not None:
            left = self.limits.walltime - self.state.elapsed()
            timeout = min(timeout, max(left, 0.0) + 0.05)
        return timeout

    def _record(self, f: Finished) -> None:
        """Journal a finished trial, then tell the optimizer (in that order)."""
        self.journal.tell(f.trial, f.result, f.start, f.end, f.worker)
        t0 = time.perf_counter()
        self.optimizer.tell(f.trial, f.result)
        s = self.state
        s.last_tell_seconds = time.perf_counter() - t0
        s.n_told += 1
        s.refunded += unused_budget(f.result.status, f.trial.budget, f.result.info,
                                    f.result.curve)
        if f.result.status == Status.FAILED:
            s.n_failed += 1
            s.session_failed += 1
            s.first_error = s.first_error or f.result.error or ""
            s.last_error = f.result.error or ""
        else:
            s.session_ok += 1

    def _hook(self, name: str, *args: Any) -> None:
        for cb in self.callbacks:
            fn = getattr(cb, name, None)
            if fn is not None:
                fn(self, *args)


__all__ = ["CURVE_FLUSH_SECONDS", "FAIL_FAST_REASON", "Limits", "RunState", "Runner", "settle_direction"]
