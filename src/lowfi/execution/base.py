"""Executors move trials to workers and results back; they know nothing about algorithms.

Every executor runs trials through :func:`evaluate`, which turns crashes, NaN, infinities and
non-numbers into failed results carrying the traceback or reason: crashes are values, not
exceptions.

The executor-facing API (what a new executor implements and uses)
-----------------------------------------------------------------
* ``start(objective)`` once, before the first submit.
* ``submit(trial)``: ``trial`` is a :class:`lowfi.Trial` handle made by the run loop from the
  optimizer's immutable :class:`~lowfi.core.trial.TrialRecord`, carrying ``checkpoint_dir``
  and the stopping rule's snapshot for this trial (``trial.rule``). The executor connects its
  transport with ``trial.connected(channel=..., state_source=...)`` -- a fresh handle whose
  ``report`` sends curve points through ``channel(trial_id, points)`` and whose
  ``should_stop`` reads the run's shared stopping state from ``state_source()`` -- and runs
  that handle on a worker through :func:`evaluate`. Executors never set private fields of a
  handle.
* ``wait(timeout)`` / ``wait_any``: a list of :class:`Finished` (the handle that ran, its
  :class:`~lowfi.core.trial.Result`, start and end time, the worker's name).
* ``drain()``: curve points streamed since the last call, ``[(trial_id, points)]``.
* ``publish(state)``: make ``state`` (what ``StoppingRule.shared`` returned) readable by the
  ``state_source`` of running trials.
* ``running``, ``free``, ``now()``, ``cancel_all()``, ``close()``.
"""

from __future__ import annotations

import inspect
import os
import socket
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lowfi.core.trial import CurveChannel, Result, Status, Trial, TrialRecord


@dataclass
class Finished:
    """A trial that came back from a worker, with when and where it ran."""

    trial: Trial | TrialRecord
    result: Result
    start: float
    end: float
    worker: str = ""


def call_style(objective: Callable) -> str:
    """How to call ``objective``: ``"trial"`` for ``objective(trial)``, ``"config_budget"`` for
    ``objective(config, budget)``, ``"config_budget_trial"`` for
    ``objective(config, budget, trial)`` (required positional parameters decide)."""
    target = objective.evaluate if hasattr(objective, "evaluate") and not callable(objective) else objective
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return "config_budget"
    params = [p for p in sig.parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    has_varargs = any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values())
    if len(params) == 1 and not has_varargs:
        return "trial"
    if len(params) == 3 and not has_varargs:
        return "config_budget_trial"
    if len(params) == 2 or has_varargs:
        return "config_budget"
    name = getattr(objective, "__name__", objective)
    if not params:
        raise TypeError(f"objective: {name!r} takes no positional argument; write it as "
                        "objective(config, budget), objective(config, budget, trial) or "
                        "objective(trial)")
    raise TypeError(f"objective: {name!r} takes {len(params)} required positional arguments; "
                    "allowed are objective(trial), objective(config, budget) and "
                    "objective(config, budget, trial)")


def takes_trial(objective: Callable) -> bool:
    """True for ``objective(trial)``, False for ``objective(config, budget[, trial])``."""
    return call_style(objective) == "trial"


def check_objective(objective: Any) -> Callable:
    if not callable(objective):
        raise TypeError(
            f"objective: got {type(objective).__name__}; pass a function objective(config, budget), "
            "objective(config, budget, trial) or objective(trial)"
        )
    fn = getattr(objective, "func", objective)  # functools.partial
    if not (inspect.isfunction(fn) or inspect.ismethod(fn)):  # an object with __call__
        call = vars(type(fn)).get("__call__")
        fn = call if inspect.isfunction(call) else fn
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise TypeError(f"objective: got the async function {_name(objective)}; lowfi calls the "
                        "objective in worker threads and processes and needs a plain function: "
                        "wrap it, e.g. def objective(config, budget): return "
                        "asyncio.run(train(config, budget))")
    if inspect.isgeneratorfunction(fn):
        raise TypeError(f"objective: got the generator function {_name(objective)}; return the "
                        "loss, and report intermediate values with trial.report(step, value)")
    call_style(objective)
    return objective


def _name(objective: Any) -> str:
    return getattr(getattr(objective, "func", objective), "__qualname__", repr(objective))


def evaluate(objective: Callable, trial: Trial | TrialRecord,
             clock: Callable[[], float] = time.time) -> Finished:
    """Run ``objective`` on ``trial`` and always return a :class:`Finished` (never raise).

    A stopped trial's result gets status ``"stopped"``, the rule's description in its
    ``info`` and ``info["budget_reached"]``, the last step it reported."""
    if isinstance(trial, TrialRecord):
        trial = trial.handle()
    start = clock()
    t0 = time.perf_counter()
    try:
        style = call_style(objective)
        if style == "trial":
            value = objective(trial)
        elif style == "config_budget_trial":
            value = objective(dict(trial.config), trial.budget, trial)
        else:
            value = objective(dict(trial.config), trial.budget)
        result = trial.to_loss(Result.coerce(value, argument="objective returned"))
    except Exception:  # noqa: BLE001 - a crash is a value: keep the traceback
        result = Result.failed(traceback.format_exc())
    elapsed = time.perf_counter() - t0
    if result.cost is None:
        result.cost = elapsed
    if trial.curve and not result.curve:
        result.curve = list(trial.curve)
    if getattr(trial, "resumed_from", None):  # continued from a checkpoint at this step
        result.info.setdefault("resumed_from", trial.resumed_from)
    last = max((float(p[0]) for p in result.curve), default=None)
    at = getattr(trial, "stopped_at", None)
    ignored = (last is not None and at is not None and last > at
               and last >= float(trial.budget) * (1 - 1e-9))  # trained on to its budget
    if trial.stopped and result.status == Status.OK and not ignored:
        result.status = Status.STOPPED
        try:
            result.info.update(trial.stop_info())
        except Exception:  # noqa: BLE001
            result.info["stopping_rule_error"] = traceback.format_exc()
        if result.curve:
            result.info["budget_reached"] = min(max(float(p[0]) for p in result.curve),
                                                float(trial.budget))
    return Finished(trial, result, start, clock(), worker_name())


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Executor:
    """Runs trials on ``n_workers`` workers.

    The run loop calls :meth:`start` once, then :meth:`submit` while :meth:`free` > 0, and
    :meth:`wait` to collect at least one finished trial; :meth:`close` at the end.
    """

    name = "executor"
    n_workers: int = 1
    #: True for executors whose trials run in the driver's process: the runner then sets
    #: ``channel`` to a callable ``channel(trial_id, points)`` that journals reported curve
    #: points and gives them to the optimizer as they come (others return them from
    #: :meth:`drain`)
    in_process: bool = False
    channel: CurveChannel | None = None

    def start(self, objective: Callable) -> None:
        self.objective = objective

    def submit(self, trial: Trial) -> None:
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> list[Finished]:
        """Block until at least one trial finished (or ``timeout`` seconds passed)."""
        raise NotImplementedError

    def wait_any(self, timeout: float | None = None) -> list[Finished]:
        """The name docs/architecture.md's diagram uses for :meth:`wait`."""
        return self.wait(timeout)

    @property
    def running(self) -> int:
        raise NotImplementedError

    @property
    def free(self) -> int:
        return max(self.n_workers - self.running, 0)

    def now(self) -> float:
        """The executor's clock (wall clock, or virtual time for the simulated executor)."""
        return time.time()

    def cancel_all(self) -> Sequence[Trial | TrialRecord]:
        """Stop waiting for running trials; return them (they count as unfinished)."""
        return []

    def drain(self) -> list[tuple[int, list]]:
        """Curve points that running trials reported since the last call: ``[(trial_id, points)]``."""
        return []

    def publish(self, state: dict) -> None:
        """Make ``state`` readable by running trials (their stopping rules); no-op where
        trials run inline and their rule is snapshotted right before they run."""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class QueueChannel:
    """A picklable curve channel (``trial.connected(channel=...)``) that puts ``(trial_id, points)`` on a queue."""

    def __init__(self, queue: Any):
        self.queue = queue

    def __call__(self, trial_id: int, points: list) -> None:
        try:
            self.queue.put((trial_id, [tuple(p) for p in points]))
        except Exception as exc:  # noqa: BLE001 - a lost progress report must never fail the trial
            warnings.warn(f"trial {trial_id}: {len(points)} curve points could not be streamed "
                          f"({exc!r}); they reach the journal with the result", RuntimeWarning,
                          stacklevel=2)


class MappingSource:
    """A picklable ``state_source`` (``trial.connected(state_source=...)``) reading a shared mapping (a Manager dict proxy)."""

    def __init__(self, mapping: Any):
        self.mapping = mapping

    def __call__(self) -> dict:
        return dict(self.mapping)


def drain_queue(queue: Any) -> list[tuple[int, list]]:
    import queue as _q

    out = []
    while True:
        try:
            out.append(queue.get_nowait())
        except (_q.Empty, EOFError, OSError, BrokenPipeError):
            return out


def check_workers(n_workers: Any) -> int:
    if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1:
        raise ValueError(f"n_workers: got {n_workers!r}; it must be an int >= 1")
    return n_workers
