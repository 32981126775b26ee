"""Bayesian neural networks as scalable Bayesian-optimization models (pure numpy).

A GP's cost grows with the cube of the number of observations; a neural network's training
cost is set by the number of gradient steps, so these models stay fast with thousands of
observations (many cheap low-fidelity evaluations, for example). Both have the interface of
:class:`lowfi.models.gp.GP` that the acquisitions use: ``fit(X, y, optimize=True)``,
``predict(X, full_cov=False) -> (mean, var or cov)`` of the latent function,
``posterior_cov(X1, X2, pairwise=False)`` and ``noise_var``.

:class:`Bohamiann` -- Springenberg, Klein, Falkner & Hutter (NeurIPS 2016), "Bayesian
    optimization with robust Bayesian neural networks". A tanh multi-layer perceptron (three
    hidden layers of 50 units) with a Gaussian likelihood whose log noise variance is a
    parameter (prior N(log 1e-3, 1) on standardized targets: observations are assumed nearly
    noise-free, as in BO); a Gaussian prior on the weights with one precision per layer,
    Gamma(1, 1) hyperprior, resampled by Gibbs steps; the weights and the log noise are **sampled with
    scale-adapted stochastic-gradient Hamiltonian Monte Carlo** (the paper's adaptive SGHMC:
    during burn-in each parameter's preconditioner ``V`` is the running average of its squared
    stochastic gradient with an adaptive window ``tau``, the step uses ``M^-1 = V^-1/2``, the
    friction ``C`` and injected noise ``N(0, 2 eps^2 C M^-1 - eps^4)``). After ``n_burn_in``
    steps every ``keep_every``-th state is kept; the predictive mean and variance are those of
    the kept networks (latent variance: the variance of their outputs; ``noise_var``: their
    mean noise variance). Posterior covariances are the sample covariances of the networks'
    outputs.
:class:`DNGO` -- Snoek et al. (ICML 2015), "Scalable Bayesian optimization using deep neural
    networks". The same network trained by Adam on the squared error; its last hidden layer
    (plus a constant) are the basis functions of a **Bayesian linear regression** whose weight
    precision ``alpha`` and noise precision ``beta`` maximize the marginal likelihood (MacKay's
    evidence fixed point, exact for this model). Predictions, covariances and conditioning on
    fantasies (``optimize=False``: new targets, same network) are closed-form, so it is the
    cheaper variant. (The paper's quadratic prior mean and its slice-sampled hyperparameters
    are not used.)

Inputs are standardized per column and targets to zero mean and unit variance internally.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike, as_generator
from lowfi.models.gp import _as_matrix, blas_single_thread

LOG2PI = math.log(2 * math.pi)


class _Net:
    """A tanh MLP ``d -> hidden... -> 1`` whose parameters live in one flat vector."""

    def __init__(self, n_in: int, hidden: tuple[int, ...]):
        sizes = [n_in, *hidden, 1]
        self.shapes = [(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
        self.slices = []
        k = 0
        for a, b in self.shapes:
            self.slices.append((slice(k, k + a * b), slice(k + a * b, k + a * b + b)))
            k += a * b + b
        self.n_params = k

    def init(self, rng: np.random.Generator) -> np.ndarray:
        theta = np.zeros(self.n_params)
        for (a, b), (sw, _) in zip(self.shapes, self.slices):
            lim = math.sqrt(6.0 / (a + b))  # Glorot uniform; biases start at 0
            theta[sw] = rng.uniform(-lim, lim, a * b)
        return theta

    def weights(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(theta[sw].reshape(a, b), theta[sb]) for (a, b), (sw, sb) in zip(self.shapes, self.slices)]

    def forward(self, theta: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Outputs ``(n,)`` and the activations (input and every hidden layer)."""
        acts = [X]
        h = X
        layers = self.weights(theta)
        for W, b in layers[:-1]:
            h = np.tanh(h @ W + b)
            acts.append(h)
        W, b = layers[-1]
        return (h @ W + b)[:, 0], acts

    def features(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        h = X
        for W, b in self.weights(theta)[:-1]:
            h = np.tanh(h @ W + b)
        return h

    def backward(self, theta: np.ndarray, acts: list[np.ndarray], dout: np.ndarray) -> np.ndarray:
        """Gradient of ``sum(dout * output)`` with respect to the flat parameters."""
        grad = np.empty_like(theta)
        layers = self.weights(theta)
        d = dout[:, None]
        for i in range(len(layers) - 1, -1, -1):
            W, _ = layers[i]
            sw, sb = self.slices[i]
            grad[sw] = (acts[i].T @ d).ravel()
            grad[sb] = d.sum(0)
            if i > 0:
                d = (d @ W.T) * (1.0 - acts[i] ** 2)
        return grad


class _Scaler:
    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self.x_mean = X.mean(0)
        sd = X.std(0)
        self.x_std = np.where(sd > 1e-12, sd, 1.0)
        self.y_mean = float(y.mean())
        s = float(y.std())
        self.y_std = s if s > 1e-12 else 1.0

    def x(self, X: np.ndarray) -> np.ndarray:
        return (X - self.x_mean) / self.x_std

    def y(self, y: np.ndarray) -> np.ndarray:
        return (y - self.y_mean) / self.y_std


def _check_xy(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = _as_matrix(X)
    y = np.asarray(y, dtype=float).ravel()
    if len(y) != len(X):
        raise ValueError(f"y: got {len(y)} targets for {len(X)} rows of X; they must match")
    if len(y) < 2:
        raise ValueError(f"X: got {len(y)} observations; a Bayesian neural network needs at least 2")
    if not np.all(np.isfinite(y)):
        raise ValueError("y: contains NaN or infinite values; replace failed results first")
    return X, y


def _check_int(name: str, v: Any, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
        raise ValueError(f"{name}: got {v!r}; it must be an integer >= {lo}")
    return int(v)


def _check_hidden(hidden: Any) -> tuple[int, ...]:
    try:
        h = tuple(hidden)
    except TypeError:
        h = ()
    if not h or any(isinstance(u, bool) or not isinstance(u, int | np.integer) or u < 1 for u in h):
        raise ValueError(f"hidden: got {hidden!r}; it must be a non-empty sequence of positive "
                         "integers (units per hidden layer)")
    return tuple(int(u) for u in h)


class ScaleAdaptedSGHMC:
    """Scale-adapted stochastic-gradient Hamiltonian Monte Carlo (Springenberg, Klein, Falkner
    & Hutter 2016, section 4) for any model whose potential energy ``U(theta)`` (negative log
    posterior, full-data scale) has a stochastic gradient.

    While ``adapt`` is true (burn-in) each parameter's preconditioner ``V`` is the running
    average of its squared gradient with the adaptive window ``tau``; a step is
    ``m <- m - eps^2 M^-1 grad - C m + N(0, 2 eps^2 C M^-1 - eps^4)``, ``theta <- theta + m``
    with ``M^-1 = V^-1/2``, step size ``eps`` (``lr``) and friction ``C``. Used by
    :class:`Bohamiann` and by :class:`lowfi.curves.lcnet.LCNet` (``method="sghmc"``).
    """

    def __init__(self, n_params: int, lr: float = 1e-2, friction: float = 0.05,
                 rng: SeedLike = None):
        self.tau = np.ones(n_params)
        self.g = np.ones(n_params)
        self.v_hat = np.ones(n_params)
        self.momentum = np.zeros(n_params)
        self.eps, self.C = float(lr), float(friction)
        self.rng = as_generator(rng)

    def step(self, theta: np.ndarray, grad: np.ndarray, adapt: bool) -> np.ndarray:
        """One step from ``theta`` with the stochastic gradient ``grad`` of ``U``; the new theta."""
        eps, C = self.eps, self.C
        if adapt:
            inv = 1.0 / (self.tau + 1.0)
            self.tau = self.tau * (1.0 - self.g * self.g / (self.v_hat + 1e-16)) + 1.0
            self.g = self.g + inv * (grad - self.g)
            self.v_hat = self.v_hat + inv * (grad * grad - self.v_hat)
        minv = 1.0 / (np.sqrt(self.v_hat) + 1e-16)
        noise_var = np.maximum(2.0 * eps * eps * C * minv - eps ** 4, 1e-16)
        self.momentum = (self.momentum - eps * eps * minv * grad - C * self.momentum
                         + np.sqrt(noise_var) * self.rng.standard_normal(len(theta)))
        return theta + self.momentum


class _BNNBase:
    """Shared checks of the two models."""

    _fitted = False
    _n_in: int

    def _check(self, X: Any) -> np.ndarray:
        if not self._fitted:
            raise RuntimeError(f"{type(self).__name__}: call fit(X, y) before predicting")
        X = _as_matrix(X)
        if X.shape[1] != self._n_in:
            raise ValueError(f"X: got {X.shape[1]} columns; the model was fit on {self._n_in}")
        return X


class Bohamiann(_BNNBase):
    """BOHAMIANN: a Bayesian MLP sampled with scale-adapted SGHMC (Springenberg et al. 2016).

    Parameters
    ----------
    hidden
        Units per hidden layer (tanh).
    n_burn_in
        SGHMC steps before samples are kept (the preconditioner adapts during them).
    n_samples
        Networks kept for the predictive distribution.
    keep_every
        Steps between kept networks.
    batch_size
        Mini-batch size of the stochastic gradients.
    lr
        Step size ``eps`` (the paper's default 1e-2).
    friction
        Momentum decay ``C`` (the paper's 0.05).
    resample_every
        Steps between Gibbs updates of the per-layer weight precisions.
    seed
        Seed of the initialization, mini-batches and injected noise.
    """

    def __init__(self, hidden: Any = (50, 50, 50), n_burn_in: int = 2000, n_samples: int = 50,
                 keep_every: int = 50, batch_size: int = 32, lr: float = 1e-2,
                 friction: float = 0.05, resample_every: int = 100, seed: SeedLike = None):
        self.hidden = _check_hidden(hidden)
        self.n_burn_in = _check_int("n_burn_in", n_burn_in, 0)
        self.n_samples = _check_int("n_samples", n_samples, 2)
        self.keep_every = _check_int("keep_every", keep_every, 1)
        self.batch_size = _check_int("batch_size", batch_size, 1)
        self.resample_every = _check_int("resample_every", resample_every, 1)
        for name, v in (("lr", lr), ("friction", friction)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1:
                raise ValueError(f"{name}: got {v!r}; it must be a number in (0, 1)")
        self.lr, self.friction = float(lr), float(friction)
        self.rng = as_generator(seed)
        #: prior of the log noise variance (standardized targets): N(log 1e-3, 1)
        self.log_noise_prior = (math.log(1e-3), 1.0)
        #: Gamma(shape, rate) hyperprior of the per-layer weight precisions
        self.precision_prior = (1.0, 1.0)
        self.samples: np.ndarray | None = None  # (n_samples, n_params + 1), last column log noise

    @property
    def noise_var(self) -> float:
        """Mean noise variance of the kept networks, in the units of the targets."""
        return float(np.mean(np.exp(self.samples[:, -1]))) * self._scaler.y_std ** 2

    def fit(self, X: Any, y: Any, optimize: bool = True) -> Bohamiann:
        """Sample networks for ``(X, y)``. ``optimize=False`` (conditioning on fantasies, as the
        GP's kriging believer does) keeps the current samples: they are not resampled."""
        X, y = _check_xy(X, y)
        if not optimize and self._fitted and X.shape[1] == self._n_in:
            return self
        self._n_in = X.shape[1]
        self._scaler = _Scaler()
        self._scaler.fit(X, y)
        Xs, ys = self._scaler.x(X), self._scaler.y(y)
        self._net = _Net(X.shape[1], self.hidden)
        with blas_single_thread():
            self.samples = self._sample(Xs, ys)
        self._fitted = True
        return self

    def _sample(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        net, rng = self._net, self.rng
        n = len(y)
        P = net.n_params
        theta = np.concatenate([net.init(rng), [math.log(0.1)]])
        layer_of = np.full(P + 1, -1)
        for i, (sw, _) in enumerate(net.slices):
            layer_of[sw] = i
        n_layers = len(net.slices)
        sizes = np.array([net.shapes[i][0] * net.shapes[i][1] for i in range(n_layers)])
        lam = np.ones(n_layers)  # weight precisions (biases get a fixed weak prior)
        prec = np.where(layer_of >= 0, 1.0, 1e-2)
        prec[-1] = 0.0
        mu0, sd0 = self.log_noise_prior
        sampler = ScaleAdaptedSGHMC(P + 1, lr=self.lr, friction=self.friction, rng=rng)
        B = min(self.batch_size, n)
        total = self.n_burn_in + self.n_samples * self.keep_every
        kept = []
        order = rng.permutation(n)
        pos = 0
        for step in range(total):
            if pos + B > n:
                order = rng.permutation(n)
                pos = 0
            idx = order[pos:pos + B]
            pos += B
            w = theta[:-1]
            out, acts = net.forward(w, X[idx])
            s2 = math.exp(theta[-1])
            r = out - y[idx]
            # U = n/B * sum(r^2 / (2 s2) + log s2 / 2) + sum(prec w^2) / 2 + (logs2 - mu0)^2/(2 sd0^2)
            grad = np.empty(P + 1)
            grad[:-1] = (n / B) * net.backward(w, acts, r / s2)
            grad[-1] = (n / B) * float(np.sum(0.5 - 0.5 * r * r / s2)) + (theta[-1] - mu0) / sd0 ** 2
            grad += prec * theta
            theta = sampler.step(theta, grad, adapt=step < self.n_burn_in)
            mom = sampler.momentum
            if not np.all(np.isfinite(theta)):  # diverged: restart from a fresh initialization
                theta = np.concatenate([net.init(rng), [math.log(0.1)]])
                mom[:] = 0.0  # the sampler's momentum (same array)
            if (step + 1) % self.resample_every == 0:  # Gibbs step of the weight precisions
                for i, (sw, _) in enumerate(net.slices):
                    ss = float(np.sum(theta[sw] ** 2))
                    a0, b0 = self.precision_prior
                    lam[i] = rng.gamma(a0 + sizes[i] / 2.0, 1.0 / (b0 + ss / 2.0))
                    prec[sw] = lam[i]
            if step >= self.n_burn_in and (step + 1 - self.n_burn_in) % self.keep_every == 0:
                kept.append(theta.copy())
        return np.array(kept)

    def _outputs(self, X: np.ndarray) -> np.ndarray:
        """Outputs of every kept network (standardized units), shape ``(n_samples, q)``."""
        Xs = self._scaler.x(X)
        return np.stack([self._net.forward(s[:-1], Xs)[0] for s in self.samples])

    def predict(self, X: Any, full_cov: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and latent variance (or covariance) over the kept networks."""
        F = self._outputs(self._check(X))
        sy = self._scaler.y_std
        mean = F.mean(0) * sy + self._scaler.y_mean
        Fc = F - F.mean(0)
        if full_cov:
            return mean, (Fc.T @ Fc) / len(F) * sy ** 2
        return mean, np.maximum((Fc * Fc).mean(0), 1e-12) * sy ** 2

    def posterior_cov(self, X1: Any, X2: Any, pairwise: bool = False) -> np.ndarray:
        """Covariance of the networks' outputs between ``X1`` and ``X2`` (or paired rows)."""
        F1, F2 = self._outputs(self._check(X1)), self._outputs(self._check(X2))
        F1, F2 = F1 - F1.mean(0), F2 - F2.mean(0)
        sy2 = self._scaler.y_std ** 2
        if pairwise:
            if F1.shape[1] != F2.shape[1]:
                raise ValueError(f"X2: got {F2.shape[1]} rows; pairwise needs as many as X1 ({F1.shape[1]})")
            return (F1 * F2).mean(0) * sy2
        return (F1.T @ F2) / len(F1) * sy2

    def sample(self, X: Any, n: int, rng: SeedLike = None) -> np.ndarray:
        """``n`` functions drawn from the kept networks (with replacement), shape ``(n, q)``."""
        F = self._outputs(self._check(X))
        pick = as_generator(rng).integers(len(F), size=n)
        return F[pick] * self._scaler.y_std + self._scaler.y_mean


class DNGO(_BNNBase):
    """DNGO: an MLP's last hidden layer as the basis of a Bayesian linear regression (Snoek
    et al. 2015), hyperparameters by marginal likelihood.

    Parameters
    ----------
    hidden
        Units per hidden layer (tanh).
    n_steps
        Adam steps of the network training (a fixed number: the cost does not grow with the
        data beyond one pass for the regression).
    batch_size, lr, weight_decay
        Mini-batch size, Adam step size and L2 penalty of the network training.
    seed
        Seed of the initialization and mini-batches.
    """

    def __init__(self, hidden: Any = (50, 50, 50), n_steps: int = 2000, batch_size: int = 32,
                 lr: float = 1e-2, weight_decay: float = 1e-4, seed: SeedLike = None):
        self.hidden = _check_hidden(hidden)
        self.n_steps = _check_int("n_steps", n_steps, 1)
        self.batch_size = _check_int("batch_size", batch_size, 1)
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not 0 < lr < 1:
            raise ValueError(f"lr: got {lr!r}; it must be a number in (0, 1)")
        if isinstance(weight_decay, bool) or not isinstance(weight_decay, int | float) or weight_decay < 0:
            raise ValueError(f"weight_decay: got {weight_decay!r}; it must be a number >= 0")
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.rng = as_generator(seed)
        self.alpha, self.beta = 1.0, 100.0

    @property
    def noise_var(self) -> float:
        """``1 / beta`` in the units of the targets."""
        return self._scaler.y_std ** 2 / self.beta

    def fit(self, X: Any, y: Any, optimize: bool = True) -> DNGO:
        """Train the network and the regression on ``(X, y)``. ``optimize=False`` keeps the
        network, the input/target scaling and ``alpha``, ``beta``, and only conditions the
        regression on the given data (fantasies of running trials)."""
        X, y = _check_xy(X, y)
        if not optimize and self._fitted and X.shape[1] == self._n_in:
            self._regress(X, y, optimize=False)
            return self
        self._n_in = X.shape[1]
        self._scaler = _Scaler()
        self._scaler.fit(X, y)
        self._net = _Net(X.shape[1], self.hidden)
        with blas_single_thread():
            self.theta = self._train(self._scaler.x(X), self._scaler.y(y))
            self._regress(X, y, optimize=True)
        self._fitted = True
        return self

    def _train(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        net, rng = self._net, self.rng
        theta = net.init(rng)
        m = np.zeros_like(theta)
        v = np.zeros_like(theta)
        b1, b2 = 0.9, 0.999
        n = len(y)
        B = min(self.batch_size, n)
        order, pos = rng.permutation(n), 0
        for t in range(1, self.n_steps + 1):
            if pos + B > n:
                order, pos = rng.permutation(n), 0
            idx = order[pos:pos + B]
            pos += B
            out, acts = net.forward(theta, X[idx])
            g = net.backward(theta, acts, (out - y[idx]) / B) + self.weight_decay * theta
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            lr = self.lr * (0.1 ** (t / self.n_steps))  # decays 10x over the training
            theta = theta - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + 1e-8)
        return theta

    def _basis(self, X: np.ndarray) -> np.ndarray:
        H = self._net.features(self.theta, self._scaler.x(X))
        return np.hstack([H, np.ones((len(H), 1))])

    def _regress(self, X: np.ndarray, y: np.ndarray, optimize: bool) -> None:
        Phi = self._basis(X)
        z = self._scaler.y(y)
        n, d = Phi.shape
        PtP, Ptz = Phi.T @ Phi, Phi.T @ z
        lam, U = np.linalg.eigh(PtP)
        lam = np.maximum(lam, 0.0)
        Utz = U.T @ Ptz
        if optimize:  # evidence fixed point (MacKay 1992): maximizes the marginal likelihood
            a, b = 1.0, 1.0 / max(float(np.var(z)) * 0.1, 1e-6)
            for _ in range(100):
                mw = U @ (b * Utz / (b * lam + a))
                gamma = float(np.sum(b * lam / (b * lam + a)))
                res = float(np.sum((z - Phi @ mw) ** 2))
                a_new = min(max(gamma / max(float(mw @ mw), 1e-12), 1e-6), 1e6)
                b_new = min(max((n - gamma) / max(res, 1e-12), 1e-3), 1e8)
                done = abs(math.log(a_new / a)) < 1e-6 and abs(math.log(b_new / b)) < 1e-6
                a, b = a_new, b_new
                if done:
                    break
            self.alpha, self.beta = a, b
        a, b = self.alpha, self.beta
        self._Ainv = (U / (b * lam + a)) @ U.T  # (b Phi^T Phi + a I)^-1
        self._m = b * (self._Ainv @ Ptz)
        self._Phi_train, self._z_train = Phi, z

    def log_marginal_likelihood(self, alpha: float | None = None, beta: float | None = None) -> float:
        """Log marginal likelihood of the (standardized) training targets under the regression
        with ``alpha``, ``beta`` (default: the fitted ones)."""
        if not self._fitted:
            raise RuntimeError("DNGO: call fit(X, y) first")
        a = self.alpha if alpha is None else float(alpha)
        b = self.beta if beta is None else float(beta)
        Phi, z = self._Phi_train, self._z_train
        n, d = Phi.shape
        A = b * Phi.T @ Phi + a * np.eye(d)
        L = np.linalg.cholesky(A)
        m = b * np.linalg.solve(A, Phi.T @ z)
        return float(0.5 * d * math.log(a) + 0.5 * n * math.log(b) - 0.5 * b * np.sum((z - Phi @ m) ** 2)
                     - 0.5 * a * m @ m - np.log(np.diag(L)).sum() - 0.5 * n * LOG2PI)

    def predict(self, X: Any, full_cov: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and latent variance (or covariance) of the regression at ``X``."""
        Phi = self._basis(self._check(X))
        sy = self._scaler.y_std
        mean = (Phi @ self._m) * sy + self._scaler.y_mean
        if full_cov:
            return mean, Phi @ self._Ainv @ Phi.T * sy ** 2
        return mean, np.maximum(np.einsum("ij,jk,ik->i", Phi, self._Ainv, Phi), 1e-12) * sy ** 2

    def posterior_cov(self, X1: Any, X2: Any, pairwise: bool = False) -> np.ndarray:
        """``phi(X1)^T A^-1 phi(X2)`` (matrix, or for paired rows)."""
        P1, P2 = self._basis(self._check(X1)), self._basis(self._check(X2))
        sy2 = self._scaler.y_std ** 2
        if pairwise:
            if len(P1) != len(P2):
                raise ValueError(f"X2: got {len(P2)} rows; pairwise needs as many as X1 ({len(P1)})")
            return np.einsum("ij,jk,ik->i", P1, self._Ainv, P2) * sy2
        return P1 @ self._Ainv @ P2.T * sy2

    def sample(self, X: Any, n: int, rng: SeedLike = None) -> np.ndarray:
        """``n`` joint posterior samples of the latent function at ``X``, shape ``(n, q)``."""
        mean, cov = self.predict(X, full_cov=True)
        w, V = np.linalg.eigh(0.5 * (cov + cov.T))
        L = V * np.sqrt(np.maximum(w, 0.0))
        return mean + as_generator(rng).standard_normal((n, len(mean))) @ L.T


MODELS = {"bohamiann": Bohamiann, "dngo": DNGO}


def make_bnn(name: str, seed: SeedLike = None, **kwargs: Any) -> Bohamiann | DNGO:
    """``"bohamiann"`` or ``"dngo"`` with the given settings."""
    if name not in MODELS:
        raise ValueError(f"model: got {name!r}; allowed are {', '.join(MODELS)}")
    return MODELS[name](seed=seed, **kwargs)
