"""Asynchronous successive halving, ASHA (Li, Jamieson, Rostamizadeh, Gonina, Ben-tzur, Hardt,
Recht & Talwalkar, MLSys 2020), Algorithm 2.

Rungs ``k = 0..K`` with budgets ``max_budget * eta**(k - K)``. Whenever a worker is free,
ASHA promotes a configuration that is in the top ``1/eta`` of its rung and has not been
promoted yet (highest rung first); if there is none, it starts a new configuration at the
bottom rung. It therefore never returns None: no worker ever idles.

With integer budgets (``budget_type=int``, or inferred: see
:func:`~lowfi.optimizers.base.budget_kind`) every rung budget is rounded to the nearest
whole number and trials carry ``int`` budgets.
"""

from __future__ import annotations

import bisect
import math
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


class _Rung:
    __slots__ = ("losses", "candidates", "configs", "trial_of")

    def __init__(self) -> None:
        self.losses: list[float] = []  # all finished losses, sorted
        self.candidates: list[tuple[float, int]] = []  # (loss, config_id) not yet promoted, sorted
        self.configs: dict[int, dict] = {}
        self.trial_of: dict[int, int] = {}


class ASHA(Optimizer):
    """Asynchronous successive halving.

    Parameters
    ----------
    min_early_stopping_rate
        ``s`` of the paper: the bottom rung is ``min_budget * eta**s``.
    max_trials
        Stop asking after this many trials (None: never).
    """

    multi_fidelity = True

    def __init__(self, space: Any, min_budget: float, max_budget: float, eta: float = 3,
                 proposer: Proposer | None = None, seed: SeedLike = None,
                 min_early_stopping_rate: int = 0, max_trials: int | None = None,
                 budget_type: Any = None):
        super().__init__(space, seed)
        self.min_budget, self.max_budget, self.eta = check_budgets(min_budget, max_budget, eta)
        self.budget_type = budget_kind(budget_type, min_budget, max_budget, eta)
        s_max = n_rungs(self.min_budget, self.max_budget, self.eta)
        if not isinstance(min_early_stopping_rate, int) or not 0 <= min_early_stopping_rate <= s_max:
            raise ValueError(
                f"min_early_stopping_rate: got {min_early_stopping_rate!r}; allowed are 0..{s_max}"
            )
        self.K = s_max - min_early_stopping_rate
        self.budgets = [self.max_budget * self.eta ** (k - self.K) for k in range(self.K + 1)]
        if self.budget_type is int:
            self.budgets = [int_budget(b) for b in self.budgets]
        self.rungs = [_Rung() for _ in range(self.K + 1)]
        self.proposer = self._bind(proposer)
        self.max_trials = max_trials

    def _ask(self) -> Trial | None:
        if self.max_trials is not None and self._next_trial_id >= self.max_trials:
            return None
        for k in range(self.K - 1, -1, -1):
            rung = self.rungs[k]
            if not rung.candidates:
                continue
            n_top = int(math.floor(len(rung.losses) / self.eta + 1e-9))
            loss, cid = rung.candidates[0]
            if not math.isfinite(loss):
                continue
            rank = bisect.bisect_left(rung.losses, loss)
            if rank < n_top:
                rung.candidates.pop(0)
                return self._new_trial(rung.configs.pop(cid), self.budgets[k + 1], cid, rung=k + 1,
                                       promoted_from=rung.trial_of.pop(cid))
        config = self.proposer.propose_new(self.history, self.budgets[0])
        return self._new_trial(config, self.budgets[0], rung=0)

    def _tell(self, trial: Trial, result: Result) -> None:
        k = trial.info["rung"]
        rung = self.rungs[k]
        loss = math.inf if result.status == "failed" else (
            float(result.loss[0]) if isinstance(result.loss, tuple) else float(result.loss))
        bisect.insort(rung.losses, loss)
        if k < self.K:
            bisect.insort(rung.candidates, (loss, trial.config_id))
            rung.configs[trial.config_id] = trial.config
            rung.trial_of[trial.config_id] = trial.id
