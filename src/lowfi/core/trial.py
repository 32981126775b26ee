"""Trials and results: the two records that cross every layer boundary."""

from __future__ import annotations

import math
import numbers
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("ok", "failed", "stopped")


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
        ``"ok"``, ``"failed"`` (crash, NaN, non-number: ``loss`` is None) or ``"stopped"``
        (ended early by a stopping rule; ``loss`` is the last reported value).
    error
        For failed results: the reason or the traceback.
    curve
        ``[(step, value), ...]`` reported through ``trial.report`` while it ran.
    """

    loss: float | tuple[float, ...] | None
    cost: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"
    error: str | None = None
    curve: list[tuple[float, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status: got {self.status!r}; allowed are {', '.join(STATUSES)}")
        if self.cost is not None:
            if not isinstance(self.cost, numbers.Real) or not math.isfinite(self.cost) or self.cost < 0:
                raise ValueError(f"cost: got {self.cost!r}; a cost must be a finite number >= 0")
            self.cost = float(self.cost)

    @classmethod
    def failed(cls, reason: str, cost: float | None = None, info: dict | None = None) -> Result:
        """A failed evaluation carrying ``reason`` (a message or a traceback)."""
        return cls(loss=None, cost=cost, info=dict(info or {}), status="failed", error=str(reason))

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    @classmethod
    def coerce(cls, value: Any, *, argument: str = "result") -> Result:
        """Turn what an objective returned into a Result; bad values become failed results.

        Floats, ints and numpy scalars are losses; NaN and infinities are failures; a tuple or
        list of numbers is a multi-objective loss. Anything else is a failure naming the type.
        """
        if isinstance(value, Result):
            if value.status != "failed":
                problem = _loss_problem(value.loss)
                if problem:
                    return cls(None, value.cost, value.info, "failed", problem, value.curve)
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


class StoppingRule:
    """Decides inside a running trial whether to stop early (``trial.should_stop()``).

    A rule is a small picklable object. The run loop calls :meth:`for_trial` when it submits a
    trial, giving a snapshot that travels with the trial to the worker (seeded with what is
    known then, e.g. the incumbent); the worker calls :meth:`should_stop` with the trial, whose
    ``curve`` holds the reported ``(step, value)`` points. The base rule never stops.
    """

    #: whether :meth:`shared` reads ``history.running_curves``: the run loop then also
    #: publishes when running trials stream new points, not only when a trial finishes
    uses_running_curves: bool = False

    def for_trial(self, trial: Trial, history: Any) -> StoppingRule:
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


@dataclass(eq=False)
class Trial:
    """One evaluation of a configuration at a budget.

    ``id`` is unique in a run; ``config_id`` links the rungs of the same configuration;
    ``info`` holds scheduler details (bracket, rung, promotion source). On the worker side a
    trial is also the handle an objective uses: :meth:`report`, :meth:`should_stop` and
    ``checkpoint_dir`` (a folder kept between the rungs of the same configuration).
    """

    id: int
    config: dict[str, Any]
    budget: float
    config_id: int
    info: dict[str, Any] = field(default_factory=dict)
    checkpoint_dir: str | None = None
    curve: list[tuple[float, float]] = field(default_factory=list)
    _rule: StoppingRule | None = field(default=None, repr=False)
    _channel: Any = field(default=None, repr=False)
    _last_flush: float = field(default=0.0, repr=False)
    _state_source: Any = field(default=None, repr=False)
    _last_state: float = field(default=0.0, repr=False)
    _flushed: int = field(default=0, repr=False)
    stopped: bool = field(default=False, repr=False)

    #: seconds between intermediate flushes of the reported curve to the journal
    flush_interval: float = field(default=1.0, repr=False)

    def report(self, step: float, value: float) -> None:
        """Append ``(step, value)`` to this trial's learning curve."""
        if not _is_number(step) or not _is_number(value):
            raise TypeError(
                f"report: got step={step!r}, value={value!r}; both must be real numbers"
            )
        self.curve.append((float(step), float(value)))
        if self._channel is not None:
            now = time.monotonic()
            if now - self._last_flush >= self.flush_interval:
                self._channel(self.id, self.curve[self._flushed :])
                self._flushed = len(self.curve)
                self._last_flush = now

    def should_stop(self) -> bool:
        """Whether the run's stopping rule says this trial should end now."""
        if self._rule is None:
            return False
        if self._state_source is not None:
            now = time.monotonic()
            if now - self._last_state >= self.flush_interval:
                self._last_state = now
                try:
                    state = self._state_source()
                except Exception as exc:  # noqa: BLE001 - shared state is best effort
                    warnings.warn(f"trial {self.id}: the run's shared stopping state could not "
                                  f"be read ({exc!r}); the rule keeps its last state",
                                  RuntimeWarning, stacklevel=2)
                    state = None
                if state:
                    self._rule.update(state)
        if self._rule.should_stop(self):
            self.stopped = True
        return self.stopped

    def detached(self) -> Trial:
        """A copy without worker-side handles (what optimizers and the journal keep)."""
        return Trial(self.id, dict(self.config), self.budget, self.config_id, dict(self.info))
