"""Counting Ones, the mixed categorical/continuous toy problem of the BOHB paper
(Falkner, Klein & Hutter, ICML 2018), as defined by the authors' experiment code.

``n_cat`` categorical parameters ``cat_i`` in {0, 1} and ``n_cont`` continuous parameters
``float_j`` in [0, 1]. At budget ``b`` every continuous parameter is replaced by the mean of
``b`` Bernoulli(``float_j``) draws; the training loss is
``-(sum_i cat_i + sum_j mean_j)``. The noise-free test loss is ``-(sum of all parameters)``,
optimum ``-d`` at all ones, mean over uniform random configurations ``-d / 2``
(``d = n_cat + n_cont``). Budgets 9..729 with ``eta = 3``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from ConfigSpace import CategoricalHyperparameter, ConfigurationSpace, UniformFloatHyperparameter

from lowfi.benchmarks.base import Benchmark
from lowfi.core.seeding import as_generator
from lowfi.core.trial import Result


class CountingOnes(Benchmark):
    """Counting Ones with ``n_cat`` categorical and ``n_cont`` continuous parameters.

    Parameters
    ----------
    n_cat, n_cont
        Numbers of categorical {0, 1} and continuous [0, 1] parameters (the paper uses equal
        numbers: 4, 8, 16 or 32 each).

    Examples
    --------
    >>> bench = CountingOnes(2, 2)
    >>> bench.test_loss({"cat_0": 1, "cat_1": 1, "float_0": 1.0, "float_1": 1.0})
    -4.0
    """

    min_budget = 9.0
    max_budget = 729.0
    eta = 3.0
    tabular = False

    def __init__(self, n_cat: int = 8, n_cont: int = 8):
        for name, v in (("n_cat", n_cat), ("n_cont", n_cont)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{name}: got {v!r}; it must be an int >= 0")
        if n_cat + n_cont == 0:
            raise ValueError("n_cat, n_cont: got 0 and 0; the problem needs at least one parameter")
        self.n_cat, self.n_cont = int(n_cat), int(n_cont)
        self.d = self.n_cat + self.n_cont
        self.name = f"counting-ones-{self.n_cat}-{self.n_cont}"
        cs = ConfigurationSpace()
        cs.add([CategoricalHyperparameter(f"cat_{i}", [0, 1]) for i in range(self.n_cat)])
        cs.add([UniformFloatHyperparameter(f"float_{j}", 0.0, 1.0) for j in range(self.n_cont)])
        self.space = cs
        self.optimum = -float(self.d)
        self.f_rand = -self.d / 2.0
        self._cat = [f"cat_{i}" for i in range(self.n_cat)]
        self._cont = [f"float_{j}" for j in range(self.n_cont)]

    def _split(self, config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        try:
            cat = np.array([float(config[k]) for k in self._cat])
            cont = np.array([float(config[k]) for k in self._cont])
        except KeyError as exc:
            raise ValueError(f"config: missing parameter {exc.args[0]!r} of {self.name}") from exc
        return cat, cont

    def evaluate(self, config: dict[str, Any], budget: float, seed: Any = None) -> Result:
        """Training loss at ``budget`` Bernoulli draws per continuous parameter; ``cost = budget``."""
        if not isinstance(budget, numbers.Real) or not budget >= 1:
            raise ValueError(f"budget: got {budget!r}; it must be a number >= 1 (draws per parameter)")
        cat, cont = self._split(config)
        rng = as_generator(seed)
        b = int(round(budget))
        means = rng.binomial(b, np.clip(cont, 0.0, 1.0)) / b  # mean of b Bernoulli draws each
        loss = -(cat.sum() + means.sum())
        return Result(float(loss), cost=float(budget), info={"test_loss": self.test_loss(config)})

    def test_loss(self, config: dict[str, Any]) -> float:
        """Noise-free loss ``-(sum of all parameters)``."""
        cat, cont = self._split(config)
        return -float(cat.sum() + cont.sum())

    def normalized_regret(self, config: dict[str, Any]) -> float:
        """``(f_test - f*) / (f_rand - f*)``: 0 at the optimum, 1 for a random guess."""
        return (self.test_loss(config) - self.optimum) / (self.f_rand - self.optimum)


def counting_ones_8_8() -> CountingOnes:
    """Counting Ones with 8 categorical and 8 continuous parameters."""
    return CountingOnes(8, 8)


def counting_ones_16_16() -> CountingOnes:
    """Counting Ones with 16 categorical and 16 continuous parameters."""
    return CountingOnes(16, 16)
