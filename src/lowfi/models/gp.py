"""Gaussian-process regression (Rasmussen & Williams 2006, chapters 2 and 5).

:class:`GP` is an exact GP with a Matern-5/2 ARD kernel by default (any
:mod:`lowfi.models.kernels` kernel can be passed), a signal variance and a Gaussian noise
variance. Hyperparameters maximize the log marginal likelihood (plus the kernel's weak
log-prior, if any) with multi-start L-BFGS-B and analytic gradients; the Cholesky factor gets
growing jitter until it succeeds. Targets are standardized internally.

Above ``max_exact`` observations the posterior switches to the deterministic training
conditional (DTC / projected process, Seeger et al. 2003; Quinonero-Candela & Rasmussen 2005)
with ``n_inducing`` inducing points drawn from the data, and hyperparameters are fit on a
random subset of ``n_hyper`` points: cost ``O(n m^2)`` instead of ``O(n^3)``, so thousands of
observations stay fast.

:class:`GPFeatures` turns lowfi's encoded vectors (numerical in [0, 1], categorical as an
index, inactive as NaN) into GP inputs: categoricals one-hot, ordinals scaled to [0, 1],
inactive numerical values imputed with -0.5 (outside the active range, so active and inactive
configurations are apart) and inactive categoricals as an all-zero one-hot block.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.optimize import minimize

from lowfi.core.seeding import SeedLike, as_generator
from lowfi.models.kernels import Kernel, Matern52

LOG2PI = math.log(2.0 * math.pi)
_CONTROLLER: Any = None


def blas_single_thread() -> Any:
    """A context manager limiting BLAS to one thread (a no-op without threadpoolctl).

    GP work is many small matrix operations; multi-threaded OpenBLAS makes them 10-20x slower
    on a busy machine (measured: 1.1 s vs 0.06 s for one 30-point fit on a loaded 2-core host).
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
            _CONTROLLER = ThreadpoolController()
        except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
            _CONTROLLER = False
    if _CONTROLLER is False:
        return contextlib.nullcontext()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def _as_matrix(X: Any, name: str = "X") -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"{name}: got an array with shape {X.shape}; expected (n_samples, n_features)")
    if not np.all(np.isfinite(X)):
        raise ValueError(
            f"{name}: contains NaN or infinite values; impute inactive parameters first "
            "(lowfi.models.gp.GPFeatures does it for encoded configurations)"
        )
    return X


def cholesky(K: np.ndarray, jitter: float = 1e-8, max_tries: int = 8) -> tuple[np.ndarray, float]:
    """Lower Cholesky factor of ``K``, adding diagonal jitter (x10 each try) if needed.

    Returns ``(L, jitter_used)``; raises ``numpy.linalg.LinAlgError`` if all tries fail.
    """
    scale = float(np.mean(np.diag(K))) if len(K) else 1.0
    scale = scale if scale > 0 else 1.0
    eye = np.eye(len(K))
    j = 0.0
    for _ in range(max_tries):
        try:
            return np.linalg.cholesky(K + j * scale * eye), j * scale
        except np.linalg.LinAlgError:
            j = jitter if j == 0.0 else j * 10.0
    raise np.linalg.LinAlgError(f"cholesky: matrix not positive definite even with jitter {j:g}")


def check_refit_schedule(refit_below: Any, refit_growth: Any) -> tuple[int, float]:
    """Checked ``(refit_below, refit_growth)`` of a geometric hyperparameter schedule (see
    :func:`refit_due`)."""
    if isinstance(refit_below, bool) or not isinstance(refit_below, int) or refit_below < 0:
        raise ValueError(f"refit_below: got {refit_below!r}; it must be an int >= 0")
    if isinstance(refit_growth, bool) or not isinstance(refit_growth, int | float) \
            or not refit_growth >= 0:
        raise ValueError(f"refit_growth: got {refit_growth!r}; it must be a number >= 0")
    return int(refit_below), float(refit_growth)


def refit_due(n: int, last: int, refit_below: int, refit_growth: float) -> bool:
    """Whether a GP on ``n`` observations should re-optimize its hyperparameters, the last
    optimization having been on ``last`` (0: never): always up to ``refit_below``
    observations, then once their number grew by the fraction ``refit_growth``."""
    return n <= refit_below or last == 0 or n >= (1.0 + refit_growth) * last


#: attributes of the exact and of the sparse posterior (only one set is kept)
_EXACT_STATE = ("_L", "_alpha")
_SPARSE_STATE = ("_Z", "_Lm", "_La", "_beta")


class GP:
    """Exact GP regression with marginal-likelihood hyperparameters and a sparse fallback.

    Parameters
    ----------
    kernel
        A :class:`lowfi.models.kernels.Kernel` (unit amplitude); default Matern-5/2 ARD over
        all input columns, built at the first :meth:`fit`.
    noise
        Fixed noise variance (on standardized targets), or None to fit it.
    noise_bounds
        Range of the fitted noise variance (standardized targets).
    n_restarts
        Random restarts of L-BFGS-B besides the warm start from the previous fit.
    restart_every
        Random restarts run at the first fit and then every ``restart_every``-th fit; the fits
        in between only warm-start from the previous hyperparameters (fast refits in BO loops).
    normalize_y
        Standardize targets to zero mean and unit variance.
    max_exact
        Largest number of observations for the exact posterior; above it DTC is used.
    n_inducing, n_hyper
        Inducing points of the sparse posterior, and points used to fit hyperparameters.
    seed
        Seed of the restarts and subsets.
    """

    def __init__(self, kernel: Kernel | None = None, *, noise: float | None = None,
                 noise_bounds: tuple[float, float] = (1e-6, 1.0), n_restarts: int = 2,
                 restart_every: int = 5,
                 normalize_y: bool = True, max_exact: int = 600, n_inducing: int = 300,
                 n_hyper: int = 300, seed: SeedLike = None):
        if kernel is not None and not isinstance(kernel, Kernel):
            raise TypeError(f"kernel: got {type(kernel).__name__}; pass a lowfi.models.kernels.Kernel")
        if noise is not None and not noise > 0:
            raise ValueError(f"noise: got {noise!r}; a noise variance must be > 0 or None (fit it)")
        for name, v in (("max_exact", max_exact), ("n_inducing", n_inducing), ("n_hyper", n_hyper)):
            if int(v) < 2:
                raise ValueError(f"{name}: got {v!r}; it must be an integer >= 2")
        if int(n_restarts) < 0:
            raise ValueError(f"n_restarts: got {n_restarts!r}; it must be >= 0")
        self.kernel = kernel
        self.fixed_noise = noise
        self.noise_bounds = (math.log(noise_bounds[0]), math.log(noise_bounds[1]))
        self.n_restarts = int(n_restarts)
        if int(restart_every) < 1:
            raise ValueError(f"restart_every: got {restart_every!r}; it must be >= 1")
        self.restart_every = int(restart_every)
        self._n_fits = 0
        self.normalize_y = normalize_y
        self.max_exact, self.n_inducing, self.n_hyper = int(max_exact), int(n_inducing), int(n_hyper)
        self.rng = as_generator(seed)
        self.log_signal = 0.0
        self.log_noise = math.log(noise) if noise is not None else math.log(1e-2)
        self.sparse = False
        self._fitted = False

    # ------------------------------------------------------------------ hyperparameters
    @property
    def signal_var(self) -> float:
        return math.exp(self.log_signal)

    @property
    def noise_var(self) -> float:
        """Noise variance in the units of the targets."""
        return math.exp(self.log_noise) * self._y_std ** 2

    def _get(self) -> np.ndarray:
        head = [self.log_signal] + ([] if self.fixed_noise is not None else [self.log_noise])
        return np.concatenate([head, self.kernel.theta])

    def _set(self, theta: np.ndarray) -> None:
        self.log_signal = float(theta[0])
        k = 1
        if self.fixed_noise is None:
            self.log_noise = float(theta[1])
            k = 2
        self.kernel.theta = np.asarray(theta[k:], dtype=float)

    def _bounds(self) -> list[tuple[float, float]]:
        head = [(math.log(0.05), math.log(20.0))]
        if self.fixed_noise is None:
            head.append(self.noise_bounds)
        return head + list(self.kernel.bounds)

    def neg_log_marginal_likelihood(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray
                                    ) -> tuple[float, np.ndarray]:
        """Negative log marginal likelihood (minus the kernel's log prior) and its gradient."""
        self._set(theta)
        Kk, dKk = self.kernel.K_grad(X)
        s2, nv = math.exp(self.log_signal), math.exp(self.log_noise)
        n = len(y)
        K = s2 * Kk + nv * np.eye(n)
        try:
            L, _ = cholesky(K, max_tries=4)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros(len(theta))
        alpha = cho_solve((L, True), y)
        nll = 0.5 * y @ alpha + np.log(np.diag(L)).sum() + 0.5 * n * LOG2PI
        W = np.outer(alpha, alpha) - cho_solve((L, True), np.eye(n))
        grads = [-0.5 * np.sum(W * (s2 * Kk))]
        if self.fixed_noise is None:
            grads.append(-0.5 * nv * np.trace(W))
        grads.extend(-0.5 * s2 * np.einsum("ij,pij->p", W, dKk))
        lp, glp = self.kernel.log_prior()
        return float(nll - lp), np.asarray(grads) - np.concatenate([np.zeros(len(theta) - len(glp)), glp])

    def _optimize(self, X: np.ndarray, y: np.ndarray) -> None:
        bounds = self._bounds()
        lo = np.array([b[0] for b in bounds])
        hi = np.array([b[1] for b in bounds])
        starts = [np.clip(self._get(), lo, hi)]
        restarts = self.n_restarts if self._n_fits % self.restart_every == 0 else 0
        self._n_fits += 1
        for _ in range(restarts):
            starts.append(lo + (hi - lo) * self.rng.uniform(0.15, 0.85, len(lo)))
        best_theta, best_val = starts[0], np.inf
        for x0 in starts:
            try:
                res = minimize(self.neg_log_marginal_likelihood, x0, args=(X, y), jac=True,
                               method="L-BFGS-B", bounds=bounds, options={"maxiter": 100})
            except (np.linalg.LinAlgError, ValueError):  # pragma: no cover - numerical failure
                continue
            if np.isfinite(res.fun) and res.fun < best_val:
                best_theta, best_val = res.x, res.fun
        self._set(best_theta)

    # ------------------------------------------------------------------ fit / predict
    def fit(self, X: Any, y: Any, optimize: bool = True) -> GP:
        """Condition on ``(X, y)``; with ``optimize`` also refit the hyperparameters."""
        with blas_single_thread():
            return self._fit(X, y, optimize)

    def _fit(self, X: Any, y: Any, optimize: bool) -> GP:
        X = _as_matrix(X)
        y = np.asarray(y, dtype=float).ravel()
        if len(y) != len(X):
            raise ValueError(f"y: got {len(y)} targets for {len(X)} rows of X; they must match")
        if len(y) == 0:
            raise ValueError("X: got 0 observations; a GP needs at least one")
        if not np.all(np.isfinite(y)):
            raise ValueError("y: contains NaN or infinite values; replace failed results first")
        if self.kernel is None:
            self.kernel = Matern52(X.shape[1])
        self._y_mean = float(y.mean()) if self.normalize_y else 0.0
        std = float(y.std()) if self.normalize_y else 1.0
        self._y_std = std if std > 1e-12 else 1.0
        z = (y - self._y_mean) / self._y_std
        n = len(y)
        if optimize and n >= 2:
            if n > self.n_hyper:
                idx = np.sort(self.rng.choice(n, self.n_hyper, replace=False))
                self._optimize(X[idx], z[idx])
            else:
                self._optimize(X, z)
        self.X_train, self.y_train = X, y
        self.sparse = n > self.max_exact
        s2, nv = self.signal_var, math.exp(self.log_noise)
        # the other posterior's factors are dropped: a GP that went sparse would otherwise keep
        # (and pickle into every optimizer snapshot) the max_exact^2 Cholesky factor forever
        for name in (_SPARSE_STATE if not self.sparse else _EXACT_STATE):
            self.__dict__.pop(name, None)
        if not self.sparse:
            K = s2 * self.kernel.K(X) + nv * np.eye(n)
            self._L, _ = cholesky(K)
            self._alpha = cho_solve((self._L, True), z)
        else:
            m = min(self.n_inducing, n)
            self._Z = X[np.sort(self.rng.choice(n, m, replace=False))]
            Kmm = s2 * self.kernel.K(self._Z)
            self._Lm, _ = cholesky(Kmm, jitter=1e-6)
            V = solve_triangular(self._Lm, s2 * self.kernel.K(self._Z, X), lower=True)  # (m, n)
            A = nv * np.eye(m) + V @ V.T
            self._La, _ = cholesky(A)
            self._beta = cho_solve((self._La, True), V @ z)  # (nv I + V V^T)^-1 V z
        self._fitted = True
        return self

    def _check(self, X: Any) -> np.ndarray:
        if not self._fitted:
            raise RuntimeError("GP: call fit(X, y) before predicting")
        X = _as_matrix(X)
        if X.shape[1] != self.X_train.shape[1]:
            raise ValueError(f"X: got {X.shape[1]} columns; the GP was fit on {self.X_train.shape[1]}")
        return X

    def _proj(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean (standardized) and the whitened cross term used by covariances."""
        s2 = self.signal_var
        if not self.sparse:
            Ks = s2 * self.kernel.K(self.X_train, X)
            return Ks.T @ self._alpha, solve_triangular(self._L, Ks, lower=True)
        W = solve_triangular(self._Lm, s2 * self.kernel.K(self._Z, X), lower=True)  # (m, q)
        return W.T @ self._beta, W

    def _cov_term(self, W1: np.ndarray, W2: np.ndarray) -> np.ndarray:
        """The reduction of the prior covariance between two projected sets."""
        if not self.sparse:
            return W1.T @ W2
        nv = math.exp(self.log_noise)
        U1 = solve_triangular(self._La, W1, lower=True)
        U2 = U1 if W2 is W1 else solve_triangular(self._La, W2, lower=True)
        return W1.T @ W2 - nv * U1.T @ U2

    def predict(self, X: Any, full_cov: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance (or full covariance) of the latent function at ``X``.

        Returns ``(mean, var)`` with shapes ``(q,)``, ``(q,)``, or ``(mean, cov)`` with
        ``cov`` of shape ``(q, q)`` when ``full_cov``; in the units of ``y``. Add
        :attr:`noise_var` for the predictive variance of a new observation.
        """
        X = self._check(X)
        mu, W = self._proj(X)
        s2 = self.signal_var
        scale = self._y_std ** 2
        mean = mu * self._y_std + self._y_mean
        if full_cov:
            cov = s2 * self.kernel.K(X) - self._cov_term(W, W)
            cov = 0.5 * (cov + cov.T)
            return mean, cov * scale
        if not self.sparse:
            red = (W * W).sum(0)
        else:
            nv = math.exp(self.log_noise)
            U = solve_triangular(self._La, W, lower=True)
            red = (W * W).sum(0) - nv * (U * U).sum(0)
        var = np.maximum(s2 * self.kernel.diag(X) - red, 1e-12)
        return mean, var * scale

    def predict_mean(self, X: Any) -> np.ndarray:
        """Posterior mean of the latent function at ``X`` (shape ``(q,)``, units of ``y``).

        The same values as ``predict(X)[0]`` without the variance: with the exact posterior one
        kernel matrix and one product, no triangular solve.
        """
        X = self._check(X)
        if self.sparse:
            mu = self._proj(X)[0]
        else:
            mu = self.signal_var * (self.kernel.K(X, self.X_train) @ self._alpha)
        return mu * self._y_std + self._y_mean

    def posterior_cov(self, X1: Any, X2: Any, pairwise: bool = False) -> np.ndarray:
        """Posterior covariance between ``X1`` and ``X2`` (matrix), or between paired rows."""
        X1, X2 = self._check(X1), self._check(X2)
        _, W1 = self._proj(X1)
        _, W2 = self._proj(X2)
        s2 = self.signal_var
        if pairwise:
            if len(X1) != len(X2):
                raise ValueError(f"X2: got {len(X2)} rows; pairwise needs as many as X1 ({len(X1)})")
            red = (W1 * W2).sum(0)
            if self.sparse:
                nv = math.exp(self.log_noise)
                red = red - nv * (solve_triangular(self._La, W1, lower=True)
                                  * solve_triangular(self._La, W2, lower=True)).sum(0)
            return (s2 * self.kernel.pairwise(X1, X2) - red) * self._y_std ** 2
        return (s2 * self.kernel.K(X1, X2) - self._cov_term(W1, W2)) * self._y_std ** 2

    def sample(self, X: Any, n: int, rng: SeedLike = None) -> np.ndarray:
        """``n`` joint posterior samples of the latent function at ``X`` (shape ``(n, q)``)."""
        mean, cov = self.predict(X, full_cov=True)
        L, _ = cholesky(cov, jitter=1e-9)
        z = as_generator(rng).standard_normal((n, len(mean)))
        return mean + z @ L.T

    def log_marginal_likelihood(self) -> float:
        """Log marginal likelihood of the training data under the current hyperparameters
        (standardized targets; exact even when the posterior is sparse)."""
        if not self._fitted:
            raise RuntimeError("GP: call fit(X, y) first")
        z = (self.y_train - self._y_mean) / self._y_std
        val, _ = self.neg_log_marginal_likelihood(self._get(), self.X_train, z)
        lp, _ = self.kernel.log_prior()
        return -(val + lp)


class GPFeatures:
    """Map lowfi encoded vectors to GP inputs (one-hot categoricals, imputed inactive values).

    Parameters
    ----------
    space
        A :class:`lowfi.space.Space`.
    """

    #: value given to inactive numerical parameters (outside the active range [0, 1])
    inactive = -0.5

    def __init__(self, space: Any):
        self.space = space
        blocks, cont = [], []
        k = 0
        for i, kind in enumerate(space.kinds):
            if kind == "const":
                continue
            if kind == "cat":
                blocks.append((i, "cat", k, int(space.n_choices[i])))
                k += int(space.n_choices[i])
            else:
                blocks.append((i, kind, k, 1))
                if kind == "float":
                    cont.append(i)
                k += 1
        self.blocks = blocks
        self.n_features = max(k, 1)
        #: indices (in the encoded space) of continuous parameters, for gradient-based search
        self.continuous = np.asarray(cont, dtype=int)

    def transform(self, X: Any) -> np.ndarray:
        """GP inputs for encoded rows ``X`` (shape ``(n, space.dim)``)."""
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[None, :]
        if X.shape[1] != self.space.dim:
            raise ValueError(f"X: got {X.shape[1]} columns; the space has {self.space.dim}")
        F = np.zeros((len(X), self.n_features))
        for i, kind, k, width in self.blocks:
            col = X[:, i]
            nan = np.isnan(col)
            if kind == "cat":
                idx = np.clip(np.nan_to_num(col, nan=0.0).round().astype(int), 0, width - 1)
                rows = np.flatnonzero(~nan)
                F[rows, k + idx[rows]] = 1.0
            elif kind == "ord":
                n = max(int(self.space.n_choices[i]) - 1, 1)
                F[:, k] = np.where(nan, self.inactive, col / n)
            else:
                F[:, k] = np.where(nan, self.inactive, col)
        return F


class FreezeThawGP:
    """Freeze-thaw GP over learning curves (Swersky, Snoek & Adams 2014).

    Each configuration ``n`` has an asymptote ``f_n ~ GP(m, s2_x Matern52_ARD)`` over
    configurations; its curve is ``y_n(t) = f_n + g_n(t) + noise`` with independent
    ``g_n ~ GP(0, s2_t ExpDecay)`` over steps, ``k(t, t') = beta^alpha / (t + t' + beta)^alpha``.
    Given the curves, each curve is a Gaussian likelihood for its own asymptote, with precision
    ``Lambda_n = 1^T K_n^-1 1`` and mean ``1^T K_n^-1 y_n / Lambda_n``, so inference costs
    ``O(N^3 + sum_n T_n^3)`` instead of ``O((sum_n T_n)^3)``: the conditional structure of the
    paper. Curves are padded into one batch, so the per-curve algebra is vectorized.
    Hyperparameters maximize the exact marginal likelihood (L-BFGS-B).

    Parameters
    ----------
    max_points
        Points kept per curve (evenly spaced, always the last one).
    n_restarts
        Random restarts at the first fit (later fits warm-start).
    t_scale
        Steps are divided by it before the kernel sees them (default: a tenth of the largest
        step seen; pass ``max_steps / 10`` so the scale does not drift as curves grow).
    seed
        Seed of the restarts.
    """

    def __init__(self, max_points: int = 20, n_restarts: int = 2, t_scale: float | None = None,
                 seed: SeedLike = None):
        if int(max_points) < 2:
            raise ValueError(f"max_points: got {max_points!r}; it must be >= 2")
        if t_scale is not None and not t_scale > 0:
            raise ValueError(f"t_scale: got {t_scale!r}; it must be > 0 or None")
        self.t_scale = t_scale
        self.max_points = int(max_points)
        self.n_restarts = int(n_restarts)
        self.rng = as_generator(seed)
        self.theta: np.ndarray | None = None
        self._fitted = False

    # theta = [log s2_x, log ls (d), m, log alpha, log beta, log s2_t, log noise]
    def _bounds(self, d: int) -> list[tuple[float, float]]:
        return ([(math.log(0.01), math.log(20.0))] + [(math.log(0.01), math.log(20.0))] * d
                + [(-3.0, 3.0), (math.log(0.1), math.log(5.0)), (math.log(0.01), math.log(100.0)),
                   (math.log(1e-3), math.log(10.0)), (math.log(1e-6), math.log(1.0))])

    def _pack(self, X: np.ndarray, curves: list[tuple[np.ndarray, np.ndarray]]) -> None:
        N = len(curves)
        T = max(len(c[0]) for c in curves)
        self._t = np.zeros((N, T))
        self._y = np.zeros((N, T))
        self._o = np.zeros((N, T))
        for n, (t, y) in enumerate(curves):
            k = len(t)
            self._t[n, :k], self._y[n, :k], self._o[n, :k] = t, y, 1.0

    def _curve_terms(self, theta: np.ndarray) -> tuple:
        d = len(theta) - 6
        alpha, beta = math.exp(theta[d + 2]), math.exp(theta[d + 3])
        s2t, nv = math.exp(theta[d + 4]), math.exp(theta[d + 5])
        o = self._o
        tt = self._t[:, :, None] + self._t[:, None, :]
        Kt = s2t * np.exp(alpha * (math.log(beta) - np.log(tt + beta)))
        mask = o[:, :, None] * o[:, None, :]
        T = o.shape[1]
        Kn = Kt * mask + np.eye(T)[None] * np.where(o > 0, nv, 1.0)[:, None, :]
        L = np.linalg.cholesky(Kn)
        r = (self._y - theta[d + 1]) * o
        Kio = np.linalg.solve(Kn, o[:, :, None])[:, :, 0]
        Kir = np.linalg.solve(Kn, r[:, :, None])[:, :, 0]
        lam = (o * Kio).sum(1)
        gam = (o * Kir).sum(1)
        quad = (r * Kir).sum(1)
        logdet = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(1)
        return Kn, lam, gam, quad, logdet

    def _nll(self, theta: np.ndarray) -> float:
        d = len(theta) - 6
        try:
            _, lam, gam, quad, logdet = self._curve_terms(theta)
            Kx = math.exp(theta[0]) * Matern52(d, lengthscale=1.0, prior=False)._with(theta[1:d + 1]).K(self._X)
            sl = np.sqrt(lam)
            B = np.eye(len(lam)) + sl[:, None] * Kx * sl[None, :]
            LB = np.linalg.cholesky(B)
        except np.linalg.LinAlgError:
            return 1e10
        v = solve_triangular(LB, sl * (Kx @ gam), lower=True)
        qf = gam @ Kx @ gam - v @ v
        n_obs = self._o.sum()
        val = 0.5 * (quad.sum() - qf + logdet.sum() + 2 * np.log(np.diag(LB)).sum() + n_obs * LOG2PI)
        z = (theta[1:d + 1] - math.log(0.5)) / 1.5  # the same weak lengthscale prior as GP
        return float(val + 0.5 * (z * z).sum())

    def fit(self, X: Any, curves: list[tuple[Any, Any]]) -> FreezeThawGP:
        """Fit to configurations ``X`` (N, d) and their curves ``[(steps, values), ...]``."""
        with blas_single_thread():
            return self._fit(X, curves)

    def _fit(self, X: Any, curves: list[tuple[Any, Any]]) -> FreezeThawGP:
        X = _as_matrix(X)
        if len(curves) != len(X):
            raise ValueError(f"curves: got {len(curves)} curves for {len(X)} configurations")
        clean = []
        for n, (t, y) in enumerate(curves):
            t, y = np.asarray(t, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
            if len(t) == 0 or len(t) != len(y) or not (np.all(np.isfinite(t)) and np.all(np.isfinite(y))):
                raise ValueError(f"curves: curve {n} must hold >= 1 finite (step, value) pairs of equal length")
            if np.any(t < 0):
                raise ValueError(f"curves: curve {n} has negative steps; steps must be >= 0")
            if len(t) > self.max_points:
                keep = np.unique(np.linspace(0, len(t) - 1, self.max_points).round().astype(int))
                t, y = t[keep], y[keep]
            clean.append((t, y))
        allv = np.concatenate([c[1] for c in clean])
        self._mean = float(allv.mean())
        std = float(allv.std())
        self._std = std if std > 1e-12 else 1.0
        self._tscale = self.t_scale or max(float(np.concatenate([c[0] for c in clean]).max()), 1e-12) / 10.0
        self._X = X
        scaled = [(t / self._tscale, (y - self._mean) / self._std) for t, y in clean]
        self._pack(X, scaled)
        d = X.shape[1]
        bounds = self._bounds(d)
        lo = np.array([b[0] for b in bounds])
        hi = np.array([b[1] for b in bounds])
        if self.theta is None or len(self.theta) != d + 6:
            start = np.concatenate([[0.0], np.full(d, math.log(0.5)),
                                    [0.0, 0.0, 0.0, math.log(0.5), math.log(1e-2)]])
            starts = [start] + [lo + (hi - lo) * self.rng.uniform(0.2, 0.8, len(lo))
                                for _ in range(self.n_restarts)]
        else:
            starts = [np.clip(self.theta, lo, hi)]
        best, best_val = starts[0], np.inf
        for x0 in starts:
            res = minimize(self._nll, x0, method="L-BFGS-B", bounds=bounds, options={"maxiter": 60})
            if res.fun < best_val:
                best, best_val = res.x, res.fun
        self.theta = best
        self._condition()
        self._fitted = True
        return self

    def _condition(self) -> None:
        th = self.theta
        d = len(th) - 6
        self._kx = Matern52(d, prior=False)._with(th[1:d + 1])
        self._s2x, self._m = math.exp(th[0]), th[d + 1]
        Kn, lam, gam, _, _ = self._curve_terms(th)
        self._Kn, self._lam, self._gam = Kn, lam, gam
        sl = np.sqrt(lam)
        Kx = self._s2x * self._kx.K(self._X)
        self._sl = sl
        self._LB = np.linalg.cholesky(np.eye(len(lam)) + sl[:, None] * Kx * sl[None, :])
        # weights for the mean: Lambda^1/2 B^-1 Lambda^-1/2 gamma
        self._w = sl * cho_solve((self._LB, True), gam / sl)

    def predict_asymptote(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the asymptote ``f`` at configurations ``X``."""
        if not self._fitted:
            raise RuntimeError("FreezeThawGP: call fit first")
        X = _as_matrix(X)
        Ks = self._s2x * self._kx.K(self._X, X)  # (N, q)
        mean = self._m + Ks.T @ self._w
        V = solve_triangular(self._LB, self._sl[:, None] * Ks, lower=True)
        var = np.maximum(self._s2x - (V * V).sum(0), 1e-12)
        return mean * self._std + self._mean, var * self._std ** 2

    def predict_curve(self, index: int, steps: Any) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of training curve ``index`` at (future) ``steps``."""
        if not self._fitted:
            raise RuntimeError("FreezeThawGP: call fit first")
        if not 0 <= int(index) < len(self._X):
            raise ValueError(f"index: got {index!r}; allowed are 0..{len(self._X) - 1}")
        n = int(index)
        th = self.theta
        d = len(th) - 6
        alpha, beta, s2t = math.exp(th[d + 2]), math.exp(th[d + 3]), math.exp(th[d + 4])
        ts = np.atleast_1d(np.asarray(steps, dtype=float)) / self._tscale
        mu_f, v_f = self.predict_asymptote(self._X[n][None, :])
        mu_f = (mu_f[0] - self._mean) / self._std
        v_f = v_f[0] / self._std ** 2
        o = self._o[n]
        kstar = s2t * np.exp(alpha * (math.log(beta) - np.log(self._t[n][None, :] + ts[:, None] + beta))) * o
        Kinv_k = np.linalg.solve(self._Kn[n], kstar.T)  # (T, q)
        Kinv_o = np.linalg.solve(self._Kn[n], o)
        resid = (self._y[n] - mu_f) * o
        mean = mu_f + Kinv_k.T @ resid
        kss = s2t * np.exp(alpha * (math.log(beta) - np.log(2 * ts + beta)))
        var = kss - (kstar.T * Kinv_k).sum(0) + (1.0 - kstar @ Kinv_o) ** 2 * v_f
        return mean * self._std + self._mean, np.maximum(var, 1e-12) * self._std ** 2
