"""The run loop: the only place that joins optimizer, executor and journal.

``ask -> journal -> submit -> wait -> journal -> tell``, until a stop condition holds. Every
event reaches the journal before it is acted on, so ``resume`` can replay the journal through
a fresh copy of the optimizer and continue exactly where the run stopped: no finished
evaluation is lost or run twice, unfinished ones run again.
"""

from __future__ import annotations

import importlib
import math
import numbers
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lowfi.core.trial import Result, StoppingRule, Trial
from lowfi.execution import make_executor
from lowfi.execution.base import call_style, check_objective
from lowfi.execution.inline import InlineExecutor
from lowfi.optimizers import Optimizer
from lowfi.optimizers import get as get_optimizer
from lowfi.storage.journal import Journal, result_from_event, trial_from_event, trials_frame

#: seconds between flushes of a running trial's reported curve to the journal
CURVE_FLUSH_SECONDS = 1.0


@dataclass
class RunResult:
    """What :func:`minimize` returns."""

    best_config: dict[str, Any] | None
    best_loss: float | None
    trials: pd.DataFrame
    optimizer: Optimizer
    storage: str | None = None
    stop_reason: str = ""
    stats: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"RunResult(best_loss={self.best_loss!r}, best_config={self.best_config!r}, "
                f"n_trials={len(self.trials)}, stop_reason={self.stop_reason!r})")


def _check_limit(name: str, value: Any, integer: bool = False) -> Any:
    if value is None:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0
    if integer:
        ok = ok and isinstance(value, numbers.Integral)
    if not ok or (isinstance(value, float) and not math.isfinite(value)):
        kind = "an int >= 1" if integer else "a number > 0"
        raise ValueError(f"{name}: got {value!r}; allowed are None or {kind}")
    return value


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
    obj = importlib.import_module(mod)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


class _Progress:
    def __init__(self, enabled: bool, total: float | None, unit: str):
        self.enabled = enabled
        if not enabled:
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.p = Progress(TextColumn("[bold]lowfi[/]"), BarColumn(), TextColumn("{task.description}"),
                          TimeElapsedColumn(), transient=False)
        self.task = self.p.add_task("starting", total=total)
        self.unit = unit
        self.p.start()

    def update(self, completed: float, n_done: int, spent: float, best: float | None, n_fail: int) -> None:
        if not self.enabled:
            return
        best_s = "-" if best is None else f"{best:.5g}"
        fail_s = f" | failed {n_fail}" if n_fail else ""
        self.p.update(self.task, completed=completed,
                      description=f"evals {n_done} | budget {spent:g} | best {best_s}{fail_s}")

    def close(self) -> None:
        if self.enabled:
            self.p.stop()


def _new_optimizer(optimizer: Any, space: Any, min_budget: Any, max_budget: Any, eta: Any,
                   seed: Any, optimizer_kwargs: dict[str, Any] | None) -> Optimizer:
    if optimizer is None:
        optimizer = "hyperband"
    if isinstance(optimizer, Optimizer):
        if optimizer.history.records or optimizer.history.pending:
            raise ValueError("optimizer: pass a fresh optimizer (this one has already been asked)")
        return optimizer
    if isinstance(optimizer, str):
        if space is None:
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
    return optimizer if isinstance(optimizer, str) else ("hyperband" if optimizer is None
                                                         else type(opt).__name__)


def _check_settings(stored: dict[str, Any], optimizer: Any, min_budget: Any, max_budget: Any,
                    storage: Any, strict: bool) -> None:
    """Compare settings given for an existing run with those it was created with: an error
    (``strict``, a Study) or a warning (a resumed ``minimize``) when they differ."""
    given = {"optimizer": optimizer if isinstance(optimizer, str) else None,
             "min_budget": min_budget, "max_budget": max_budget}
    diffs = [f"{k}: got {v!r}, but the run was created with {stored.get(k)!r}"
             for k, v in given.items()
             if v is not None and k in stored and stored.get(k) is not None and v != stored[k]]
    if not diffs:
        return
    msg = (f"{'; '.join(diffs)} (run in {os.fspath(storage)!r}); the stored settings are used. "
           "Open it without settings, or choose another path for a new run")
    if strict:
        raise ValueError(msg)
    warnings.warn(msg, stacklevel=3)


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
) -> tuple[Journal, Optimizer, dict[str, Any]]:
    """Open (or create) the journal of a run and rebuild its optimizer by replaying it.

    A new journal stores the pristine optimizer, the settings, the space and (when given) the
    objective; an existing one (``resume=True`` once it holds events) gives back its stored
    optimizer, replayed through every ``ask``/``tell`` event so its state, generator included,
    is exactly the one the run had. ``prepare`` is applied to a new optimizer before it is
    stored (warm start, initial configurations). Returns ``(journal, optimizer, replay
    counts)``.
    """
    journal = Journal(storage if storage is not None else ":memory:")
    replay_events = journal.events(("ask", "tell"))
    if replay_events and not resume:
        journal.close()
        raise ValueError(
            f"storage: {os.fspath(storage)!r} already holds a run with {len(replay_events)} events; "
            "pass resume=True to continue it, or choose another path"
        )
    # a journal without events (a start that failed before its first trial, or a Study not
    # asked yet) is continued only with resume=True; otherwise the run starts afresh in it
    stored = (journal.get_meta("optimizer", None, pickled=True)
              if replay_events or resume else None)
    if stored is not None:
        opt = stored
        _check_settings(journal.get_meta("settings", {}) or {}, optimizer, min_budget,
                        max_budget, storage, strict=False)
    else:
        try:
            opt = _new_optimizer(optimizer, space, min_budget, max_budget, eta, seed,
                                 optimizer_kwargs)
            if prepare is not None:
                prepare(opt)
        except Exception:
            journal.close()
            raise
        settings = {"optimizer": _opt_name(optimizer, opt),
                    "min_budget": min_budget, "max_budget": max_budget, "eta": eta, "seed": _jsonable_seed(seed)}
        journal.set_meta("optimizer", opt, pickled=True)
        journal.set_meta("settings", settings)
        # what `lowfi resume` continues to by default
        journal.set_meta("limits", {k: v for k, v in (limits or {}).items() if v is not None})
        journal.set_meta("space", opt.space.to_json())
        journal.set_meta("objective_ref", None)
        journal.set_meta("objective", None, pickled=True)
    if objective is not None and journal.get_meta("objective_ref") is None \
            and journal.get_meta("objective", pickled=True) is None:
        # stored for `lowfi resume` (a Study created without one gets it on its first optimize)
        journal.set_meta("objective_ref", _objective_ref(objective))
        try:
            journal.set_meta("objective", objective, pickled=True)
        except Exception:  # noqa: BLE001 - some objectives cannot be pickled; resume then needs them passed
            journal.set_meta("objective", None, pickled=True)

    # ---- replay the journal through the pristine optimizer
    n_asked, spent, n_failed, n_told = 0, 0.0, 0, 0
    try:
        for e in replay_events:
            if e.kind == "ask":
                t = opt.ask()
                want = trial_from_event(e)
                if t is None or t.id != want.id or t.budget != want.budget or t.config != want.config:
                    raise RuntimeError(
                        f"resume: the optimizer's ask #{e.trial_id} differs from the journal "
                        f"(journal {want.config} @ {want.budget}, replay "
                        f"{None if t is None else (t.config, t.budget)}); "
                        "the optimizer is not deterministic under its seed"
                    )
                n_asked += 1
                spent += t.budget
            else:
                if e.trial_id not in opt.history.pending:
                    continue
                r = result_from_event(e.data)
                opt.tell(opt.history.pending[e.trial_id], r)
                n_told += 1
                n_failed += r.status == "failed"
    except Exception:
        journal.close()
        raise
    return journal, opt, {"events": replay_events, "n_asked": n_asked, "spent": spent,
                          "n_failed": n_failed, "n_told": n_told}


def _preparer(warm_start: Any, initial_configs: Any) -> Callable[[Optimizer], None] | None:
    if warm_start is None and not initial_configs:
        return None

    def prepare(opt: Optimizer) -> None:
        data = warm_start
        if isinstance(data, str | os.PathLike):
            from lowfi.storage import load_trials

            if not os.path.exists(data):
                raise ValueError(f"warm_start: got {os.fspath(data)!r}, which does not exist; "
                                 "allowed are an earlier run's journal, its trials DataFrame or "
                                 "(config, budget, loss) rows")
            data = load_trials(data)
        if data is not None:
            opt.warm_start(data)
        for i, config in enumerate(initial_configs or []):
            try:
                opt.enqueue(config)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"initial_configs[{i}]: {exc}") from exc

    return prepare


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
) -> RunResult:
    """Minimize ``objective`` over ``space``.

    Parameters
    ----------
    objective
        ``objective(config, budget)`` or ``objective(trial)``, returning a float loss, a tuple
        of losses, or a :class:`lowfi.Result`. A :class:`lowfi.benchmarks.Benchmark` works too
        (its space and budgets are used when not given).
    optimizer
        A registered name (``lowfi.optimizers.REGISTRY``) or an :class:`Optimizer` instance;
        None: ``"hyperband"`` for a new run, the stored optimizer for a resumed one.
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
    stopping
        A :class:`lowfi.StoppingRule` consulted by ``trial.should_stop()``.
    warm_start
        Results known before this run, given to the models (see
        :meth:`lowfi.optimizers.Optimizer.warm_start`): the path of an earlier run's journal,
        its trials DataFrame, or ``(config, budget, loss)`` rows. Used when the run is new.
    initial_configs
        Configurations to evaluate first (known-good settings; ``Optimizer.enqueue``).
    """
    from lowfi.benchmarks.base import Benchmark

    check_objective(objective)
    if isinstance(objective, Benchmark):
        space = objective.space if space is None else space
        if min_budget is None and max_budget is None:
            min_budget, max_budget = objective.min_budget, objective.max_budget
            eta = getattr(objective, "eta", eta)
    max_evaluations = _check_limit("max_evaluations", max_evaluations, integer=True)
    total_budget = _check_limit("total_budget", total_budget)
    walltime = _check_limit("walltime", walltime)
    max_failures = _check_limit("max_failures", max_failures, integer=True)
    if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1:
        raise ValueError(f"n_workers: got {n_workers!r}; it must be an int >= 1")
    if stopping is not None and not isinstance(stopping, StoppingRule):
        raise TypeError(f"stopping: got {type(stopping).__name__}; pass a lowfi.StoppingRule or None")

    if stopping is not None and call_style(objective) == "config_budget":
        warnings.warn("minimize: stopping= has no effect: objective(config, budget) never sees "
                      "the trial; write objective(trial) or objective(config, budget, trial) "
                      "and call trial.report / trial.should_stop", stacklevel=2)
    journal, opt, replayed = open_run(storage, objective, space, optimizer, min_budget,
                                      max_budget, eta, seed, resume, optimizer_kwargs,
                                      {"max_evaluations": max_evaluations,
                                       "total_budget": total_budget,
                                       "max_failures": max_failures},
                                      prepare=_preparer(warm_start, initial_configs))
    replay_events = replayed["events"]
    n_asked, spent = replayed["n_asked"], replayed["spent"]
    n_failed, n_told = replayed["n_failed"], replayed["n_told"]

    if stopping is None:
        stopping = journal.get_meta("stopping", None, pickled=True) if replay_events else None
    elif not replay_events:
        journal.set_meta("stopping", stopping, pickled=True)

    try:
        ex = make_executor(executor if executor is not None else
                           ("inline" if n_workers == 1 else "dask"), n_workers)
    except Exception:
        journal.close()
        raise
    if checkpoint_dir is None:
        checkpoint_dir = (os.fspath(storage) + ".checkpoints") if storage is not None else \
            tempfile.mkdtemp(prefix="lowfi-ckpt-")
    journal.session(kind="resume" if replay_events else "start", n_workers=n_workers,
                    executor=getattr(ex, "name", type(ex).__name__))

    def prepare(trial: Trial) -> Trial:
        trial.flush_interval = CURVE_FLUSH_SECONDS
        trial.checkpoint_dir = os.path.join(checkpoint_dir, f"config_{trial.config_id}")
        os.makedirs(trial.checkpoint_dir, exist_ok=True)
        src = trial.info.get("inherit_config_id")  # weight inheritance (PBT's exploit)
        if src is not None and not os.listdir(trial.checkpoint_dir):
            src_dir = os.path.join(checkpoint_dir, f"config_{src}")
            if os.path.isdir(src_dir):
                shutil.copytree(src_dir, trial.checkpoint_dir, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("*.tmp*"))
        if stopping is not None:
            trial._rule = stopping.for_trial(trial, opt.history)
        return trial

    unit_total = max_evaluations or total_budget or walltime
    bar = _Progress(progress, unit_total, "")
    t_start = time.monotonic()
    stop_reason = ""
    overhead: dict[int, float] = {}
    refused = 0.0

    def limit_hit() -> str:
        if max_evaluations is not None and n_asked >= max_evaluations:
            return "max_evaluations"
        if total_budget is not None and spent >= total_budget:
            return "total_budget"
        if walltime is not None and time.monotonic() - t_start >= walltime:
            return "walltime"
        if max_failures is not None and n_failed >= max_failures:
            return "max_failures"
        return ""

    try:
        ex.start(objective)
        if isinstance(ex, InlineExecutor):  # trials run here: their curves go straight to the journal
            ex.channel = journal.curve
        for trial in list(opt.history.pending.values()):  # unfinished before the interruption
            ex.submit(prepare(trial.detached()))
        if max_evaluations is None and total_budget is None and walltime is None:
            warnings.warn("minimize: no max_evaluations, total_budget or walltime given; the run "
                          "ends only when the optimizer stops asking", stacklevel=2)
        while True:
            stop_reason = limit_hit()
            while not stop_reason and ex.free > 0:
                t0 = time.perf_counter()
                trial = opt.ask()
                if trial is None:  # a refused ask is charged to the next trial asked
                    refused += time.perf_counter() - t0
                    break
                overhead[trial.id] = time.perf_counter() - t0 + refused
                refused = 0.0
                journal.ask(trial)
                n_asked += 1
                spent += trial.budget
                ex.submit(prepare(trial.detached()))
                stop_reason = limit_hit()
            if ex.running == 0:
                stop_reason = stop_reason or "optimizer finished"
                break
            timeout = 4 * CURVE_FLUSH_SECONDS
            if walltime is not None:
                timeout = min(timeout, max(walltime - (time.monotonic() - t_start), 0.0) + 0.05)
            finished = ex.wait(timeout=timeout)
            drained = ex.drain()
            for tid, points in drained:
                journal.curve(tid, points)
                if tid in opt.history.pending:
                    opt.history.running_curves.setdefault(tid, []).extend(
                        (float(a), float(b)) for a, b in points)
            for f in finished:
                journal.tell(f.trial, f.result, f.start, f.end, f.worker)
                t0 = time.perf_counter()
                opt.tell(opt.history.pending[f.trial.id], f.result)
                overhead[f.trial.id] = overhead.get(f.trial.id, 0.0) + time.perf_counter() - t0
                n_told += 1
                n_failed += f.result.status == "failed"
            fresh = finished or (drained and getattr(stopping, "uses_running_curves", False))
            if fresh and stopping is not None and ex.running:
                state = stopping.shared(opt.history)
                if state:
                    ex.publish(state)
            if walltime is not None and time.monotonic() - t_start >= walltime:
                stop_reason = "walltime"
                break
            inc = opt.incumbent()
            if max_evaluations:
                done_units = float(n_told)
            elif total_budget:
                done_units = spent
            else:
                done_units = time.monotonic() - t_start
            bar.update(done_units, n_told, spent, None if inc is None else _scalar(inc[1]), n_failed)
    finally:
        bar.close()
        try:
            ex.cancel_all()
        finally:
            ex.close()
    journal.session(kind="stop", reason=stop_reason)
    frame = trials_frame(journal.events())
    if len(frame):
        frame["overhead"] = frame["trial_id"].map(overhead)
    journal.close()
    inc = opt.incumbent()
    _warn_useless_run(frame, inc, opt)
    return RunResult(
        best_config=None if inc is None else inc[0],
        best_loss=None if inc is None else inc[1],
        trials=frame, optimizer=opt,
        storage=None if storage is None else os.fspath(storage), stop_reason=stop_reason,
        stats={"n_evaluations": n_told, "budget_spent": spent, "n_failed": n_failed,
               "seconds": time.monotonic() - t_start,
               "virtual_time": ex.now() if getattr(ex, "name", "") == "simulated" else None},
    )


def _scalar(loss: Any) -> float:
    return float(loss[0]) if isinstance(loss, tuple) else float(loss)


def _warn_useless_run(frame: pd.DataFrame, inc: Any, opt: Optimizer) -> None:
    """Say so when a run produced no incumbent for a reason the user can fix."""
    if inc is not None or not len(frame) or "status" not in frame:
        return
    done = frame[frame["status"].isin(["ok", "failed", "stopped"])]
    if len(done) and (done["status"] == "failed").all():
        last = str(done["error"].dropna().iloc[-1]).strip().splitlines()[-1] \
            if done["error"].notna().any() else ""
        hint = ""
        if "'Trial' object is not subscriptable" in last:
            hint = (" An objective with one parameter receives the lowfi.Trial: read "
                    "trial.config and trial.budget, or write objective(config, budget).")
        warnings.warn(f"minimize: all {len(done)} trials failed (last error: {last}).{hint}",
                      stacklevel=3)
    elif len(done) and done["loss"].map(lambda v: isinstance(v, tuple)).any() \
            and not getattr(opt, "multi_objective", False):
        warnings.warn(f"minimize: the objective returns tuples (several objectives), but "
                      f"{type(opt).__name__} optimizes one: it ranks by the first entry and "
                      "reports no incumbent. Use 'lemonade' for a Pareto front, or return a "
                      "float", stacklevel=3)


def _jsonable_seed(seed: Any) -> Any:
    return seed if seed is None or isinstance(seed, int) else repr(seed)


def resume(storage: str | os.PathLike, objective: Callable | None = None, **kwargs: Any) -> RunResult:
    """Continue the run stored in ``storage`` (objective taken from the journal if not given).

    Other keyword arguments (stop conditions, executor, n_workers, progress) are those of
    :func:`minimize`; stop conditions count the trials already in the journal. Without any
    of ``max_evaluations``, ``total_budget``, ``walltime``, the run's stored limits apply;
    given ones replace them.
    """
    path = os.fspath(storage)
    j = Journal(path, create=False)
    try:
        if objective is None:
            ref = j.get_meta("objective_ref")
            if ref:
                objective = _resolve_ref(ref)
            else:
                objective = j.get_meta("objective", pickled=True)
        limits = j.get_meta("limits", {})
    finally:
        j.close()
    if objective is None:
        raise ValueError(f"objective: the run in {path!r} did not store its objective; pass it")
    stops = ("max_evaluations", "total_budget", "walltime")
    given = any(kwargs.get(k) is not None for k in stops)
    for k, v in limits.items():
        if k in stops and given:
            continue  # new stop conditions replace the stored ones
        kwargs.setdefault(k, v)
    return minimize(objective, storage=path, resume=True, **kwargs)


def record_limits(storage: str | os.PathLike, **limits: Any) -> None:
    """Store the stop conditions of a run so that ``lowfi resume`` reuses them."""
    j = Journal(storage)
    try:
        j.set_meta("limits", {k: v for k, v in limits.items() if v is not None})
    finally:
        j.close()


__all__ = ["RunResult", "minimize", "open_run", "resume", "record_limits", "Result"]
