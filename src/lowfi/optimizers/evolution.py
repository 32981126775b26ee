"""Regularized (aging) evolution (Real, Aggarwal, Huang & Le 2019).

"Regularized Evolution for Image Classifier Architecture Search" (AAAI 2019), Algorithm 1:
start from ``population_size`` random configurations; then repeatedly sample ``sample_size``
members of the population uniformly at random (with replacement, as in Algorithm 1), mutate the
best of the sample, evaluate the child, add it to the population and remove the *oldest*
member (aging, the "regularization": every individual dies young, however good it was).

Mutation follows the NAS-Bench-101 experiment scripts (``automl/nas_benchmarks``): resample
one active hyperparameter to a different value (another category, another integer, a new
random float from the prior); on the NAS-Bench-101 encodings this mutates one op or one edge.
Parameters made active by the change get random values; parameters made inactive are dropped.

The algorithm is asynchronous, as in the paper: every ask runs a tournament on the population
as it is at that moment (the members whose results arrived), and children join the population
when their results are told. While the first ``population_size`` random configurations are
still being evaluated and the population is empty, asks return further random
configurations. Failed trials enter the population with loss +inf (the worst).
"""

from __future__ import annotations

import collections
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike
from lowfi.core.trial import Result, Trial
from lowfi.optimizers.base import Optimizer, budget_kind
from lowfi.space import Space


def mutate_one(
    space: Space, x: np.ndarray, rng: np.random.Generator, max_tries: int = 50
) -> tuple[np.ndarray, int]:
    """Resample one active, non-constant parameter of the encoded row ``x`` to another value.

    Returns the repaired child row and the index of the mutated parameter (-1 if no parameter
    can change, in which case the row is returned unchanged).
    """
    x = np.asarray(x, dtype=float)
    mutable = ~np.isnan(x) & ~space.is_constant
    mutable &= (space.n_values != 1) & ~(
        (space.is_categorical | space.is_ordinal) & (space.n_choices < 2)
    )
    idx = np.flatnonzero(mutable)
    if len(idx) == 0:
        return x.copy(), -1
    for _ in range(max_tries):
        j = int(idx[rng.integers(len(idx))])
        # values for parameters that become active: a fresh prior sample, or uniform values
        fresh = space.sample_vectors(rng, 1)[0]
        u = rng.random(space.dim)
        filler = np.where(space.is_categorical | space.is_ordinal, np.floor(u * space.n_choices), u)
        child = np.where(np.isnan(x), np.where(np.isnan(fresh), filler, fresh), x)
        kind = space.kinds[j]
        if kind in ("cat", "ord"):
            k = int(space.n_choices[j])
            child[j] = (round(x[j]) + rng.integers(1, k)) % k
        elif kind == "int":
            hp = space.hps[j]
            n = int(space.n_values[j])
            cur = int(hp.to_value(np.array([min(max(x[j], 0.0), 1.0)]))[0]) - int(hp.lower)
            new = int(hp.lower) + (cur + int(rng.integers(1, n))) % n
            child[j] = float(hp.to_vector(np.array([new]))[0])
        else:  # float: a new random value from the prior, different from the current one
            v = fresh[j] if not np.isnan(fresh[j]) else rng.random()
            while v == x[j]:
                v = rng.random()
            child[j] = v
        rows, ok = space.repair(child[None, :])
        if ok[0]:
            return rows[0], j
    return x.copy(), -1


class RegularizedEvolution(Optimizer):
    """Regularized (aging) evolution (Real et al. 2019, Algorithm 1) on any lowfi space.

    Parameters
    ----------
    space
        The search space (ConfigSpace space, dict shorthand or :class:`lowfi.space.Space`).
    max_budget
        Budget every configuration is evaluated at.
    population_size
        Number of individuals kept alive (NAS-Bench-101 script default: 100).
    sample_size
        Tournament size (default 10).
    seed
        Seed; the same seed and results give the same configurations.
    mutation
        Optional ``mutation(config, rng) -> config`` replacing the one-parameter mutation
        (e.g. a graph mutation for a direct cell encoding).
    max_trials
        Stop asking after this many trials (None: never).
    """

    #: how many times a child is re-drawn to avoid duplicating a pending configuration
    max_retries: int = 20

    def __init__(
        self,
        space: Any,
        max_budget: float = 1.0,
        population_size: int = 100,
        sample_size: int = 10,
        seed: SeedLike = None,
        mutation: Callable[[dict, np.random.Generator], dict] | None = None,
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
        for name, v in (("population_size", population_size), ("sample_size", sample_size)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: got {v!r}; it must be an integer >= 1")
        if mutation is not None and not callable(mutation):
            raise TypeError(
                f"mutation: got {type(mutation).__name__}; pass a callable (config, rng) -> config"
            )
        self.budget_type = budget_kind(budget_type, max_budget, max_budget)
        self.max_budget = float(max_budget)
        self.population_size = int(population_size)
        self.sample_size = int(sample_size)
        self.mutation = mutation
        self.max_trials = max_trials
        #: the living population, oldest first: (config, loss)
        self.population: collections.deque[tuple[dict[str, Any], float]] = collections.deque()
        self._n_initial = 0

    # ------------------------------------------------------------------ ask / tell
    def _ask(self) -> Trial | None:
        if self.max_trials is not None and self._next_trial_id >= self.max_trials:
            return None
        pending = {self.space.key(c) for c in self.history.pending_configs()}
        if self._n_initial < self.population_size or not self.population:
            config = self._random(pending)
            if self._n_initial < self.population_size:
                self._n_initial += 1
            return self._new_trial(config, self.max_budget, origin="random")
        parent_pos = self._tournament()
        parent = self.population[parent_pos][0]
        child = self._mutate(parent)
        for _ in range(self.max_retries):
            if self.space.key(child) not in pending:
                break
            child = self._mutate(parent)
        return self._new_trial(child, self.max_budget, origin="mutation")

    def _tell(self, trial: Trial, result: Result) -> None:
        self.population.append((trial.config, _loss(result)))
        while len(self.population) > self.population_size:
            self.population.popleft()  # aging: the oldest dies, however good

    # ------------------------------------------------------------------ steps
    def _random(self, pending: set) -> dict[str, Any]:
        config = self.space.sample(self.rng)
        for _ in range(self.max_retries):
            if self.space.key(config) not in pending:
                break
            config = self.space.sample(self.rng)
        return config

    def _tournament(self) -> int:
        """Index (in the population) of the best of ``sample_size`` uniform draws."""
        losses = np.fromiter(
            (loss for _, loss in self.population), dtype=float, count=len(self.population)
        )
        sample = self.rng.integers(len(self.population), size=self.sample_size)
        return int(sample[np.argmin(losses[sample])])

    def _mutate(self, parent: dict[str, Any]) -> dict[str, Any]:
        if self.mutation is not None:
            return self.space.validate(
                self.mutation(dict(parent), self.rng), argument="mutation result"
            )
        x = self.space.encode([parent])[0]
        child, _ = mutate_one(self.space, x, self.rng)
        return self.space.to_dicts(child)[0]


def _loss(result: Result) -> float:
    if result.status == "failed" or result.loss is None:
        return math.inf
    loss = result.loss[0] if isinstance(result.loss, tuple) else result.loss
    loss = float(loss)
    return loss if math.isfinite(loss) else math.inf
