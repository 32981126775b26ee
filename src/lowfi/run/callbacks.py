"""Callbacks of the run loop: called after each finished trial.

A callback is any callable ``callback(run, finished)``:

* ``run`` -- the :class:`lowfi.run.runner.Runner` driving the run: ``run.optimizer``,
  ``run.state`` (a :class:`~lowfi.run.runner.RunState`: trials asked, told, failed, budget
  spent, seconds elapsed), ``run.executor``, ``run.direction``, and ``run.stop(reason)`` to
  end the run (no new trials are asked; running ones finish);
* ``finished`` -- a :class:`lowfi.execution.Finished`: ``finished.trial`` (``id``,
  ``config``, ``budget``, ``config_id``, ``info``), ``finished.result`` (a
  :class:`lowfi.Result`: ``loss`` on the minimized scale, ``status``, ``cost``, ``error``,
  ``curve``), ``finished.start``, ``finished.end``, ``finished.worker``.

It is called in the driver process after the trial's result is journaled and told to the
optimizer, like Optuna's ``callbacks=[f(study, trial)]`` and Ray Tune's ``Callback``. Pass
them as ``lowfi.minimize(..., callbacks=[...])``.

A callback may also be an object with optional hooks (with or without ``__call__``): ``on_start(run)`` before the first
trial, ``on_ask(run, trial, seconds)`` after each ask (``trial`` None when the optimizer had
to wait), ``on_batch(run, finished_list, curves)`` after each wait of the executor (the
trials that finished and the ``(trial_id, points)`` running trials streamed), and
``on_end(run)`` when the run stops. :class:`Callback` is a base with no-op hooks.

Example::

    def stop_when_good(run, finished):
        if finished.result.status == "ok" and finished.result.loss < 0.05:
            run.stop("good enough")

    lowfi.minimize(objective, space, callbacks=[stop_when_good], max_evaluations=100)
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from lowfi.core.trial import Status

if TYPE_CHECKING:
    from lowfi.execution.base import Finished
    from lowfi.run.runner import Runner

logger = logging.getLogger("lowfi")


#: the optional hooks of a callback object besides ``__call__(run, finished)``
HOOKS = ("on_start", "on_ask", "on_batch", "on_end")


class Callback:
    """Base class with no-op hooks (subclass it and override what you need)."""

    def on_start(self, run: Runner) -> None:
        """Before the first trial is asked."""

    def on_ask(self, run: Runner, trial: Any, seconds: float) -> None:
        """After each ask (``trial`` None when the optimizer had to wait)."""

    def __call__(self, run: Runner, finished: Finished) -> None:
        """After each finished trial (journaled and told)."""

    def on_batch(self, run: Runner, finished: list[Finished], curves: list) -> None:
        """After each wait of the executor."""

    def on_end(self, run: Runner) -> None:
        """When the run stops (also after an error)."""


class OverheadTimer(Callback):
    """Driver time spent in the optimizer per trial (its ask, refused asks before it, and its
    tell), in seconds: ``overhead[trial_id]`` (the ``overhead`` column of the trials frame)."""

    def __init__(self) -> None:
        self.overhead: dict[int, float] = {}
        self._refused = 0.0

    def on_ask(self, run: Runner, trial: Any, seconds: float) -> None:
        if trial is None:  # a refused ask is charged to the next trial asked
            self._refused += seconds
            return
        self.overhead[trial.id] = seconds + self._refused
        self._refused = 0.0

    def __call__(self, run: Runner, finished: Finished) -> None:
        tid = finished.trial.id
        self.overhead[tid] = self.overhead.get(tid, 0.0) + run.state.last_tell_seconds


class PublishStoppingState(Callback):
    """Publishes what the stopping rule shares (:meth:`lowfi.StoppingRule.shared`, e.g. the
    incumbent or rung values) to running trials through the executor, after each wait that
    brought results (or new curve points, for rules that read running curves)."""

    def __init__(self, rule: Any) -> None:
        self.rule = rule

    def on_batch(self, run: Runner, finished: list[Finished], curves: list) -> None:
        fresh = finished or (curves and getattr(self.rule, "uses_running_curves", False))
        if not fresh or not run.executor.running:
            return
        state = self.rule.shared(run.optimizer.history)
        if state:
            run.executor.publish(state)


class LogTrials(Callback):
    """One line per finished trial on the ``"lowfi"`` logger: INFO for finished and stopped
    trials, WARNING for failed ones (with the last line of the error). lowfi adds only a
    ``NullHandler``: configure logging (e.g. ``logging.basicConfig(level="INFO")``) to see
    them."""

    def __call__(self, run: Runner, finished: Finished) -> None:
        t, r = finished.trial, finished.result
        if r.status == Status.FAILED:
            if logger.isEnabledFor(logging.WARNING):
                last = (r.error or "").strip().splitlines()
                logger.warning("trial %d (config %d, budget %g) failed: %s", t.id, t.config_id,
                               t.budget, last[-1] if last else "no reason given")
            return
        if logger.isEnabledFor(logging.INFO):
            value = run.user_value(r.loss)
            shown = f"{value:.6g}" if isinstance(value, float) else repr(value)
            logger.info("trial %d (config %d, budget %g) %s: %s %s in %.3g s", t.id, t.config_id,
                        t.budget, r.status, run.value_name, shown,
                        float(r.cost or 0.0))


class ProgressBar(Callback):
    """A progress bar on stderr (``rich``): evaluations, budget spent, best value, failures.

    ``total`` is the unit the bar fills in (evaluations, budget or seconds, whichever stop
    condition is given; None: an open-ended bar)."""

    #: seconds between redraws (the incumbent is looked up at most this often)
    refresh_seconds = 0.2

    def __init__(self, total: float | None = None, unit: str = "evaluations") -> None:
        self.total, self.unit = total, unit
        self._bar: Any = None
        self._last = -float("inf")

    def on_start(self, run: Runner) -> None:
        import sys

        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("[bold]lowfi[/]"), BarColumn(),
                             TextColumn("{task.description}"), TimeElapsedColumn(),
                             transient=False, console=Console(file=sys.stderr))
        self._task = self._bar.add_task("starting", total=self.total)
        self._bar.start()

    def on_batch(self, run: Runner, finished: list[Finished], curves: list) -> None:
        now = time.monotonic()
        if self._bar is None or now - self._last < self.refresh_seconds:
            return
        self._last = now
        self._draw(run)

    def _draw(self, run: Runner) -> None:
        s = run.state
        done = {"evaluations": float(s.n_told), "budget": s.spent}.get(self.unit, s.elapsed())
        inc = run.optimizer.incumbent()
        value = None if inc is None else run.user_value(inc[1])
        if isinstance(value, tuple | list):  # several objectives: the first one
            value = value[0] if value else None
        best = "-" if value is None else f"{float(value):.5g}"
        fail = f" | failed {s.n_failed}" if s.n_failed else ""
        self._bar.update(self._task, completed=done,
                         description=f"evals {s.n_told} | budget {s.spent:g} | "
                                     f"best {best}{fail}")

    def on_end(self, run: Runner) -> None:
        if self._bar is not None:
            self._draw(run)
            self._bar.stop()
            self._bar = None


__all__ = ["HOOKS", "Callback", "LogTrials", "OverheadTimer", "ProgressBar", "PublishStoppingState"]
