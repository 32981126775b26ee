"""Covariance functions for :class:`lowfi.models.gp.GP`, with analytic gradients.

Every kernel keeps its hyperparameters in an unconstrained vector ``theta`` (logarithms of
positive quantities) with box ``bounds`` for L-BFGS-B, and computes ``K(X1, X2)`` and, for
marginal-likelihood fitting, ``K_grad(X) -> (K, dK)`` with ``dK[j] = dK / dtheta[j]``.
Kernels act on chosen columns of the input matrix, so a product kernel over
``(configuration, budget)`` is ``Product(Matern52(cols), FidelityBasis(col))``.

Kernels
-------
Matern52
    Matern-5/2 with one lengthscale per input dimension (ARD).
FidelityBasis
    ``phi(s)^T Sigma phi(s')`` with FABOLAS's basis for data-subset size
    (Klein et al. 2017): ``phi(s) = (1, (1 - s)^2)`` for the loss and ``(1, s)`` for the cost.
ExpDecay
    Swersky et al. (2014)'s kernel over training steps, ``beta^alpha / (t + t' + beta)^alpha``:
    an infinite mixture of exponentially decaying basis functions.
Constant
    A constant covariance ``c``.
"""

from __future__ import annotations

import numpy as np

SQRT5 = float(np.sqrt(5.0))


def _cols(X: np.ndarray, cols: np.ndarray | None) -> np.ndarray:
    return X if cols is None else X[:, cols]


class Kernel:
    """Base class: hyperparameters ``theta`` (unconstrained), ``bounds``, ``K``, ``K_grad``."""

    theta: np.ndarray
    bounds: list[tuple[float, float]]

    @property
    def n_params(self) -> int:
        return len(self.theta)

    def K(self, X1: np.ndarray, X2: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def diag(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def K_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def log_prior(self) -> tuple[float, np.ndarray]:
        """Log prior density of ``theta`` (up to a constant) and its gradient (default flat)."""
        return 0.0, np.zeros(self.n_params)

    def pairwise(self, X1: np.ndarray, X2: np.ndarray) -> np.ndarray:
        """``k(X1[i], X2[i])`` for each row ``i``."""
        raise NotImplementedError

    def __mul__(self, other: Kernel) -> Kernel:
        return Product(self, other)

    def __add__(self, other: Kernel) -> Kernel:
        return Sum(self, other)


class Matern52(Kernel):
    """Matern-5/2 ARD kernel ``(1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r)``, unit amplitude.

    Parameters
    ----------
    n_dims
        Number of input columns it reads.
    cols
        Column indices it reads (default: all columns).
    lengthscale
        Initial lengthscale(s).
    bounds
        Lengthscale range.
    prior
        If True, a weak log-normal prior ``log l ~ N(log 0.5, 1.5^2)`` keeps lengthscales from
        collapsing with few observations (a MAP fit; set False for pure marginal likelihood).
    """

    def __init__(self, n_dims: int, cols: np.ndarray | list[int] | None = None,
                 lengthscale: float = 0.3, bounds: tuple[float, float] = (1e-2, 20.0),
                 prior: bool = True):
        if n_dims < 1:
            raise ValueError(f"n_dims: got {n_dims}; a Matern kernel needs at least one dimension")
        self.cols = None if cols is None else np.asarray(cols, dtype=int)
        if self.cols is not None and len(self.cols) != n_dims:
            raise ValueError(f"cols: got {len(self.cols)} columns for n_dims={n_dims}")
        self.theta = np.full(n_dims, np.log(lengthscale))
        self.bounds = [(float(np.log(bounds[0])), float(np.log(bounds[1])))] * n_dims
        self.prior = prior

    def _with(self, log_lengthscales: np.ndarray) -> Matern52:
        """Set the log lengthscales and return self (for callers holding their own vector)."""
        self.theta = np.asarray(log_lengthscales, dtype=float).copy()
        return self

    def _r(self, X1: np.ndarray, X2: np.ndarray) -> np.ndarray:
        ls = np.exp(self.theta)
        A = _cols(X1, self.cols) / ls
        B = _cols(X2, self.cols) / ls
        d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
        return np.sqrt(np.maximum(d2, 0.0))

    def K(self, X1: np.ndarray, X2: np.ndarray | None = None) -> np.ndarray:
        r = self._r(X1, X1 if X2 is None else X2)
        return (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * np.exp(-SQRT5 * r)

    def diag(self, X: np.ndarray) -> np.ndarray:
        return np.ones(len(X))

    def pairwise(self, X1: np.ndarray, X2: np.ndarray) -> np.ndarray:
        ls = np.exp(self.theta)
        r = np.sqrt((((_cols(X1, self.cols) - _cols(X2, self.cols)) / ls) ** 2).sum(1))
        return (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * np.exp(-SQRT5 * r)

    def K_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ls = np.exp(self.theta)
        A = _cols(X, self.cols) / ls
        D2 = (A[:, None, :] - A[None, :, :]) ** 2  # (n, n, d): (x_d - x'_d)^2 / l_d^2
        r = np.sqrt(D2.sum(-1))
        e = np.exp(-SQRT5 * r)
        K = (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * e
        G = 5.0 / 3.0 * (1.0 + SQRT5 * r) * e  # dK/dlog l_d = G * D2_d
        return K, np.moveaxis(G[:, :, None] * D2, -1, 0)

    def log_prior(self) -> tuple[float, np.ndarray]:
        if not self.prior:
            return super().log_prior()
        z = (self.theta - np.log(0.5)) / 1.5
        return float(-0.5 * (z * z).sum()), -z / 1.5


class FidelityBasis(Kernel):
    """``k(s, s') = phi(s)^T L L^T phi(s')`` on one column ``s`` (budget fraction in (0, 1]).

    ``basis="fabolas"`` uses ``phi(s) = (1, (1 - s)^2)`` (Klein et al. 2017, loss model for the
    data-subset fraction: the loss approaches its full-data value quadratically);
    ``basis="linear"`` uses ``phi(s) = (1, s)`` (their cost model). ``L`` is lower triangular;
    ``theta = (log L00, L10, log L11)``.
    """

    def __init__(self, col: int, basis: str = "fabolas"):
        if basis not in ("fabolas", "linear"):
            raise ValueError(f"basis: got {basis!r}; allowed are 'fabolas', 'linear'")
        self.col, self.basis = int(col), basis
        self.theta = np.array([0.0, 0.0, np.log(0.5)])
        self.bounds = [(-4.0, 3.0), (-5.0, 5.0), (-6.0, 3.0)]

    def _phi(self, X: np.ndarray) -> np.ndarray:
        s = X[:, self.col]
        second = (1.0 - s) ** 2 if self.basis == "fabolas" else s
        return np.stack([np.ones_like(s), second], axis=1)

    def _L(self) -> np.ndarray:
        a, c, b = self.theta
        return np.array([[np.exp(a), 0.0], [c, np.exp(b)]])

    def K(self, X1: np.ndarray, X2: np.ndarray | None = None) -> np.ndarray:
        L = self._L()
        P1 = self._phi(X1) @ L
        P2 = P1 if X2 is None else self._phi(X2) @ L
        return P1 @ P2.T

    def diag(self, X: np.ndarray) -> np.ndarray:
        P = self._phi(X) @ self._L()
        return (P * P).sum(1)

    def pairwise(self, X1: np.ndarray, X2: np.ndarray) -> np.ndarray:
        L = self._L()
        return ((self._phi(X1) @ L) * (self._phi(X2) @ L)).sum(1)

    def K_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        L = self._L()
        P = self._phi(X)
        dLs = [np.array([[L[0, 0], 0.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [1.0, 0.0]]),
               np.array([[0.0, 0.0], [0.0, L[1, 1]]])]
        K = P @ (L @ L.T) @ P.T
        dK = np.stack([P @ (dL @ L.T + L @ dL.T) @ P.T for dL in dLs])
        return K, dK


class ExpDecay(Kernel):
    """Freeze-thaw's exponential-decay kernel (Swersky et al. 2014) on column ``col``:
    ``k(t, t') = beta^alpha / (t + t' + beta)^alpha``, ``theta = (log alpha, log beta)``."""

    def __init__(self, col: int = 0, alpha: float = 1.0, beta: float = 1.0):
        self.col = int(col)
        self.theta = np.log([alpha, beta]).astype(float)
        self.bounds = [(np.log(0.05), np.log(20.0)), (np.log(0.01), np.log(100.0))]

    def _k(self, t: np.ndarray) -> np.ndarray:
        a, b = np.exp(self.theta)
        return np.exp(a * (np.log(b) - np.log(t + b)))

    def K(self, X1: np.ndarray, X2: np.ndarray | None = None) -> np.ndarray:
        X2 = X1 if X2 is None else X2
        return self._k(X1[:, self.col][:, None] + X2[:, self.col][None, :])

    def diag(self, X: np.ndarray) -> np.ndarray:
        return self._k(2.0 * X[:, self.col])

    def pairwise(self, X1: np.ndarray, X2: np.ndarray) -> np.ndarray:
        return self._k(X1[:, self.col] + X2[:, self.col])

    def K_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = np.exp(self.theta)
        t = X[:, self.col][:, None] + X[:, self.col][None, :]
        K = self._k(t)
        dlog_a = K * a * (np.log(b) - np.log(t + b))
        dlog_b = K * a * (1.0 - b / (t + b))
        return K, np.stack([dlog_a, dlog_b])


class Constant(Kernel):
    """``k = c`` everywhere; ``theta = (log c,)``."""

    def __init__(self, value: float = 1.0, bounds: tuple[float, float] = (1e-3, 1e2)):
        self.theta = np.array([np.log(value)])
        self.bounds = [(float(np.log(bounds[0])), float(np.log(bounds[1])))]

    def K(self, X1: np.ndarray, X2: np.ndarray | None = None) -> np.ndarray:
        return np.full((len(X1), len(X1 if X2 is None else X2)), np.exp(self.theta[0]))

    def diag(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), np.exp(self.theta[0]))

    def pairwise(self, X1: np.ndarray, X2: np.ndarray) -> np.ndarray:
        return self.diag(X1)

    def K_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        K = self.K(X)
        return K, K[None]


class _Pair(Kernel):
    def __init__(self, k1: Kernel, k2: Kernel):
        self.k1, self.k2 = k1, k2

    @property
    def theta(self) -> np.ndarray:  # type: ignore[override]
        return np.concatenate([self.k1.theta, self.k2.theta])

    @theta.setter
    def theta(self, value: np.ndarray) -> None:
        value = np.asarray(value, dtype=float)
        n1 = self.k1.n_params
        self.k1.theta, self.k2.theta = value[:n1].copy(), value[n1:].copy()

    @property
    def bounds(self) -> list[tuple[float, float]]:  # type: ignore[override]
        return list(self.k1.bounds) + list(self.k2.bounds)

    def log_prior(self) -> tuple[float, np.ndarray]:
        v1, g1 = self.k1.log_prior()
        v2, g2 = self.k2.log_prior()
        return v1 + v2, np.concatenate([g1, g2])


class Product(_Pair):
    """Elementwise product of two kernels."""

    def K(self, X1: np.ndarray, X2: np.ndarray | None = None) -> np.ndarray:
        return self.k1.K(X1, X2) * self.k2.K(X1, X2)

    def diag(self, X: np.ndarray) -> np.ndarray:
        return self.k1.diag(X) * self.k2.diag(X)

    def pairwise(self, X1: np.ndarray, X2: np.ndarray) -> np.ndarray:
        return self.k1.pairwise(X1, X2) * self.k2.pairwise(X1, X2)

    def K_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        K1, d1 = self.k1.K_grad(X)
        K2, d2 = self.k2.K_grad(X)
        return K1 * K2, np.concatenate([d1 * K2, K1 * d2])


class Sum(_Pair):
    """Sum of two kernels."""

    def K(self, X1: np.ndarray, X2: np.ndarray | None = None) -> np.ndarray:
        return self.k1.K(X1, X2) + self.k2.K(X1, X2)

    def diag(self, X: np.ndarray) -> np.ndarray:
        return self.k1.diag(X) + self.k2.diag(X)

    def pairwise(self, X1: np.ndarray, X2: np.ndarray) -> np.ndarray:
        return self.k1.pairwise(X1, X2) + self.k2.pairwise(X1, X2)

    def K_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        K1, d1 = self.k1.K_grad(X)
        K2, d2 = self.k2.K_grad(X)
        return K1 + K2, np.concatenate([d1, d2])
