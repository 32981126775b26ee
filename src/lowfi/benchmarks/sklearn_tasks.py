"""Real scikit-learn tasks with a data-subset fidelity.

``SVMDigits`` is the lecture's motivating example for multi-fidelity HPO (Klein et al. 2017,
"Fast Bayesian Optimization of Machine Learning Hyperparameters on Large Datasets", FABOLAS):
an RBF support vector machine whose regularization ``C`` and kernel width ``gamma`` are tuned
on log scales, trained on a subset of the data whose size is the budget. Here the data are
scikit-learn's 8x8 digits (1,797 images, shipped with scikit-learn, no download).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from lowfi.benchmarks.base import Benchmark
from lowfi.core.seeding import SeedLike, as_generator
from lowfi.core.trial import Result

#: size of the held-out validation split (the rest, 1,350 images, is the training pool)
N_VALID = 447
#: log-range of C and gamma: [e^-10, e^10], as in FABOLAS' SVM experiments
LOG_RANGE = 10.0


def _digits(split_seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    order = np.random.default_rng(split_seed).permutation(len(y))
    valid, pool = order[:N_VALID], order[N_VALID:]
    return X[pool], y[pool], X[valid], y[valid]


class SVMDigits(Benchmark):
    """SVM (RBF kernel) on subsets of scikit-learn's digits; budget = training subset size.

    Parameters
    ----------
    min_budget, max_budget
        Training subset sizes; default 50..1350 (the whole training pool), eta 3 gives the
        rungs 50, 150, 450, 1350.
    seed
        Default seed of the subset selection (used when ``evaluate`` gets ``seed=None``).
        Subsets are nested: the first ``budget`` images of one fixed permutation of the
        training pool drawn from the seed.
    split_seed
        Seed of the fixed train/validation split (447 validation images).

    Notes
    -----
    Loss = validation error (fraction misclassified) on the fixed held-out split. Cost =
    measured seconds of ``SVC.fit`` (so it varies slightly between runs). ``C`` and ``gamma``
    are searched log-uniformly in [e^-10, e^10]. ``optimum`` is 0 (no validation error): reached
    at the full budget, e.g. by C = 1.509, gamma = 0.1315 (found by BOHB in the comparison
    runs); the best point of a 41 x 41 log grid has 1 error of 447. ``f_rand`` (0.622) is the
    mean error of 400 log-uniform random configurations at the full budget.
    """

    name = "svm-digits"
    tabular = False
    optimum = 0.0
    f_rand = 0.622

    def __init__(self, min_budget: float = 50, max_budget: float = 1350, eta: float = 3,
                 seed: SeedLike = 0, split_seed: int = 0):
        from ConfigSpace import ConfigurationSpace, Float

        n_pool = 1797 - N_VALID
        if not (isinstance(min_budget, int | float) and isinstance(max_budget, int | float)) or not (
            2 <= min_budget <= max_budget <= n_pool
        ):
            raise ValueError(
                f"min_budget, max_budget: got {min_budget!r}, {max_budget!r}; allowed are "
                f"numbers with 2 <= min_budget <= max_budget <= {n_pool}"
            )
        self.min_budget = float(min_budget)
        self.max_budget = float(max_budget)
        self.eta = float(eta)
        self.seed = seed
        self.split_seed = int(split_seed)
        lo, hi = math.exp(-LOG_RANGE), math.exp(LOG_RANGE)
        self.space = ConfigurationSpace(
            name="svm-digits",
            space=[Float("C", (lo, hi), log=True), Float("gamma", (lo, hi), log=True)],
        )
        self._data = _digits(self.split_seed)
        self._orders: dict[Any, np.ndarray] = {}
        self._test_cache: dict[tuple[float, float], float] = {}

    def _order(self, seed: SeedLike) -> np.ndarray:
        key = seed if isinstance(seed, int | type(None)) else id(seed)
        if key not in self._orders:
            n = len(self._data[1])
            if seed is None:
                seed = 0
            self._orders[key] = as_generator(seed).permutation(n)
        return self._orders[key]

    def _fit(self, config: dict[str, Any], n: int, seed: SeedLike) -> tuple[float, float]:
        from sklearn.svm import SVC

        Xp, yp, Xv, yv = self._data
        idx = self._order(seed)[:n]
        model = SVC(C=float(config["C"]), gamma=float(config["gamma"]), kernel="rbf")
        start = time.perf_counter()
        model.fit(Xp[idx], yp[idx])
        seconds = time.perf_counter() - start
        error = float(np.mean(model.predict(Xv) != yv))
        return error, seconds

    def evaluate(self, config: dict[str, Any], budget: float, seed: SeedLike = None) -> Result:
        """Train on the first ``round(budget)`` images of the seed's permutation."""
        if not isinstance(budget, int | float) or not (2 <= budget <= len(self._data[1])):
            raise ValueError(
                f"budget: got {budget!r}; allowed is a training subset size in "
                f"[2, {len(self._data[1])}]"
            )
        n = int(round(budget))
        error, seconds = self._fit(config, n, self.seed if seed is None else seed)
        if n == len(self._data[1]) == int(round(self.max_budget)):  # whole pool: seed-free
            self._test_cache[(float(config["C"]), float(config["gamma"]))] = error
        return Result(loss=error, cost=seconds, info={"n_train": n})

    def test_loss(self, config: dict[str, Any]) -> float:
        """Validation error at ``max_budget`` with the default subset seed (cached)."""
        key = (float(config["C"]), float(config["gamma"]))
        if key not in self._test_cache:
            self._test_cache[key] = self._fit(config, int(round(self.max_budget)), self.seed)[0]
        return self._test_cache[key]


def __getattr__(name: str):  # the MLP task lives in its own module (written by the lead)
    if name == "MLPDigits":
        from lowfi.benchmarks import mlp_digits

        return mlp_digits.MLPDigits
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
