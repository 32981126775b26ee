"""REINFORCE (Williams 1992) with a moving-average baseline, as compared in NAS-Bench-101.

The controller of the NAS-Bench-101 paper (Ying et al. 2019; the ``run_rl.py`` script of
``automl/nas_benchmarks``) keeps one independent softmax distribution per hyperparameter,
samples a configuration, and after its reward ``r`` arrives updates the logits by gradient
ascent on ``(r - b) * log p(configuration)``, where ``b`` is an exponential moving average of
the rewards (bias-corrected, updated with ``r`` before the advantage is computed, as in that
script). Here the reward is ``-loss``.

Any lowfi space works: categoricals and ordinals get one logit per value; integers one per
value when they have at most ``n_bins`` values and otherwise ``n_bins`` equal-width bins of
the encoded range; floats ``n_bins`` bins (default 10) of the encoded range, log-scaled where
the parameter is. A value inside a chosen bin is drawn uniformly. Conditional spaces: all
parameters are sampled, ``space.repair`` deactivates those whose conditions fail, and only
the active parameters' choices enter the gradient (the inactive ones did not influence the
reward). Samples that violate a forbidden clause are redrawn.

All logits live in one padded ``(n_params, max_choices)`` array, so sampling and the update
are single numpy operations. Failed trials get the worst loss seen so far; before any trial
succeeded a failure carries no scale and is skipped.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike
from lowfi.core.trial import Result, Trial
from lowfi.optimizers.base import Optimizer, budget_kind


class REINFORCE(Optimizer):
    """REINFORCE policy-gradient controller with a moving-average baseline (NAS-Bench-101).

    Parameters
    ----------
    space
        The search space (ConfigSpace space, dict shorthand or :class:`lowfi.space.Space`).
    max_budget
        Budget every configuration is evaluated at.
    learning_rate
        Step size of the gradient ascent on the logits (``run_rl.py`` default: 0.1).
    baseline_decay
        Decay (momentum) of the exponential moving average of rewards used as baseline.
    n_bins
        Bins of a float's encoded range, and the most integer values that get one logit each.
    seed
        Seed; the same seed and results give the same configurations.
    max_trials
        Stop asking after this many trials (None: never).
    """

    #: how many times a sample is re-drawn to avoid duplicating a pending configuration
    max_retries: int = 20

    def __init__(
        self,
        space: Any,
        max_budget: float = 1.0,
        learning_rate: float = 0.1,
        baseline_decay: float = 0.95,
        n_bins: int = 10,
        seed: SeedLike = None,
        max_trials: int | None = None,
        min_budget: Any = None,
        budget_type: Any = None,
        eta: Any = None,
    ):
        super().__init__(space, seed)
        if (
            not isinstance(max_budget, numbers.Real)
            or isinstance(max_budget, bool)
            or not math.isfinite(max_budget)
            or max_budget <= 0
        ):
            raise ValueError(f"max_budget: got {max_budget!r}; it must be a finite number > 0")
        if not isinstance(learning_rate, numbers.Real) or not learning_rate > 0:
            raise ValueError(f"learning_rate: got {learning_rate!r}; it must be a number > 0")
        if not isinstance(baseline_decay, numbers.Real) or not 0 <= baseline_decay < 1:
            raise ValueError(f"baseline_decay: got {baseline_decay!r}; it must be in [0, 1)")
        if not isinstance(n_bins, numbers.Integral) or isinstance(n_bins, bool) or n_bins < 2:
            raise ValueError(f"n_bins: got {n_bins!r}; it must be an integer >= 2")
        self.budget_type = budget_kind(budget_type, max_budget, max_budget)
        self.max_budget = float(max_budget)
        self.learning_rate = float(learning_rate)
        self.baseline_decay = float(baseline_decay)
        self.n_bins = int(n_bins)
        self.max_trials = max_trials
        sp = self.space
        #: indices of the parameters the controller decides (all but constants)
        self.params = np.array([j for j, k in enumerate(sp.kinds) if k != "const"], dtype=int)
        sizes, self._grid = [], []
        for j in self.params:
            kind = sp.kinds[j]
            if kind in ("cat", "ord"):
                sizes.append(int(sp.n_choices[j]))
                self._grid.append(None)
            elif kind == "int" and sp.n_values[j] <= self.n_bins:
                hp = sp.hps[j]
                values = np.arange(int(hp.lower), int(hp.upper) + 1)
                sizes.append(len(values))
                self._grid.append(np.asarray(hp.to_vector(values), dtype=float))
            else:  # float, or an integer with many values: bins of the encoded range
                sizes.append(self.n_bins)
                self._grid.append(None)
        #: number of choices of each controlled parameter
        self.sizes = np.asarray(sizes, dtype=int)
        width = int(self.sizes.max()) if len(self.sizes) else 1
        #: valid (unpadded) entries of the logit array
        self.mask = np.arange(width)[None, :] < self.sizes[:, None]
        #: the controller's logits, padded entries are -inf
        self.logits = np.where(self.mask, 0.0, -np.inf)
        self._is_cat = np.array([sp.kinds[j] in ("cat", "ord") for j in self.params], dtype=bool)
        self._binned = np.array(
            [
                sp.kinds[j] not in ("cat", "ord") and g is None
                for j, g in zip(self.params, self._grid)
            ],
            dtype=bool,
        )
        self._ema_num = 0.0
        self._ema_den = 0.0
        self._actions: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._worst = -math.inf
        self.n_updates = 0

    # ------------------------------------------------------------------ policy
    def probabilities(self) -> np.ndarray:
        """Softmax of the logits, shape ``(n_params, max_choices)`` (padding has probability 0)."""
        z = self.logits - self.logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    @property
    def baseline(self) -> float | None:
        """The bias-corrected moving average of rewards (None before the first reward)."""
        return None if self._ema_den == 0 else self._ema_num / self._ema_den

    def _sample(self) -> tuple[np.ndarray, np.ndarray]:
        """One sampled encoded row and the chosen index of every controlled parameter."""
        sp = self.space
        for _ in range(100):
            p = self.probabilities()
            u = self.rng.random(len(self.params))
            choice = np.minimum((np.cumsum(p, axis=1) < u[:, None]).sum(axis=1), self.sizes - 1)
            within = self.rng.random(len(self.params))
            x = sp.snap(np.zeros((1, sp.dim)))[0]  # constants at their value
            vals = np.where(self._is_cat, choice, (choice + within) / self.sizes)
            for k in np.flatnonzero(~self._is_cat & ~self._binned):  # integers with a logit each
                vals[k] = self._grid[k][choice[k]]
            x[self.params] = vals
            rows, ok = sp.repair(x[None, :])
            if ok[0]:
                return rows[0], choice
        raise RuntimeError(
            "REINFORCE: 100 samples in a row violated forbidden clauses of the space"
        )

    # ------------------------------------------------------------------ ask / tell
    def _ask(self) -> Trial | None:
        if self.max_trials is not None and self._next_trial_id >= self.max_trials:
            return None
        pending = {self.space.key(c) for c in self.history.pending_configs()}
        x, choice = self._sample()
        config = self.space.to_dicts(x)[0]
        for _ in range(self.max_retries):
            if self.space.key(config) not in pending:
                break
            x, choice = self._sample()
            config = self.space.to_dicts(x)[0]
        trial = self._new_trial(config, self.max_budget)
        active = ~np.isnan(x[self.params])
        self._actions[trial.id] = (choice, active)
        return trial

    def _tell(self, trial: Trial, result: Result) -> None:
        choice, active = self._actions.pop(trial.id)
        loss = _loss(result)
        if loss is None:
            if not math.isfinite(self._worst):
                return  # no successful result yet: a failure has no scale
            loss = self._worst
        self._worst = max(self._worst, loss)
        self.update(choice, active, -loss)

    def update(self, choice: np.ndarray, active: np.ndarray, reward: float) -> float:
        """One REINFORCE step for the choices ``choice`` of the ``active`` parameters.

        Updates the moving-average baseline with ``reward``, then moves the logits by
        ``learning_rate * (reward - baseline) * grad log p(choice)``; returns the advantage.
        """
        d = self.baseline_decay
        self._ema_num = d * self._ema_num + (1 - d) * reward
        self._ema_den = d * self._ema_den + (1 - d)
        advantage = reward - self._ema_num / self._ema_den
        p = self.probabilities()
        onehot = np.zeros_like(p)
        onehot[np.arange(len(choice)), choice] = 1.0
        grad = (onehot - p) * active[:, None]
        self.logits = np.where(
            self.mask, self.logits + self.learning_rate * advantage * grad, -np.inf
        )
        self.n_updates += 1
        return float(advantage)


def _loss(result: Result) -> float | None:
    if result.status == "failed" or result.loss is None:
        return None
    loss = result.loss[0] if isinstance(result.loss, tuple) else result.loss
    loss = float(loss)
    return loss if math.isfinite(loss) else None
