"""Synchronous successive halving (Jamieson & Talwalkar 2016) and Hyperband (Li et al. 2017).

Both run *brackets*: ``n_0`` configurations at budget ``r_0``; when a rung has all its results,
the best ``floor(n_i / eta)`` go on to the next rung at ``eta`` times the budget. Hyperband
cycles through ``s_max + 1`` brackets, ``s_max = floor(log_eta(max_budget / min_budget))``
(computed exactly), bracket ``s`` starting ``n = ceil((s_max + 1) / (s + 1) * eta**s)``
configurations at budget ``max_budget * eta**-s`` (the schedule of the paper's pseudocode).

Parallel workers are kept busy the way HpBandSter does it: while every open bracket waits for
results, the next bracket starts. Which configurations enter a bracket is decided by a
pluggable :class:`~lowfi.optimizers.base.Proposer` (random by default; BOHB passes a KDE one).

Integer budgets (``budget_type=int``, or inferred: see :func:`~lowfi.optimizers.base.budget_kind`)
round every rung ``r_i = r * eta**i`` to the nearest whole number, so objectives receive
``int`` budgets (trees, iterations, epochs).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from lowfi.core.seeding import SeedLike
from lowfi.core.trial import Result, Trial
from lowfi.optimizers.base import (
    Optimizer,
    Proposer,
    budget_kind,
    check_budgets,
    int_budget,
    n_rungs,
)


def bracket_schedule(min_budget: float, max_budget: float, eta: float, s: int, n0: int | None = None,
                     budget_type: type = float) -> tuple[list[int], list[float]]:
    """Rung sizes and budgets of one bracket with ``s + 1`` rungs.

    ``n0`` defaults to Hyperband's ``ceil((s_max + 1) / (s + 1) * eta**s)``. With
    ``budget_type=int`` the budgets are ``max_budget * eta**(i - s)`` rounded to the nearest
    integer (ints).
    """
    s_max = n_rungs(min_budget, max_budget, eta)
    if not 0 <= s <= s_max:
        raise ValueError(f"s: got {s}; allowed are 0..{s_max}")
    if n0 is None:
        n0 = math.ceil((s_max + 1) / (s + 1) * eta**s - 1e-9)
    sizes = [max(int(math.floor(n0 / eta**i + 1e-9)), 0) for i in range(s + 1)]
    budgets = [max_budget * eta ** (i - s) for i in range(s + 1)]
    if budget_type is int:
        budgets = [int_budget(b) for b in budgets]
    return sizes, budgets


def hyperband_schedule(min_budget: float, max_budget: float, eta: float, budget_type: type = float
                       ) -> list[tuple[list[int], list[float]]]:
    """All brackets of one Hyperband iteration, most aggressive first."""
    s_max = n_rungs(min_budget, max_budget, eta)
    return [bracket_schedule(min_budget, max_budget, eta, s, budget_type=budget_type)
            for s in range(s_max, -1, -1)]


class _Bracket:
    """One synchronous successive-halving bracket."""

    def __init__(self, index: int, s: int, sizes: list[int], budgets: list[float]):
        self.index, self.s, self.sizes, self.budgets = index, s, sizes, budgets
        self.rung = 0
        self.to_sample = sizes[0]
        self.queue: list[tuple[int, dict, int]] = []  # (config_id, config, promoted_from trial id)
        self.results: list[tuple[float, int, int, dict]] = []  # (loss, order, config_id, config)
        self.trial_of: dict[int, int] = {}  # config_id -> trial id at the current rung
        self.done = sizes[0] == 0

    def expected(self) -> int:
        return self.sizes[self.rung]

    def record(self, trial: Trial, result: Result) -> None:
        loss = math.inf if result.status == "failed" else _first(result.loss)
        self.results.append((loss, len(self.results), trial.config_id, trial.config))
        self.trial_of[trial.config_id] = trial.id
        if len(self.results) < self.expected():
            return
        if self.rung == len(self.sizes) - 1 or self.sizes[self.rung + 1] == 0:
            self.done = True
            return
        # failed configurations are never promoted: a rung with fewer successes than the
        # next rung's size promotes only those (the bracket's later rungs shrink with it)
        keep = [r for r in sorted(self.results) if math.isfinite(r[0])][: self.sizes[self.rung + 1]]
        if len(keep) < self.sizes[self.rung + 1]:
            self.sizes = self.sizes[: self.rung + 1] + [min(n, len(keep))
                                                        for n in self.sizes[self.rung + 1:]]
        self.results, self.trial_of, trial_of = [], {}, self.trial_of
        if not keep:
            self.done = True
            return
        self.queue = [(cid, cfg, trial_of[cid]) for _, _, cid, cfg in keep]
        self.rung += 1


def _warn_if_too_small(space: Any, needed: int) -> None:
    """Warn once when a finite space has fewer configurations than a bracket starts: its
    configurations then repeat (the brackets keep their sizes)."""
    import numpy as np

    nv = np.asarray(space.n_values, dtype=float)
    if needed <= 0 or not len(nv) or np.any(nv <= 0):
        return  # a float parameter: infinitely many configurations
    n = float(np.prod(nv))  # an upper bound with conditions or forbidden clauses
    if n < needed:
        from lowfi.optimizers.base import _caller_level

        warnings.warn(f"space: it has at most {int(n)} configurations, but the first bracket "
                      f"starts {needed}: configurations will be evaluated more than once at a "
                      "budget. Use a finer space, fewer rungs (a larger min_budget), or "
                      "evaluate every configuration directly", stacklevel=_caller_level())


def _first(loss: Any) -> float:
    return float(loss[0]) if isinstance(loss, tuple) else float(loss)


class _SynchronousBrackets(Optimizer):
    multi_fidelity = True

    def __init__(self, space: Any, min_budget: float, max_budget: float, eta: float = 3,
                 proposer: Proposer | None = None, seed: SeedLike = None,
                 max_brackets: int | None = None, budget_type: Any = None):
        super().__init__(space, seed)
        self.min_budget, self.max_budget, self.eta = check_budgets(min_budget, max_budget, eta)
        self.budget_type = budget_kind(budget_type, min_budget, max_budget, eta)
        if max_brackets is not None and (not isinstance(max_brackets, int) or max_brackets < 1):
            raise ValueError(f"max_brackets: got {max_brackets!r}; allowed are None or an int >= 1")
        self.s_max = n_rungs(self.min_budget, self.max_budget, self.eta)
        self.max_brackets = max_brackets
        _warn_if_too_small(self.space, int(self._plan(0)[1][0]))  # the first bracket's size
        self.proposer = self._bind(proposer)
        self.brackets: dict[int, _Bracket] = {}
        self.n_brackets = 0

    def _plan(self, k: int) -> tuple[int, list[int], list[float]]:
        raise NotImplementedError

    def _budget_type(self) -> type:
        return getattr(self, "budget_type", float)  # runs pickled before budget types: float

    def _ask(self) -> Trial | None:
        for br in self.brackets.values():
            trial = self._from_bracket(br)
            if trial is not None:
                return trial
        if self.max_brackets is not None and self.n_brackets >= self.max_brackets:
            return None
        s, sizes, budgets = self._plan(self.n_brackets)
        br = _Bracket(self.n_brackets, s, sizes, budgets)
        self.n_brackets += 1
        if br.done:
            return None
        self.brackets[br.index] = br
        return self._from_bracket(br)

    def _from_bracket(self, br: _Bracket) -> Trial | None:
        budget = br.budgets[br.rung]
        info = {"bracket": br.index, "rung": br.rung, "s": br.s}
        if br.queue:
            config_id, config, parent = br.queue.pop(0)
            return self._new_trial(config, budget, config_id, promoted_from=parent, **info)
        if br.rung == 0 and br.to_sample > 0:
            br.to_sample -= 1
            config = self.proposer.propose_new(self.history, budget)
            return self._new_trial(config, budget, **info)
        return None

    def _tell(self, trial: Trial, result: Result) -> None:
        br = self.brackets.get(trial.info.get("bracket"))
        if br is None:
            return
        br.record(trial, result)
        if br.done:
            del self.brackets[br.index]


class SuccessiveHalving(_SynchronousBrackets):
    """Synchronous successive halving (Jamieson & Talwalkar, AISTATS 2016), repeated.

    Each bracket starts ``n_configs`` configurations (default ``eta**s_max``) at ``min_budget``
    and keeps the best ``floor(n_i / eta)`` of every rung, up to ``max_budget``.
    """

    def __init__(self, space: Any, min_budget: float, max_budget: float, eta: float = 3,
                 n_configs: int | None = None, proposer: Proposer | None = None,
                 seed: SeedLike = None, max_brackets: int | None = None,
                 budget_type: Any = None):
        if n_configs is not None and (not isinstance(n_configs, int) or n_configs < 1):
            raise ValueError(f"n_configs: got {n_configs!r}; allowed are None or an int >= 1")
        self.n_configs = n_configs  # before the base class plans the first bracket
        super().__init__(space, min_budget, max_budget, eta, proposer, seed, max_brackets,
                         budget_type)

    def _plan(self, k: int):
        n0 = self.n_configs if self.n_configs is not None else round(self.eta**self.s_max)
        sizes, budgets = bracket_schedule(self.min_budget, self.max_budget, self.eta, self.s_max, n0,
                                          self._budget_type())
        return self.s_max, sizes, budgets


class Hyperband(_SynchronousBrackets):
    """Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, JMLR 2017).

    Brackets cycle ``s = s_max, ..., 0``; bracket ``s`` runs successive halving from
    ``ceil((s_max + 1) / (s + 1) * eta**s)`` configurations at budget ``max_budget * eta**-s``.
    For ``(1, 81, 3)`` one iteration is 81/34/15/8/5 configurations, 206 evaluations.
    """

    def _plan(self, k: int):
        s = self.s_max - (k % (self.s_max + 1))
        sizes, budgets = bracket_schedule(self.min_budget, self.max_budget, self.eta, s,
                                          budget_type=self._budget_type())
        return s, sizes, budgets
