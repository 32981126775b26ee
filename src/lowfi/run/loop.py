"""The run loop: the only place that joins optimizer, executor and journal.

``ask -> journal -> submit -> wait -> journal -> tell``, until a stop condition holds (the
parts are in :mod:`lowfi.run.runner`). Every event reaches the journal before it is acted on,
so ``resume`` can rebuild the optimizer from the journal and continue exactly where the run
stopped: no finished evaluation is lost or run twice, unfinished ones run again.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import numbers
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import pandas as pd

from lowfi.core.trial import Result, Status, StoppingRule
from lowfi.execution import make_executor
from lowfi.execution._worker import DriverTerminated
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
from lowfi.storage.journal import JournalError, trials_frame  # noqa: F401 - re-exported

DIRECTIONS = ("minimize", "maximize")
#: with ``error_on_all_failed``, a session stops once its first this many trials all failed
FAIL_FAST = 10
P = ParamSpec("P")
R = TypeVar("R")


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


#: keyword arguments of other libraries' optimize calls, and lowfi's names for them
_OTHER_NAMES = {"n_trials": "max_evaluations", "num_samples": "max_evaluations",
                "timeout": "walltime", "time_budget_s": "walltime", "n_jobs": "n_workers",
                "sampler": "optimizer", "search_alg": "optimizer", "scheduler": "optimizer",
                "pruner": "stopping (or a multi-fidelity optimizer)", "config": "space",
                "param_space": "space", "search_space": "space", "mode": "direction",
                "random_state": "seed", "max_budget_per_trial": "max_budget"}


def with_argument_hints(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` with a clearer error for keyword arguments it does not take: lowfi's name for
    those other libraries use (Optuna's ``n_trials``, Ray Tune's ``num_samples``, ...). The
    signature stays ``fn``'s, for type checkers and ``help``. (Warnings inside ``fn`` count
    this wrapper's frame in their ``stacklevel``, so that they point at the caller's line.)"""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        unknown = [k for k in kwargs if k not in signature.parameters]
        for name in unknown:
            hint = _OTHER_NAMES.get(name)
            raise TypeError(f"{fn.__name__}() got an unexpected keyword argument {name!r}"
                            + (f"; lowfi calls it {hint}" if hint else ""))
        return fn(*args, **kwargs)

    return wrapper


@with_argument_hints
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
        (its space and budgets are used when not given; with an int ``seed`` trial ``i`` is
        evaluated with a seed drawn from ``(seed, i)``, so noisy benchmarks repeat).
    optimizer
        A registered name (``lowfi.optimizers.REGISTRY``) or an :class:`Optimizer` instance;
        None: ``lowfi.optimizers.DEFAULT`` for a new run, the stored optimizer for a resumed
        one.
    executor
        ``"inline"``, ``"simulated"``, ``"processes"``, ``"dask"``, ``"ray"``, a Dask scheduler
        address, a ``distributed.Client`` or an Executor. Default: inline for one worker,
        local worker processes (``"processes"``) for several.
    storage
        Path of the SQLite journal (None keeps the run in memory). With ``resume=True`` an
        interrupted run in that file continues.
    max_evaluations, total_budget, walltime
        Stop asking after this many trials, this sum of budgets (checked before each ask: the
        last trial started may end above it by up to its own budget; a trial a stopping rule
        ended counts the budget it reached: the rest is given back), or this many seconds (of
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
        its trials DataFrame, or ``(config, budget, loss)`` rows (with
        ``direction="maximize"``, ``(config, budget, score)`` in the objective's own sign).
        Used when the run is new.
    initial_configs
        Configurations to evaluate first (known-good settings; ``Optimizer.enqueue``).
    direction
        ``"minimize"`` (default for a new run; a resumed run keeps the one it was created
        with, stored in the journal's settings) or ``"maximize"``: the objective returns
        a score (and ``trial.report`` takes scores); the optimizer, the journal's ``loss``
        column see the negated value, ``RunResult.best_loss`` and
        ``RunResult.trials["score"]`` are in the objective's own sign. A stopping rule is
        given in the objective's scale too (``bounds=(0, 1)`` for an accuracy; its
        ``direction`` may be left at the default or set to ``"maximize"``; the values in a
        stopped trial's info are scores), see :meth:`lowfi.StoppingRule.for_run`.
    callbacks
        Callables ``callback(run, finished)`` called in this process after each finished
        trial (see :mod:`lowfi.run.callbacks`; ``run.stop(reason)`` ends the run).
    error_on_all_failed
        Raise :class:`TrialsFailedError` (with the first and the last traceback) when every
        trial of the run failed (default, like scikit-learn's searches), and stop as soon
        as the first ``FAIL_FAST`` (10) trials of a session have all failed rather than
        run on with a broken objective; False: no early stop, and the result is returned
        with a warning.
    checkpoint_dir
        The folder of the trials' checkpoint folders (``trial.checkpoint_dir`` is
        ``<checkpoint_dir>/config_<id>``). Default: ``<journal file>.checkpoints`` next to the
        journal; for a run without a journal file, a temporary folder removed when the run
        ends (pass a folder to keep the checkpoints).
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
    if resume and storage is None:
        warnings.warn("minimize: resume=True has no effect without storage (a run kept in "
                      "memory has nothing to resume); pass storage= the journal of the run to "
                      "continue", stacklevel=3)
    if isinstance(objective, Benchmark):
        objective, space, min_budget, max_budget, eta = _from_benchmark(
            objective, space, min_budget, max_budget, eta, seed)
    limits = Limits(_check_limit("max_evaluations", max_evaluations, integer=True),
                    _check_limit("total_budget", total_budget),
                    _check_limit("walltime", walltime),
                    _check_limit("max_failures", max_failures, integer=True),
                    fail_fast=FAIL_FAST if error_on_all_failed else None)
    _check_arguments(objective, n_workers, stopping, direction, callbacks)
    trial_timeout = _check_limit("trial_timeout", trial_timeout)
    if budget_type is not None:  # the optimizer checks it
        optimizer_kwargs = {**(optimizer_kwargs or {}), "budget_type": budget_type}

    ex = _executor_before_journal(executor, n_workers, trial_timeout, stopping, direction,
                                  resume)
    journal, opt, replayed = open_run(storage, objective, space, optimizer, min_budget,  # type: ignore[arg-type]
                                      max_budget, eta, seed, resume, optimizer_kwargs,
                                      {"max_evaluations": limits.max_evaluations,
                                       "total_budget": limits.total_budget,
                                       "max_failures": limits.max_failures},
                                      prepare=_preparer(warm_start, initial_configs, direction),
                                      trust=True if trust else None)
    replay_events = replayed["events"]
    own_tmp: str | None = None
    try:  # the journal is closed however this ends (closing releases the driver lease)
        stopping = _stored_rule(journal, stopping, bool(replay_events))
        direction = settle_direction(journal, direction, bool(replay_events))
        if stopping is not None:  # bounds and a rule's direction in the objective's scale
            stopping = stopping.for_run(direction)
        if checkpoint_dir is None:
            from lowfi.storage import checkpoint_root  # <file>.checkpoints; None for :memory:/URLs

            checkpoint_dir = checkpoint_root(storage)
            if checkpoint_dir is None:  # a run without a file: a temporary folder, removed at
                checkpoint_dir = own_tmp = tempfile.mkdtemp(prefix="lowfi-ckpt-")  # the end
        journal.session(kind="resume" if replay_events else "start", n_workers=n_workers,
                        executor=getattr(ex, "name", type(ex).__name__))
        if not limits.bounded:
            warnings.warn("minimize: no max_evaluations, total_budget or walltime given; the "
                          "run ends only when the optimizer stops asking, and random search, "
                          "Hyperband and most other optimizers never do: pass one of them",
                          stacklevel=3)
        timer = OverheadTimer()
        built_in: list[Any] = [timer, LogTrials()]
        if stopping is not None:
            built_in.append(PublishStoppingState(stopping))
        if progress:
            built_in.append(_progress_bar(limits))
        state = RunState(n_asked=replayed["n_asked"], asked_budget=replayed["asked_budget"],
                         refunded=replayed["refunded"],
                         n_failed=replayed["n_failed"], n_told=replayed["n_told"])
        runner = Runner(opt, ex, journal, objective=objective, limits=limits, stopping=stopping,
                        checkpoint_dir=checkpoint_dir,
                        callbacks=built_in + list(callbacks or []), state=state,
                        direction=direction)
        _run_recording_the_stop(runner, journal)
        frame = opt.space.restore_choices(_frame(journal, timer.overhead, direction))
    finally:
        journal.close()
        if own_tmp is not None:  # nothing can resume from it, and nothing names it
            shutil.rmtree(own_tmp, ignore_errors=True)
    result = _run_result(runner, frame, storage, ex)
    _check_outcome(result, state, error_on_all_failed)
    return result


def _executor_before_journal(executor: Any, n_workers: int, trial_timeout: float | None,
                             stopping: StoppingRule | None, direction: str | None,
                             resume: bool) -> Any:
    """The run's executor, built (a missing extra, bad options said) before the journal is
    written; a rule that maximizes in a run that minimizes is refused here too."""
    if stopping is not None and (direction == "minimize" or (direction is None and not resume)):
        stopping.for_run("minimize")
    return make_executor(executor if executor is not None else
                         ("inline" if n_workers == 1 else "processes"), n_workers,
                         **({} if trial_timeout is None else {"trial_timeout": trial_timeout}))


def _run_recording_the_stop(runner: Runner, journal: Any) -> None:
    """Run the loop and record why it stopped; SIGTERM and Ctrl-C are clean, announced
    stops too (the running trials then show as cancelled)."""
    try:
        runner.run()
    except (DriverTerminated, KeyboardInterrupt) as exc:
        with contextlib.suppress(Exception):
            journal.session(kind="stop", reason="SIGTERM" if isinstance(
                exc, DriverTerminated) else "interrupted (Ctrl-C)")
        raise
    journal.session(kind="stop", reason=runner.state.stop_reason)


def _warn_low_budget(result: RunResult) -> None:
    """Warn when no trial reached max_budget, so the best result is a low-fidelity one."""
    frame, max_budget = result.trials, getattr(result.optimizer, "max_budget", None)
    if max_budget is None or not len(frame) or "budget" not in frame:
        return
    ok = frame[frame["status"] == Status.OK]
    if len(ok) and float(ok["budget"].max()) < float(max_budget):
        hint = "raise max_evaluations, total_budget or walltime"
        if hasattr(result.optimizer, "ask_verification"):  # cost-aware MF-BO verifies its
            rec = getattr(result.optimizer, "recommend", lambda: None)()  # recommendation
            hint = ("this optimizer measures its recommendation at max_budget only once its "
                    "verification share of the spending allows; pass optimizer_kwargs="
                    "{'max_trials': N} with max_evaluations=N so that the last trial verifies "
                    "it" + (f" (its recommendation now: {rec[0]}, predicted {rec[1]:.6g} at "
                            "max_budget)" if rec else ""))
        warnings.warn(f"minimize: no trial was evaluated at max_budget={max_budget:g} (the "
                      f"highest finished budget is {float(ok['budget'].max()):g}), so best_loss "
                      f"is a low-fidelity result; {hint}", stacklevel=5)


def _check_arguments(objective: Any, n_workers: Any, stopping: Any, direction: Any,
                     callbacks: Any) -> None:
    if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1:
        raise ValueError(f"n_workers: got {n_workers!r}; it must be an int >= 1")
    if stopping is not None and not isinstance(stopping, StoppingRule):
        raise TypeError(f"stopping: got {type(stopping).__name__}; pass a lowfi.StoppingRule or None")
    if direction is not None and direction not in DIRECTIONS:
        raise ValueError(f"direction: got {direction!r}; allowed are 'minimize' and 'maximize'")
    if callbacks is not None and (callable(callbacks) or any(hasattr(callbacks, h) for h in HOOKS)):
        raise TypeError(f"callbacks: got the single callback {callbacks!r}; pass a list of them, "
                        f"e.g. callbacks=[{getattr(callbacks, '__name__', 'callback')}]")
    if callbacks is not None and not isinstance(callbacks, Iterable):
        raise TypeError(f"callbacks: got {callbacks!r}; pass a list of callables "
                        f"callback(run, finished) or objects with hooks ({', '.join(HOOKS)})")
    if callbacks is not None and (isinstance(callbacks, str) or not all(
            callable(c) or any(hasattr(c, h) for h in HOOKS) for c in callbacks)):
        raise TypeError(f"callbacks: got {callbacks!r}; pass a list of callables "
                        f"callback(run, finished) or objects with hooks ({', '.join(HOOKS)})")
    for c in callbacks or ():
        if any(hasattr(c, h) for h in HOOKS):
            continue
        try:
            inspect.signature(c).bind(None, None)
        except TypeError:
            raise TypeError(f"callbacks: {getattr(c, '__name__', c)!r} cannot be called as "
                            "callback(run, finished) (two arguments: the run and the trial that "
                            "just finished)") from None
        except ValueError:  # no signature (some builtins): called as it is
            pass
    if stopping is not None and call_style(objective) == "config_budget":
        warnings.warn("minimize: stopping= has no effect: objective(config, budget) never sees "
                      "the trial; write objective(trial) or objective(config, budget, trial) "
                      "and call trial.report / trial.should_stop", stacklevel=4)


def _from_benchmark(bench: Any, space: Any, min_budget: Any, max_budget: Any, eta: Any,
                    seed: Any) -> tuple[Any, Any, Any, Any, Any]:
    """A benchmark given as the objective: its space and budgets unless given, and its
    evaluations seeded from the run's seed (so noisy ones repeat)."""
    space = bench.space if space is None else space
    if min_budget is None and max_budget is None:
        min_budget, max_budget = bench.min_budget, bench.max_budget
        eta = getattr(bench, "eta", eta)
    objective = bench
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        from lowfi.benchmarks.base import SeededBenchmark

        objective = SeededBenchmark(bench, int(seed))
    return objective, space, min_budget, max_budget, eta


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
    """The trials frame at the end of a run; the table it comes from is kept in the journal,
    so that the next resume decodes only the events after this one."""
    table = journal.trials_table()
    if journal.target.kind != "memory":
        with contextlib.suppress(JournalError):  # only a cache: a full disk must not fail the run
            journal.store_trials_table(table)
    frame = table.frame()
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
               "session_evaluations": state.session_ok + state.session_failed,
               "virtual_time": ex.now() if getattr(ex, "name", "") == "simulated" else None},
        direction=runner.direction,
    )


def _failure_hint(last_line: str, frame: pd.DataFrame) -> str:
    """A likely cause of a run whose trials all failed, from the last error's line."""
    if "'Trial' object is not subscriptable" in last_line:
        return (" An objective with one parameter receives the lowfi.Trial: read "
                "trial.config and trial.budget, or write objective(config, budget).")
    if "int" in last_line and "budget" in frame and any(
            isinstance(b, float) and not float(b).is_integer() for b in frame["budget"]):
        return (" The budgets were not whole numbers; pass budget_type=int to give the "
                "objective integer budgets (rungs rounded).")
    return ""


def _check_outcome(result: RunResult, state: RunState, error_on_all_failed: bool) -> None:
    """Raise (or warn) when every trial failed; warn about other runs without an incumbent."""
    frame = result.trials
    if state.failed_fast:
        last_line = (state.last_error or "").strip().splitlines()[-1:] or [""]
        raise TrialsFailedError(
            f"The first {state.session_failed} trials of this session all failed, so the run "
            f"stopped.{_failure_hint(last_line[0], frame)}\nThe first failure:\n"
            f"{(state.first_error or '').rstrip()}\nThe last failure:\n"
            f"{(state.last_error or '').rstrip()}\nFix the objective and resume, or pass "
            "error_on_all_failed=False to run on regardless.", result)
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
        hint = _failure_hint(last_line, done)
        if not error_on_all_failed:
            warnings.warn(f"minimize: all {len(done)} trials failed (last error: "
                          f"{last_line}).{hint}", stacklevel=4)
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
                      "entry and reports no incumbent. Return a float (for example a weighted "
                      "sum); lowfi's multi-objective optimizer, 'lemonade', searches network "
                      "architectures in its own space", stacklevel=4)


__all__ = ["DIRECTIONS", "RunResult", "TrialsFailedError", "minimize", "open_run", "resume",
           "record_limits", "Result"]
