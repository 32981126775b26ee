"""Multi-fidelity synthetic functions: Branin and Hartmann-3/6 with continuous fidelity.

Family: the **continuous-fidelity (BOCA-era) definitions of Kandasamy et al.'s own code**
("A collection of utilities for MF-GP Bandits", ``get_mf_branin_as_mfof`` and the Hartmann
equivalents; field survey section 2.3(a)); *not* the discrete-fidelity MF-GP-UCB (NIPS 2016)
variant and *not* mfpbench's bias-plus-noise "MF-Hartmann". The originals are maximization
problems with fidelity ``z in [0, 1]^p`` and target fidelity ``z = 1``:

- cost ``lambda(z) = 0.05 + 0.95 * sum_i z_i^{q_i}`` with ``q = [2]`` (p=1), ``[3, 2]`` (p=2),
  ``[3, 2, 1.5]`` (p=3), ``[3] + linspace(2, 1.2, p - 1)`` (p>3);
- MF-Branin (p <= 3) on ``x1 in [-5, 10], x2 in [0, 15]``:
  ``f(z, x) = -[(x2 - b(z) x1^2 + c(z) x1 - 6)^2 + 10 (1 - t(z)) cos x1 + 10]`` with
  ``b(z) = 5.1/(4 pi^2) - 0.01 (1 - z1)``, ``c(z) = 5/pi - 0.1 (1 - z2)``,
  ``t(z) = 1/(8 pi) + 0.005 (1 - z3)`` (unused fidelity dimensions: no perturbation);
- MF-Hartmann-d (p <= 4) on ``[0, 1]^d``: ``f(z, x) = min(max_val, sum_i alpha_i(z)
  exp(-sum_j A_ij (x_j - P_ij)^2))`` with ``alpha = (1, 1.2, 3, 3.2)`` and
  ``alpha_i(z) = alpha_i - 0.1 (1 - z_i)`` for ``i <= p``.

lowfi minimizes, so the **loss is -f** and ``optimum = -f*``. Budgets map to fidelity as
``z = budget / max_budget`` (the same value on every fidelity dimension); the defaults
``min_budget=10, max_budget=90, eta=3`` give rungs 10, 30, 90, i.e. ``z = 1/9, 1/3, 1``
("Dragonfly-style continuous fidelity, budgets 10/30/90"); any budget in ``(0, max_budget]`` is
accepted. A result's ``cost`` is ``lambda(z)`` (1.0 at ``z = 1`` when ``p = 1``).
``f_rand`` (mean loss of uniform random configurations at ``z = 1``) is estimated once from
100,000 points drawn with seed 0 and cached.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from ConfigSpace import ConfigurationSpace, Float

from lowfi.benchmarks.base import Benchmark
from lowfi.core.seeding import as_generator
from lowfi.core.trial import Result

_F_RAND_CACHE: dict[str, float] = {}


def mf_cost(z: np.ndarray) -> np.ndarray:
    """Kandasamy's shared cost ``0.05 + 0.95 sum_i z_i^{q_i}`` for ``z`` of shape ``(n, p)``."""
    z = np.atleast_2d(np.asarray(z, dtype=float))
    p = z.shape[1]
    if p == 1:
        q = np.array([2.0])
    elif p == 2:
        q = np.array([3.0, 2.0])
    elif p == 3:
        q = np.array([3.0, 2.0, 1.5])
    else:
        q = np.concatenate([[3.0], np.linspace(2.0, 1.2, p - 1)])
    return 0.05 + 0.95 * (z ** q).sum(1)


def mf_branin(X: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Kandasamy's MF-Branin (maximization) at rows ``X`` (n, 2) and fidelities ``Z`` (n, p<=3)."""
    X, Z = np.atleast_2d(X), np.atleast_2d(Z)
    delta = np.array([0.01, 0.1, -0.005])[: Z.shape[1]]
    dev = np.zeros((len(X), 3))
    dev[:, : Z.shape[1]] = (1.0 - Z) * delta
    b = 5.1 / (4 * math.pi ** 2) - dev[:, 0]
    c = 5 / math.pi - dev[:, 1]
    t = 1 / (8 * math.pi) - dev[:, 2]
    x1, x2 = X[:, 0], X[:, 1]
    return -((x2 - b * x1 ** 2 + c * x1 - 6.0) ** 2 + 10.0 * (1 - t) * np.cos(x1) + 10.0)


_H3 = dict(
    A=np.array([[3, 10, 30], [0.1, 10, 35], [3, 10, 30], [0.1, 10, 35]], dtype=float),
    P=1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547],
                       [381, 5743, 8828]], dtype=float),
    x_opt=np.array([0.114614, 0.555649, 0.852547]), max_val=3.86278,
)
_H6 = dict(
    A=np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
                [17, 8, 0.05, 10, 0.1, 14]], dtype=float),
    P=1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                       [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]],
                      dtype=float),
    x_opt=np.array([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]), max_val=3.322368,
)


def mf_hartmann(X: np.ndarray, Z: np.ndarray, dim: int = 3) -> np.ndarray:
    """Kandasamy's MF-Hartmann-``dim`` (maximization) at rows ``X`` and fidelities ``Z`` (p<=4)."""
    c = _H3 if dim == 3 else _H6
    X, Z = np.atleast_2d(X), np.atleast_2d(Z)
    alpha = np.tile(np.array([1.0, 1.2, 3.0, 3.2]), (len(X), 1))
    alpha[:, : Z.shape[1]] -= 0.1 * (1.0 - Z)
    inner = ((X[:, None, :] - c["P"][None]) ** 2 * c["A"][None]).sum(-1)  # (n, 4)
    return np.minimum(c["max_val"], (alpha * np.exp(-inner)).sum(1))


class MFSynthetic(Benchmark):
    """A Kandasamy continuous-fidelity function as a lowfi benchmark (loss = -f).

    Parameters
    ----------
    min_budget, max_budget, eta
        The budget grid; fidelity ``z = budget / max_budget``.
    fidelity_dim
        Number ``p`` of fidelity dimensions (all set to ``z``); it changes the perturbation and
        the cost ``lambda(z)``.
    """

    tabular = False
    _bounds: list[tuple[float, float]] = []
    _max_p = 3

    def __init__(self, min_budget: float = 10.0, max_budget: float = 90.0, eta: float = 3.0,
                 fidelity_dim: int = 1):
        if not isinstance(fidelity_dim, numbers.Integral) or not 1 <= fidelity_dim <= self._max_p:
            raise ValueError(f"fidelity_dim: got {fidelity_dim!r}; allowed are 1..{self._max_p}")
        for name, v in (("min_budget", min_budget), ("max_budget", max_budget)):
            if not isinstance(v, numbers.Real) or not 0 < v < math.inf:
                raise ValueError(f"{name}: got {v!r}; it must be a finite number > 0")
        if min_budget > max_budget:
            raise ValueError(f"min_budget: got {min_budget!r} > max_budget={max_budget!r}")
        self.min_budget, self.max_budget, self.eta = float(min_budget), float(max_budget), float(eta)
        self.p = int(fidelity_dim)
        self.space = ConfigurationSpace(
            {f"x{i}": Float(f"x{i}", (lo, hi)) for i, (lo, hi) in enumerate(self._bounds)})
        key = f"{self.name}/p{self.p}"
        if key not in _F_RAND_CACHE:
            rng = as_generator(0)
            lo = np.array([b[0] for b in self._bounds])
            hi = np.array([b[1] for b in self._bounds])
            X = lo + (hi - lo) * rng.random((100_000, len(lo)))
            _F_RAND_CACHE[key] = float(np.mean(self.loss_at(X, np.ones(len(X)))))
        self.f_rand = _F_RAND_CACHE[key]

    # subclasses provide _f(X, Z) (maximization)
    def _f(self, X: np.ndarray, Z: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def loss_at(self, X: Any, z: Any) -> np.ndarray:
        """Vectorized loss ``-f(z, x)`` for raw inputs ``X`` (n, d) and fidelities ``z`` (n,)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        z = np.broadcast_to(np.asarray(z, dtype=float).reshape(-1), (len(X),))
        return -self._f(X, np.repeat(z[:, None], self.p, axis=1))

    def cost_at(self, z: Any) -> np.ndarray:
        """``lambda(z)`` for fidelities ``z`` (scalar or 1-D)."""
        z = np.atleast_1d(np.asarray(z, dtype=float))
        return mf_cost(np.repeat(z[:, None], self.p, axis=1))

    def _x(self, config: dict[str, Any]) -> np.ndarray:
        if not isinstance(config, dict):
            raise TypeError(f"config: got {type(config).__name__}; a configuration is a dict")
        try:
            return np.array([[float(config[f"x{i}"]) for i in range(len(self._bounds))]])
        except KeyError as exc:
            raise ValueError(f"config: missing parameter {exc}; expected x0..x{len(self._bounds) - 1}") from exc

    def _z(self, budget: Any) -> float:
        if not isinstance(budget, numbers.Real) or isinstance(budget, bool) or not 0 < budget <= self.max_budget * (1 + 1e-9):
            raise ValueError(f"budget: got {budget!r}; allowed are numbers in (0, {self.max_budget:g}]")
        return min(float(budget) / self.max_budget, 1.0)

    def evaluate(self, config: dict[str, Any], budget: float, seed: int | None = None) -> Result:
        """Loss ``-f(z, x)`` at ``z = budget / max_budget`` with ``cost = lambda(z)``
        (noise-free: ``seed`` is ignored)."""
        z = self._z(budget)
        loss = float(self.loss_at(self._x(config), z)[0])
        return Result(loss, cost=float(self.cost_at(z)[0]), info={"z": z})

    def test_loss(self, config: dict[str, Any]) -> float:
        return float(self.loss_at(self._x(config), 1.0)[0])


class MFBranin(MFSynthetic):
    """Kandasamy's continuous-fidelity MF-Branin (field survey 2.3(a)); loss = -f, optimum
    0.397887 at ``x = (pi, 2.275)`` (also ``(-pi, 12.275)`` and ``(9.42478, 2.475)``)."""

    name = "mf-branin"
    _bounds = [(-5.0, 10.0), (0.0, 15.0)]
    _max_p = 3
    optimum = 0.397887
    x_opt = np.array([math.pi, 2.275])

    def _f(self, X: np.ndarray, Z: np.ndarray) -> np.ndarray:
        return mf_branin(X, Z)


class MFHartmann(MFSynthetic):
    """Kandasamy's continuous-fidelity MF-Hartmann-``dim`` (field survey 2.3(a)); loss = -f.

    Parameters
    ----------
    dim
        3 or 6.
    """

    _max_p = 4

    def __init__(self, dim: int = 3, **kwargs: Any):
        if dim not in (3, 6):
            raise ValueError(f"dim: got {dim!r}; allowed are 3, 6")
        self.dim = dim
        self.name = f"mf-hartmann{dim}"
        c = _H3 if dim == 3 else _H6
        self._bounds = [(0.0, 1.0)] * dim
        self.x_opt = c["x_opt"]
        self.optimum = -c["max_val"]
        super().__init__(**kwargs)

    def _f(self, X: np.ndarray, Z: np.ndarray) -> np.ndarray:
        return mf_hartmann(X, Z, self.dim)


def mf_hartmann3(**kwargs: Any) -> MFHartmann:
    """MF-Hartmann-3 (optimum -3.86278 at (0.114614, 0.555649, 0.852547))."""
    return MFHartmann(3, **kwargs)


def mf_hartmann6(**kwargs: Any) -> MFHartmann:
    """MF-Hartmann-6 (optimum -3.322368 at (0.20169, 0.150011, 0.476874, 0.275332, 0.311652,
    0.6573))."""
    return MFHartmann(6, **kwargs)
