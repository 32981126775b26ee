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
#: svm-digits-heldout: the optimum, 0 test errors in 224, is reached on a 41 x 41 log grid over
#: (C, gamma) (e.g. C = e^0.5, gamma = e^-2); f_rand is the mean test error of 400 log-uniform
#: random configurations (seed 0); both at the full budget
HELDOUT_OPTIMUM = 0.0
HELDOUT_F_RAND = 0.537
#: log-range of C and gamma: [e^-10, e^10], as in FABOLAS' SVM experiments
LOG_RANGE = 10.0


def _digits(split_seed: int, n_test: int = 0) -> tuple[np.ndarray, ...]:
    """(X_pool, y_pool, X_valid, y_valid, X_test, y_test): the 447 held-out images are the
    validation split, or with ``n_test`` > 0 their first ``n_test`` are a test split."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    order = np.random.default_rng(split_seed).permutation(len(y))
    held, pool = order[:N_VALID], order[N_VALID:]
    test, valid = held[:n_test], held[n_test:]
    return X[pool], y[pool], X[valid], y[valid], X[test], y[test]


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
    n_test
        0 (default): the optimizer's loss and ``test_loss`` are both the validation error, as
        in shared/ANCHORS.md. With ``n_test`` > 0 the 447 held-out images are split into a
        test set of ``n_test`` and a validation set of the rest: the optimizer sees validation
        errors and ``test_loss`` is the test error of a full-budget fit, so an incumbent
        chosen on validation noise is not rewarded (FABOLAS reports test error the same way).
        ``optimum`` and ``f_rand`` stay the validation split's; ``svm-digits-heldout`` sets them
        for its test split.

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
                 seed: SeedLike = 0, split_seed: int = 0, n_test: int = 0):
        from ConfigSpace import ConfigurationSpace, Float

        n_pool = 1797 - N_VALID
        if not (isinstance(min_budget, int | float) and isinstance(max_budget, int | float)) or not (
            2 <= min_budget <= max_budget <= n_pool
        ):
            raise ValueError(
                f"min_budget, max_budget: got {min_budget!r}, {max_budget!r}; allowed are "
                f"numbers with 2 <= min_budget <= max_budget <= {n_pool}"
            )
        if not isinstance(n_test, int) or isinstance(n_test, bool) or not 0 <= n_test <= N_VALID - 50:
            raise ValueError(f"n_test: got {n_test!r}; allowed is an int in [0, {N_VALID - 50}]")
        self.min_budget = float(min_budget)
        self.max_budget = float(max_budget)
        self.eta = float(eta)
        self.n_test = n_test
        self.seed = seed
        self.split_seed = int(split_seed)
        lo, hi = math.exp(-LOG_RANGE), math.exp(LOG_RANGE)
        self.space = ConfigurationSpace(
            name="svm-digits",
            space=[Float("C", (lo, hi), log=True), Float("gamma", (lo, hi), log=True)],
        )
        self._data = _digits(self.split_seed, n_test)
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

    def _fit(self, config: dict[str, Any], n: int, seed: SeedLike,
             on_test: bool = False) -> tuple[float, float]:
        from sklearn.svm import SVC

        Xp, yp, Xv, yv, Xt, yt = self._data
        idx = self._order(seed)[:n]
        model = SVC(C=float(config["C"]), gamma=float(config["gamma"]), kernel="rbf")
        start = time.perf_counter()
        model.fit(Xp[idx], yp[idx])
        seconds = time.perf_counter() - start
        X, y = (Xt, yt) if on_test else (Xv, yv)
        error = float(np.mean(model.predict(X) != y))
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
        if not self.n_test and n == len(self._data[1]) == int(round(self.max_budget)):
            self._test_cache[(float(config["C"]), float(config["gamma"]))] = error
        return Result(loss=error, cost=seconds, info={"n_train": n})

    def test_loss(self, config: dict[str, Any]) -> float:
        """Error at ``max_budget`` with the default subset seed (cached): on the validation
        split, or on the test split when ``n_test`` > 0."""
        key = (float(config["C"]), float(config["gamma"]))
        if key not in self._test_cache:
            self._test_cache[key] = self._fit(config, int(round(self.max_budget)), self.seed,
                                              on_test=bool(self.n_test))[0]
        return self._test_cache[key]


def svm_digits_heldout(**kwargs: Any) -> SVMDigits:
    """``svm-digits-heldout``: :class:`SVMDigits` with 224 of the 447 held-out images as a
    test split (``n_test=224``): the optimizer sees the error on the other 223, regret is the
    incumbent's test error. ``optimum`` (0 errors, reached on a grid) and ``f_rand`` (0.537) are
    this split's (``HELDOUT_OPTIMUM``, ``HELDOUT_F_RAND``)."""
    for key, value in (("n_test", 224), ("split_seed", 0)):
        if kwargs.setdefault(key, value) != value:  # optimum and f_rand hold for this split only
            raise ValueError(
                f"{key}: got {kwargs[key]!r}; svm-digits-heldout is defined for {key}={value} "
                f"(use SVMDigits({key}=...) for other splits)"
            )
    bench = SVMDigits(**kwargs)
    bench.name = "svm-digits-heldout"
    bench.optimum = HELDOUT_OPTIMUM
    bench.f_rand = HELDOUT_F_RAND
    return bench


def __getattr__(name: str):  # the MLP task lives in its own module (written by the lead)
    if name == "MLPDigits":
        from lowfi.benchmarks import mlp_digits

        return mlp_digits.MLPDigits
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
