"""Vectorized product-kernel density estimation over lowfi's encoded search space.

The model behind BOHB (Falkner, Klein & Hutter, ICML 2018) and TPE (Bergstra, Bardenet,
Bengio & Kégl, NeurIPS 2011). Every column of the encoded space gets a kernel that suits its
kind:

- ``float`` and ``int``: Gaussian kernels in the unit cube (log-scaled where declared),
  truncated to [0, 1] and normalized there. Integer bandwidths are floored at half the grid
  spacing, so they do not collapse when all good points share one value.
- ``cat``: Aitchison-Aitken kernels, ``1 - h`` on the datum's category and ``h / (c - 1)`` on
  every other one (``h`` kept below ``(c - 1) / c``, where the kernel is uniform).
- ``ord``: an ordinal-aware kernel, a Gaussian over the normalized positions ``k / (c - 1)``
  renormalized over the ``c`` levels (neighbouring levels share mass, far ones little).
- ``const`` (and one-value categoricals): left out of the model; they contribute a factor 1.

Bandwidths follow the normal-reference rule ``1.06 * std * n ** (-1 / (4 + d))`` (the rule
statsmodels' ``KDEMultivariate`` applies, which HpBandSter's BOHB uses) with a minimum
bandwidth, or, for TPE, Bergstra et al.'s per-point rule (the larger gap to the neighbouring
observations, clipped to ``[1 / min(100, n + 1), 1]``). Inactive (NaN) entries of the
training data are imputed as in the BOHB paper: with the value of a random other observation
for which the parameter is active, or with a random value from the prior when none is.
Queries with NaN entries marginalize those dimensions.

Everything runs as a few matrix products; there is no Python loop over samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri

from lowfi.core.seeding import SeedLike, as_generator

_CONT, _CAT, _ORD, _SKIP = 0, 1, 2, 3
_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


class KDE:
    """Product-kernel density estimator over encoded configurations.

    Parameters
    ----------
    kinds
        One kind per column: ``"float"``, ``"int"``, ``"cat"``, ``"ord"`` or ``"const"``.
    n_values
        Number of distinct values per column (categories for ``cat``/``ord``, grid points for
        ``int``; ignored for ``float``).
    min_bandwidth
        Smallest bandwidth of any kernel (1e-3 as in the BOHB paper).
    bandwidth
        ``"normal_reference"`` (BOHB) or ``"neighbors"`` (TPE's per-point rule for numerical
        columns; discrete columns use the normal-reference rule).
    prior_weight
        Weight of a uniform prior component mixed into the estimate (0 for BOHB, 1 for TPE as in
        hyperopt): ``(sum_i K_i(x) + w * p0(x)) / (n + w)``.
    multivariate
        True: one product kernel per observation (BOHB). False: a product of one-dimensional
        mixtures, one per column (the independent Parzen estimators of Bergstra et al.).
    truncate
        Normalize each Gaussian kernel to its mass inside [0, 1] (True, a proper density in
        the cube) or leave it untruncated (False, as statsmodels and HpBandSter do).

    Examples
    --------
    >>> import numpy as np
    >>> kde = KDE(["float", "cat"], [0, 3]).fit(np.array([[0.2, 0], [0.3, 0], [0.25, 1]]))
    >>> int(kde.logpdf(np.array([[0.25, 0], [0.9, 2]])).argmax())
    0
    """

    def __init__(self, kinds: Sequence[str], n_values: Sequence[int] | np.ndarray | None = None,
                 min_bandwidth: float = 1e-3, bandwidth: str = "normal_reference",
                 prior_weight: float = 0.0, multivariate: bool = True, truncate: bool = True):
        kinds = list(kinds)
        if n_values is None:
            n_values = [0] * len(kinds)
        n_values = np.asarray(n_values, dtype=int)
        if len(n_values) != len(kinds):
            raise ValueError(f"n_values: got {len(n_values)} entries for {len(kinds)} kinds; pass one per column")
        code = []
        for j, k in enumerate(kinds):
            if k in ("float", "int"):
                code.append(_CONT)
            elif k in ("cat", "ord"):
                code.append(_SKIP if n_values[j] <= 1 else (_CAT if k == "cat" else _ORD))
            elif k == "const":
                code.append(_SKIP)
            else:
                raise ValueError(f"kinds: got {k!r} for column {j}; allowed are float, int, cat, ord, const")
        if not (isinstance(min_bandwidth, int | float) and min_bandwidth > 0):
            raise ValueError(f"min_bandwidth: got {min_bandwidth!r}; it must be a number > 0")
        if bandwidth not in ("normal_reference", "neighbors"):
            raise ValueError(f"bandwidth: got {bandwidth!r}; allowed are 'normal_reference', 'neighbors'")
        if not (isinstance(prior_weight, int | float) and prior_weight >= 0):
            raise ValueError(f"prior_weight: got {prior_weight!r}; it must be a number >= 0")
        self.kinds = kinds
        self.n_values = n_values
        self.min_bandwidth = float(min_bandwidth)
        self.bandwidth = bandwidth
        self.prior_weight = float(prior_weight)
        self.multivariate = bool(multivariate)
        self.truncate = bool(truncate)
        self._code = np.asarray(code, dtype=int)
        self._cont = np.flatnonzero(self._code == _CONT)
        self._disc = np.flatnonzero((self._code == _CAT) | (self._code == _ORD))
        self._skip = np.flatnonzero(self._code == _SKIP)
        # bandwidth floor of numerical columns: half the grid spacing for integers
        floor = np.full(len(kinds), self.min_bandwidth)
        for j, k in enumerate(kinds):
            if k == "int" and n_values[j] > 1:
                floor[j] = max(self.min_bandwidth, 0.5 / (n_values[j] - 1))
            elif self._code[j] == _ORD:
                floor[j] = max(self.min_bandwidth, 0.5 / (n_values[j] - 1))
        self._floor = floor
        n_lev = np.where(np.isin(np.arange(len(kinds)), self._disc), n_values, 0)
        self._offset = np.concatenate([[0], np.cumsum(n_lev)[:-1]]).astype(int)
        self._n_levels = int(n_lev.sum())
        self._level_dim = np.repeat(np.arange(len(self._disc)), n_values[self._disc]).astype(int)
        self.data_: np.ndarray | None = None

    @classmethod
    def for_space(cls, space: Any, **kwargs: Any) -> KDE:
        """A KDE for the columns of a :class:`lowfi.space.Space` (or anything it accepts)."""
        from lowfi.space import Space

        space = Space.from_any(space)
        return cls(space.kinds, space.n_values, **kwargs)

    # ------------------------------------------------------------------ fitting
    @property
    def dim(self) -> int:
        return len(self.kinds)

    @property
    def n_modelled(self) -> int:
        """Number of columns the model describes (constants excluded)."""
        return len(self._cont) + len(self._disc)

    def fit(self, X: np.ndarray, rng: SeedLike = None) -> KDE:
        """Fit to encoded rows ``X`` (shape ``(n, dim)``, NaN for inactive entries).

        ``rng`` draws the imputation of inactive entries (a fixed seed when None).
        """
        X = np.array(X, dtype=float, ndmin=2, copy=True)
        if X.shape[1] != self.dim or len(X) == 0:
            raise ValueError(f"X: got shape {X.shape}; need at least one row of {self.dim} columns")
        rng = as_generator(0 if rng is None else rng)
        X = self._impute(X, rng)
        n = len(X)
        self.data_ = X
        d_model = max(self.n_modelled, 1)
        scott = 1.06 * n ** (-1.0 / (4 + d_model))
        nv = np.maximum(self.n_values, 2)
        # ---- numerical columns
        C = X[:, self._cont]
        if self.bandwidth == "normal_reference":
            bw = scott * C.std(axis=0)
            H = np.broadcast_to(bw, C.shape).copy()
        else:
            H = _neighbor_bandwidths(C)
        H = np.maximum(H, self._floor[self._cont])
        self.bw_cont_ = H  # (n, n_cont)
        # truncation to [0, 1]: log of each kernel's mass inside the cube
        self._logZ = _log_mass(C, H) if self.truncate else np.zeros_like(H)
        # ---- discrete columns
        D = X[:, self._disc].astype(int)
        pos = np.where(self._code[self._disc] == _ORD, D / (nv[self._disc] - 1.0), D.astype(float))
        std = pos.std(axis=0)
        bw_d = scott * std
        cats = self._code[self._disc] == _CAT
        c = nv[self._disc]
        bw_d = np.where(cats, np.clip(bw_d, self.min_bandwidth, (c - 1.0) / c),
                        np.maximum(bw_d, self._floor[self._disc]))
        self.bw_disc_ = bw_d
        self._D = D
        # joint: A[i, off_j + x] = log K_j(D_ij, x); univariate: per-level log mixture probs
        w = self.prior_weight
        A = np.zeros((n, self._n_levels))
        if len(self._disc):
            k_of = self._level_dim  # which discrete column each level belongs to
            h, c_lev = bw_d[k_of], nv[self._disc][k_of]
            base = np.log(h / (c_lev - 1.0))  # Aitchison-Aitken, all columns at once
            A = base[None, :] + self._onehot(X) * (np.log1p(-h) - base)[None, :]
            for k in np.flatnonzero(self._code[self._disc] == _ORD):  # ordinal columns
                off, cj = self._offset[self._disc[k]], self.n_values[self._disc[k]]
                A[:, off:off + cj] = self._disc_log_kernel(k, bw_d[k])[D[:, k]]
            P = np.log((np.exp(A).sum(axis=0) + w / c_lev) / (n + w))
        else:
            P = np.zeros(0)
        self._A, self._P = A, P
        # ---- precomputed pieces of the Gaussian quadratic form (see _log_kernels)
        inv2 = 1.0 / H**2
        self._inv2 = inv2
        self._mu_inv2 = C * inv2
        self._const = -0.5 * C**2 * inv2 - np.log(H) - _LOG_SQRT_2PI - self._logZ
        return self

    def _disc_log_kernel(self, k: int, h: float) -> np.ndarray:
        """Log kernel matrix (datum level x query level) of ordinal column ``k``: a Gaussian over
        the positions ``level / (c - 1)``, renormalized over the ``c`` levels."""
        c = int(self.n_values[self._disc[k]])
        p = np.arange(c) / (c - 1.0)
        z = -0.5 * ((p[:, None] - p[None, :]) / h) ** 2
        return z - logsumexp(z, axis=1, keepdims=True)

    def _impute(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        nan = np.isnan(X)
        if not nan.any():
            return X
        for j in np.flatnonzero(nan.any(axis=0)):  # loop over columns, not samples
            miss = np.flatnonzero(nan[:, j])
            donors = np.flatnonzero(~nan[:, j])
            if len(donors):
                X[miss, j] = X[donors[rng.integers(len(donors), size=len(miss))], j]
            elif self._code[j] in (_CAT, _ORD):
                X[miss, j] = rng.integers(self.n_values[j], size=len(miss))
            elif self._code[j] == _CONT:
                X[miss, j] = rng.random(len(miss))
            else:
                X[miss, j] = 0.0
        return X

    # ------------------------------------------------------------------ density
    def _check_fitted(self) -> None:
        if self.data_ is None:
            raise ValueError("KDE: call fit(X) before pdf/logpdf/sample")

    def _onehot(self, X: np.ndarray) -> np.ndarray:
        m = len(X)
        oh = np.zeros((m, self._n_levels))
        if len(self._disc):
            V = X[:, self._disc]
            ok = ~np.isnan(V)
            rows, cols = np.nonzero(ok)
            lev = np.clip(np.rint(V[rows, cols]).astype(int), 0, self.n_values[self._disc][cols] - 1)
            oh[rows, self._offset[self._disc][cols] + lev] = 1.0
        return oh

    def _log_kernels(self, X: np.ndarray) -> np.ndarray:
        """``log prod_j K_ij(x_j)`` for every query row and observation (shape ``(m, n)``)."""
        Q = X[:, self._cont]
        act = ~np.isnan(Q)
        Q0 = np.where(act, Q, 0.0)
        A = act.astype(float)
        out = -0.5 * (Q0**2) @ self._inv2.T + Q0 @ self._mu_inv2.T + A @ self._const.T
        if len(self._disc):
            out += self._onehot(X) @ self._A.T
        return out

    def logpdf(self, X: np.ndarray) -> np.ndarray:
        """Log density of encoded rows ``X`` (NaN entries are marginalized)."""
        self._check_fitted()
        X = np.array(X, dtype=float, ndmin=2)
        if X.shape[1] != self.dim:
            raise ValueError(f"X: got {X.shape[1]} columns; the model has {self.dim}")
        n, w = len(self.data_), self.prior_weight
        if self.multivariate:
            lk = self._log_kernels(X)
            if w > 0:
                lk = np.concatenate([lk, (np.log(w) + self._log_prior(X))[:, None]], axis=1)
            return logsumexp(lk, axis=1) - np.log(n + w)
        # univariate: product over columns of one-dimensional mixtures
        total = self._onehot(X) @ self._P if len(self._disc) else np.zeros(len(X))
        if len(self._cont):
            Q = X[:, self._cont]
            act = ~np.isnan(Q)
            z = (np.where(act, Q, 0.0)[:, None, :] - self.data_[None, :, self._cont]) / self.bw_cont_[None]
            if w > 0:  # the prior keeps every mixture away from 0: sum the kernels directly
                coef = np.exp(-np.log(self.bw_cont_) - _LOG_SQRT_2PI - self._logZ)
                dens = np.einsum("mnd,nd->md", np.exp(-0.5 * z * z), coef)
                per_dim = np.log((dens + w) / (n + w))
            else:
                lk = -0.5 * z**2 - np.log(self.bw_cont_)[None] - _LOG_SQRT_2PI - self._logZ[None]
                per_dim = logsumexp(lk, axis=1) - np.log(n)
            total = total + np.where(act, per_dim, 0.0).sum(axis=1)
        return total

    def _log_prior(self, X: np.ndarray) -> np.ndarray:
        V = X[:, self._disc]
        return -(np.where(np.isnan(V), 0.0, np.log(self.n_values[self._disc]))).sum(axis=1)

    def pdf(self, X: np.ndarray) -> np.ndarray:
        """Density of encoded rows ``X``."""
        return np.exp(self.logpdf(X))

    # ------------------------------------------------------------------ sampling
    def sample(self, rng: SeedLike, n: int, bandwidth_factor: float = 1.0) -> np.ndarray:
        """``n`` encoded rows drawn from the estimate with numerical and ordinal bandwidths
        multiplied by ``bandwidth_factor``.

        A categorical entry keeps the datum's category or, with probability ``h`` (its fitted
        bandwidth, not widened), is redrawn uniformly: the sampling rule of HpBandSter's BOHB.
        Rows are complete (no NaN); ``Space.repair`` applies conditions."""
        self._check_fitted()
        if not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"n: got {n!r}; it must be an int >= 0")
        if not bandwidth_factor > 0:
            raise ValueError(f"bandwidth_factor: got {bandwidth_factor!r}; it must be > 0")
        rng = as_generator(rng)
        N, w, d = len(self.data_), self.prior_weight, self.dim
        # which observation each sample (multivariate) or each entry (univariate) comes from;
        # index N stands for the prior component
        shape = (n,) if self.multivariate else (n, d)
        comp = rng.choice(N + 1, size=shape, p=np.r_[np.full(N, 1.0), w] / (N + w)) if w > 0 \
            else rng.integers(N, size=shape)
        comp = np.broadcast_to(comp[:, None], (n, d)) if self.multivariate else comp
        prior = comp == N
        src = np.minimum(comp, N - 1)
        out = self.data_[src, np.arange(d)[None, :]].copy()
        if len(self._cont):
            cc = self._cont
            mu = out[:, cc]
            sd = self.bw_cont_[src[:, cc], np.arange(len(cc))[None, :]] * bandwidth_factor
            lo, hi = ndtr(-mu / sd), ndtr((1.0 - mu) / sd)
            u = lo + rng.random(mu.shape) * (hi - lo)
            x = np.clip(mu + sd * ndtri(np.clip(u, 1e-300, 1 - 1e-16)), 0.0, 1.0)
            x = np.where(prior[:, cc], rng.random(mu.shape), x)
            out[:, cc] = x
        cats = self._disc[self._code[self._disc] == _CAT]
        if len(cats):  # keep the datum's category, or with probability h redraw it uniformly
            h = self.bw_disc_[self._code[self._disc] == _CAT]
            c = self.n_values[cats]
            redraw = (rng.random((n, len(cats))) < h) | prior[:, cats]
            new = np.floor(rng.random((n, len(cats))) * c)
            out[:, cats] = np.where(redraw, new, out[:, cats])
        for k, j in enumerate(self._disc):  # ordinal columns: loop over columns, not samples
            if self._code[j] != _ORD:
                continue
            c = int(self.n_values[j])
            logK = self._disc_log_kernel(k, self.bw_disc_[k] * bandwidth_factor)
            cdf = np.cumsum(np.exp(logK), axis=1)
            u = rng.random(n)
            lev = (u[:, None] > cdf[self._D[src[:, j], k]]).sum(axis=1)
            lev = np.minimum(lev, c - 1)
            lev = np.where(prior[:, j], rng.integers(c, size=n), lev)
            out[:, j] = lev
        return out


def logsumexp(a: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    """``log(sum(exp(a)))`` along ``axis`` (finite inputs; lighter than scipy's)."""
    m = a.max(axis=axis, keepdims=True)
    out = np.log(np.exp(a - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _neighbor_bandwidths(C: np.ndarray) -> np.ndarray:
    """Bergstra et al.'s per-point bandwidths: the larger gap to the sorted neighbours,
    clipped to ``[1 / min(100, n + 1), 1]`` (the prior's width is 1 in the unit cube)."""
    n = len(C)
    if C.shape[1] == 0:
        return np.empty((n, 0))
    order = np.argsort(C, axis=0)
    S = np.take_along_axis(C, order, axis=0)
    gaps = np.diff(S, axis=0)
    left = np.vstack([gaps[:1], gaps]) if n > 1 else np.ones((1, C.shape[1]))
    right = np.vstack([gaps, gaps[-1:]]) if n > 1 else np.ones((1, C.shape[1]))
    sig_sorted = np.clip(np.maximum(left, right), 1.0 / min(100, n + 1), 1.0)
    H = np.empty_like(C)
    np.put_along_axis(H, order, sig_sorted, axis=0)
    return H


def _log_mass(mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``log(Phi((1 - mu) / sd) - Phi(-mu / sd))``, computed stably (mu in [0, 1])."""
    a, b = -mu / sd, (1.0 - mu) / sd
    la, lb = log_ndtr(a), log_ndtr(b)
    return lb + np.log1p(-np.exp(np.minimum(la - lb, -1e-300)))
