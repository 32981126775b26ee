"""A read-only, budget-aware view of what an optimizer has seen: finished and running trials.

Proposers read it to decide which configuration comes next; it encodes configurations to
vectors lazily (only when a model asks), so schedulers that never ask pay nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lowfi.core.trial import Result, Status, TrialRecord, budget_reached


@dataclass
class Record:
    """A finished trial as the history keeps it."""

    trial_id: int
    config_id: int
    config: dict[str, Any]
    budget: float
    loss: float | tuple[float, ...] | None
    status: str
    cost: float | None
    info: dict[str, Any] = field(default_factory=dict)
    #: the ``(step, value)`` points the trial reported
    curve: list[tuple[float, float]] = field(default_factory=list)
    #: what the objective returned in ``Result.info`` (``info`` holds the scheduler's details)
    result_info: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == Status.FAILED

    @property
    def budget_reached(self) -> float | None:
        """The budget this evaluation reached (:func:`lowfi.core.trial.budget_reached`):
        ``budget`` when it finished, where a stopped one got to, None when it failed."""
        return budget_reached(self.status, self.budget, self.curve, self.result_info)


class History:
    """Finished records and pending trials of one optimizer.

    Parameters
    ----------
    space
        The :class:`lowfi.space.Space` used to encode configurations for models.
    """

    def __init__(self, space: Any):
        self.space = space
        self.records: list[Record] = []
        self.pending: dict[int, TrialRecord] = {}
        #: curve points running trials reported so far (filled by the run loop as they stream
        #: in; a trial's entry goes when it finishes and its record holds the whole curve)
        self.running_curves: dict[int, list[tuple[float, float]]] = {}
        self._by_budget: dict[float, list[int]] = {}
        self._reached: dict[int, float] = {}  # config_id -> highest budget reached
        self._vectors: list[np.ndarray] = []  # encoded rows of records, filled lazily
        self._cache: dict[Any, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the derived caches (rebuilt on demand, to the same values) and
        with the encoded rows as one array: a long history pickles and loads much faster."""
        state = self.__dict__.copy()
        state["_cache"] = {}
        vectors = state.get("_vectors")
        if vectors and len({(v.shape, v.dtype) for v in vectors}) == 1:
            state["_vectors"] = np.stack(vectors)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        vectors = state.get("_vectors")
        if isinstance(vectors, np.ndarray):
            state["_vectors"] = list(vectors)
        self.__dict__.update(state)

    # ------------------------------------------------------------------ updates (optimizer only)
    def add_pending(self, trial: TrialRecord) -> None:
        self.pending[trial.id] = trial

    def add_running_points(self, trial_id: int, points: Any) -> None:
        """Curve points a pending trial streamed (ignored for trials not pending)."""
        if trial_id in self.pending:
            self.running_curves.setdefault(trial_id, []).extend(
                (float(a), float(b)) for a, b in points)

    def finish(self, trial: TrialRecord, result: Result) -> Record:
        self.pending.pop(trial.id, None)
        self.running_curves.pop(trial.id, None)
        loss = None if result.status == Status.FAILED else result.loss
        rec = Record(trial.id, trial.config_id, trial.config, float(trial.budget), loss,
                     Status(result.status), result.cost, dict(trial.info), list(result.curve),
                     dict(result.info))
        reached = rec.budget_reached
        best = self.__dict__.setdefault("_reached", {})  # histories pickled before it lack it
        if reached is not None and reached > best.get(rec.config_id, 0.0):
            best[rec.config_id] = reached
        self._by_budget.setdefault(rec.budget, []).append(len(self.records))
        self.records.append(rec)
        self._cache.clear()
        return rec

    def add_prior(self, config: dict[str, Any], budget: float, loss: Any,
                  info: dict[str, Any] | None = None) -> Record:
        """Add a result known before the run (warm start): models read it like any record;
        it gets a negative trial/config id, ``info["warm_start"] = True``, and never becomes
        the incumbent of this run."""
        k = -1 - sum(1 for r in self.records if r.trial_id < 0)
        status = Status.FAILED if loss is None else Status.OK
        rec = Record(k, k, dict(config), float(budget), loss, status, None,
                     {"warm_start": True, **(info or {})}, [])
        self._by_budget.setdefault(rec.budget, []).append(len(self.records))
        self.records.append(rec)
        self._cache.clear()
        return rec

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return len(self.records)

    @property
    def budgets(self) -> list[float]:
        """Budgets with at least one finished record, ascending."""
        return sorted(self._by_budget)

    def count(self, budget: float, *, ok_only: bool = False) -> int:
        idx = self._by_budget.get(float(budget), [])
        if not ok_only:
            return len(idx)
        return sum(1 for i in idx if not self.records[i].failed)

    def at_budget(self, budget: float) -> list[Record]:
        return [self.records[i] for i in self._by_budget.get(float(budget), [])]

    def vectors(self) -> np.ndarray:
        """Encoded configurations of all records, in record order (shape ``(n, dim)``)."""
        n_have = len(self._vectors)
        if n_have < len(self.records):
            new = self.space.encode(r.config for r in self.records[n_have:])
            self._vectors.extend(new)
        if not self._vectors:
            return np.empty((0, self.space.dim))
        key = ("vectors", len(self.records))
        if key not in self._cache:
            self._cache[key] = np.asarray(self._vectors)
        return self._cache[key]

    def observations(self, budget: float | None = None, *, failed: str = "worst"
                     ) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` of scalar-loss records at ``budget`` (all budgets if None).

        ``failed``: ``"worst"`` gives failed records the worst loss seen (at that budget; +inf
        if none succeeded) so that models learn to avoid crashes, ``"inf"`` gives them +inf,
        ``"drop"`` leaves them out.
        """
        if failed not in ("worst", "inf", "drop"):
            raise ValueError(f"failed: got {failed!r}; allowed are 'worst', 'inf', 'drop'")
        key = ("obs", budget, failed)
        if key in self._cache:
            return self._cache[key]
        idx = list(range(len(self.records))) if budget is None else self._by_budget.get(float(budget), [])
        recs = [self.records[i] for i in idx]
        if failed == "drop":
            keep = [k for k, r in enumerate(recs) if not r.failed]
            idx = [idx[k] for k in keep]
            recs = [recs[k] for k in keep]
        X = self.vectors()[idx] if idx else np.empty((0, self.space.dim))
        y = np.array([np.inf if r.failed else _scalar(r.loss) for r in recs], dtype=float)
        if failed == "worst" and len(y):
            bad = np.isinf(y)
            if bad.any() and (~bad).any():
                y[bad] = y[~bad].max()
        self._cache[key] = (X, y)
        return X, y

    def pending_configs(self, budget: float | None = None) -> list[dict[str, Any]]:
        return [t.config for t in self.pending.values() if budget is None or t.budget == budget]

    def pending_vectors(self, budget: float | None = None) -> np.ndarray:
        cfgs = self.pending_configs(budget)
        return self.space.encode(cfgs) if cfgs else np.empty((0, self.space.dim))

    def reached(self, config_id: int) -> float:
        """The highest budget any finished evaluation of ``config_id`` reached (0 if none):
        the rungs a promoted configuration has already passed."""
        return float(getattr(self, "_reached", {}).get(config_id, 0.0))

    def incumbent(self, max_budget: float | None = None) -> Record | None:
        """Best record at ``max_budget``; before any, the best at the highest budget seen.

        Only finished (``"ok"``) records with scalar losses count (the rule of lowfi's
        benchmarks): a trial a stopping rule ended did not reach its budget, so it is never
        the incumbent there."""
        budgets = [b for b in self.budgets
                   if any(r.status == Status.OK and r.trial_id >= 0 for r in self.at_budget(b))]
        if not budgets:
            return None
        b = float(max_budget) if max_budget is not None and float(max_budget) in budgets else budgets[-1]
        best: Record | None = None
        best_loss = float("inf")
        for r in self.at_budget(b):
            if r.status != Status.OK or not isinstance(r.loss, float) or r.trial_id < 0:
                continue
            if best is None or r.loss < best_loss:
                best, best_loss = r, r.loss
        return best


def _scalar(loss: Any) -> float:
    if isinstance(loss, tuple):
        return float(loss[0])
    return float(loss)
