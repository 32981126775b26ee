"""Trials and results: the records that cross every layer boundary.

* :class:`TrialRecord` -- an immutable record of one evaluation asked by an optimizer
  (``id``, ``config``, ``budget``, ``config_id``, ``info``): what ``ask()`` returns, what the
  optimizer's history and the journal keep.
* :class:`Trial` (alias :class:`TrialHandle`) -- the worker-side handle an objective receives:
  the record's fields plus :meth:`~Trial.report`, :meth:`~Trial.should_stop`,
  ``checkpoint_dir`` and the transport (a curve channel, a source of the run's shared
  stopping state) that the executor connects.
* :class:`Result` -- the outcome of one evaluation; :class:`Status` its status.
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Status of a trial (a ``str`` enum): compares equal to its value, ``Status.OK == "ok"``."""

    OK = "ok"
    FAILED = "failed"
    STOPPED = "stopped"
    RUNNING = "running"
    CANCELLED = "cancelled"


_WARNED_ORDER = False  # whether a step reported out of order was warned about

#: statuses a :class:`Result` may carry (a finished evaluation)
STATUSES = (Status.OK.value, Status.FAILED.value, Status.STOPPED.value)


@dataclass
class Result:
    """Outcome of one evaluation.

    Parameters
    ----------
    loss
        The value minimized: a float, or a tuple of floats for multi-objective optimizers.
    cost
        What the evaluation cost (defaults to measured seconds when run by lowfi).
    info
        Free-form, JSON-serializable extra information.
    status
        :class:`Status` (or its string): ``"ok"``, ``"failed"`` (crash, NaN, non-number:
        ``loss`` is None) or ``"stopped"`` (ended early by a stopping rule; ``loss`` is the
        last reported value).
    error
        For failed results: the reason or the traceback.
    curve
        ``[(step, value), ...]`` reported through ``trial.report`` while it ran.
    """

    loss: float | tuple[float, ...] | None
    cost: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    status: Status = Status.OK
    error: str | None = None
    curve: list[tuple[float, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status: got {self.status!r}; allowed are {', '.join(STATUSES)}")
        self.status = Status(self.status)
        if self.cost is not None:
            if not isinstance(self.cost, numbers.Real) or not math.isfinite(self.cost) or self.cost < 0:
                raise ValueError(f"cost: got {self.cost!r}; a cost must be a finite number >= 0")
            self.cost = float(self.cost)

    @classmethod
    def failed(cls, reason: str, cost: float | None = None, info: dict | None = None) -> Result:
        """A failed evaluation carrying ``reason`` (a message or a traceback)."""
        return cls(loss=None, cost=cost, info=dict(info or {}), status=Status.FAILED,
                   error=str(reason))

    @property
    def ok(self) -> bool:
        return self.status != Status.FAILED

    @classmethod
    def coerce(cls, value: Any, *, argument: str = "result") -> Result:
        """Turn what an objective returned into a Result; bad values become failed results.

        Floats, ints and numpy scalars are losses; NaN and infinities are failures; a tuple or
        list of numbers is a multi-objective loss. Anything else is a failure naming the type.
        This is the one place where results are validated.
        """
        if isinstance(value, Result):
            # a copy: the caller's object (often a constant returned again and again) is never
            # changed by what the run does with the result (sign, measured cost, info)
            value = replace(value, info=dict(value.info), curve=list(value.curve))
            if value.status == Status.FAILED:
                value.loss = None  # a failed evaluation has no loss
            else:
                problem = _loss_problem(value.loss)
                if problem:
                    return cls(None, value.cost, value.info, Status.FAILED, problem, value.curve)
                value.loss = _clean_loss(value.loss)
            return value
        problem = _loss_problem(value)
        if problem:
            return cls.failed(f"{argument}: {problem}")
        return cls(loss=_clean_loss(value))


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _loss_problem(loss: Any) -> str | None:
    if _is_number(loss):
        return None if math.isfinite(float(loss)) else f"loss is {float(loss)} (not finite)"
    if isinstance(loss, tuple | list) and loss and all(_is_number(v) for v in loss):
        bad = [float(v) for v in loss if not math.isfinite(float(v))]
        return f"loss has non-finite values {bad}" if bad else None
    return (
        f"got {loss!r} of type {type(loss).__name__}; an objective must return a finite number, "
        "a tuple of finite numbers, or a lowfi.Result"
    )


def _clean_loss(loss: Any) -> float | tuple[float, ...]:
    if _is_number(loss):
        return float(loss)
    return tuple(float(v) for v in loss)


def negate(value: Any) -> Any:
    """A loss and a score are each other's negation (``direction="maximize"``): ``-value``
    for a number, element-wise for a tuple or list (a tuple comes back); None and NaN as they
    are."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return value
    if isinstance(value, tuple | list):
        return tuple(-v for v in value)
    return -value


def budget_reached(status: Any, budget: float, curve: Any, info: Any = None) -> float | None:
    """The budget an evaluation reached: its budget when it finished (``"ok"``); when it was
    stopped early, ``info["budget_reached"]`` if the result says so, else the last reported
    step (at most the budget), else its budget (unknown: counted in full, as ``total_budget``
    does); None when it failed.

    Stopping rules compare reported steps with the trial's budget, so steps are on the
    budget's scale (e.g. epochs)."""
    if status == Status.OK:
        return float(budget)
    if status == Status.STOPPED:
        given = info.get("budget_reached") if isinstance(info, dict) else None
        if isinstance(given, numbers.Real) and not isinstance(given, bool) \
                and math.isfinite(given):
            return min(max(float(given), 0.0), float(budget))
        steps = [float(p[0]) for p in (curve or [])]
        return min(max(steps), float(budget)) if steps else float(budget)
    return None


def unused_budget(status: Any, budget: float, info: Any = None, curve: Any = None) -> float:
    """The part of ``budget`` a trial did not use: for one a stopping rule ended, its budget
    minus the budget it reached (``info["budget_reached"]``, else its last reported step);
    0 otherwise (a finished trial used it all; a failed one is charged in full, as what it
    used is unknown). ``total_budget`` counts asked budgets less these."""
    if status != Status.STOPPED:
        return 0.0
    reached = budget_reached(status, budget, curve, info)
    return max(float(budget) - float(reached if reached is not None else budget), 0.0)


class StoppingRule:
    """Decides inside a running trial whether to stop early (``trial.should_stop()``).

    A rule is a small picklable object. The run loop calls :meth:`for_trial` when it submits a
    trial, giving a snapshot that travels with the trial to the worker (seeded with what is
    known then, e.g. the incumbent); the worker calls :meth:`should_stop` with the trial
    handle, whose ``curve`` holds the reported ``(step, value)`` points. The base rule never
    stops.

    ``history`` is the optimizer's read-only :class:`lowfi.core.History`; a rule must not
    stop a trial on a step its configuration already reached in an earlier rung
    (:meth:`lowfi.core.History.reached` tells how far that was; the trial handle already
    skips steps up to it).
    """

    #: whether :meth:`shared` reads ``history.running_curves``: the run loop then also
    #: publishes when running trials stream new points, not only when a trial finishes
    uses_running_curves: bool = False

    def for_trial(self, trial: TrialLike, history: Any) -> StoppingRule:
        """The snapshot that travels with ``trial`` (the record the optimizer asked)."""
        return self

    def should_stop(self, trial: Trial) -> bool:
        return False

    def describe(self, trial: Trial) -> dict[str, Any]:
        """Extra information to keep with a stopped trial (e.g. a predicted final value)."""
        return {}

    def shared(self, history: Any) -> dict[str, Any] | None:
        """What running trials' rules should learn after each result (e.g. the new incumbent);
        the run loop publishes it through the executor's channel. None: nothing to share."""
        return None

    def update(self, state: dict[str, Any]) -> None:
        """Receive what :meth:`shared` published (worker side)."""

    def for_run(self, direction: str) -> StoppingRule:
        """The rule as a run with ``direction`` uses it.

        A maximizing run (``minimize(direction="maximize")``) passes the rule its losses, the
        negated scores. A user writes the rule in the objective's own scale: its ``bounds``
        (e.g. ``(0, 1)`` for an accuracy) are mirrored onto the loss scale, and a rule given
        ``direction="maximize"`` (scores are maximized: what the run says already) works on
        the losses like one left at its default. The values in a stopped trial's info are
        shown in the objective's scale again (the rules read ``trial.maximize``). A
        minimizing run uses the rule as it is.
        """
        if direction != "maximize":
            if getattr(self, "direction", None) == "maximize":
                raise ValueError(
                    "stopping: the rule has direction='maximize' but the run minimizes; a rule "
                    "reads the values the objective reports on the run's scale: leave the "
                    "rule's direction at its default, or run with direction='maximize' (then "
                    "report and return scores)")
            return self
        rule = copy.copy(self)
        if getattr(rule, "direction", None) == "maximize":
            setattr(rule, "direction", "minimize")  # noqa: B010 - rules that have one
            if hasattr(rule, "_sign"):
                setattr(rule, "_sign", -1)  # noqa: B010
        bounds = getattr(rule, "bounds", None)
        if bounds is not None:
            lo, hi = bounds
            setattr(rule, "bounds", (-float(hi), -float(lo)))  # noqa: B010
        return rule


@dataclass(frozen=True)
class TrialRecord:
    """One evaluation of a configuration at a budget, as the optimizer asked it (immutable).

    ``id`` is unique in a run; ``config_id`` links the rungs of the same configuration;
    ``info`` holds scheduler details (bracket, rung, promotion source).
    """

    id: int
    config: dict[str, Any]
    budget: float
    config_id: int
    info: dict[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.id, self.config_id, self.budget))

    @property
    def record(self) -> TrialRecord:
        return self

    def detached(self) -> TrialRecord:
        """A copy with its own ``config`` and ``info`` dicts."""
        return TrialRecord(self.id, dict(self.config), self.budget, self.config_id,
                           dict(self.info))

    def connected(self, channel: CurveChannel | None = None,
                  state_source: StateSource | None = None) -> Trial:
        """A handle for this record with an executor's transport (see :meth:`Trial.connected`)."""
        return self.handle().connected(channel, state_source)

    def handle(self, **kwargs: Any) -> Trial:
        """A worker-side handle for this record; keyword arguments as :class:`Trial`'s
        (``checkpoint_dir``, ``rule``, ``maximize``, ...)."""
        return Trial.from_record(self, **kwargs)


#: ``channel(trial_id, points)``: sends reported curve points to the run loop
CurveChannel = Callable[[int, list], None]
#: ``state_source()``: what the run loop last published for stopping rules (or None)
StateSource = Callable[[], "dict[str, Any] | None"]


class Trial:
    """The worker-side handle of one evaluation: what ``objective(trial)`` receives.

    It exposes the record's ``id``, ``config``, ``budget``, ``config_id`` and ``info``, the
    ``checkpoint_dir`` (a folder kept between the rungs of the same configuration, None where
    the run keeps none), :meth:`report` to stream the learning curve and :meth:`should_stop`
    to ask the run's stopping rule.

    Parameters
    ----------
    id, config, budget, config_id, info
        The record's fields (see :class:`TrialRecord`).
    checkpoint_dir
        Folder for checkpoints of this configuration.
    rule
        The stopping rule's snapshot for this trial (:meth:`StoppingRule.for_trial`).
    channel
        Callable ``channel(trial_id, points)`` receiving reported points at a bounded rate
        (connected by the executor).
    state_source
        Callable returning what the run loop last published for the rule (connected by the
        executor), read at most every ``flush_interval`` seconds.
    flush_interval
        Seconds between sends over ``channel`` and reads of ``state_source``.
    maximize
        The run maximizes (``minimize(direction="maximize")``): reported values and the
        returned value are scores, negated into losses for the optimizer and the rule.
    reached
        The budget this configuration already reached in earlier evaluations (a promotion):
        :meth:`should_stop` does not consult the rule at steps up to it.
    """

    def __init__(self, id: int, config: dict[str, Any], budget: float, config_id: int,
                 info: dict[str, Any] | None = None, checkpoint_dir: str | None = None, *,
                 rule: StoppingRule | None = None, channel: CurveChannel | None = None,
                 state_source: StateSource | None = None, flush_interval: float = 1.0,
                 maximize: bool = False, reached: float = 0.0):
        self.record = TrialRecord(int(id), config, budget, int(config_id),
                                  info if info is not None else {})
        self._checkpoint_dir = checkpoint_dir
        self.rule = rule
        self.channel = channel
        self.state_source = state_source
        self.flush_interval = float(flush_interval)
        self.maximize = bool(maximize)
        self.reached = float(reached)
        #: the ``(step, value)`` points reported so far
        self.curve: list[tuple[float, float]] = []
        #: whether the stopping rule said stop
        self.stopped = False
        self.stopped_at: float | None = None  # the last step reported when the rule said stop
        self._diverged: float | None = None  # the non-finite value that stopped it
        self._flushed = 0
        self._last_flush = 0.0
        self._last_state = 0.0

    def _no_suggest(self, name: str) -> Any:
        raise AttributeError(
            f"lowfi.Trial has no {name}(): lowfi samples the configuration from the space you "
            "pass to minimize; read trial.config['name'] (and trial.budget)")

    # Optuna's define-by-run calls, for the habit: each says where lowfi keeps the values
    def suggest_float(self, *args: Any, **kwargs: Any) -> Any:
        """Not in lowfi (Optuna's define-by-run): read ``trial.config`` instead."""
        return self._no_suggest("suggest_float")

    def suggest_int(self, *args: Any, **kwargs: Any) -> Any:
        """Not in lowfi (Optuna's define-by-run): read ``trial.config`` instead."""
        return self._no_suggest("suggest_int")

    def suggest_categorical(self, *args: Any, **kwargs: Any) -> Any:
        """Not in lowfi (Optuna's define-by-run): read ``trial.config`` instead."""
        return self._no_suggest("suggest_categorical")

    # ------------------------------------------------------------------ the record's fields
    @property
    def id(self) -> int:
        return self.record.id

    @property
    def config(self) -> dict[str, Any]:
        return self.record.config

    @property
    def budget(self) -> float:
        return self.record.budget

    @property
    def config_id(self) -> int:
        return self.record.config_id

    @property
    def info(self) -> dict[str, Any]:
        return self.record.info

    @classmethod
    def from_record(cls, record: TrialRecord | Trial, **kwargs: Any) -> Trial:
        """A handle for ``record`` (keyword arguments as the constructor's)."""
        r = record.record
        return cls(r.id, r.config, r.budget, r.config_id, r.info, **kwargs)

    def connected(self, channel: CurveChannel | None = None,
                  state_source: StateSource | None = None) -> Trial:
        """A copy of this handle with the executor's transport connected (what executors
        submit): ``channel`` receives reported points, ``state_source`` gives the run's
        shared stopping state. The copy shares nothing mutable with this handle."""
        out = Trial.from_record(self.record, checkpoint_dir=self._checkpoint_dir, rule=self.rule,
                                channel=channel, state_source=state_source,
                                flush_interval=self.flush_interval, maximize=self.maximize,
                                reached=self.reached)
        out.curve = list(self.curve)
        out._flushed = self._flushed
        return out

    def detached(self) -> TrialRecord:
        """The record, without worker-side handles (what optimizers and the journal keep)."""
        return self.record.detached()

    # ------------------------------------------------------------------ worker side
    @property
    def checkpoint_dir(self) -> str | None:
        """Folder for checkpoints of this configuration, the same for each of its rungs; made
        when first asked for, so runs whose objective keeps no checkpoints leave no folders."""
        path = self._checkpoint_dir
        if path is not None:
            os.makedirs(path, exist_ok=True)
        return path

    @checkpoint_dir.setter
    def checkpoint_dir(self, path: str | None) -> None:
        self._checkpoint_dir = path

    def report(self, step: float, value: float) -> None:
        """Append ``(step, value)`` to this trial's learning curve (a score when the run
        maximizes: the curve keeps it negated, on the loss scale of the run)."""
        if not _is_number(step) or not _is_number(value):
            raise TypeError(
                f"report: got step={step!r}, value={value!r}; both must be real numbers"
            )
        if float(step) > float(self.budget) * (1 + 1e-9) and self.rule is not None \
                and not getattr(self, "_warned_step", False):
            self._warned_step = True
            warnings.warn(f"trial {self.id}: reported step {float(step):g} is past its budget "
                          f"{float(self.budget):g}; steps are read on the budget's scale (e.g. "
                          "epochs) by the stopping rule and the budget a stopped trial used: "
                          "report the epoch, not the samples or batches seen", RuntimeWarning,
                          stacklevel=2)
        global _WARNED_ORDER
        if self.curve and float(step) <= self.curve[-1][0] and not _WARNED_ORDER:
            _WARNED_ORDER = True  # once per process: every trial of a run likely does the same
            warnings.warn(f"trial {self.id}: reported step {float(step):g} after step "
                          f"{self.curve[-1][0]:g}; steps must increase (the stopping rules and "
                          "the budget a stopped trial used read the last step)",
                          RuntimeWarning, stacklevel=2)
        self.curve.append((float(step), -float(value) if self.maximize else float(value)))
        if self.channel is not None:
            now = time.monotonic()
            if now - self._last_flush >= self.flush_interval:
                self.channel(self.id, self.curve[self._flushed :])
                self._flushed = len(self.curve)
                self._last_flush = now

    def to_loss(self, result: Result) -> Result:
        """``result`` on the run's loss scale (negated when the run maximizes)."""
        if self.maximize and result.status != Status.FAILED:
            result.loss = negate(result.loss)
        return result

    def restore_curve(self, points: Any) -> None:
        """Put back points an earlier rung of this configuration reported (from a checkpoint):
        they join ``curve`` without being sent again (the journal has them)."""
        self.curve.extend((float(a), float(b)) for a, b in points)
        self._flushed = len(self.curve)
        if self.curve:  # the step this trial continues from (its result's info says so)
            self.resumed_from = max(float(p[0]) for p in self.curve)

    def _refresh_state(self) -> None:
        if self.state_source is None or self.rule is None:
            return
        now = time.monotonic()
        if now - self._last_state < self.flush_interval:
            return
        self._last_state = now
        try:
            state = self.state_source()
        except Exception as exc:  # noqa: BLE001 - shared state is best effort
            warnings.warn(f"trial {self.id}: the run's shared stopping state could not "
                          f"be read ({exc!r}); the rule keeps its last state",
                          RuntimeWarning, stacklevel=3)
            state = None
        if state:
            self.rule.update(state)

    def should_stop(self) -> bool:
        """Whether the run's stopping rule says this trial should end now."""
        if self.rule is None:
            return False
        if not self.stopped and self.curve and self.curve[-1][0] == self.budget:
            return False  # the trial's last step (its budget): stopping would save nothing
        if self.curve and self.curve[-1][0] <= self.reached:
            return self.stopped  # a step an earlier rung of this configuration passed
        if self.curve and not math.isfinite(self.curve[-1][1]):  # diverged: no rule needed
            self._diverged = self.curve[-1][1]
            if not self.stopped:
                self.stopped, self.stopped_at = True, self.curve[-1][0]
            return True
        self._refresh_state()
        try:
            stop = self.rule.should_stop(self)
        except Exception as exc:  # noqa: BLE001 - a rule never fails the user's trial
            warnings.warn(f"trial {self.id}: the stopping rule {type(self.rule).__name__} "
                          f"failed ({type(exc).__name__}: {exc}); this trial runs on without "
                          "it", RuntimeWarning, stacklevel=2)
            self.rule = None
            return self.stopped
        if stop and not self.stopped:
            self.stopped = True
            self.stopped_at = self.curve[-1][0] if self.curve else None
        return self.stopped

    def stop_info(self) -> dict[str, Any]:
        """What the rule keeps with a stopped trial (:meth:`StoppingRule.describe`)."""
        if self._diverged is not None:
            value = -self._diverged if self.maximize else self._diverged
            return {"rule": type(self.rule).__name__, "decision": "stop",
                    "reason": f"the reported value is {value}: the training diverged",
                    "threshold": None}
        return {} if self.rule is None else dict(self.rule.describe(self))

    # backwards-compatible names of the transport fields
    @property
    def _rule(self) -> StoppingRule | None:
        return self.rule

    @_rule.setter
    def _rule(self, rule: StoppingRule | None) -> None:
        self.rule = rule

    def __repr__(self) -> str:
        r = self.record
        return (f"Trial(id={r.id}, config={r.config!r}, budget={r.budget!r}, "
                f"config_id={r.config_id}, info={r.info!r}, checkpoint_dir={self._checkpoint_dir!r})")


#: the worker-side handle's descriptive name
TrialHandle = Trial
#: what carries a trial's fields (``id``, ``config``, ``budget``, ``config_id``, ``info``)
TrialLike = TrialRecord | Trial
