"""The ask/tell core: :class:`Optimizer` (pure, seeded state machine) and :class:`Proposer`.

An optimizer decides *which configuration at which budget* comes next. Multi-fidelity
schedulers (successive halving, Hyperband, ASHA) decide where budget goes and take a
:class:`Proposer` that decides which configuration is tried next; a proposer reads the
optimizer's read-only :class:`~lowfi.core.History`. Optimizers do no I/O, start no threads
and read no clock; all randomness comes from one generator made from ``seed``, so the same
seed and the same sequence of tells give the same asks (this is what makes resume exact).
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import warnings
from typing import Any

import numpy as np

from lowfi.core.history import History, Record
from lowfi.core.seeding import SeedLike, as_generator, spawn
from lowfi.core.trial import Result, Trial, TrialRecord
from lowfi.space import Space


class Proposer:
    """Chooses the next configuration to try.

    Subclasses implement :meth:`propose`. A proposer is bound to exactly one optimizer, which
    calls :meth:`bind` with the space and an independent random generator.
    """

    #: how many times :meth:`propose_new` retries to avoid duplicating a pending configuration
    max_retries: int = 20

    def __init__(self) -> None:
        self.space: Space | None = None
        self.rng: np.random.Generator | None = None
        #: user-given configurations, proposed before anything else (see Optimizer.enqueue)
        self.queue: list[dict[str, Any]] = []

    def bind(self, space: Space, rng: np.random.Generator) -> Proposer:
        if self.space is not None:
            raise ValueError("proposer: this proposer is already bound to an optimizer; make a new one")
        self.space, self.rng = space, rng
        return self

    def propose(self, history: History, budget: float) -> dict[str, Any]:
        """A configuration to evaluate at ``budget``."""
        raise NotImplementedError

    def propose_new(self, history: History, budget: float) -> dict[str, Any]:
        """:meth:`propose`, retried while the result duplicates a pending configuration."""
        if getattr(self, "queue", None):
            return self.queue.pop(0)
        pending = {self.space.key(c) for c in history.pending_configs()}
        config = self.propose(history, budget)
        for _ in range(self.max_retries):
            if self.space.key(config) not in pending:
                break
            config = self.propose(history, budget)
        return config


class RandomProposer(Proposer):
    """Uniform random configurations from the space's prior (drawn in batches for speed)."""

    def __init__(self, batch: int = 64) -> None:
        super().__init__()
        self.batch = int(batch)
        self._buffer: list[dict[str, Any]] = []

    def propose(self, history: History, budget: float) -> dict[str, Any]:
        if not self._buffer:
            self._buffer = self.space.sample(self.rng, self.batch)[::-1]
        return self._buffer.pop()


class Optimizer:
    """Base class of every optimizer: ``ask() -> Trial | None`` and ``tell(trial, result)``.

    Subclasses implement ``_ask`` (return a Trial made by :meth:`_new_trial`, or None when
    they must wait for results; returning None must not change any state) and ``_tell``.
    """

    #: whether the optimizer uses budgets (min_budget < max_budget)
    multi_fidelity: bool = False
    #: whether the optimizer reads tuple losses as several objectives
    multi_objective: bool = False
    #: whether it proposes network descriptions (``lowfi.nas.Network``) instead of points of
    #: a configuration space (LEMONADE): benchmarks of configuration spaces do not fit it
    searches_networks: bool = False

    def __init__(self, space: Any, seed: SeedLike = None):
        self.space = Space.from_any(space)
        self.rng = as_generator(seed)
        self.history = History(self.space)
        self._next_trial_id = 0
        self._next_config_id = 0
        self.max_budget: float | None = None
        #: ``int`` or ``float``: the type of the budgets trials carry (see :func:`budget_kind`)
        self.budget_type: type = float

    # ------------------------------------------------------------------ public API
    def ask(self) -> TrialRecord | None:
        """The next trial to evaluate (an immutable :class:`~lowfi.core.trial.TrialRecord`),
        or None if the optimizer must wait for results."""
        trial = self._ask()
        if trial is not None:
            self.history.add_pending(trial)
        return trial

    def tell(self, trial: TrialRecord | Trial, result: Any) -> Record:
        """Report the outcome of ``trial`` (a float loss, a :class:`Result`, or
        ``Result.failed(...)``); ``trial`` is the record ``ask()`` returned or its handle."""
        if not isinstance(trial, TrialRecord | Trial):
            raise TypeError(f"trial: got {type(trial).__name__}; pass the lowfi.Trial that ask() returned")
        if trial.id not in self.history.pending:
            raise ValueError(
                f"trial: got a result for trial id {trial.id}, which this optimizer is not waiting "
                f"for (pending ids: {sorted(self.history.pending)[:10]})"
            )
        if not isinstance(result, Result) and not _is_loss_like(result):
            raise TypeError(
                f"result: got {result!r} of type {type(result).__name__}; allowed are a number, a "
                "tuple of numbers, a lowfi.Result or lowfi.Result.failed(reason)"
            )
        result = Result.coerce(result)
        if (isinstance(result.loss, tuple) and not self.multi_objective
                and not getattr(self, "_warned_tuple", False)):
            self._warned_tuple = True
            warnings.warn(f"result: got a tuple loss {result.loss!r}, but {type(self).__name__} "
                          "optimizes one objective: it ranks by the first entry and reports no "
                          "incumbent; tell a float", stacklevel=_caller_level())
        known = self.history.pending[trial.id]
        record = self.history.finish(known, result)
        self._tell(known, result)
        return record

    def incumbent(self) -> tuple[dict[str, Any], Any] | None:
        """Best ``(config, loss)`` at the highest budget seen (the max budget once reached)."""
        rec = self.history.incumbent(self.max_budget)
        return None if rec is None else (dict(rec.config), rec.loss)

    def warm_start(self, results: Any) -> int:
        """Feed results known before this run (an earlier run, a colleague's table) to the
        models: ``(config, budget, loss)`` tuples, dicts with those keys, or a trials
        DataFrame (``lowfi.storage.load_trials``; its ``"ok"`` rows are used). Call it before
        the first ask. Proposers that read the history (KDE/BOHB, TPE, SMAC, GP, MF-BO) use
        them from the start; schedulers do not re-run them and they never become the
        incumbent. Returns how many were added."""
        if self.history.records or self.history.pending:
            raise ValueError("results: warm_start must come before the first ask")
        if isinstance(results, str | bytes) or not hasattr(results, "__iter__"):
            raise ValueError(f"results: got {results!r}; allowed are (config, budget, loss) rows, "
                             "dicts with those keys, or a trials DataFrame")
        rows = _result_rows(results)
        for i, (config, budget, loss) in enumerate(rows):
            config = self.space.validate(config, argument=f"results[{i}].config")
            if (isinstance(budget, bool) or not isinstance(budget, numbers.Real)
                    or not math.isfinite(budget) or budget <= 0):
                raise ValueError(f"results[{i}].budget: got {budget!r}; allowed is a number > 0")
            res = Result.coerce(loss, argument=f"results[{i}].loss")
            self.history.add_prior(config, float(budget),
                                   None if res.status == "failed" else res.loss)
        return len(rows)

    def enqueue(self, config: dict[str, Any]) -> None:
        """Evaluate ``config`` next (warm start from known-good settings); checked against the space."""
        config = self.space.validate(config)
        proposer = getattr(self, "proposer", None)
        if proposer is None:
            raise TypeError(f"{type(self).__name__} has no proposer to enqueue configurations into")
        if not hasattr(proposer, "queue"):
            proposer.queue = []
        proposer.queue.append(config)

    @property
    def pending(self) -> list[TrialRecord]:
        return list(self.history.pending.values())

    def pending_trials(self) -> list[TrialRecord]:
        """Trials asked and not yet told, in the order they were asked."""
        return list(self.history.pending.values())

    def is_pending(self, trial_id: int) -> bool:
        """Whether the trial with this id was asked and not yet told."""
        return trial_id in self.history.pending

    def budget_reached(self, config_id: int) -> float:
        """The highest budget an evaluation of ``config_id`` reached so far (0 if none)."""
        return self.history.reached(config_id)

    def report_curve(self, trial_id: int, points: list[tuple[float, float]]) -> None:
        """Points a running trial reported (streamed by the run loop before its result):
        readable by stopping rules as ``history.running_curves``; ignored for trials not
        pending."""
        self.history.add_running_points(trial_id, points)

    # ------------------------------------------------------------------ for subclasses
    def _ask(self) -> TrialRecord | None:
        raise NotImplementedError

    def _tell(self, trial: TrialRecord, result: Result) -> None:
        pass

    def _new_trial(self, config: dict[str, Any], budget: float, config_id: int | None = None,
                   **info: Any) -> TrialRecord:
        if config_id is None:
            config_id = self._next_config_id
            self._next_config_id += 1
        trial = TrialRecord(self._next_trial_id, config, self._budget_value(budget), config_id,
                            info)
        self._next_trial_id += 1
        return trial

    def _budget_value(self, budget: float) -> float:
        """``budget`` as the trial carries it: an int (rounded) when ``budget_type`` is int."""
        if getattr(self, "budget_type", float) is int:
            return int_budget(budget)
        return float(budget)

    def _bind(self, proposer: Proposer | None) -> Proposer:
        proposer = RandomProposer() if proposer is None else proposer
        if not isinstance(proposer, Proposer):
            raise TypeError(f"proposer: got {type(proposer).__name__}; pass a lowfi.optimizers.Proposer")
        return proposer.bind(self.space, spawn(self.rng))


def unexpected_arguments(cls: type, kwargs: dict[str, Any]) -> str:
    """The message for keyword arguments ``cls`` does not take: the allowed names, and the
    closest one for a likely typo."""
    import difflib
    import inspect

    allowed = sorted(n for n, p in inspect.signature(cls.__init__).parameters.items()
                     if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))
    hints = []
    for k in sorted(kwargs):
        close = difflib.get_close_matches(k, allowed, n=1)
        if close:
            hints.append(f"{k!r} (did you mean {close[0]!r}?)")
    return (f"{cls.__name__}: got unexpected arguments {sorted(kwargs)}"
            + (f": {', '.join(hints)}" if hints else "") + f"; allowed are {', '.join(allowed)}")


def _result_rows(results: Any) -> list[tuple[dict[str, Any], Any, Any]]:
    """``(config, budget, loss)`` rows from tuples, dicts or a trials DataFrame."""
    if hasattr(results, "columns") and hasattr(results, "iterrows"):  # a pandas DataFrame
        df = results
        if "status" in df.columns:
            df = df[df["status"] == "ok"]
        cols = [c for c in df.columns if str(c).startswith("config.")]
        if not cols or "budget" not in df.columns or "loss" not in df.columns:
            raise ValueError("results: a DataFrame needs config.* columns, 'budget' and 'loss' "
                             "(the frame of lowfi.storage.load_trials)")
        out = []
        for _, row in df.iterrows():
            cfg = {c[len("config."):]: _plain(row[c]) for c in cols
                   if row[c] is not None and not (isinstance(row[c], float) and math.isnan(row[c]))}
            out.append((cfg, float(row["budget"]), row["loss"]))
        return out
    out = []
    for i, r in enumerate(results):
        if isinstance(r, dict) and {"config", "budget", "loss"} <= set(r):
            out.append((r["config"], r["budget"], r["loss"]))
        elif isinstance(r, tuple | list) and len(r) == 3:
            out.append(tuple(r))
        else:
            raise ValueError(f"results[{i}]: got {r!r}; allowed are (config, budget, loss) "
                             "tuples or dicts with keys config, budget, loss")
    return out


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _is_loss_like(x: Any) -> bool:
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return True
    return isinstance(x, tuple | list) and all(isinstance(v, numbers.Real) for v in x)


def check_budgets(min_budget: Any, max_budget: Any, eta: Any = None) -> tuple[float, float, float | None]:
    """Validate ``min_budget``, ``max_budget`` (and ``eta``) with errors naming the argument."""
    for name, v in (("min_budget", min_budget), ("max_budget", max_budget)):
        if not isinstance(v, numbers.Real) or isinstance(v, bool) or not math.isfinite(v):
            raise ValueError(f"{name}: got {v!r}; a budget must be a finite number > 0")
    if min_budget <= 0:
        raise ValueError(f"min_budget: got {min_budget!r}; it must be > 0")
    if min_budget > max_budget:
        raise ValueError(
            f"min_budget: got {min_budget!r} > max_budget={max_budget!r}; min_budget must be <= max_budget"
        )
    if eta is not None:
        if not isinstance(eta, numbers.Real) or isinstance(eta, bool) or not eta >= 2:
            raise ValueError(f"eta: got {eta!r}; eta must be a number >= 2")
        eta = float(eta)
    return float(min_budget), float(max_budget), eta


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def int_budget(x: float) -> int:
    """``x`` rounded half up to an integer (at least 1): how integer rungs are rounded."""
    return max(int(math.floor(float(x) + 0.5)), 1)


def budget_kind(budget_type: Any, min_budget: float, max_budget: float,
                eta: float | None = None) -> type:
    """The budget type of a run: ``int`` or ``float``.

    ``budget_type`` is ``int``, ``float`` (or their names) or None. None infers ``int`` when
    ``min_budget`` and ``max_budget`` are Python/numpy integers and every rung budget
    ``max_budget * eta**-k`` (``k = 0 .. floor(log_eta(max_budget / min_budget))``) is a
    whole number, e.g. ``(1, 81, eta=3)`` or ``(2, 32, eta=2)``; otherwise ``float``
    (``(1, 100, eta=3)`` has rungs 100/27, 100/9, ... and stays float unless
    ``budget_type=int`` is given). With ``int``, rungs are rounded to the nearest integer
    (Hyperband's ``r_i = r * eta**i`` made whole, as for integer resources such as
    iterations, trees or epochs) and budgets must be whole numbers >= 1.
    """
    if budget_type in (int, "int"):
        for name, v in (("min_budget", min_budget), ("max_budget", max_budget)):
            if not float(v).is_integer() or v < 1:
                raise ValueError(f"{name}: got {v!r}; with budget_type=int budgets must be whole "
                                 "numbers >= 1")
        return int
    if budget_type in (float, "float"):
        return float
    if budget_type is not None:
        raise ValueError(f"budget_type: got {budget_type!r}; allowed are int, float or None "
                         "(None: int when min_budget and max_budget are ints and every rung is "
                         "a whole number)")
    if not (_is_int(min_budget) and _is_int(max_budget)):
        return float
    if eta is None:
        return int
    k = n_rungs(float(min_budget), float(max_budget), float(eta))
    rungs = [float(max_budget) * float(eta) ** -i for i in range(k + 1)]
    return int if all(abs(r - round(r)) < 1e-9 * max(r, 1.0) for r in rungs) else float


def n_rungs(min_budget: float, max_budget: float, eta: float) -> int:
    """``floor(log_eta(max_budget / min_budget))`` computed exactly, without the floating-point
    trap of ``math.log(243, 3) == 4.999...`` (which builds one bracket too few)."""
    ratio = max_budget / min_budget
    k = 0
    power = 1.0
    while power * eta <= ratio * (1 + 1e-9):
        power *= eta
        k += 1
    return k


class BlackBox(Optimizer):
    """A one-budget scheduler: every trial is a new configuration from ``proposer`` at ``budget``.

    Random search is ``BlackBox(space, proposer=RandomProposer())``; TPE, SMAC-style and GP
    BO put their proposers behind it.
    """

    def __init__(self, space: Any, proposer: Proposer | None = None, budget: float = 1.0,
                 max_trials: int | None = None, seed: SeedLike = None,
                 budget_type: Any = None, **kwargs: Any):
        super().__init__(space, seed)
        if "max_budget" in kwargs and kwargs["max_budget"] is not None:
            budget = kwargs.pop("max_budget")
        kwargs.pop("min_budget", None)
        kwargs.pop("eta", None)
        if kwargs:
            raise TypeError(unexpected_arguments(type(self), kwargs))
        if not isinstance(budget, numbers.Real) or isinstance(budget, bool) or not budget > 0 \
                or not math.isfinite(budget):
            raise ValueError(f"max_budget: got {budget!r}; it must be a finite number > 0")
        # an int budget (max_budget=100) reaches the objective as an int
        self.budget_type = budget_kind(budget_type, budget, budget)
        self.budget = self._budget_value(budget)
        self.max_budget = self.budget
        self.max_trials = max_trials
        self.proposer = self._bind(proposer)

    def _ask(self) -> TrialRecord | None:
        if self.max_trials is not None and self._next_trial_id >= self.max_trials:
            return None
        config = self.proposer.propose_new(self.history, self.budget)
        return self._new_trial(config, self.budget)


class RandomSearch(BlackBox):
    """Random search (Bergstra & Bengio 2012): uniform configurations at the maximum budget."""

    def __init__(self, space: Any, max_budget: float = 1.0, seed: SeedLike = None, **kwargs: Any):
        kwargs.pop("min_budget", None)
        kwargs.pop("eta", None)
        super().__init__(space, proposer=RandomProposer(), budget=max_budget, seed=seed, **kwargs)


def _caller_level() -> int:
    """``stacklevel`` for a warning raised in the caller of this function that points at the
    first frame outside lowfi (the user's line)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(root):
        frame, level = frame.f_back, level + 1
    return level
