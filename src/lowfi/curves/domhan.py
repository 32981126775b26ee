"""Probabilistic learning-curve extrapolation (Domhan, Springenberg & Hutter, IJCAI 2015).

The combined model is ``f_comb(x) = sum_k w_k f_k(x | theta_k) / sum_k w_k`` plus Gaussian
noise ``N(0, sigma^2)``, over the 11 families of :mod:`lowfi.curves.families`. Every family is
first fitted alone by bounded least squares (the best of a vectorized batch of prior draws,
then refined with ``scipy.optimize.least_squares``); the ensemble sampler of ``emcee`` then
samples all parameters, weights and ``log sigma`` jointly, with a log-probability vectorized
over the walkers. Draws of walkers stuck far out in the tails (log density more than
``max(50, 2 d)`` below the best draw, see :func:`posterior_draws`) are dropped.

Priors (the paper's, adapted to both directions): uniform on each family's box with its
constraints, so that every component curve improves with the step; weights ``w_k`` in
``[0, 1]``; ``log sigma`` uniform; and the combined prediction at the horizon ``T`` must not
pass the best possible value (``bounds`` when given, else the best observed value plus
``max_improvement`` observed ranges).

Loss-like curves (``direction="minimize"``) are mirrored: values ``v`` become ``z = -v``; then
``z`` is mapped affinely so that the observed part spans ``[0.1, 1.1]``; everything is
mapped back before it reaches the user.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from lowfi.core.seeding import SeedLike, as_generator
from lowfi.curves.families import Family, get_families
from lowfi.curves.prediction import CurvePrediction, check_direction

_U0 = 0.1  # internal value of the worst observed point
# without bounds, a flat curve's scale: a tiny fraction of its size (predictions do not
# depend on the unit or an offset of the metric; any real change spans the internal range)
_RELATIVE_FLOOR = 1e-9
_TINY = 1e-300


def posterior_draws(chain: np.ndarray, lp: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """The draws of an ensemble-sampler chain that belong to the posterior's bulk.

    A walker of an affine-invariant ensemble can stay stuck far out in the tails (its
    proposals, built from the other walkers, are all rejected); its draws then have log
    densities thousands of units below the others and extrapolate absurdly (an error rate of
    300 on a curve that ends at 0.2). Draws more than ``max(50, 2 d)`` below the highest log
    density are dropped: in a ``d``-dimensional Gaussian posterior that gap has probability
    below 1e-6, so the bulk is kept whole. Non-finite draws are dropped too; ``fallback`` is
    returned (as one draw) when nothing is left."""
    finite = np.isfinite(lp)
    if not finite.any():
        return fallback[None]
    gap = max(50.0, 2.0 * chain.shape[1])
    return chain[finite & (lp >= lp[finite].max() - gap)]


def check_curve(steps: Any, values: Any, min_points: int = 3,
                bounds: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate a learning curve: equal lengths, finite, steps > 0 and increasing, and the
    values inside ``bounds`` when given (the metric's range)."""
    x, y = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    for name, a in (("steps", x), ("values", y)):
        if a.ndim > 1 and sum(n > 1 for n in a.shape) > 1:
            raise ValueError(f"{name}: got an array of shape {a.shape}; one curve is a 1-d "
                             "sequence (predict_many takes several)")
    x, y = x.reshape(-1), y.reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"steps/values: got lengths {x.size} and {y.size}; they must be equal")
    if x.size < min_points:
        raise ValueError(f"steps: got {x.size} points; at least {min_points} are needed")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("steps/values: got non-finite numbers; all must be finite")
    if np.any(x <= 0) or np.any(np.diff(x) <= 0):
        raise ValueError(f"steps: got {x[:5].tolist()}...; steps must be > 0 and increasing")
    if bounds is not None:
        lo, hi = float(bounds[0]), float(bounds[1])
        tol = 1e-9 * (hi - lo)
        out = (y < lo - tol) | (y > hi + tol)
        if np.any(out):
            raise ValueError(f"values: got {float(y[out][0]):g} outside bounds ({lo:g}, {hi:g}); "
                             "bounds are the range of the metric (e.g. (0, 1) for an error "
                             "rate): pass the right bounds or none")
    return x, y


def fit_family(
    family: Family, x: np.ndarray, y: np.ndarray, rng: np.random.Generator, n_draws: int = 256
) -> tuple[np.ndarray, float]:
    """Bounded least-squares fit of one family to ``(x, y)``; returns ``(theta, sse)``.

    ``n_draws`` prior draws are scored in one vectorized call; the best one starts
    ``scipy.optimize.least_squares`` (trust-region reflective, inside the prior box). A refined
    fit that leaves the constraints is discarded for the best draw.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    draws = np.vstack([np.asarray(family.guess)[None], family.sample_prior(rng, n_draws)])
    sse = np.sum((family.fn(x[None], draws) - y) ** 2, axis=1)
    sse[~np.isfinite(sse)] = np.inf
    order = np.argsort(sse)
    best, best_sse = draws[order[0]], float(sse[order[0]])
    lo, hi = np.asarray(family.lower), np.asarray(family.upper)
    span = hi - lo
    for j in order[:2]:
        start = np.clip(draws[j], lo + 1e-6 * span, hi - 1e-6 * span)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = least_squares(
                    lambda t: family.fn(x[None], t[None])[0] - y,
                    start,
                    bounds=(lo, hi),
                    method="trf",
                    max_nfev=40 * family.n_params,
                )
        except (ValueError, np.linalg.LinAlgError):
            continue
        cand_sse = float(2 * res.cost)
        if family.valid(res.x[None])[0] and np.isfinite(cand_sse) and cand_sse < best_sse:
            best, best_sse = res.x, cand_sse
    return np.asarray(best, dtype=float), best_sse


class DomhanExtrapolator:
    """Weighted ensemble of 11 parametric curves sampled by MCMC (Domhan et al., IJCAI 2015).

    Parameters
    ----------
    direction
        ``"minimize"`` for loss-like curves (default) or ``"maximize"`` for accuracy-like ones.
    families
        Family names to combine (default: all 11 of the paper).
    bounds
        Optional ``(lo, hi)`` range the metric cannot leave (e.g. ``(0, 1)`` for accuracy);
        the prediction at the horizon is kept inside it.
    max_improvement
        Without ``bounds``: how far past the best observed value the prediction at the
        horizon may go, in units of the observed range of the curve (default 2).
    n_walkers
        Ensemble size (default ``2 * n_dim + 2`` rounded up to even).
    n_burn, n_steps
        Burn-in steps (dropped) and kept steps of the chain.
    n_samples
        Posterior samples kept for prediction (thinned evenly from the kept chain).
    n_prior_draws
        Prior draws per family scored (vectorized) to start the least-squares fits.
    seed
        Seed for a ``numpy.random.Generator``; the chain is seeded from it deterministically.

    Notes
    -----
    The paper ran 100 walkers for 2500 steps (minutes per fit). Because the chain starts at the
    least-squares fits and the log-probability is evaluated for all walkers in one numpy call,
    a few hundred steps give a usable posterior in well under a second.

    Examples
    --------
    >>> import numpy as np
    >>> steps = np.arange(1, 21)
    >>> acc = 0.9 - 0.5 * steps**-0.7                      # an accuracy-like curve
    >>> ext = DomhanExtrapolator(direction="maximize", bounds=(0, 1), seed=0)
    >>> pred = ext.fit(steps, acc, horizon=100).predict(100)
    >>> round(pred.mean, 1), pred.prob_better(0.99) < 0.05
    (0.9, True)
    """

    def __init__(
        self,
        direction: str = "minimize",
        families: list[str] | None = None,
        bounds: tuple[float, float] | None = None,
        max_improvement: float = 2.0,
        n_walkers: int | None = None,
        n_burn: int = 200,
        n_steps: int = 100,
        n_samples: int = 500,
        n_prior_draws: int = 256,
        init_scale: float = 0.1,
        seed: SeedLike = None,
    ):
        self.direction = direction
        self._sign = check_direction(direction)
        self.families: list[Family] = get_families(families)
        if bounds is not None:
            lo, hi = (float(b) for b in bounds)
            if not lo < hi:
                raise ValueError(f"bounds: got {bounds!r}; need (lo, hi) with lo < hi")
            bounds = (lo, hi)
        self.bounds = bounds
        if not (isinstance(max_improvement, int | float) and max_improvement > 0):
            raise ValueError(f"max_improvement: got {max_improvement!r}; allowed is a number > 0")
        self.max_improvement = float(max_improvement)
        for name, v, low in (
            ("n_burn", n_burn, 0),
            ("n_steps", n_steps, 1),
            ("n_samples", n_samples, 1),
            ("n_prior_draws", n_prior_draws, 1),
        ):
            if not isinstance(v, int | np.integer) or v < low:
                raise ValueError(f"{name}: got {v!r}; allowed is an int >= {low}")
        self.n_walkers = n_walkers
        self.n_burn, self.n_steps, self.n_samples = int(n_burn), int(n_steps), int(n_samples)
        self.n_prior_draws = int(n_prior_draws)
        if not (isinstance(init_scale, int | float) and 0 < init_scale <= 1):
            raise ValueError(f"init_scale: got {init_scale!r}; allowed is a number in (0, 1]")
        self.init_scale = float(init_scale)
        self.rng = as_generator(seed)
        self._slices: list[slice] = []
        start = 0
        for fam in self.families:
            self._slices.append(slice(start, start + fam.n_params))
            start += fam.n_params
        self._n_theta = start
        self.n_dim = start + len(self.families) + 1
        self.fitted_ = False

    # ------------------------------------------------------------------ transforms
    def _to_internal(self, v: np.ndarray) -> np.ndarray:
        return (self._sign * v - self._zmin) / self._zscale + _U0

    def _to_user(self, u: np.ndarray) -> np.ndarray:
        return self._sign * ((u - _U0) * self._zscale + self._zmin)

    # ------------------------------------------------------------------ model pieces
    def _family_values(self, x: np.ndarray, P: np.ndarray) -> np.ndarray:
        """(W, K, n) values of every family for parameter rows ``P``."""
        out = np.empty((P.shape[0], len(self.families), x.size))
        xr = x.reshape(1, -1)
        for k, (fam, sl) in enumerate(zip(self.families, self._slices, strict=True)):
            out[:, k] = fam.fn(xr, P[:, sl])
        return out

    def _combined(self, x: np.ndarray, P: np.ndarray) -> np.ndarray:
        w = P[:, self._n_theta : self._n_theta + len(self.families)]
        w = w / w.sum(axis=1, keepdims=True)
        return np.einsum("wk,wkn->wn", w, self._family_values(x, P))

    def _valid(self, P: np.ndarray) -> np.ndarray:
        ok = np.all((P >= self._lo) & (P <= self._hi), axis=1) & np.all(np.isfinite(P), axis=1)
        for fam, sl in zip(self.families, self._slices, strict=True):
            if fam.constraint is not None:
                ok &= fam.constraint(P[:, sl])
        w = P[:, self._n_theta : self._n_theta + len(self.families)]
        return ok & (w.sum(axis=1) > 0)

    def _log_prob(self, P: np.ndarray) -> np.ndarray:
        lp = np.full(P.shape[0], -np.inf)
        ok = self._valid(P)
        if not ok.any():
            return lp
        Q = P[ok]
        mu = self._combined(self._x_eval, Q)
        fit, f_T = mu[:, :-1], mu[:, -1]
        sigma = np.exp(Q[:, -1])
        resid = (self._u - fit) / sigma[:, None]
        ll = -0.5 * np.sum(resid**2, axis=1) - self._u.size * Q[:, -1]
        good = np.isfinite(ll) & (f_T <= self._u_best) & (f_T >= mu[:, 0] - 1e-9)
        lp[np.flatnonzero(ok)[good]] = ll[good]
        return lp

    # ------------------------------------------------------------------ fitting
    def fit(self, steps: Any, values: Any, horizon: float | None = None) -> DomhanExtrapolator:
        """Fit to an observed curve (``values`` at increasing ``steps > 0``); returns self.

        ``horizon`` is the step at which the prior checks that the combined curve improved and
        stays within the best possible value (the paper's final epoch ``m``); default: four
        times the last observed step.
        """
        import emcee

        x, v = check_curve(steps, values, bounds=self.bounds)
        if horizon is None:
            horizon = 4.0 * float(x[-1])
        if not np.isfinite(horizon) or horizon < x[-1]:
            raise ValueError(f"horizon: got {horizon!r}; it must be >= the last step {x[-1]}")
        self.horizon_ = float(horizon)
        self._step0 = float(x[0])
        z = self._sign * v
        self._zmin = float(z.min())
        # a flat curve still gets a usable scale: 1% of the metric's range (bounds), else a
        # tiny fraction of its size
        floor = (
            0.01 * (self.bounds[1] - self.bounds[0])
            if self.bounds is not None
            else (_RELATIVE_FLOOR * max(float(np.abs(z).max()), _TINY))
        )
        self._zscale = float(max(z.max() - z.min(), floor))
        self._x = x / self._step0
        self._u = self._to_internal(v)
        if self.bounds is not None:
            best_user = self.bounds[1] if self._sign > 0 else self.bounds[0]
            self._u_best = float(self._to_internal(np.asarray(best_user)))
        else:
            self._u_best = float(self._u.max() + self.max_improvement)
        self._last_step = float(x[-1])
        self._obs_steps, self._obs_values = x, v

        rng = self.rng
        K = len(self.families)
        thetas, sses = [], []
        for fam in self.families:
            t, s = fit_family(fam, self._x, self._u, rng, self.n_prior_draws)
            thetas.append(t)
            sses.append(s)
        sses_a = np.maximum(np.asarray(sses), 1e-12)
        self.ls_params_ = {f.name: t for f, t in zip(self.families, thetas, strict=True)}
        self.ls_sse_ = dict(zip([f.name for f in self.families], sses_a.tolist(), strict=True))

        self._lo = np.concatenate(
            [np.asarray(f.lower) for f in self.families] + [np.full(K, 0.0), [np.log(1e-4)]]
        )
        self._hi = np.concatenate(
            [np.asarray(f.upper) for f in self.families] + [np.full(K, 1.0), [0.0]]
        )
        w0 = np.clip(sses_a.min() / sses_a, 1e-3, 1.0)
        # families whose own fit breaks the horizon prior start with a negligible weight
        self._x_eval = np.concatenate([self._x, [self.horizon_ / self._step0]])
        ends = np.array(
            [
                f.fn(self._x_eval[None, [0, -1]], t[None])[0]
                for f, t in zip(self.families, thetas, strict=True)
            ]
        )
        breaks = ~((ends[:, 1] <= self._u_best) & (ends[:, 1] >= ends[:, 0]))
        if breaks.all():
            breaks[int(np.argmin(ends[:, 1]))] = False
        w0[breaks] = 1e-6
        center = np.concatenate(thetas + [w0, [0.0]])
        mu0 = self._combined(self._x, center[None])[0]
        rms = float(np.sqrt(np.mean((self._u - mu0) ** 2)))
        center[-1] = np.log(np.clip(rms, 2e-4, 0.5))

        nw = self.n_walkers or 2 * self.n_dim + 2
        nw += nw % 2
        span = self._hi - self._lo
        P0 = center + self.init_scale * span * rng.standard_normal((nw, self.n_dim))
        P0 = np.clip(P0, self._lo, self._hi)
        for _ in range(5):
            bad = ~np.isfinite(self._log_prob(P0))
            if not bad.any():
                break
            P0[bad] = center + 1e-5 * span * rng.standard_normal((int(bad.sum()), self.n_dim))
            P0 = np.clip(P0, self._lo, self._hi)
        bad = ~np.isfinite(self._log_prob(P0))
        P0[bad] = center

        sampler = emcee.EnsembleSampler(nw, self.n_dim, self._log_prob, vectorize=True)
        seed = int(rng.integers(0, 2**32 - 1))
        sampler.random_state = np.random.RandomState(np.random.MT19937(seed)).get_state()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sampler.run_mcmc(P0, self.n_burn + self.n_steps, skip_initial_state_check=True)
        chain = sampler.get_chain(discard=self.n_burn, flat=True)
        lp = sampler.get_log_prob(discard=self.n_burn, flat=True)
        chain = posterior_draws(chain, lp, center)
        idx = np.linspace(0, len(chain) - 1, min(self.n_samples, len(chain))).round().astype(int)
        self.samples_ = chain[idx]
        self.acceptance_ = float(np.mean(sampler.acceptance_fraction))
        self._pred_seed = int(rng.integers(0, 2**32 - 1))
        self.fitted_ = True
        return self

    def fit_predict(self, steps: Any, values: Any, T: float | Any) -> CurvePrediction:
        """Fit with the prior's horizon at ``max(T)``, then :meth:`predict` at ``T``."""
        T_max = float(np.max(np.asarray(T, dtype=float)))
        return self.fit(steps, values, horizon=T_max).predict(T)

    def predict(self, T: float | Any) -> CurvePrediction:
        """Predictive distribution of the curve at step(s) ``T`` (user units).

        Returns a :class:`lowfi.curves.CurvePrediction`: ``mean``, ``std``, ``quantile(q)``,
        ``samples``, ``prob_better(y_best)``, ``log_likelihood(y)``.
        """
        if not self.fitted_:
            raise RuntimeError("predict: call fit(steps, values) first")
        t = np.asarray(T, dtype=float)
        scalar = t.ndim == 0
        t = t.reshape(-1)
        if np.any(~np.isfinite(t)) or np.any(t <= 0):
            raise ValueError(f"T: got {T!r}; steps must be finite and > 0")
        if np.any(t < self._step0 * (1 - 1e-12)):
            raise ValueError(f"T: got {float(t.min()):g}, before the first observed step "
                             f"{self._step0:g}; the curve families extrapolate forward only: "
                             "predict at steps >= the first observed one")
        u = self._combined(t / self._step0, self.samples_)
        f = self._to_user(u)
        sigma = np.exp(self.samples_[:, -1]) * self._zscale
        return CurvePrediction(t, f, sigma, self.direction, scalar=scalar, seed=self._pred_seed,
                               bounds=self.bounds)

    def family_predictions(self, T: float | Any) -> dict[str, np.ndarray]:
        """Least-squares prediction of each family alone at ``T`` (user units)."""
        t = np.atleast_1d(np.asarray(T, dtype=float)) / self._step0
        return {
            name: self._to_user(fam.fn(t[None], th[None])[0])
            for (name, th), fam in zip(self.ls_params_.items(), self.families, strict=True)
        }
