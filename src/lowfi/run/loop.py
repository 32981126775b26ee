"""The run loop: the only place that joins optimizer, executor and journal.

``ask -> journal -> submit -> wait -> journal -> tell``, until a stop condition holds (the
parts are in :mod:`lowfi.run.runner`). Every event reaches the journal before it is acted on,
so ``resume`` can rebuild the optimizer from the journal and continue exactly where the run
stopped: no finished evaluation is lost or run twice, unfinished ones run again.
"""

from __future__ import annotations

import math
import numbers
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lowfi.core.trial import Result, Status, StoppingRule
from lowfi.execution import make_executor
from lowfi.execution.base import call_style, check_objective
from lowfi.optimizers import Optimizer
from lowfi.run.callbacks import HOOKS, LogTrials, OverheadTimer, ProgressBar, PublishStoppingState
from lowfi.run.resume import (  # noqa: F401 - re-exported: they lived here before
    _check_settings,
    _jsonable_seed,
    _new_optimizer,
    _objective_ref,
    _opt_name,
    _preparer,
    _resolve_ref,
    open_run,
    record_limits,
    resume,
)
from lowfi.run.runner import (  # noqa: F401 - CURVE_FLUSH_SECONDS: re-exported
    CURVE_FLUSH_SECONDS,
    Limits,
    Runner,
    RunState,
    settle_direction,
)
from lowfi.storage.journal import trials_frame

DIRECTIONS = ("minimize", "maximize")


class TrialsFailedError(RuntimeError):
    """Every trial of a run failed. ``result`` holds the :class:`RunResult` (its trials frame
    keeps every traceback); the message carries the first and the last one."""

    def __init__(self, message: str, result: RunResult | None = None):
        super().__init__(message)
        self.result = result


@dataclass
class RunResult:
    """What :func:`minimize` returns.

    ``best_config`` and ``best_loss`` are the incumbent: the best finished (``"ok"``) trial
    at the highest budget finished trials reached (a trial a stopping rule ended never counts
    there); ``best_loss`` is a score when the run maximized. ``trials`` has one row per trial
    asked: ``trial_id``, ``config_id``, ``budget``, ``loss`` (minimized scale), ``status``
    (:class:`lowfi.Status`), ``budget_reached`` (the last step a stopped trial reported),
    ``cost``, ``start``, ``end``, ``worker``, ``error``, ``curve``, ``overhead`` (seconds in
    the optimizer), ``config.<name>`` columns, and ``score`` when maximizing. ``stats`` holds
    counts, budget spent and seconds.
    """

    best_config: dict[str, Any] | None
    best_loss: float | None
    trials: pd.DataFrame
    optimizer: Optimizer
    storage: str | None = None
    stop_reason: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    #: ``"minimize"`` or ``"maximize"``; ``best_loss`` is in the objective's own sign
    direction: str = "minimize"

    def __repr__(self) -> str:
        return (f"RunResult(best_loss={self.best_loss!r}, best_config={self.best_config!r}, "
                f"n_trials={len(self.trials)}, stop_reason={self.stop_reason!r})")


def _check_limit(name: str, value: Any, integer: bool = False) -> Any:
    if value is None:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value) > 0
    if integer:
        ok = ok and isinstance(value, numbers.Integral)
    if not ok or (isinstance(value, float) and not math.isfinite(value)):
        kind = "an int >= 1" if integer else "a number > 0"
        raise ValueError(f"{name}: got {value!r}; allowed are None or {kind}")
    return value


def minimize(
    objective: Callable[..., Any],
    space: Any = None,
    optimizer: str | Optimizer | None = None,
    *,
    min_budget: float | None = None,
    max_budget: float | None = None,
    eta: float = 3,
    n_workers: int = 1,
    executor: Any = None,
    storage: str | os.PathLike | None = None,
    resume: bool = False,
    max_evaluations: int | None = None,
    total_budget: float | None = None,
    walltime: float | None = None,
    max_failures: int | None = None,
    seed: Any = 0,
    progress: bool = True,
    stopping: StoppingRule | None = None,
    checkpoint_dir: str | None = None,
    optimizer_kwargs: dict[str, Any] | None = None,
    warm_start: Any = None,
    initial_configs: list[dict[str, Any]] | None = None,
    direction: str | None = None,
    callbacks: Sequence[Any] | None = None,
    error_on_all_failed: bool = True,
    trial_timeout: float | None = None,
    trust: bool = False,
    budget_type: Any = None,
) -> RunResult:
    """Minimize ``objective`` over ``space`` (or maximize it: ``direction="maximize"``).

    Parameters
    ----------
    objective
        ``objective(config, budget)`` or ``objective(trial)``, returning a float loss, a tuple
        of losses, or a :class:`lowfi.Result`. A :class:`lowfi.benchmarks.Benchmark` works too
        (its space and budgets are used when not given).
    optimizer
        A registered name (``lowfi.optimizers.REGISTRY``) or an :class:`Optimizer` instance;
        None: ``lowfi.optimizers.DEFAULT`` for a new run, the stored optimizer for a resumed
        one.
    executor
        ``"inline"``, ``"simulated"``, ``"processes"``, ``"dask"``, ``"ray"``, a Dask scheduler
        address, a ``distributed.Client`` or an Executor. Default: inline for one worker,
        Dask (a LocalCluster) for several.
    storage
        Path of the SQLite journal (None keeps the run in memory). With ``resume=True`` an
        interrupted run in that file continues.
    max_evaluations, total_budget, walltime
        Stop asking after this many trials, this sum of budgets, or this many seconds (of
        this call; running trials are then cancelled (their worker processes ended; the
        inline executor finishes the trial in hand first) and run again on resume). At least one
        is needed unless the optimizer stops by itself (returns None with nothing running).
    max_failures
        Stop once this many trials failed.
    progress
        Show a progress bar on stderr.
    stopping
        A :class:`lowfi.StoppingRule` consulted by ``trial.should_stop()``.
    warm_start
        Results known before this run, given to the models (see
        :meth:`lowfi.optimizers.Optimizer.warm_start`): the path of an earlier run's journal,
        its trials DataFrame, or ``(config, budget, loss)`` rows. Used when the run is new.
    initial_configs
        Configurations to evaluate first (known-good settings; ``Optimizer.enqueue``).
    direction
        ``"minimize"`` (default for a new run; a resumed run keeps the one it was created
        with, stored in the journal's settings) or ``"maximize"``: the objective returns
        a score (and ``trial.report`` takes scores); the optimizer, the journal's ``loss``
        column and stopping rules see the negated value, ``RunResult.best_loss`` and
        ``RunResult.trials["score"]`` are in the objective's own sign. Leave a stopping
        rule's own ``direction`` at its default.
    callbacks
        Callables ``callback(run, finished)`` called in this process after each finished
        trial (see :mod:`lowfi.run.callbacks`; ``run.stop(reason)`` ends the run).
    error_on_all_failed
        Raise :class:`TrialsFailedError` (with the first and the last traceback) when every
        trial of the run failed (default, like scikit-learn's searches); False: return the
        result with a warning.
    trial_timeout
        Seconds a trial may run before the executor ends it and records it as failed
        (processes, Dask and Ray executors).
    trust
        Load the pickled optimizer, objective and stopping rule of a journal this user's
        machine did not write (see the storage guide's trust model).
    budget_type
        ``int``, ``float`` or None: the type of the budgets trials carry. None infers
        ``int`` when ``min_budget`` and ``max_budget`` are ints and every rung is a whole
        number; ``int`` rounds rungs to the nearest integer (see
        :func:`lowfi.optimizers.base.budget_kind`). Passed to the optimizer.

    Trials are logged on the ``"lowfi"`` logger (INFO per finished trial, WARNING per
    failure); lowfi adds only a ``NullHandler``, so nothing is printed unless logging is
    configured.
    """
    from lowfi.benchmarks.base import Benchmark

    check_objective(objective)
    if isinstance(objective, Benchmark):
        space = objective.space if space is None else space
        if min_budget is None and max_budget is None:
            min_budget, max_budget = objective.min_budget, objective.max_budget
            eta = getattr(objective, "eta", eta)
    limits = Limits(_check_limit("max_evaluations", max_evaluations, integer=True),
                    _check_limit("total_budget", total_budget),
                    _check_limit("walltime", walltime),
                    _check_limit("max_failures", max_failures, integer=True))
    _check_arguments(objective, n_workers, stopping, direction, callbacks)
    trial_timeout = _check_limit("trial_timeout", trial_timeout)
    if budget_type is not None:  # the optimizer checks it
        optimizer_kwargs = {**(optimizer_kwargs or {}), "budget_type": budget_type}

    journal, opt, replayed = open_run(storage, objective, space, optimizer, min_budget,  # type: ignore[arg-type]
                                      max_budget, eta, seed, resume, optimizer_kwargs,
                                      {"max_evaluations": limits.max_evaluations,
                                       "total_budget": limits.total_budget,
                                       "max_failures": limits.max_failures},
                                      prepare=_preparer(warm_start, initial_configs),
                                      trust=True if trust else None)
    replay_events = replayed["events"]
    own_tmp: str | None = None
    try:  # the journal is closed however this ends (closing releases the driver lease)
        stopping = _stored_rule(journal, stopping, bool(replay_events))
        direction = settle_direction(journal, direction, bool(replay_events))
        ex = make_executor(executor if executor is not None else
                           ("inline" if n_workers == 1 else "dask"), n_workers,
                           **({} if trial_timeout is None else {"trial_timeout": trial_timeout}))
        if checkpoint_dir is None:
            from lowfi.storage import checkpoint_root  # <file>.checkpoints; None for :memory:/URLs

            checkpoint_dir = checkpoint_root(storage)
            if checkpoint_dir is None:  # a run without a file: a temporary folder, removed
                checkpoint_dir = own_tmp = tempfile.mkdtemp(prefix="lowfi-ckpt-")  # if unused
        journal.session(kind="resume" if replay_events else "start", n_workers=n_workers,
                        executor=getattr(ex, "name", type(ex).__name__))
        if not limits.bounded:
            warnings.warn("minimize: no max_evaluations, total_budget or walltime given; the "
                          "run ends only when the optimizer stops asking", stacklevel=2)
        timer = OverheadTimer()
        built_in: list[Any] = [timer, LogTrials()]
        if stopping is not None:
            built_in.append(PublishStoppingState(stopping))
        if progress:
            built_in.append(_progress_bar(limits))
        state = RunState(n_asked=replayed["n_asked"], spent=replayed["spent"],
                         n_failed=replayed["n_failed"], n_told=replayed["n_told"])
        runner = Runner(opt, ex, journal, objective=objective, limits=limits, stopping=stopping,
                        checkpoint_dir=checkpoint_dir,
                        callbacks=built_in + list(callbacks or []), state=state,
                        direction=direction)
        runner.run()
        journal.session(kind="stop", reason=state.stop_reason)
        frame = _frame(journal, timer.overhead, direction)
    finally:
        journal.close()
        if own_tmp is not None:
            _remove_if_unused(own_tmp)
    result = _run_result(runner, frame, storage, ex)
    _check_outcome(result, state, error_on_all_failed)
    return result


def _warn_low_budget(result: RunResult) -> None:
    """Warn when no trial reached max_budget, so the best result is a low-fidelity one."""
    frame, max_budget = result.trials, getattr(result.optimizer, "max_budget", None)
    if max_budget is None or not len(frame) or "budget" not in frame:
        return
    ok = frame[frame["status"] == Status.OK]
    if len(ok) and float(ok["budget"].max()) < float(max_budget):
        warnings.warn(f"minimize: no trial was evaluated at max_budget={max_budget:g} (the "
                      f"highest finished budget is {float(ok['budget'].max()):g}), so best_loss "
                      "is a low-fidelity result; raise max_evaluations, total_budget or walltime",
                      stacklevel=4)


def _remove_if_unused(folder: str) -> None:
    """Remove a temporary checkpoint folder that holds no file (only empty folders)."""
    for _, _, files in os.walk(folder):
        if files:
            return
    shutil.rmtree(folder, ignore_errors=True)


def _check_arguments(objective: Any, n_workers: Any, stopping: Any, direction: Any,
                     callbacks: Any) -> None:
    if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1:
        raise ValueError(f"n_workers: got {n_workers!r}; it must be an int >= 1")
    if stopping is not None and not isinstance(stopping, StoppingRule):
        raise TypeError(f"stopping: got {type(stopping).__name__}; pass a lowfi.StoppingRule or None")
    if direction is not None and direction not in DIRECTIONS:
        raise ValueError(f"direction: got {direction!r}; allowed are 'minimize' and 'maximize'")
    if callbacks is not None and (isinstance(callbacks, str) or not all(
            callable(c) or any(hasattr(c, h) for h in HOOKS) for c in callbacks)):
        raise TypeError(f"callbacks: got {callbacks!r}; pass a list of callables "
                        f"callback(run, finished) or objects with hooks ({', '.join(HOOKS)})")
    if stopping is not None and call_style(objective) == "config_budget":
        warnings.warn("minimize: stopping= has no effect: objective(config, budget) never sees "
                      "the trial; write objective(trial) or objective(config, budget, trial) "
                      "and call trial.report / trial.should_stop", stacklevel=3)


def _stored_rule(journal: Any, stopping: StoppingRule | None, resumed: bool) -> Any:
    """The run's stopping rule: the one given (stored for a new run), else the stored one."""
    if stopping is None:
        return journal.get_meta("stopping", None, pickled=True) if resumed else None
    if not resumed:
        journal.set_meta("stopping", stopping, pickled=True)
    return stopping


def _progress_bar(limits: Limits) -> ProgressBar:
    if limits.max_evaluations:
        return ProgressBar(limits.max_evaluations, "evaluations")
    if limits.total_budget:
        return ProgressBar(limits.total_budget, "budget")
    return ProgressBar(limits.walltime, "seconds")


def _frame(journal: Any, overhead: dict[int, float], direction: str) -> pd.DataFrame:
    frame = trials_frame(journal.events())
    if not len(frame):
        return frame
    frame["overhead"] = frame["trial_id"].map(overhead)
    if direction == "maximize" and "loss" in frame:
        frame["score"] = frame["loss"].map(_negate)
    return frame


def _negate(loss: Any) -> Any:
    if loss is None or (isinstance(loss, float) and math.isnan(loss)):
        return loss
    return tuple(-v for v in loss) if isinstance(loss, tuple | list) else -loss


def _run_result(runner: Runner, frame: pd.DataFrame, storage: Any, ex: Any) -> RunResult:
    opt, state = runner.optimizer, runner.state
    inc = opt.incumbent()
    return RunResult(
        best_config=None if inc is None else inc[0],
        best_loss=None if inc is None else runner.user_value(inc[1]),
        trials=frame, optimizer=opt,
        storage=None if storage is None else os.fspath(storage), stop_reason=state.stop_reason,
        stats={"n_evaluations": state.n_told, "budget_spent": state.spent,
               "n_failed": state.n_failed, "seconds": state.elapsed(),
               "virtual_time": ex.now() if getattr(ex, "name", "") == "simulated" else None},
        direction=runner.direction,
    )


def _check_outcome(result: RunResult, state: RunState, error_on_all_failed: bool) -> None:
    """Raise (or warn) when every trial failed; warn about other runs without an incumbent."""
    frame = result.trials
    if result.best_loss is not None:
        _warn_low_budget(result)
        return
    if not len(frame) or "status" not in frame:
        return
    done = frame[frame["status"].isin([Status.OK, Status.FAILED, Status.STOPPED])]
    if len(done) and (done["status"] == Status.FAILED).all():
        errors = [str(e) for e in done["error"] if isinstance(e, str)]
        first, last = (errors[0], errors[-1]) if errors else ("", "")
        last_line = last.strip().splitlines()[-1] if last.strip() else ""
        hint = ""
        if "'Trial' object is not subscriptable" in last_line:
            hint = (" An objective with one parameter receives the lowfi.Trial: read "
                    "trial.config and trial.budget, or write objective(config, budget).")
        elif "int" in last_line and any(isinstance(b, float) and not float(b).is_integer()
                                        for b in done["budget"]):
            hint = (" The budgets were not whole numbers; pass budget_type=int to give the "
                    "objective integer budgets (rungs rounded).")
        if not error_on_all_failed:
            warnings.warn(f"minimize: all {len(done)} trials failed (last error: "
                          f"{last_line}).{hint}", stacklevel=3)
            return
        msg = (f"All {len(done)} trials failed.{hint}\n"
               f"The first failure:\n{first.rstrip()}\n")
        if len(errors) > 1:
            msg += f"The last failure:\n{last.rstrip()}\n"
        msg += "Pass error_on_all_failed=False to get the result anyway."
        raise TrialsFailedError(msg, result)
    if done["loss"].map(lambda v: isinstance(v, tuple)).any() \
            and not getattr(result.optimizer, "multi_objective", False):
        warnings.warn(f"minimize: the objective returns tuples (several objectives), but "
                      f"{type(result.optimizer).__name__} optimizes one: it ranks by the first "
                      "entry and reports no incumbent. Use 'lemonade' for a Pareto front, or "
                      "return a float", stacklevel=3)


__all__ = ["DIRECTIONS", "RunResult", "TrialsFailedError", "minimize", "open_run", "resume",
           "record_limits", "Result"]
