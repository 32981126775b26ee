"""Benchmarks with two fidelity dimensions: training epochs and training-set fraction.

Both follow the scalar :class:`~lowfi.benchmarks.base.Benchmark` protocol and add a
``fidelities`` attribute ``{name: (min, max)}`` and an optional ``fidelity=`` argument of
``evaluate``:

- ``evaluate(config, budget, fidelity={"epochs": e, "fraction": d})`` evaluates at that point;
- ``evaluate(config, budget)`` alone maps the scalar budget to the diagonal of the fidelity
  box, both dimensions at ``(budget / max_budget) ** 0.5`` of their maximum, so the relative
  cost ``e * d`` equals ``budget / max_budget``.

:meth:`TwoFidelityBenchmark.objective` returns ``objective(config, budget, trial)`` for
``lowfi.minimize`` that reads the fidelity point of trials from the several-fidelity optimizers
(``trial.info["fidelity"]``, see :mod:`lowfi.optimizers.multi_fidelity`). A result's ``cost``
is the **nominal relative cost** ``(e / e_max) * (d / d_max)`` (1.0 at the target), so
comparisons do not depend on the machine's load; the MLP also reports its measured seconds as
``info["seconds"]``.

``mf2-branin``
    Branin with an *epochs-like* fidelity ``e in [1/81, 1]`` that biases the function (it
    perturbs Branin's ``b`` and ``c`` as in Kandasamy et al.'s MF-Branin, with twice their
    deviations, so the minimizer moves at low ``e``, plus an offset ``20 (1 - e)``), and a
    *data-fraction-like* fidelity ``d in [1/81, 1]`` that adds noise of standard deviation
    ``sqrt(1/d - 1)`` (deterministic in ``(seed, config, fidelity)``) and perturbs ``t``.
    At ``e = d = 1`` it is Branin: optimum 0.397887.
``mlp-digits-2f``
    scikit-learn's ``MLPClassifier`` on the 8x8 digits (the space of ``mlp-digits``) trained
    for ``epochs in 1..27`` ``partial_fit`` passes on a fixed random ``fraction in [1/27, 1]``
    of the 1,347 training images; the loss is the error on the 450 validation images.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from typing import Any

import numpy as np
from ConfigSpace import ConfigurationSpace, Float

from lowfi.benchmarks.base import Benchmark
from lowfi.core.trial import Result


class TwoFidelityBenchmark(Benchmark):
    """Common parts: fidelity checks, the diagonal of the scalar budget, ``objective()``."""

    fidelities: dict[str, tuple[float, float]] = {}

    def fidelity_point(self, budget: Any, fidelity: dict[str, float] | None = None) -> dict[str, float]:
        """The fidelity point of ``fidelity`` (checked) or of the scalar ``budget`` (diagonal)."""
        if fidelity is not None:
            if not isinstance(fidelity, dict) or set(fidelity) != set(self.fidelities):
                raise ValueError(f"fidelity: got {fidelity!r}; allowed is a dict with keys "
                                 f"{sorted(self.fidelities)}")
            out = {}
            for name, (lo, hi) in self.fidelities.items():
                v = fidelity[name]
                if (not isinstance(v, numbers.Real) or isinstance(v, bool)
                        or not lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)):
                    raise ValueError(f"fidelity[{name!r}]: got {v!r}; allowed are numbers in "
                                     f"[{lo:g}, {hi:g}]")
                out[name] = min(max(float(v), lo), hi)
            return out
        if (not isinstance(budget, numbers.Real) or isinstance(budget, bool)
                or not 0 < budget <= self.max_budget * (1 + 1e-9)):
            raise ValueError(f"budget: got {budget!r}; allowed are numbers in (0, {self.max_budget:g}]")
        rho = math.sqrt(min(float(budget) / self.max_budget, 1.0))
        return {name: min(max(hi * rho, lo), hi) for name, (lo, hi) in self.fidelities.items()}

    def relative_cost(self, point: dict[str, float]) -> float:
        return float(np.prod([point[n] / hi for n, (_, hi) in self.fidelities.items()]))

    def objective(self, seed: int | None = None):
        """``objective(config, budget, trial)`` for ``lowfi.minimize``: evaluates at the
        trial's fidelity point when it has one, else on the diagonal."""
        from lowfi.optimizers.multi_fidelity import fidelity_of

        def objective(config: dict[str, Any], budget: float, trial: Any) -> Result:
            # subclasses' evaluate takes fidelity= (the base Benchmark's does not)
            return self.evaluate(config, budget, seed=seed,  # type: ignore[call-arg]
                                 fidelity=fidelity_of(trial))

        return objective


def _noise_rng(seed: int | None, values: np.ndarray) -> np.random.Generator:
    words = np.frombuffer(np.ascontiguousarray(values, dtype=np.float64).tobytes(), dtype=np.uint32)
    return np.random.default_rng([0 if seed is None else int(seed) & 0xFFFFFFFF, *words.tolist()])


class TwoFidelityBranin(TwoFidelityBenchmark):
    """``mf2-branin``: Branin with a biasing (epochs) and a noising (fraction) fidelity."""

    name = "mf2-branin"
    min_budget, max_budget, eta = 1.0, 81.0, 3.0
    fidelities = {"epochs": (1 / 81, 1.0), "fraction": (1 / 81, 1.0)}
    optimum = 0.397887
    x_opt = np.array([math.pi, 2.275])

    def __init__(self, noise: float = 1.0):
        if not isinstance(noise, numbers.Real) or isinstance(noise, bool) or not noise >= 0:
            raise ValueError(f"noise: got {noise!r}; it must be a number >= 0")
        self.noise = float(noise)
        self.space = ConfigurationSpace({"x0": Float("x0", (-5.0, 10.0)),
                                         "x1": Float("x1", (0.0, 15.0))})
        rng = np.random.default_rng(0)
        X = np.column_stack([rng.uniform(-5, 10, 100_000), rng.uniform(0, 15, 100_000)])
        self.f_rand = float(self.mean_loss(X, 1.0, 1.0).mean())

    @staticmethod
    def mean_loss(X: np.ndarray, e: Any, d: Any) -> np.ndarray:
        """Noise-free loss at rows ``X`` (n, 2) and fidelities ``e``, ``d`` (scalars or (n,))."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        e = np.broadcast_to(np.asarray(e, dtype=float), (len(X),))
        d = np.broadcast_to(np.asarray(d, dtype=float), (len(X),))
        b = 5.1 / (4 * math.pi ** 2) - 0.02 * (1 - e)
        c = 5 / math.pi - 0.2 * (1 - e)
        t = 1 / (8 * math.pi) + 0.01 * (1 - d)
        x1, x2 = X[:, 0], X[:, 1]
        return ((x2 - b * x1 ** 2 + c * x1 - 6.0) ** 2 + 10.0 * (1 - t) * np.cos(x1) + 10.0
                + 20.0 * (1 - e))

    def evaluate(self, config: dict[str, Any], budget: float, seed: int | None = None,
                 fidelity: dict[str, float] | None = None) -> Result:
        """Loss at the fidelity point (see the module docstring); ``cost = e * d``."""
        p = self.fidelity_point(budget, fidelity)
        try:
            x = np.array([float(config["x0"]), float(config["x1"])])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"config: got {config!r}; expected a dict with x0 and x1") from exc
        e, d = p["epochs"], p["fraction"]
        loss = float(self.mean_loss(x, e, d)[0])
        if self.noise > 0 and d < 1:
            loss += self.noise * math.sqrt(1 / d - 1) * float(
                _noise_rng(seed, np.concatenate([x, [e, d]])).standard_normal())
        return Result(loss, cost=e * d, info={"fidelity": p})

    def test_loss(self, config: dict[str, Any]) -> float:
        return float(self.mean_loss(np.array([float(config["x0"]), float(config["x1"])]), 1.0, 1.0)[0])


class MLPDigits2F(TwoFidelityBenchmark):
    """``mlp-digits-2f``: MLP on digits with epochs (1..27) x training fraction (1/27..1)."""

    name = "mlp-digits-2f"
    min_budget, max_budget, eta = 1.0, 27.0, 3.0
    fidelities = {"epochs": (1, 27), "fraction": (1 / 27, 1.0)}
    optimum = None

    def __init__(self):
        from lowfi.benchmarks.mlp_digits import mlp_space

        self.space = mlp_space()

    def evaluate(self, config: dict[str, Any], budget: float, seed: int | None = None,
                 fidelity: dict[str, float] | None = None) -> Result:
        """Validation error after ``epochs`` passes over ``fraction`` of the training set."""
        from sklearn.exceptions import ConvergenceWarning

        from lowfi.benchmarks.mlp_digits import _data, _model

        p = self.fidelity_point(budget, fidelity)
        epochs = max(int(round(p["epochs"])), 1)
        p["epochs"] = epochs
        t0 = time.perf_counter()
        Xtr, Xva, ytr, yva = _data()
        n = max(int(round(p["fraction"] * len(ytr))), 10)
        idx = np.random.default_rng(0).permutation(len(ytr))[:n]
        model = _model(config, 0 if seed is None else int(seed))
        classes = np.unique(ytr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)  # batch_size clipped on small subsets
            for _ in range(epochs):
                model.partial_fit(Xtr[idx], ytr[idx], classes=classes)
        err = float(1.0 - model.score(Xva, yva))
        return Result(err, cost=self.relative_cost(p),
                      info={"fidelity": p, "seconds": time.perf_counter() - t0})
